"""Nothing lost under faults (issue 20): a kill at any write, a second process, an edited config.

A kill is simulated in-process by raising :class:`Killed`, a ``BaseException`` that nothing in
aezoo or Keras catches, right after a file is published (or, for a torn write, in the middle of
one): nothing of the run after that point happens, as with SIGKILL. The slow test at the end
sends a real SIGKILL to a ``train.py`` process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from aezoo import files
from aezoo.callbacks import EpochTimer
from aezoo.config import TrainConfig
from aezoo.errors import UsageError
from aezoo.run_folder import LOCK, RunFolder
from aezoo.training import train
from tests.fixtures import TINY_HYPERPARAMETERS, subset
from tests.helpers import assert_usage_error, launch_python, read_csv, run_python, write_npz_data


class Killed(BaseException):
    """The process died here."""


def tiny_config(**changes) -> TrainConfig:
    settings = dict(models=("ae",), dataset="embedded", epochs=2, batch_size=64,
                    hyperparameters=dict(TINY_HYPERPARAMETERS))
    return TrainConfig(**(settings | changes))


@pytest.fixture(scope="module")
def small_splits(embedded):
    return subset(embedded, 128, 32)


def visible(target: Path) -> bool:
    """A write a reader can see: not one inside a temporary folder (a backup being assembled)."""
    return not any(files.is_temporary(part) for part in target.parts)


@contextlib.contextmanager
def watching_writes(monkeypatch: pytest.MonkeyPatch, root: Path,
                    kill_at: Callable[[int, str], bool] = lambda n, name: False) -> Iterator[list[str]]:
    """Record every visible file published under ``root`` (relative names, in order); raise
    :class:`Killed` right after the one for which ``kill_at(index, name)`` is true."""
    published: list[str] = []
    real = files._publish

    def publish(source: Path, target: Path) -> None:
        real(source, target)
        target = Path(target)
        if visible(target) and root in target.parents:
            name = target.relative_to(root).as_posix()
            published.append(name)
            if kill_at(len(published) - 1, name):
                raise Killed(name)

    monkeypatch.setattr(files, "_publish", publish)
    yield published
    monkeypatch.setattr(files, "_publish", real)


@contextlib.contextmanager
def counting_epochs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every epoch that starts training, as (model class, epoch), in order, across fits."""
    begun: list[tuple[str, int]] = []
    real = EpochTimer.on_epoch_begin

    def on_epoch_begin(self, epoch, logs=None):
        begun.append((type(self.model).__name__, epoch))
        real(self, epoch, logs)

    monkeypatch.setattr(EpochTimer, "on_epoch_begin", on_epoch_begin)
    yield begun
    monkeypatch.setattr(EpochTimer, "on_epoch_begin", real)


def file_names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def read_json_strictly(path: Path):
    return json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in {path}"))


# ----------------------------------------------------------------------------- kill anywhere

def kill_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, splits, config: TrainConfig,
                  points: Callable[[list[str]], list[int]]) -> list[str]:
    """Train once uninterrupted, then once per chosen write point killed there and rerun; every
    rerun must end with the reference's files, each epoch trained once. Returns the write order."""
    reference = tmp_path / "reference"
    with watching_writes(monkeypatch, reference) as order:
        train(config, output=reference, verbose=0, splits=splits)
    expected = file_names(reference)
    for index in points(order):
        run = tmp_path / f"killed-{index:02d}"
        with counting_epochs(monkeypatch) as begun:
            with watching_writes(monkeypatch, run, kill_at=lambda n, name: n == index):
                with pytest.raises(Killed):
                    train(config, output=run, verbose=0, splits=splits)
            train(config, output=run, verbose=0, splits=splits)
        after = f"after write {index} ({order[index]})"
        assert file_names(run) == expected, after
        assert len(begun) == len(set(begun)) == config.epochs * len(config.models), (after, begun)
        for kind in config.models:
            metrics = read_json_strictly(run / kind / "metrics.json")
            assert metrics["training_seconds"] > 0 and metrics["images_per_second"] > 0, after
            assert [int(row["epoch"]) for row in read_csv(run / kind / "history.csv")] == list(range(config.epochs))
        read_json_strictly(run / "summary.json")
    return order


