"""What the MMD-trained families' latent space has: how far their codes lie from N(0, I) by the MMD they minimised.

The WAE (and the InfoVAE, which lists :data:`MMD_TO_PRIOR` too) were trained to bring the cloud of
all their codes to the prior; this measures how close it came, on the clean test images, with the
estimator of the training loss (:mod:`aezoo.families.wae.mmd`). A second sample of N(0, I) of the
same size, measured against the same draws, gives the floor that sampling noise alone reaches.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from aezoo.families.wae.mmd import IMQ_SCALES, mmd
from aezoo.report.parts import Column, Measure, Models, Row
from aezoo.report.records import ModelReport
from aezoo.report.words import listing

ENTRY = "mmd_to_prior"  # its entry in latent_metrics.json
# The prior draws the codes are measured against, and the second sample that gives the noise floor.
DRAWS_SEED, FLOOR_SEED = 0, 1


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``mmd_to_prior``: MMD² between the codes of the clean test images and as many N(0, I) draws."""
    codes = tf.constant(embeddings.reshape(len(embeddings), -1), tf.float32)
    draws = tf.random.stateless_normal(tf.shape(codes), seed=[DRAWS_SEED, 0])
    floor = tf.random.stateless_normal(tf.shape(codes), seed=[FLOOR_SEED, 0])
    return {ENTRY: {"mmd": float(mmd(codes, draws)), "floor": float(mmd(floor, draws)), "codes": int(len(codes)),
                    "kernel": f"inverse multiquadratics, C = 2·d·s for s in {list(IMQ_SCALES)}",
                    "images": "the clean test images"}}


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """None of its own: the t-SNE and interpolation figures every latent space gets show the codes."""
    return {}


# ----------------------------------------------------------------------------- the report's words


@dataclasses.dataclass(frozen=True)
class MmdToPrior:
    """The ``mmd_to_prior`` entry :func:`measure` writes, as the report reads it."""

    mmd: float
    floor: float
    codes: int

    @classmethod
    def of(cls, model: ModelReport) -> MmdToPrior:
        entry = model.latent.measured[ENTRY]
        return cls(float(entry["mmd"]), float(entry["floor"]), int(entry["codes"]))


def rows(model: ModelReport) -> list[Row]:
    measured = MmdToPrior.of(model)
    return [("MMD² of the codes to N(0, I)", f"{measured.mmd:.4f}"),
            ("MMD² of as many N(0, I) draws (sampling noise)", f"{measured.floor:.4f}")]


def _column(model: ModelReport) -> str:
    return f"{MmdToPrior.of(model).mmd:.4f}"


def paragraphs(models: Models, everyone: Models) -> list[str]:
    """How close each model's codes came to the prior its MMD term pulled them towards."""
    measured = {m.name: MmdToPrior.of(m) for m in models}
    ordered = sorted(measured, key=lambda n: measured[n].mmd)
    floor = max(m.floor for m in measured.values())
    return [f"The MMD term pulls the cloud of all codes towards N(0, I), not each image's code. On the clean test "
            f"images, the MMD² of the codes to N(0, I) is "
            f"{listing([f'{measured[n].mmd:.4f} for {n}' for n in ordered])}, against {floor:.4f} for a sample of "
            "N(0, I) itself (sampling noise alone): the nearer a model's figure comes to that floor, the more of "
            "the prior's draws land where its training codes were, and decode to digits."]


def method(models: Models, everyone: Models) -> str:
    codes = MmdToPrior.of(models[0]).codes
    return (f"MMD to the prior: the unbiased MMD² estimate of the training loss (inverse multiquadratics kernel "
            f"summed over the scales {', '.join(f'{s:g}' for s in IMQ_SCALES)} of 2·d) between the codes of the "
            f"{codes} clean test images and as many N(0, I) draws; a second N(0, I) sample against the same draws "
            "gives the noise floor.")


MMD_TO_PRIOR = Measure(
    "MMD of the codes to the prior",
    columns=(Column("MMD² to N(0, I)", _column),),
    rows=rows,
    paragraphs=paragraphs, method=method)

REPORT: tuple[Measure, ...] = (MMD_TO_PRIOR,)
