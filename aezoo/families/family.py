"""What a family folder declares (:class:`Family`), and the names ``--model`` takes (:class:`ModelSpec`).

A family is a folder, ``aezoo/families/<name>/``::

    __init__.py     FAMILY = Family(...): the declaration below; imports nothing heavy, so
                    ``--help`` and ``python -m aezoo models`` read it without TensorFlow
    model.py        the keras.Model: call, train_step/test_step, get_config; its docstring
                    states the loss term by term and the paper
    analysis.py     (optional) latent-space measures and report paragraphs only it has
    test_<name>.py  its own guards, one per loss term; the shared contract
                    (tests/test_families.py) runs for it because it is listed

The zoo lists the folders once, in :data:`aezoo.families.FAMILY_FOLDERS`. A family's presets
are further ``--model`` names (``beta_vae`` is the VAE with ``beta=4``): each is a
:class:`ModelSpec`, a family plus the arguments that differ from its defaults.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import MappingProxyType
from typing import Any, Callable, Mapping

from aezoo.models.capabilities import Capability
from aezoo.models.hyperparameters import Hyperparameter, declared


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named set of constructor arguments of one family, offered as its own ``--model`` name."""

    name: str
    arguments: Mapping[str, Any]
    summary: str  # one line for --help: what the arguments change and why


LossInWords = Callable[[Mapping[str, Any]], str]


@dataclasses.dataclass(frozen=True)
class Family:
    """One family folder's declaration.

    Args:
        name: the folder's name and the family's ``--model`` name.
        model: ``"module:ClassName"`` of the model class, imported on first use.
        summary: one line: the idea (``--help``, the leaderboard, the model card).
        paper: the paper the model follows (authors, year, title).
        hyperparameters: the constructor's arguments, in its order (see
            :mod:`aezoo.models.hyperparameters`); flags, checks and the search space come from here.
        loss_in_words: ``config -> str``: the training loss in words for a model with this
            config (the model card and the report quote it).
        presets: further ``--model`` names made of this family with other arguments.
        default_sampler: the sampler that generates for it when none is asked for
            (:mod:`aezoo.samplers`); ``None`` for a family that cannot generate.
        analysis: ``"module"`` of the family's own latent-space measures (optional).
    """

    name: str
    model: str
    summary: str
    paper: str
    hyperparameters: tuple[Hyperparameter, ...]
    loss_in_words: LossInWords
    presets: tuple[Preset, ...] = ()
    default_sampler: str | None = None
    analysis: str | None = None

    def __post_init__(self) -> None:
        declared(*self.hyperparameters)  # refuses a name declared twice
        for preset in self.presets:
            unknown = set(preset.arguments) - set(self.hyperparameter_table)
            if unknown:
                raise ValueError(f"{self.name} preset {preset.name}: unknown arguments {sorted(unknown)}")

    @property
    def hyperparameter_table(self) -> dict[str, Hyperparameter]:
        return {h.name: h for h in self.hyperparameters}

    @property
    def model_class(self) -> type:
        """The Keras model class (imports TensorFlow)."""
        module, _, class_name = self.model.partition(":")
        return getattr(importlib.import_module(module), class_name)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What its models can do, as the model class declares it (imports TensorFlow)."""
        return frozenset(self.model_class.capabilities)

    def analysis_module(self) -> Any | None:
        """The family's own analysis module, or ``None`` when it has none."""
        return None if self.analysis is None else importlib.import_module(self.analysis)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A name ``--model`` takes: a family, or one of its presets.

    ``build(**hyperparameters)`` makes a model: the family's defaults, then the preset's
    arguments, then ``hyperparameters`` (those the family does not take are ignored, so one set
    of flags can serve every family: ``--beta`` means nothing to the plain autoencoder).
    """

    name: str
    family: Family
    preset: Preset | None = None

    @property
    def arguments(self) -> Mapping[str, Any]:
        """The preset's arguments (empty for the family itself)."""
        return self.preset.arguments if self.preset else MappingProxyType({})

    @property
    def summary(self) -> str:
        return self.preset.summary if self.preset else self.family.summary

    @property
    def model_class(self) -> type:
        return self.family.model_class

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.family.capabilities

    @property
    def hyperparameters(self) -> tuple[Hyperparameter, ...]:
        """The family's declarations with this name's defaults (the preset's values)."""
        return tuple(h.with_default(self.arguments[h.name]) if h.name in self.arguments else h
                     for h in self.family.hyperparameters)

    def defaults(self) -> dict[str, Any]:
        """Constructor argument -> default for this name: the single source of hyperparameters."""
        return {h.name: h.default for h in self.hyperparameters}

    def arguments_for(self, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor arguments ``build`` passes: the preset, overridden by the accepted ones."""
        accepted = self.family.hyperparameter_table
        return dict(self.arguments) | {k: v for k, v in hyperparameters.items() if k in accepted}

    def build(self, **hyperparameters: Any) -> Any:
        """A new, unbuilt model named after this spec; ``ValueError`` for a bad value."""
        arguments = self.arguments_for(hyperparameters)
        arguments.setdefault("name", self.name)
        return self.model_class(**arguments)

    def loss_in_words(self, config: Mapping[str, Any] | None = None) -> str:
        """The loss of a model of this name with ``config`` (default: this name's defaults)."""
        return self.family.loss_in_words(self.defaults() | dict(config or {}))


__all__ = ["Family", "LossInWords", "ModelSpec", "Preset"]
