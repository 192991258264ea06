"""The zoo's one list of model families, and the one place that builds a model from a name.

A family is a short name, a model class, preset constructor arguments and a one-line idea.
Everything outside this module asks a model what it *can do*, never what it is *called*:

* ``has_latent_space``: it has ``encode(images)`` and ``decode(embeddings)`` (the U-Net has not);
* ``is_generative``: it has ``sample(n, seed=...)``;
* ``needs_labels``: its inputs are ``(images, labels)`` (the conditional VAE).

These are class attributes of the model classes (see
:class:`~aezoo.models.base.DenoisingAutoencoderBase`), so a loaded model answers them too.
Adding a family is one file in ``models/`` and one line in :data:`FAMILIES`.

Importing this module does not import TensorFlow: a family names its class by import path and
loads it on first use, so ``--help`` can list the families at once.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from types import MappingProxyType
from typing import Any, Mapping

# ``--model`` accepts a family name, a comma list of names, or one of these groups.
GROUPS = {"both": ("ae", "vae")}  # "all" is every family, added below


@dataclasses.dataclass(frozen=True)
class Family:
    """One entry of the zoo: ``build(**hyperparameters)`` makes a model of it."""

    name: str
    class_path: str  # "module:ClassName", imported on first use
    description: str
    preset: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    @property
    def model_class(self) -> type:
        module, _, class_name = self.class_path.partition(":")
        return getattr(importlib.import_module(module), class_name)

    @property
    def has_latent_space(self) -> bool:
        return bool(getattr(self.model_class, "has_latent_space", False))

    @property
    def is_generative(self) -> bool:
        return bool(getattr(self.model_class, "is_generative", False))

    @property
    def needs_labels(self) -> bool:
        return bool(getattr(self.model_class, "needs_labels", False))

    def defaults(self) -> dict[str, Any]:
        """Constructor arguments and their defaults, with this family's preset applied.

        The single source of hyperparameters: CLI flags, the tuner's search space and saved
        configs all read them from here.
        """
        signature = inspect.signature(self.model_class.__init__)
        arguments = {name: p.default for name, p in signature.parameters.items()
                     if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD}
        return arguments | dict(self.preset)

    def build(self, **hyperparameters: Any) -> Any:
        """A new, unbuilt model: the preset, overridden by ``hyperparameters`` this family accepts.

        Unknown names are ignored, so one set of flags can serve every family (``--beta`` means
        nothing to the plain autoencoder). Raises ``ValueError`` for a bad value.
        """
        accepted = self.defaults()
        arguments = dict(self.preset) | {k: v for k, v in hyperparameters.items() if k in accepted}
        arguments.setdefault("name", self.name)
        return self.model_class(**arguments)


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("ae", "aezoo.models.autoencoder:ConvAutoencoder",
           "convolutional autoencoder: noisy image -> 10-d code -> clean image"),
    Family("vae", "aezoo.models.vae:VariationalAutoencoder",
           "variational autoencoder: a Gaussian code per image, trained on the ELBO (reconstruction + KL)"),
    Family("beta_vae", "aezoo.models.vae:VariationalAutoencoder",
           "beta-VAE: the VAE with the KL term weighted 4x, for fewer, smoother latent dimensions",
           MappingProxyType({"beta": 4.0})),
    Family("iwae", "aezoo.models.iwae:ImportanceWeightedAutoencoder",
           "importance-weighted autoencoder: the VAE trained on a K-sample bound tighter than the ELBO"),
    Family("cvae", "aezoo.models.cvae:ConditionalVAE",
           "conditional VAE: encoder and decoder see the digit's class, so the code keeps only the style",
           # beta 2 leaves the class to the label: prior samples drawn for a label show that digit
           # 94% of the time, against 78% at beta 1 (which denoises 1 dB better); README, "The zoo".
           MappingProxyType({"beta": 2.0})),
    Family("vqvae", "aezoo.models.vqvae:VQVAE",
           "vector-quantised VAE: a 7x7 grid of discrete codes from a learned 64-entry codebook"),
    Family("unet", "aezoo.models.unet:UNet",
           "U-Net: skip connections and no bottleneck; the denoising ceiling, with no latent space"),
)}
GROUPS["all"] = tuple(FAMILIES)


def get_family(name: str) -> Family:
    """The family called ``name``; ``ValueError`` listing the families otherwise."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def build(name: str, **hyperparameters: Any) -> Any:
    """``build("vae", embedding_dim=2)``: a new model of the family ``name`` (see :meth:`Family.build`)."""
    return get_family(name).build(**hyperparameters)


def parse_model_list(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"ae"``, ``"ae,vae"``, ``"both"`` or ``"all"`` -> family names in order, without repeats.

    Raises ``ValueError`` naming the first unknown name and listing what is allowed.
    """
    parts = [part.strip() for part in (text.split(",") if isinstance(text, str) else text)]
    names: list[str] = []
    for part in parts:
        if not part:
            continue
        expanded = GROUPS.get(part, (part,))
        for name in expanded:
            if name not in FAMILIES:
                raise ValueError(f"unknown model {name!r}; choose one or more (comma-separated) of "
                                 f"{', '.join(FAMILIES)}, or {', '.join(GROUPS)}")
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError(f"no model given; choose one or more of {', '.join(FAMILIES)}, or {', '.join(GROUPS)}")
    return tuple(names)
