"""The classifier that judges generated samples, trained once per dataset and cached.

Sample-quality metrics need a fixed observer that knows what digits look like: its penultimate
layer gives the features for the Frechet distance (:mod:`aezoo.evaluation.frechet`), its class
probabilities the entropy, coverage and label accuracy (:mod:`aezoo.evaluation.sample_quality`).
The observer must be the same for every model and every run, so it is trained once per dataset
and seed, on the *clean training* split only (the test split stays unseen, the models' own
training never touches it), and cached:

    $AEZOO_CACHE/classifiers/<dataset>-seed<seed>-<fingerprint>.keras   (default AEZOO_CACHE: ~/.cache/aezoo)

beside a ``.json`` with its test accuracy, training time and the fingerprint (a hash) of the
training images, which is also in the name: another subset under the same dataset name is
another classifier, and a file whose recorded fingerprint differs is retrained, not trusted.

The judge of the embedded digits ships with the package as a preset (Keras's unzipped format
plus a ``metadata.json`` holding its fingerprint and the SHA-256 of its weights, in
``aezoo/evaluation/judges/``): a first run on a fresh machine copies it into the cache instead of
training it. Data it was not made for (another fingerprint) still trains and caches its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from aezoo import files
from aezoo.presets import JUDGES_FOLDER
from aezoo.datasets import ImageSplits
from aezoo.datasets.image_files import ImageFiles

logger = logging.getLogger("aezoo")

FEATURES_LAYER = "features"
DEFAULT_EPOCHS = 6
BATCH_SIZE = 128
# Pooling stops once the smaller side is at most this (28 -> 14 -> 7 for MNIST: two levels).
FINAL_MAP = 8
# Image files too many to hold in memory: the classifier learns from at most this many of them.
MAX_STREAMED_TRAINING_IMAGES = 20_000
# The judges shipped with the package, one preset folder per cache name (without ``.keras``).
SHIPPED_JUDGES = JUDGES_FOLDER


def cache_dir() -> Path:
    """Where classifiers are cached: ``$AEZOO_CACHE/classifiers`` (default ``~/.cache/aezoo``)."""
    return Path(os.environ.get("AEZOO_CACHE") or Path.home() / ".cache" / "aezoo") / "classifiers"


def cache_path(dataset: str, seed: int, directory: str | os.PathLike[str] | None = None,
               images: str | None = None) -> Path:
    """The ``.keras`` file of the classifier for ``dataset`` and ``seed``.

    ``images``: the :func:`fingerprint` of its training images, part of the name so that a subset
    under the same dataset name (a test's few hundred digits) never replaces the real one.
    """
    return Path(directory or cache_dir()) / f"{dataset}-seed{seed}{'-' + images if images else ''}.keras"


def as_unit_images(images: Any) -> np.ndarray:
    """``[N, H, W, C]`` float32 in [0, 1] from uint8 or float images ``[N, H, W]`` or ``[N, H, W, C]``."""
    array = np.asarray(images)
    scaled = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)
    return scaled[..., None] if scaled.ndim == 3 else scaled


def build_classifier(seed: int = 0, image_shape: tuple[int, int, int] = (28, 28, 1),
                     num_classes: int = 10) -> keras.Model:
    """A small CNN: conv blocks (two for MNIST), a 128-unit feature layer, a softmax over the classes.

    Random shifts and rotations during training make up for the embedded set's mere 4000
    training digits (docs/generation.md, "Measured"); they are inactive at inference. Larger images
    get more blocks (each halving, doubling the filters) until the maps are at most :data:`FINAL_MAP` wide.
    """
    init = keras.initializers.HeNormal
    inputs = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed)(inputs)
    x = keras.layers.RandomRotation(0.03, fill_mode="constant", seed=seed + 1)(x)
    levels, side = 0, min(image_shape[:2])
    while side > FINAL_MAP or levels < 2:
        side, levels = side // 2, levels + 1
    for level, filters in enumerate(32 * 2 ** i for i in range(levels)):
        for repeat in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                    kernel_initializer=init(seed + 10 * level + repeat + 2))(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3, seed=seed + 30)(x)
    features = keras.layers.Dense(128, activation="relu", kernel_initializer=init(seed + 31), name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.3, seed=seed + 32)(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digit_classifier")


@dataclasses.dataclass
class DigitClassifier:
    """A trained classifier with the two views the metrics need.

    Attributes:
        model: the Keras model (images -> class probabilities).
        test_accuracy: its accuracy on the dataset's test split.
        training_seconds: how long ``fit`` took when it was trained (not when it was loaded).
        path: its cached ``.keras`` file, if it has one (:meth:`remember` keeps values beside it).
    """

    model: keras.Model
    test_accuracy: float
    training_seconds: float
    path: Path | None = None
    shipped: bool = False  # unpacked from the package's shipped judge rather than trained here

    def __post_init__(self) -> None:
        features = self.model.get_layer(FEATURES_LAYER).output
        self._features = keras.Model(self.model.inputs, features)
        self._both = keras.Model(self.model.inputs, [features, self.model.output])

    def features(self, images: Any, batch_size: int = 256) -> np.ndarray:
        """Penultimate-layer activations ``[N, 128]`` (float64, for the covariance)."""
        return np.asarray(self._features.predict(as_unit_images(images), batch_size=batch_size, verbose=0), np.float64)

    def probabilities(self, images: Any, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``[N, 10]``."""
        return np.asarray(self.model.predict(as_unit_images(images), batch_size=batch_size, verbose=0), np.float64)

    def features_and_probabilities(self, images: Any, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`features` and :meth:`probabilities` of the same images, in one pass through the network."""
        features, probabilities = self._both.predict(as_unit_images(images), batch_size=batch_size, verbose=0)
        return np.asarray(features, np.float64), np.asarray(probabilities, np.float64)

    def remember(self, key: str, compute: Callable[[], dict[str, float]]) -> dict[str, float]:
        """``compute()``, kept beside the cached classifier under ``key`` and read back from there next time.

        For numbers that depend only on this classifier and the images named in ``key`` (the FD
        reference points: four passes over a thousand images otherwise repeated at every run).
        Without a cache file, or when the kept file is unreadable, it is simply computed.
        """
        if self.path is None:
            return compute()
        store = self.path.with_suffix(".remembered.json")
        try:
            kept = json.loads(store.read_text())
        except (OSError, ValueError):
            kept = {}
        kept = kept if isinstance(kept, dict) else {}
        if isinstance(kept.get(key), dict):
            return {name: float(value) for name, value in kept[key].items()}
        values = compute()
        files.write_json(store, kept | {key: values})
        return values

    @property
    def num_classes(self) -> int:
        return int(self.model.output.shape[-1])

    def accuracy(self, images: Any, labels: Any) -> float:
        return float(np.mean(np.argmax(self.probabilities(images), axis=1) == np.asarray(labels)))


def fingerprint(splits: ImageSplits) -> str:
    """A short hash of the training images and labels the classifier learns from (image files: of
    their paths, sizes and modification times, so no file is decoded for it)."""
    images = splits.train_images
    if isinstance(images, ImageFiles):
        digest = hashlib.sha256(repr((images.image_shape, images.color_mode, images.fit)).encode())
        for path in images.paths:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    else:
        digest = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    digest.update(np.asarray(splits.train_labels, np.int64).tobytes())
    return digest.hexdigest()[:16]


def _training_images(splits: ImageSplits) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels the classifier fits on: all of them, or a fixed prefix of image files."""
    images, labels = splits.train_images, np.asarray(splits.train_labels)
    if isinstance(images, ImageFiles):
        count = min(len(images), MAX_STREAMED_TRAINING_IMAGES)
        return images[:count], labels[:count]
    return images, labels


def train_classifier(splits: ImageSplits, seed: int = 0, epochs: int = DEFAULT_EPOCHS,
                     verbose: int = 0) -> DigitClassifier:
    """Train a new classifier with ``fit`` on the clean training split (seeds Keras' global RNG)."""
    if not splits.has_labels:
        raise ValueError("the sample classifier needs labelled data")
    keras.utils.set_random_seed(seed)  # fit's shuffling and dropout draw from the global generators
    model = build_classifier(seed, splits.image_shape, len(splits.class_names))
    images, labels = _training_images(splits)
    steps = epochs * -(-len(images) // BATCH_SIZE)
    # Cosine decay lets the last epochs settle instead of bouncing at the initial learning rate.
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=max(steps, 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(as_unit_images(images), labels, batch_size=BATCH_SIZE, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    classifier = DigitClassifier(model, test_accuracy=0.0, training_seconds=seconds)
    classifier.test_accuracy = classifier.accuracy(splits.test_images, splits.test_labels)
    return classifier


def load_or_train_classifier(splits: ImageSplits, seed: int = 0, directory: str | os.PathLike[str] | None = None,
                             epochs: int = DEFAULT_EPOCHS, verbose: int = 0) -> DigitClassifier:
    """The cached classifier for ``splits.name`` and ``seed``, training and caching it if absent.

    Both files are written atomically, so an interrupted run leaves either no cache or a whole one.
    """
    expected = fingerprint(splits)
    path = cache_path(splits.name, seed, directory, expected)
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("fingerprint") == expected:
            model = _load(path)
            return DigitClassifier(model, info["test_accuracy"], info["training_seconds"], path)
        logger.info("Cached classifier %s was trained on other images; retraining it.", path)
    classifier = shipped_classifier(path.stem, expected, seed) or train_classifier(splits, seed=seed, epochs=epochs,
                                                                                   verbose=verbose)
    files.write_with(path, classifier.model.save)
    path.with_suffix(".remembered.json").unlink(missing_ok=True)  # values of the classifier it replaces
    classifier.path = path
    files.write_json(info_path, {"dataset": splits.name, "seed": seed, "fingerprint": expected,
                                 "test_accuracy": classifier.test_accuracy,
                                 "training_seconds": classifier.training_seconds, "epochs": epochs})
    logger.info("%s the sample-quality classifier (%.1f%% test accuracy, %.0f s); cached in %s",
                "Unpacked the shipped" if classifier.shipped else "Trained", 100 * classifier.test_accuracy,
                classifier.training_seconds, path)
    return classifier


def shipped_classifier(name: str, expected: str, seed: int) -> DigitClassifier | None:
    """The judge shipped as the preset ``name`` when it was trained on exactly these images (the same
    fingerprint and seed), its weights checked against their SHA-256; None when none ships for them."""
    from aezoo.presets import check, is_preset_folder

    folder = SHIPPED_JUDGES / name
    if not is_preset_folder(folder):
        return None
    metadata = check(folder).metadata
    if metadata.get("fingerprint") != expected or metadata.get("seed") != seed:
        return None
    return DigitClassifier(_load(folder), float(metadata["test"]["accuracy"]), float(metadata["training_seconds"]),
                           shipped=True)


def _load(path: Path) -> keras.Model:
    """A judge from the cache (a ``.keras`` file) or the package (a preset folder): only evaluated, so uncompiled."""
    return keras.saving.load_model(str(path), compile=False, safe_mode=True)


def ship_classifier(splits: ImageSplits, seed: int = 0, directory: Path = SHIPPED_JUDGES) -> Path:
    """Write the judge of ``splits`` as a preset folder under ``directory`` (trained, or taken from the
    cache); ``python -m aezoo presets --rebuild`` ships the embedded digits' judge this way."""
    from aezoo import __version__, presets

    expected = fingerprint(splits)
    classifier = load_or_train_classifier(splits, seed=seed)
    target = directory / cache_path(splits.name, seed, directory, expected).stem
    # A model without an optimizer: the judge is only ever evaluated, and the slots would triple its size.
    model = keras.models.clone_model(classifier.model)
    model.set_weights(classifier.model.get_weights())
    with files.atomic_directory(target) as tmp:
        presets.write_unzipped(model, tmp)
        files.write_json(tmp / presets.METADATA, {
            "format": presets.FORMAT, "aezoo_version": __version__, "keras_version": keras.__version__,
            "model": "judge", "family": None, "class": "Functional", "image_shape": list(splits.image_shape),
            "parameters": int(model.count_params()), "data": {"dataset": splits.name,
                                                             "train_images": len(splits.train_images)},
            "seed": seed, "fingerprint": expected, "epochs": DEFAULT_EPOCHS,
            "training_seconds": classifier.training_seconds, "test": {"accuracy": classifier.test_accuracy},
            "weights_sha256": presets.sha256(tmp / presets.WEIGHTS)})
    return target
