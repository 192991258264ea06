"""aezoo's one use of private Keras API, guarded: a Keras release that moves it fails here by name.

``aezoo.models.base.DenoisingAutoencoderBase._maybe_symbolic_build`` overrides Keras's private
``Model._maybe_symbolic_build`` to get multi-worker training past keras-team/keras#20585 (fit()
averages an input batch across workers before the first step, and that eager reduce fails).
No public hook does this, so setup.cfg pins the Keras range it was tested with.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import keras

from aezoo.models.base import DenoisingAutoencoderBase
from tests.helpers import REPO

WORK_AROUND = ("aezoo.models.base.DenoisingAutoencoderBase._maybe_symbolic_build (the multi-worker work-around "
               "for keras-team/keras#20585)")


def test_keras_still_has_the_private_method_the_work_around_overrides():
    assert hasattr(keras.Model, "_maybe_symbolic_build"), (
        f"Keras {keras.__version__} has no Model._maybe_symbolic_build: {WORK_AROUND} overrides nothing now. "
        "Check whether the bug is fixed (multi-worker fit in tests/test_distribute.py) and remove or port the "
        "work-around, then widen the keras range in setup.cfg")
    parameters = list(inspect.signature(keras.Model._maybe_symbolic_build).parameters)
    assert parameters == ["self", "iterator", "data_batch"], (
        f"Keras {keras.__version__} changed Model._maybe_symbolic_build's arguments to {parameters}: "
        f"port {WORK_AROUND}")


def test_the_work_around_overrides_it():
    assert DenoisingAutoencoderBase._maybe_symbolic_build is not keras.Model._maybe_symbolic_build


def test_the_tested_keras_range_is_pinned_and_holds_the_installed_keras():
    requirement = next(line.strip() for line in (REPO / "setup.cfg").read_text().splitlines()
                       if line.strip().startswith("keras>="))
    low, high = (part.split("=")[-1].lstrip("<") for part in requirement.removeprefix("keras").split(","))
    installed = tuple(int(part) for part in keras.__version__.split(".")[:2])
    assert tuple(map(int, low.split("."))) <= installed < tuple(map(int, high.split("."))), (
        f"Keras {keras.__version__} is outside setup.cfg's tested range ({requirement}); {WORK_AROUND} "
        "relies on private API: test it on this Keras, then move the range")
    assert high.count(".") == 1 and high.split(".")[0] == low.split(".")[0], (
        f"setup.cfg's {requirement} allows untested minor releases of Keras; {WORK_AROUND} relies on private API")


def test_no_other_private_keras_name_is_used():
    # A name Keras defines with a leading underscore, read or overridden anywhere in aezoo.
    private = {name for cls in (keras.Model, keras.layers.Layer, keras.callbacks.Callback)
               for name in dir(cls) if name.startswith("_") and not name.startswith("__")}
    found = []
    for path in sorted((REPO / "aezoo").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "name", None)
            if name in private and not isinstance(node, ast.ClassDef):
                found.append(f"{Path(path).relative_to(REPO)}:{node.lineno} {name}")
    assert all("aezoo/models/base.py" in place and "_maybe_symbolic_build" in place for place in found), found
