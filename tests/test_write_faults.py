"""One write path (issue 20): every file a command writes goes through aezoo.files, and a write that
fails there (full disk, read-only mount, a path through a file, a link loop, no permission, a
name in the way) ends the command with one line naming the path and exit status 2, leaving
nothing partial. Plus the smaller holes of the issue, command by command.

The failures are injected where aezoo.files publishes a write (``files._publish``), at each
write of each command in turn: the fast suite gives every write one of the six errors in turn
(every error reaches several writes), the slow test every error at every write.
"""

from __future__ import annotations

import builtins
import dataclasses
import errno
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from aezoo import files
from aezoo.commands import main
from aezoo.datasets.idx import write_idx
from tests.fixtures import subset
from tests.helpers import TINY_TRAIN_FLAGS, assert_usage_error, snapshot, write_npz_data

ERRORS = {errno.ENOSPC: "no space left on its disk", errno.EROFS: "read-only file system",
          errno.ENOTDIR: "not a folder", errno.EEXIST: "in the way", errno.ELOOP: "symbolic link",
          errno.EACCES: "permission denied"}


@dataclasses.dataclass
class Command:
    """A command line with ``{out}`` for its output; ``partial``: whether a failed run may leave files."""

    name: str
    argv: Callable[[Path, Path], list[str]]  # (data folder, output) -> argv
    output: str  # the output's name under a fresh folder
    partial: bool = False


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, tiny_splits) -> Path:
    """Inputs for every command: images, an array, an IDX file, training data, a run to analyse."""
    folder = tmp_path_factory.mktemp("inputs")
    pngs = folder / "pngs"
    pngs.mkdir()
    for i in range(3):
        Image.fromarray(tiny_splits.test_images[i]).save(pngs / f"{i}.png")
    np.save(folder / "a.npy", tiny_splits.test_images[:5].astype(np.float32) / 255)
    write_idx(folder / "t10k-images-idx3-ubyte", tiny_splits.test_images[5:7])
    write_npz_data(subset(tiny_splits, 128, 32), folder / "train")
    return folder


def commands(tiny_run: Path) -> list[Command]:
    train = ["train", "--model", "ae", *TINY_TRAIN_FLAGS, "--epochs", "1", "--batch-size", "64", "--no-analysis"]
    return [
        Command("train", lambda data, out: [*train, "--data-dir", str(data / "train"), "--output", str(out)], "run",
                partial=True),  # an interrupted run stays, INCOMPLETE, for the same command to resume
        Command("analyze", lambda data, out: ["analyze", str(out), "--images", "32", "--no-generation"], "run",
                partial=True),  # the analysis rewrites a copy of the tiny run
        Command("denoise", lambda data, out: ["denoise", str(tiny_run), str(data / "pngs"), str(data / "a.npy"),
                                              str(data / "t10k-images-idx3-ubyte"), "-o", str(out)], "denoised"),
        Command("encode", lambda data, out: ["encode", str(tiny_run), str(data / "a.npy"), "-o", str(out)], "e.npy"),
        Command("sample", lambda data, out: ["sample", str(tiny_run), "--n", "4", "-o", str(out)], "s.png"),
        Command("sample-npy", lambda data, out: ["sample", str(tiny_run), "--n", "4", "-o", str(out)], "s.npy"),
        Command("export", lambda data, out: ["export", str(tiny_run), "-f", "onnx", "-o", str(out)], "onnx"),
        Command("export-keras", lambda data, out: ["export", str(tiny_run / "ae" / "model.keras"), "-f", "onnx",
                                                   "-o", str(out)], "onnx"),
    ]


