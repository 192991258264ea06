"""Reading user inputs into model-ready digits, and writing results (PNGs, ``.npy``, contact sheet).

Accepted inputs, each read lazily so any number of them streams in bounded memory:

* PNG/JPEG files (colour or grayscale, up to :data:`MAX_PIXELS`). Images that are not 28x28 are made into
  MNIST-style digits: grayscale, inverted when the ink is darker than the paper, the digit's
  bounding box scaled to fit 20x20 keeping its aspect ratio, then placed in a 28x28 field so its
  centre of mass is at the centre (:func:`mnist_style`).
* ``.npy`` arrays ``[N,28,28]``, ``[N,28,28,1]`` or ``[28,28]``, ``uint8`` 0-255 or float 0-1.
* MNIST IDX image files (``*-idx3-ubyte``, optionally gzipped).
* Folders, searched recursively for all of the above.

Every problem with an input is a :class:`~aezoo.errors.UsageError` whose message starts with the
file's path, so a command can skip the file with a one-line warning and carry on with the others.
Arrays (``.npy``, IDX) are taken as they are: they are assumed to be prepared like MNIST already.
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
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SHAPES = "[N,28,28], [N,28,28,1] or [28,28]"
# Float inputs slightly outside [0, 1] (rounding in someone's preprocessing) are clipped, not refused.
RANGE_TOLERANCE = 1e-3
# An image whose brightest ink (after removing the background) is below this is treated as blank.
BLANK_LEVEL = 0.05
# Pixels brighter than this fraction of the peak ink define the digit's bounding box; fainter ones
# are paper texture or scanner noise and must not make the box (and so the digit) bigger.
INK_THRESHOLD = 0.2
# The largest image (width x height) read: a digit needs far fewer pixels than this, and decoding
# one this size already takes about 16 MB as 8-bit grey and four times that as float32 while it
# is framed. Bigger images are refused from their header, before any pixel is decoded, because a
# small compressed file can declare a huge canvas (12000x12000 fits in 200 KB of PNG).
MAX_PIXELS = 4096 * 4096

_MAGIC = {b"\x89PNG\r\n\x1a\n": "image", b"\xff\xd8\xff": "image", b"\x93NUMPY": "npy"}


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclasses.dataclass
class ImageFile:
    """One PNG/JPEG file; ``name`` is the output path relative to the output folder, without suffix."""

    path: Path
    name: str

    def read(self, invert: bool | None = None) -> np.ndarray:
        """The MNIST-style digit, float32 ``[28,28]`` in [0, 1]."""
        return load_image(self.path, invert)

    def chunks(self, invert: bool | None = None, batch_size: int = 1) -> Iterator[np.ndarray]:
        """One chunk ``[1,28,28]`` (the same interface as :meth:`ArrayFile.chunks`)."""
        yield self.read(invert)[None]


@dataclasses.dataclass
class ArrayFile:
    """One ``.npy`` or IDX file of ``count`` images, its header checked on opening, read batch by batch."""

    path: Path
    name: str
    kind: str  # "npy" or "idx"
    shape: tuple[int, ...]  # as stored: the output array keeps this shape
    dtype: np.dtype
    # blocks(batch_size): the raw stored values, up to batch_size images at a time, in order
    _blocks: Callable[[int], Iterator[np.ndarray]] = dataclasses.field(repr=False)

    @property
    def count(self) -> int:
        return 1 if len(self.shape) == 2 else self.shape[0]

    def chunks(self, invert: bool | None = None, batch_size: int = 1024) -> Iterator[np.ndarray]:
        """Like :meth:`batches`; ``invert=True`` inverts (arrays are never inverted automatically)."""
        for chunk in self.batches(batch_size):
            yield 1.0 - chunk if invert else chunk

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """float32 ``[b,28,28]`` batches in [0, 1]; a NaN, inf or out-of-range value raises UsageError."""
        start = 0
        for raw in self._blocks(batch_size):
            chunk = raw.reshape(-1, SIZE, SIZE)
            yield normalize_pixels(chunk, f"{self.path}", offset=start if len(self.shape) > 2 else None)
            start += len(chunk)

    def validate(self, batch_size: int = 1024) -> None:
        """Read the whole file once and raise UsageError at its first bad value, writing nothing.

        Run before any result of this file is written, so a file that is skipped leaves no output.
        """
        for _ in self.batches(batch_size):
            pass


Source = ImageFile | ArrayFile


def collect_inputs(paths: Sequence[str | os.PathLike[str]],
                   reserved: Iterable[str] = ()) -> tuple[list[Source], list[UsageError]]:
    """Expand files and folders into sources; problems are returned in input order, not raised.

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
                problems.append((len(found), UsageError(f"{path}: folder holds no PNG, JPEG, .npy or IDX files")))
            for file in files:
                stem = (Path(path.resolve().name or "input") / file.relative_to(path)).with_suffix("")
                _sniff_into(file, stem.as_posix(), found, problems)
        elif path.is_file():
            _sniff_into(path, path.with_suffix("").name, found, problems)
        else:
            problem = "not a regular file or folder" if path.exists() else "no such file or folder"
            problems.append((len(found), UsageError(f"{path}: {problem}")))
    names = assign_names([(name, kind == "idx") for _, name, kind in found], reserved)
    sources: list[Source] = []
    for position, ((file, _, kind), name) in enumerate(zip(found, names)):
        try:
            sources.append(ImageFile(file, name) if kind == "image" else open_array(file, name, kind))
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
            head = f.read(8)
    except OSError as error:
        raise UsageError(f"{path}: cannot read file ({error.strerror or error})") from None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    if head[:2] == b"\x1f\x8b" or (len(head) >= 4 and head[:2] == b"\0\0" and head[2] in (8, 9, 11, 12, 13, 14)):
        return "idx"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"  # a corrupt image: let Pillow say what is wrong with it
    if suffix == ".npy":
        raise UsageError(f"{path}: not a .npy file (no NUMPY header); it may be truncated or corrupt")
    raise UsageError(f"{path}: not a PNG, JPEG, .npy or IDX file")


