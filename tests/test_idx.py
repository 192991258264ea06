"""aezoo.datasets.idx: headers are checked in Python integers against the file before any data is
read, and gzip is inflated only as far as the header promises (for datasets and inference alike)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from aezoo.datasets.idx import iter_idx_rows, read_idx, read_idx_header, write_idx
from aezoo.datasets.sources import load_folder
from aezoo.errors import UsageError


def idx_header(*shape: int, code: int = 8) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def gzip_bomb(path: Path, header: bytes, inflated_mib: int) -> Path:
    """``header`` followed by ``inflated_mib`` MiB of zeros, gzip-compressed (about 1 KB per MiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    block = bytes(1 << 20)
    with open(path, "wb") as f:
        f.write(compressor.compress(header))
        for _ in range(inflated_mib):
            f.write(compressor.compress(block))
        f.write(compressor.flush())
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int16])
@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_round_trip(tmp_path: Path, name: str, dtype: type) -> None:
    array = (np.random.default_rng(0).random((5, 28, 28)) * 100).astype(dtype)
    write_idx(tmp_path / name, array)
    loaded = read_idx(tmp_path / name)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)
    np.testing.assert_array_equal(np.concatenate(list(iter_idx_rows(read_idx_header(tmp_path / name), 2))), array)


def test_huge_header_is_refused_from_python_integers(tmp_path: Path) -> None:
    # 2^31 x 2^31 x 4 bytes: numpy's int64 product wraps to 0, which matched an empty file.
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(idx_header(2**31, 2**31, 4))
    with pytest.raises(UsageError, match=r"header says shape \(2147483648, 2147483648, 4\) "
                                         r"\(18446744073709551616 bytes of data\) but the file holds 0 bytes"):
        read_idx(path)


def test_huge_gzip_header_is_refused_before_inflating(tmp_path: Path) -> None:
    path = tmp_path / "huge-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header(2**31, 28, 28) + bytes(100)))
    with pytest.raises(UsageError, match=r"bytes compressed, which cannot inflate to that much"):
        read_idx_header(path)


def test_gzip_bomb_is_not_inflated_past_what_the_header_promises(tmp_path: Path) -> None:
    bomb = gzip_bomb(tmp_path / "bomb-idx3-ubyte.gz", idx_header(1, 28, 28), inflated_mib=64)
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(UsageError, match=r"header says shape \(1, 28, 28\) \(784 bytes of data\) but the file "
                                             r"holds more"):
            read_idx(bomb)
        with pytest.raises(UsageError, match="holds more"):
            list(iter_idx_rows(read_idx_header(bomb), 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # the 64 MiB of zeros were never held


@pytest.mark.parametrize("cut", [1, 100])
def test_truncated_and_overlong_files(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:-cut])
    with pytest.raises(UsageError, match="truncated or corrupt"):
        read_idx(path)
    path.write_bytes(data + bytes(cut))
    with pytest.raises(UsageError, match=r"but the file holds 2\d\d\d bytes"):
        read_idx(path)
    gz = tmp_path / "x-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(data[:-cut]))
    with pytest.raises(UsageError, match=r"truncated or corrupt: .* the file holds \d+ bytes"):
        read_idx(gz)


def test_broken_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "x-idx3-ubyte.gz"
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(UsageError, match="x-idx3-ubyte.gz"):
        read_idx(path)


def test_training_data_folder_with_a_huge_header_is_one_usage_error(tmp_path: Path) -> None:
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(idx_header(2**31, 2**31, 4))
    with pytest.raises(UsageError, match=r"train-images-idx3-ubyte is truncated or corrupt"):
        load_folder(tmp_path)
