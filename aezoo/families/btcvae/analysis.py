"""What only the β-TC-VAE reports: its KL term split into mutual information, total correlation and
dimension-wise KL, measured over the clean test images; beside it, the VAE lineage's KL per dimension.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from aezoo.families.vae import analysis as vae_analysis
from aezoo.report.parts import Column, Measure, Models, Row
from aezoo.report.records import ModelReport
from aezoo.report.words import listing

SPLIT = "kl_decomposition"  # its entry in latent_metrics.json
# Codes scored against every posterior of the set: n^2 pairs, so the set is capped.
SPLIT_IMAGES = 2000

figures = vae_analysis.figures


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """The VAE lineage's ``latent_usage``, and ``kl_decomposition`` of the first clean test images."""
    from aezoo.families.btcvae.model import aggregate_kl_terms

    count = min(SPLIT_IMAGES, len(data.clean))
    terms = aggregate_kl_terms(model, data.clean[:count])
    return vae_analysis.measure(model, data, embeddings) | {
        SPLIT: terms | {"images": count, "estimator": "q(z) = the equal mixture of the posteriors of these images, "
                                                      "one code drawn per image"}}


@dataclasses.dataclass(frozen=True)
class KlSplit:
    """The ``kl_decomposition`` entry :func:`measure` writes, as the report reads it."""

    mutual_information: float
    total_correlation: float
    dimensionwise_kl: float
    images: int

    @classmethod
    def of(cls, model: ModelReport) -> KlSplit:
        split = model.latent.measured[SPLIT]
        return cls(float(split["mutual_information"]), float(split["total_correlation"]),
                   float(split["dimensionwise_kl"]), int(split["images"]))


def rows(model: ModelReport) -> list[Row]:
    split = KlSplit.of(model)
    return [(f"index-code mutual information (nats, {split.images} test images)", f"{split.mutual_information:.2f}"),
            ("total correlation (nats)", f"{split.total_correlation:.2f}"),
            ("dimension-wise KL (nats)", f"{split.dimensionwise_kl:.2f}")]


def _column(model: ModelReport) -> str:
    split = KlSplit.of(model)
    return f"{split.mutual_information:.2f} / {split.total_correlation:.2f} / {split.dimensionwise_kl:.2f}"


def paragraphs(models: Models, everyone: Models) -> list[str]:
    """Each model's split of its KL term, and what its β does to the total correlation."""
    splits = {m.name: KlSplit.of(m) for m in models}
    parts = [f"{name} {s.mutual_information:.2f} nats of mutual information between image and code, "
             f"{s.total_correlation:.2f} of total correlation and {s.dimensionwise_kl:.2f} of dimension-wise KL"
             for name, s in splits.items()]
    betas = listing([f"β = {m.config.get('beta')} for {m.name}" for m in models])
    return [f"The KL term, split three ways (Chen et al. 2018) over the first {next(iter(splits.values())).images} "
            f"clean test images: {listing(parts)}. The total correlation is how far the code's dimensions are from "
            f"independent; the loss weighs it by {betas}, and the other two parts by 1, so a heavier β makes the "
            "dimensions vary on their own without squeezing out the information the code carries about the image, "
            "which the β-VAE's heavier weight on the whole KL does."]


def method(models: Models, everyone: Models) -> str:
    return ("KL split: one code drawn from each test image's posterior, q(z) and its marginals estimated as the equal "
            "mixture of the posteriors of the same images; mutual information = mean log q(z|x) − log q(z), total "
            "correlation = mean log q(z) − Σ_j log q(z_j), dimension-wise KL = mean Σ_j log q(z_j) − log p(z). With "
            "n images the mutual information cannot exceed log n.")


KL_SPLIT = Measure(
    "KL split into mutual information, total correlation and dimension-wise KL",
    columns=(Column("MI / TC / dim-wise KL (nats)", _column),),
    rows=rows, paragraphs=paragraphs, method=method)

REPORT: tuple[Measure, ...] = (*vae_analysis.REPORT, KL_SPLIT)
