"""Training survives what users do to it: kills, NaNs, reruns; and it reproduces to the last digit."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import aezoo.training
from aezoo.config import TrainConfig
from aezoo.run_folder import INCOMPLETE
from aezoo.training import TrainingDiverged, train
from tests.fixtures import TINY_HYPERPARAMETERS, subset
from tests.helpers import launch_python, read_csv, run_python, write_npz_data

TINY_FLAGS = ["--model", "ae", "--filters", "4", "--embedding-dim", "4", "--batch-size", "64", "--no-analysis"]


def run_train(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_python("train.py", args, cwd=cwd, timeout=timeout)


@pytest.mark.slow  # two whole train.py processes per seed
def test_same_seed_same_metrics_to_the_last_digit(tmp_path):
    """Two separate processes, same command: identical metrics (CPU, op determinism on)."""
    results = []
    for attempt in ("a", "b"):
        done = run_train([*TINY_FLAGS, "--epochs", "2", "--seed", "7", "--output", str(tmp_path / attempt)], tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        results.append(json.loads((tmp_path / attempt / "ae" / "metrics.json").read_text())["test"])
    assert results[0] == results[1]
    other = run_train([*TINY_FLAGS, "--epochs", "2", "--seed", "8", "--output", str(tmp_path / "c")], tmp_path)
    assert json.loads((tmp_path / "c" / "ae" / "metrics.json").read_text())["test"] != results[0], other.stderr[-500:]


def epochs_logged(history: Path) -> list[int]:
    return [int(row["epoch"]) for row in read_csv(history)] if history.exists() else []


def pictures(folder: Path) -> dict[str, tuple[int, int]]:
    """The per-epoch reconstruction pictures: name -> (inode, mtime in ns), which any rewrite changes."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(folder.glob("epoch_*.png"))}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_run_resumes_from_its_last_epoch(sig, tmp_path, tiny_splits):
    """Killed part way, the same command trains only the epochs that were left.

    history.csv cannot show this (it is rewritten whole every epoch, so a restart from scratch
    ends with the same rows); the pictures can: each epoch writes its own, and a picture written
    before the kill must be the very same file after the resumed run.
    """
    epochs = 20
    data = write_npz_data(subset(tiny_splits, 256, 64), tmp_path / "data")
    args = [*TINY_FLAGS, "--data-dir", data, "--epochs", str(epochs), "--output", tmp_path / "run"]
    model_dir = tmp_path / "run" / "ae"
    process = launch_python("train.py", args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while len(pictures(model_dir / "reconstructions")) < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        time.sleep(0.3)  # mid-epoch, most likely
        process.send_signal(sig)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    # SIGTERM ends the command as Ctrl-C does (status 130, files whole); SIGKILL gives no chance.
    assert status == (130 if sig == signal.SIGTERM else -signal.SIGKILL)
    before = pictures(model_dir / "reconstructions")
    assert 3 <= len(before) < epochs, "the run should have been killed part way"
    assert (tmp_path / "run" / INCOMPLETE).exists()
    assert not (model_dir / "metrics.json").exists()

    resumed = run_train(args, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming the unfinished run" in resumed.stderr
    after = pictures(model_dir / "reconstructions")
    assert {name: after.get(name) for name in before} == before, "the resumed run redid epochs finished before the kill"
    new = sorted(int(name[6:9]) for name in set(after) - set(before))
    # A kill between the epoch's backup and its picture loses that one picture, never an epoch.
    assert new == list(range(new[0], epochs + 1)) and new[0] in (len(before) + 1, len(before) + 2), new
    assert epochs_logged(model_dir / "history.csv") == list(range(epochs)), "every epoch in the history, once"
    from aezoo.families.ae.model import ConvAutoencoder  # noqa: F401  (registers the class)

    model = keras.saving.load_model(model_dir / "model.keras")
    assert model.denoise(np.zeros((1, 28, 28, 1), "float32")).shape == (1, 28, 28, 1)
    assert not (tmp_path / "run" / INCOMPLETE).exists()


def poison_after(epochs: int, steps_per_epoch: int):
    """Wrap the training pipeline so that targets become NaN after ``epochs`` epochs.

    (NaN *inputs* would not do: ReLU maps NaN to 0 on this backend, so the loss stays finite.)
    """
    original = aezoo.training.training_dataset

    def poisoned(*args, **kwargs):
        steps = tf.Variable(0, dtype=tf.int64, trainable=False)

        def maybe_nan(noisy, clean):
            step = steps.assign_add(1)
            bad = step > epochs * steps_per_epoch
            return noisy, tf.where(bad, tf.fill(tf.shape(clean), np.nan), clean)

        return original(*args, **kwargs).map(maybe_nan)

    return poisoned


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, tiny_splits, monkeypatch, caplog):
    monkeypatch.setattr(aezoo.training, "training_dataset", poison_after(epochs=2, steps_per_epoch=4))
    config = TrainConfig(models=("ae",), epochs=6, batch_size=64, hyperparameters=dict(TINY_HYPERPARAMETERS))
    with caplog.at_level("ERROR", logger="aezoo"):
        result = train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits)
    assert "the loss became NaN" in caplog.text
    metrics = json.loads((result.run_dir / "ae" / "metrics.json").read_text())
    assert metrics["diverged"] is True
    assert np.isfinite(metrics["test"]["psnr"]) and metrics["test"]["psnr"] > 5
    history = epochs_logged(result.run_dir / "ae" / "history.csv")
    assert len(history) < 6


