"""A quiet TensorFlow start for the command line, without importing TensorFlow early.

Importing TensorFlow 2.21 writes start-up lines straight to the process's stderr from C++
(oneDNN, "could not find cuda drivers", absl's "All log messages before absl::InitializeLog()").
They come before absl's logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not filter
them. The only switch is the file descriptor: :func:`quiet_tensorflow` installs an import hook
that points descriptor 2 at ``/dev/null`` while the ``tensorflow`` package itself is being
imported, whenever that happens (a command that fails on a bad input never pays for the import).
Python-level errors raised by the import still surface, after the descriptor is restored.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType
from typing import Sequence

VERBOSE_VARIABLE = "AEZOO_VERBOSE"


def verbose_requested(flag: bool = False) -> bool:
    """``--verbose`` or a non-empty ``AEZOO_VERBOSE`` other than ``0``."""
    return flag or os.environ.get(VERBOSE_VARIABLE, "0") not in ("", "0")


def quiet_tensorflow(verbose: bool = False) -> None:
    """Silence TensorFlow's start-up lines unless ``verbose``; call before TensorFlow is imported.

    Sets the C++ log level to 3 (a user's own ``TF_CPP_MIN_LOG_LEVEL`` wins): level 2 still lets
    through "failed call to cuInit" on every machine without a GPU driver. Errors that matter
    reach the user anyway, as Python exceptions. If TensorFlow is not imported yet, also installs
    the import hook described above.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _SilentImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _SilentImport())


class _SilentImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` with the other finders and wraps its loader in a silenced stderr."""

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: later imports find the module in sys.modules
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _SilentLoader(spec.loader)
        return spec


class _SilentLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> object:  # resource readers, get_filename, ...
        return getattr(self.loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        sys.stderr.flush()
        saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            self.loader.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)
