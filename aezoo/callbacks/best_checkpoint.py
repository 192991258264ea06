"""Keep the best model seen so far, written atomically."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import keras

from aezoo.files import write_json, write_with


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model to ``path`` (a ``.keras`` file) whenever ``monitor`` improves.

    Does what ``keras.callbacks.ModelCheckpoint(save_best_only=True)`` does, with two differences
    that matter for long runs: the file is replaced atomically (a kill never leaves a torn model),
    and the best score is stored beside it (``<path>.json``), so a resumed run does not overwrite
    a better checkpoint from before the interruption. Non-finite scores never count as better.

    Args:
        path: where the ``.keras`` file goes.
        monitor: the log to watch, e.g. ``"val_loss"``.
        mode: ``"min"`` or ``"max"``.
    """

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_loss", mode: str = "min") -> None:
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.path = Path(path)
        self.state_path = self.path.with_name(self.path.name + ".json")
        self.monitor = monitor
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.best, self.best_epoch = (math.inf if self.mode == "min" else -math.inf), None
        if self.state_path.exists() and self.path.exists():
            state = json.loads(self.state_path.read_text())
            self.best, self.best_epoch = float(state["best"]), int(state["epoch"])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            return
        value = float(logs[self.monitor])
        better = value < self.best if self.mode == "min" else value > self.best
        if math.isfinite(value) and better:
            self.best, self.best_epoch = value, epoch
            write_with(self.path, self.model.save)
            write_json(self.state_path, {"monitor": self.monitor, "best": value, "epoch": epoch})
