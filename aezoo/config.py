"""The settings of a training run, validated in one place and saved as the run's ``config.json``.

Settings only: nothing here builds a model, an optimizer or a dataset (that is
:mod:`aezoo.training`'s job, beside :func:`aezoo.families.build`). Model hyperparameters are not
repeated here: each family folder declares its own (:mod:`aezoo.models.hyperparameters`), which
also checks them; a run stores only the ones a user overrode, and each model's full
``get_config()`` lands in its own ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from aezoo.datasets.noise import DEFAULT_STRENGTH, NOISE_KINDS, make_noise
from aezoo.datasets.sources import (
    DATASET_NAMES, DEFAULT_VALIDATION_FRACTION, check_image_options, check_validation_fraction,
)
from aezoo.distribute import STRATEGIES
from aezoo.errors import UsageError
from aezoo.families import GROUPS, MODELS, all_hyperparameters, get_model, parse_model_list
from aezoo.samplers import SAMPLERS

LR_SCHEDULES = ("constant", "cosine")


def model_defaults(kind: str) -> dict[str, Any]:
    """Constructor arguments of the model ``kind`` and their defaults, as its family declares them."""
    return get_model(kind).defaults()


@dataclasses.dataclass
class TrainConfig:
    """Everything that decides what a training run does (and so what makes two runs the same)."""

    # What aezoo.models.parse_model_list accepts: a family, a comma list, "both" (ae, vae) or "all".
    models: tuple[str, ...] = GROUPS["both"]
    dataset: str = "auto"
    data_dir: str | None = None
    # The user's images brought to one (height, width) and colour mode; None: as the data holds them.
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None
    fit: str = "resize"
    noise: str = "gaussian"
    noise_strength: float | None = None
    epochs: int = 10
    # Chosen by the benchmark (bench/README.md): more, smaller steps with a large rate decayed
    # along a cosine leave the "average digit" plateau within the 10 epochs, where batch 128 at
    # Adam's default 1e-3 does not.
    batch_size: int = 48
    learning_rate: float = 4e-3
    lr_schedule: str = "cosine"
    # Run this many training steps per call into the compiled graph: small batches make the
    # per-step Python overhead a visible share of an epoch on a CPU (bench/README.md).
    steps_per_execution: int = 12
    seed: int = 0
    # Share of each class's training images held out to validate on (val_* metrics, the best
    # checkpoint, the tuner's objective); the test split is never used to choose anything.
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Epochs over which the KL weight of models with a KL term ramps from 0 to their beta
    # (aezoo.callbacks.KLWarmup); 0 weighs the KL by beta from the first step. A training
    # schedule, not a model argument: the saved model keeps only its beta.
    kl_warmup_epochs: int = 0
    tensorboard: bool = False
    strategy: str = "auto"
    mixed_precision: bool = False
    # The sampler fitted after training and exported with every model (aezoo.samplers); None: each
    # family's own. Training refuses one that does not apply to a listed model.
    sampler: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.models, str):
            try:
                self.models = parse_model_list(self.models)
            except ValueError:  # kept as given: validate() reports it as a UsageError
                self.models = tuple(self.models.split(","))
        self.models = tuple(self.models)
        if self.image_size is not None:
            self.image_size = tuple(self.image_size)  # type: ignore[assignment]  (JSON gives a list)
        if self.noise_strength is None and self.noise in DEFAULT_STRENGTH:
            self.noise_strength = DEFAULT_STRENGTH[self.noise]

    def validate(self) -> "TrainConfig":
        """Raise :class:`UsageError` naming the first bad value; return ``self`` otherwise.

        Checks settings only: the model constructors check their own arguments when training
        builds the models, before it writes anything.
        """
        try:
            self.models = parse_model_list(self.models)
        except ValueError as error:
            raise UsageError(str(error)) from None
        if self.dataset not in DATASET_NAMES:
            raise UsageError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASET_NAMES)}")
        _positive_int("epochs", self.epochs)
        _positive_int("batch size", self.batch_size)
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and 0 < self.learning_rate < 1):
            raise UsageError(f"learning rate must be a number in (0, 1), got {self.learning_rate!r}")
        _positive_int("steps per execution", self.steps_per_execution)
        if self.lr_schedule not in LR_SCHEDULES:
            raise UsageError(f"unknown learning-rate schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        if self.strategy not in STRATEGIES:
            raise UsageError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"seed must be an integer >= 0, got {self.seed!r}")
        if _not_int(self.kl_warmup_epochs) or self.kl_warmup_epochs < 0:
            raise UsageError("KL warm-up epochs must be an integer >= 0 (0: no warm-up), "
                             f"got {self.kl_warmup_epochs!r}")
        self._validate_hyperparameters()
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise UsageError(f"unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}")
        check_validation_fraction(self.validation_fraction)
        check_image_options(self.image_size, self.color_mode, self.fit)
        try:
            make_noise(self.noise, self.noise_strength)
        except ValueError as error:
            raise UsageError(str(error)) from None
        return self

    def _validate_hyperparameters(self) -> None:
        # Checked here as well as in the constructor because a value the run's models ignore
        # (--iw-samples 0 with --model ae) is still a mistake the user should hear about.
        declared = all_hyperparameters()
        for name, value in self.hyperparameters.items():
            if name not in declared:
                raise UsageError(f"unknown model hyperparameter {name!r}; the families take {', '.join(declared)}")
            try:
                declared[name].check(value)
            except ValueError as error:
                raise UsageError(str(error)) from None

    def model_arguments(self, kind: str) -> dict[str, Any]:
        """The constructor arguments for ``kind``: its defaults, the user's overrides, the run seed."""
        defaults = model_defaults(kind)
        arguments = {name: value for name, value in self.hyperparameters.items() if name in defaults}
        if "seed" in defaults:
            arguments["seed"] = self.seed
        return arguments

    def steps_per_epoch(self, train_images: int) -> int:
        return -(-train_images // self.batch_size)

    def noise_model(self) -> Any:
        return make_noise(self.noise, self.noise_strength)

    def to_json(self) -> dict[str, Any]:
        image_size = None if self.image_size is None else list(self.image_size)
        return dataclasses.asdict(self) | {"models": list(self.models), "image_size": image_size}

    def for_data(self, image_shape: tuple[int, int, int], class_names: tuple[str, ...],
                 has_labels: bool) -> "TrainConfig":
        """This config with what the data decides for the models (:func:`data_facts`)."""
        facts = data_facts(self.models, image_shape, class_names, has_labels)
        return dataclasses.replace(self, hyperparameters=self.hyperparameters | facts) if facts else self

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def data_facts(models: tuple[str, ...], image_shape: tuple[int, int, int], class_names: tuple[str, ...],
               has_labels: bool) -> dict[str, Any]:
    """The model arguments the data decides: the image shape and, for a conditional model, the number
    of classes; only where they differ from the declared defaults (an MNIST run's config.json stays
    as it was). A conditional model and data without labels are refused in one line."""
    from aezoo.models.capabilities import CONDITIONAL

    conditional = [name for name in models if CONDITIONAL in get_model(name).capabilities]
    if conditional and not has_labels:
        raise UsageError(f"{', '.join(conditional)} needs a class label per image, and this data has none "
                         "(give --data-dir class subfolders or labels, or leave it out of --model)")
    declared = all_hyperparameters()
    facts: dict[str, Any] = {"image_shape": [int(d) for d in image_shape]}
    if conditional:
        facts["num_classes"] = len(class_names)
    return {name: value for name, value in facts.items()
            if tuple(np.atleast_1d(value)) != tuple(np.atleast_1d(declared[name].default))}


def _not_int(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _positive_int(name: str, value: Any) -> None:
    if _not_int(value) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")


__all__ = ["LR_SCHEDULES", "NOISE_KINDS", "TrainConfig", "model_defaults"]
