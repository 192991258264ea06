"""Class separation: how well each embedding's neighbourhoods say which class an image is.

5-fold 5-NN accuracy and the silhouette by class, against the raw pixels, a PCA of the same size
and chance (:mod:`aezoo.analysis.latent_metrics`).
"""

from __future__ import annotations

from aezoo.report.html import DASH
from aezoo.report.parts import Column, Measure, Models, Row
from aezoo.report.records import Accuracy, ModelReport
from aezoo.report.words import Tie, inflect, listing, named, percent, rank, ranked

# Closer figures are called level: a difference below what another seed gives is no result
# (the seed-to-seed spread: README, "Latent-space analysis and the report").
ACCURACY_TIE = Tie(0.01)
SILHOUETTE_TIE = Tie(0.02)


def _accuracy(value: Accuracy) -> str:
    return f"{value.accuracy:.1%} ± {value.std:.1%}"


def rows(model: ModelReport) -> list[Row]:
    latent = model.latent
    return [("5-NN accuracy, embedding of the clean image", _accuracy(latent.knn)),
            ("5-NN accuracy, embedding of the noisy image", _accuracy(latent.knn_noisy)),
            (f"5-NN accuracy, PCA of the pixels ({latent.knn_pca.dimensions or DASH} dimensions)",
             _accuracy(latent.knn_pca)),
            ("5-NN accuracy, raw pixels", _accuracy(latent.knn_pixels)),
            ("chance (most common class)", f"{latent.chance:.1%}"),
            ("silhouette by class, embedding", f"{latent.silhouette_embedding:.3f}"),
            ("silhouette by class, raw pixels", f"{latent.silhouette_pixels:.3f}")]


COLUMNS = (Column("5-NN accuracy", lambda model: f"{model.latent.knn.accuracy:.1%}"),
           Column("silhouette", lambda model: f"{model.latent.silhouette_embedding:.3f}"))


def paragraphs(models: Models, everyone: Models) -> list[str]:
    first = models[0].latent
    sentences = [_accuracy_text(models) if len(models) > 1 else _one_model_text(models[0])]
    sentences += [_pca_text(group) for group in _by_pca_size(models)]
    sentences.append(f"For scale: the raw pixels reach {first.knn_pixels.accuracy:.1%} and always guessing the "
                     f"most common class {first.chance:.1%}.")
    return [" ".join(sentences)]


def _one_model_text(model: ModelReport) -> str:
    return (f"Class separation: the embedding of {model.name} classifies {model.latent.knn.accuracy:.1%} of the "
            f"images correctly by their 5 nearest neighbours (silhouette {model.latent.silhouette_embedding:.2f}).")


def _accuracy_text(models: Models) -> str:
    knn = rank({m.name: m.latent.knn.accuracy for m in models}, ACCURACY_TIE)
    silhouette = rank({m.name: m.latent.silhouette_embedding for m in models}, SILHOUETTE_TIE)
    if knn.level:
        text = (f"Class separation: by 5-nearest-neighbour accuracy the embeddings are equally good "
                f"({named(knn.order, knn.values, percent)}; less than {ACCURACY_TIE.amount * 100:g} percentage "
                "point apart, which another choice of folds can change).")
    else:
        text = f"Class separation, by 5-nearest-neighbour accuracy: {ranked(knn, percent)}."
    two = "{:.2f}".format
    if silhouette.level:
        return text + f" The silhouette scores by class are about equal ({named(silhouette.order, silhouette.values, two)})."
    if knn.level or set(silhouette.leaders) & set(knn.leaders):
        return text + (f" By the silhouette score by class, which is higher for tighter, better separated groups: "
                       f"{ranked(silhouette, two)}.")
    their = inflect("its", "their", len(silhouette.leaders))
    return text + (f" The silhouette score disagrees ({ranked(silhouette, two)}): the classes of "
                   f"{listing(silhouette.leaders)} form tighter groups even though {their} neighbourhoods classify "
                   "less accurately, so the verdict depends on the measure.")


def _by_pca_size(models: Models) -> list[list[ModelReport]]:
    """Models grouped by the size of their PCA baseline (one baseline per embedding size)."""
    groups: dict[int | None, list[ModelReport]] = {}
    for model in models:
        groups.setdefault(model.latent.knn_pca.dimensions, []).append(model)
    return list(groups.values())


def _pca_text(models: list[ModelReport]) -> str:
    pca = models[0].latent.knn_pca
    gaps = {m.name: m.latent.knn.accuracy - pca.accuracy for m in models}
    beat = [name for name, gap in gaps.items() if gap >= ACCURACY_TIE.amount]
    short = [name for name, gap in gaps.items() if -gap >= ACCURACY_TIE.amount]
    match = [name for name in gaps if name not in beat and name not in short]
    clauses = [f"{listing(beat)} {inflect('beats', 'beat', len(beat))} it" if beat else "",
               f"{listing(match)} {inflect('matches', 'match', len(match))} it" if match else "",
               f"{listing(short)} {inflect('falls', 'fall', len(short))} short of it" if short else ""]
    dimensions, wanted = pca.dimensions, pca.requested_dimensions or pca.dimensions
    size = (f"the same {dimensions} dimensions, the best linear code of that size," if wanted <= dimensions else
            f"{dimensions} dimensions (the {wanted}-D code's baseline, capped at the images of a training fold),")
    return f"A PCA of the pixels with {size} reaches {pca.accuracy:.1%}: {'; '.join(c for c in clauses if c)}."


def method(models: Models, everyone: Models) -> str:
    first = models[0].latent
    grids = (" Grid codes (a grid of vectors per image) are flattened to one vector per image for t-SNE, k-NN, the "
             "silhouette and interpolation; their PCA baseline has as many dimensions as the flattened code (at most "
             "as many as a training fold has images)." if any(m.latent.grid for m in models) else "")
    return (f"Embeddings: the first {first.images} test images of {first.dataset}, without noise (the question is "
            "how the encoder organises the images); the noisy-image accuracy row uses the same images with the "
            "run's fixed test noise. k-NN: 5 neighbours, Euclidean distance, 5 stratified folds with shuffling "
            "(seeded); the PCA baseline is fitted inside each training fold. Silhouette: Euclidean, by true class."
            + grids)


MEASURE = Measure("class separation", columns=COLUMNS, rows=rows, paragraphs=paragraphs, method=method,
                  needs_labels=True)
