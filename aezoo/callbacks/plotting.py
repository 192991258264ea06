"""Matplotlib set-up shared by the callbacks: a file-only backend, no window, no display needed."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # draw to files; training often runs where there is no screen

import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)

__all__ = ["plt"]