def open_array(path: Path, name: str, kind: str) -> ArrayFile:
    """Check an array file's header (shape, dtype, size against the file) without reading its data."""
    if kind == "idx":
        return _open_idx(path, name)
    shape, dtype, read = _npy_reader(path)
    rows = shape[0] if len(shape) > 2 else 1

    def blocks(batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, rows, batch_size):
            yield read(start, min(start + batch_size, rows))

    return ArrayFile(path, name, kind, shape, dtype, blocks)


def _open_idx(path: Path, name: str) -> ArrayFile:
    from aezoo.datasets.idx import iter_idx_rows, read_idx_header

    header = read_idx_header(path)
    if len(header.shape) == 1:
        raise UsageError(f"{path}: is an IDX label file (shape [{header.shape[0]}]), not images")
    _check_array(path, header.shape, header.dtype)
    single = len(header.shape) == 2  # one [28,28] image: its first axis is rows of pixels

    def blocks(batch_size: int) -> Iterator[np.ndarray]:
        return iter_idx_rows(header, SIZE if single else batch_size)

    return ArrayFile(path, name, "idx", header.shape, header.dtype.newbyteorder("="), blocks)


def _npy_reader(path: Path) -> tuple[tuple[int, ...], np.dtype, Callable[[int, int], np.ndarray]]:
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
        _check_array(path, array.shape, array.dtype)
        return array.shape, array.dtype, lambda a, b: np.asarray(array[a:b] if array.ndim > 2 else array)
    _check_array(path, shape, dtype)
    rows = shape[0] if len(shape) > 2 else 1
    row = math.prod(shape[1:] if len(shape) > 2 else shape) * dtype.itemsize  # Python ints: never wraps
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


