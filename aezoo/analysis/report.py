"""``RUN/report.html``: one self-contained page with the run's results and the latent-space comparison.

Self-contained means the page needs nothing but itself: the pictures are embedded as base64
``data:`` URIs and the style sheet is inline, so it can be mailed, archived or opened offline.

The written comparison is *generated from the measured numbers*: every sentence that says one
model is better is chosen by comparing the figures it quotes, with a tolerance below which the
page calls the result a tie instead of inventing a winner.
"""

from __future__ import annotations

import base64
import html
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from aezoo import files
from aezoo.analysis.embeddings import AnalysisData, RunRecords
from aezoo.analysis.latent_metrics import ACTIVE_KL_THRESHOLD
from aezoo.generation import report_section as generation_section
from aezoo.run_folder import RunFolder

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


def write_report(records: RunRecords, results: dict[str, dict[str, Any]], data: AnalysisData) -> Path:
    """Write the run's ``report.html`` from the analysis ``results`` (kind -> metrics) and return its path.

    ``records`` are the run's config, summary and metrics as the analysis already read them.
    """
    path = records.folder.report_path
    files.write_text(path, render_report(records, results, data))
    return path


def render_report(records: RunRecords, results: dict[str, dict[str, Any]], data: AnalysisData) -> str:
    """The report as an HTML string (see the module docstring)."""
    run_dir, config, summary = records.folder.path, records.config, records.summary
    trained = {kind: records.metrics.get(kind, {}) for kind in results}
    kinds = list(results)
    title = f"aezoo report {run_dir.name}: denoising autoencoders and their latent spaces"
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p class=\"note\">Generated {datetime.now():%Y-%m-%d %H:%M} from <code>{_e(str(run_dir))}</code>. "
        f"Models: {_e(', '.join(k.upper() for k in kinds))}. Data: {_e(data.dataset)}"
        f"{' (' + _e(data.source) + ')' if data.source else ''}.</p>",
        "<h2>Configuration</h2>", _config_table(config),
        "<h2>Denoising on the test set</h2>", _summary_table(summary),
        "<h2>Training</h2>", _training_figures(records.folder, kinds),
        "<h2>Latent space: t-SNE maps</h2>",
        f"<p>Each point is one of the first {len(data)} <em>clean</em> test images, placed by t-SNE so that "
        "neighbours in the embedding stay neighbours on the map; colours are the digit classes, the same in "
        "both maps. The encoder never saw a label. The VAE's embedding is its posterior mean. Cluster sizes "
        "and distances between clusters on a t-SNE map carry little meaning; which points share a cluster "
        "does.</p>",
        _figure_row(results, "tsne", "t-SNE map"),
        "<h2>Latent space: linear interpolation</h2>",
        "<p>Two test images (red frames) are embedded, the straight line between their embeddings is cut "
        f"into {_points(results)} evenly spaced codes (ends included), and each code is decoded. Both models "
        "use the same image pairs.</p>",
        _figure_row(results, "interpolation", "interpolation"),
        "<h2>Latent metrics</h2>", _metrics_table(results),
        "<h2>What the numbers say</h2>",
        *[f"<p>{_e(paragraph)}</p>" for paragraph in written_comparison(results, summary, trained)],
    ]
    if any("latent_usage" in r for r in results.values()):
        body += ["<h2>How the VAE samples, and what its loss is</h2>",
                 *[f"<p>{_e(p)}</p>" for p in vae_explanation(results, trained)],
                 _vae_figures(results)]
    body.append(generation_section(records.folder))  # generation hook: "" when the run has no generation record
    body += ["<h2>How this was measured</h2>", _method_notes(results, data)]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


# ----------------------------------------------------------------------------- written comparison

