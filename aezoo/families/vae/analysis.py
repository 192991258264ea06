"""What only the VAE lineage's latent space has: the KL of each latent dimension, and which are in use.

A family's analysis module answers the latent-space analysis (:mod:`aezoo.analysis`) and the
report (:mod:`aezoo.report`):

* ``measure(model, data, embeddings)`` adds entries to the model's ``latent_metrics.json``;
* ``figures(model, name, data, metrics, embeddings, out_dir, seed)`` draws what only this family
  has into its ``analysis/`` folder;
* ``REPORT``: the :class:`~aezoo.report.parts.Measure`\\ s only it has, which write its columns,
  rows, paragraphs, method notes and sections of the report.

The IWAE (the VAE's networks) uses this module as is; the conditional VAE extends it. Their
models share :data:`KL_PER_DIMENSION`, so the report speaks of all of them together.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from aezoo.analysis import latent_metrics
from aezoo.analysis.plotting import plt, save_figure
from aezoo.models.capabilities import CONDITIONAL, has
from aezoo.report.html import figure as html_figure
from aezoo.report.html import figure_row, paragraphs as html_paragraphs
from aezoo.report.parts import Column, Measure, Models, Row, RunFigure
from aezoo.report.records import ModelReport
from aezoo.report.words import inflect, listing, named

if TYPE_CHECKING:
    from aezoo.report.page import ReportContext

KL_BATCH = 250
USAGE = "latent_usage"  # its entry in latent_metrics.json
SIDE_BY_SIDE = "kl_per_dimension.png"  # RUN/kl_per_dimension.png: every model with a KL, side by side
# With more models than this, the KL paragraph names the figures of each in one sentence per measure.
DETAILED = 2


def kl_per_dimension(model: Any, data: Any) -> np.ndarray:
    """``[n, d]`` KL of each latent coordinate of each clean image (given its label when conditional)."""
    parts = []
    for start in range(0, len(data), KL_BATCH):
        labels = (np.asarray(data.labels[start:start + KL_BATCH], np.int32),) if has(model, CONDITIONAL) else ()
        parts.append(np.asarray(model.kl_per_dimension(data.clean[start:start + KL_BATCH], *labels)))
    return np.concatenate(parts)


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``latent_usage``: KL per dimension, active units (see :func:`aezoo.analysis.latent_metrics.kl_usage`)."""
    return {USAGE: latent_metrics.kl_usage(kl_per_dimension(model, data), embeddings)}


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """``kl_per_dimension.png``: which latent dimensions carry information."""
    path = out_dir / "kl_per_dimension.png"
    save_figure(kl_figure(metrics[USAGE], name), path)
    return {"kl_per_dimension": path}


def kl_figure(usage: dict[str, Any], name: str) -> Any:
    """Bars of the average KL of each latent dimension; dimensions under the threshold in grey."""
    kl = np.asarray(usage["kl_per_dimension"])
    figure, axis = plt.subplots(figsize=(max(4.0, 0.45 * len(kl) + 1.5), 3.2))
    active = kl > usage["active_threshold_nats"]
    axis.bar(np.arange(len(kl)), kl, color=np.where(active, "tab:blue", "tab:gray"))
    axis.axhline(usage["active_threshold_nats"], color="tab:red", linestyle="--", linewidth=1,
                 label=f"active threshold {usage['active_threshold_nats']} nats")
    axis.set_xticks(np.arange(len(kl)))
    axis.set_xlabel("latent dimension")
    axis.set_ylabel("mean KL (nats)")
    axis.set_title(f"{name}: KL per latent dimension, {usage['active_units']} of {len(kl)} active")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure


