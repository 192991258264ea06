"""Keras's BackupAndRestore, with every backup written whole or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose backups survive a kill at any moment.

    Keras writes ``latest.weights.h5`` and the training metadata in place, so a process killed
    (SIGKILL, a lost machine) in the middle of that write leaves a torn file, and the next run
    fails to resume from it. Here both are written to a temporary file and renamed over the old
    one, the same rule as :mod:`aezoo.files`: a backup is the previous epoch's or this one's,
    never half of each. The weights are renamed first, then the metadata that names their epoch;
    a kill between the two resumes one epoch early, which only repeats work.

    This overrides Keras's ``_save_model`` (Keras 3.10-3.15 keep ``_weights_path`` and
    ``_training_metadata_path`` on the callback); the resume logic is Keras's own.
    """

    def _save_model(self) -> None:
        Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
        weights = Path(self._weights_path)
        partial = weights.with_name("partial-" + weights.name)  # save_weights needs the .weights.h5 suffix
        self.model.save_weights(filepath=str(partial), overwrite=True)
        os.replace(partial, weights)
        metadata = Path(self._training_metadata_path)
        partial_metadata = metadata.with_name("partial-" + metadata.name)
        partial_metadata.write_text(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))
        os.replace(partial_metadata, metadata)
