"""Reading user inputs into images of a model's shape, and writing results (PNGs, ``.npy``, contact sheet).

A :class:`Framing` says how inputs are brought to the model's ``image_shape`` ``(H, W, C)``
(:data:`FITS`): ``resize`` scales them (the aspect ratio may change), ``crop`` centre-crops them to
the model's aspect ratio first, ``pad`` pads them to it with their paper colour (the median of
their border) first, and ``mnist`` frames them the way MNIST made its digits: grayscale, inverted
when the ink is darker than the paper, the digit's bounding box scaled to fit 20x20 keeping its
aspect ratio, placed in a 28x28 field with its centre of mass at the centre (:func:`mnist_style`).
The default is ``mnist`` for a 28x28 grey model and ``resize`` for any other. Grey inputs become
colour by repeating the grey, colour inputs grey by their luminance.

Accepted inputs, each read lazily so any number of them streams in bounded memory:

* image files (PNG, JPEG, BMP, TIFF, WebP; colour or grayscale, up to :data:`MAX_PIXELS`), always
  brought to the model's shape;
* ``.npy`` arrays ``[N,H,W,C]`` or one image ``[H,W,C]`` (``[N,H,W]`` and ``[H,W]`` for a grey
  model), ``uint8`` 0-255 or float 0-1. Arrays of the model's shape are taken as they are; other
  sizes, and 1 or 3 channels, are brought to it by the fit, except under the ``mnist`` default:
  a digit model takes arrays prepared like MNIST, and other sizes only when a fit is asked for;
* MNIST IDX image files (``*-idx3-ubyte``, optionally gzipped), read like ``.npy`` arrays;
* folders, searched recursively for all of the above.

Every problem with an input is a :class:`~aezoo.errors.UsageError` whose message starts with the
file's path, so a command can skip the file with a one-line warning and carry on with the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from aezoo import files
from aezoo.errors import UsageError

SIZE = 28  # MNIST's field
BOX = 20  # MNIST scaled each digit's bounding box to fit this square
MNIST_SHAPE = (SIZE, SIZE, 1)
# aezoo.datasets.image_files.IMAGE_SUFFIXES (a test keeps them equal), repeated here because importing
# aezoo.datasets imports TensorFlow, and inputs are checked before TensorFlow loads.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Pillow's names of the formats read ("MPO": what some cameras call their JPEGs).
IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "TIFF", "WEBP")
IMAGE_KINDS = "PNG, JPEG, BMP, TIFF, WebP"
FITS = ("resize", "crop", "pad", "mnist")
# Channels an array's last axis may hold when it is brought to a model's shape: grey or RGB.
CHANNELS = (1, 3)
# ITU-R 601 luminance, the weights Pillow's "L" conversion uses: an RGB array turns grey as an RGB file does.
LUMINANCE = np.array([0.299, 0.587, 0.114], np.float32)
# Float inputs slightly outside [0, 1] (rounding in someone's preprocessing) are clipped, not refused.
RANGE_TOLERANCE = 1e-3
# An image whose brightest ink (after removing the background) is below this is treated as blank.
BLANK_LEVEL = 0.05
# Pixels brighter than this fraction of the peak ink define the digit's bounding box; fainter ones
# are paper texture or scanner noise and must not make the box (and so the digit) bigger.
INK_THRESHOLD = 0.2
# The largest image (width x height) read: decoding one this size already takes about 16 MB as
# 8-bit grey and four times that as float32 while it is framed. Bigger images are refused from
# their header, before any pixel is decoded, because a small compressed file can declare a huge
# canvas (12000x12000 fits in 200 KB of PNG).
MAX_PIXELS = 4096 * 4096

_MAGIC = {b"\x89PNG\r\n\x1a\n": "image", b"\xff\xd8\xff": "image", b"BM": "image", b"II*\0": "image",
          b"MM\0*": "image", b"\x93NUMPY": "npy"}


def default_fit(image_shape: Sequence[int]) -> str:
    """``mnist`` for a 28x28 grey model (a digit model: MNIST's framing is what it was trained on), else ``resize``."""
    return "mnist" if tuple(image_shape) == MNIST_SHAPE else "resize"


def check_fit(fit: str | None) -> str | None:
    if fit is not None and fit not in FITS:
        raise UsageError(f"fit {fit!r} is unknown; use one of {', '.join(FITS)}")
    return fit


@dataclasses.dataclass(frozen=True)
class Framing:
    """How inputs are brought to a model's ``image_shape`` (see the module docstring).

    ``fit`` None is the model's default (:func:`default_fit`). Images come out float32 in [0, 1],
    each ``[H, W]`` for a grey model and ``[H, W, C]`` otherwise (:attr:`image_dims`).
    """

    image_shape: tuple[int, int, int] = MNIST_SHAPE
    fit: str | None = None

    def __post_init__(self) -> None:
        check_fit(self.fit)
        object.__setattr__(self, "image_shape", tuple(int(d) for d in self.image_shape))

    @property
    def mode(self) -> str:
        return self.fit or default_fit(self.image_shape)

    @property
    def size(self) -> tuple[int, int]:
        return self.image_shape[0], self.image_shape[1]

    @property
    def channels(self) -> int:
        return self.image_shape[2]

    @property
    def image_dims(self) -> tuple[int, ...]:
        """One output image's shape: ``(H, W)`` for a grey model, ``(H, W, C)`` for colour."""
        return self.size if self.channels == 1 else self.image_shape

    def _own(self) -> list[tuple[int, ...]]:
        """The shapes of one image taken as it is."""
        return [self.image_shape, self.size] if self.channels == 1 else [self.image_shape]

    def accepted(self) -> str:
        """The array shapes taken as they are, in words: ``[N,28,28], [N,28,28,1], [28,28] or [28,28,1]``."""
        own = [",".join(map(str, dims)) for dims in self._own()[::-1]]
        shapes = [f"[N,{dims}]" for dims in own] + [f"[{dims}]" for dims in own]
        return f"{', '.join(shapes[:-1])} or {shapes[-1]}"

    def layout(self, shape: Sequence[int]) -> tuple[bool, tuple[int, ...]] | None:
        """``(stacked, one image's shape)`` of an array of ``shape``, or None when this framing cannot take it.

        The model's own shapes first; then, when other sizes are fitted, ``[h,w]``, ``[h,w,c]`` and
        ``[N,h,w,c]`` with 1 or 3 channels, and ``[N,h,w]`` (a rank-3 array is one image when its
        last axis can be channels, as in Keras' ``[height, width, channels]``).
        """
        shape = tuple(int(d) for d in shape)
        own = self._own()
        if shape in own:
            return False, shape
        if len(shape) in (3, 4) and shape[1:] in own:
            return True, shape[1:]
        if self.fit is None and self.mode == "mnist":
            return None  # a digit model takes arrays prepared like MNIST unless a fit is asked for
        if len(shape) == 2 or (len(shape) == 3 and shape[-1] in CHANNELS):
            found = False, shape
        elif len(shape) == 3 or (len(shape) == 4 and shape[-1] in CHANNELS):
            found = True, shape[1:]
        else:
            return None
        return found if min(found[1][:2]) > 0 else None

    def check(self, where: Path | str, shape: Sequence[int], dtype: np.dtype) -> None:
        """Raise UsageError unless an array of ``shape`` and ``dtype`` holds images this framing takes."""
        shape = tuple(shape)
        if self.layout(shape) is None:
            if self.fit is None and self.mode == "mnist":
                hint = "(give the fit resize, crop, pad or mnist to bring other sizes to it)"
            else:
                hint = "(or another size, grey or with 3 channels, to be brought to it)"
            raise UsageError(f"{where}: shape {list(shape)} is not accepted; use {self.accepted()} {hint}")
        if len(shape) > 2 and shape[0] == 0:
            raise UsageError(f"{where}: holds no images (shape {list(shape)})")
        if not (dtype == np.uint8 or np.issubdtype(dtype, np.floating)):
            raise UsageError(f"{where}: dtype {dtype} is not accepted; use uint8 (0-255) or float (0-1)")

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The shape of the results of an array of ``shape``: its own when the model takes it as it is."""
        stacked, dims = self._checked_layout(shape)
        if dims in self._own():
            return tuple(shape)
        return (shape[0], *self.image_dims) if stacked else self.image_dims

    def stacked(self, shape: Sequence[int]) -> bool:
        """Whether the first axis of an array of (checked) ``shape`` counts images, not one image's rows."""
        return self._checked_layout(shape)[0]

    def _checked_layout(self, shape: Sequence[int]) -> tuple[bool, tuple[int, ...]]:
        found = self.layout(shape)
        if found is None:
            raise ValueError(f"shape {list(shape)} was not checked (Framing.check)")
        return found

    def bring(self, images: np.ndarray, invert: bool | None = None) -> np.ndarray:
        """float32 ``[b, *one image]`` in [0, 1] -> ``[b, *image_dims]``; arrays are inverted only when asked."""
        images = 1.0 - images if invert else images
        if tuple(images.shape[1:]) in self._own():
            return images.reshape(len(images), *self.image_dims)
        out = np.empty((len(images), *self.image_dims), np.float32)
        for i, image in enumerate(images):
            values = image if image.ndim == 3 else image[..., None]
            if self.mode == "mnist":  # ink already as asked: a digit's paper is not guessed for arrays
                values = mnist_style(to_channels(values, 1)[..., 0], invert=False)[..., None]
            out[i] = self._finish(fit_values(values, self.size, "resize" if self.mode == "mnist" else self.mode))
        return out

    def picture(self, image: "Image.Image", invert: bool | None = None) -> np.ndarray:
        """A decoded image file brought to :attr:`image_dims` (float32 in [0, 1]).

        ``invert`` None: detected from the border under the ``mnist`` fit, not inverted otherwise
        (a photograph's dark areas are not ink).
        """
        from aezoo.datasets.image_files import fitted, pixels  # here: aezoo.datasets imports TensorFlow

        if self.mode == "mnist":
            digit = mnist_style(pixels(image, "grayscale")[..., 0], invert)
            return self._finish(fit_values(digit[..., None], self.size, "resize"))
        colour = "grayscale" if self.channels == 1 else "rgb"
        if self.mode == "pad":
            # Padding to the aspect ratio and then resizing is placing the image, resized to fit
            # inside, on its paper: done in that order, no canvas larger than the model's is made.
            values = on_paper(pixels(fitted(image, inside((image.height, image.width), self.size), "resize"), colour),
                              self.size)
        else:
            values = pixels(fitted(image, self.size, self.mode), colour)
        return self._finish(1.0 - values if invert else values)

    def _finish(self, values: np.ndarray) -> np.ndarray:
        values = np.clip(to_channels(values, self.channels), 0.0, 1.0).astype(np.float32)
        return values[..., 0] if self.channels == 1 else values


def to_channels(values: np.ndarray, channels: int) -> np.ndarray:
    """``[h, w, c]`` -> ``[h, w, channels]``: grey repeated into colour, colour to grey by its luminance."""
    have = values.shape[-1]
    if have == channels:
        return values
    if have == 1:
        return np.repeat(values, channels, axis=-1)
    if channels == 1 and have == 3:
        return (values @ LUMINANCE)[..., None]
    raise ValueError(f"cannot bring {have} channels to {channels}")


def inside(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of ``size`` scaled to fit inside ``target``, its aspect ratio kept."""
    scale = min(target[0] / size[0], target[1] / size[1])
    return min(target[0], max(1, round(size[0] * scale))), min(target[1], max(1, round(size[1] * scale)))


def on_paper(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[h, w, c]`` centred on a ``size`` canvas of its paper colour (each channel's border median)."""
    height, width = values.shape[:2]
    paper = [float(np.median(_border(values[..., k]))) for k in range(values.shape[-1])]
    canvas = np.empty((*size, values.shape[-1]), np.float32)
    canvas[:] = paper
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    canvas[top:top + height, left:left + width] = values
    return canvas


def fit_values(values: np.ndarray, size: tuple[int, int], fit: str) -> np.ndarray:
    """float ``[h, w, c]`` -> ``[*size, c]`` by ``fit`` (resize, crop or pad), with the training data's resizer.

    Each channel goes through :func:`aezoo.datasets.image_files.fitted` as a 32-bit float image, so
    arrays are scaled and cropped exactly as the training folders' image files are.
    """
    if tuple(values.shape[:2]) == tuple(size):
        return values
    if fit == "pad":
        return on_paper(fit_values(values, inside(values.shape[:2], size), "resize"), size)
    from aezoo.datasets.image_files import fitted  # here: aezoo.datasets imports TensorFlow

    channels = [np.asarray(fitted(Image.fromarray(np.ascontiguousarray(values[..., k], np.float32), mode="F"),
                                  size, fit), np.float32) for k in range(values.shape[-1])]
    return np.stack(channels, axis=-1)


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclasses.dataclass
class ImageFile:
    """One image file; ``name`` is the output path relative to the output folder, without suffix."""

    path: Path
    name: str
    framing: Framing = dataclasses.field(default_factory=Framing)

    def read(self, invert: bool | None = None) -> np.ndarray:
        """The image brought to the model's shape: float32 ``framing.image_dims`` in [0, 1]."""
        return load_image(self.path, invert, self.framing)

    def chunks(self, invert: bool | None = None, batch_size: int = 1) -> Iterator[np.ndarray]:
        """One chunk ``[1, *image_dims]`` (the same interface as :meth:`ArrayFile.chunks`)."""
        yield self.read(invert)[None]


@dataclasses.dataclass
class ArrayFile:
    """One ``.npy`` or IDX file of ``count`` images, its header checked on opening, read batch by batch."""

    path: Path
    name: str
    kind: str  # "npy" or "idx"
    shape: tuple[int, ...]  # as stored
    dtype: np.dtype
    # blocks(batch_size): the raw stored values, up to batch_size images at a time, in order
    _blocks: Callable[[int], Iterator[np.ndarray]] = dataclasses.field(repr=False)
    framing: Framing = dataclasses.field(default_factory=Framing)

    @property
    def stacked(self) -> bool:
        """Whether the first axis counts images (``[N,H,W(,C)]``), not one image's rows."""
        return self.framing.stacked(self.shape)

    @property
    def count(self) -> int:
        return self.shape[0] if self.stacked else 1

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The shape of this file's results: its own when the model takes it as it is."""
        return self.framing.output_shape(self.shape)

    def chunks(self, invert: bool | None = None, batch_size: int = 1024) -> Iterator[np.ndarray]:
        """Like :meth:`batches`; ``invert=True`` inverts (arrays are never inverted automatically)."""
        return self.batches(batch_size, invert)

    def batches(self, batch_size: int, invert: bool | None = None) -> Iterator[np.ndarray]:
        """float32 ``[b, *image_dims]`` batches in [0, 1]; a NaN, inf or out-of-range value raises UsageError."""
        start = 0
        one = tuple(self.shape[1:]) if self.stacked else tuple(self.shape)
        for raw in self._blocks(batch_size):
            chunk = raw.reshape(-1, *one)
            pixels = normalize_pixels(chunk, f"{self.path}", offset=start if self.stacked else None)
            yield self.framing.bring(pixels, invert)
            start += len(chunk)

    def validate(self, batch_size: int = 1024) -> None:
        """Read the whole file once and raise UsageError at its first bad value, writing nothing.

        Run before any result of this file is written, so a file that is skipped leaves no output.
        """
        for _ in self.batches(batch_size):
            pass


Source = ImageFile | ArrayFile


def collect_inputs(paths: Sequence[str | os.PathLike[str]], reserved: Iterable[str] = (),
                   framing: Framing | None = None) -> tuple[list[Source], list[UsageError]]:
    """Expand files and folders into sources; problems are returned in input order, not raised.

    ``framing`` (default: a 28x28 digit model's) is how the sources bring their images to the
    model's shape; an array file it cannot take is a problem.

    Output names mirror the inputs: ``x.png`` -> ``x``, ``folder/sub/x.png`` -> ``folder/sub/x``
    (see :func:`assign_names` for how two inputs that would share an output are told apart).
    Every file is sniffed first and named once all are known, so the names do not depend on
    which input came first more than they must.
    """
    found: list[tuple[Path, str, str]] = []  # (file, wanted name, kind)
    problems: list[tuple[int, UsageError]] = []  # (position among the found files, problem)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _looks_supported(p)
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not files:
                problems.append((len(found), UsageError(f"{path}: folder holds no {IMAGE_KINDS}, .npy or IDX files")))
            for file in files:
                stem = (Path(path.resolve().name or "input") / file.relative_to(path)).with_suffix("")
                _sniff_into(file, stem.as_posix(), found, problems)
        elif path.is_file():
            _sniff_into(path, path.with_suffix("").name, found, problems)
        else:
            problem = "not a regular file or folder" if path.exists() else "no such file or folder"
            problems.append((len(found), UsageError(f"{path}: {problem}")))
    framing = framing or Framing()
    names = assign_names([(name, kind == "idx") for _, name, kind in found], reserved)
    sources: list[Source] = []
    for position, ((file, _, kind), name) in enumerate(zip(found, names)):
        try:
            sources.append(ImageFile(file, name, framing) if kind == "image"
                           else open_array(file, name, kind, framing))
        except UsageError as problem:
            problems.append((position, problem))
    return sources, [problem for _, problem in sorted(problems, key=lambda item: item[0])]


def _looks_supported(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(IMAGE_SUFFIXES + (".npy",)) or "idx" in name


def _sniff_into(path: Path, name: str, found: list[tuple[Path, str, str]],
                problems: list[tuple[int, UsageError]]) -> None:
    try:
        kind = sniff(path)
    except UsageError as problem:
        problems.append((len(found), problem))
        return
    # IDX names often end in ".gz"; drop what is left of the suffixes too ("x-idx3-ubyte.gz").
    found.append((path, name.removesuffix("-ubyte") if kind == "idx" else name, kind))


def _parents(name: str) -> list[str]:
    parts = name.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts))]


