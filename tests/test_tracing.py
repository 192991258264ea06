"""Training compiles each model's step once: a second trace costs seconds of every first epoch."""

from __future__ import annotations

import keras
import pytest

from aezoo.config import TrainConfig
from aezoo.datasets import training_dataset
from aezoo.training import build_compiled_model
from tests.fixtures import TINY_HYPERPARAMETERS


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_fit_traces_the_training_step_once(kind, tiny_splits, monkeypatch):
    config = TrainConfig(models=(kind,), epochs=2, batch_size=32, steps_per_execution=3,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    images = tiny_splits.train_images[:96]
    keras.utils.set_random_seed(0)
    model = build_compiled_model(kind, config, len(images))
    traces = []
    original = type(model).train_step
    monkeypatch.setattr(type(model), "train_step", lambda self, data: traces.append(1) or original(self, data))
    model.fit(training_dataset(images, config.noise_model(), config.batch_size, seed=0), epochs=2, verbose=0)
    assert len(traces) == 1, f"{kind}: the training step was traced {len(traces)} times"
