"""Atomic file writes: a kill at any moment leaves the old file or the new one, never a torn one.

Every artifact aezoo writes (JSON, CSV, pictures, HTML, models) goes through these helpers: the
content is written to a temporary file in the same folder and then renamed over the target, which
POSIX guarantees to be atomic on one file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)  # reading the umask means setting it; put it straight back


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    ``suffix`` defaults to the target's own suffix, because some writers (Keras ``model.save``,
    matplotlib ``savefig``) choose the format from the file name. On error the temporary file is
    removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix if suffix is None else suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates the file owner-only (0600); give it the mode an ordinary open() would.
    os.chmod(tmp, 0o666 & ~_UMASK)
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp's folder is owner-only
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