def test_a_nan_in_the_first_epoch_is_a_clear_error(tmp_path, tiny_splits, monkeypatch):
    monkeypatch.setattr(aezoo.training, "training_dataset", poison_after(epochs=0, steps_per_epoch=4))
    config = TrainConfig(models=("ae",), epochs=3, batch_size=64, hyperparameters=dict(TINY_HYPERPARAMETERS))
    with pytest.raises(TrainingDiverged, match="loss became NaN before the first epoch finished; try a lower --learning-rate"):
        train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits)
    assert (tmp_path / "run" / INCOMPLETE).exists()
    assert not (tmp_path / "run" / "ae" / "metrics.json").exists()


def test_a_requested_interrupt_stops_fit_after_the_step_without_finishing_the_run(tmp_path, tiny_splits, monkeypatch):
    """SIGTERM's KeyboardInterrupt can be swallowed inside library clean-up; the flag still stops training."""
    from aezoo import interrupts
    from aezoo.callbacks import StopOnInterrupt

    steps = []

    class CountSteps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)
            interrupts.request()

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(np.zeros((64, 2)), np.zeros((64, 1)), batch_size=8, epochs=3, verbose=0,
                      callbacks=[CountSteps(), StopOnInterrupt()])
    finally:
        interrupts.clear()
    assert steps == [0]


def test_an_interrupt_during_an_epochs_end_stops_after_that_epochs_records(tmp_path, tiny_splits, monkeypatch):
    """A SIGTERM arriving just after an epoch's backup is written must not lose that epoch's records.

    The resumed run starts after the backed-up epoch, so its history row and picture must exist too
    (the slow kill test caught a history missing one epoch when the signal came at this moment).
    """
    from aezoo import interrupts
    from aezoo.callbacks.atomic_backup import TrainingBackup

    save = TrainingBackup.on_epoch_end

    def save_then_terminate(self, epoch, logs=None):
        save(self, epoch, logs)
        if epoch == 1:  # the second epoch is backed up
            interrupts.request()

    monkeypatch.setattr(TrainingBackup, "on_epoch_end", save_then_terminate)
    config = TrainConfig(models=("ae",), dataset="embedded", epochs=4, batch_size=64,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    try:
        with pytest.raises(KeyboardInterrupt):
            train(config, output=tmp_path / "run", verbose=0, splits=subset(tiny_splits, 128, 32))
    finally:
        interrupts.clear()
    model_dir = tmp_path / "run" / "ae"
    assert [int(float(row["epoch"])) for row in read_csv(model_dir / "history.csv")] == [0, 1]
    assert sorted(p.name for p in (model_dir / "reconstructions").glob("epoch_*.png")) == [
        "epoch_001.png", "epoch_002.png"]
