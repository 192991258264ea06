"""The one exception type for mistakes a user can fix."""

from __future__ import annotations


class UsageError(Exception):
    """A bad flag, file or value supplied by the user.

    Entry points print the message as one line on stderr and exit with status 2,
    without a traceback. Anything else that escapes is a bug in aezoo and keeps its
    traceback. Messages say what was received and what is allowed.
    """