def written_comparison(results: dict[str, dict[str, Any]], summary: dict[str, Any] | None = None,
                       trained: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Plain-text paragraphs comparing the models, each claim decided by the numbers it quotes."""
    paragraphs = [_separation_text(results), _map_text(results), _smoothness_text(results)]
    if any("latent_usage" in r for r in results.values()):
        paragraphs.append(_kl_text(results, summary, trained or {}))
    return [p for p in paragraphs if p]


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
        sentences.append(f"A PCA of the pixels with the same {dimensions} dimensions, the best linear code of that "
                         f"size, reaches {pca:.1%}: {' and '.join(relations)}.")
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
                       "flatter both models and the embedding figures are the fairer comparison.")
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
              "intermediate images look like digits; the strips above show that.")
    if len(smooth) < 2:
        return intro + "A jump ratio of 1 would mean a perfectly even change." + caveat
    ratio = {k: s["jump_ratio"] for k, s in smooth.items()}
    best, worst = min(ratio, key=ratio.get), max(ratio, key=ratio.get)
    if ratio[worst] - ratio[best] <= RELATIVE_TIE * ratio[best]:
        verdict = ("Both interpolate about equally smoothly: their jump ratios (largest step over the average "
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
    sentences = []
    plain = [k for k in results if "latent_usage" not in results[k]]
    for kind, r in results.items():
        usage = r.get("latent_usage")
        if not usage:
            continue
        beta = (trained.get(kind, {}).get("config") or {}).get("beta")
        beta_text = f" (weighted by beta = {beta:g} in the loss)" if isinstance(beta, (int, float)) else ""
        inactive = usage["dimensions"] - usage["active_units"]
        sentences.append(
            f"The KL term: the {kind.upper()}'s codes cost {usage['kl_total']:.2f} nats per image of KL divergence "
            f"from the prior{beta_text}. {usage['active_units']} of its {usage['dimensions']} latent dimensions "
            f"carry information (average KL above {ACTIVE_KL_THRESHOLD} nats)"
            + (f"; the other {inactive} have collapsed onto the prior: for every image their posterior is almost "
               "the prior itself, so they tell the decoder (almost) nothing about the image - the average KL "
               "bounds the information a dimension carries." if inactive else
               "; none has collapsed onto the prior.")
            + f" By the stricter criterion of Burda et al. (variance of the posterior mean above 0.01) "
            f"{usage['active_units_variance']} are active.")
        spread = r["spread"]
        dims = usage["dimensions"]
        sentences.append(
            f"The KL term pulls every posterior towards N(0, I): the {kind.upper()}'s posterior means spread "
            f"{spread['mean_std']:.2f} per dimension and lie on average {spread['mean_norm']:.2f} from the origin "
            f"(a draw from the prior: spread 1, distance about {math.sqrt(dims):.1f}).")
        if plain:
            others = ", ".join(f"the {k.upper()}'s lie {results[k]['spread']['mean_norm']:.2f} from the origin "
                               f"with spread {results[k]['spread']['mean_std']:.2f}" for k in plain)
            sentences.append(f"Nothing in a plain autoencoder's loss constrains where its codes go: {others}.")
        tests = (summary or {}).get("test", {})
        if plain and kind in tests and plain[0] in tests:
            mine, theirs = tests[kind]["psnr"], tests[plain[0]]["psnr"]
            comparison = "lower" if mine < theirs else "not lower"
            sentences.append(f"The KL term also limits how much the code can say about each image; in denoising the "
                             f"{kind.upper()}'s test PSNR is {comparison} than the {plain[0].upper()}'s "
                             f"({mine:.2f} dB against {theirs:.2f} dB).")
    return " ".join(sentences)


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
            paragraphs.append(f"In this run, on the noisy test images, the {kind.upper()}'s loss is "
                              f"{test['reconstruction_loss']:.1f} (reconstruction) + {beta:g} × {test['kl']:.2f} "
                              f"(KL) = {test['loss']:.1f} nats per image.")
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


def _figure_row(results: dict[str, dict[str, Any]], name: str, caption: str) -> str:
    return ("<div class=\"row\">"
            + "".join(_figure(r["figures"].get(name), f"{k.upper()}: {caption}") for k, r in results.items())
            + "</div>")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _config_table(config: dict[str, Any]) -> str:
    if not config:
        return "<p>config.json is missing.</p>"
    rows = [(key, json.dumps(value) if isinstance(value, (dict, list)) else value) for key, value in config.items()]
    return _table(("setting", "value"), rows)


def _summary_table(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "<p>summary.json is missing (an unfinished run); see each model's metrics.json.</p>"
    sizes = summary.get("splits", {})
    rows = []
    for name, scores in summary["test"].items():
        extra = summary.get("models", {}).get(name, {})
        rows.append((name.upper() if name in summary.get("models", {}) else name, f"{scores['mse']:.4f}",
                     f"{scores['psnr']:.2f}", f"{scores['ssim']:.3f}",
                     f"{extra['parameters']:,}" if extra else "", f"{extra['training_seconds']:.1f}" if extra else ""))
    split_text = (f" The models trained on {sizes['train']} images and were validated (best checkpoint, "
                  f"val_* curves) on {sizes['validation']} others; these test images were scored once, after "
                  "training." if {"train", "validation"} <= sizes.keys() else "")
    intro = (f"<p>{summary['test_images']} {_e(summary['dataset'])} test images with "
             f"{_e(summary['noise']['kind'])} noise of strength {summary['noise']['strength']}. The first two rows are "
             f"baselines: the noisy input itself and a 3×3 median filter.{_e(split_text)}</p>")
    return intro + _table(("denoiser", "MSE", "PSNR (dB)", "SSIM", "parameters", "training (s)"), rows)


def _training_figures(run: RunFolder, kinds: list[str]) -> str:
    curves = "".join(_figure(run.loss_curves_path(k), f"{k.upper()}: loss and metrics per epoch (val_*: the "
                             "validation split)") for k in kinds)
    pictures = []
    for kind in kinds:
        epochs = sorted(run.reconstructions_dir(kind).glob("epoch_*.png"))
        pictures.append(_figure(epochs[-1] if epochs else None,
                                f"{kind.upper()}: noisy / denoised / clean validation digits after the last epoch"))
    return f"<div class=\"row\">{curves}</div><div class=\"row\">{''.join(pictures)}</div>"


def _fmt(value: Any, spec: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return format(value, spec)
    return "–"


def _metrics_table(results: dict[str, dict[str, Any]]) -> str:
    kinds = list(results)

    def row(label: str, get: Any, spec: str) -> list[str]:
        values = []
        for kind in kinds:
            try:
                values.append(_fmt(get(results[kind]), spec))
            except (KeyError, TypeError):
                values.append("–")
        return [label, *values]

    def accuracy(key: str) -> Any:
        return lambda r: f"{r[key]['accuracy']:.1%} ± {r[key]['std']:.1%}"

    rows = [
        row("embedding dimensions", lambda r: r["embedding_dim"], "d"),
        row("5-NN accuracy, embedding of the clean image", accuracy("knn_accuracy"), "s"),
        row("5-NN accuracy, embedding of the noisy image", accuracy("knn_accuracy_noisy_input"), "s"),
        row("5-NN accuracy, PCA of the pixels (same dimensions)", accuracy("knn_accuracy_pca"), "s"),
        row("5-NN accuracy, raw pixels (784)", accuracy("knn_accuracy_pixels"), "s"),
        row("chance (most common class)", lambda r: r["chance_accuracy"], ".1%"),
        row("silhouette by class, embedding", lambda r: r["silhouette_embedding"], ".3f"),
        row("silhouette by class, t-SNE map", lambda r: r["silhouette_tsne"], ".3f"),
        row("silhouette by class, raw pixels", lambda r: r["silhouette_pixels"], ".3f"),
        row("t-SNE trustworthiness (5 neighbours)", lambda r: r["tsne_trustworthiness"], ".3f"),
        row("interpolation: mean step (mean |Δpixel|)", lambda r: r["interpolation"]["mean_step"], ".4f"),
        row("interpolation: largest step", lambda r: r["interpolation"]["max_step"], ".4f"),
        row("interpolation: jump ratio (1 = even)", lambda r: r["interpolation"]["jump_ratio"], ".2f"),
        row("interpolation: end error (decoded ends vs real images)", lambda r: r["interpolation"]["end_error"],
            ".4f"),
        row("code spread: mean std per dimension", lambda r: r["spread"]["mean_std"], ".3f"),
        row("code spread: mean distance from origin", lambda r: r["spread"]["mean_norm"], ".3f"),
        row("KL per image (nats)", lambda r: r["latent_usage"]["kl_total"], ".2f"),
        row(f"active units (KL > {ACTIVE_KL_THRESHOLD} nats)",
            lambda r: f"{r['latent_usage']['active_units']} of {r['latent_usage']['dimensions']}", "s"),
        row("KL per dimension (nats)",
            lambda r: ", ".join(f"{v:.2f}" for v in r["latent_usage"]["kl_per_dimension"]), "s"),
        row("analysis time (s), of which t-SNE", lambda r: f"{r['seconds']['total']:.1f} ({r['seconds']['tsne']:.1f})",
            "s"),
    ]
    note = ("<p class=\"note\">Accuracies are means ± standard deviation over 5 stratified folds. "
            "Higher is better for accuracy, silhouette and trustworthiness; for the jump ratio lower is smoother. "
            "– means the measure does not apply to that model.</p>")
    return _table(("measure", *[k.upper() for k in kinds]), rows) + note


def _vae_figures(results: dict[str, dict[str, Any]]) -> str:
    parts = []
    for kind, r in results.items():
        figures = r["figures"]
        for name, caption in (("prior_samples", "digits decoded from random codes z ~ N(0, I)"),
                              ("kl_per_dimension", "average KL of each latent dimension (grey: unused)"),
                              ("latent_grid", "the 2-D latent space decoded on a grid")):
            if name in figures:
                parts.append(_figure(figures[name], f"{kind.upper()}: {caption}"))
    return f"<div class=\"row\">{''.join(parts)}</div>"


def _points(results: dict[str, dict[str, Any]]) -> int:
    return next(iter(results.values()))["interpolation"]["points_per_pair"]


def _method_notes(results: dict[str, dict[str, Any]], data: AnalysisData) -> str:
    first = next(iter(results.values()))
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
        f"Active units: latent dimensions whose KL, averaged over the images, exceeds {ACTIVE_KL_THRESHOLD} nats.",
    ]
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


__all__ = ["render_report", "vae_explanation", "write_report", "written_comparison"]
