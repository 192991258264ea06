"""Shared fixtures: tiny real data and tiny trained models, so tests stay fast on 2 CPU cores.

Loaded for every test by the root ``conftest.py`` (``pytest_plugins``), so the family folders'
own tests use them too.

The suite runs on two pytest-xdist workers (``-n 2 --dist loadfile`` in setup.cfg). Each test
file runs whole on one worker, so a module fixture is built once; a session fixture that trains
models (``tiny_run``, ``zoo_run``) is built once per test run by whichever worker asks first,
under a file lock in the run's shared base folder, and the other worker reuses it.
"""

from __future__ import annotations

import contextlib
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402
from typing import Callable, Iterator  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:
    import fcntl
except ImportError:  # not POSIX: each worker builds its own copy
    fcntl = None  # type: ignore[assignment]

from aezoo.datasets import ImageSplits, load_embedded  # noqa: E402

# Architecture small enough to train in a second or two, still the real classes.
# No batch norm: its moving averages need hundreds of steps to settle, and tiny runs take a few
# dozen, so tiny models would be judged on unsettled statistics (tests that need BN ask for it).
TINY_HYPERPARAMETERS = {"embedding_dim": 4, "depth": 1, "filters": 4, "batch_norm": False}


def tiny_model(name: str, learning_rate: float = 3e-3, optimizer: "keras.optimizers.Optimizer | None" = None,
               **overrides: object) -> "keras.Model":
    """A built, compiled tiny model of the zoo's model ``name`` (seeded: the same weights every time).

    ``optimizer``: instead of Adam at ``learning_rate`` (the family tests that check one SGD step).
    """
    import keras

    from aezoo.families import build

    keras.utils.set_random_seed(0)
    model = build(name, **{**TINY_HYPERPARAMETERS, "seed": 0, **overrides})
    model.compile(optimizer=optimizer or keras.optimizers.Adam(learning_rate))
    model.build()
    return model


def subset(splits: ImageSplits, train: int, test: int) -> ImageSplits:
    """The first ``train``/``test`` images of each split (the embedded split is stratified and shuffled);
    data without labels stays without."""
    def first(labels: np.ndarray | None, count: int) -> np.ndarray | None:
        return None if labels is None else labels[:count]

    return ImageSplits(splits.name, splits.train_images[:train], first(splits.train_labels, train),
                       splits.test_images[:test], first(splits.test_labels, test), splits.class_names, splits.source)


@pytest.fixture(scope="session")
def embedded() -> ImageSplits:
    return load_embedded()


@pytest.fixture(scope="session")
def tiny_splits(embedded: ImageSplits) -> ImageSplits:
    """256 training and 64 test digits of real MNIST."""
    return subset(embedded, 256, 64)


def train_tiny_run(run_dir: Path, splits: ImageSplits) -> None:
    """Both models trained for 3 epochs (24 steps) on ``splits`` (see :func:`tiny_run`)."""
    from aezoo.config import TrainConfig
    from aezoo.training import train

    config = TrainConfig(models=("ae", "vae"), dataset="embedded", epochs=3, batch_size=32, learning_rate=3e-3,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    train(config, output=run_dir, verbose=0, splits=splits)


def train_zoo_run(run_dir: Path, splits: ImageSplits) -> None:
    """Every family trained for 1 epoch (4 steps) on ``splits`` (see :func:`zoo_run`)."""
    from aezoo.config import TrainConfig
    from aezoo.training import train

    config = TrainConfig(models="all", dataset="embedded", epochs=1, batch_size=64, learning_rate=3e-3,
                         kl_warmup_epochs=2, hyperparameters=dict(TINY_HYPERPARAMETERS))
    with tiny_code_prior():
        train(config, output=run_dir, verbose=0, splits=splits)


# The session's trained runs: fixture name -> (folder name, builder). Largest first.
SHARED_RUNS = {"zoo_run": ("zoo", train_zoo_run), "tiny_run": ("tiny", train_tiny_run)}


@contextlib.contextmanager
def _locked(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (yield True); with ``wait=False`` yield False if another holds it."""
    with path.open("a") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True  # the lock goes with the file's closing


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None],
               wait: bool = True) -> Path | None:
    """``BASE/shared/name``, made by ``build(folder)`` once per test run whichever worker asks first.

    BASE is the run's base temporary folder, the parent of the xdist workers' own. A build that
    raised leaves no ``.done`` mark, so the next worker to ask starts it again from scratch.
    ``wait=False``: None at once if another worker is building it.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") and fcntl is not None:
        base = base.parent
    shared = base / "shared"
    shared.mkdir(exist_ok=True)
    folder, done = shared / name, shared / f"{name}.done"
    with _locked(shared / f"{name}.lock", wait) as locked:
        if not locked:
            return None
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_splits: ImageSplits) -> Path:
    """A finished run folder with both models trained for 3 epochs (24 steps) on the tiny split.

    Built once per test run and shared by the workers: tests must treat it as read-only (copy it
    first to change anything).
    """
    return built_once(tmp_path_factory, "tiny", lambda run_dir: train_tiny_run(run_dir, tiny_splits))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def zoo_run(tmp_path_factory: pytest.TempPathFactory, tiny_splits: ImageSplits) -> Path:
    """A finished run folder with every family of the zoo trained for 1 epoch (4 steps) on the tiny split.

    The VAE family trains under a 2-epoch KL warm-up, so its one epoch has KL weight 0. The
    VQ-VAE's code prior is tiny too (see :func:`tiny_code_prior`).
    Built once per test run and shared by the workers: tests must treat it as read-only (copy it
    first to change anything).
    """
    return built_once(tmp_path_factory, "zoo", lambda run_dir: train_zoo_run(run_dir, tiny_splits))


@pytest.fixture(scope="session", autouse=True)
def _shared_runs_start_at_once(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """On xdist workers, each one's first test starts building a shared run no other worker is building.

    So the zoo run and the tiny run train side by side from the start, instead of one worker
    waiting for the other's build when both reach their first test that needs it. (The first
    test's setup time includes that build.) Only runs some collected test needs are built; a
    test file's own fixture of the same name does not count.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER") or fcntl is None:
        return  # one process: each run is built when first needed
    for fixture, (name, build) in SHARED_RUNS.items():
        needed = any(fixture in getattr(item, "fixturenames", ()) and not hasattr(getattr(item, "module", None), fixture)
                     for item in request.session.items)
        if needed:
            splits = request.getfixturevalue("tiny_splits")
            if built_once(tmp_path_factory, name, lambda run_dir: build(run_dir, splits), wait=False) is not None:
                return


@contextlib.contextmanager
def tiny_code_prior() -> Iterator[None]:
    """Training fits a VQ-VAE's PixelCNN code prior of 1 epoch and 8 channels, not the full-size one.

    For fixtures that need a finished VQ-VAE with a prior, not a good prior: the full-size one
    costs more than the rest of a tiny run.
    """
    from aezoo.samplers import pixelcnn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pixelcnn, "EPOCHS", 1)
        patch.setattr(pixelcnn, "FILTERS", 8)
        yield
