"""Matplotlib for aezoo: a file-only backend and one way to save a figure.

Callbacks, the analysis and the tuner all draw to files, often on machines without a screen;
every figure is written atomically (a reader never sees half a PNG) and closed, so long runs do
not accumulate open figures.
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")  # draw to files; training often runs where there is no screen

import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)

from aezoo.files import write_with  # noqa: E402

__all__ = ["plt", "save_figure"]


def save_figure(figure: Any, path: str | os.PathLike[str], dpi: int = 100) -> None:
    """Write ``figure`` to ``path`` atomically, cropped to its content, and free its memory."""
    try:
        write_with(path, lambda tmp: figure.savefig(tmp, dpi=dpi, bbox_inches="tight"))
    finally:
        plt.close(figure)