def _check_array(path: Path | str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    ok = (shape == (SIZE, SIZE) or (len(shape) == 3 and shape[1:] == (SIZE, SIZE))
          or (len(shape) == 4 and shape[1:] == (SIZE, SIZE, 1)))
    if not ok:
        raise UsageError(f"{path}: shape {list(shape)} is not accepted; use {ARRAY_SHAPES} "
                         "(pass other sizes as PNG files to have them resized)")
    if len(shape) > 2 and shape[0] == 0:
        raise UsageError(f"{path}: holds no images (shape {list(shape)})")
    if not (dtype == np.uint8 or np.issubdtype(dtype, np.floating)):
        raise UsageError(f"{path}: dtype {dtype} is not accepted; use uint8 (0-255) or float (0-1)")


def check_array(images: np.ndarray, what: str = "images") -> None:
    """Raise UsageError unless ``images`` has an accepted shape and dtype (values are checked per batch)."""
    _check_array(what, tuple(images.shape), images.dtype)


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


def load_image(path: str | os.PathLike[str], invert: bool | None = None) -> np.ndarray:
    """Read a PNG/JPEG into an MNIST-style float32 ``[28,28]`` digit (see :func:`mnist_style`).

    Images over :data:`MAX_PIXELS` are refused from their header, before their pixels are decoded.
    """
    path = Path(path)
    try:
        with _open_image(path) as image:
            if image.format not in ("PNG", "JPEG", "MPO"):  # MPO: what some cameras call their JPEGs
                raise UsageError(f"{path}: is a {image.format} image; use PNG or JPEG")
            _check_pixels(path, image.width, image.height)
            image.load()
            gray = to_gray(ImageOps.exif_transpose(image))
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
    return mnist_style(gray, invert)


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


def to_gray(image: Image.Image) -> np.ndarray:
    """float32 ``[H,W]`` in [0, 1]; transparent areas become paper (:func:`paper_behind`)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit PNGs: Pillow's "L" would clip them
        values = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if values.max(initial=0) > 255 else 255.0
        return np.clip(values / peak, 0.0, 1.0)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / np.float32(255)
        gray = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32) / np.float32(255)
        return (alpha * gray + (1 - alpha) * paper_behind(gray, alpha)).astype(np.float32)
    return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255)


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
        """Add one batch per column (each ``[b,28,28]`` or ``[b,28,28,1]``), as many as still fit."""
        room = self.limit - len(self.tiles)
        if room <= 0:
            return
        parts = [np.reshape(np.asarray(batch, np.float32), (-1, SIZE, SIZE))[:room] for batch in images]
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
        cell, gap, pad, header = SIZE * self.scale, 2, 8, 16
        group = len(self.columns) * (cell + gap) - gap
        per_row = min(self.per_row, len(self.tiles))
        rows = math.ceil(len(self.tiles) / per_row)
        width = per_row * (group + pad) + pad
        height = header + rows * (cell + pad) + pad
        sheet = Image.new("L", (width, height), 96)  # mid-grey so black digit backgrounds stand out
        draw = ImageDraw.Draw(sheet)
        draw.text((pad, 2), " | ".join(self.columns), fill=255)
        for k, tile in enumerate(self.tiles):
            x0 = pad + (k % per_row) * (group + pad)
            y0 = header + (k // per_row) * (cell + pad)
            for j, image in enumerate(tile):
                picture = Image.fromarray(to_uint8(image), mode="L").resize((cell, cell), Image.Resampling.NEAREST)
                sheet.paste(picture, (x0 + j * (cell + gap), y0))
        files.write_with(target, lambda tmp: sheet.save(tmp, format="PNG"))
        return True


__all__ = [
    "MAX_PIXELS", "ArrayFile", "ContactSheet", "ImageFile", "Source", "assign_names", "check_array",
    "collect_inputs", "fit_digit",
    "load_image", "looks_dark_on_light", "mnist_style", "normalize_pixels", "npy_writer", "paper_behind",
    "save_png", "sniff", "to_gray",
]
