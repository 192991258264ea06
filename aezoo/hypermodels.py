"""keras-tuner search spaces for aezoo's models: one :class:`keras_tuner.HyperModel` per model name.

A HyperModel is a *family* of models: ``build(hp)`` asks the ``HyperParameters`` object ``hp``
for each architectural choice (``hp.Choice("depth", ...)``) and builds one member. The tuner's
oracle decides which values ``hp`` hands out; asked outside a search, ``hp`` returns each
hyperparameter's *default*, and here the defaults are the model's own declared ones (never
repeated), so ``build(HyperParameters())`` is exactly the untuned model that ``train.py`` trains.

The search space is what the family folder declares: every hyperparameter with a ``search``
(:mod:`aezoo.models.hyperparameters`: ``Choice``, ``IntRange``, ``LogRange``) is searched,
with the model's default added to (or its range widened to hold) the candidates; the others
(``activation``, ``seed``, ``num_classes``, ...) keep their defaults. So a family is tunable by
being listed, and searches only what it has: the U-Net (no bottleneck) searches depth, filters
and the learning rate; the IWAE adds beta and iw_samples to the VAE's architecture. The learning
rate (3e-4 .. 1e-2, log scale, default ``TrainConfig``'s) is searched for every model.

To narrow it, declare hyperparameters *before* the search and pass them to the tuner
(``hyperparameters=hp``): keras-tuner keeps the first declaration of a name, so
``hp.Fixed("filters", 8)`` or ``hp.Choice("embedding_dim", [2, 4])`` overrides the space above.

The HyperModels sit beside :mod:`aezoo.tuning`, a layer above :mod:`aezoo.families`: they need
:class:`~aezoo.config.TrainConfig` and training's compile step, which the models must not import,
and the models themselves do not depend on keras_tuner.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras
import keras_tuner as kt

from aezoo.callbacks import StopOnInterrupt
from aezoo.config import TrainConfig
from aezoo.families import MODELS, get_model
from aezoo.models.hyperparameters import Choice, Hyperparameter, IntRange, LogRange
from aezoo.training import build_model, compile_model

# Below ~3e-4 a model trained for a few epochs does not get past the "average digit" plateau;
# the upper end must contain TrainConfig's default (4e-3), chosen by the benchmark with batch
# normalisation on. Without batch normalisation high rates tend to collapse to an all-black
# output (the measurements are in docs/tuning.md and bench/README.md).
LEARNING_RATE_RANGE = (3e-4, 1e-2)

# Validation metrics worth optimising, and which way is better. The names are the trackers of
# the models' ``test_step`` (``metric_names``) with Keras' ``val_`` prefix; the VAE's KL alone is
# left out on purpose: minimising it rewards a model that ignores its input.
OBJECTIVE_DIRECTIONS = {"psnr": "max", "loss": "min", "mse": "min", "reconstruction_loss": "min",
                        "iwae_bound": "max", "elbo": "max"}
DEFAULT_OBJECTIVE = "val_psnr"


def objectives(kind: str) -> dict[str, kt.Objective]:
    """The objectives a search over ``kind`` may use, by name (``val_psnr``, ``val_loss``, ...)."""
    return {f"val_{name}": kt.Objective(f"val_{name}", OBJECTIVE_DIRECTIONS[name])
            for name in get_model(kind).model_class.metric_names if name in OBJECTIVE_DIRECTIONS}


def declare(hp: kt.HyperParameters, hyperparameter: Hyperparameter) -> Any:
    """Declare one searched hyperparameter in ``hp`` (or look it up); its default is the model's."""
    name, default, search = hyperparameter.name, hyperparameter.default, hyperparameter.search
    if isinstance(search, Choice):  # keras-tuner requires the default among the values
        return hp.Choice(name, sorted({*search.values, default}), ordered=search.ordered, default=default)
    if isinstance(search, IntRange):
        return hp.Int(name, min(search.low, default), max(search.high, default), default=default)
    if isinstance(search, LogRange):  # the range widens to hold a default outside it
        return hp.Float(name, min(search.low, default), max(search.high, default), sampling="log", default=default)
    raise TypeError(f"{name}: no search space declared")