def test_a_kill_after_any_write_of_the_last_epoch_or_the_save_loses_nothing(tmp_path, monkeypatch, small_splits):
    """The writes from the last epoch's backup to the end: the part where a kill used to cost the
    whole training (Keras deleted its backup before aezoo saved the model). The slow test below
    goes through every write of a run of two models."""
    def from_last_backup(order: list[str]) -> list[int]:
        last_backup = max(i for i, name in enumerate(order) if "/backup/" in name)
        return list(range(last_backup, len(order)))

    order = kill_anywhere(tmp_path, monkeypatch, small_splits, tiny_config(), from_last_backup)
    assert order[:2] == ["INCOMPLETE", "config.json"] and order[-1] == "summary.json"


@pytest.mark.slow  # about 40 trainings of tiny models
def test_a_kill_after_any_write_loses_nothing(tmp_path, monkeypatch, small_splits):
    config = tiny_config(models=("ae", "vae"), epochs=3)
    order = kill_anywhere(tmp_path, monkeypatch, small_splits, config, lambda order: list(range(len(order))))
    assert len(order) > 30


# ----------------------------------------------------------------------------- case 3: the save after the last epoch

def test_a_kill_while_the_model_is_saved_resumes_without_training_and_cleans_the_torn_file(
        tmp_path, monkeypatch, small_splits):
    """Issue 20 case 3: Keras deleted backup/ when fit ended, so a kill while saving model.keras
    retrained every epoch, and its torn temporary stayed forever."""
    run = tmp_path / "run"
    config = tiny_config()
    real = files._publish
    torn: list[Path] = []

    def die_while_saving(source: Path, target: Path) -> None:
        if Path(target).name == "model.keras":
            torn.append(Path(source))
            raise Killed  # the temporary stays, as a SIGKILL leaves it
        real(source, target)

    monkeypatch.setattr(files, "_publish", die_while_saving)
    monkeypatch.setattr(files.Path, "unlink", _unlink_except(torn))
    with pytest.raises(Killed):
        train(config, output=run, verbose=0, splits=small_splits)
    monkeypatch.undo()
    assert torn and torn[0].exists() and (run / "ae" / "backup").is_dir()
    with counting_epochs(monkeypatch) as begun:
        train(config, output=run, verbose=0, splits=small_splits)
    assert begun == [], "the finished epochs were trained again"
    assert not torn[0].exists() and not list(run.rglob(".model.keras.*"))
    assert RunFolder(run).is_finished() and not (run / "ae" / "backup").exists()


def _unlink_except(keep: list[Path]):
    real = Path.unlink

    def unlink(self, missing_ok=False):
        if self in keep:
            return
        real(self, missing_ok=missing_ok)

    return unlink


# ----------------------------------------------------------------------------- case 4: the time before a kill

def test_a_resumed_run_reports_the_time_of_every_epoch_and_no_nan(tmp_path, monkeypatch, small_splits):
    """Issue 20 case 4: killed after the last epoch, the resumed run wrote training_seconds 0.0 and
    images_per_second NaN into metrics.json, summary.json and the model card."""
    run = tmp_path / "run"
    with watching_writes(monkeypatch, run, kill_at=lambda n, name: name == "ae/sampler_gmm.npz"):
        with pytest.raises(Killed):
            train(tiny_config(), output=run, verbose=0, splits=small_splits)
    backed_up = read_json_strictly(next((run / "ae" / "backup").glob("epoch-*/state.json")))["seconds"]
    assert len(backed_up) == 2 and min(backed_up) > 0
    train(tiny_config(), output=run, verbose=0, splits=small_splits)
    metrics = read_json_strictly(run / "ae" / "metrics.json")
    assert metrics["training_seconds"] == pytest.approx(sum(backed_up), abs=0.01)
    assert metrics["images_per_second"] == pytest.approx(metrics["train_images"] / backed_up[1], rel=0.01)
    summary = read_json_strictly(run / "summary.json")["models"]["ae"]
    assert summary["training_seconds"] > 0 and summary["images_per_second"] > 0
    card = (run / "ae" / "README.md").read_text()
    assert "nan" not in card.lower() and "None" not in card


def test_an_unknown_speed_is_null_in_json_and_a_dash_in_the_table(tmp_path):
    from aezoo.training import format_comparison

    summary = {"test": {"noisy input": {"mse": 0.1, "psnr": 10.0, "ssim": 0.1}, "ae": {"mse": 0.01, "psnr": 20.0,
                                                                                      "ssim": 0.8}},
               "models": {"ae": {"parameters": 100, "training_seconds": 1.5, "images_per_second": float("nan")}},
               "test_images": 10, "dataset": "d", "noise": {"kind": "gaussian", "strength": 0.5}}
    files.write_json(tmp_path / "summary.json", summary)
    written = read_json_strictly(tmp_path / "summary.json")
    assert written["models"]["ae"]["images_per_second"] is None
    (row,) = [line for line in format_comparison(written).splitlines() if line.startswith("ae ")]
    assert row.endswith("1.5       -")


