"""What only the conditional VAE has, beside the VAE lineage's KL measures: style transfer.

Its code need not carry the class (the decoder is told it), so it keeps the style: a digit's code
decoded with every label writes the same hand as every digit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from aezoo.analysis.plotting import save_figure, subplots
from aezoo.families.vae import analysis as vae_analysis
from aezoo.models.adapter import ModelAdapter
from aezoo.models.capabilities import CONDITIONAL
from aezoo.plotting import show_image
from aezoo.report.measures.separation import ACCURACY_TIE
from aezoo.report.parts import Measure, Models
from aezoo.report.records import ModelReport
from aezoo.report.words import named, percent

measure = vae_analysis.measure


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """The VAE lineage's KL figure, and ``style_transfer.png``."""
    drawn = vae_analysis.figures(model, name, data, metrics, embeddings, out_dir, seed)
    classes = int(model.num_classes)
    rows = style_transfer_rows(data.labels, seed=seed)
    grid = style_transfer(model, embeddings, rows, classes)
    names = tuple(data.class_names) + tuple(str(c) for c in range(len(data.class_names), classes))
    one = data.noun.removesuffix("s")  # "digit", "image"
    figure = plot_style_transfer(data.clean, data.labels, rows, grid, names,
                                 f"{name}: style transfer, each {one}'s code decoded with every label")
    drawn["style_transfer"] = out_dir / "style_transfer.png"
    save_figure(figure, drawn["style_transfer"])
    return drawn


STYLE_TRANSFER_ROWS = 4


def style_transfer_rows(labels: np.ndarray, rows: int = STYLE_TRANSFER_ROWS, seed: int = 0) -> list[int]:
    """Indices of ``rows`` test images of different classes (as far as there are classes), chosen by the seed."""
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(labels))[:rows]
    return [int(rng.choice(np.flatnonzero(labels == c))) for c in classes]


def style_transfer(model: keras.Model, embeddings: np.ndarray, indices: Sequence[int], classes: int) -> np.ndarray:
    """``[rows, classes, H, W, C]``: each chosen image's code decoded with label 0, 1, ..., ``classes - 1``."""
    codes = np.repeat(np.asarray(embeddings)[list(indices)], classes, axis=0)
    labels = np.tile(np.arange(classes), len(indices))
    images = ModelAdapter(model).decode(codes.reshape(-1, *model.embedding_shape), labels)
    return images.reshape(len(indices), classes, *images.shape[1:])


def plot_style_transfer(images: np.ndarray, labels: np.ndarray, indices: Sequence[int], grid: np.ndarray,
                        class_names: Sequence[str], title: str) -> Any:
    """One row per image: the image itself (red frame), then its code decoded as every class (colour in colour)."""
    rows, classes = grid.shape[:2]
    figure, axes = subplots(rows, classes + 1, figsize=((classes + 1) * 0.65, rows * 0.72 + 0.9), squeeze=False)
    for row, index in enumerate(indices):
        cells = [images[index], *grid[row]]
        for column, image in enumerate(cells):
            axis = axes[row][column]
            show_image(axis, image, interpolation=None)  # matplotlib's smoothing, as this figure always had
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


# ----------------------------------------------------------------------------- the report's words

def paragraphs(models: Models, everyone: Models) -> list[str]:
    """For each model told the class: does its code still say which class the image is?"""
    unconditional = [m for m in everyone if not m.has(CONDITIONAL)]
    return [" ".join(_class_in_code(model, unconditional) for model in models)]


def _class_in_code(model: ModelReport, unconditional: Models) -> str:
    latent = model.latent
    mine = latent.knn.accuracy
    compared = {m.name: m.latent.knn.accuracy for m in unconditional} | {"a PCA of the pixels": latent.knn_pca.accuracy}
    above = {name: value for name, value in compared.items() if mine > value - ACCURACY_TIE.amount}
    if not above:
        lowest = min(compared, key=compared.__getitem__)
        return (f"The codes of {model.name} classify only {mine:.1%} of the images by 5 nearest neighbours, below "
                f"every code that is not given the class (the lowest: {lowest} {compared[lowest]:.1%}; chance "
                f"{latent.chance:.1%}): by design, its encoder and decoder are told the class, so the code need not "
                "carry it and keeps the style instead, as its style-transfer figure shows.")
    return (f"{model.name} is told the class, so its code need not carry it; yet its codes still classify "
            f"{mine:.1%} of the images by 5 nearest neighbours, not below {named(list(above), above, percent)} "
            f"(chance {latent.chance:.1%}): in this run its code still holds class information. Its encoder sees "
            "the label, so a code can carry it; only the KL term, which charges for every bit the decoder could "
            "have from the label for free, removes it as training goes on.")


STYLE_TRANSFER = Measure(
    "style transfer",
    figures=(("style_transfer", "style transfer: each image's code (left, in its red frame) decoded with every label"),),
    paragraphs=paragraphs)

REPORT: tuple[Measure, ...] = (*vae_analysis.REPORT, STYLE_TRANSFER)
