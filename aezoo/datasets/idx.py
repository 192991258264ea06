"""Reader for the IDX format that MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the raw data. MNIST images are ``ubyte`` 3-D arrays
``[N, 28, 28]`` and labels ``ubyte`` 1-D arrays ``[N]``. Files may be gzip-compressed.

The header is read first and trusted for nothing: the size it claims is computed in Python
integers (a product of uint32s overflows numpy's int64) and checked against what the file can
hold before any data is read, and a gzip stream is inflated only up to that size, so a small
file cannot make the reader allocate or decompress more than its header admits to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from aezoo.errors import UsageError

# Type codes from the IDX specification; MNIST only uses 0x08 (unsigned byte).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data by more than about 1032:1 (a 258-byte match per 2-bit code); a gzip
# file whose header claims more than this much data for its size is lying, so it is not inflated.
MAX_GZIP_RATIO = 1100
_CHUNK = 1 << 20  # inflate and copy 1 MiB at a time


@dataclasses.dataclass(frozen=True)
class IdxHeader:
    """What an IDX file's header says: its element type, its shape and its data size in bytes."""

    path: Path
    dtype: np.dtype  # as stored (big-endian for multi-byte types)
    shape: tuple[int, ...]
    compressed: bool
    offset: int  # bytes of header before the data (in the decompressed stream)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: never wraps


@contextlib.contextmanager
def _open(path: Path) -> Iterator[tuple[BinaryIO, bool]]:
    """The file as a binary stream, inflated when it is gzip whatever it is called, and whether it was."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            yield raw, False
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as inflated:
            yield inflated, True


def _parse_header(path: Path, stream: BinaryIO, compressed: bool) -> IdxHeader:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise UsageError(f"{path} is not an IDX file (bad magic number {magic.hex() or 'empty'})")
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    if ndim == 0 or len(dims) < 4 * ndim:
        raise UsageError(f"{path} has a truncated IDX header")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
    return IdxHeader(path, _IDX_DTYPES[magic[2]], shape, compressed, 4 + 4 * ndim)


def _check_plausible(header: IdxHeader, file_size: int) -> None:
    """Refuse a header claiming more data than the file can hold, before anything is allocated."""
    if header.compressed:
        if header.nbytes > file_size * MAX_GZIP_RATIO:
            raise _truncated(header, f"{file_size} bytes compressed, which cannot inflate to that much")
        return
    held = file_size - header.offset
    if held != header.nbytes:
        raise _truncated(header, f"{held} bytes")


def read_idx_header(path: str | os.PathLike[str]) -> IdxHeader:
    """Read and check an IDX file's header (shape, type, size against the file) without its data.

    Raises:
        UsageError: if the file is missing, unreadable, not an IDX file, or its header claims
            more (or, uncompressed, less) data than the file holds.
    """
    path = Path(path)
    try:
        with _open(path) as (stream, compressed):
            header = _parse_header(path, stream, compressed)
        _check_plausible(header, path.stat().st_size)
    except FileNotFoundError:
        raise UsageError(f"IDX file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as error:
        raise UsageError(f"cannot read IDX file {path}: {error}") from None
    return header


def _truncated(header: IdxHeader, held: str) -> UsageError:
    return UsageError(f"{header.path} is truncated or corrupt: header says shape {header.shape} "
                      f"({header.nbytes} bytes of data) but the file holds {held}")


def _read_block(header: IdxHeader, stream: BinaryIO, size: int, before: int) -> bytearray:
    """Exactly ``size`` bytes of data (``before`` of them were read already), else UsageError."""
    data = bytearray(size)
    view = memoryview(data)
    filled = 0
    while filled < size:
        got = stream.readinto(view[filled:filled + _CHUNK])
        if not got:
            raise _truncated(header, f"{before + filled} bytes")
        filled += got
    return data


def _check_end(header: IdxHeader, stream: BinaryIO) -> None:
    # Only one byte past the promised size is ever inflated, so a gzip bomb stops here.
    if stream.read(1):
        raise _truncated(header, "more")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array in native byte order.

    Raises:
        UsageError: if the file is missing, truncated, longer than its header says, or not an
            IDX file.
    """
    path = Path(path)
    header = read_idx_header(path)
    try:
        with _open(path) as (stream, _):
            stream.read(header.offset)
            data = _read_block(header, stream, header.nbytes, 0)
            _check_end(header, stream)
    except (OSError, EOFError, zlib.error) as error:
        raise UsageError(f"cannot read IDX file {path}: {error}") from None
    array = np.frombuffer(data, dtype=header.dtype).reshape(header.shape)
    return array.astype(header.dtype.newbyteorder("="), copy=False)


def iter_idx_rows(header: IdxHeader, rows: int) -> Iterator[np.ndarray]:
    """The data of an IDX file ``rows`` entries of its first axis at a time, in native byte order.

    Streams (a gzip file is inflated once, front to back) so memory stays at one block. A file
    holding fewer or more bytes than its header says raises UsageError when the reader gets there.
    """
    if rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows}")
    count = header.shape[0]
    row_bytes = math.prod(header.shape[1:]) * header.dtype.itemsize
    native = header.dtype.newbyteorder("=")
    try:
        with _open(header.path) as (stream, _):
            stream.read(header.offset)
            for start in range(0, count, rows):
                stop = min(start + rows, count)
                data = _read_block(header, stream, (stop - start) * row_bytes, start * row_bytes)
                block = np.frombuffer(data, header.dtype).reshape(stop - start, *header.shape[1:])
                yield block.astype(native, copy=False)
            _check_end(header, stream)
    except (OSError, EOFError, zlib.error) as error:
        raise UsageError(f"cannot read IDX file {header.path}: {error}") from None


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``).

    Used by tests and by users who want to hand aezoo their own data in MNIST's format.
    """
    array = np.asarray(array)
    codes = {dtype: code for code, dtype in _IDX_DTYPES.items()}
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big_endian not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64")
    header = bytes([0, 0, codes[big_endian], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    data = header + array.astype(big_endian).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


__all__ = ["IdxHeader", "MAX_GZIP_RATIO", "iter_idx_rows", "read_idx", "read_idx_header", "write_idx"]
