"""aezoo.batching: the pending-batch loop that the commands (and later training tools) share."""

from __future__ import annotations

import pytest

from aezoo.batching import PendingBatch, batched
from tests.helpers import run_python


def test_flushes_every_size_items_and_the_short_rest_on_exit() -> None:
    seen: list[list[int]] = []
    with PendingBatch(3, seen.append) as pending:
        pending.extend(range(7))
        assert seen == [[0, 1, 2], [3, 4, 5]] and len(pending) == 1
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]
    assert (pending.flushed_batches, pending.flushed_items) == (3, 7)


def test_early_flush_keeps_order_and_an_empty_flush_does_nothing() -> None:
    seen: list[list[str]] = []
    pending = PendingBatch(10, seen.append)
    pending.flush()
    pending.add("a")
    pending.flush()
    pending.add("b")
    pending.flush()
    assert seen == [["a"], ["b"]]


def test_an_exception_in_the_block_leaves_the_rest_unflushed() -> None:
    seen: list[list[int]] = []
    with pytest.raises(RuntimeError):
        with PendingBatch(3, seen.append) as pending:
            pending.extend([1, 2])
            raise RuntimeError("half-done work")
    assert seen == []


def test_a_failing_flush_does_not_hand_the_same_items_on_twice() -> None:
    seen: list[list[int]] = []

    def flush(items: list[int]) -> None:
        if not seen:
            seen.append([])
            raise ValueError("first flush fails")
        seen.append(items)

    pending = PendingBatch(2, flush)
    with pytest.raises(ValueError):
        pending.extend([1, 2])
    pending.extend([3, 4])
    assert seen == [[], [3, 4]]


def test_batched_is_lazy() -> None:
    pulled: list[int] = []

    def items():  # type: ignore[no-untyped-def]
        for i in range(5):
            pulled.append(i)
            yield i

    stream = batched(items(), 2)
    assert next(stream) == [0, 1] and pulled == [0, 1]
    assert list(stream) == [[2, 3], [4]]
    assert list(batched([], 3)) == []


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_bad_sizes(size: object) -> None:
    with pytest.raises(ValueError, match="batch size must be a positive integer"):
        PendingBatch(size, print)  # type: ignore[arg-type]


def test_no_tensorflow() -> None:
    code = "import sys, aezoo.batching; print('tensorflow' in sys.modules)"
    result = run_python("-c", [code])
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr[-2000:]