def plot_kl_side_by_side(results: Mapping[str, Mapping[str, Any]]) -> Any:
    """One group of bars per dimension rank, one bar per model: each model's KL per dimension, sorted."""
    usages = {name: result[USAGE] for name, result in results.items()}
    dimensions = max(len(u["kl_per_dimension"]) for u in usages.values())
    width = 0.8 / len(usages)
    figure, axis = plt.subplots(figsize=(max(5.0, 0.5 * dimensions + 3.0), 3.4))
    for offset, (name, usage) in enumerate(usages.items()):
        kl = np.sort(np.asarray(usage["kl_per_dimension"]))[::-1]
        axis.bar(np.arange(len(kl)) + (offset - (len(usages) - 1) / 2) * width, kl, width=width,
                 label=f"{name}: {usage['active_units']} of {usage['dimensions']} active")
    threshold = next(iter(usages.values()))["active_threshold_nats"]
    axis.axhline(threshold, color="tab:red", linestyle="--", linewidth=1)
    axis.set_xticks(np.arange(dimensions), [str(i + 1) for i in range(dimensions)])
    axis.set_xlabel("latent dimensions of each model, largest KL first")
    axis.set_ylabel("mean KL (nats)")
    axis.set_title(f"KL per latent dimension, side by side (dashed: active threshold {threshold} nats)", fontsize=10)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------------- the report's words


@dataclasses.dataclass(frozen=True)
class KlUsage:
    """The ``latent_usage`` entry :func:`measure` writes, as the report reads it."""

    kl_per_dimension: tuple[float, ...]
    kl_total: float
    active_units: int
    dimensions: int
    active_units_variance: int
    threshold: float

    @classmethod
    def of(cls, model: ModelReport) -> KlUsage:
        usage = model.latent.measured[USAGE]
        return cls(tuple(float(v) for v in usage["kl_per_dimension"]), float(usage["kl_total"]),
                   int(usage["active_units"]), int(usage["dimensions"]), int(usage["active_units_variance"]),
                   float(usage["active_threshold_nats"]))


def _beta(model: ModelReport) -> float | None:
    beta = model.config.get("beta")
    return float(beta) if isinstance(beta, (int, float)) else None


def rows(model: ModelReport) -> list[Row]:
    usage = KlUsage.of(model)
    return [("KL per image (nats)", f"{usage.kl_total:.2f}"),
            (f"active units (KL > {usage.threshold:g} nats)", f"{usage.active_units} of {usage.dimensions}"),
            ("KL per dimension (nats)", ", ".join(f"{v:.2f}" for v in usage.kl_per_dimension))]


def _column(model: ModelReport) -> str:
    usage = KlUsage.of(model)
    return f"{usage.kl_total:.2f} / {usage.active_units} of {usage.dimensions}"


def paragraphs(models: Models, everyone: Models) -> list[str]:
    """What the KL term does to each model that has one, against the models of the run without it."""
    usages = {m.name: KlUsage.of(m) for m in models}
    sentences = ([_one_model(m, usages[m.name]) for m in models] if len(models) <= DETAILED
                 else [_many_models(models, usages)])
    sentences.append(_fewest_active(models, usages))
    others = [m for m in everyone if m not in models]
    if others:
        where = listing([f"those of {m.name} lie {m.latent.spread.mean_norm:.2f} from the origin with spread "
                         f"{m.latent.spread.mean_std:.2f}" for m in others])
        sentences.append(f"No KL term pulls the codes of the other models towards N(0, I): {where}.")
    sentences.append(_denoising_cost(models, others))
    return [" ".join(s for s in sentences if s)]


def _one_model(model: ModelReport, usage: KlUsage) -> str:
    beta = _beta(model)
    beta_text = f" (weighted by beta = {beta:g} in the loss)" if beta is not None else ""
    inactive = usage.dimensions - usage.active_units
    spread = model.latent.spread
    return (f"The KL term: the codes of {model.name} cost {usage.kl_total:.2f} nats per image of KL divergence "
            f"from the prior{beta_text}. {usage.active_units} of its {usage.dimensions} latent dimensions carry "
            f"information (average KL above {usage.threshold:g} nats)"
            + (f"; the other {inactive} have collapsed onto the prior: for every image their posterior is almost "
               "the prior itself, so they tell the decoder (almost) nothing about the image - the average KL "
               "bounds the information a dimension carries." if inactive else "; none has collapsed onto the prior.")
            + f" By the stricter criterion of Burda et al. (variance of the posterior mean above 0.01) "
            f"{usage.active_units_variance} are active. Its posterior means spread {spread.mean_std:.2f} per "
            f"dimension and lie on average {spread.mean_norm:.2f} from the origin (a draw from the prior N(0, I): "
            f"spread 1, distance about {math.sqrt(usage.dimensions):.1f}).")


