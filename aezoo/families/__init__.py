"""The zoo's families: one folder each, listed once below.

Adding a family is a folder ``aezoo/families/<name>/`` (see :mod:`aezoo.families.family` for
what it holds) and one line in :data:`FAMILY_FOLDERS`. Everything else (the ``--model`` names,
the command-line flags, the tuner's search space, the model card, the report, the leaderboard,
the shared tests) reads what the folders declare.

Importing this package reads each folder's ``__init__.py`` only, which imports nothing heavy:
``--help`` lists the zoo without TensorFlow. The model classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from aezoo.families.family import Family, ModelSpec, Preset

# THE family list: one line per family folder, in the order tables and --help show them.
FAMILY_FOLDERS = (
    "ae",
    "vae",
    "iwae",
    "wae",
    "infovae",
    "cvae",
    "vqvae",
    "aae",
    "unet",
    "rae",
    "btcvae",
    "vamp",
    "dncnn",
)


def _load_families() -> dict[str, Family]:
    families: dict[str, Family] = {}
    for folder in FAMILY_FOLDERS:
        family = importlib.import_module(f"aezoo.families.{folder}").FAMILY
        if family.name != folder:
            raise ValueError(f"aezoo/families/{folder}/ declares a family named {family.name!r}")
        families[folder] = family
    return families


#: Family folder name -> its declaration.
FAMILIES: dict[str, Family] = _load_families()


def _model_specs() -> dict[str, ModelSpec]:
    specs: dict[str, ModelSpec] = {}
    for family in FAMILIES.values():
        for spec in (ModelSpec(family.name, family), *(ModelSpec(p.name, family, p) for p in family.presets)):
            if spec.name in specs:
                raise ValueError(f"the model name {spec.name!r} is declared twice")
            specs[spec.name] = spec
    return specs


#: Every name ``--model`` takes (each family, then its presets) -> what it builds.
MODELS: dict[str, ModelSpec] = _model_specs()

# ``--model`` also takes these groups.
GROUPS: dict[str, tuple[str, ...]] = {"both": ("ae", "vae"), "all": tuple(MODELS)}

#: The plain convolutional autoencoder: what a one-model command (``tune``) and the benchmark's
#: candidates default to, and the model the benchmark builds as the textbook autoencoder's twin.
PLAIN_AUTOENCODER = "ae"


def get_model(name: str) -> ModelSpec:
    """The ``--model`` name ``name``; ``ValueError`` listing the names otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def build(name: str, **hyperparameters: Any) -> Any:
    """``build("vae", embedding_dim=2)``: a new model of the name ``name`` (see :meth:`ModelSpec.build`)."""
    return get_model(name).build(**hyperparameters)


def parse_model_list(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"ae"``, ``"ae,vae"``, ``"both"`` or ``"all"`` -> model names in order, without repeats.

    Raises ``ValueError`` naming the first unknown name and listing what is allowed.
    """
    parts = [part.strip() for part in (text.split(",") if isinstance(text, str) else text)]
    names: list[str] = []
    for part in parts:
        if not part:
            continue
        for name in GROUPS.get(part, (part,)):
            if name not in MODELS:
                raise ValueError(f"unknown model {name!r}; choose one or more (comma-separated) of "
                                 f"{', '.join(MODELS)}, or {', '.join(GROUPS)}")
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError(f"no model given; choose one or more of {', '.join(MODELS)}, or {', '.join(GROUPS)}")
    return tuple(names)


def model_classes() -> tuple[type, ...]:
    """Every family's model class, imported (which registers it with Keras for loading)."""
    return tuple(family.model_class for family in FAMILIES.values())


def spec_for_config(class_name: str, model_name: str | None) -> ModelSpec | None:
    """The ``--model`` name of a saved model: its recorded name if that is of its class, else its family.

    ``class_name`` is the Python class name recorded beside the model (``metrics.json``'s
    ``"class"``, a ``.keras`` file's config); ``model_name`` the name it was built under.
    """
    family = next((f for f in FAMILIES.values() if f.model.endswith(f":{class_name}")), None)
    if family is None:
        return None
    named = MODELS.get(model_name or "")
    return named if named is not None and named.family is family else MODELS[family.name]




def all_hyperparameters() -> dict[str, Any]:
    """Every hyperparameter any family declares, by name (the first declaration; families that share a
    name share its meaning and checks, only defaults differ), in family order."""
    table: dict[str, Any] = {}
    for family in FAMILIES.values():
        for hyperparameter in family.hyperparameters:
            table.setdefault(hyperparameter.name, hyperparameter)
    return table


def family_of(model: Any) -> Family | None:
    """The family whose model class ``model`` is (an instance or a class), or ``None``."""
    cls = model if isinstance(model, type) else type(model)
    return next((family for family in FAMILIES.values()
                 if family.model == f"{cls.__module__}:{cls.__qualname__}"), None)


def default_sampler(model: Any) -> str | None:
    """The sampler that generates for ``model`` when none is asked for (its family's), or ``None``."""
    family = family_of(model)
    return None if family is None else family.default_sampler


__all__ = ["FAMILIES", "FAMILY_FOLDERS", "GROUPS", "MODELS", "PLAIN_AUTOENCODER", "Family", "ModelSpec", "Preset", "all_hyperparameters", "build",
           "default_sampler", "family_of", "get_model", "model_classes", "parse_model_list", "spec_for_config"]
