"""Stop training promptly when the process was asked to terminate."""

from __future__ import annotations

from typing import Any

import keras

from aezoo import interrupts


class StopOnInterrupt(keras.callbacks.Callback):
    """Raise ``KeyboardInterrupt`` after the current step once :mod:`aezoo.interrupts` was requested.

    It does not set ``model.stop_training``: that would end ``fit`` as if training had finished,
    and the run would be saved as complete. Raising leaves the run unfinished, to be resumed by
    ``BackupAndRestore`` from the last completed epoch.
    """

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if interrupts.requested():
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_train_batch_end(-1, logs)