def _many_models(models: Models, usages: Mapping[str, KlUsage]) -> str:
    kl = named([m.name for m in models], {n: u.kl_total for n, u in usages.items()}, "{:.2f}".format)
    betas = {m.name: _beta(m) for m in models}
    weights = (f" (weighted in the loss by beta = {listing([f'{b:g} for {n}' for n, b in betas.items()])})"
               if None not in betas.values() else "")
    active = listing([f"{n} {u.active_units} of {u.dimensions}" for n, u in usages.items()])
    strict = listing([f"{n} {u.active_units_variance}" for n, u in usages.items()])
    spreads = listing([f"{m.name} {m.latent.spread.mean_std:.2f} / {m.latent.spread.mean_norm:.2f}" for m in models])
    threshold = next(iter(usages.values())).threshold
    collapsed = ("the others have collapsed onto the prior: for every image their posterior is almost the prior "
                 "itself, so they tell the decoder (almost) nothing about the image"
                 if any(u.active_units < u.dimensions for u in usages.values()) else "none has collapsed onto the prior")
    return (f"The KL term: per image, the codes cost {kl} nats of KL divergence from the prior{weights}. Latent "
            f"dimensions that carry information (average KL above {threshold:g} nats): {active}; {collapsed}. "
            "By the stricter criterion of Burda et al. (variance of the "
            f"posterior mean above 0.01): {strict}. Spread of the posterior means per dimension / their average "
            f"distance from the origin: {spreads} (a draw from the prior N(0, I): spread 1, distance about the "
            "square root of the dimensions).")


def _fewest_active(models: Models, usages: Mapping[str, KlUsage]) -> str:
    """Which models keep the fewest dimensions in use, and whether theirs is the heaviest KL weight."""
    if len(models) < 2:
        return ""
    active = {n: u.active_units for n, u in usages.items()}
    least = min(active.values())
    fewest = [n for n, v in active.items() if v == least]
    if len(fewest) == len(active):
        return "Side by side, every model with a KL term keeps the same number of dimensions active."
    betas = {m.name: _beta(m) for m in models}
    known = [b for b in betas.values() if b is not None]
    heaviest = (len(known) == len(betas) and all(betas[n] == max(known) for n in fewest) and max(known) > min(known))
    reason = (f": {inflect('its', 'their', len(fewest))} KL term weighs beta = {max(known):g}, the heaviest, and a "
              "heavier KL weight lets more dimensions collapse onto the prior, leaving fewer to carry the image"
              if heaviest else "")
    return (f"Side by side, {listing(fewest)} {inflect('keeps', 'keep', len(fewest))} the fewest latent dimensions "
            f"active ({least}){reason}.")


def _denoising_cost(models: Models, others: Models) -> str:
    """The KL models' test PSNR against the best denoiser with a latent space but no KL term."""
    scored = [m for m in others if m.test.psnr is not None]
    mine = [m for m in models if m.test.psnr is not None]
    if not scored or not mine:
        return ""
    best = max(scored, key=lambda m: m.test.psnr)
    psnr = {m.name: m.test.psnr for m in mine}
    lower = [m.name for m in mine if m.test.psnr < best.test.psnr]
    not_lower = [m.name for m in mine if m.test.psnr >= best.test.psnr]
    verdict = "; ".join(f"{named(names, psnr, '{:.2f} dB'.format)} {inflect('is', 'are', len(names))} {word}"
                        for names, word in ((lower, "lower"), (not_lower, "not lower")) if names)
    return (f"The KL term also limits how much the code can say about each image; in denoising, against the "
            f"{best.test.psnr:.2f} dB test PSNR of {best.name} (the best without a KL term), {verdict}.")


