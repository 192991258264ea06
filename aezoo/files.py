"""Atomic file writes: a kill at any moment leaves the old file or the new one, never a torn one.

Every artifact aezoo writes (JSON, CSV, pictures, HTML, models) goes through these helpers: the
content is written to a temporary file in the same folder and then renamed over the target, which
POSIX guarantees to be atomic on one file system. The temporary files and folders are created
with the modes an ordinary ``open()`` or ``mkdir()`` asks for (0o666, 0o777), and the kernel
applies the process's umask to them, so results get the permissions the user expects without
aezoo ever reading or changing the umask.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import secrets
from pathlib import Path
from typing import Any, Callable, Iterator

_ATTEMPTS = 100  # random names to try before giving up (a clash is already very unlikely)


def _temporary_name(target: Path, suffix: str) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")


def _create_temporary_file(target: Path, suffix: str) -> Path:
    """An empty new file beside ``target``, mode 0o666 minus the umask (``tempfile`` would give 0o600)."""
    for _ in range(_ATTEMPTS):
        path = _temporary_name(target, suffix)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def _create_temporary_directory(target: Path) -> Path:
    """A new empty folder beside ``target``, mode 0o777 minus the umask (``tempfile`` would give 0o700)."""
    for _ in range(_ATTEMPTS):
        path = _temporary_name(target, "")
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    ``suffix`` defaults to the target's own suffix, because some writers (Keras ``model.save``,
    matplotlib ``savefig``) choose the format from the file name. On error the temporary file is
    removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary_file(target, target.suffix if suffix is None else suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``.

    Used for SavedModel folders. Replacing a folder is two renames (old out of the way, new in);
    a kill between them leaves the previous version under ``.<name>.old`` rather than a torn one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary_directory(target)
    old = target.with_name(f".{target.name}.old")
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], object]) -> None:
    """Call ``writer(tmp_path)`` (e.g. ``figure.savefig`` or ``model.save``) and publish atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays appear in metrics; JSON knows neither.
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot write {type(value).__name__} to JSON: {value!r}")
