"""Folders of image files as training data, following ``keras.utils.image_dataset_from_directory``.

Layout (any of)::

    DIR/train/<class>/*.png, DIR/test/<class>/*.png    the splits as given, labelled by subfolder
    DIR/train/*.png, DIR/test/*.png                     the splits as given, without labels
    DIR/<class>/*.png                                   labelled; the test split is carved once
    DIR/*.png                                           without labels; the test split is carved once

Files: PNG, JPEG, BMP, TIFF, WebP. Class names are the subfolder names in sorted order, as Keras
orders them. Every file's header is read first (size, colour), so a file that cannot be read, or
sizes that differ without ``image_size``, are refused in one line naming the file before any pixel
is decoded or anything is written.

Pixels: ``color_mode`` ``grayscale`` (one channel) or ``rgb`` (three); by default, what the files
hold (``rgb`` as soon as one file has colour). A transparent image is composited on the paper that
makes its ink visible (:func:`paper_behind`). ``image_size`` brings every image to ``H x W``:
``fit="resize"`` scales it (the aspect ratio may change), ``fit="crop"`` first centre-crops it to
the target's aspect ratio (Keras's ``crop_to_aspect_ratio``).

Decoded images are held in memory when they fit :func:`memory_budget`; otherwise the training
split stays an :class:`ImageFiles` list of paths that the ``tf.data`` pipeline reads and decodes in
parallel every epoch, so resident memory stays bounded for any number of files.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import math
import os
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image, ImageOps

from aezoo.errors import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
COLOR_MODES = ("grayscale", "rgb")
FITS = ("resize", "crop")
# The largest image read (width x height): refused from its header before any pixel is decoded,
# since a small compressed file can declare a huge canvas.
MAX_PIXELS = 4096 * 4096
# Decoded training images are kept in memory up to this many bytes (``AEZOO_MEMORY_BUDGET`` to change).
DEFAULT_MEMORY_BUDGET = 1 << 30
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def memory_budget() -> int:
    """Bytes of decoded images kept in memory: ``$AEZOO_MEMORY_BUDGET`` or :data:`DEFAULT_MEMORY_BUDGET`."""
    text = os.environ.get("AEZOO_MEMORY_BUDGET")
    if text is None:
        return DEFAULT_MEMORY_BUDGET
    try:
        return max(0, int(text))
    except ValueError:
        raise UsageError(f"AEZOO_MEMORY_BUDGET={text!r} is not a number of bytes") from None


# ----------------------------------------------------------------------------- reading one image


@contextlib.contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """A Pillow image, its size checked against :data:`MAX_PIXELS` from the header."""
    try:
        # Pillow warns about big canvases as it opens them; the limit below refuses them in one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise UsageError(f"{path}: image too large; aezoo reads up to {MAX_PIXELS:,} pixels") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise UsageError(f"{path}: cannot read image ({_reason(error, path)})") from None
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise UsageError(f"{path}: image too large: {image.width}x{image.height}; aezoo reads up to "
                             f"{MAX_PIXELS:,} pixels; scale it down first")
        yield image


def _reason(error: BaseException, path: Path) -> str:
    return str(error).replace(str(path), "").replace("''", "").strip(" :") or type(error).__name__


def paper_behind(gray: np.ndarray, alpha: np.ndarray) -> float:
    """The grey (0 black, 1 white) to composite a transparent image on, so that its ink shows.

    Treating transparency as white paper turns a white digit on a transparent background
    (a common export of drawing apps) into white on white: a blank input. When most of the
    image is transparent, what is opaque is the ink, and the paper is the opposite of it (black
    behind light ink, white behind dark); when most is opaque, the opaque part is the paper and
    transparent margins take its grey.
    """
    weight = float(alpha.sum())
    if weight == 0:
        return 1.0  # nothing drawn at all
    opaque = float((alpha * gray).sum()) / weight  # the mean grey of what is drawn
    if float((alpha < 0.5).mean()) > 0.5:
        return 0.0 if opaque > 0.5 else 1.0
    return float(np.median(gray[alpha >= 0.5])) if (alpha >= 0.5).any() else opaque


def pixels(image: Image.Image, color_mode: str) -> np.ndarray:
    """float32 ``[H, W, C]`` in [0, 1] (C = 1 for grayscale, 3 for rgb); transparency composited."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit PNGs: Pillow's "L" would clip them
        values = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if values.max(initial=0) > 255 else 255.0
        grey = np.clip(values / peak, 0.0, 1.0)[..., None]
        return grey if color_mode == "grayscale" else np.repeat(grey, 3, axis=-1)
    target = "L" if color_mode == "grayscale" else "RGB"
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), np.float32)[..., None] / np.float32(255)
        colour = np.asarray(rgba.convert(target), np.float32) / np.float32(255)
        colour = colour[..., None] if colour.ndim == 2 else colour
        grey = np.asarray(rgba.convert("L"), np.float32) / np.float32(255)
        paper = paper_behind(grey, alpha[..., 0])
        return (alpha * colour + (1 - alpha) * paper).astype(np.float32)
    values = np.asarray(image.convert(target), np.float32) / np.float32(255)
    return values[..., None] if values.ndim == 2 else values


