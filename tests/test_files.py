"""Atomic writes: the target is whole or untouched, and has ordinary permissions."""

from __future__ import annotations

import os

import pytest

from aezoo import files
from tests.helpers import run_python


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