def assign_names(wanted: Sequence[tuple[str, bool]], reserved: Iterable[str] = ()) -> list[str]:
    """Unique output names for ``(name, is_folder)`` pairs, in the same order.

    A file output (``name.png``, ``name.npy``) owns its name; a folder output (an IDX file's
    ``name/0.png``...) owns its name and everything below it. Two outputs collide when they own
    the same name or one would land inside the other's folder; the later one, and any one named
    like a ``reserved`` output (e.g. the contact sheet), gets a ``-2``, ``-3``... suffix. Files
    are named first and folders after them, deepest first, so renaming a folder never moves a
    file and a renamed name never collides again.
    """
    names: list[str | None] = [None] * len(wanted)
    taken: set[str] = set(reserved)
    for i, (name, is_folder) in enumerate(wanted):
        if not is_folder:
            names[i] = _first_free(name, lambda c: c in taken)
            taken.add(names[i])
    below = {parent for name in taken for parent in _parents(name)}  # folders that hold a file output
    folders = sorted((i for i, (_, is_folder) in enumerate(wanted) if is_folder),
                     key=lambda i: -wanted[i][0].count("/"))
    for i in folders:
        names[i] = _first_free(wanted[i][0], lambda c: c in taken or c in below)
        taken.add(names[i])
        below.update(_parents(names[i]))
    return [name for name in names if name is not None]


