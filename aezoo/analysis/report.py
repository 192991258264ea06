"""``RUN/report.html``: one self-contained page with the run's results and the latent-space comparison.

Self-contained means the page needs nothing but itself: the pictures are embedded as base64
``data:`` URIs and the style sheet is inline, so it can be mailed, archived or opened offline.

The written comparison is *generated from the measured numbers*: every sentence that says one
model is better is chosen by comparing the figures it quotes, with a tolerance below which the
page calls the result a tie instead of inventing a winner.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from aezoo import files
from aezoo.analysis.embeddings import AnalysisData, RunRecords
from aezoo.analysis.interpolation import INTERPOLATION_POINTS
from aezoo.analysis.latent_metrics import ACTIVE_KL_THRESHOLD
from aezoo.generation.report import report_section as generation_section

# Differences below these are called a tie: 5-fold accuracies of 1000 images wobble by about a
# percentage point between seeds, silhouettes by a few hundredths.
ACCURACY_TIE = 0.01
SILHOUETTE_TIE = 0.02
RELATIVE_TIE = 0.05  # for the jump ratio: 5 % apart or less is "about the same"
TRUSTWORTHY_MAP = 0.9

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f2f2f2; }
.row { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.row figure { flex: 1 1 480px; margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .88em; color: #555; }
.note { color: #555; font-size: .92em; }
code { background: #f5f5f5; padding: 0 .2em; }
"""


@dataclasses.dataclass(frozen=True)
class ReportContext:
    """Everything a section of the report may draw on.

    Attributes:
        records: the run's config, summary and every finished model's metrics.json.
        results: latent analysis of each model with a latent space (kind -> latent_metrics.json
            content plus ``"figures"``: figure name -> file).
        data: the analysed test images.
        skipped: models without a latent space -> the sentence saying why they have no latent sections.
        figures: run-level figures (figure name -> file), e.g. the KL of every model side by side.
        phases: returns the phase table as it stands when the page draws it (the analysis passes
            one that also times the report); default: ``summary.json["phases"]``.
    """

    records: RunRecords
    results: dict[str, dict[str, Any]]
    data: AnalysisData
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    figures: dict[str, Path] = dataclasses.field(default_factory=dict)
    phases: Callable[[], list[dict[str, Any]]] | None = None

    def phase_table(self) -> list[dict[str, Any]]:
        """Where the run's time went (``summary.json["phases"]`` rows); [] for a run that has none."""
        if self.phases is not None:
            return self.phases()
        return list((self.records.summary or {}).get("phases") or [])

    @property
    def kinds(self) -> list[str]:
        """Every finished model of the run, in training order (with and without a latent space)."""
        return [k for k in self.records.models if k in self.results or k in self.skipped] or list(self.results)

    @property
    def trained(self) -> dict[str, dict[str, Any]]:
        return {kind: self.records.metrics.get(kind, {}) for kind in self.kinds}


Section = Callable[[ReportContext], str]


def write_report(records: RunRecords, results: dict[str, dict[str, Any]], data: AnalysisData,
                 skipped: dict[str, str] | None = None, figures: dict[str, Path] | None = None,
                 phases: Callable[[], list[dict[str, Any]]] | None = None) -> Path:
    """Write the run's ``report.html`` from the analysis ``results`` (kind -> metrics) and return its path.

    ``records`` are the run's config, summary and metrics as the analysis already read them;
    ``skipped`` the models without a latent space and why; ``figures`` the run-level figures;
    ``phases`` the phase table (:class:`ReportContext`).
    """
    path = records.folder.report_path
    context = ReportContext(records, results, data, dict(skipped or {}), dict(figures or {}), phases)
    files.write_text(path, render_report(context))
    return path


