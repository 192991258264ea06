"""Atomic writes: the target is whole or untouched, and has ordinary permissions."""

from __future__ import annotations

import errno
import json
import os
import re

import numpy as np
import pytest

from aezoo import files
from aezoo.errors import UsageError
from tests.helpers import run_python, snapshot


def test_write_json_replaces_the_file_whole(tmp_path):
    target = tmp_path / "a" / "metrics.json"
    files.write_json(target, {"psnr": 17.5})
    files.write_json(target, {"psnr": 18.0})
    assert target.read_text() == '{\n  "psnr": 18.0\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")

    def crash(path):
        path.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        files.write_with(target, crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        files.write_text(tmp_path / "report.html", "<html></html>")
        with files.atomic_directory(tmp_path / "saved_model") as folder:
            (folder / "x").write_text("1")
    finally:
        os.umask(previous)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "saved_model").stat().st_mode & 0o777 == 0o777 & ~umask


def test_importing_files_never_touches_the_umask():
    # Even a set-and-restore is a change: another thread creating a file in between gets mode 0o666.
    code = ("import os; calls = []; real = os.umask\n"
            "os.umask = lambda mask: calls.append(mask) or real(mask)\n"
            "import aezoo.files; print(calls)")
    result = run_python("-c", [code])
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]


# ----------------------------------------------------------------------------- atomic replacement

def test_a_replacement_is_a_new_file_and_a_reader_of_the_old_one_keeps_reading_it(tmp_path):
    """Written in place, a reader that opened the old file would see the new bytes, or half of them."""
    target = tmp_path / "summary.json"
    files.write_json(target, {"run": "old", "padding": "x" * 200_000})
    old_inode = target.stat().st_ino
    with target.open() as reader:
        head = reader.read(10)
        files.write_json(target, {"run": "new"})
        rest = reader.read()
    assert json.loads(head + rest) == {"run": "old", "padding": "x" * 200_000}
    assert target.stat().st_ino != old_inode
    assert json.loads(target.read_text()) == {"run": "new"}


def test_json_holds_no_nan_an_unknown_number_is_null(tmp_path):
    """Issue 20 case 4: "images_per_second": NaN landed in metrics.json, which no JSON parser accepts."""
    target = tmp_path / "metrics.json"
    files.write_json(target, {"speed": float("nan"), "values": [1.5, float("inf"), np.float32("nan")],
                              "array": np.array([np.nan, 2.0]), "nested": {"x": -float("inf")}})
    text = target.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON")) == {
        "speed": None, "values": [1.5, None, None], "array": [None, 2.0], "nested": {"x": None}}


# ----------------------------------------------------------------------------- write errors

@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, "no space left on its disk"), (errno.EROFS, "read-only file system"),
    (errno.EACCES, "permission denied"), (errno.ENOTDIR, "not a folder"),
    (errno.ELOOP, "symbolic link"), (errno.EEXIST, "in the way"),
])
@pytest.mark.parametrize("write", ["write_json", "write_with", "atomic_directory"])
def test_a_failed_write_is_one_line_naming_the_target_and_leaves_nothing(tmp_path, monkeypatch, code, words, write):
    target = tmp_path / "out" / ("saved_model" if write == "atomic_directory" else "metrics.json")

    def fail(source, destination):
        raise OSError(code, os.strerror(code), str(destination))

    monkeypatch.setattr(files, "_publish", fail)
    with pytest.raises(files.WriteError) as refused:
        if write == "write_json":
            files.write_json(target, {"a": 1})
        elif write == "write_with":
            files.write_with(target, lambda tmp: tmp.write_bytes(b"x" * 3000))
        else:
            with files.atomic_directory(target) as folder:
                (folder / "saved_model.pb").write_bytes(b"x" * 3000)
    message = str(refused.value)
    assert isinstance(refused.value, UsageError) and refused.value.errno == code
    assert message.startswith(f"cannot write {target}: ") and words in message and "\n" not in message
    if code == errno.ENOSPC:
        size = "13 B" if write == "write_json" else "3.0 kB"
        assert re.search(rf"\(\d[\d.]* [kMG]?B free, and it needed more than {size}\)", message), message
    assert list((tmp_path / "out").iterdir()) == []


def test_errors_that_are_not_about_the_place_written_keep_their_type(tmp_path):
    def crash(path):
        raise OSError(errno.EBADF, "bad file descriptor")

    with pytest.raises(OSError) as raised:
        files.write_with(tmp_path / "x.bin", crash)
    assert not isinstance(raised.value, files.WriteError)


def test_h5py_and_tensorflow_messages_give_their_errno():
    assert files.error_number(OSError("Unable to synchronously write (file write failed: errno = 28, ...)")) == 28
    assert files.error_number(RuntimeError("... No space left on device ...")) == errno.ENOSPC
    assert files.error_number(ValueError("no number here")) is None


