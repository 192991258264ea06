"""A callback that measures training speed."""

from __future__ import annotations

import time
from typing import Any

import keras


class EpochTimer(keras.callbacks.Callback):
    """Record the wall time of each epoch's training part (validation excluded).

    ``steady_images_per_second`` leaves out the first epoch, which pays for tracing and graph
    compilation, so it measures the speed training settles at.
    """

    def __init__(self, images_per_epoch: int) -> None:
        super().__init__()
        self.images_per_epoch = images_per_epoch
        self.train_seconds: list[float] = []
        self._start = 0.0
        self._train_end = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.train_seconds = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()
        self._train_end = 0.0

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        # fit() runs validation at the end of each epoch: stop the clock for training there.
        if not self._train_end:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        end = self._train_end or time.perf_counter()
        self.train_seconds.append(end - self._start)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.train_seconds))

    @property
    def steady_images_per_second(self) -> float:
        steady = self.train_seconds[1:] or self.train_seconds
        return self.images_per_epoch * len(steady) / sum(steady) if steady and sum(steady) > 0 else float("nan")
