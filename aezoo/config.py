"""The settings of a training run, validated in one place and saved as the run's ``config.json``.

Model hyperparameters are not repeated here: their names and defaults are the constructor
arguments of the model classes (see :func:`model_defaults`); a run stores only the ones a user
overrode, and each model's full ``get_config()`` lands in its own ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

from aezoo.datasets.noise import DEFAULT_STRENGTH, NOISE_KINDS, make_noise
from aezoo.datasets.sources import DATASET_NAMES
from aezoo.distribute import STRATEGIES
from aezoo.errors import UsageError
from aezoo.models import MODEL_CLASSES

MODEL_CHOICES = (*MODEL_CLASSES, "both")
LR_SCHEDULES = ("constant", "cosine")


def model_defaults(kind: str) -> dict[str, Any]:
    """Constructor arguments of a model kind and their defaults: the single source of hyperparameters."""
    signature = inspect.signature(MODEL_CLASSES[kind].__init__)
    return {name: p.default for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD}


@dataclasses.dataclass
class TrainConfig:
    """Everything that decides what a training run does (and so what makes two runs the same)."""

    models: tuple[str, ...] = ("ae", "vae")
    dataset: str = "auto"
    data_dir: str | None = None
    noise: str = "gaussian"
    noise_strength: float | None = None
    epochs: int = 10
    # Chosen by the benchmark (bench/README.md): more, smaller steps with a large rate decayed
    # along a cosine reach 17 dB in 10 epochs on 4000 images, where batch 128 at 1e-3 gets 14 dB.
    batch_size: int = 48
    learning_rate: float = 4e-3
    lr_schedule: str = "cosine"
    # Run this many training steps per call into the compiled graph: with batches of 48 the
    # per-step Python overhead is ~10% of an epoch on 2 CPU cores (bench/README.md).
    steps_per_execution: int = 12
    seed: int = 0
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    tensorboard: bool = False
    strategy: str = "auto"
    mixed_precision: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.models, str):
            self.models = tuple(MODEL_CLASSES) if self.models == "both" else (self.models,)
        self.models = tuple(self.models)
        if self.noise_strength is None and self.noise in DEFAULT_STRENGTH:
            self.noise_strength = DEFAULT_STRENGTH[self.noise]

    def validate(self) -> "TrainConfig":
        """Raise :class:`UsageError` naming the first bad value; return ``self`` otherwise."""
        for kind in self.models:
            if kind not in MODEL_CLASSES:
                raise UsageError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_CHOICES)}")
        if not self.models:
            raise UsageError("no model to train; choose one of " + ", ".join(MODEL_CHOICES))
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
        try:
            make_noise(self.noise, self.noise_strength)
        except ValueError as error:
            raise UsageError(str(error)) from None
        for kind in self.models:
            self.build_model(kind)  # constructor checks (embedding size, depth, beta, ...)
        return self

    def model_arguments(self, kind: str) -> dict[str, Any]:
        """The constructor arguments for ``kind``: its defaults, the user's overrides, the run seed."""
        defaults = model_defaults(kind)
        arguments = {name: value for name, value in self.hyperparameters.items() if name in defaults}
        if "seed" in defaults:
            arguments["seed"] = self.seed
        return arguments

    def build_model(self, kind: str) -> Any:
        try:
            return MODEL_CLASSES[kind](**self.model_arguments(kind), name=kind)
        except ValueError as error:
            raise UsageError(f"{kind}: {error}") from None

    def make_optimizer(self, steps_per_epoch: int) -> Any:
        """Adam at ``learning_rate``, constant or decayed to zero over the run along a cosine.

        Cosine decay takes large steps early and ever finer ones at the end, which on a short
        run reaches a lower loss than a constant rate that is either too timid early or too
        jumpy late.
        """
        import keras

        rate: Any = self.learning_rate
        if self.lr_schedule == "cosine":
            rate = keras.optimizers.schedules.CosineDecay(self.learning_rate, decay_steps=steps_per_epoch * self.epochs)
        return keras.optimizers.Adam(rate)

    def build_compiled_model(self, kind: str, train_images: int, **compile_extra: Any) -> Any:
        """Build, compile and build the weights of model ``kind``, as training does.

        Call it inside ``strategy.scope()`` when there is one. With ``mixed_precision`` the layers
        are created under a mixed policy (float16 on GPUs, which have tensor cores for it;
        bfloat16 on CPUs, which have no fast float16 maths); the global policy is restored after.
        """
        import keras
        import tensorflow as tf

        previous_policy = keras.mixed_precision.global_policy()
        if self.mixed_precision:
            gpu = bool(tf.config.list_logical_devices("GPU"))
            keras.mixed_precision.set_global_policy("mixed_float16" if gpu else "mixed_bfloat16")
        try:
            model = self.build_model(kind)
            self.compile(model, train_images, **compile_extra)
            model.build()
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        return model

    def compile(self, model: Any, train_images: int, **extra: Any) -> None:
        """``model.compile`` as training does it (optimizer, steps per execution), plus ``extra``."""
        import tensorflow as tf

        # Keras 3.15's multi-step loop fails under a multi-replica strategy (an unfed placeholder
        # inside its while loop), so several replicas run one step per execution.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        model.compile(optimizer=self.make_optimizer(self.steps_per_epoch(train_images)),
                      steps_per_execution=self.steps_per_execution if replicas == 1 else 1, **extra)

    def steps_per_epoch(self, train_images: int) -> int:
        return -(-train_images // self.batch_size)

    def noise_model(self) -> Any:
        return make_noise(self.noise, self.noise_strength)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"models": list(self.models)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")


__all__ = ["LR_SCHEDULES", "MODEL_CHOICES", "NOISE_KINDS", "TrainConfig", "model_defaults"]