def test_a_full_disk_is_reported_by_the_real_file_system(tmp_path):
    """Without a tmpfs to fill (tests do not mount), /dev/full answers every write with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    try:
        with open("/dev/full", "wb") as full:
            full.write(b"x")
            full.flush()
    except OSError as error:
        message = files.describe_write_error(error, tmp_path / "model.keras", 1)
    assert message is not None and "no space left on its disk" in message


# ----------------------------------------------------------------------------- stale temporaries

def test_temporaries_a_kill_left_are_cleaned_and_a_set_aside_folder_comes_back(tmp_path):
    run = tmp_path / "run"
    (run / "ae" / ".saved_model.old").mkdir(parents=True)
    (run / "ae" / ".saved_model.old" / "saved_model.pb").write_text("previous")
    stale = [run / "ae" / ".model.keras.0a1b2c3d.keras", run / ".summary.json.deadbeef.json",
             run / "ae" / "backup" / ".epoch-0002.12345678", run / "ae" / ".INCOMPLETE.00ff00ff"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if "epoch" in path.name else path.write_text("torn")
    kept = [run / "ae" / "model.keras", run / ".user-notes", run / "ae" / "my.file.1234.txt"]
    for path in kept:
        path.write_text("keep")
    removed = files.clean_temporaries(run)
    assert sorted(removed) == sorted(stale)
    assert all(path.exists() for path in kept) and not any(path.exists() for path in stale)
    assert (run / "ae" / "saved_model" / "saved_model.pb").read_text() == "previous"


# ----------------------------------------------------------------------------- staged outputs

def test_staged_results_arrive_together_or_not_at_all(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(files.WriteError):
        with files.staged_folder(out) as stage:
            files.write_text(stage.path / "a.png", "1")
            raise files.WriteError("cannot write b.png: disk full", out / "b.png")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with files.staged_folder(out) as stage:
        pass
    assert not out.exists(), "nothing staged, nothing created"
    with files.staged_folder(out) as stage:
        files.write_text(stage.path / "sub" / "a.png", "1")
        files.write_text(stage.path / "digits" / "0.png", "new")
        stage.whole.add("digits")
    assert snapshot(out) == {"digits/0.png": 3, "sub/a.png": 1}
    (out / "mine.txt").write_text("user")
    (out / "digits" / "1.png").write_text("old")
    with files.staged_folder(out) as stage:
        files.write_text(stage.path / "sub" / "b.png", "22")
        files.write_text(stage.path / "digits" / "0.png", "newer")
        stage.whole.add("digits")
    # Files beside the results stay; a whole folder (an IDX file's PNGs) is replaced whole.
    assert snapshot(out) == {"digits/0.png": 5, "mine.txt": 4, "sub/a.png": 1, "sub/b.png": 2}


# ----------------------------------------------------------------------------- output checks

@pytest.mark.parametrize("case, folder, message", [
    ("dangling", True, "is a symbolic link to"), ("dangling", False, "is a symbolic link to"),
    ("loop", True, "points back to itself"), ("loop", False, "points back to itself"),
    ("under a file", True, "is a file, not a folder"), ("under a file", False, "is a file, not a folder"),
    ("a file", True, "exists and is not a folder"), ("a folder", False, "is a folder; give a file name"),
])
def test_bad_output_paths_are_refused_before_any_work(tmp_path, case, folder, message):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
    os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
    path = {"dangling": tmp_path / "dangling", "loop": tmp_path / "loop-a", "under a file": tmp_path / "file" / "x",
            "a file": tmp_path / "file", "a folder": tmp_path / "dir"}[case]
    with pytest.raises(UsageError, match=message) as refused:
        files.check_writable(path, f"--output {path}", folder=folder)
    assert str(refused.value).startswith(f"--output {path}: ")


def test_an_output_where_nothing_can_be_created_is_refused(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    with pytest.raises(UsageError, match=r"cannot write in .* \(Read-only file system\)"):
        files.check_writable(tmp_path / "new" / "run", "--output x")


def test_a_failed_staged_write_is_named_by_its_place_in_the_output(tmp_path, monkeypatch):
    def full(source, destination):
        raise OSError(errno.ENOSPC, "No space left on device")

    for exists in (False, True):
        out = tmp_path / f"out-{exists}"
        if exists:
            out.mkdir()
        monkeypatch.setattr(files, "_publish", full)
        with pytest.raises(files.WriteError, match=rf"^cannot write {out}/digits/7\.png: no space left"):
            with files.staged_folder(out) as stage:
                files.write_text(stage.path / "digits" / "7.png", "x")
        monkeypatch.undo()
        assert snapshot(tmp_path / f"out-{exists}") == {} and [p.name for p in tmp_path.iterdir()] == [
            f"out-{e}" for e in (False, True) if e and exists]


def test_stale_temporaries_of_an_output_are_cleaned_but_never_a_live_one(tmp_path):
    """A SIGKILL leaves a command's temporary beside its output; the next run removes it, unless
    a living process is still writing it."""
    out = tmp_path / "e.npy"
    stale = [tmp_path / ".e.npy.0a1b2c3d.npy", tmp_path / ".e.npy.deadbeef"]
    for path in stale:
        path.write_text("torn")
    (tmp_path / ".other.npy.0a1b2c3d.npy").write_text("not ours")
    (tmp_path / ".e.npy.notes").write_text("a user's")
    with files.atomic_path(out) as live:
        live.write_text("being written")
        assert sorted(files.clean_stale(out)) == sorted(stale)
        assert live.exists(), "being written by a living process (this one)"
    assert not any(path.exists() for path in stale) and out.read_text() == "being written"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".e.npy.notes", ".other.npy.0a1b2c3d.npy", "e.npy"]
    folder = tmp_path / "denoised"
    folder.mkdir()
    (folder / ".aezoo-staging.12345678").mkdir()
    old = tmp_path / ".export.old"
    old.mkdir()
    assert sorted(files.clean_stale(folder)) == [folder / ".aezoo-staging.12345678"]
    files.clean_stale(tmp_path / "export")
    assert (tmp_path / "export").is_dir() and not old.exists(), "a folder set aside by a kill comes back"
