"""A process-wide "please stop" flag, set by the SIGTERM handler of the commands.

The handler also raises ``KeyboardInterrupt`` at once, but Python swallows an exception raised
while it runs a ``__del__`` method or some library clean-up ("Exception ignored in ..."), and the
run would go on. :class:`aezoo.callbacks.StopOnInterrupt` checks this flag after every step and
raises again, so a terminated run always stops within a step.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def clear() -> None:
    _requested.clear()