def prepare(command: Command, tiny_run: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    out = folder / command.output
    if command.name == "analyze":
        shutil.copytree(tiny_run, out)
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = main(argv)
    return status, capsys.readouterr().err


def count_writes(monkeypatch: pytest.MonkeyPatch, command: Command, tiny_run: Path, data: Path, folder: Path,
                 capsys: pytest.CaptureFixture[str]) -> int:
    calls: list[Path] = []
    real = files._publish

    def publish(source: Path, target: Path) -> None:
        calls.append(Path(target))
        real(source, target)

    monkeypatch.setattr(files, "_publish", publish)
    status, err = run(command.argv(data, prepare(command, tiny_run, folder)), capsys)
    monkeypatch.setattr(files, "_publish", real)
    assert status == 0, err[-2000:]
    return len(calls)


def fail_at(monkeypatch: pytest.MonkeyPatch, index: int, code: int) -> None:
    real = files._publish
    calls = [0]

    def publish(source: Path, target: Path) -> None:
        calls[0] += 1
        if calls[0] == index + 1:
            raise OSError(code, os.strerror(code), str(target))
        real(source, target)

    monkeypatch.setattr(files, "_publish", publish)


def check_failure(command: Command, status: int, err: str, folder: Path, out: Path, code: int, where: str) -> None:
    line = assert_usage_error(status, err, "cannot write ")
    assert ERRORS[code] in line, (where, line)
    leftovers = [p for p in folder.rglob("*") if any(files.is_temporary(part) for part in p.relative_to(folder).parts)]
    assert not leftovers, (where, leftovers)
    if not command.partial:
        assert not out.exists(), (where, snapshot(out) if out.is_dir() else out)


def sweep(command: Command, tiny_run: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str], every_error_everywhere: bool) -> int:
    writes = count_writes(monkeypatch, command, tiny_run, data, tmp_path / "reference", capsys)
    assert writes > 0
    cases = [(index, code) for index in range(writes) for code in ERRORS] if every_error_everywhere or writes < 6 \
        else [(index, list(ERRORS)[index % len(ERRORS)]) for index in range(writes)]
    for index, code in cases:
        folder = tmp_path / f"w{index}-{code}"
        out = prepare(command, tiny_run, folder)
        fail_at(monkeypatch, index, code)
        status, err = run(command.argv(data, out), capsys)
        monkeypatch.undo()
        check_failure(command, status, err, folder, out, code, f"{command.name}: write {index}, {errno.errorcode[code]}")
    return writes


@pytest.mark.parametrize("name", ["train", "analyze", "denoise", "encode", "sample", "sample-npy", "export",
                                  "export-keras"])
def test_a_failed_write_anywhere_is_one_line_and_leaves_nothing_partial(name, tiny_run, data, tmp_path, monkeypatch,
                                                                        capsys):
    (command,) = [c for c in commands(tiny_run) if c.name == name]
    sweep(command, tiny_run, data, tmp_path, monkeypatch, capsys, every_error_everywhere=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train", "analyze", "denoise", "encode", "sample", "sample-npy", "export",
                                  "export-keras"])
def test_every_error_at_every_write_of_every_command(name, tiny_run, data, tmp_path, monkeypatch, capsys):
    (command,) = [c for c in commands(tiny_run) if c.name == name]
    sweep(command, tiny_run, data, tmp_path, monkeypatch, capsys, every_error_everywhere=True)


# ----------------------------------------------------------------------------- every write goes through aezoo.files

@pytest.mark.parametrize("name", ["train", "analyze", "denoise", "encode", "sample", "sample-npy", "export"])
def test_every_file_a_command_writes_goes_through_a_temporary(name, tiny_run, data, tmp_path, monkeypatch, capsys):
    """A file opened for writing in the output, under its own name, would be a torn file after a
    kill and a partial one after a full disk: every write goes to a temporary that aezoo.files
    publishes. (Python-level opens; TensorFlow's and HDF5's own writes land in temporary folders.)"""
    (command,) = [c for c in commands(tiny_run) if c.name == name]
    folder = tmp_path / "out"
    out = prepare(command, tiny_run, folder)
    direct: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def watch(path: object, writing: bool) -> None:
        if not writing or not isinstance(path, (str, os.PathLike)):
            return
        path = Path(os.fsdecode(path)).absolute()
        if folder in path.parents and not any(files.is_temporary(p) for p in path.relative_to(folder).parts):
            direct.append(str(path.relative_to(folder)))

    def watched_open(file, mode="r", *args, **kwargs):
        watch(file, any(flag in mode for flag in "wax+"))
        return real_open(file, mode, *args, **kwargs)

    def watched_os_open(path, flags, *args, **kwargs):
        watch(path, bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)) and Path(path).name != ".lock")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watched_open)
    monkeypatch.setattr(io, "open", watched_open)
    monkeypatch.setattr(os, "open", watched_os_open)
    status, err = run(command.argv(data, out), capsys)
    monkeypatch.undo()
    assert status == 0, err[-2000:]
    assert direct == [], f"{name} wrote these in place: {direct}"


