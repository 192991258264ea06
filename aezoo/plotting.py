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
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from aezoo.files import write_with

__all__ = ["colormap", "plt", "save_figure", "subplots"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
             squeeze: bool = True, **kwargs: Any) -> tuple[Figure, Any]:
    """``(figure, axes)`` like ``pyplot.subplots``, on a new Figure that no pyplot backend tracks."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(nrows, ncols, squeeze=squeeze, **kwargs)


def colormap(name: str) -> Colormap:
    """The registered colour map ``name`` (e.g. ``"tab10"``), without pyplot."""
    return matplotlib.colormaps[name]


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 100) -> None:
    """Write ``figure`` to ``path`` atomically, cropped to its content."""
    write_with(path, lambda tmp: figure.savefig(tmp, dpi=dpi, bbox_inches="tight"))


# pyplot's spelling of the two calls above, for drawing code written against ``plt``.
plt = types.SimpleNamespace(subplots=subplots, get_cmap=colormap)
