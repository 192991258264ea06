"""Shared fixtures: tiny real data and tiny trained models, so tests stay fast on 2 CPU cores."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aezoo.datasets import ImageSplits, load_embedded  # noqa: E402

# Architecture small enough to train in a second or two, still the real classes.
# No batch norm: its moving averages need hundreds of steps to settle, and tiny runs take a few
# dozen, so tiny models would be judged on unsettled statistics (tests that need BN ask for it).
TINY_HYPERPARAMETERS = {"embedding_dim": 4, "depth": 1, "filters": 4, "batch_norm": False}


def subset(splits: ImageSplits, train: int, test: int) -> ImageSplits:
    """The first ``train``/``test`` images of each split (the embedded split is stratified and shuffled)."""
    return ImageSplits(splits.name, splits.train_images[:train], splits.train_labels[:train],
                       splits.test_images[:test], splits.test_labels[:test], splits.class_names, splits.source)


@pytest.fixture(scope="session")
def embedded() -> ImageSplits:
    return load_embedded()


@pytest.fixture(scope="session")
def tiny_splits(embedded: ImageSplits) -> ImageSplits:
    """256 training and 64 test digits of real MNIST."""
    return subset(embedded, 256, 64)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_splits: ImageSplits) -> Path:
    """A finished run folder with both models trained for 3 epochs (24 steps) on the tiny split.

    Tests must treat it as read-only (copy it first to change anything).
    """
    from aezoo.config import TrainConfig
    from aezoo.training import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    config = TrainConfig(models=("ae", "vae"), dataset="embedded", epochs=3, batch_size=32, learning_rate=3e-3,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    train(config, output=run_dir, verbose=0, splits=tiny_splits)
    return run_dir


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def zoo_run(tmp_path_factory: pytest.TempPathFactory, tiny_splits: ImageSplits) -> Path:
    """A finished run folder with every family of the zoo trained for 1 epoch (4 steps) on the tiny split.

    The VAE family trains under a 2-epoch KL warm-up, so its one epoch has KL weight 0.
    Tests must treat it as read-only (copy it first to change anything).
    """
    from aezoo.config import TrainConfig
    from aezoo.training import train

    run_dir = tmp_path_factory.mktemp("runs") / "zoo"
    config = TrainConfig(models="all", dataset="embedded", epochs=1, batch_size=64, learning_rate=3e-3,
                         kl_warmup_epochs=2, hyperparameters=dict(TINY_HYPERPARAMETERS))
    train(config, output=run_dir, verbose=0, splits=tiny_splits)
    return run_dir
