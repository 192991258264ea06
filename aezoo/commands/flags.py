"""The command-line flags that several commands share, defined without importing TensorFlow.

``--help`` and a mistyped flag must answer at once, so everything here (and everything the
commands' ``add_arguments`` touch) loads without TensorFlow. The libraries that own the values
below import it at module level, so the CLI keeps TF-free copies of the choice lists and of the
defaults it *shows*; ``tests/test_commands.py`` keeps every copy equal to its source. Flags that
map to a setting default to ``None``, meaning "the library's own default": the copies only ever
reach the help text, never a run.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from aezoo.families import FAMILIES, GROUPS, MODELS, all_hyperparameters, parse_model_list
from aezoo.models.hyperparameters import Hyperparameter
from aezoo.samplers import SAMPLERS

# Copies of library constants, kept equal by tests/test_commands.py (source in the comment).
NOISE_KINDS = ("gaussian", "salt_pepper", "mask")  # aezoo.datasets.noise.NOISE_KINDS
DEFAULT_NOISE_STRENGTH = {"gaussian": 0.5, "salt_pepper": 0.2, "mask": 0.3}  # ...noise.DEFAULT_STRENGTH
DATASET_NAMES = ("auto", "mnist", "fashion_mnist", "embedded", "photos", "photos_gray64")  # ...sources.DATASET_NAMES
STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker")  # aezoo.distribute.STRATEGIES
COLOR_MODES = ("grayscale", "rgb")  # aezoo.datasets.image_files.COLOR_MODES
TRAINING_FITS = ("resize", "crop")  # aezoo.datasets.image_files.FITS
LR_SCHEDULES = ("constant", "cosine")  # aezoo.config.LR_SCHEDULES
# aezoo.config.TrainConfig's field defaults, as shown in --help.
TRAINING_DEFAULTS = {"epochs": 10, "batch_size": 48, "learning_rate": 4e-3, "lr_schedule": "cosine",
                     "steps_per_execution": 12, "seed": 0, "strategy": "auto", "validation_fraction": 0.1,
                     "kl_warmup_epochs": 0}

_STRENGTH_MEANING = {"gaussian": "std", "salt_pepper": "fraction of pixels set to 0 or 1",
                     "mask": "fraction of pixels zeroed"}


class ImageSizeType:
    """argparse ``type=`` for ``--image-size``: ``"64"`` -> (64, 64), ``"64x48"`` -> (64, 48) (height x width)."""

    def __call__(self, text: str) -> tuple[int, int]:
        match = re.fullmatch(r"\s*(\d+)\s*(?:[xX*]\s*(\d+))?\s*", text)
        if not match or int(match.group(1)) < 1 or (match.group(2) is not None and int(match.group(2)) < 1):
            raise argparse.ArgumentTypeError(f"{text!r}: give H or HxW in pixels, e.g. 64 or 64x48")
        return int(match.group(1)), int(match.group(2) or match.group(1))


class ModelListType:
    """argparse ``type=`` for ``--model``: a family, a comma list, or a group (``both``, ``all``)."""

    def __call__(self, text: str) -> tuple[str, ...]:
        try:
            return parse_model_list(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None


def families_epilog() -> str:
    """The zoo for ``--help``: one line per family with its idea, then the groups."""
    width = max(map(len, [*MODELS, *GROUPS]))
    lines = ["model families (--model NAME, a comma list, " + " or ".join(GROUPS) + "):"]
    lines += [f"  {name:{width}}  {spec.summary}" for name, spec in MODELS.items()]
    lines += [f"  {name:{width}}  = {','.join(members)}" for name, members in GROUPS.items()]
    lines.append("python -m aezoo models: capabilities and default arguments of each family")
    return "\n".join(lines)


def add_model_list_argument(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    parser.add_argument("--model", type=ModelListType(), default=parse_model_list(default), metavar="MODELS",
                        help=f"which model families to {what}: a name, a comma list, "
                             f"{' or '.join(GROUPS)} (default: {default}; the families are listed below)")


def add_noise_arguments(parser: argparse.ArgumentParser, default: str | None = "gaussian",
                        kind_dest: str = "noise", purpose: str = "the corruption of the clean digits",
                        default_text: str | None = None) -> None:
    """``--noise KIND`` and ``--noise-strength X``: the same two flags in train, tune, denoise and bench.

    ``default=None`` makes the noise optional (denoise adds none unless asked); ``kind_dest`` is
    the attribute that receives the kind. ``default_text`` replaces the default shown in the help
    (when ``None`` stands for a library's).
    """
    group = parser.add_argument_group("noise")
    shown = f" (default: {default_text or default or 'none'})"
    group.add_argument("--noise", dest=kind_dest, choices=NOISE_KINDS, default=default, metavar="KIND",
                       help=f"{purpose}: {', '.join(NOISE_KINDS)}{shown}")
    group.add_argument("--noise-strength", type=float, default=None, metavar="X",
                       help="how strong: " + "; ".join(
                           f"{kind}: {_STRENGTH_MEANING[kind]}, default {DEFAULT_NOISE_STRENGTH[kind]}"
                           for kind in NOISE_KINDS) + " (images are in [0, 1])")


def noise_from_args(args: argparse.Namespace, kind_dest: str = "noise") -> tuple[str | None, float | None]:
    """``(kind, strength)``; a ``None`` strength means the kind's default, ``None`` kind no noise."""
    return getattr(args, kind_dest), args.noise_strength


def add_data_arguments(parser: argparse.ArgumentParser, dataset_default: str = "auto") -> None:
    """Data, noise and seed: the flags of every command that trains (train, tune)."""
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                       help=f"auto: full MNIST if cached or downloadable, else the embedded 5000 digits "
                            f"(default: {dataset_default})")
    group.add_argument("--data-dir", metavar="DIR",
                       help="your images: a folder of image files (PNG, JPEG, BMP, TIFF, WebP; class subfolders give "
                            "labels, train/ and test/ subfolders the splits), of MNIST-format IDX files, or an "
                            ".npy/.npz array file ([N,H,W] or [N,H,W,C]); overrides --dataset")
    group.add_argument("--image-size", type=ImageSizeType(), default=None, metavar="H[xW]",
                       help="bring every image to this size (default: as stored; needed when sizes differ)")
    group.add_argument("--fit", choices=TRAINING_FITS, default=None,
                       help="how --image-size is reached: resize, or crop to its aspect ratio first (default: resize)")
    group.add_argument("--color-mode", choices=COLOR_MODES, default=None,
                       help="grayscale (1 channel) or rgb (3) (default: what the data holds)")
    group.add_argument("--validation-fraction", type=float, default=None, metavar="F",
                       help="share of each class's training images held out for validation: model selection "
                            f"and tuning read it, the test split is scored once at the end "
                            f"(default: {TRAINING_DEFAULTS['validation_fraction']})")
    group.add_argument("--seed", type=int, default=None,
                       help=f"seed for shuffling, noise, initialisation and sampling (default: {TRAINING_DEFAULTS['seed']})")
    add_noise_arguments(parser)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per hyperparameter that a family declares with ``flag=True`` (``--beta``, ``--num-codes``, ...).

    Generated from :func:`aezoo.families.all_hyperparameters`: a new family's hyperparameter gets
    its flag by being declared. Unset, each model takes its own default (or its preset's).
    """
    group = parser.add_argument_group("model (unset: each model's own default)")
    for hyperparameter in flag_hyperparameters():
        _add_hyperparameter_flag(group, hyperparameter)


def flag_hyperparameters() -> tuple[Hyperparameter, ...]:
    """The declarations offered on the command line, in family order."""
    return tuple(h for h in all_hyperparameters().values() if h.flag)


def _add_hyperparameter_flag(group: Any, hyperparameter: Hyperparameter) -> None:
    choices = f"{' or '.join(hyperparameter.choices)}; " if hyperparameter.choices else ""
    help_text = f"{hyperparameter.help} ({choices}{defaults_text(hyperparameter.name)})".replace("%", "%%")
    if hyperparameter.kind is bool:
        group.add_argument(hyperparameter.flag_name, action=argparse.BooleanOptionalAction, default=None,
                           help=help_text)
        return
    group.add_argument(hyperparameter.flag_name, type=hyperparameter.kind, choices=hyperparameter.choices,
                       metavar=hyperparameter.metavar, help=help_text)


def defaults_text(name: str) -> str:
    """``"default 1; beta_vae 4, cvae 2; taken by vae, beta_vae, iwae, cvae"``: the declared default,
    the model names whose default differs, and which models take it (when not all do)."""
    first = all_hyperparameters()[name]
    takers = {model: h for model, spec in MODELS.items() for h in spec.hyperparameters if h.name == name}
    text = f"default {first.default_text()}"
    others = [f"{model} {h.default_text()}" for model, h in takers.items() if h.default != first.default]
    if others:
        text += "; " + ", ".join(others)
    if len(takers) < len(MODELS):
        text += "; taken by " + ", ".join(takers)
    return text


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """The model flags the user gave; each model takes its own default for the rest."""
    return given(args, *(h.name for h in flag_hyperparameters()))


def add_sampler_argument(parser: Any, what: str) -> None:
    """``--sampler NAME``: which sampler generates; unset, each family's own."""
    own = {}
    for family in FAMILIES.values():
        if family.default_sampler is not None:
            own.setdefault(family.default_sampler, []).extend(
                spec.name for spec in MODELS.values() if spec.family is family)
    shown = "; ".join(f"{', '.join(models)}: {name}" for name, models in own.items())
    parser.add_argument("--sampler", choices=tuple(SAMPLERS), metavar="NAME",
                        help=f"{what}: {', '.join(SAMPLERS)}; it must apply to every listed model "
                             f"(default: each family's own; {shown})")


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """``{name: value}`` for the flags among ``names`` that were given (not ``None``)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}