class AutoencoderHyperModel(kt.HyperModel):
    """The search space of one aezoo model family (``"ae"``, ``"vae"``, ...).

    Args:
        kind: the model name, a key of :data:`aezoo.families.MODELS`.
        seed: seeds the weight initialisation (as ``train.py`` does), so that two trials with the
            same hyperparameters start from the same weights and differ only by what was tuned.
        data: the model arguments the data decides (:func:`aezoo.config.data_facts`: the image
            shape, a conditional model's number of classes); fixed, never searched.
        """

    def __init__(self, kind: str, seed: int = 0, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if kind not in MODELS:
            raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
        super().__init__(name=kwargs.pop("name", f"{kind}_hypermodel"), **kwargs)
        self.kind = kind
        self.seed = seed
        self.data = dict(data or {})  # what the data decides (image_shape, num_classes): never searched

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        """Declare the whole search space in ``hp`` (keras-tuner calls this before the search)."""
        self.model_hyperparameters(hp)
        self.learning_rate(hp)

    def search_space(self) -> kt.HyperParameters:
        """A fresh ``HyperParameters`` holding the declared space; its ``values`` are the defaults."""
        hp = kt.HyperParameters()
        self.declare_hyperparameters(hp)
        return hp

    def model_hyperparameters(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Declare (or look up) the constructor arguments the family declares a search space for."""
        return {h.name: declare(hp, h) for h in get_model(self.kind).hyperparameters if h.search is not None}

    def learning_rate(self, hp: kt.HyperParameters) -> float:
        # Not a constructor argument: its default is the training default, TrainConfig's.
        return hp.Float("learning_rate", *LEARNING_RATE_RANGE, sampling="log", default=TrainConfig.learning_rate)

    def train_config(self, hp: kt.HyperParameters, **settings: Any) -> TrainConfig:
        """The ``TrainConfig`` that trains this member of the family with ``train.py``'s code.

        ``settings`` are the non-searched fields (data, noise, epochs, batch size). Used to build
        every trial's model and to retrain the best one, so both come from the same constructor call.
        """
        return TrainConfig(models=(self.kind,), seed=self.seed, learning_rate=self.learning_rate(hp),
                           hyperparameters=self.model_hyperparameters(hp) | self.data, **settings)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """One compiled, built model; with default ``hp`` values the same as ``train.py``'s."""
        config = self.train_config(hp)
        # As in training: the same seed before every model, so initial weights depend only on the
        # architecture and not on how many trials ran before in this process.
        keras.utils.set_random_seed(self.seed)
        model = build_model(self.kind, config)
        # A constant rate: Hyperband trains trials for different numbers of epochs, so a schedule
        # decaying over "the run" has no fixed length here. The retrained best model gets
        # train.py's schedule (TrainConfig.lr_schedule) with the rate found here.
        compile_model(model, dataclasses.replace(config, lr_schedule="constant"))
        # Create the weights *and* Adam's moment estimates now: when Hyperband promotes a trial to
        # a longer round it loads that trial's checkpoint into this model, and an optimizer that
        # already has its variables gets its state back too (otherwise Keras skips it and the
        # continued training restarts Adam from zero).
        model.build()
        model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Train ``model`` with ``model.fit``; every argument of ``tuner.search`` passes through.

        The data are expected as :func:`aezoo.datasets.training_dataset` (``(noisy, clean)``
        batches with fresh noise every epoch; ``((noisy, labels), clean)`` for a family that
        needs labels) and ``validation_data`` as the fixed noisy
        validation pairs, exactly as in training (never the test split); the tuner adds
        ``epochs`` (Hyperband: its rounds' epochs and ``initial_epoch``) and its callbacks.
        """
        kwargs.setdefault("shuffle", False)  # the tf.data pipeline shuffles; Keras cannot shuffle it anyway
        # A SIGTERM whose KeyboardInterrupt Python swallowed (it can land in a weakref callback)
        # still sets the interrupt flag; this callback stops the trial on it, as in training.
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), StopOnInterrupt()]
        return model.fit(*args, **kwargs)
