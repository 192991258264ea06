"""Samplers: objects that draw codes for a trained model, so that model plus sampler generates.

Each sampler is a module of its own (pythae's ``BaseSampler``: ``fit`` / ``sample`` / ``save`` /
``load``; see :class:`aezoo.samplers.base.Sampler`). Which apply to a model follows from its
capabilities; each family names its default (``Family.default_sampler``), and ``--sampler NAME``
chooses another where several apply::

    prior      z ~ p(z), the model's own prior                    generative models (the VAE family)
    gmm        a Gaussian mixture fitted to the training codes    any continuous, unconditional code
    pixelcnn   a gated PixelCNN fitted to the training grids      models with a code grid (VQ-VAE)
    two_stage  a second, small VAE fitted to the training codes   any continuous, unconditional code

Importing this package does not import TensorFlow: the table below names each class by its
module, which loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

# --sampler name -> "module:Class"
SAMPLERS: dict[str, str] = {
    "prior": "aezoo.samplers.prior:PriorSampler",
    "gmm": "aezoo.samplers.mixture:GaussianMixtureSampler",
    "pixelcnn": "aezoo.samplers.pixelcnn:PixelCNNSampler",
    "two_stage": "aezoo.samplers.two_stage:TwoStageSampler",
}


def sampler_class(name: str) -> type:
    """The sampler class called ``name``; ``ValueError`` listing the samplers otherwise."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    module, _, class_name = SAMPLERS[name].partition(":")
    return getattr(importlib.import_module(module), class_name)


def samplers_for(model: Any) -> tuple[str, ...]:
    """The names of the samplers that apply to ``model`` (an instance or a class), in table order."""
    return tuple(name for name in SAMPLERS if sampler_class(name).applies_to(model))


def why_not(name: str, model: Any) -> str:
    """``""`` when sampler ``name`` applies to ``model``, else one clause saying why not."""
    return sampler_class(name).why_not(model)


__all__ = ["SAMPLERS", "sampler_class", "samplers_for", "why_not"]