def fitted(image: Image.Image, size: tuple[int, int] | None, fit: str) -> Image.Image:
    """``image`` brought to ``size`` (height, width): scaled, or centre-cropped to its aspect first."""
    if size is None or (image.height, image.width) == tuple(size):
        return image
    height, width = size
    if fit == "crop":
        scale = min(image.width / width, image.height / height)
        crop_w, crop_h = round(width * scale), round(height * scale)
        left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
    # Reduce with an area filter (no aliasing from skipped pixels), enlarge bilinearly.
    resample = Image.Resampling.BOX if width * height < image.width * image.height else Image.Resampling.BILINEAR
    if image.mode not in ("L", "RGB", "RGBA", "LA", "F", "I"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return image.resize((width, height), resample)


def read_image(path: str | os.PathLike[str], color_mode: str, size: tuple[int, int] | None = None,
               fit: str = "resize") -> np.ndarray:
    """One image file as uint8 ``[H, W, C]`` (see the module docstring); ``UsageError`` naming the file."""
    path = Path(path)
    with open_image(path) as image:
        try:
            image.load()
            values = pixels(fitted(image, size, fit), color_mode)
        except (OSError, ValueError, SyntaxError) as error:
            raise UsageError(f"{path}: cannot read image ({_reason(error, path)})") from None
    return np.round(values * 255).astype(np.uint8)


# ----------------------------------------------------------------------------- many images


@dataclasses.dataclass(frozen=True)
class ImageFiles:
    """Image files read on demand, all brought to one ``image_shape`` (H, W, C).

    ``len(files)`` and ``files.image_shape`` need no decoding; ``files[i]`` decodes one image
    (uint8 ``[H, W, C]``), ``files[a:b]`` or ``files[indices]`` a stack ``[n, H, W, C]``;
    :meth:`subset` picks files without decoding any; :meth:`load` decodes all of them.
    """

    paths: tuple[str, ...]
    image_shape: tuple[int, int, int]
    color_mode: str
    fit: str = "resize"
    workers: int = 4

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), *self.image_shape)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, path: str) -> np.ndarray:
        return read_image(path, self.color_mode, self.image_shape[:2], self.fit)

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self.read(self.paths[index])
        return self.subset(index).load()

    def subset(self, index: Any) -> "ImageFiles":
        chosen = np.asarray(self.paths, dtype=object)[index]
        return dataclasses.replace(self, paths=tuple(np.atleast_1d(chosen).tolist()))

    def load(self) -> np.ndarray:
        """Every image decoded, uint8 ``[N, H, W, C]`` (files read in parallel threads)."""
        out = np.empty(self.shape, np.uint8)
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            for i, image in enumerate(pool.map(self.read, self.paths)):
                out[i] = image
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.load()
        return array if dtype is None else array.astype(dtype)


@dataclasses.dataclass(frozen=True)
class FolderLayout:
    """What a folder of image files holds: the files of each split and their labels, or none."""

    root: Path
    splits: dict[str, list[Path]]  # "train" (and "test" when given) -> files
    labels: dict[str, np.ndarray] | None  # the same keys -> class index per file; None: no labels
    class_names: tuple[str, ...]


