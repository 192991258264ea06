"""Atomic file writes: a kill at any moment leaves the old file or the new one, never a torn one.

Every artifact aezoo writes (JSON, CSV, pictures, HTML, models) goes through these helpers: the
content is written to a temporary file in the same folder and then renamed over the target, which
POSIX guarantees to be atomic on one file system. The temporary files and folders are created
with the modes an ordinary ``open()`` or ``mkdir()`` asks for (0o666, 0o777), and the kernel
applies the process's umask to them, so results get the permissions the user expects without
aezoo ever reading or changing the umask.

The helpers are also the one place where a failed write becomes a message: an ``OSError`` of the
kinds a user can fix (a full disk, a read-only mount, a path through a file, a symbolic-link
loop, no permission) is raised as :class:`WriteError`, a :class:`~aezoo.errors.UsageError` whose
one line names the target and what to do; the temporary is removed first, so nothing partial is
left. Temporaries that a kill (SIGKILL, a lost machine) left behind are found again by their
names (:func:`clean_temporaries`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from aezoo.errors import UsageError

try:
    import fcntl
except ImportError:  # not POSIX: temporaries are not marked as in use
    fcntl = None  # type: ignore[assignment]

_ATTEMPTS = 100  # random names to try before giving up (a clash is already very unlikely)

# The errors of a write that say something about the place written to, not about aezoo.
WRITE_ERRNOS = frozenset({
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
    errno.EISDIR, errno.EEXIST, errno.ELOOP, errno.ENAMETOOLONG, errno.ENOENT, errno.EIO,
})
# ".<name>.<8 hex digits><the target's suffix>": what _temporary_name makes, and nothing a user names.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}(\.[A-Za-z0-9_]+)?$")
_OLD = re.compile(r"^\.(?P<name>.+)\.old$")


class WriteError(UsageError):
    """A file or folder could not be written; the message names it and says what to do."""

    def __init__(self, message: str, path: Path, code: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = code


# ----------------------------------------------------------------------------- errors

def error_number(error: BaseException) -> int | None:
    """The errno of a failed write. ``OSError`` carries it; h5py (a ``RuntimeError`` when a file
    cannot be flushed), numpy (a short write: "80000 requested and 13280 written") and
    TensorFlow (its own error types) only say it in their message."""
    if isinstance(error, UsageError):
        return getattr(error, "errno", None)
    code = getattr(error, "errno", None)
    if isinstance(code, int):
        return code
    if not isinstance(error, (OSError, RuntimeError)) and not type(error).__module__.startswith("tensorflow"):
        return None
    text = str(error)
    found = re.search(r"errno = (\d+)", text)
    if found:
        return int(found.group(1))
    for code, pattern in ((errno.ENOSPC, r"No space left on device|Not enough free space|\d+ requested and \d+ written"),
                          (errno.EROFS, "Read-only file system"), (errno.EDQUOT, "Disk quota exceeded"),
                          (errno.EACCES, "Permission denied")):
        if re.search(pattern, text):
            return code
    return None


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # unreachable; keeps type checkers content


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes an unprivileged process may still write on the file system holding ``path``."""
    try:
        stats = os.statvfs(_nearest_existing(Path(path)))
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def _size(path: Path | None) -> int:
    """Bytes under ``path`` (a file or a folder), 0 when it is gone."""
    if path is None:
        return 0
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def describe_write_error(error: BaseException, target: str | os.PathLike[str], written: int = 0,
                         size: int | None = None) -> str | None:
    """One line saying why ``target`` could not be written and what to do, or ``None`` when
    ``error`` is not a write error a user can fix. ``written``: bytes the write had reached;
    ``size``: what the whole write needs, when the writer knew it beforehand."""
    code = error_number(error)
    if code not in WRITE_ERRNOS:
        return None
    target = Path(target)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        free = free_bytes(target.parent)
        what = "disk quota exceeded" if code == errno.EDQUOT else "no space left on its disk"
        stated = re.search(r"to write (\d+) bytes", str(error))  # numpy says how much it wanted
        size = size or (int(stated.group(1)) if stated else None)
        needed = (f", and it needs {_human(size)}" if size else
                  f", and it needed more than {_human(written)}" if written else "")
        room = f" ({_human(free)} free{needed})" if free is not None else ""
        return f"cannot write {target}: {what}{room}; free some space, then re-run the same command"
    if code == errno.EROFS:
        return f"cannot write {target}: it is on a read-only file system; choose an output on a writable disk"
    if code in (errno.EACCES, errno.EPERM):
        return f"cannot write {target}: permission denied; choose an output you may write to"
    if code == errno.ENOTDIR:
        blocker = next((p for p in [target, *target.parents] if p.exists() and not p.is_dir()), None)
        where = f"{blocker} is a file, not a folder" if blocker is not None else "a part of its path is not a folder"
        return f"cannot write {target}: {where}; choose another output"
    if code == errno.ELOOP:
        return f"cannot write {target}: a symbolic link in its path points back to itself; choose another output"
    if code == errno.EEXIST:
        return f"cannot write {target}: something else is in the way there; choose another output"
    if code == errno.EISDIR:
        return f"cannot write {target}: it is a folder; give a file name"
    reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
    return f"cannot write {target}: {reason}"


