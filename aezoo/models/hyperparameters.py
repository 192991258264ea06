"""Hyperparameters declared once: name, default, meaning, valid values and search space.

A family lists the :class:`Hyperparameter` objects its model's constructor takes (the shared
architecture ones below, plus its own). From that one declaration aezoo derives:

* the constructor's checks (``BETA.check(beta)`` raises ``ValueError`` naming the value),
* the command-line flags (``--beta``, ``--iw-samples``; :mod:`aezoo.commands.flags`),
* the validation of a run's settings before anything is trained (:mod:`aezoo.config`),
* the keras-tuner search space (:mod:`aezoo.hypermodels`), whose default is the declared default,
* the family's ``--help`` and ``python -m aezoo models`` lines.

The shared contract test checks that each constructor's signature lists exactly its family's
declarations, with the same defaults, so the two cannot drift apart.

This module imports nothing heavy (no TensorFlow): ``--help`` reads it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from aezoo.models import defaults

# ----------------------------------------------------------------------------- search spaces


@dataclasses.dataclass(frozen=True)
class Choice:
    """Search among ``values`` (the default is added); ``ordered``: neighbours are similar."""

    values: tuple[Any, ...]
    ordered: bool = True


@dataclasses.dataclass(frozen=True)
class IntRange:
    """Search the integers ``low`` .. ``high`` (widened to hold the default)."""

    low: int
    high: int


@dataclasses.dataclass(frozen=True)
class LogRange:
    """Search floats from ``low`` to ``high`` on a log scale (widened to hold the default)."""

    low: float
    high: float


Search = Choice | IntRange | LogRange

# ----------------------------------------------------------------------------- declarations

KINDS = (int, float, bool, str, tuple)


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One constructor argument of a model family.

    Args:
        name: the constructor argument (``embedding_dim``); the flag is ``--embedding-dim``.
        default: the constructor's default.
        help: what it means, for ``--help`` and the model card.
        kind: ``int``, ``float``, ``bool``, ``str``, or ``tuple`` (an image shape: three positive
            integers, height, width and channels).
        minimum: the smallest valid value (ints and floats), if any.
        choices: the valid values (strings), if they are few.
        search: how keras-tuner searches it; ``None``: not searched.
        flag: offered on the command line (``seed`` is not: the run's ``--seed`` sets it).
        metavar: the flag's placeholder in ``--help``.
    """

    name: str
    default: Any
    help: str
    kind: type = int
    minimum: float | None = None
    choices: tuple[str, ...] | None = None
    search: Search | None = None
    flag: bool = True
    metavar: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TypeError(f"{self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.default is not None:
            self.check(self.default)

    @property
    def flag_name(self) -> str:
        return "--" + self.name.replace("_", "-")

    def with_default(self, default: Any) -> "Hyperparameter":
        """The same hyperparameter with another family's default."""
        return dataclasses.replace(self, default=default)

    def check(self, value: Any) -> Any:
        """``value`` as the constructor stores it; ``ValueError`` naming it when it is not valid.

        Integral floats from JSON configs or the tuner are accepted for an int; ``None`` is
        accepted when the default is ``None`` (an optional seed).
        """
        if value is None and self.default is None:
            return None
        if self.kind is tuple:
            shape = tuple(value) if isinstance(value, (list, tuple)) else ()
            if len(shape) != 3 or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
                raise ValueError(f"{self.name} must be (height, width, channels), three positive integers, got {value!r}")
            return shape
        if self.kind is bool:
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise ValueError(f"{self.name} must be true or false, got {value!r}")
            return bool(value)
        if self.kind is str:
            if self.choices is not None and value not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}")
            if not isinstance(value, str):
                raise ValueError(f"{self.name} must be a string, got {value!r}")
            return value
        if self.kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not self._in_range(value):
                raise ValueError(f"{self.name} must be {self._int_range_text()}, got {value!r}")
            return value
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or not self._in_range(value)):
            bound = f" >= {self.minimum:g}" if self.minimum is not None else ""
            raise ValueError(f"{self.name} must be a finite number{bound}, got {value!r}")
        return float(value)

    def _in_range(self, value: float) -> bool:
        return self.minimum is None or value >= self.minimum

    def _int_range_text(self) -> str:
        if self.minimum == 1:
            return "a positive integer"
        if self.minimum == 0:
            return "an integer >= 0"
        return "an integer" if self.minimum is None else f"an integer >= {self.minimum:g}"

    def default_text(self) -> str:
        if self.kind is tuple:
            return "x".join(map(str, self.default))
        if self.kind is bool:
            return "on" if self.default else "off"
        return "none" if self.default is None else f"{self.default:g}" if self.kind is float else str(self.default)


def declared(*hyperparameters: Hyperparameter) -> dict[str, Hyperparameter]:
    """Name -> declaration, in constructor order; refuses a name declared twice."""
    table: dict[str, Hyperparameter] = {}
    for hyperparameter in hyperparameters:
        if hyperparameter.name in table:
            raise ValueError(f"hyperparameter {hyperparameter.name!r} is declared twice")
        table[hyperparameter.name] = hyperparameter
    return table


# ----------------------------------------------------------------------------- shared by most families

EMBEDDING_DIM = Hyperparameter(
    "embedding_dim", defaults.EMBEDDING_DIM, "size of the bottleneck (the code of one image)", minimum=1,
    search=Choice((2, 4, 8, 16, 32, 64)), metavar="D")
DEPTH = Hyperparameter(
    "depth", defaults.DEPTH, "convolutions per resolution level", minimum=1, search=IntRange(1, 3), metavar="N")
FILTERS = Hyperparameter(
    "filters", defaults.FILTERS, "filters of the first resolution level, doubled at each level below",
    minimum=1, search=Choice((8, 16, 32, 64)), metavar="N")
ACTIVATION = Hyperparameter(
    "activation", defaults.ACTIVATION, "activation of the hidden layers (a Keras activation name)", kind=str,
    metavar="NAME")
BATCH_NORM = Hyperparameter(
    "batch_norm", defaults.BATCH_NORM, "batch normalisation after each hidden convolution", kind=bool)
SEED = Hyperparameter(
    "seed", None, "seed of the model's own randomness (sampling in training, codebook restarts)", flag=False)

IMAGE_SHAPE = Hyperparameter(
    "image_shape", defaults.IMAGE_SHAPE, "(height, width, channels) of the images (set from the data)", kind=tuple,
    flag=False)

#: The convolutional encoder/decoder's arguments, in constructor order (``image_shape`` comes last).
ARCHITECTURE = (EMBEDDING_DIM, DEPTH, FILTERS, ACTIVATION, BATCH_NORM)

BETA = Hyperparameter(
    "beta", 1.0, "weight of the KL term (1: the ELBO; more: a smoother, less detailed code)", kind=float,
    minimum=0.0, search=LogRange(0.25, 4.0), metavar="B")


__all__ = ["ACTIVATION", "ARCHITECTURE", "BATCH_NORM", "BETA", "Choice", "DEPTH", "EMBEDDING_DIM", "FILTERS",
           "Hyperparameter", "IMAGE_SHAPE", "IntRange", "LogRange", "SEED", "Search", "declared"]
