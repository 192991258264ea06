"""Helpers shared by the test files: usage-error checks, free ports, subprocesses, CSV files, tiny data, one SGD step.

Plain functions, not fixtures, so a test reads top to bottom. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# TensorFlow's C++ start-up lines (absl, oneDNN, CPU features) reach stderr before aezoo can
# silence them; they are not aezoo's output.
TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl|To enable the following instructions)")

# Tiny settings for the command line: the smallest real architecture, no analysis.
TINY_TRAIN_FLAGS = ("--filters", "4", "--embedding-dim", "4", "--depth", "1", "--no-batch-norm")


def stderr_lines(text: str) -> list[str]:
    """The non-empty lines of ``text`` that are not TensorFlow's start-up chatter."""
    return [line for line in text.splitlines() if line.strip() and not TF_LOG_LINE.match(line)]


def snapshot(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative path -> size); empty if it does not exist."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_usage_error(status: int, stderr: str, message: str = "", *, absent: Iterable[Path] = (),
                       unchanged: Mapping[Path, dict[str, int]] | None = None) -> str:
    """The contract for a user mistake: exit status 2, one line on stderr, no traceback, nothing written.

    Args:
        status: the command's exit status.
        stderr: what it wrote to stderr (TensorFlow's start-up lines are ignored).
        message: text the one line must contain.
        absent: paths that must not exist afterwards (outputs the command would have made).
        unchanged: ``{folder: snapshot(folder) taken before}`` for folders that must be untouched.

    Returns the line, for further checks.
    """
    lines = stderr_lines(stderr)
    assert status == 2, f"exit status {status}, expected 2; stderr: {stderr[-2000:]}"
    assert "Traceback" not in stderr, stderr[-2000:]
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    assert message in lines[0], f"{message!r} not in {lines[0]!r}"
    for path in absent:
        assert not Path(path).exists(), f"{path} was written"
    for folder, before in (unchanged or {}).items():
        assert snapshot(Path(folder)) == before, f"{folder} changed"
    return lines[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# For checks that a file serves without aezoo: no checkout on the path, TensorFlow silent.
WITHOUT_AEZOO_ENV = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}


def subprocess_env(*, quiet: bool = True, **extra: str) -> dict[str, str]:
    """The environment for a child Python: this checkout first on the path, then ``extra``.

    ``quiet`` silences TensorFlow's C++ logging; ``quiet=False`` removes every log-level setting
    instead, so the child starts as from a user's shell (for tests of aezoo's own quietness).
    """
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    if quiet:
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    else:
        for name in ("TF_CPP_MIN_LOG_LEVEL", "AEZOO_VERBOSE"):
            env.pop(name, None)
    return {**env, **extra}


def python_command(target: str | Path, args: Sequence[str | Path] = ()) -> list[str]:
    """``python train.py ARGS`` for a root script name, ``python -m aezoo ARGS`` for ``"-m aezoo"``,
    ``python -c CODE`` for ``"-c"`` with ``args=[CODE]``, ``python FILE ARGS`` for any other path."""
    if str(target).startswith("-m "):
        head = ["-m", str(target)[3:]]
    elif target in ("train.py", "tune.py"):
        head = [str(REPO / str(target))]
    else:
        head = [str(target)]
    return [sys.executable, *head, *map(str, args)]


def run_python(target: str | Path, args: Sequence[str | Path] = (), cwd: Path | None = None,
               timeout: float = 600, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a child Python to the end (see :func:`python_command`), capturing text output."""
    return subprocess.run(python_command(target, args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(env) if env is not None else subprocess_env())


def launch_python(target: str | Path, args: Sequence[str | Path] = (), cwd: Path | None = None,
                  env: Mapping[str, str] | None = None, **popen: Any) -> subprocess.Popen:
    """Start a child Python without waiting (see :func:`python_command`); ``popen`` goes to ``Popen``."""
    return subprocess.Popen(python_command(target, args), cwd=cwd,
                            env=dict(env) if env is not None else subprocess_env(), **popen)


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header line, as strings."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def read_numeric_csv(path: Path) -> list[dict[str, float]]:
    """The rows of a CSV file whose cells are all numbers (e.g. history.csv)."""
    return [{key: float(value) for key, value in row.items()} for row in read_csv(path)]


def write_npz_data(splits: Any, folder: Path) -> Path:
    """Write ``splits`` as ``folder/mnist.npz``, so the command line can train on them with --data-dir."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz", x_train=splits.train_images, y_train=splits.train_labels,
             x_test=splits.test_images, y_test=splits.test_labels)
    return folder


def sgd_step_error(model: Any, data: tuple[Any, Any], before: Sequence[np.ndarray], gradients: Sequence[Any],
                   learning_rate: float) -> float:
    """Take one step of ``model.fit`` on the batch ``data`` (its optimizer plain SGD at ``learning_rate``)
    and return how far it moved the trainable weights from ``before - learning_rate * gradients``,
    relative to the length of that expected step: the guard that a step descends the loss a test
    wrote from scratch (``gradients``: that loss's, one per trainable weight, at ``before``).
    """
    import tensorflow as tf  # here, not at the top: the other helpers stay TensorFlow-free

    start = np.concatenate([np.ravel(w) for w in before])
    wanted = np.concatenate([(-learning_rate * np.asarray(g)).ravel() for g in gradients])
    assert np.linalg.norm(wanted) > 0, "the expected step is zero: the loss does not reach the weights"
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0, shuffle=False)  # one step
    step = np.concatenate([np.ravel(w.numpy()) for w in model.trainable_weights]) - start
    return float(np.linalg.norm(step - wanted) / np.linalg.norm(wanted))