# ----------------------------------------------------------------------------- output paths, for every command

@pytest.mark.parametrize("case", ["dangling link", "link loop", "under a file", "read-only"])
@pytest.mark.parametrize("name", ["train", "denoise", "encode", "sample", "export"])
def test_a_bad_output_path_is_refused_before_any_work(name, case, tiny_run, data, tmp_path, monkeypatch, capsys):
    """Issue 20 case 9: tracebacks (FileExistsError, RuntimeError, OSError 30, NotADirectoryError
    after the whole ONNX conversion) where one line belongs."""
    import aezoo.commands.images
    import aezoo.inference
    import aezoo.runtimes

    (command,) = [c for c in commands(tiny_run) if c.name == name]
    (tmp_path / "file").write_text("x")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
    os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
    base = {"dangling link": tmp_path / "dangling", "link loop": tmp_path / "loop-a",
            "under a file": tmp_path / "file" / "sub", "read-only": tmp_path / "ro"}[case]
    out = base if command.output in ("run", "denoised", "onnx") else base / command.output
    if case == "read-only":
        real_mkstemp = files.tempfile.mkstemp

        def read_only(*args, dir=None, **kwargs):
            if dir is not None and Path(dir).is_relative_to(tmp_path):
                raise OSError(errno.EROFS, "Read-only file system")
            return real_mkstemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(files.tempfile, "mkstemp", read_only)

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the output was checked")

    for module, function in [(aezoo.commands.images, "load"), (aezoo.inference, "load_keras_model"),
                             (aezoo.runtimes, "locate_model"), ("aezoo.training.prepare_splits", None)]:
        if function is None:
            monkeypatch.setattr(module, no_work)
        else:
            monkeypatch.setattr(module, function, no_work)
    status, err = run(command.argv(data, out), capsys)
    message = {"dangling link": "is a symbolic link to", "link loop": "points back to itself",
               "under a file": "is a file, not a folder", "read-only": "(Read-only file system)"}[case]
    assert_usage_error(status, err, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "file", "loop-a", "loop-b"]


# ----------------------------------------------------------------------------- denoise

def test_denoise_refuses_the_input_folder_as_its_output(tiny_run, data, tmp_path, capsys):
    """Issue 20 case 10: docs/inference.md says it refuses; it wrote into the input folder."""
    shutil.copytree(data / "pngs", tmp_path / "pngs")
    before = snapshot(tmp_path / "pngs")
    for out in (tmp_path / "pngs", tmp_path / "pngs" / "results"):
        status, err = run(["denoise", str(tiny_run), str(tmp_path / "pngs"), "-o", str(out)], capsys)
        assert_usage_error(status, err, "the input folder", unchanged={tmp_path / "pngs": before})