# ----------------------------------------------------------------------------- case 5: one process per run folder

def test_a_second_process_on_the_same_output_is_refused_naming_the_first(tmp_path, small_splits):
    """Issue 20 case 5: a second train.py on the run another was training "resumed" it, trained
    0 epochs and rewrote metrics.json and summary.json with zeros and NaN."""
    data = write_npz_data(small_splits, tmp_path / "data")
    args = ["--model", "ae", *("--filters", "4", "--embedding-dim", "4", "--depth", "1", "--no-batch-norm"),
            "--batch-size", "64", "--epochs", "1000", "--data-dir", data, "--no-analysis", "--output", tmp_path / "run"]
    first = launch_python("train.py", args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "run" / LOCK).exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.1)
        assert first.poll() is None, "the first process ended early"
        second = run_python("train.py", args, cwd=tmp_path)
        line = assert_usage_error(second.returncode, second.stderr, f"(PID {first.pid})")
        assert "is being trained by another process" in line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    # The kernel released the killed holder's lock: the same command resumes the run.
    assert not RunFolder(tmp_path / "run").is_finished()
    with RunFolder(tmp_path / "run").lock():
        pass


def test_the_lock_is_held_while_training_and_released_after(tmp_path, monkeypatch, small_splits):
    run = RunFolder(tmp_path / "run")
    seen: list[str] = []

    real = EpochTimer.on_epoch_begin

    def try_to_lock(self, epoch, logs=None):
        real(self, epoch, logs)
        with pytest.raises(UsageError, match=rf"being trained by another process \(PID {os.getpid()}\)"):
            with run.lock():
                pass
        seen.append(run.path.joinpath(LOCK).read_text().strip())

    monkeypatch.setattr(EpochTimer, "on_epoch_begin", try_to_lock)
    train(tiny_config(epochs=1), output=run.path, verbose=0, splits=small_splits)
    assert seen == [str(os.getpid())]
    assert not (run.path / LOCK).exists()
    with run.lock():  # released, also after an error
        pass


# ----------------------------------------------------------------------------- case 7: the backup's settings

@pytest.mark.parametrize("edit, message", [
    ({"hyperparameters": dict(TINY_HYPERPARAMETERS, embedding_dim=6)}, "'embedding_dim': 4"),
    ({"epochs": 3}, "epochs 2 -> 3"),
], ids=["embedding_dim", "epochs"])
@pytest.mark.parametrize("stage", ["backed up", "trained"])
def test_an_edited_config_with_matching_flags_is_refused_not_resumed(tmp_path, monkeypatch, small_splits, edit,
                                                                   message, stage):
    """Issue 20 case 7: config.json edited (and the flags to match): embedding_dim gave a Keras
    ValueError traceback, epochs a model trained on the other run's learning-rate schedule."""
    run = tmp_path / "run"
    config = tiny_config(models=("ae", "unet"))
    stop = "ae/sampler_gmm.npz" if stage == "backed up" else "unet/backup/epoch-0001"
    with watching_writes(monkeypatch, run, kill_at=lambda n, name: name == stop):
        with pytest.raises(Killed):
            train(config, output=run, verbose=0, splits=small_splits)
    edited = tiny_config(models=("ae", "unet"), **edit)
    RunFolder(run).write_config(edited.to_json())
    before = {name: (run / name).stat().st_mtime_ns for name in file_names(run)}
    with pytest.raises(UsageError, match=rf"its ae model was {stage} with other settings .*{message}") as refused:
        train(edited, output=run, verbose=0, splits=small_splits)
    assert "\n" not in str(refused.value)
    assert {name: (run / name).stat().st_mtime_ns for name in file_names(run)} == before, "nothing was written"


def test_a_backup_of_other_settings_is_refused_by_the_callback_too(tmp_path, monkeypatch, small_splits):
    """The same check where the weights are loaded, in case config.json and the records agree."""
    from aezoo.callbacks.atomic_backup import BackupMismatch, TrainingBackup
    from aezoo.training import build_compiled_model, settings_of

    run = tmp_path / "run"
    with watching_writes(monkeypatch, run, kill_at=lambda n, name: name == "ae/sampler_gmm.npz"):
        with pytest.raises(Killed):
            train(tiny_config(), output=run, verbose=0, splits=small_splits)
    other = tiny_config(hyperparameters=dict(TINY_HYPERPARAMETERS, embedding_dim=6))
    model = build_compiled_model("ae", other, 128)
    with pytest.raises(BackupMismatch, match="made with other settings"):
        TrainingBackup(run / "ae" / "backup", settings_of(other)).restore(model)
    with pytest.raises(BackupMismatch, match="weights do not fit this model"):
        TrainingBackup(run / "ae" / "backup", None).restore(model)
    same = build_compiled_model("ae", tiny_config(), 128)
    assert TrainingBackup(run / "ae" / "backup", settings_of(tiny_config())).restore(same) == 2
    assert int(same.optimizer.iterations.numpy()) == 2 * 2  # two epochs of two steps: the schedule goes on