def is_image_folder(folder: Path) -> bool:
    """Whether ``folder`` (or a subfolder) holds image files."""
    return any(path.suffix.lower() in IMAGE_SUFFIXES for path in folder.rglob("*") if path.is_file())


def scan_folder(root: str | os.PathLike[str]) -> FolderLayout:
    """The splits, files and classes of a folder (see the module docstring); ``UsageError`` if it has none."""
    root = Path(root)
    given = [name for name in ("train", "test") if (root / name).is_dir()]
    if given:
        if given != ["train", "test"]:
            raise UsageError(f"{root}: has {given[0]}/ but no {'test' if given[0] == 'train' else 'train'}/; give "
                             "both split folders, or neither (the test split is then carved from the images)")
        parts = {name: _classes_of(root / name) for name in given}
        names = parts["train"][1]
        if parts["test"][1] != names:
            raise UsageError(f"{root}: train/ has classes {list(names)} but test/ has {list(parts['test'][1])}; "
                             "give both the same class subfolders")
        splits = {name: files for name, (files, _, _) in parts.items()}
        labels = {name: label for name, (_, _, label) in parts.items()} if names else None
        return FolderLayout(root, splits, labels, names)
    files, names, labels = _classes_of(root)
    return FolderLayout(root, {"train": files}, {"train": labels} if names else None, names)


def _classes_of(folder: Path) -> tuple[list[Path], tuple[str, ...], np.ndarray]:
    """The image files under ``folder``: in class subfolders (labelled) or directly in it (not)."""
    loose = _images_in(folder)
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = [name for name in classes if is_image_folder(folder / name)]
    if classes and loose:
        raise UsageError(f"{folder}: holds image files beside class subfolders ({loose[0].name}, {classes[0]}/); "
                         "put every image in a class subfolder, or use no subfolders (no labels)")
    if classes:
        files, labels = [], []
        for index, name in enumerate(classes):
            found = sorted(p for p in (folder / name).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            labels += [index] * len(found)
        return files, tuple(classes), np.asarray(labels, np.int64)
    if not loose:
        raise UsageError(f"{folder}: holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    return loose, (), np.zeros(len(loose), np.int64)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def inspect_files(paths: Sequence[Path], image_size: tuple[int, int] | None,
                  color_mode: str | None) -> tuple[tuple[int, int, int], str]:
    """The common ``(H, W, C)`` and colour mode of ``paths``, from their headers.

    Raises:
        UsageError: a file cannot be read, or sizes differ and no ``image_size`` was given.
    """
    if color_mode is not None and color_mode not in COLOR_MODES:
        raise UsageError(f"--color-mode {color_mode!r}: choose one of {', '.join(COLOR_MODES)}")
    first: tuple[Path, tuple[int, int]] | None = None
    colour = False
    for path in paths:
        with open_image(path) as image:
            size = (image.height, image.width)
            colour = colour or image.mode not in _GREY_MODES and not _is_grey_palette(image)
        if first is None:
            first = (path, size)
        elif size != first[1] and image_size is None:
            raise UsageError(f"{path} is {size[0]}x{size[1]} but {first[0]} is {first[1][0]}x{first[1][1]}; images of "
                             "different sizes need --image-size HxW (resize, or --fit crop)")
    assert first is not None  # scan_folder refuses folders without images
    mode = color_mode or ("rgb" if colour else "grayscale")
    height, width = image_size or first[1]
    return (height, width, 1 if mode == "grayscale" else 3), mode


def _is_grey_palette(image: Image.Image) -> bool:
    if image.mode != "P":
        return False
    palette = np.asarray(image.getpalette() or [], np.int64).reshape(-1, 3)
    return bool((palette[:, 0] == palette[:, 1]).all() and (palette[:, 1] == palette[:, 2]).all())


__all__ = ["COLOR_MODES", "DEFAULT_MEMORY_BUDGET", "FITS", "FolderLayout", "IMAGE_SUFFIXES", "ImageFiles",
           "MAX_PIXELS", "inspect_files", "is_image_folder", "memory_budget", "paper_behind",
           "pixels", "read_image", "scan_folder"]