def as_write_error(error: BaseException, target: str | os.PathLike[str], written: int = 0,
                   size: int | None = None) -> BaseException:
    """``error`` as a :class:`WriteError` about ``target`` when it is one a user can fix, else ``error``."""
    if isinstance(error, UsageError):  # already one line (a WriteError of a nested write, a bad input)
        return error
    message = describe_write_error(error, target, written, size)
    return error if message is None else WriteError(message, Path(target), error_number(error))


# ----------------------------------------------------------------------------- atomic writes

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
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {target}")


def _create_temporary_directory(target: Path) -> Path:
    """A new empty folder beside ``target``, mode 0o777 minus the umask (``tempfile`` would give 0o700)."""
    for _ in range(_ATTEMPTS):
        path = _temporary_name(target, "")
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {target}")


@contextlib.contextmanager
def _in_use(path: Path) -> Iterator[None]:
    """Mark a temporary as being written by this process (a shared flock, which the kernel drops
    when the process dies), so that :func:`clean_stale` never removes a live one."""
    handle = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            handle = os.open(path, os.O_RDONLY)
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    try:
        yield
    finally:
        if handle is not None:
            os.close(handle)


def _abandoned(path: Path) -> bool:
    """Whether no living process marks ``path`` as in use (see :func:`_in_use`)."""
    if fcntl is None:
        return False
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(handle)


def _publish(source: Path, target: Path) -> None:
    """The moment a write becomes visible: one rename. (Tests stop or fail writes here.)"""
    os.replace(source, target)


