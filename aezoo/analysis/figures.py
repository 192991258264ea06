"""Figures only some models get, chosen by what a model can do: style transfer, codebook, KL side by side.

* style transfer (models that need labels): a digit's code decoded with each class in turn;
* codebook usage (vector-quantised models): how many images' grid cells choose each code;
* KL per dimension side by side (every model with a KL per latent dimension, in one picture):
  dimensions sorted by their KL, so models with different numbers of active units compare at a glance.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from aezoo.analysis.embeddings import decode
from aezoo.analysis.plotting import plt, subplots

STYLE_TRANSFER_ROWS = 4


def style_transfer_rows(labels: np.ndarray, rows: int = STYLE_TRANSFER_ROWS, seed: int = 0) -> list[int]:
    """Indices of ``rows`` test digits of different classes (as far as there are classes), chosen by the seed."""
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(labels))[:rows]
    return [int(rng.choice(np.flatnonzero(labels == c))) for c in classes]


def style_transfer(model: keras.Model, embeddings: np.ndarray, indices: Sequence[int], classes: int) -> np.ndarray:
    """``[rows, classes, 28, 28, 1]``: each chosen digit's code decoded with label 0, 1, ..., ``classes - 1``."""
    codes = np.repeat(np.asarray(embeddings)[list(indices)], classes, axis=0)
    labels = np.tile(np.arange(classes), len(indices))
    images = decode(model, codes, labels)
    return images.reshape(len(indices), classes, *images.shape[1:])


def plot_style_transfer(images: np.ndarray, labels: np.ndarray, indices: Sequence[int], grid: np.ndarray,
                        class_names: Sequence[str], title: str) -> Any:
    """One row per digit: the digit itself (red frame), then its code decoded as every class."""
    rows, classes = grid.shape[:2]
    figure, axes = subplots(rows, classes + 1, figsize=((classes + 1) * 0.65, rows * 0.72 + 0.9), squeeze=False)
    for row, index in enumerate(indices):
        cells = [images[index], *grid[row]]
        for column, image in enumerate(cells):
            axis = axes[row][column]
            axis.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            axis.set_xticks([])
            axis.set_yticks([])
        for spine in axes[row][0].spines.values():
            spine.set_edgecolor("tab:red")
            spine.set_linewidth(1.5)
        axes[row][0].set_ylabel(f"a {class_names[labels[index]]}", rotation=0, ha="right", va="center", fontsize=8)
    axes[0][0].set_title("input", fontsize=7)
    for column in range(classes):
        axes[0][column + 1].set_title(f"as {class_names[column] if column < len(class_names) else column}",
                                      fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


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


def plot_kl_side_by_side(usages: dict[str, dict[str, Any]]) -> Any:
    """One group of bars per dimension rank, one bar per model: each model's KL per dimension, sorted."""
    dimensions = max(len(u["kl_per_dimension"]) for u in usages.values())
    width = 0.8 / len(usages)
    figure, axis = plt.subplots(figsize=(max(5.0, 0.5 * dimensions + 3.0), 3.4))
    for offset, (kind, usage) in enumerate(usages.items()):
        kl = np.sort(np.asarray(usage["kl_per_dimension"]))[::-1]
        axis.bar(np.arange(len(kl)) + (offset - (len(usages) - 1) / 2) * width, kl, width=width,
                 label=f"{kind.upper()}: {usage['active_units']} of {usage['dimensions']} active")
    threshold = next(iter(usages.values()))["active_threshold_nats"]
    axis.axhline(threshold, color="tab:red", linestyle="--", linewidth=1)
    axis.set_xticks(np.arange(dimensions), [str(i + 1) for i in range(dimensions)])
    axis.set_xlabel("latent dimensions of each model, largest KL first")
    axis.set_ylabel("mean KL (nats)")
    axis.set_title(f"KL per latent dimension, side by side (dashed: active threshold {threshold} nats)", fontsize=10)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure


__all__ = ["STYLE_TRANSFER_ROWS", "plot_codebook_usage", "plot_kl_side_by_side", "plot_style_transfer",
           "style_transfer", "style_transfer_rows"]
