"""The keras-tuner search spaces: defaults are the untuned models, narrowing works, fit passes through."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

from aezoo.commands import build_parser
from aezoo.commands.train import config_from_args
from aezoo.config import TrainConfig, model_defaults
from aezoo.datasets import carve_validation, make_noise, training_dataset, validation_pairs
from aezoo.families import MODELS
from aezoo.hypermodels import AutoencoderHyperModel, objectives
from aezoo.training import build_model
from tests.fixtures import TINY_HYPERPARAMETERS


def _architecture(model: keras.Model) -> tuple[dict, list[tuple[str, tuple[int, ...]]]]:
    config = {k: v for k, v in model.get_config().items() if k != "name"}
    return config, [(w.path, tuple(w.shape)) for w in model.weights]


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_default_hyperparameters_build_train_py_default_model(kind: str) -> None:
    # train.py with no flags, exactly as a user would run it (its defaults come from the constructors too).
    train_config = config_from_args(build_parser("train").parse_args(["--model", kind]))
    untuned = build_model(kind, train_config)
    untuned.build()

    tuned = AutoencoderHyperModel(kind).build(kt.HyperParameters())  # an empty hp answers every default

    assert type(tuned) is type(untuned)
    assert _architecture(tuned) == _architecture(untuned)
    assert tuned.count_params() == untuned.count_params()
    assert float(tuned.optimizer.learning_rate) == pytest.approx(train_config.learning_rate)
    # Training's compile step, with a constant rate (trials of different lengths have no fixed schedule).
    assert tuned.steps_per_execution == train_config.steps_per_execution


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_search_space_defaults_are_the_constructor_defaults(kind: str) -> None:
    space = AutoencoderHyperModel(kind).search_space()
    defaults = model_defaults(kind)
    searched = {"embedding_dim", "depth", "filters"} | ({"beta"} if kind == "vae" else set())
    assert set(space.values) == searched | {"learning_rate"}
    for name in searched:
        assert space.values[name] == defaults[name]
    assert space.values["learning_rate"] == TrainConfig.learning_rate
    by_name = {hp.name: hp for hp in space.space}
    assert min(by_name["embedding_dim"].values) == 2 and max(by_name["embedding_dim"].values) == 64
    assert (by_name["depth"].min_value, by_name["depth"].max_value) == (1, 3)


def test_a_pre_declared_space_overrides_the_default_one() -> None:
    hp = kt.HyperParameters()
    hp.Fixed("filters", 4)
    hp.Choice("embedding_dim", [2, 3])
    model = AutoencoderHyperModel("ae").build(hp)
    assert model.filters == 4 and model.embedding_dim == 2
    assert hp.values["depth"] == model_defaults("ae")["depth"]  # not pre-declared: the default space


def test_objectives_are_validation_metrics_of_test_step() -> None:
    ae, vae = objectives("ae"), objectives("vae")
    assert ae["val_psnr"].direction == "max"
    assert ae["val_loss"].direction == "min"
    assert set(ae) == {"val_loss", "val_mse", "val_psnr"}
    assert "val_reconstruction_loss" in vae
    assert "val_kl" not in vae  # minimising the KL alone rewards ignoring the input


def test_fit_passes_arguments_through_and_reports_validation_metrics(tiny_splits) -> None:
    hp = kt.HyperParameters()
    for name, value in TINY_HYPERPARAMETERS.items():
        hp.Fixed(name, value)
    hypermodel = AutoencoderHyperModel("ae")
    model = hypermodel.build(hp)
    noise = make_noise("gaussian", 0.5)
    splits = carve_validation(tiny_splits)
    train = training_dataset(splits.train_images, noise, batch_size=64)
    noisy, clean = validation_pairs(splits.validation_images, noise)
    epochs_seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))

    history = hypermodel.fit(hp, model, train, validation_data=tf.data.Dataset.from_tensor_slices(
        (noisy, clean)).batch(64), epochs=2, initial_epoch=1, callbacks=[callback], verbose=0)

    assert epochs_seen == [1]  # epochs, initial_epoch and callbacks all reached model.fit
    assert {"val_psnr", "val_loss", "val_mse"} <= set(history.history)
    assert np.isfinite(history.history["val_psnr"][0])


# --- every family ------------------------------------------------------------------------------


def test_every_familys_search_space_comes_from_its_declarations() -> None:
    from aezoo.families import MODELS

    spaces = {kind: AutoencoderHyperModel(kind).search_space().values for kind in MODELS}
    for kind, values in spaces.items():
        defaults = model_defaults(kind)
        searched = set(values) - {"learning_rate"}
        declared = {h.name for h in MODELS[kind].hyperparameters if h.search is not None}
        assert searched == declared, kind  # every argument declared with a search space, no other
        assert {name: values[name] for name in searched} == {name: defaults[name] for name in searched}, kind
    assert {"beta", "iw_samples"} <= set(spaces["iwae"]) and spaces["beta_vae"]["beta"] == 4.0
    assert "num_codes" in spaces["vqvae"] and "beta" not in spaces["vqvae"]
    assert set(spaces["unet"]) == {"depth", "filters", "learning_rate"}  # no bottleneck to size


@pytest.mark.parametrize("kind", sorted(MODELS))  # every model of the zoo, from its own declared space
def test_default_hyperparameters_build_each_familys_default_model(kind: str) -> None:
    untuned = build_model(kind, TrainConfig(models=(kind,)))
    untuned.build()
    tuned = AutoencoderHyperModel(kind).build(kt.HyperParameters())
    assert type(tuned) is type(untuned) and _architecture(tuned) == _architecture(untuned)


def test_the_iwae_can_be_searched_by_its_bounds() -> None:
    assert objectives("iwae")["val_iwae_bound"].direction == "max"
    assert objectives("iwae")["val_elbo"].direction == "max"
