"""Reader for the IDX format that MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the raw data. MNIST images are ``ubyte`` 3-D arrays
``[N, 28, 28]`` and labels ``ubyte`` 1-D arrays ``[N]``. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

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


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (optionally ``.gz``) into a numpy array.

    Raises:
        UsageError: if the file is missing, truncated or not an IDX file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic: decompress whatever the file is called
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise UsageError(f"IDX file not found: {path}") from None
    except (OSError, EOFError) as error:
        raise UsageError(f"cannot read IDX file {path}: {error}") from None

    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise UsageError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_end:
        raise UsageError(f"{path} has a truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise UsageError(
            f"{path} is truncated or corrupt: header says shape {shape} "
            f"({expected} bytes of data) but the file holds {len(raw) - header_end} bytes"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape).astype(dtype.newbyteorder("="))


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
