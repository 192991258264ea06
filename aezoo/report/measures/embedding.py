"""The embedding itself: its shape, whether it is given the class, and where the codes lie."""

from __future__ import annotations

from aezoo.models.capabilities import CONDITIONAL
from aezoo.report.parts import Measure, Row
from aezoo.report.records import ModelReport


def shape_text(model: ModelReport) -> str:
    """``"10"``, or ``"7x7x16 (flattened: 784)"`` for a grid code."""
    latent = model.latent
    shape = "x".join(str(n) for n in latent.embedding_shape)
    return f"{shape} (flattened: {latent.embedding_dim})" if latent.grid else shape


def rows(model: ModelReport) -> list[Row]:
    spread = model.latent.spread
    return [("embedding", shape_text(model)),
            ("encoded with the class label", "yes" if model.has(CONDITIONAL) else "no"),
            ("code spread: mean std per dimension", f"{spread.mean_std:.3f}"),
            ("code spread: mean distance from origin", f"{spread.mean_norm:.3f}")]


MEASURE = Measure("the embedding", rows=rows)
