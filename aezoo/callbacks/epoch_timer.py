"""A callback that measures training speed."""

from __future__ import annotations

import time
from typing import Any

import keras


class EpochTimer(keras.callbacks.Callback):
    """Record the wall and CPU time of each epoch's training part (validation and epoch-end callbacks excluded).

    ``steady_images_per_second`` leaves out the first epoch, which pays for tracing and graph
    compilation, so it measures the speed training settles at.

    A run resumed from a backup starts with the times of the epochs trained before the
    interruption (:meth:`resume`): the totals are the run's, ``*_this_fit`` only this ``fit``'s.
    """

    def __init__(self, images_per_epoch: int) -> None:
        super().__init__()
        self.images_per_epoch = images_per_epoch
        self.train_seconds: list[float] = []
        self.train_cpu_seconds: list[float] = []
        self._earlier: tuple[list[float], list[float]] = ([], [])
        self._start = self._cpu_start = 0.0
        self._train_end: tuple[float, float] | None = None

    def resume(self, seconds: list[float], cpu_seconds: list[float]) -> None:
        """Start from the epochs timed before an interruption (the backup kept their times)."""
        self._earlier = ([float(s) for s in seconds], [float(s) for s in cpu_seconds])
        self.train_seconds, self.train_cpu_seconds = list(self._earlier[0]), list(self._earlier[1])

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.train_seconds, self.train_cpu_seconds = list(self._earlier[0]), list(self._earlier[1])

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()
        self._train_end = None

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        # fit() runs validation at the end of each epoch: stop the clock for training there.
        if self._train_end is None:
            self._train_end = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        end, cpu_end = self._train_end or (time.perf_counter(), time.process_time())
        self.train_seconds.append(end - self._start)
        self.train_cpu_seconds.append(cpu_end - self._cpu_start)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.train_seconds))

    @property
    def seconds_this_fit(self) -> float:
        return float(sum(self.train_seconds[len(self._earlier[0]):]))

    @property
    def cpu_seconds_this_fit(self) -> float:
        return float(sum(self.train_cpu_seconds[len(self._earlier[1]):]))

    @property
    def steady_images_per_second(self) -> float | None:
        """Training images per second after the first epoch; ``None`` when no epoch was timed."""
        steady = self.train_seconds[1:] or self.train_seconds
        return self.images_per_epoch * len(steady) / sum(steady) if steady and sum(steady) > 0 else None
