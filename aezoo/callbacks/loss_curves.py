"""A callback that keeps a picture of the training curves up to date."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import keras

from aezoo.plotting import save_figure, subplots


class LossCurves(keras.callbacks.Callback):
    """Redraw ``path`` after every epoch: one panel per metric, training and validation curves.

    Args:
        path: the PNG to (over)write.
        history_csv: optional CSVLogger file to read earlier epochs from, so that a run resumed
            by ``BackupAndRestore`` still plots its whole history.
        title: text above the panels.
    """

    def __init__(self, path: str | os.PathLike[str], history_csv: str | os.PathLike[str] | None = None,
                 title: str = "") -> None:
        super().__init__()
        self.path = Path(path)
        self.history_csv = Path(history_csv) if history_csv else None
        self.title = title
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.history = {}
        self.epochs = []
        if self.history_csv and self.history_csv.exists():
            with self.history_csv.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    self._append(int(row.pop("epoch")), {k: float(v) for k, v in row.items() if v not in ("", None)})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self._append(epoch, {k: float(v) for k, v in logs.items() if k != "learning_rate"})
        figure = plot_history(self.epochs, self.history, self.title)
        save_figure(figure, self.path, dpi=90)

    def _append(self, epoch: int, values: dict[str, float]) -> None:
        if epoch in self.epochs:  # a resumed run repeats no epoch, but be safe
            return
        self.epochs.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)


def plot_history(epochs: list[int], history: dict[str, list[float]], title: str = "") -> Any:
    """One panel per metric (``loss``, ``psnr``, ...), training solid and validation dashed."""
    names = [k for k in history if not k.startswith("val_")]
    columns = min(3, max(1, len(names)))
    rows = math.ceil(len(names) / columns) or 1
    figure, axes = subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    x = [e + 1 for e in epochs]
    for axis, name in zip(axes.flat, names):
        axis.plot(x[-len(history[name]):], history[name], "o-", label="train", markersize=3)
        if f"val_{name}" in history:
            val = history[f"val_{name}"]
            axis.plot(x[-len(val):], val, "s--", label="test", markersize=3)
        axis.set_title(name.replace("_", " "))
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
