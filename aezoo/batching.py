"""The "pending batch, then flush" loop, written once: collect items, hand them on ``size`` at a time.

Items that arrive one by one (image files, trials, benchmark rows) are worth handing to a model
or a writer in batches, but the last batch is usually short and must not be forgotten::

    with PendingBatch(64, lambda images: write(model.denoise(np.stack(images)))) as pending:
        for path in paths:
            pending.add(read(path))
    # leaving the block flushed the short last batch

:meth:`PendingBatch.flush` also hands on a short batch early, for when order matters (e.g. an
array file comes next in the input and its results must follow the pending images). No
TensorFlow here: this module is plain Python.
"""

from __future__ import annotations

from types import TracebackType
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")


class PendingBatch(Generic[T]):
    """Collects items and calls ``flush(items)`` with every ``size`` of them, in arrival order.

    ``flush`` receives a new list each time (it may keep it). The items are taken out of the
    pending batch before ``flush`` runs, so an exception from ``flush`` loses that batch rather
    than handing it on twice. Used as a context manager, a normal exit flushes what is left; an
    exception leaves it unflushed, since half-done work should not be written out.
    """

    def __init__(self, size: int, flush: Callable[[list[T]], object]) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch size must be a positive integer, got {size!r}")
        self.size = size
        self._flush = flush
        self._items: list[T] = []
        self.flushed_batches = 0
        self.flushed_items = 0

    def __len__(self) -> int:
        """Items waiting for the next flush."""
        return len(self._items)

    def add(self, item: T) -> None:
        """Add one item; flushes when ``size`` items are pending."""
        self._items.append(item)
        if len(self._items) >= self.size:
            self.flush()

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.add(item)

    def flush(self) -> None:
        """Hand on whatever is pending now (nothing happens when nothing is pending)."""
        if not self._items:
            return
        items, self._items = self._items, []
        self.flushed_batches += 1
        self.flushed_items += len(items)
        self._flush(items)

    def __enter__(self) -> PendingBatch[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None:
            self.flush()


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), lazily: the pull form of :class:`PendingBatch`."""
    batches: list[list[T]] = []
    pending = PendingBatch(size, batches.append)
    for item in items:
        pending.add(item)
        yield from batches
        batches.clear()
    pending.flush()
    yield from batches


__all__ = ["PendingBatch", "batched"]