def test_denoise_leaves_no_output_folder_when_every_input_was_refused(tiny_run, tmp_path, capsys):
    bad = np.full((3, 28, 28), 7.0, np.float32)  # out of range: refused when read, after the model loads
    np.save(tmp_path / "bad.npy", bad)
    status, err = run(["denoise", str(tiny_run), str(tmp_path / "bad.npy"), "-o", str(tmp_path / "out")], capsys)
    assert status == 2 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_full_disk_halfway_through_a_folder_leaves_no_result(tiny_run, data, tmp_path, monkeypatch, capsys):
    """Issue 20 case 8: a full disk left 14 of 300 PNGs behind, and a traceback."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "earlier.txt").write_text("a user's file")
    fail_at(monkeypatch, 2, errno.ENOSPC)
    status, err = run(["denoise", str(tiny_run), str(data / "pngs"), "-o", str(tmp_path / "out")], capsys)
    line = assert_usage_error(status, err, f"cannot write {tmp_path / 'out' / 'pngs'}")
    assert "no space left on its disk" in line and ".aezoo-staging" not in line
    assert snapshot(tmp_path / "out") == {"earlier.txt": 13}


# ----------------------------------------------------------------------------- export

def test_export_refuses_a_file_name_for_its_folder(tiny_run, tmp_path, capsys):
    """Issue 20: ``--output x.onnx`` made a folder called x.onnx holding three files."""
    for name in ("x.onnx", "x.tflite"):
        status, err = run(["export", str(tiny_run), "-f", "onnx", "-o", str(tmp_path / name)], capsys)
        assert_usage_error(status, err, "the export is a folder", absent=[tmp_path / name])


def test_re_export_never_deletes_a_users_file(tiny_run, tmp_path, capsys):
    """Issue 20 case 6: re-exporting into an earlier export folder deleted a file put there."""
    out = tmp_path / "onnx"
    assert run(["export", str(tiny_run), "-f", "onnx", "-o", str(out)], capsys)[0] == 0
    assert run(["export", str(tiny_run), "-f", "onnx", "-o", str(out)], capsys)[0] == 0  # aezoo's files only
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    status, err = run(["export", str(tiny_run), "-f", "onnx", "-o", str(out)], capsys)
    assert_usage_error(status, err, "holds an earlier export and other files (notes.txt)", unchanged={out: before})


# ----------------------------------------------------------------------------- sample: the one loader

def test_sample_refuses_a_keras_file_without_config_json_like_denoise(tiny_run, data, tmp_path, capsys):
    """Issue 20 case 13: sample raised KeyError where denoise refused the same file in one line."""
    broken = tmp_path / "ae" / "model.keras"
    broken.parent.mkdir()
    with zipfile.ZipFile(tiny_run / "ae" / "model.keras") as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.namelist():
            if item != "config.json":
                target.writestr(item, source.read(item))
    lines = []
    for argv in (["sample", str(broken), "-o", str(tmp_path / "s.png")],
                 ["denoise", str(broken), str(data / "a.npy"), "-o", str(tmp_path / "d")],
                 ["encode", str(broken), str(data / "a.npy"), "-o", str(tmp_path / "e.npy")],
                 ["export", str(broken), "-f", "onnx", "-o", str(tmp_path / "x")]):
        status, err = run(argv, capsys)
        lines.append(assert_usage_error(status, err, f"{broken}: not a readable .keras file"))
    assert len({line.partition("error: ")[2] for line in lines}) == 1, lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae"]


def test_commands_and_the_analysis_load_keras_models_through_one_function():
    """Every place that loads a run's model.keras calls aezoo.inference.load_keras_model."""
    import ast

    from tests.helpers import REPO

    calls = []
    library = [path for path in (REPO / "aezoo").rglob("*.py") if not path.name.startswith("test_")]  # not the
    for path in library:                                                                 # family folders' tests
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "keras.saving.load_model":
                calls.append(path.relative_to(REPO).as_posix())
    # The one loader; the recovery of a diverged run from its own checkpoint; the networks of the
    # samplers that learn one (the VQ-VAE's PixelCNN prior), loaded by their shared base class, and
    # the analysis's digit classifier, which are not aezoo model families.
    assert sorted(calls) == ["aezoo/evaluation/classifier.py", "aezoo/inference.py", "aezoo/samplers/base.py",
                             "aezoo/training.py"]


def test_tensorflows_own_error_for_a_full_disk_becomes_one_line(tmp_path, monkeypatch):
    """SavedModel files are written by TensorFlow's C++ file system, which reports a full disk as a
    ResourceExhaustedError, not an OSError."""
    import keras
    import tensorflow as tf

    from aezoo.export import export_saved_model
    from aezoo.families import build
    from tests.fixtures import TINY_HYPERPARAMETERS

    model = build("ae", **TINY_HYPERPARAMETERS)
    model.build()

    def full(self, *args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "saved_model.pb; No space left on device")

    archive = type(keras.export.ExportArchive())  # the backend's own class, which writes
    monkeypatch.setattr(archive, "write_out", full)
    with pytest.raises(files.WriteError, match=rf"^cannot write {tmp_path / 'saved_model'}: no space left on its disk"):
        export_saved_model(model, tmp_path / "saved_model")
    assert list(tmp_path.iterdir()) == []

    def out_of_memory(self, *args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr(archive, "write_out", out_of_memory)
    with pytest.raises(tf.errors.ResourceExhaustedError):  # memory, not the disk: not the user's path
        export_saved_model(model, tmp_path / "saved_model")
