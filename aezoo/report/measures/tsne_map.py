"""The t-SNE map of each embedding: the picture, and how far its neighbourhoods can be trusted."""

from __future__ import annotations

from aezoo.report.parts import Measure, Models, Row
from aezoo.report.records import ModelReport
from aezoo.report.words import inflect, listing, span

TRUSTWORTHY_MAP = 0.9  # trustworthiness from which the groups seen on a map are taken as real


def rows(model: ModelReport) -> list[Row]:
    latent = model.latent
    by_class = [] if latent.silhouette_tsne is None else [("silhouette by class, t-SNE map",
                                                           f"{latent.silhouette_tsne:.3f}")]
    return by_class + [("t-SNE trustworthiness (5 neighbours)", f"{latent.trustworthiness:.3f}")]


def paragraphs(models: Models, everyone: Models) -> list[str]:
    trust = {m.name: m.latent.trustworthiness for m in models}
    low = [name for name, value in trust.items() if value < TRUSTWORTHY_MAP]
    if not low:
        verdict = (f"all at least {TRUSTWORTHY_MAP}, so the neighbours seen on the maps were neighbours in the "
                   "embeddings too: the groups on the maps exist in the latent spaces")
    else:
        verdict = (f"below {TRUSTWORTHY_MAP} for {listing(low)}, so {inflect('that map distorts', 'those maps distort', len(low))} "
                   "neighbourhoods and should be read with care")
    text = f"The t-SNE maps' trustworthiness is {span(trust, '{:.3f}'.format)}: {verdict}."
    if not all(m.latent.labelled for m in models):  # no classes, so no silhouette to set beside it
        return [text]
    silhouettes = span({m.name: m.latent.silhouette_tsne for m in models}, "{:.2f}".format)
    text += f" On the maps the silhouette by class is {silhouettes}"
    if all(m.latent.silhouette_tsne > m.latent.silhouette_embedding for m in models):
        return [text + (", higher than in the embeddings themselves: t-SNE pulls clusters apart, so the maps "
                        "flatter every model and the embedding figures are the fairer comparison.")]
    return [text + "."]


def method(models: Models, everyone: Models) -> str:
    first = models[0].latent
    return (f"t-SNE: scikit-learn, 2 components, perplexity {first.tsne_perplexity:g}, PCA initialisation, "
            f"seed {first.seed}: rerunning the analysis redraws the same maps. Trustworthiness: scikit-learn, "
            "5 neighbours.")


MEASURE = Measure("the t-SNE map", rows=rows, figures=(("tsne", "t-SNE map"),), paragraphs=paragraphs,
                  method=method)