def _first_free(name: str, used: Callable[[str], bool]) -> str:
    candidate, k = name, 2
    while used(candidate):
        candidate, k = f"{name}-{k}", k + 1
    return candidate


def sniff(path: Path) -> str:
    """``"image"``, ``"npy"`` or ``"idx"``: by content first (suffixes lie), then by suffix."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as error:
        raise UsageError(f"{path}: cannot read file ({error.strerror or error})") from None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:2] == b"\x1f\x8b" or (len(head) >= 4 and head[:2] == b"\0\0" and head[2] in (8, 9, 11, 12, 13, 14)):
        return "idx"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"  # a corrupt image: let Pillow say what is wrong with it
    if suffix == ".npy":
        raise UsageError(f"{path}: not a .npy file (no NUMPY header); it may be truncated or corrupt")
    raise UsageError(f"{path}: not a {IMAGE_KINDS}, .npy or IDX file")


def open_array(path: Path, name: str, kind: str, framing: Framing | None = None) -> ArrayFile:
    """Check an array file's header (shape, dtype, size against the file) without reading its data."""
    framing = framing or Framing()
    if kind == "idx":
        return _open_idx(path, name, framing)
    shape, dtype, read = _npy_reader(path, framing)
    rows = shape[0] if framing.stacked(shape) else 1

    def blocks(batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, rows, batch_size):
            yield read(start, min(start + batch_size, rows))

    return ArrayFile(path, name, kind, shape, dtype, blocks, framing)


