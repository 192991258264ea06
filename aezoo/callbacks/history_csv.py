"""A CSV history that is never torn."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import keras

from aezoo.files import write_text


class HistoryCSV(keras.callbacks.Callback):
    """Like ``keras.callbacks.CSVLogger(append=True)``, but each epoch rewrites the file atomically.

    CSVLogger appends to an open file, so a kill during a write can leave half a row. This
    callback keeps the rows in memory and replaces the whole (small) file after every epoch.
    Rows already in the file are kept when training resumes, so the history stays whole across
    ``BackupAndRestore`` restarts.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, str]] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.rows = []
        if self.path.exists():
            with self.path.open(newline="") as handle:
                self.rows = list(csv.DictReader(handle))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.rows = [row for row in self.rows if int(row["epoch"]) < epoch]
        self.rows.append({"epoch": str(epoch), **{key: repr(float(value)) for key, value in sorted(logs.items())}})
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.path, buffer.getvalue())

    def catch_up(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """A resumed run's restored epoch: its row, unless the file already has it."""
        if not any(int(row["epoch"]) == epoch for row in self.rows):
            self.on_epoch_end(epoch, logs)
