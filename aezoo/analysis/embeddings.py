"""What the analysis works on: a run folder's trained models, its test digits, and their embeddings.

Everything is reloaded from the run folder, so an analysis can be repeated at any time on any
finished (or partly finished) run without training again:

* ``config.json`` says which data and noise the run used;
* ``summary.json`` says which dataset ``auto`` actually resolved to (full MNIST or the embedded
  5000 digits), so the analysis reloads exactly the test images the models were scored on;
* ``<model>/model.keras`` is each trained model (importing :mod:`aezoo.models` registers the
  classes with Keras, so ``keras.saving.load_model`` rebuilds them).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from aezoo.config import TrainConfig
from aezoo.datasets import ImageSplits, load_dataset, normalize, test_pairs
from aezoo.errors import UsageError
from aezoo.models import MODEL_CLASSES

# The brief: "embed the first 1000 images of the test set".
FIRST_TEST_IMAGES = 1000


@dataclasses.dataclass(frozen=True)
class AnalysisData:
    """The test digits the analysis embeds, as float arrays ready for the models.

    Attributes:
        clean: ``[n, 28, 28, 1]`` clean test images in [0, 1]; the embeddings are of these, because
            the question is how the encoder organises *digits*, not noise.
        noisy: the same images with the run's fixed test noise (what the models were scored on).
        labels: ``[n]`` integer classes, used only to colour and to score the embeddings.
        class_names: display name of each class.
        dataset: the dataset's name (e.g. ``"embedded"``) and ``source``: where it came from.
    """

    clean: np.ndarray
    noisy: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    dataset: str
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)


def check_run_dir(run_dir: str | Path) -> Path:
    """Return ``run_dir`` as a Path if it is a run folder with at least one trained model.

    Raises:
        UsageError: the folder is missing, is not an aezoo run, or holds no ``model.keras``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist or is not a folder")
    if not (run_dir / "config.json").is_file():
        raise UsageError(f"{run_dir} is not an aezoo run folder (no config.json); "
                         "pass a folder written by `python train.py`, e.g. runs/<timestamp>")
    if not trained_models(run_dir):
        raise UsageError(f"{run_dir} holds no trained model (no {'/ or '.join(MODEL_CLASSES)}/model.keras); "
                         "train first, e.g. `python train.py --output " + str(run_dir) + "`")
    return run_dir


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's content, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_config(run_dir: Path) -> TrainConfig:
    data = read_json(run_dir / "config.json")
    if not isinstance(data, dict):
        raise UsageError(f"{run_dir / 'config.json'} is not a valid JSON object")
    return TrainConfig.from_json(data)


def trained_models(run_dir: Path) -> list[str]:
    """Model kinds with a saved ``model.keras`` in ``run_dir``, in the canonical order (ae, vae)."""
    return [kind for kind in MODEL_CLASSES if (run_dir / kind / "model.keras").is_file()]


def load_model(run_dir: Path, kind: str) -> keras.Model:
    """The trained ``kind`` model of a run, with its ``encode``/``decode`` API."""
    path = run_dir / kind / "model.keras"
    try:
        return keras.saving.load_model(path)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot load {path}: {error}") from None


def load_analysis_data(run_dir: Path, images: int = FIRST_TEST_IMAGES,
                       splits: ImageSplits | None = None) -> AnalysisData:
    """The first ``images`` test digits of the run's dataset, clean and with the run's test noise.

    Args:
        run_dir: the run folder (its config and summary say which data to load).
        images: how many test images, from the start of the test split (fewer if it is shorter).
        splits: data already in memory (tests); default: reload what the run used.
    """
    if isinstance(images, bool) or not isinstance(images, int) or images < 10:
        raise UsageError(f"the number of analysed images must be an integer >= 10, got {images!r}")
    config = run_config(run_dir)
    if splits is None:
        # The resolved name, not the config's: "auto" may have fallen back to the embedded set. An
        # unfinished run has no summary yet, but each finished model's metrics.json records it too.
        recorded = [read_json(run_dir / "summary.json") or {}]
        recorded += [read_json(run_dir / kind / "metrics.json") or {} for kind in trained_models(run_dir)]
        name = next((r["dataset"] for r in recorded if r.get("dataset")), config.dataset)
        splits = load_dataset(name, config.data_dir)
    count = min(images, len(splits.test_images))
    first = splits.test_images[:count]
    if len(np.unique(splits.test_labels[:count])) < 2:
        raise UsageError(f"the first {count} test images of {splits.name} are all of one class, so there is no "
                         "class structure to measure; analyse more images (--images)")
    # The noisy copies use the whole split's noise draw, so image i has the same noise as in training's scores.
    noisy, _ = test_pairs(splits.test_images, config.noise_model(), config.seed)
    return AnalysisData(clean=normalize(first), noisy=noisy[:count], labels=np.asarray(splits.test_labels[:count]),
                        class_names=tuple(splits.class_names), dataset=splits.name, source=splits.source)


def embed(model: keras.Model, images: np.ndarray, batch_size: int = 250) -> np.ndarray:
    """``[n, embedding_dim]`` embeddings of ``images``; the VAE's are its posterior means.

    ``model.encode`` is called directly in batches (not through ``predict``): it is a plain method,
    not the model's ``call``, and the eager calls on a thousand images take well under a second.
    """
    parts = [np.asarray(model.encode(images[i:i + batch_size])) for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def decode(model: keras.Model, embeddings: np.ndarray, batch_size: int = 250) -> np.ndarray:
    """``[n, 28, 28, 1]`` images in [0, 1] decoded from ``[n, embedding_dim]`` embeddings."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    parts = [np.asarray(model.decode(embeddings[i:i + batch_size])) for i in range(0, len(embeddings), batch_size)]
    return np.concatenate(parts)


__all__ = ["FIRST_TEST_IMAGES", "AnalysisData", "check_run_dir", "decode", "embed", "load_analysis_data",
           "load_model", "read_json", "run_config", "trained_models"]
