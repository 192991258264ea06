"""A process-wide "please stop" flag, set by the SIGTERM handler of the commands.

The handler also raises ``KeyboardInterrupt`` at once, but Python swallows an exception raised
while it runs a ``__del__`` method or some library clean-up ("Exception ignored in ..."), and the
run would go on. :class:`aezoo.callbacks.StopOnInterrupt` checks this flag after every step and
raises again, so a terminated run always stops within a step.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

_requested = threading.Event()
_deferring = 0


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """While inside, the SIGTERM handler only sets the flag instead of raising at once.

    Training runs ``fit`` inside it: an exception raised in the middle of a callback's write
    (Keras's ``BackupAndRestore`` does not write atomically) would leave a torn backup that the
    next run cannot resume from. :class:`aezoo.callbacks.StopOnInterrupt` then raises at the next
    step or epoch end, after the backup of a finished epoch is whole.
    """
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def is_deferred() -> bool:
    return _deferring > 0


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def clear() -> None:
    _requested.clear()