# ----------------------------------------------------------------------------- config.json problems

@pytest.mark.parametrize("damage, message", [
    (lambda path: path.write_text("{not json"), "its config.json is not valid JSON"),
    (lambda path: path.write_text("[1, 2]"), "holds a JSON list, not an object"),
    (lambda path: path.unlink(), r"its config.json is missing, deleted perhaps, though it holds model folder\(s\) ae"),
], ids=["corrupt", "not an object", "deleted"])
def test_a_damaged_config_json_is_named_not_called_a_foreign_folder(tmp_path, monkeypatch, small_splits, damage,
                                                                     message):
    run = tmp_path / "run"
    with watching_writes(monkeypatch, run, kill_at=lambda n, name: name == "ae/history.csv"):
        with pytest.raises(Killed):
            train(tiny_config(), output=run, verbose=0, splits=small_splits)
    damage(run / "config.json")
    with pytest.raises(UsageError, match=message) as refused:
        train(tiny_config(), output=run, verbose=0, splits=small_splits)
    assert "not an aezoo run" not in str(refused.value)


# ----------------------------------------------------------------------------- a real SIGKILL

@pytest.mark.slow
def test_sigkill_while_saving_after_the_last_epoch_resumes_without_training(tmp_path, small_splits):
    """A real SIGKILL (no clean-up at all) just after the last epoch's backup, then the same command."""
    data = write_npz_data(small_splits, tmp_path / "data")
    code = ("import os, signal, sys\n"
            "from pathlib import Path\n"
            "from aezoo import files\n"
            "real = files._publish\n"
            "def publish(source, target):\n"
            "    if Path(target).name == 'model.keras':\n"
            "        os.kill(os.getpid(), signal.SIGKILL)\n"
            "    real(source, target)\n"
            "files._publish = publish\n"
            "from aezoo.commands import run_command\n"
            "sys.exit(run_command('train', sys.argv[1:]))\n")
    args = ["--model", "ae", *("--filters", "4", "--embedding-dim", "4", "--depth", "1", "--no-batch-norm"),
            "--batch-size", "64", "--epochs", "3", "--data-dir", data, "--no-analysis", "--output", tmp_path / "run"]
    killed = run_python("-c", [code, *map(str, args)], cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert list((tmp_path / "run" / "ae").glob(".model.keras.*.keras")), "the torn temporary a kill leaves"
    resumed = run_python("train.py", args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "ae: resuming after epoch 3 of 3" in resumed.stderr
    assert not list((tmp_path / "run").rglob(".model.keras.*"))
    metrics = read_json_strictly(tmp_path / "run" / "ae" / "metrics.json")
    assert metrics["training_seconds"] > 0 and metrics["images_per_second"] > 0
    assert np.isfinite(metrics["test"]["psnr"])


def test_the_analysis_names_a_deleted_config_json(tiny_run, tmp_path):
    from aezoo.analysis.embeddings import check_run_dir

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "config.json").unlink()
    with pytest.raises(UsageError, match=r"config.json is missing, deleted perhaps, though it holds model folder"
                                         r"\(s\) ae, vae"):
        check_run_dir(run)


def test_the_backup_uses_only_public_keras_names():
    """setup.cfg allows any Keras 3: the backup reads and sets no private attribute of Keras objects
    (the callback it replaced overrode BackupAndRestore._save_model and read its private paths)."""
    import ast
    import inspect

    from aezoo.callbacks import atomic_backup

    tree = ast.parse(inspect.getsource(atomic_backup))
    private = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
               and node.attr.startswith("_") and not node.attr.startswith("__")
               and not (isinstance(node.value, ast.Name) and node.value.id == "self")]
    assert private == []
    bases = [ast.unparse(base) for node in ast.walk(tree) if isinstance(node, ast.ClassDef) for base in node.bases]
    assert "keras.callbacks.BackupAndRestore" not in bases
