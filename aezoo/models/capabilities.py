"""What a model can do: declared by its class, asked one way everywhere.

A model class lists its capabilities in ``capabilities`` (a frozenset of :class:`Capability`).
Everything outside the family folders asks :func:`has` (or :func:`capabilities_of`) and never
probes for methods with ``hasattr``, never reads a family's name, and never sets attributes on
a model to change what it can do: a VQ-VAE in memory and the same VQ-VAE loaded from its file
answer the same.

Each capability is a promise of methods, written down as a typing ``Protocol`` below, so code
that has asked :func:`has` can be type-checked against the methods it then calls.
:func:`check_declaration` holds a class to its promises when the class is defined (the model
base class calls it from ``__init_subclass__``), so a declaration and an implementation cannot
drift apart.

This module imports nothing heavy: the command line reads capabilities before TensorFlow loads.
"""

from __future__ import annotations

import enum
from typing import Any, Iterable, Protocol


class Capability(enum.Enum):
    """One thing a model can do beyond ``denoise``, which every model does."""

    #: ``encode(images)`` -> embeddings ``[N, *embedding_shape]``; ``decode(embeddings)`` -> images.
    LATENT_SPACE = "latent space"
    #: ``prior()``: a ``tfp`` distribution over codes that the model was trained towards, so decoding
    #: its draws generates new images without anything fitted after training.
    GENERATIVE = "generative"
    #: Inputs are ``(images, labels)``; ``denoise``, ``encode`` and ``decode`` take the labels too.
    CONDITIONAL = "conditional"
    #: ``posterior(inputs)``, ``prior()`` and a Bernoulli decoder: an importance-sampled -log p(x)
    #: (:mod:`aezoo.evaluation.likelihood`) applies.
    LIKELIHOOD = "likelihood"
    #: A discrete code grid: ``codes(images)`` -> integer ``[N, *code_grid_shape]``,
    #: ``decode_codes(indices)``, ``num_codes``; a prior over codes (a PixelCNN) can model it.
    CODE_GRID = "code grid"
    #: A KL term weighted by ``beta``: ``kl_weight`` (a variable a warm-up ramps from 0 to ``beta``)
    #: and ``kl_per_dimension(images)`` (which latent dimensions carry information).
    KL_TERM = "KL term"

    def __str__(self) -> str:
        return self.value


LATENT_SPACE = Capability.LATENT_SPACE
GENERATIVE = Capability.GENERATIVE
CONDITIONAL = Capability.CONDITIONAL
LIKELIHOOD = Capability.LIKELIHOOD
CODE_GRID = Capability.CODE_GRID
KL_TERM = Capability.KL_TERM

# The names a class must define for each capability it declares.
REQUIRED: dict[Capability, tuple[str, ...]] = {
    LATENT_SPACE: ("encode", "decode", "embedding_shape"),
    GENERATIVE: ("prior",),
    CONDITIONAL: ("num_classes",),
    LIKELIHOOD: ("posterior", "prior", "decode"),
    CODE_GRID: ("codes", "decode_codes", "num_codes", "code_grid_shape"),
    KL_TERM: ("beta", "kl_weight", "kl_per_dimension"),
}


class LatentSpaceModel(Protocol):
    """:data:`LATENT_SPACE`: images to codes and back."""

    embedding_shape: tuple[int, ...]

    def encode(self, images: Any, *labels: Any) -> Any: ...

    def decode(self, embeddings: Any, *labels: Any) -> Any: ...


class GenerativeModel(LatentSpaceModel, Protocol):
    """:data:`GENERATIVE`: a prior over codes of its own."""

    def prior(self) -> Any: ...


class ConditionalModel(Protocol):
    """:data:`CONDITIONAL`: told each image's class (an integer below ``num_classes``)."""

    num_classes: int


class LikelihoodModel(GenerativeModel, Protocol):
    """:data:`LIKELIHOOD`: q(z|x), p(z) and p(x|z) for an importance-sampled likelihood."""

    def posterior(self, images: Any, *labels: Any) -> Any: ...


class CodeGridModel(LatentSpaceModel, Protocol):
    """:data:`CODE_GRID`: a grid of integer codes from a codebook of ``num_codes`` vectors."""

    num_codes: int
    code_grid_shape: tuple[int, ...]

    def codes(self, images: Any) -> Any: ...

    def decode_codes(self, indices: Any) -> Any: ...


class HasCapabilities(Protocol):
    capabilities: frozenset[Capability]


def capabilities_of(model: Any) -> frozenset[Capability]:
    """The capabilities a model, a model class or a loaded artifact declares (none if it declares none)."""
    return frozenset(getattr(model, "capabilities", frozenset()))


def has(model: Any, capability: Capability) -> bool:
    """Whether ``model`` (an instance or a class) declares ``capability``."""
    return capability in capabilities_of(model)


def check_declaration(cls: type) -> None:
    """Raise ``TypeError`` if ``cls`` declares a capability without the names it promises."""
    declared = capabilities_of(cls)
    unknown = [c for c in declared if not isinstance(c, Capability)]
    if unknown:
        raise TypeError(f"{cls.__name__}.capabilities holds {unknown!r}, which are not aezoo capabilities")
    for capability in declared:
        missing = [name for name in REQUIRED[capability] if not _defines(cls, name)]
        if missing:
            raise TypeError(f"{cls.__name__} declares the {capability} capability but lacks {', '.join(missing)}")


def _defines(cls: type, name: str) -> bool:
    # Instance attributes set in __init__ (num_codes, embedding_shape) are announced by a class
    # annotation or property; methods are class attributes.
    return any(name in vars(base) or name in getattr(base, "__annotations__", {}) for base in cls.__mro__)


def names(capabilities: Iterable[Capability]) -> list[str]:
    """``["latent space", "generative"]``: the capabilities' names, in the enum's order."""
    chosen = set(capabilities)
    return [str(c) for c in Capability if c in chosen]


def describe(capabilities: Iterable[Capability]) -> str:
    """``"latent space, generative"``, in the enum's order; ``"denoising only"`` for none."""
    return ", ".join(names(capabilities)) or "denoising only"


__all__ = ["CODE_GRID", "CONDITIONAL", "GENERATIVE", "KL_TERM", "LATENT_SPACE", "LIKELIHOOD", "Capability", "CodeGridModel",
           "ConditionalModel", "GenerativeModel", "LatentSpaceModel", "LikelihoodModel", "capabilities_of",
           "check_declaration", "describe", "has", "names"]
