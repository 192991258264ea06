"""Figures of the analysis: one colour per class, image grids (drawing and saving: aezoo.plotting).

Every figure of every model uses the same class colours (``tab10``: ten colours that stay apart
for most kinds of colour blindness), so "the green cluster" means the same class in the AE's
t-SNE map and in the VAE's.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from aezoo.plotting import colormap, plt, save_figure, show_mosaic, subplots


def class_colour(label: int) -> Any:
    """The colour of class ``label`` in every analysis figure (``tab10``, cycling past 10)."""
    return colormap("tab10")(int(label) % 10)


def image_grid(images: np.ndarray, columns: int, title: str = "", cell_inches: float = 0.7,
               row_labels: Sequence[str] | None = None) -> Any:
    """A grid of ``[n, H, W, C]`` images in [0, 1] (colour in colour), ``columns`` per row, as a figure (one
    mosaic, white gaps)."""
    images = np.asarray(images)
    rows = int(np.ceil(len(images) / columns))
    aspect = images.shape[1] / images.shape[2]  # a cell as tall as its images are, relative to their width
    figure, axis = subplots(figsize=(columns * cell_inches, rows * cell_inches * aspect + 0.4))
    show_mosaic(axis, images, columns, gap=4, row_labels=row_labels)
    if title:
        axis.set_title(title)
    return figure


__all__ = ["class_colour", "colormap", "image_grid", "plt", "save_figure", "show_mosaic", "subplots"]