def _open_idx(path: Path, name: str, framing: Framing) -> ArrayFile:
    from aezoo.datasets.idx import iter_idx_rows, read_idx_header

    header = read_idx_header(path)
    if len(header.shape) == 1:
        raise UsageError(f"{path}: is an IDX label file (shape [{header.shape[0]}]), not images")
    framing.check(path, header.shape, header.dtype)
    stacked = framing.stacked(header.shape)

    def blocks(batch_size: int) -> Iterator[np.ndarray]:
        # One image: its first axis is rows of pixels, all read at once.
        return iter_idx_rows(header, batch_size if stacked else header.shape[0])

    return ArrayFile(path, name, "idx", header.shape, header.dtype.newbyteorder("="), blocks, framing)


def _npy_reader(path: Path, framing: Framing) -> tuple[tuple[int, ...], np.dtype, Callable[[int, int], np.ndarray]]:
    """Header and a ``read(start, stop)`` of a ``.npy``, reading only the rows asked for.

    Plain file reads, not a memory map: a map's pages stay counted in the process's resident
    memory once touched, so denoising a big array through one looks like a leak.
    """
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                shape, fortran, dtype = None, True, None  # rare format 3.0: let np.load do it
            offset = f.tell()
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: not a readable .npy file ({error})") from None
    if dtype is not None and dtype.hasobject:
        # Object arrays are pickles, and unpickling runs code from the file: never.
        raise UsageError(f"{path}: holds Python objects (pickled), not numbers; save a uint8 or float array")
    if fortran:
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UsageError(f"{path}: not a readable .npy file ({error})") from None
        framing.check(path, array.shape, array.dtype)
        stacked = framing.stacked(array.shape)
        return array.shape, array.dtype, lambda a, b: np.asarray(array[a:b] if stacked else array)
    framing.check(path, shape, dtype)
    stacked = framing.stacked(shape)
    rows = shape[0] if stacked else 1
    row = math.prod(shape[1:] if stacked else shape) * dtype.itemsize  # Python ints: never wraps
    size = os.path.getsize(path)
    if size < offset + rows * row:
        raise UsageError(f"{path}: truncated: header says shape {shape} ({rows * row} bytes of data) "
                         f"but the file holds {size - offset} bytes")

    def read(start: int, stop: int) -> np.ndarray:
        with open(path, "rb") as f:
            f.seek(offset + start * row)
            data = f.read((stop - start) * row)
        if len(data) != (stop - start) * row:
            raise UsageError(f"{path}: truncated while reading images {start}-{stop - 1}")
        return np.frombuffer(data, dtype=dtype)

    return tuple(shape), dtype, read