def make_folder(folder: str | os.PathLike[str]) -> Path:
    """``mkdir -p folder``; a failure is a :class:`WriteError` naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        converted = as_write_error(error, folder)
        if converted is error:
            raise
        raise converted from error
    return folder


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None, size: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    ``suffix`` defaults to the target's own suffix, because some writers (Keras ``model.save``,
    matplotlib ``savefig``) choose the format from the file name. On error the temporary file is
    removed and ``target`` is left untouched; a write error is raised as :class:`WriteError`.
    ``size``: the bytes the file will take, when known, for the message of a full disk.
    """
    target = Path(target)
    tmp: Path | None = None
    try:
        make_folder(target.parent)
        tmp = _create_temporary_file(target, target.suffix if suffix is None else suffix)
        with _in_use(tmp):
            yield tmp
            _publish(tmp, target)
    except Exception as error:
        converted = as_write_error(error, target, _size(tmp), size)
        if converted is error:
            raise
        raise converted from error
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``.

    Used for SavedModel folders. Replacing a folder is two renames (old out of the way, new in);
    a kill between them leaves the previous version under ``.<name>.old``, which
    :func:`clean_temporaries` puts back, rather than a torn one.
    """
    target = Path(target)
    tmp: Path | None = None
    try:
        make_folder(target.parent)
        tmp = _create_temporary_directory(target)
        with _in_use(tmp):
            yield tmp
            _replace_folder(tmp, target)
    except Exception as error:
        converted = as_write_error(error, target, _size(tmp))
        if converted is error:
            raise
        raise converted from error
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _replace_folder(source: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    _publish(source, target)
    shutil.rmtree(old, ignore_errors=True)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as JSON. JSON has no NaN or infinity: a number that is not finite is unknown,
    and written as ``null``, so every file aezoo writes parses with any JSON reader."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    write_text(target, text + "\n")


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], object], size: int | None = None) -> None:
    """Call ``writer(tmp_path)`` (e.g. ``figure.savefig`` or ``model.save``) and publish atomically."""
    with atomic_path(target, size=size) as tmp:
        writer(tmp)


@contextlib.contextmanager
def atomic_paths(*targets: str | os.PathLike[str], size: int | None = None) -> Iterator[list[Path]]:
    """Temporaries for several files that belong together (``x.npy`` and ``x.rows.txt``).

    Each is published only once every writer has finished, so a full disk while writing the
    second leaves neither (a kill between the renames can still leave the first alone).
    """
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(target, size=size)) for target in targets]


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays appear in metrics; JSON knows neither.
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _finite(value.item())
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot write {type(value).__name__} to JSON: {value!r}")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


# ----------------------------------------------------------------------------- staged outputs

class Staging:
    """A temporary folder whose content :func:`staged_folder` moves into place at the end.

    ``whole`` names (relative paths) are folders that replace their target whole; every other
    file is moved in one by one, beside what the target already holds.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.whole: set[str] = set()


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str]) -> Iterator[Staging]:
    """Write a command's many results into ``target`` all together or not at all.

    Yields a :class:`Staging` whose folder lies inside ``target`` (or beside it, when ``target``
    does not exist yet), on the same file system, so moving results in is renames that need no
    space. On an exception nothing reaches ``target``, and a ``target`` that did not exist is
    not created; nor is it when nothing was staged.
    """
    target = Path(target)
    staging: Path | None = None
    try:
        if target.is_dir():
            staging = _create_temporary_directory(target / "aezoo-staging")
        else:
            make_folder(target.parent)
            staging = _create_temporary_directory(target)
        stage = Staging(staging)
        with _in_use(staging):
            yield stage
            if any(staging.iterdir()):
                if target.is_dir():
                    _move_into(staging, target, "", stage.whole)
                else:
                    _publish(staging, target)
    except WriteError as error:
        if staging is None or not (error.path == staging or staging in error.path.parents):
            raise
        # Named as the user will look for it: the result's place in target, not the staging folder.
        place = target / error.path.relative_to(staging)
        raise WriteError(str(error).replace(str(error.path), str(place)), place, error.errno) from error
    except Exception as error:
        converted = as_write_error(error, target, _size(staging))
        if converted is error:
            raise
        raise converted from error
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _move_into(source: Path, target: Path, relative: str, whole: set[str]) -> None:
    for entry in sorted(source.iterdir()):
        name = f"{relative}{entry.name}"
        destination = target / entry.name
        try:
            if entry.is_dir() and name not in whole:
                make_folder(destination)
                _move_into(entry, destination, name + "/", whole)
            elif entry.is_dir():
                _replace_folder(entry, destination)
            else:
                _publish(entry, destination)
        except OSError as error:
            converted = as_write_error(error, destination)
            if converted is error:
                raise
            raise converted from error


# ----------------------------------------------------------------------------- checks and clean-up

