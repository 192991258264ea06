"""The layout of a run folder, in one place: its paths, its JSON records and whether it is finished.

A run folder is the one hand-over between training, analysis, tuning and inference::

    RUN/
      config.json          the TrainConfig (what makes two runs "the same command")
      INCOMPLETE           present while training or after an interruption; removed at the end
      summary.json         baselines and every model's test scores, the sizes of the three splits
      report.html          the analysis's page
      <model>/             one per model family trained ("ae", "vae", ...)
        model.keras        the trained model (Keras format, loads with aezoo installed)
        saved_model/       SavedModel: serving_default/denoise, encode, decode (plain TensorFlow)
        metrics.json       test scores, data and split sizes, noise, seed, size, speed; written
                           last, so its presence means the model is finished
        history.csv        one row per epoch (training and validation metrics)
        loss_curves.png    the curves, redrawn during training (at most every 5 s) and at its end
        reconstructions/   epoch_NNN.png: the same validation digits, noisy / denoised / clean
        checkpoints/       best.keras (lowest validation loss so far) and best.keras.json
        backup/            epoch-NNNN/: the last finished epoch's weights, optimizer state, settings,
                           logs and timing (aezoo.callbacks.atomic_backup); deleted once the model,
                           its SavedModel and metrics.json are saved
        tensorboard/       with --tensorboard
        analysis/          the latent-space analysis's figures and latent_metrics.json
      .lock                while a process trains the run: its PID, and an OS lock (flock) that the
                           kernel releases when the process ends, however it ends

:class:`RunFolder` only names and reads things, and locks the folder; it never trains or
analyses. Every write goes through :mod:`aezoo.files`, so a kill never leaves a torn file.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from aezoo import files
from aezoo.errors import UsageError

try:
    import fcntl
except ImportError:  # not POSIX: no lock, as before
    fcntl = None  # type: ignore[assignment]

CONFIG = "config.json"
SUMMARY = "summary.json"
INCOMPLETE = "INCOMPLETE"
REPORT = "report.html"
MODEL_FILE = "model.keras"
METRICS = "metrics.json"
# Inside saved_model/, beside the graphs: which model it is (name, family, capabilities, sampler).
SAVED_MODEL_RECORD = "aezoo.json"
LOCK = ".lock"
INCOMPLETE_TEXT = "Training is running or was interrupted. Re-run the same command to resume.\n"


def read_json(path: str | os.PathLike[str]) -> Any:
    """A JSON file's content, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