def method(models: Models, everyone: Models) -> str:
    threshold = KlUsage.of(models[0]).threshold
    return (f"Models with a KL term embed each image as the mean of its posterior q(z|x). Active units: latent "
            f"dimensions whose KL, averaged over the images, exceeds {threshold:g} nats; the side-by-side figure "
            "sorts each model's dimensions by their KL.")


def section(models: Models, context: ReportContext) -> str:
    """How a VAE samples and what it minimises, with the run's own loss values and the side-by-side KL figure."""
    side_by_side = context.figures.get(SIDE_BY_SIDE)
    drawn = html_figure(side_by_side, KL_SIDE_BY_SIDE.caption) if side_by_side else ""
    return ("<h2>How the VAE samples, and what its loss is</h2>"
            + html_paragraphs(explanation(models, context.latent_models)) + figure_row([drawn]))


def explanation(models: Models, everyone: Models) -> list[str]:
    """The plain explanation of the VAE's sampling and loss, with the run's own loss values."""
    texts = [
        "Sampling. An autoencoder without a KL term maps an image to one point. The VAE's encoder instead outputs, "
        "for each latent dimension, a mean and a standard deviation: a Gaussian q(z | x) saying where in "
        "latent space the image probably lives. In training the decoder gets a random draw from it, "
        "z = mean + std × ε with ε drawn from N(0, 1) (the reparameterisation trick: the randomness is in ε, so "
        "gradients still reach the mean and the std). Because every image's code is blurred this way, the "
        "decoder must produce a sensible image for a whole neighbourhood of codes, not just for one point. "
        "To make a new image, draw z from the prior N(0, I) and decode it; that is how the grid of prior "
        "samples was made. For denoising and for these analyses the VAE uses the mean (no sampling), "
        "so its output is deterministic.",
        "Loss. Per image, the VAE minimises reconstruction + beta × KL. The reconstruction term is the binary "
        "cross-entropy between the decoded image and the clean image, summed over the pixels (the negative "
        "log-likelihood of the clean image under the decoder). The KL term is the Kullback-Leibler divergence "
        "of q(z | noisy image) from the prior N(0, I), in closed form; it charges the model for every bit of "
        "information its code carries and pulls all codes towards one shared cloud. With beta = 1 the sum is "
        "the negative evidence lower bound (ELBO).",
    ]
    for model in everyone:
        if model not in models and model.loss_in_words():
            texts[1] += f" {model.name} has no KL term: it minimises {model.loss_in_words()}."
    return texts + [text for text in map(_run_losses, models) if text]


def _run_losses(model: ModelReport) -> str:
    """The model's test loss and its ELBO terms, when its metrics recorded them."""
    losses = model.test.losses
    if not {"reconstruction_loss", "kl", "loss"} <= losses.keys():
        return ""
    beta = _beta(model)
    beta = 1.0 if beta is None else beta
    reconstruction, kl, loss = losses["reconstruction_loss"], losses["kl"], losses["loss"]
    terms = f"{reconstruction:.1f} (reconstruction) + {beta:g} × {kl:.2f} (KL)"
    if math.isclose(reconstruction + beta * kl, loss, rel_tol=1e-3):
        return f"In this run, on the noisy test images, the loss of {model.name} is {terms} = {loss:.1f} nats per image."
    # A tighter bound than the ELBO (importance weighting): the loss is not the sum of the two terms.
    return (f"In this run, on the noisy test images, the ELBO terms of {model.name} are {terms} = "
            f"{reconstruction + beta * kl:.1f} nats per image, but it minimises a different bound: its loss is "
            f"{loss:.1f} nats per image.")


KL_SIDE_BY_SIDE = RunFigure(SIDE_BY_SIDE, "KL of each latent dimension of every model with a KL term, largest first",
                            plot_kl_side_by_side)

KL_PER_DIMENSION = Measure(
    "KL per latent dimension",
    columns=(Column("KL (nats) / active units", _column),),
    rows=rows,
    figures=(("kl_per_dimension", "average KL of each latent dimension (grey: unused)"),),
    paragraphs=paragraphs, method=method, section=section, run_figure=KL_SIDE_BY_SIDE)

REPORT: tuple[Measure, ...] = (KL_PER_DIMENSION,)