def check_writable(path: str | os.PathLike[str], label: str, folder: bool = True) -> Path:
    """Refuse an output path that cannot be written, before any work is done; return it.

    ``folder``: the output is a folder (else a file). ``label`` starts the message (e.g.
    ``"--output out/z.npy"``). Refused, each in one line: a dangling symbolic link or a loop of
    them, a path below a regular file, a folder where a file belongs (or the reverse), and a
    place where no file can be created (a read-only mount, no permission). The last is tested
    the real way, a file created and removed in the nearest folder that exists, because
    permission bits do not tell (an administrator ignores them; a read-only mount does not).
    """
    path = Path(path)
    try:
        path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop, later ones OSError
        raise UsageError(f"{label}: a symbolic link in {path} points back to itself; choose another path") from None
    existing = path
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if existing.is_symlink() and not existing.exists():
        raise UsageError(f"{label}: {existing} is a symbolic link to {os.readlink(existing)}, which does not "
                         "exist; create its target or choose another path")
    if existing != path and not existing.is_dir():
        raise UsageError(f"{label}: {existing} is a file, not a folder; choose another path")
    if existing == path and folder and not path.is_dir():
        raise UsageError(f"{label}: exists and is not a folder; give a folder")
    if existing == path and not folder and path.is_dir():
        raise UsageError(f"{label}: is a folder; give a file name")
    probe_in = path if existing == path and folder else (existing if existing != path else path.parent)
    try:
        handle, probe = tempfile.mkstemp(prefix=".aezoo-write-test-", dir=probe_in)
    except OSError as error:
        raise UsageError(f"{label}: cannot write in {probe_in} ({error.strerror or error}); "
                         "choose an output you may write to") from None
    os.close(handle)
    os.unlink(probe)
    return path


def is_temporary(name: str) -> bool:
    """Whether ``name`` is one this module gives its temporaries (``.x.json.0a1b2c3d.json``)."""
    return bool(_TEMPORARY.match(name) or _OLD.match(name) or name.startswith(".aezoo-write-test-"))


def clean_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries a killed process left under ``folder``; returns what was removed.

    A folder set aside for a replacement (``.name.old``) goes back to its place when the new one
    never arrived. Only for folders aezoo owns (a run folder): names are matched by pattern.
    """
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in sorted(folder.rglob(".*"), key=lambda p: -len(p.parts)):
        old = _OLD.match(path.name)
        if old and not (path.parent / old.group("name")).exists():
            with contextlib.suppress(OSError):
                os.replace(path, path.parent / old.group("name"))
                continue
        if not is_temporary(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    return removed


def clean_stale(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of ``target`` that a killed process left (``.x.npy.0a1b2c3d.npy``
    beside it; a staging folder inside it), and no living process is writing; returns them.

    For a command's output, at its start: unlike :func:`clean_temporaries`, it touches only
    names made for this very target, in a folder that may hold anything.
    """
    target = Path(target)
    own = re.compile(rf"^\.{re.escape(target.name)}\.(?:[0-9a-f]{{8}}(?:\.[A-Za-z0-9_]+)?|old)$")
    candidates = [p for p in target.parent.glob(".*") if own.match(p.name)] if target.parent.is_dir() else []
    if target.is_dir():
        candidates += [p for p in target.glob(".aezoo-staging.*") if _TEMPORARY.match(p.name)]
    removed = []
    for path in candidates:
        if path.name.endswith(".old") and not target.exists():
            with contextlib.suppress(OSError):  # the previous version, set aside by a kill: put it back
                os.replace(path, target)
            continue
        if not _abandoned(path):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    return removed


def other_files(folder: str | os.PathLike[str], own: Iterable[str]) -> list[str]:
    """The names in ``folder`` that are neither in ``own`` nor temporaries of this module."""
    folder = Path(folder)
    own = set(own)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name not in own and not is_temporary(p.name))


__all__ = ["WRITE_ERRNOS", "Staging", "WriteError", "as_write_error", "atomic_directory", "atomic_path",
           "atomic_paths", "check_writable", "clean_stale", "clean_temporaries", "describe_write_error", "error_number",
           "free_bytes", "is_temporary", "make_folder", "other_files", "staged_folder", "write_bytes",
           "write_json", "write_text", "write_with"]
