"""Which sampler generates for a model, and getting it fitted, saved and loaded in its model folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aezoo.errors import UsageError
from aezoo.families import default_sampler
from aezoo.models.capabilities import LATENT_SPACE, has
from aezoo.samplers import SAMPLERS, sampler_class, samplers_for
from aezoo.samplers.base import Sampler


def choose_sampler(model: Any, name: str | None = None) -> str | None:
    """The sampler ``name`` (checked against ``model``), else the model's default; ``None`` if it cannot generate.

    Raises:
        UsageError: ``name`` is unknown, or does not apply to ``model`` (saying why and what does).
    """
    if name is None:
        return default_sampler(model) or next(iter(samplers_for(model)), None)
    if name not in SAMPLERS:
        raise UsageError(f"--sampler {name}: unknown; choose one of {', '.join(SAMPLERS)}")
    reason = sampler_class(name).why_not(model)
    if reason:
        usable = samplers_for(model)
        offer = f"; it can use {', '.join(usable)}" if usable else ""
        raise UsageError(f"--sampler {name} does not apply to {model.name}: {reason}{offer}")
    return name


def why_not_generative(model: Any) -> str:
    """The one clause that says why ``model`` cannot generate at all."""
    if not has(model, LATENT_SPACE):
        return "it has no latent space to sample codes from (it maps images to images)"
    return "no sampler applies to its latent space"


def fit_sampler(model: Any, folder: str | os.PathLike[str], train_images: Any, name: str | None = None,
                seed: int = 0, **options: Any) -> Sampler | None:
    """Fit the sampler ``name`` (default: the model's) on the clean training images and save it in ``folder``.

    ``options`` go to the sampler's constructor (e.g. a PixelCNN's ``epochs``). Returns ``None``
    for a model that cannot generate.
    """
    chosen = choose_sampler(model, name)
    if chosen is None:
        return None
    sampler = sampler_class(chosen)(model, **options)
    if sampler.needs_fit:
        sampler.fit(train_images, seed=seed)
        sampler.save(folder)
    return sampler


def load_sampler(model: Any, folder: str | os.PathLike[str], name: str | None = None) -> Sampler | None:
    """The sampler ``name`` (default: the model's) as saved in the model's ``folder``; ``None`` if it
    cannot generate. ``UsageError`` when a sampler that learns is missing or corrupt."""
    chosen = choose_sampler(model, name)
    return None if chosen is None else sampler_class(chosen).load(model, Path(folder))


def sampler_is_saved(model: Any, folder: str | os.PathLike[str], name: str | None = None) -> bool:
    chosen = choose_sampler(model, name)
    return chosen is not None and sampler_class(chosen).is_saved(folder)


__all__ = ["choose_sampler", "fit_sampler", "load_sampler", "sampler_is_saved", "why_not_generative"]