def normalize_pixels(raw: np.ndarray, where: str, offset: int | None = 0) -> np.ndarray:
    """uint8 0-255 or float 0-1 -> float32 in [0, 1], refusing NaN, inf and out-of-range floats.

    ``offset`` is the index of ``raw[0]`` in the whole input, so a message can name the bad image.
    """
    if raw.dtype == np.uint8:
        return raw.astype(np.float32) / np.float32(255)
    pixels = raw.astype(np.float32)
    finite = np.isfinite(pixels)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        value = pixels[tuple(bad)]
        at = "" if offset is None else f" in image {offset + int(bad[0])}"
        raise UsageError(f"{where}: contains {value}{at}; pixel values must be finite numbers in [0, 1]")
    low, high = float(pixels.min()), float(pixels.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        outside = (pixels < -RANGE_TOLERANCE) | (pixels > 1 + RANGE_TOLERANCE)
        at = "" if offset is None else f" (first in image {offset + int(np.argwhere(outside)[0][0])})"
        hint = "; divide 0-255 pixels by 255, or store them as uint8" if high > 1.5 else ""
        raise UsageError(f"{where}: float pixel values span [{low:g}, {high:g}]{at}; "
                         f"they must be in [0, 1]{hint}")
    return np.clip(pixels, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Images


def load_image(path: str | os.PathLike[str], invert: bool | None = None, framing: Framing | None = None) -> np.ndarray:
    """Read an image file brought to the model's shape (default: a 28x28 MNIST-style digit, :func:`mnist_style`).

    float32 ``framing.image_dims`` in [0, 1]. Images over :data:`MAX_PIXELS` are refused from their
    header, before their pixels are decoded.
    """
    path = Path(path)
    try:
        with _open_image(path) as image:
            if image.format not in IMAGE_FORMATS:
                raise UsageError(f"{path}: is a {image.format} image; use {IMAGE_KINDS}")
            _check_pixels(path, image.width, image.height)
            image.load()
            # Turned upright before it is fitted, so a camera's portrait photo is cropped as seen.
            return (framing or Framing()).picture(ImageOps.exif_transpose(image), invert)
    except UsageError:
        raise
    except Image.DecompressionBombError:
        # Pillow's own, higher limit tripped while reading the header: the same refusal as ours.
        raise UsageError(f"{path}: image too large: over {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels; "
                         f"{_PIXEL_ADVICE}") from None
    except (OSError, ValueError, SyntaxError) as error:
        # Pillow's messages say what is wrong ("cannot identify image file", "image file is truncated").
        message = str(error).replace(str(path), "").replace("''", "").strip(" :") or type(error).__name__
        raise UsageError(f"{path}: cannot read image ({message})") from None


_PIXEL_ADVICE = f"aezoo reads images of up to {MAX_PIXELS:,} pixels (aezoo.imageio.MAX_PIXELS); scale it down first"


@contextlib.contextmanager
def _open_image(path: Path) -> Iterator[Image.Image]:
    # Pillow warns (DecompressionBombWarning) about big images as it opens them; aezoo's lower
    # limit refuses them with its own line instead, so the raw warning would only be noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(path)
    with image:
        yield image


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise UsageError(f"{path}: image too large: {width}x{height} is {width * height:,} pixels; {_PIXEL_ADVICE}")


def _border(gray: np.ndarray) -> np.ndarray:
    width = max(1, min(gray.shape) // 14)
    return np.concatenate([gray[:width].ravel(), gray[-width:].ravel(), gray[:, :width].ravel(), gray[:, -width:].ravel()])


def looks_dark_on_light(gray: np.ndarray) -> bool:
    """True when the paper (the image's border) is lighter than mid-grey: ink must be inverted."""
    return bool(np.median(_border(gray)) > 0.5)


def mnist_style(gray: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """A grayscale image in [0, 1] made into a 28x28 light-on-dark digit the way MNIST was made.

    ``invert``: ``None`` detects dark ink on light paper from the border. 28x28 images are only
    inverted (they may be noisy digits, whose noise would ruin a bounding box); other sizes get
    the background subtracted, the ink stretched to peak at 1, the bounding box of the ink scaled
    to fit 20x20 keeping its aspect ratio (antialiased), and the result placed in 28x28 with its
    centre of mass at the centre.
    """
    gray = np.asarray(gray, dtype=np.float32)
    if invert is None:
        invert = looks_dark_on_light(gray)
    ink = 1.0 - gray if invert else gray
    if ink.shape == (SIZE, SIZE):
        return np.clip(ink, 0.0, 1.0).astype(np.float32)
    return fit_digit(ink)


def fit_digit(ink: np.ndarray) -> np.ndarray:
    """Light-on-dark image of any size -> MNIST's 28x28 framing (see :func:`mnist_style`)."""
    ink = np.clip(ink - np.median(_border(ink)), 0.0, None)
    peak = float(ink.max(initial=0.0))
    canvas = np.zeros((SIZE, SIZE), np.float32)
    if peak < BLANK_LEVEL:
        return canvas  # blank paper: nothing to centre
    ink = ink / peak
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    digit = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS))
    digit = np.clip(digit, 0.0, 1.0)
    mass = float(digit.sum())
    # Centre of mass in pixel-centre coordinates (+0.5), moved onto the field's centre (14, 14).
    cy = float(digit.sum(axis=1) @ np.arange(new_h)) / mass + 0.5 if mass > 0 else new_h / 2
    cx = float(digit.sum(axis=0) @ np.arange(new_w)) / mass + 0.5 if mass > 0 else new_w / 2
    top = min(max(round(SIZE / 2 - cy), 0), SIZE - new_h)
    left = min(max(round(SIZE / 2 - cx), 0), SIZE - new_w)
    canvas[top:top + new_h, left:left + new_w] = digit
    return canvas


# ---------------------------------------------------------------------------------------------
# Outputs


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255).astype(np.uint8)


def save_png(target: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an image in [0, 1] as an 8-bit PNG, atomically: grey ``[H, W]`` or ``[H, W, 1]``, or RGB ``[H, W, 3]``."""
    array = to_uint8(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    picture = Image.fromarray(array, mode="L" if array.ndim == 2 else "RGB")
    files.write_with(target, lambda tmp: picture.save(tmp, format="PNG"))


@contextlib.contextmanager
def npy_writer(target: str | os.PathLike[str], shape: tuple[int, ...],
               dtype: np.dtype | type = np.float32) -> Iterator[Callable[[np.ndarray], None]]:
    """Write an ``.npy`` of known ``shape`` chunk by chunk (rows along axis 0), atomically.

    Yields ``write(chunk)``. The file appears only if every row was written and no exception
    escaped the ``with`` block, so a bad chunk halfway through leaves no half-written array.
    """
    dtype = np.dtype(dtype)
    total = int(np.prod(shape))
    written = 0
    with files.atomic_path(target, size=128 + total * dtype.itemsize) as tmp, open(tmp, "wb") as f:
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
        np.lib.format.write_array_header_1_0(f, header)

        def write(chunk: np.ndarray) -> None:
            nonlocal written
            data = np.ascontiguousarray(chunk, dtype=dtype)
            f.write(data.tobytes())
            written += data.size

        yield write
        if written != total:
            raise RuntimeError(f"{target}: wrote {written} of {total} values")


class ContactSheet:
    """Keeps the first ``limit`` images of each kind (input, noisy, denoised) and draws them side by side.

    Images are grey or colour, all of one size (the model's); the sheet is in colour when they are.
    Bounded memory whatever the number of images: later images are not kept.
    """

    def __init__(self, columns: Sequence[str], limit: int = 64, per_row: int = 8, scale: int = 2) -> None:
        self.columns = list(columns)
        self.limit, self.per_row, self.scale = limit, per_row, scale
        self.tiles: list[list[np.ndarray]] = []

    @property
    def full(self) -> bool:
        return len(self.tiles) >= self.limit

    def add(self, *images: np.ndarray) -> None:
        """Add one batch per column (each ``[b,H,W]``, ``[b,H,W,1]`` or ``[b,H,W,3]``), as many as still fit."""
        room = self.limit - len(self.tiles)
        if room <= 0:
            return
        parts = [np.asarray(batch, np.float32)[:room] for batch in images]
        parts = [part[..., 0] if part.ndim == 4 and part.shape[-1] == 1 else part for part in parts]
        self.tiles.extend([part[i].copy() for part in parts] for i in range(len(parts[0])))

    @contextlib.contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Tiles added inside the block stay only if it ends without an exception (a skipped input)."""
        kept = len(self.tiles)
        try:
            yield
        except BaseException:
            del self.tiles[kept:]
            raise

    def save(self, target: str | os.PathLike[str]) -> bool:
        """Draw and write the sheet; False (nothing written) when no image was added."""
        if not self.tiles:
            return False
        image_height, image_width = self.tiles[0][0].shape[:2]
        cell_w, cell_h, gap, pad, header = image_width * self.scale, image_height * self.scale, 2, 8, 16
        group = len(self.columns) * (cell_w + gap) - gap
        per_row = min(self.per_row, len(self.tiles))
        rows = math.ceil(len(self.tiles) / per_row)
        width = per_row * (group + pad) + pad
        height = header + rows * (cell_h + pad) + pad
        mode = "RGB" if any(image.ndim == 3 for tile in self.tiles for image in tile) else "L"
        # Mid-grey so black digit backgrounds stand out.
        sheet = Image.new(mode, (width, height), 96 if mode == "L" else (96, 96, 96))
        draw = ImageDraw.Draw(sheet)
        draw.text((pad, 2), " | ".join(self.columns), fill=255 if mode == "L" else (255, 255, 255))
        for k, tile in enumerate(self.tiles):
            x0 = pad + (k % per_row) * (group + pad)
            y0 = header + (k // per_row) * (cell_h + pad)
            for j, image in enumerate(tile):
                picture = Image.fromarray(to_uint8(image)).convert(mode).resize((cell_w, cell_h),
                                                                                 Image.Resampling.NEAREST)
                sheet.paste(picture, (x0 + j * (cell_w + gap), y0))
        files.write_with(target, lambda tmp: sheet.save(tmp, format="PNG"))
        return True


__all__ = [
    "FITS", "IMAGE_SUFFIXES", "MAX_PIXELS", "MNIST_SHAPE", "ArrayFile", "ContactSheet", "Framing", "ImageFile",
    "Source", "assign_names", "check_fit", "collect_inputs", "default_fit", "fit_digit", "fit_values",
    "load_image", "looks_dark_on_light", "mnist_style", "normalize_pixels", "npy_writer", "save_png", "sniff",
    "to_channels",
]
