"""The report's "Generation" section, from ``summary.json["generation"]``."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

from aezoo.generation.pictures import SAMPLES_FIGURE
from aezoo.generation.scoring import SCORED_SAMPLES
from aezoo.run_folder import RunFolder, read_json

FD_TIE = 0.05  # FDs within 5 % of each other are called equal
PYTHAE_NOTE = (
    "The NLL is -log p(x) in nats per clean test image (for the CVAE -log p(x | y)), estimated with K "
    "importance samples from q(z|x) under the likelihood the models train with, a Bernoulli on grey levels; "
    "the ELBO and the K-sample IWAE bound are lower bounds on log p(x) (ELBO <= IWAE <= log p). These numbers "
    "are comparable within aezoo (same images, same likelihood, same K) but not with pythae's binarised-MNIST "
    "figures (89.78 nats for its VAE, 86.82 for its IWAE), which score 0/1 images of the full 10,000-image test "
    "set, on which the Bernoulli is a normalised density, while grey levels under a Bernoulli are not.")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _figure(path: Path, caption: str) -> str:
    if not path.is_file():
        return f"<figure><figcaption>{_e(caption)}: not available</figcaption></figure>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{_e(caption)}\" "
            f"style=\"image-rendering: pixelated; width: 100%\"><figcaption>{_e(caption)}</figcaption></figure>")


def _number(value: Any, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def generation_table(record: dict[str, Any]) -> str:
    """HTML table: one row per model (sampler, FD, class statistics, NLL), then the FD reference points."""
    header = ("samples of", "sampler", "FD", "mean entropy (nats)", "classes covered", "label accuracy",
              "NLL (nats)", "IWAE bound", "ELBO")
    rows = []
    for kind, m in record["models"].items():
        nll = m.get("likelihood", {})
        rows.append((kind.upper(), m.get("sampler", "–"), _number(m.get("frechet_distance"), ".1f"),
                     _number(m.get("mean_entropy"), ".3f"),
                     f"{m['coverage']} of 10" if "coverage" in m else "–", _number(m.get("label_accuracy"), ".1%"),
                     _number(nll.get("nll"), ".2f"), _number(nll.get("iwae_bound"), ".2f"),
                     _number(nll.get("elbo"), ".2f")))
    for name, value in record["reference_points"].items():
        rows.append((f"reference: {name}", "real digits", f"{value:.1f}", *["–"] * 6))
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fd_ordering_sentence(models: dict[str, dict[str, Any]]) -> str:
    """Whether prior samples of a VAE beat the AE's mixture samples in FD, decided by the numbers."""
    prior = {k: m["frechet_distance"] for k, m in models.items()
             if m.get("sampler") == "prior" and not m.get("conditional")}
    mixture = {k: m["frechet_distance"] for k, m in models.items() if m.get("sampler") == "gmm"}
    if not prior or not mixture:
        return ""
    best_prior, best_mixture = min(prior, key=prior.get), min(mixture, key=mixture.get)
    a, b = prior[best_prior], mixture[best_mixture]
    quoted = f"FD {a:.1f} for the {best_prior.upper()}'s prior samples against {b:.1f} for the {best_mixture.upper()}'s"
    if abs(a - b) <= FD_TIE * min(a, b):
        return f"FD ordering: the {best_prior.upper()}'s prior samples and the {best_mixture.upper()}'s mixture " \
               f"samples are about equally close to real digits ({quoted})."
    if a < b:
        return f"FD ordering: the {best_prior.upper()}'s prior samples are closer to real digits than the " \
               f"{best_mixture.upper()}'s Gaussian-mixture samples ({quoted})."
    entropy = (f"; the classifier is also less sure what they are: mean entropy "
               f"{models[best_prior]['mean_entropy']:.2f} against {models[best_mixture]['mean_entropy']:.2f} nats"
               if "mean_entropy" in models[best_prior] and "mean_entropy" in models[best_mixture] else "")
    return (f"FD ordering: the {best_prior.upper()}'s prior samples are not closer to real digits than the "
            f"{best_mixture.upper()}'s Gaussian-mixture samples; they are further away ({quoted}{entropy}). "
            "A likely reason: N(0, I) draws also land between the regions the posteriors cover, which the decoder "
            "renders as blurred, ambiguous digits, while a mixture fitted to where the training codes really lie "
            "(ex-post density estimation, Ghosh et al. 2020) stays inside them.")


def nll_sentence(models: dict[str, dict[str, Any]]) -> str:
    unconditional = {k: m["likelihood"]["nll"] for k, m in models.items()
                     if m.get("likelihood", {}).get("quantity") == "-log p(x)"}
    if len(unconditional) < 2:
        return ""
    ordered = sorted(unconditional, key=unconditional.get)
    listed = ", ".join(f"{k.upper()} {unconditional[k]:.2f}" for k in ordered)
    return f"By NLL (lower is better) the unconditional models rank {listed} nats."


def report_section(run_dir: str | os.PathLike[str]) -> str:
    """The report's "Generation" section from ``summary.json["generation"]`` ("" when it has none)."""
    run = RunFolder(run_dir)
    record = (read_json(run.summary_path) or {}).get("generation")
    if not record:
        return ""
    models = record["models"]
    figures = []
    for kind, m in models.items():
        if "sampler" in m:
            what = ("one row per class, asked of the conditional prior" if m.get("conditional")
                    else {"prior": "decoded from z ~ N(0, I)", "gmm": "decoded from the 10-component Gaussian mixture "
                          "fitted to its training codes", "pixelcnn": "code grids drawn by the gated PixelCNN prior"}
                    .get(m["sampler"], m["sampler"]))
            figures.append(_figure(run.analysis_dir(kind) / SAMPLES_FIGURE, f"{kind.upper()}: generated digits, {what}"))
    classifier = record["classifier"]
    some = next(iter(models.values()), {})
    intro = (f"Every generative model draws {some.get('samples', SCORED_SAMPLES)} digits (seeded). A small CNN "
             f"trained once per dataset on the clean training split ({classifier['test_accuracy']:.1%} test "
             "accuracy; cached) judges them: FD is the Fréchet distance between its penultimate-layer features of "
             "the samples and of as many real test digits, an MNIST analogue of FID (not an FID: a different "
             "network); the reference rows put it on a scale, the first being the floor a perfect generator "
             "reaches. Mean entropy: how unsure the classifier is of each sample (0 = clearly some digit); classes "
             "covered: digits that are the top class of at least 2 % of the samples.")
    sentences = [s for s in (fd_ordering_sentence(models), nll_sentence(models)) if s]
    note = PYTHAE_NOTE.replace("K importance samples", f"K = {record['nll_samples']} importance samples")
    return "\n".join(["<h2>Generation</h2>", f"<p>{_e(intro)}</p>",
                      f"<div class=\"row\">{''.join(figures)}</div>", generation_table(record),
                      *[f"<p>{_e(s)}</p>" for s in sentences], f"<p class=\"note\">{_e(note)}</p>"])
