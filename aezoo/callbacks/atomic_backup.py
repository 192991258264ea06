"""The training state, backed up whole at every epoch end, and the resume from it.

Written on Keras's public API only (a ``Callback``, ``save_weights``/``load_weights``, and
``fit(initial_epoch=...)``), so it does not depend on how a Keras version lays out its own
``BackupAndRestore``. Everything a resume needs goes into one folder per epoch, published by one
rename::

    backup/epoch-0003/weights.weights.h5   model and optimizer variables (the step count included,
                                           so a learning-rate schedule continues where it was)
    backup/epoch-0003/state.json           epochs finished, the settings the run was started with,
                                           the epoch's logs and the training time of every epoch

A kill at any moment leaves the previous epoch's folder or this one's, never half of one; the
older folder is removed only after the new one is in place. Nothing deletes the backup when
``fit`` ends: the caller discards it once the trained model is saved, so a kill while saving
resumes with no epoch to train again.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import keras

from aezoo import files
from aezoo.callbacks.epoch_timer import EpochTimer

STATE = "state.json"
WEIGHTS = "weights.weights.h5"  # save_weights wants the .weights.h5 ending
FORMAT = 1
_EPOCH_FOLDER = re.compile(r"^epoch-(\d{4,})$")
# Keras's own BackupAndRestore layout, which runs interrupted before this callback still have.
_KERAS_WEIGHTS, _KERAS_METADATA = "latest.weights.h5", "training_metadata.json"


class BackupMismatch(ValueError):
    """The backup was made for other settings, or its weights do not fit the model."""


class TrainingBackup(keras.callbacks.Callback):
    """Back up the weights, optimizer state, epoch, logs and timing at every epoch end.

    Before ``fit``, :meth:`restore` loads the latest backup into the model and returns the
    number of finished epochs, to pass as ``fit(initial_epoch=...)``; :attr:`restored` then
    holds ``(epoch, logs)`` of the epoch it ended with, for :class:`ReplayRestoredEpoch`.

    Args:
        backup_dir: the folder of the backups (the run's ``<model>/backup``).
        settings: what the run was started with (its config); a backup made with other settings
            is refused by :meth:`restore`, since its weights or its schedule would not fit.
        timer: the run's :class:`EpochTimer`; its per-epoch times are backed up and restored,
            so a resumed run reports the time of every epoch, also those before the kill.
            It must come before this callback in ``fit``'s list (it times the epoch's end).
    """

    def __init__(self, backup_dir: str | Path, settings: dict[str, Any] | None = None,
                 timer: EpochTimer | None = None) -> None:
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.settings = settings
        self.timer = timer
        self.restored: tuple[int, dict[str, float]] | None = None

    # ------------------------------------------------------------------ reading

    def _epoch_folders(self) -> list[tuple[int, Path]]:
        if not self.backup_dir.is_dir():
            return []
        found = [(int(match.group(1)), path) for path in self.backup_dir.iterdir()
                 if (match := _EPOCH_FOLDER.match(path.name)) and path.is_dir()]
        return sorted(found)

    def read_state(self) -> dict[str, Any] | None:
        """The latest backup's state (``{"epoch", "settings", "logs", "seconds", ...}``), or ``None``."""
        folders = self._epoch_folders()
        if folders:
            state = json.loads((folders[-1][1] / STATE).read_text())
            return state | {"weights": str(folders[-1][1] / WEIGHTS)}
        metadata = self.backup_dir / _KERAS_METADATA
        if metadata.is_file() and (self.backup_dir / _KERAS_WEIGHTS).is_file():
            epoch = int(json.loads(metadata.read_text())["epoch"])
            return {"format": 0, "epoch": epoch, "weights": str(self.backup_dir / _KERAS_WEIGHTS)}
        return None

    def differences(self, state: dict[str, Any]) -> list[str]:
        """The settings in which ``state`` differs from this run's (``["epochs: 5 -> 2"]``)."""
        recorded = state.get("settings")
        if self.settings is None or recorded is None:  # Keras's older backups recorded none
            return []
        return [f"{key}: {recorded.get(key)!r} -> {self.settings.get(key)!r}"
                for key in sorted(set(recorded) | set(self.settings)) if recorded.get(key) != self.settings.get(key)]

    # ------------------------------------------------------------------ resuming

    def restore(self, model: keras.Model) -> int:
        """Load the latest backup into ``model`` (built and compiled); return the epochs it finished.

        Raises:
            BackupMismatch: the backup was made with other settings, or its weights do not fit.
        """
        self.restored = None
        state = self.read_state()
        if state is None:
            return 0
        changed = self.differences(state)
        if changed:
            raise BackupMismatch(f"the backup of epoch {state['epoch']} was made with other settings "
                                 f"({'; '.join(changed)})")
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(state["weights"])
        except ValueError as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise BackupMismatch(f"the backup's weights do not fit this model ({first})") from None
        epoch = int(state["epoch"])
        if self.timer is not None and "seconds" in state:
            self.timer.resume(state["seconds"], state.get("cpu_seconds", [0.0] * len(state["seconds"])))
        if epoch > 0 and "logs" in state:
            self.restored = (epoch - 1, {key: float(value) for key, value in state["logs"].items()
                                         if value is not None})
        return epoch

    # ------------------------------------------------------------------ backing up

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {key: float(value) for key, value in (logs or {}).items()}
        if not all(math.isfinite(logs[key]) for key in ("loss", "val_loss") if key in logs):
            return  # a diverged epoch is no state to resume from; the previous backup stays
        state = {
            "format": FORMAT, "epoch": epoch + 1, "settings": self.settings, "logs": logs,
            "seconds": list(self.timer.train_seconds) if self.timer is not None else [],
            "cpu_seconds": list(self.timer.train_cpu_seconds) if self.timer is not None else [],
        }
        with files.atomic_directory(self.backup_dir / f"epoch-{epoch + 1:04d}") as folder:
            self.model.save_weights(str(folder / WEIGHTS))
            files.write_json(folder / STATE, state)
        for number, path in self._epoch_folders():  # only once the new one is whole
            if number != epoch + 1:
                shutil.rmtree(path, ignore_errors=True)
        for name in (_KERAS_WEIGHTS, _KERAS_METADATA):
            (self.backup_dir / name).unlink(missing_ok=True)

    def discard(self) -> None:
        """Delete the backups: call it once the trained model and its records are saved."""
        shutil.rmtree(self.backup_dir, ignore_errors=True)


class ReplayRestoredEpoch(keras.callbacks.Callback):
    """On a resumed ``fit``, hand the restored epoch's end to the callbacks that keep records.

    The backup is the first thing written at an epoch's end, so that a kill after it never
    trains the epoch again; a kill before the epoch's history row, picture or checkpoint were
    written would lose them. This callback, placed after those callbacks (their
    ``on_train_begin`` has read their files back), calls their ``catch_up(epoch, logs)``, or
    ``on_epoch_end``, with the restored weights and logs, so what is missing is written now
    and what exists is left alone.
    """

    def __init__(self, backup: TrainingBackup, records: list[keras.callbacks.Callback]) -> None:
        super().__init__()
        self.backup = backup
        self.records = records

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.backup.restored is None:
            return
        epoch, restored_logs = self.backup.restored
        for callback in self.records:
            getattr(callback, "catch_up", callback.on_epoch_end)(epoch, dict(restored_logs))


__all__ = ["BackupMismatch", "ReplayRestoredEpoch", "TrainingBackup"]
