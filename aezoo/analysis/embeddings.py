"""What the analysis works on: a run folder's trained models, its test images, and their embeddings.

Everything is reloaded from the run folder (:class:`~aezoo.run_folder.RunFolder`), so an
analysis can be repeated at any time on any finished (or partly finished) run without training
again:

* ``config.json`` says which data and noise the run used;
* ``summary.json`` (or a finished model's ``metrics.json``) says which dataset ``auto`` actually
  resolved to (full MNIST or the embedded 5000 digits), so the analysis reloads exactly the test
  images the models were scored on;
* ``<model>/model.keras`` is each trained model (importing :mod:`aezoo.models` registers the
  classes with Keras, so ``keras.saving.load_model`` rebuilds them).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import keras
import numpy as np

from aezoo.config import TrainConfig
from aezoo.datasets import ImageSplits, image_noun, normalize, test_pairs
from aezoo.errors import UsageError
from aezoo.models.adapter import ModelAdapter
from aezoo.run_folder import RunFolder

logger = logging.getLogger("aezoo")

# Enough test digits for a t-SNE map with visible clusters and 5-fold k-NN over ten classes.
FIRST_TEST_IMAGES = 1000
# summary.json's entry for why the measures that need a class per image are missing.
WITHOUT_LABELS = "without_labels"


def without_labels(dataset: str) -> str:
    """The one sentence the report and ``summary.json`` give for data without labels: what is skipped and why."""
    return (f"{dataset} has no labels, so everything that needs a class per image is skipped: the 5-NN accuracy "
            "and silhouettes (and their pixel and PCA baselines), the class colours of the t-SNE maps (drawn in one "
            "colour; their trustworthiness is still measured), interpolation pairs by class (drawn by the seed among "
            "all images instead), conditional models, and the classifier that judges generated samples (no FD, "
            "class statistics or label accuracy; the NLL still applies).")


@dataclasses.dataclass(frozen=True)
class RunRecords:
    """What a run folder says about itself, read once: the report reuses it instead of re-reading."""

    folder: RunFolder
    config: dict[str, Any]
    summary: dict[str, Any] | None
    metrics: dict[str, dict[str, Any]]  # finished model -> its metrics.json

    @property
    def models(self) -> list[str]:
        return list(self.metrics)

    def train_config(self) -> TrainConfig:
        return TrainConfig.from_json(self.config)

    def dataset_name(self) -> str:
        """The dataset the run resolved ``auto`` to (an unfinished run: a finished model's record)."""
        recorded = [self.summary or {}, *self.metrics.values()]
        return next((r["dataset"] for r in recorded if r.get("dataset")), self.config.get("dataset", "auto"))


@dataclasses.dataclass(frozen=True)
class AnalysisData:
    """The test images the analysis embeds, as float arrays ready for the models.

    Attributes:
        clean: ``[n, H, W, C]`` clean test images in [0, 1]; the embeddings are of these, because
            the question is how the encoder organises the *images*, not noise.
        noisy: the same images with the run's fixed test noise (what the models were scored on).
        labels: ``[n]`` integer classes, used only to colour and to score the embeddings; ``None``
            for data without labels (what needs them is then skipped: :func:`without_labels`).
        class_names: display name of each class (empty without labels).
        dataset: the dataset's name (e.g. ``"embedded"``) and ``source``: where it came from.
    """

    clean: np.ndarray
    noisy: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    dataset: str
    source: str = ""

    def __len__(self) -> int:
        return len(self.clean)

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    @property
    def noun(self) -> str:
        """``"digits"`` for MNIST's, ``"images"`` for any other data (figure titles, the report's words)."""
        return image_noun(self.class_names, self.clean.shape[1:])

    @property
    def skipped(self) -> str:
        """Why the measures that need labels are missing (:func:`without_labels`); "" for labelled data."""
        return "" if self.has_labels else without_labels(self.dataset)


def check_run_dir(run_dir: str | Path) -> RunFolder:
    """The run folder at ``run_dir`` if it has at least one finished model.

    A model whose folder exists but whose ``metrics.json`` is missing (it did not finish) is
    named: alone it is an error, beside finished models a warning.

    Raises:
        UsageError: the folder is missing, is not an aezoo run, or holds no finished model.
    """
    run = RunFolder(run_dir)
    if not run.path.is_dir():
        raise UsageError(f"run folder {run.path} does not exist or is not a folder")
    if not run.is_run():
        raise UsageError(f"{run.path} is not an aezoo run folder ({run.config_problem()}); "
                         "pass a folder written by `python train.py`, e.g. runs/<timestamp>")
    finished = run.models()
    unfinished = [name for name in run.unfinished_models() if run.model_dir(name).is_dir()]
    if not finished:
        missing = (f"its model(s) {', '.join(unfinished)} did not finish (no metrics.json)" if unfinished
                   else "it holds no trained model")
        raise UsageError(f"{run.path}: {missing}; resume the training first (repeat its command, "
                         f"e.g. `python train.py --output {run.path}`)")
    if unfinished:
        logger.warning("%s: %s did not finish (no metrics.json) and is left out; analysing %s",
                       run.path, ", ".join(unfinished), ", ".join(finished))
    return run


def read_records(run: RunFolder) -> RunRecords:
    """``config.json``, ``summary.json`` and every finished model's ``metrics.json``, read once."""
    config = run.read_config()
    if config is None:
        raise UsageError(f"{run.config_path} is not a valid JSON object")
    return RunRecords(run, config, run.read_summary(), {name: run.read_metrics(name) or {} for name in run.models()})


def load_model(run: RunFolder, kind: str) -> keras.Model:
    """The trained ``kind`` model of a run, with its ``encode``/``decode`` API."""
    from aezoo.inference import load_keras_model  # every command loads models through this one path

    return load_keras_model(run.model_file(kind), kind, compile=True)


def load_analysis_data(records: RunRecords, images: int = FIRST_TEST_IMAGES,
                       splits: ImageSplits | None = None) -> AnalysisData:
    """The first ``images`` test images of the run's dataset, clean and with the run's test noise.

    Args:
        records: the run's records (they say which data to load).
        images: how many test images, from the start of the test split (fewer if it is shorter).
        splits: data already in memory (tests); default: reload what the run used.
    """
    if isinstance(images, bool) or not isinstance(images, int) or images < 10:
        raise UsageError(f"the number of analysed images must be an integer >= 10, got {images!r}")
    config = records.train_config()
    if splits is None:
        from aezoo.training import load_run_data

        splits = load_run_data(config, records.dataset_name())
    count = min(images, len(splits.test_images))
    first = splits.test_images[:count]
    labels = None if splits.test_labels is None else np.asarray(splits.test_labels[:count])
    if labels is not None and len(np.unique(labels)) < 2:
        raise UsageError(f"the first {count} test images of {splits.name} are all of one class, so there is no "
                         "class structure to measure; analyse more images (--images)")
    # The noisy copies use the whole split's noise draw, so image i has the same noise as in training's scores.
    noisy, _ = test_pairs(splits.test_images, config.noise_model(), config.seed)
    return AnalysisData(clean=normalize(first), noisy=noisy[:count], labels=labels,
                        class_names=tuple(splits.class_names), dataset=splits.name, source=splits.source)


def embedding_size(model: keras.Model) -> int:
    """Numbers in one flattened embedding: ``embedding_dim`` for a vector code, H/4 x W/4 x D for a grid."""
    return int(np.prod(model.embedding_shape))


def embed(model: keras.Model, images: np.ndarray, labels: np.ndarray | None = None,
          batch_size: int = 250) -> np.ndarray:
    """``[n, size]`` flattened embeddings of ``images``; the VAE's are its posterior means.

    A grid code (``embedding_shape`` H/4 x W/4 x D) is flattened to one vector per image, so t-SNE,
    k-NN and straight-line interpolation treat every model's code alike. ``labels`` are given to
    a conditional model (its code is then the code *given* the class).
    """
    codes = ModelAdapter(model, batch_size).encode(images, labels)
    return codes.reshape(len(images), -1).astype(np.float64)


def decode(model: keras.Model, embeddings: np.ndarray, labels: np.ndarray | None = None,
           batch_size: int = 250) -> np.ndarray:
    """``[n, H, W, C]`` images in [0, 1] decoded from ``[n, size]`` flattened embeddings (and ``labels``)."""
    embeddings = np.asarray(embeddings, dtype=np.float32).reshape(-1, *model.embedding_shape)
    return ModelAdapter(model, batch_size).decode(embeddings, labels)


__all__ = ["FIRST_TEST_IMAGES", "WITHOUT_LABELS", "AnalysisData", "RunRecords", "check_run_dir", "decode", "embed", "embedding_size",
           "load_analysis_data", "load_model", "read_records", "without_labels"]