def render_report(context: ReportContext) -> str:
    """The report as an HTML string: every builder of :data:`SECTIONS` in turn."""
    title = f"aezoo report {context.records.folder.path.name}: denoising autoencoders and their latent spaces"
    body = [html_part for build in SECTIONS if (html_part := build(context))]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{_e(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n")


# ----------------------------------------------------------------------------- sections

def overview_section(context: ReportContext) -> str:
    """Where the report comes from, which models and data, and the run's configuration."""
    data, run_dir = context.data, context.records.folder.path
    return (f"<p class=\"note\">Generated {datetime.now():%Y-%m-%d %H:%M} from <code>{_e(str(run_dir))}</code>. "
            f"Models: {_e(', '.join(k.upper() for k in context.kinds))}. Data: {_e(data.dataset)}"
            f"{' (' + _e(data.source) + ')' if data.source else ''}. "
            + "".join(f"<a href=\"#model-{_e(k)}\">{_e(k.upper())}</a> " for k in context.kinds) + "</p>\n"
            "<h2>Configuration</h2>" + _config_table(context.records.config))


def comparison_section(context: ReportContext) -> str:
    """One table of every model (rows) against the baselines: denoising and latent-space numbers."""
    return "<h2>All models compared</h2>" + _summary_intro(context.records.summary) + comparison_table(context)


def findings_section(context: ReportContext) -> str:
    """The written comparison, every claim decided by the numbers it quotes."""
    if not context.results:
        return ""
    paragraphs = written_comparison(context.results, context.records.summary, context.trained)
    return "<h2>What the numbers say</h2>" + "".join(f"<p>{_e(p)}</p>" for p in paragraphs)


def model_sections(context: ReportContext) -> str:
    """One section per model: training, then its latent space (or one sentence why it has none)."""
    intro = ("<h2>Each model</h2><p>Per model: the loss curves and its last validation digits; then, for a model "
             f"with a latent space, the t-SNE map of the embeddings of the first {len(context.data)} <em>clean</em> "
             "test images (colours are the digit classes, the same in every map; cluster sizes and distances "
             "between clusters carry little meaning, which points share a cluster does), decoded straight lines "
             f"between the embeddings of two test images (red frames; {_points(context.results)} codes, ends "
             "included; every model uses the same pairs), its own figures and its latent measures.</p>")
    return intro + "\n".join(_model_section(context, kind) for kind in context.kinds)


def kl_family_section(context: ReportContext) -> str:
    """Models with a KL per latent dimension side by side, and how a VAE samples and what it minimises."""
    if not any("latent_usage" in r for r in context.results.values()):
        return ""
    side_by_side = context.figures.get("kl_side_by_side")
    figure = (_figure(side_by_side, "KL of each latent dimension of every VAE-family model, largest first")
              if side_by_side else "")
    return ("<h2>How the VAE samples, and what its loss is</h2>"
            + "".join(f"<p>{_e(p)}</p>" for p in vae_explanation(context.results, context.trained))
            + f"<div class=\"row\">{figure}</div>")


def generation_report_section(context: ReportContext) -> str:
    # Read from disk: the generation scores are written after the records were loaded.
    return generation_section(context.records.folder.path)


def method_section(context: ReportContext) -> str:
    return "<h2>How this was measured</h2>" + _method_notes(context.results, context.data) if context.results else ""


def timing_section(context: ReportContext) -> str:
    """Where the run's time went: one row per phase, wall and CPU seconds and the share of the total."""
    table = context.phase_table()
    total = next((row for row in table if row.get("part") == "total"), None)
    if not total:
        return ""
    rows = [(row["phase"] + (" (failed)" if row.get("failed") else ""), f"{row['seconds']:.1f}",
             f"{row['cpu_seconds']:.1f}", f"{row['seconds'] / total['seconds']:.0%}" if total["seconds"] else "–")
            for row in table]
    rest = total["seconds"] - sum(row["seconds"] for row in table if row is not total)
    return ("<h2 id=\"phases\">Where the time went</h2><p>Wall-clock and CPU seconds of each phase of the command "
            "that made this run (<code>summary.json</code>, <code>\"phases\"</code>), from the process's start. "
            "CPU seconds count every thread: above the wall seconds, threads worked in parallel; far below them, "
            "the machine was busy with other work. A later <code>python -m aezoo analyze</code> replaces the "
            f"analysis rows and moves the total by the difference. Between phases: {rest:.1f} s.</p>"
            + _table(("phase", "wall s", "CPU s", "of the total"), rows))


# The report is these builders' output, in this order. A new section is one function taking the
# ReportContext and returning HTML ("" for nothing), placed in this list. The timing table comes
# last: drawn last, it times the report itself up to that moment.
SECTIONS: list[Section] = [overview_section, comparison_section, findings_section, model_sections,
                           kl_family_section, generation_report_section, method_section, timing_section]


# ----------------------------------------------------------------------------- written comparison

def written_comparison(results: dict[str, dict[str, Any]], summary: dict[str, Any] | None = None,
                       trained: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Plain-text paragraphs comparing the models, each claim decided by the numbers it quotes."""
    paragraphs = [_separation_text(results), _conditional_text(results), _map_text(results),
                  _smoothness_text(results)]
    if any("latent_usage" in r for r in results.values()):
        paragraphs.append(_kl_text(results, summary, trained or {}))
    paragraphs.append(_codebook_text(results))
    return [p for p in paragraphs if p]


def _conditional_text(results: dict[str, dict[str, Any]]) -> str:
    """For each model that encodes with the label: does its code still say which digit it is?"""
    sentences = []
    others = {k: r["knn_accuracy"]["accuracy"] for k, r in results.items() if not r.get("needs_labels")}
    for kind, r in results.items():
        if not r.get("needs_labels"):
            continue
        mine, pca = r["knn_accuracy"]["accuracy"], r["knn_accuracy_pca"]["accuracy"]
        compared = {**others, "PCA baseline": pca}
        listed = ", ".join(f"{k if k == 'PCA baseline' else k.upper()} {v:.1%}" for k, v in compared.items())
        if all(mine <= v - ACCURACY_TIE for v in compared.values()):
            sentences.append(
                f"The {kind.upper()}'s codes classify only {mine:.1%} of the digits by 5 nearest neighbours, below "
                f"every code that is not given the class ({listed}; chance {r['chance_accuracy']:.1%}): its encoder "
                "and decoder are told the class, so the code need not carry it and keeps the style instead, as "
                "its style-transfer figure shows.")
        else:
            sentences.append(
                f"The {kind.upper()} is told the class, so its code need not carry it; yet its codes still classify "
                f"{mine:.1%} of the digits by 5 nearest neighbours, not below every other code ({listed}; chance "
                f"{r['chance_accuracy']:.1%}): in this run its code still holds class information. Its encoder "
                "sees the label, so a code can carry it; only the KL term, which charges for every bit the "
                "decoder could have from the label for free, removes it as training goes on.")
    return " ".join(sentences)


def _codebook_text(results: dict[str, dict[str, Any]]) -> str:
    sentences = []
    for kind, r in results.items():
        book = r.get("codebook")
        if book:
            dead = (f"{book['dead_codes']} of them are chosen by no grid cell (dead)" if book["dead_codes"]
                    else "none is dead")
            sentences.append(f"The {kind.upper()} snaps each cell of its grid to one of {book['num_codes']} codebook "
                             f"vectors; on the clean test images their perplexity is {book['perplexity']:.1f} (the "
                             f"number of codes in effective use) and {dead}.")
    return " ".join(sentences)


def _separation_text(results: dict[str, dict[str, Any]]) -> str:
    knn = {k: r["knn_accuracy"]["accuracy"] for k, r in results.items()}
    sil = {k: r["silhouette_embedding"] for k, r in results.items()}
    first = next(iter(results.values()))
    sentences = []
    if len(results) >= 2:
        best, worst = max(knn, key=knn.get), min(knn, key=knn.get)
        listed = ", ".join(f"{k.upper()} {knn[k]:.1%}" for k in results)
        if knn[best] - knn[worst] < ACCURACY_TIE:
            sentences.append(f"Class separation: the embeddings are equally good for 5-nearest-neighbour "
                             f"classification ({listed}; less than {ACCURACY_TIE * 100:g} percentage point apart, "
                             "which a different choice of folds can change).")
        else:
            sentences.append(f"Class separation: the {best.upper()}'s latent space separates the digit classes "
                             f"better by 5-nearest-neighbour accuracy ({listed}).")
        best_sil, worst_sil = max(sil, key=sil.get), min(sil, key=sil.get)
        sil_listed = ", ".join(f"{k.upper()} {sil[k]:.2f}" for k in results)
        if sil[best_sil] - sil[worst_sil] < SILHOUETTE_TIE:
            sentences.append(f"The silhouette scores by class are about equal ({sil_listed}).")
        elif best_sil == best or knn[best] - knn[worst] < ACCURACY_TIE:
            sentences.append(f"The silhouette score by class is higher for the {best_sil.upper()} ({sil_listed}): "
                             "its classes form tighter, better separated groups.")
        else:
            sentences.append(f"The silhouette score disagrees ({sil_listed}): the {best_sil.upper()}'s classes "
                             "form tighter groups even though its neighbourhoods classify less accurately, so "
                             "the verdict depends on the measure.")
    else:
        kind = next(iter(results))
        sentences.append(f"Class separation: the {kind.upper()}'s embedding classifies {knn[kind]:.1%} of the "
                         f"images correctly by their 5 nearest neighbours (silhouette {sil[kind]:.2f}).")
    by_size: dict[int, list[str]] = {}
    for kind, r in results.items():
        by_size.setdefault(r["knn_accuracy_pca"]["dimensions"], []).append(kind)
    for dimensions, kinds in by_size.items():
        pca = results[kinds[0]]["knn_accuracy_pca"]["accuracy"]
        relations = []
        for kind in kinds:
            if knn[kind] - pca >= ACCURACY_TIE:
                relations.append(f"the {kind.upper()} beats it")
            elif pca - knn[kind] >= ACCURACY_TIE:
                relations.append(f"the {kind.upper()} falls short of it")
            else:
                relations.append(f"the {kind.upper()} matches it")
        wanted = results[kinds[0]]["knn_accuracy_pca"].get("requested_dimensions", dimensions)
        size = (f"the same {dimensions} dimensions, the best linear code of that size," if wanted <= dimensions else
                f"{dimensions} dimensions (the {wanted}-D code's baseline, capped at the images of a training fold),")
        sentences.append(f"A PCA of the pixels with {size} reaches {pca:.1%}: {' and '.join(relations)}.")
    sentences.append(f"For scale: the raw 784 pixels reach {first['knn_accuracy_pixels']['accuracy']:.1%} and "
                     f"always guessing the most common class {first['chance_accuracy']:.1%}.")
    return " ".join(sentences)


def _map_text(results: dict[str, dict[str, Any]]) -> str:
    trust = {k: r["tsne_trustworthiness"] for k, r in results.items()}
    listed = ", ".join(f"{k.upper()} {v:.3f}" for k, v in trust.items())
    if all(v >= TRUSTWORTHY_MAP for v in trust.values()):
        verdict = (f"all at least {TRUSTWORTHY_MAP}, so the neighbours seen on the maps were neighbours in the "
                   "embeddings too: the groups on the maps exist in the latent spaces")
    else:
        low = [k.upper() for k, v in trust.items() if v < TRUSTWORTHY_MAP]
        verdict = (f"below {TRUSTWORTHY_MAP} for {', '.join(low)}, so that map distorts neighbourhoods and should "
                   "be read with care")
    silhouettes = ", ".join(f"{k.upper()} {r['silhouette_tsne']:.2f}" for k, r in results.items())
    text = (f"The t-SNE maps' trustworthiness is {listed}: {verdict}. On the maps the silhouette by class is "
            f"{silhouettes}")
    if all(r["silhouette_tsne"] > r["silhouette_embedding"] for r in results.values()):
        return text + (", higher than in the embeddings themselves: t-SNE pulls clusters apart, so the maps "
                       "flatter every model and the embedding figures are the fairer comparison.")
    return text + "."


def _smoothness_text(results: dict[str, dict[str, Any]]) -> str:
    smooth = {k: r["interpolation"] for k, r in results.items()}
    first = next(iter(smooth.values()))
    details = "; ".join(f"{k.upper()}: mean step {s['mean_step']:.4f}, largest step {s['max_step']:.4f}, "
                        f"jump ratio {s['jump_ratio']:.2f}"
                        + (f", end error {s['end_error']:.3f}" if "end_error" in s else "") for k, s in smooth.items())
    intro = (f"Interpolation smoothness, over {first['pairs']} image pairs with {first['points_per_pair']} "
             f"decoded points each ({details}). ")
    caveat = (" The measure says how evenly the decoded image changes along the line, not whether the "
              "intermediate images look like digits; the strips show that.")
    switching = [k.upper() for k, r in results.items() if r.get("needs_labels")]
    if switching:
        caveat += (f" The {', '.join(switching)} strips switch the class label halfway between two different "
                   "digits, so their jump ratio includes that switch.")
    if len(smooth) < 2:
        return intro + "A jump ratio of 1 would mean a perfectly even change." + caveat
    ratio = {k: s["jump_ratio"] for k, s in smooth.items()}
    best, worst = min(ratio, key=ratio.get), max(ratio, key=ratio.get)
    if ratio[worst] - ratio[best] <= RELATIVE_TIE * ratio[best]:
        verdict = ("They interpolate about equally smoothly: their jump ratios (largest step over the average "
                   f"step; 1 is perfectly even) are within {RELATIVE_TIE:.0%} of each other.")
    else:
        verdict = (f"The {best.upper()} interpolates more smoothly: its jump ratio (largest step over the average "
                   f"step; 1 is perfectly even) is {ratio[best]:.2f} against {ratio[worst]:.2f}, so its "
                   "decoded images change more evenly and with smaller sudden jumps.")
        ends = {k: s.get("end_error") for k, s in smooth.items()}
        if ends[best] is not None and ends[worst] is not None and ends[best] > ends[worst] * (1 + RELATIVE_TIE):
            verdict += (f" Its decoded end points are, however, further from the real images (end error "
                        f"{ends[best]:.3f} against {ends[worst]:.3f}), so its strips are also less faithful to "
                        "the two digits they connect.")
    return intro + verdict + caveat


def _kl_text(results: dict[str, dict[str, Any]], summary: dict[str, Any] | None,
             trained: dict[str, dict[str, Any]]) -> str:
    """What the KL term does to each model that has one, against the plain autoencoders of the run."""
    betas = {k: (trained.get(k, {}).get("config") or {}).get("beta") for k in results}
    kl_kinds = [k for k in results if "latent_usage" in results[k]]
    # A plain autoencoder: neither a KL term nor a codebook constrains its codes.
    plain = [k for k in results if "latent_usage" not in results[k] and "codebook" not in results[k]]
    sentences = [_kl_sentences(kind, results[kind], betas[kind]) for kind in kl_kinds]
    sentences.append(_active_units_comparison({k: results[k]["latent_usage"] for k in kl_kinds}, betas))
    if plain:
        others = ", ".join(f"the {k.upper()}'s lie {results[k]['spread']['mean_norm']:.2f} from the origin "
                           f"with spread {results[k]['spread']['mean_std']:.2f}" for k in plain)
        sentences.append(f"Nothing in a plain autoencoder's loss constrains where its codes go: {others}.")
    tests = (summary or {}).get("test", {})
    if plain and plain[0] in tests and any(k in tests for k in kl_kinds):
        theirs = tests[plain[0]]["psnr"]
        listed = ", ".join(f"the {k.upper()}'s {tests[k]['psnr']:.2f} dB "
                           f"({'lower' if tests[k]['psnr'] < theirs else 'not lower'})" for k in kl_kinds if k in tests)
        sentences.append(f"The KL term also limits how much the code can say about each image; in denoising, against "
                         f"the {plain[0].upper()}'s test PSNR of {theirs:.2f} dB, {listed}.")
    return " ".join(s for s in sentences if s)


def _kl_sentences(kind: str, r: dict[str, Any], beta: Any) -> str:
    usage, spread = r["latent_usage"], r["spread"]
    beta_text = f" (weighted by beta = {beta:g} in the loss)" if isinstance(beta, (int, float)) else ""
    inactive = usage["dimensions"] - usage["active_units"]
    return (f"The KL term: the {kind.upper()}'s codes cost {usage['kl_total']:.2f} nats per image of KL divergence "
            f"from the prior{beta_text}. {usage['active_units']} of its {usage['dimensions']} latent dimensions "
            f"carry information (average KL above {ACTIVE_KL_THRESHOLD} nats)"
            + (f"; the other {inactive} have collapsed onto the prior: for every image their posterior is almost "
               "the prior itself, so they tell the decoder (almost) nothing about the image - the average KL "
               "bounds the information a dimension carries." if inactive else "; none has collapsed onto the prior.")
            + f" By the stricter criterion of Burda et al. (variance of the posterior mean above 0.01) "
            f"{usage['active_units_variance']} are active. Its posterior means spread {spread['mean_std']:.2f} per "
            f"dimension and lie on average {spread['mean_norm']:.2f} from the origin (a draw from the prior N(0, I): "
            f"spread 1, distance about {math.sqrt(usage['dimensions']):.1f}).")


def _active_units_comparison(usages: dict[str, dict[str, Any]], betas: dict[str, Any]) -> str:
    """Which KL model keeps the fewest dimensions in use, and whether it is the one with the heaviest KL weight."""
    if len(usages) < 2:
        return ""
    active = {k: u["active_units"] for k, u in usages.items()}
    fewest, most = min(active, key=active.get), max(active, key=active.get)
    listed = ", ".join(f"{k.upper()} {u['active_units']} of {u['dimensions']}" for k, u in usages.items())
    if active[fewest] == active[most]:
        return f"Side by side, every model with a KL term keeps the same number of dimensions active ({listed})."
    weights = {k: b for k, b in betas.items() if k in usages and isinstance(b, (int, float))}
    heaviest = (len(weights) == len(usages) and weights[fewest] == max(weights.values())
                and weights[fewest] > min(weights.values()))
    reason = (f": its KL term weighs beta = {weights[fewest]:g}, the heaviest, and a heavier KL weight lets more "
              "dimensions collapse onto the prior, leaving fewer to carry the image" if heaviest else "")
    return (f"Side by side, the {fewest.upper()} keeps the fewest latent dimensions active ({listed}){reason}.")


def vae_explanation(results: dict[str, dict[str, Any]], trained: dict[str, dict[str, Any]]) -> list[str]:
    """The plain explanation of the VAE's sampling and loss, with the run's own loss values."""
    paragraphs = [
        "Sampling. The plain autoencoder maps an image to one point. The VAE's encoder instead outputs, "
        "for each latent dimension, a mean and a standard deviation: a Gaussian q(z | x) saying where in "
        "latent space the image probably lives. In training the decoder gets a random draw from it, "
        "z = mean + std × ε with ε drawn from N(0, 1) (the reparameterisation trick: the randomness is in ε, so "
        "gradients still reach the mean and the std). Because every image's code is blurred this way, the "
        "decoder must produce a sensible digit for a whole neighbourhood of codes, not just for one point. "
        "To make a new digit, draw z from the prior N(0, I) and decode it; that is how the grid of prior "
        "samples below was made. For denoising and for these analyses the VAE uses the mean (no sampling), "
        "so its output is deterministic.",
        "Loss. Per image, the VAE minimises reconstruction + beta × KL. The reconstruction term is the binary "
        "cross-entropy between the decoded image and the clean image, summed over the 784 pixels (the negative "
        "log-likelihood of the clean image under the decoder). The KL term is the Kullback-Leibler divergence "
        "of q(z | noisy image) from the prior N(0, I), in closed form; it charges the model for every bit of "
        "information its code carries and pulls all codes towards one shared cloud. With beta = 1 the sum is "
        "the negative evidence lower bound (ELBO).",
    ]
    plain = {"mse": "the mean squared error", "bce": "the per-pixel binary cross-entropy"}
    for kind in results:
        loss = (trained.get(kind, {}).get("config") or {}).get("pixel_loss")
        if "latent_usage" not in results[kind] and loss in plain:
            paragraphs[1] += (f" The plain {kind.upper()} has no KL term: it minimises only {plain[loss]} between "
                              "its output and the clean image.")
    for kind in results:
        test = trained.get(kind, {}).get("test", {})
        if "latent_usage" in results[kind] and {"reconstruction_loss", "kl", "loss"} <= test.keys():
            beta = (trained[kind].get("config") or {}).get("beta", 1.0)
            terms = f"{test['reconstruction_loss']:.1f} (reconstruction) + {beta:g} × {test['kl']:.2f} (KL)"
            if math.isclose(test["reconstruction_loss"] + beta * test["kl"], test["loss"], rel_tol=1e-3):
                paragraphs.append(f"In this run, on the noisy test images, the {kind.upper()}'s loss is {terms} = "
                                  f"{test['loss']:.1f} nats per image.")
            else:  # a tighter bound than the ELBO (importance weighting): the loss is not the sum of the two terms
                paragraphs.append(f"In this run, on the noisy test images, the {kind.upper()}'s ELBO terms are {terms} "
                                  f"= {test['reconstruction_loss'] + beta * test['kl']:.1f} nats per image, but it "
                                  f"minimises a different bound: its loss is {test['loss']:.1f} nats per image.")
    return paragraphs


# ----------------------------------------------------------------------------- HTML pieces

def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<img src=\"data:image/png;base64,{data}\" alt=\"{_e(alt)}\">"


def _figure(path: Path | None, caption: str) -> str:
    if path is None or not Path(path).is_file():
        return f"<figure><figcaption>{_e(caption)}: not available</figcaption></figure>"
    return f"<figure>{_image(path, caption)}<figcaption>{_e(caption)}</figcaption></figure>"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _config_table(config: dict[str, Any]) -> str:
    if not config:
        return "<p>config.json is missing.</p>"
    rows = [(key, json.dumps(value) if isinstance(value, (dict, list)) else value) for key, value in config.items()]
    return _table(("setting", "value"), rows)


def _summary_intro(summary: dict[str, Any] | None) -> str:
    if not summary:
        return ("<p>summary.json is missing (an unfinished run): the test scores are each finished model's "
                "metrics.json.</p>")
    sizes = summary.get("splits", {})
    split_text = (f" The models trained on {sizes['train']} images and were validated (best checkpoint, "
                  f"val_* curves) on {sizes['validation']} others; these test images were scored once, after "
                  "training." if {"train", "validation"} <= sizes.keys() else "")
    return (f"<p>{summary['test_images']} {_e(summary['dataset'])} test images with "
            f"{_e(summary['noise']['kind'])} noise of strength {summary['noise']['strength']}. The first rows are "
            f"baselines: the noisy input itself and a 3×3 median filter.{_e(split_text)} The latent columns are "
            "measured on the first analysed clean test images; – means the measure does not apply.</p>")


COMPARISON_HEADER = ("model", "test PSNR (dB)", "test SSIM", "parameters", "training (s)", "5-NN accuracy",
                     "silhouette", "jump ratio", "KL (nats) / active units", "codebook perplexity / dead")


def comparison_table(context: ReportContext) -> str:
    """Baselines and every model as rows; columns that do not apply to a model show –."""
    summary = context.records.summary or {}
    tests = dict(summary.get("test", {}))
    for kind in context.kinds:
        tests.setdefault(kind, context.trained[kind].get("test", {}))
    rows = [(name, _fmt(scores.get("psnr"), ".2f"), _fmt(scores.get("ssim"), ".3f"), *["–"] * 7)
            for name, scores in tests.items() if name not in context.kinds]
    for kind in context.kinds:
        extra = summary.get("models", {}).get(kind) or context.trained[kind]
        rows.append((kind.upper(), _fmt(tests[kind].get("psnr"), ".2f"), _fmt(tests[kind].get("ssim"), ".3f"),
                     _fmt(extra.get("parameters"), ",d"), _fmt(extra.get("training_seconds"), ".1f"),
                     *_latent_cells(context.results.get(kind))))
    return _table(COMPARISON_HEADER, rows)


def _latent_cells(result: dict[str, Any] | None) -> list[str]:
    """5-NN, silhouette, jump ratio, KL / active units and codebook cells of one model (– where absent)."""
    if result is None:
        return ["–"] * 5
    usage, codebook = result.get("latent_usage"), result.get("codebook")
    return [_fmt(result["knn_accuracy"]["accuracy"], ".1%"), _fmt(result["silhouette_embedding"], ".3f"),
            _fmt(result["interpolation"]["jump_ratio"], ".2f"),
            f"{usage['kl_total']:.2f} / {usage['active_units']} of {usage['dimensions']}" if usage else "–",
            f"{codebook['perplexity']:.1f} of {codebook['num_codes']} / {codebook['dead_codes']}"
            if codebook else "–"]


def _model_section(context: ReportContext, kind: str) -> str:
    """One model: what it is, its training figures, then its latent figures and measures or why it has none."""
    trained, run = context.trained.get(kind, {}), context.records.folder
    result = context.results.get(kind)
    name = (result or {}).get("class") or trained.get("model_class") or ""
    name = "" if name.upper() == kind.upper() else name
    heading = f"<h2 id=\"model-{_e(kind)}\">{_e(kind.upper())}{' (' + _e(name) + ')' if name else ''}</h2>"
    epochs = sorted(run.reconstructions_dir(kind).glob("epoch_*.png"))
    parts = [heading, "<div class=\"row\">",
             _figure(run.loss_curves_path(kind), f"{kind.upper()}: loss and metrics per epoch (val_*: the validation "
                     "split)"),
             _figure(epochs[-1] if epochs else None,
                     f"{kind.upper()}: noisy / denoised / clean validation digits after the last epoch"), "</div>"]
    if kind in context.skipped:
        return "".join(parts) + f"<p class=\"skip\">{_e(context.skipped[kind])}</p>"
    if result is None:
        return "".join(parts)
    figures = result["figures"]
    own = [_figure(figures[n], f"{kind.upper()}: {caption}") for n, caption in MODEL_FIGURES if n in figures]
    return "".join(parts + ["<div class=\"row\">", _figure(figures.get("tsne"), f"{kind.upper()}: t-SNE map"),
                            _figure(figures.get("interpolation"), f"{kind.upper()}: interpolation"), "</div>",
                            f"<div class=\"row\">{''.join(own)}</div>" if own else "",
                            f"<h3>{_e(kind.upper())}: latent measures</h3>", _latent_table(result)])


# Figures only some models have, in the order they appear in a model's section.
MODEL_FIGURES = (
    ("style_transfer", "style transfer: each digit's code (left, in its red frame) decoded with every label"),
    ("prior_samples", "digits decoded from random codes z ~ N(0, I)"),
    ("kl_per_dimension", "average KL of each latent dimension (grey: unused)"),
    ("latent_grid", "the 2-D latent space decoded on a grid"),
    ("codebook_usage", "how often each codebook vector is chosen (grey: dead codes)"),
)


def _fmt(value: Any, spec: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return format(value, spec)
    return "–"


def _latent_table(result: dict[str, Any]) -> str:
    """Two columns, measure and value, for one model's latent analysis (rows that do not apply are left out)."""
    def accuracy(key: str) -> Any:
        return lambda r: f"{r[key]['accuracy']:.1%} ± {r[key]['std']:.1%}"

    pca = result["knn_accuracy_pca"]
    rows = [
        ("embedding", lambda r: "x".join(str(n) for n in r.get("embedding_shape", [r["embedding_dim"]]))
         + (f" (flattened: {r['embedding_dim']})" if len(r.get("embedding_shape", [0])) > 1 else ""), "s"),
        ("encoded with the class label", lambda r: "yes" if r["needs_labels"] else "no", "s"),
        ("5-NN accuracy, embedding of the clean image", accuracy("knn_accuracy"), "s"),
        ("5-NN accuracy, embedding of the noisy image", accuracy("knn_accuracy_noisy_input"), "s"),
        (f"5-NN accuracy, PCA of the pixels ({pca.get('dimensions', '?')} dimensions)", accuracy("knn_accuracy_pca"),
         "s"),
        ("5-NN accuracy, raw pixels (784)", accuracy("knn_accuracy_pixels"), "s"),
        ("chance (most common class)", lambda r: r["chance_accuracy"], ".1%"),
        ("silhouette by class, embedding", lambda r: r["silhouette_embedding"], ".3f"),
        ("silhouette by class, t-SNE map", lambda r: r["silhouette_tsne"], ".3f"),
        ("silhouette by class, raw pixels", lambda r: r["silhouette_pixels"], ".3f"),
        ("t-SNE trustworthiness (5 neighbours)", lambda r: r["tsne_trustworthiness"], ".3f"),
        ("interpolation: mean step (mean |Δpixel|)", lambda r: r["interpolation"]["mean_step"], ".4f"),
        ("interpolation: largest step", lambda r: r["interpolation"]["max_step"], ".4f"),
        ("interpolation: jump ratio (1 = even)", lambda r: r["interpolation"]["jump_ratio"], ".2f"),
        ("interpolation: end error (decoded ends vs real images)", lambda r: r["interpolation"]["end_error"], ".4f"),
        ("code spread: mean std per dimension", lambda r: r["spread"]["mean_std"], ".3f"),
        ("code spread: mean distance from origin", lambda r: r["spread"]["mean_norm"], ".3f"),
        ("KL per image (nats)", lambda r: r["latent_usage"]["kl_total"], ".2f"),
        (f"active units (KL > {ACTIVE_KL_THRESHOLD} nats)",
         lambda r: f"{r['latent_usage']['active_units']} of {r['latent_usage']['dimensions']}", "s"),
        ("KL per dimension (nats)", lambda r: ", ".join(f"{v:.2f}" for v in r["latent_usage"]["kl_per_dimension"]),
         "s"),
        ("codebook perplexity (codes in effective use)",
         lambda r: f"{r['codebook']['perplexity']:.1f} of {r['codebook']['num_codes']}", "s"),
        ("dead codes (chosen by no grid cell)", lambda r: r["codebook"]["dead_codes"], "d"),
        ("analysis time (s), of which t-SNE", lambda r: f"{r['seconds']['total']:.1f} ({r['seconds']['tsne']:.1f})",
         "s"),
    ]
    cells = []
    for label, get, spec in rows:
        try:
            cells.append((label, _fmt(get(result), spec)))
        except (KeyError, TypeError):
            continue
    note = ("<p class=\"note\">Accuracies are means ± standard deviation over 5 stratified folds. Higher is better "
            "for accuracy, silhouette and trustworthiness; for the jump ratio lower is smoother.</p>")
    return _table(("measure", "value"), cells) + note


def _points(results: dict[str, dict[str, Any]]) -> int:
    return next(iter(results.values()))["interpolation"]["points_per_pair"] if results else INTERPOLATION_POINTS


def _method_notes(results: dict[str, dict[str, Any]], data: AnalysisData) -> str:
    first = next(iter(results.values()))
    has = {"grid": any(len(r.get("embedding_shape", [0])) > 1 for r in results.values()),
           "labels": any(r.get("needs_labels") for r in results.values()),
           "codebook": any("codebook" in r for r in results.values()),
           "kl": any("latent_usage" in r for r in results.values())}
    items = [
        f"Embeddings: the first {len(data)} test images of {data.dataset}, without noise (the question is how the "
        "encoder organises digits); the VAE's embedding is the posterior mean. The noisy-image accuracy row uses "
        "the same images with the run's fixed test noise.",
        f"t-SNE: scikit-learn, 2 components, perplexity {first['tsne']['perplexity']:g}, PCA initialisation, "
        f"seed {first['seed']}: rerunning the analysis redraws the same maps.",
        "k-NN: 5 neighbours, Euclidean distance, 5 stratified folds with shuffling (seeded); the PCA baseline is "
        "fitted inside each training fold.",
        "Silhouette: Euclidean, by true class. Trustworthiness: scikit-learn, 5 neighbours.",
        f"Interpolation: {first['interpolation']['pairs']} pairs alternating different-class and same-class, "
        "chosen by the seed from the labels only (the same for every model); step = mean absolute pixel "
        "difference between consecutive decoded images; end error = the same difference between the decoded "
        "ends (t = 0 and t = 1) and the two real images.",
        has["kl"] and f"Active units: latent dimensions whose KL, averaged over the images, exceeds "
        f"{ACTIVE_KL_THRESHOLD} nats; the side-by-side figure sorts each model's dimensions by their KL.",
        has["grid"] and "Grid codes (a 7×7 grid of vectors per image) are flattened to one vector per image "
        "for t-SNE, k-NN, the silhouette and interpolation; their PCA baseline has as many dimensions as the "
        "flattened code (at most as many as a training fold has images).",
        has["labels"] and "Models that need the class label encode each image with its true label; their "
        "interpolation strips decode the first half with the first image's label and the second half with the "
        "second's.",
        has["codebook"] and "Codebook usage: every grid cell of the clean test images snapped to its nearest "
        "codebook vector; perplexity = exp(entropy of the code frequencies), the number of codes in effective "
        "use; dead codes are chosen by no cell.",
    ]
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items if item) + "</ul>"


__all__ = ["SECTIONS", "ReportContext", "comparison_table", "render_report", "vae_explanation", "write_report",
           "written_comparison"]