class RunFolder:
    """One run folder: ``RunFolder("runs/20261125-130000").model_dir("ae") / "model.keras"``.

    Args:
        path: the folder; it need not exist yet (training creates it).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------ run-level paths and records

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def incomplete_path(self) -> Path:
        return self.path / INCOMPLETE

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    def read_config(self) -> dict[str, Any] | None:
        """``config.json`` as a dict, or ``None`` when missing or not a JSON object."""
        data = read_json(self.config_path)
        return data if isinstance(data, dict) else None

    def read_summary(self) -> dict[str, Any] | None:
        data = read_json(self.summary_path)
        return data if isinstance(data, dict) else None

    def write_config(self, config: dict[str, Any]) -> None:
        files.write_json(self.config_path, config)

    def write_summary(self, summary: dict[str, Any]) -> None:
        files.write_json(self.summary_path, summary)

    def mark_incomplete(self) -> None:
        files.write_text(self.incomplete_path, INCOMPLETE_TEXT)

    def mark_complete(self) -> None:
        self.incomplete_path.unlink(missing_ok=True)

    def config_problem(self) -> str | None:
        """What is wrong with ``config.json``, in words (``None`` when it is a readable JSON object)."""
        path = self.config_path
        if not path.exists():
            models = sorted(d.name for d in self.path.iterdir() if d.is_dir() and any(
                (d / name).exists() for name in (MODEL_FILE, METRICS, "history.csv", "backup"))) if self.path.is_dir() else []
            if models or self.incomplete_path.exists() or self.summary_path.exists():
                held = f"model folder(s) {', '.join(models)}" if models else "aezoo's records"
                return f"its config.json is missing, deleted perhaps, though it holds {held}"
            return "it has no config.json"
        try:
            data = json.loads(path.read_text())
        except OSError as error:
            return f"its config.json cannot be read ({error.strerror or error})"
        except ValueError as error:
            return f"its config.json is not valid JSON ({error})"
        if not isinstance(data, dict):
            return f"its config.json holds a JSON {type(data).__name__}, not an object of settings"
        return None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's lock while training it; another process asking is refused in one line.

        An OS file lock (``flock``) on :data:`LOCK`, which holds the holder's PID: the kernel
        releases it when the process ends, even by SIGKILL, so a crash never leaves the run locked.
        The file is removed on release. The folder must exist.

        Raises:
            UsageError: another process holds the lock; the message names its PID.
        """
        if fcntl is None:
            yield
            return
        path = self.path / LOCK
        while True:
            try:
                handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as error:
                raise files.as_write_error(error, path) from error
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(handle, 32).decode(errors="replace").strip()
                os.close(handle)
                raise UsageError(f"{self.path} is being trained by another process (PID {holder or 'unknown'}); "
                                 "wait for it to finish, or choose another --output") from None
            # A holder that finished removed the file we opened: lock the one at the path now.
            try:
                if os.fstat(handle).st_ino == os.stat(path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(handle)
        try:
            try:
                os.ftruncate(handle, 0)
                os.write(handle, f"{os.getpid()}\n".encode())
            except OSError as error:
                raise files.as_write_error(error, path) from error
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(handle)

    def is_run(self) -> bool:
        """True when the folder holds an aezoo run (its ``config.json``), finished or not."""
        return self.config_path.is_file()

    def is_incomplete(self) -> bool:
        return self.incomplete_path.exists()

    def is_finished(self) -> bool:
        """A run whose every model was trained and whose summary was written."""
        return self.is_run() and self.summary_path.is_file() and not self.is_incomplete()

    # ------------------------------------------------------------------ per-model paths and records

    def model_dir(self, name: str) -> Path:
        return self.path / name

    def model_file(self, name: str) -> Path:
        return self.model_dir(name) / MODEL_FILE

    def saved_model_dir(self, name: str) -> Path:
        return self.model_dir(name) / "saved_model"

    def metrics_path(self, name: str) -> Path:
        return self.model_dir(name) / METRICS

    def history_path(self, name: str) -> Path:
        return self.model_dir(name) / "history.csv"

    def loss_curves_path(self, name: str) -> Path:
        return self.model_dir(name) / "loss_curves.png"

    def reconstructions_dir(self, name: str) -> Path:
        return self.model_dir(name) / "reconstructions"

    def best_checkpoint_path(self, name: str) -> Path:
        return self.model_dir(name) / "checkpoints" / "best.keras"

    def backup_dir(self, name: str) -> Path:
        return self.model_dir(name) / "backup"

    def tensorboard_dir(self, name: str) -> Path:
        return self.model_dir(name) / "tensorboard"

    def analysis_dir(self, name: str) -> Path:
        return self.model_dir(name) / "analysis"

    def read_metrics(self, name: str) -> dict[str, Any] | None:
        data = read_json(self.metrics_path(name))
        return data if isinstance(data, dict) else None

    def write_metrics(self, name: str, metrics: dict[str, Any]) -> None:
        """Write ``metrics.json``: do it last, its presence marks the model finished."""
        files.write_json(self.metrics_path(name), metrics)

    def is_model_finished(self, name: str) -> bool:
        return self.metrics_path(name).is_file() and self.model_file(name).is_file()

    def model_names(self) -> list[str]:
        """Every model this run has or was asked for: the config's list, then any other model folder."""
        names = [str(n) for n in (self.read_config() or {}).get("models", []) if isinstance(n, str)]
        if self.path.is_dir():
            names += sorted(d.name for d in self.path.iterdir() if (d / MODEL_FILE).is_file())
        return list(dict.fromkeys(names))

    def models(self) -> list[str]:
        """The finished models (``model.keras`` and ``metrics.json`` written), in the config's order."""
        return [name for name in self.model_names() if self.is_model_finished(name)]

    def unfinished_models(self) -> list[str]:
        """Models the run was asked for, or has a folder of, that are not finished."""
        return [name for name in self.model_names() if not self.is_model_finished(name)]


__all__ = ["CONFIG", "INCOMPLETE", "LOCK", "METRICS", "MODEL_FILE", "REPORT", "SUMMARY", "RunFolder", "read_json"]
