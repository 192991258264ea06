"""What only the VQ-VAE's latent space has: how its codebook is used.

Perplexity (exp of the entropy of the code frequencies) is the number of codes in effective use;
dead codes are chosen by no grid cell of the test images.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from aezoo.analysis.plotting import plt, save_figure
from aezoo.report.parts import Column, Measure, Models, Row
from aezoo.report.records import ModelReport

USAGE = "codebook"  # its entry in latent_metrics.json


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``codebook``: perplexity, dead and used codes and the count of each, on the clean test images."""
    return {USAGE: dict(model.codebook_usage(data.clean)) | {"images": "the clean test images"}}


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """``codebook_usage.png``."""
    usage = metrics[USAGE]
    path = out_dir / "codebook_usage.png"
    save_figure(plot_codebook_usage(usage, f"{name}: codebook usage, perplexity {usage['perplexity']:.1f} of "
                                           f"{usage['num_codes']} codes, {usage['dead_codes']} dead"), path)
    return {"codebook_usage": path}


def plot_codebook_usage(usage: dict[str, Any], title: str) -> Any:
    """Bars of how often each code is chosen, most used first; dead codes show as the empty tail."""
    counts = np.sort(np.asarray(usage["counts"], dtype=np.float64))[::-1]
    share = counts / max(counts.sum(), 1.0)
    figure, axis = plt.subplots(figsize=(max(4.0, 0.09 * len(counts) + 2.0), 3.0))
    axis.bar(np.arange(len(share)), share, color=np.where(counts > 0, "tab:blue", "tab:gray"), width=0.9)
    axis.set_xlabel("code, most used first")
    axis.set_ylabel("share of grid cells")
    axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------------- the report's words


@dataclasses.dataclass(frozen=True)
class CodebookUsage:
    """The ``codebook`` entry :func:`measure` writes, as the report reads it."""

    num_codes: int
    perplexity: float
    dead_codes: int

    @classmethod
    def of(cls, model: ModelReport) -> CodebookUsage:
        usage = model.latent.measured[USAGE]
        return cls(int(usage["num_codes"]), float(usage["perplexity"]), int(usage["dead_codes"]))


def rows(model: ModelReport) -> list[Row]:
    usage = CodebookUsage.of(model)
    return [("codebook perplexity (codes in effective use)", f"{usage.perplexity:.1f} of {usage.num_codes}"),
            ("dead codes (chosen by no grid cell)", f"{usage.dead_codes:d}")]


def _column(model: ModelReport) -> str:
    usage = CodebookUsage.of(model)
    return f"{usage.perplexity:.1f} of {usage.num_codes} / {usage.dead_codes}"


def paragraphs(models: Models, everyone: Models) -> list[str]:
    return [" ".join(_usage_text(model) for model in models)]


def _usage_text(model: ModelReport) -> str:
    usage = CodebookUsage.of(model)
    dead = f"{usage.dead_codes} of them are chosen by no grid cell (dead)" if usage.dead_codes else "none is dead"
    return (f"{model.name} snaps each cell of its grid to one of {usage.num_codes} codebook vectors; on the clean "
            f"test images their perplexity is {usage.perplexity:.1f} (the number of codes in effective use) and "
            f"{dead}.")


def method(models: Models, everyone: Models) -> str:
    return ("Codebook usage: every grid cell of the clean test images snapped to its nearest codebook vector; "
            "perplexity = exp(entropy of the code frequencies), the number of codes in effective use; dead codes "
            "are chosen by no cell.")


CODEBOOK = Measure(
    "codebook usage",
    columns=(Column("codebook perplexity / dead", _column),),
    rows=rows,
    figures=(("codebook_usage", "how often each codebook vector is chosen (grey: dead codes)"),),
    paragraphs=paragraphs, method=method)

REPORT: tuple[Measure, ...] = (CODEBOOK,)
