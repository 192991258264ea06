"""TensorBoard pictures: the event files hold a reconstruction picture per epoch (and the VAE's KL)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aezoo.callbacks.tensorboard_images import IMAGE_TAG, IMAGES_RUN, KL_TAG, TensorBoardImages, grid

EPOCHS = 2


def read_events(folder: Path) -> dict[str, list[tuple[int, np.ndarray]]]:
    """tag -> [(step, value)] from every event file under ``folder``; images decoded from PNG."""
    import tensorflow as tf

    found: dict[str, list[tuple[int, np.ndarray]]] = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                plugin = value.metadata.plugin_data.plugin_name
                if plugin == "images":  # [width, height, png, ...] as strings
                    decoded = tf.io.decode_png(tensor[2]).numpy()
                    found.setdefault(value.tag, []).append((event.step, decoded))
                elif plugin == "histograms":  # [buckets, 3]: left edge, right edge, count
                    found.setdefault(value.tag, []).append((event.step, tensor))
    return found


@pytest.fixture(scope="module")
def test_images(tiny_splits) -> tuple[np.ndarray, np.ndarray]:
    from aezoo.datasets import GaussianNoise, test_pairs

    return test_pairs(tiny_splits.test_images[:6], GaussianNoise(0.5))


def train_with_pictures(kind: str, log_dir: Path, noisy: np.ndarray, clean: np.ndarray):
    import keras

    import aezoo.families

    keras.utils.set_random_seed(0)
    model = aezoo.families.build(kind, embedding_dim=3, filters=4, batch_norm=False)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x = np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
    model.fit(x, x, batch_size=16, epochs=EPOCHS, verbose=0, callbacks=[TensorBoardImages(log_dir, noisy, clean)])
    return model


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_every_epoch_writes_the_reconstructions_as_an_image_summary(kind, test_images, tmp_path):
    noisy, clean = test_images
    model = train_with_pictures(kind, tmp_path, noisy, clean)

    events = read_events(tmp_path / IMAGES_RUN)
    pictures = events[IMAGE_TAG]
    assert [step for step, _ in pictures] == list(range(EPOCHS))
    size, gap = 28, 2
    last = pictures[-1][1].astype(np.float32) / 255
    assert last.shape == (3 * size + 2 * gap, 6 * size + 5 * gap, 1)
    # Rows are noisy, denoised (by the model as it is after the last epoch), clean; PNG keeps 8 bits.
    rows = [last[r * (size + gap):r * (size + gap) + size] for r in range(3)]
    denoised = np.asarray(model(noisy, training=False))
    for row, expected in zip(rows, [noisy, denoised, clean]):
        columns = np.stack([row[:, c * (size + gap):c * (size + gap) + size] for c in range(6)])
        assert np.max(np.abs(columns - expected)) <= 1 / 255 + 1e-6

    if kind == "vae":  # the model has kl_per_dimension: one histogram per epoch over its 3 dimensions
        histograms = events[KL_TAG]
        assert [step for step, _ in histograms] == list(range(EPOCHS))
        step, buckets = histograms[-1]
        assert buckets[:, 2].sum() == pytest.approx(3)
        mean_kl = np.asarray(model.kl_per_dimension(noisy)).mean(axis=0)
        assert buckets[0, 0] == pytest.approx(mean_kl.min(), abs=1e-4)
    else:
        assert KL_TAG not in events


def test_grid_puts_rows_of_images_with_grey_gaps():
    rows = [np.zeros((2, 28, 28, 1), np.float32), np.ones((2, 28, 28, 1), np.float32)]
    picture = grid(rows, gap=2)
    assert picture.shape == (58, 58, 1)
    assert picture[:28, :28].max() == 0 and picture[30:, 30:].min() == 1 and picture[28, 0, 0] == 0.5


def test_mismatched_images_are_refused(tmp_path):
    with pytest.raises(ValueError, match="equal, non-empty"):
        TensorBoardImages(tmp_path, np.zeros((2, 28, 28, 1)), np.zeros((3, 28, 28, 1)))


def test_training_with_tensorboard_writes_the_pictures_beside_keras_scalars(tiny_splits, tmp_path):
    from aezoo.config import TrainConfig
    from aezoo.training import PLOTTED_IMAGES, HeldOut, train
    from tests.fixtures import TINY_HYPERPARAMETERS, subset

    splits = subset(tiny_splits, 64, 16)
    config = TrainConfig(models=("vae",), dataset="embedded", epochs=1, batch_size=32, tensorboard=True,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    train(config, output=tmp_path / "run", verbose=0, splits=splits)

    log_dir = tmp_path / "run" / "vae" / "tensorboard"
    assert list((log_dir / "train").glob("events.out.tfevents.*"))  # Keras's own scalars are still there
    events = read_events(log_dir / IMAGES_RUN)
    (step, picture), = events[IMAGE_TAG]
    noisy = HeldOut.of(splits.with_validation(config.validation_fraction), config).noisy_validation
    shown = min(PLOTTED_IMAGES, len(noisy))  # the validation images the reconstruction plot draws
    assert step == 0 and picture.shape[1] == shown * 30 - 2
    first_row = np.stack([picture[:28, c * 30:c * 30 + 28] for c in range(shown)]) / 255
    assert np.max(np.abs(first_row - noisy[:shown])) <= 1 / 255 + 1e-6
    assert len(events[KL_TAG]) == 1
