"""Figures for aezoo, drawn with matplotlib's object API, and one way to save them.

Callbacks, the analysis and the tuner all draw to files, often on machines without a screen.
They build :class:`matplotlib.figure.Figure` objects directly instead of going through pyplot:
a Figure needs no backend (``savefig`` picks the file writer from the file name), so importing
aezoo never chooses a backend for the process (a notebook keeps its own), and no pyplot registry
keeps figures alive: a saved figure is freed like any other object. Every figure is written
atomically, so a reader never sees half a PNG.
"""

from __future__ import annotations

import os
import types
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from aezoo.files import write_with

__all__ = ["colormap", "mosaic", "plt", "save_figure", "show_mosaic", "subplots"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
             squeeze: bool = True, **kwargs: Any) -> tuple[Figure, Any]:
    """``(figure, axes)`` like ``pyplot.subplots``, on a new Figure that no pyplot backend tracks."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(nrows, ncols, squeeze=squeeze, **kwargs)


def colormap(name: str) -> Colormap:
    """The registered colour map ``name`` (e.g. ``"tab10"``), without pyplot."""
    return matplotlib.colormaps[name]


def mosaic(images: Any, columns: int, gap: int = 2, fill: float = 1.0) -> np.ndarray:
    """One picture of images, ``columns`` per row, ``gap`` pixels of ``fill`` between: ``[H, W]`` from grey
    ``[n, h, w]`` or ``[n, h, w, 1]``, ``[H, W, 3]`` from colour ``[n, h, w, 3]``."""
    images = np.asarray(images, np.float32)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    count, height, width = images.shape[:3]
    rows = -(-count // columns)
    sheet = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, *images.shape[3:]), fill,
                    np.float32)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        sheet[row * (height + gap):row * (height + gap) + height,
              column * (width + gap):column * (width + gap) + width] = image
    return sheet


def show_mosaic(axis: Axes, images: Any, columns: int, gap: int = 2, row_labels: Any = None,
                **label_options: Any) -> None:
    """Draw images as one mosaic in ``axis`` (grey or colour, white gaps, no ticks, no frame), rows labelled on the left.

    One image in one axes draws many times faster than an axes per digit, a cost a callback
    pays at every epoch (bench/README.md, "Measurements behind code choices").
    """
    sheet = mosaic(images, columns, gap)
    show_image(axis, sheet)
    axis.set_xticks([])
    cell = np.asarray(images).shape[1] + gap
    labels = list(row_labels) if row_labels is not None else []
    axis.set_yticks([row * cell + (cell - gap - 1) / 2 for row in range(len(labels))], labels, **label_options)
    axis.tick_params(length=0)
    for spine in axis.spines.values():
        spine.set_visible(False)


def show_image(axis: Axes, image: Any, **options: Any) -> None:
    """Draw one picture in [0, 1]: grey ``[H, W]`` (or ``[H, W, 1]``) with a grey colour map, colour as it is.

    ``options`` go to ``imshow``; pixels are drawn as squares (``interpolation="nearest"``) unless
    they say otherwise (``interpolation=None``: matplotlib's default).
    """
    image = np.asarray(image)
    options = {"interpolation": "nearest", **options}
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, **options)
    else:
        axis.imshow(np.clip(image, 0.0, 1.0), **options)


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 100, crop: bool = True) -> None:
    """Write ``figure`` to ``path`` atomically, cropped to its content unless ``crop`` is false.

    Cropping measures every artist before drawing; a figure laid out once and saved often (the
    loss curves, every epoch) is cheaper to save uncropped.
    """
    write_with(path, lambda tmp: figure.savefig(tmp, dpi=dpi, bbox_inches="tight" if crop else None))


# pyplot's spelling of the two calls above, for drawing code written against ``plt``.
plt = types.SimpleNamespace(subplots=subplots, get_cmap=colormap)
