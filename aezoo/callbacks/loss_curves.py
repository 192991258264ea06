"""A callback that keeps a picture of the training curves up to date."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Any

import keras
from matplotlib.figure import Figure

from aezoo.plotting import save_figure, subplots


class LossCurves(keras.callbacks.Callback):
    """Keep ``path`` up to date during training: one panel per metric, training and validation curves.

    It is redrawn after an epoch unless it was drawn less than ``min_interval`` seconds before,
    and always after the last epoch, so the final picture has every epoch. Drawing six panels is
    a sizeable share of a short epoch (bench/README.md, "Measurements behind code choices"),
    while a picture a few seconds old is as good to watch. The figure is built once and its
    lines updated, since building it, with its layout, costs as much as a draw again.

    Args:
        path: the PNG to (over)write.
        history_csv: optional CSVLogger file to read earlier epochs from, so that a run resumed
            by ``BackupAndRestore`` still plots its whole history.
        title: text above the panels.
        min_interval: seconds between two redraws during training; 0 redraws after every epoch.
    """

    def __init__(self, path: str | os.PathLike[str], history_csv: str | os.PathLike[str] | None = None,
                 title: str = "", min_interval: float = 5.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.history_csv = Path(history_csv) if history_csv else None
        self.title = title
        self.min_interval = min_interval
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self._curves: CurvesFigure | None = None
        self._drawn_at: float | None = None
        self._drawn_epochs = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.history = {}
        self.epochs = []
        self._curves, self._drawn_at, self._drawn_epochs = None, None, 0
        if self.history_csv and self.history_csv.exists():
            with self.history_csv.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    self._append(int(row.pop("epoch")), {k: float(v) for k, v in row.items() if v not in ("", None)})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self._append(epoch, {k: float(v) for k, v in logs.items() if k != "learning_rate"})
        last = epoch + 1 == self.params.get("epochs")
        if last or self._drawn_at is None or time.perf_counter() - self._drawn_at >= self.min_interval:
            self.draw()

    def catch_up(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """A resumed run's restored epoch: added when history.csv missed it; the picture is redrawn
        at the end of this ``fit`` in any case."""
        if epoch not in self.epochs:
            self._append(epoch, {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._drawn_epochs < len(self.epochs):  # stopped early, after an epoch that was not drawn
            self.draw()

    def draw(self) -> None:
        """Write the picture of every epoch so far."""
        if self._curves is None or not self._curves.fits(self.history):
            self._curves = CurvesFigure(self.history, self.title)
        save_figure(self._curves.update(self.epochs, self.history), self.path, dpi=90, crop=False)
        self._drawn_at, self._drawn_epochs = time.perf_counter(), len(self.epochs)

    def _append(self, epoch: int, values: dict[str, float]) -> None:
        if epoch in self.epochs:  # a resumed run repeats no epoch, but be safe
            return
        self.epochs.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)


class CurvesFigure:
    """One panel per metric (``loss``, ``psnr``, ...), training solid and validation dashed; lines updatable."""

    def __init__(self, history: dict[str, list[float]], title: str = "") -> None:
        self.names = [k for k in history if not k.startswith("val_")]
        self.validated = {name for name in self.names if f"val_{name}" in history}
        columns = min(3, max(1, len(self.names)))
        rows = math.ceil(len(self.names) / columns) or 1
        self.figure, axes = subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
        self.axes = dict(zip(self.names, axes.flat))
        self.lines: dict[str, Any] = {}
        for name, axis in self.axes.items():
            self.lines[name] = axis.plot([], [], "o-", label="train", markersize=3)[0]
            if name in self.validated:
                self.lines[f"val_{name}"] = axis.plot([], [], "s--", label="validation", markersize=3)[0]
            axis.set_title(name.replace("_", " "))
            axis.set_xlabel("epoch")
            axis.grid(alpha=0.3)
            axis.legend()
        for axis in list(axes.flat)[len(self.names):]:
            axis.set_visible(False)
        if title:
            self.figure.suptitle(title)
        self._laid_out = False

    def fits(self, history: dict[str, list[float]]) -> bool:
        """Whether ``history`` has exactly the panels and validation curves this figure was built for."""
        names = [k for k in history if not k.startswith("val_")]
        return names == self.names and {n for n in names if f"val_{n}" in history} == self.validated

    def update(self, epochs: list[int], history: dict[str, list[float]]) -> Figure:
        x = [e + 1 for e in epochs]
        for key, line in self.lines.items():
            values = history.get(key, [])
            line.set_data(x[-len(values):] if values else [], values)
            axis = line.axes
            axis.relim()
            axis.autoscale_view()
        if not self._laid_out:  # once, with the first values: the layout's cost is a whole draw
            self.figure.tight_layout()
            self._laid_out = True
        return self.figure


def plot_history(epochs: list[int], history: dict[str, list[float]], title: str = "") -> Figure:
    """One panel per metric (``loss``, ``psnr``, ...), training solid and validation dashed."""
    return CurvesFigure(history, title).update(epochs, history)
