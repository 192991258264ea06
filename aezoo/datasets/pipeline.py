"""The ``tf.data`` pipeline: clean uint8 digits in, ``(noisy, clean)`` float batches out.

Training::

    uint8 [N,28,28] -> /255, expand_dims -> cache -> shuffle -> batch -> + noise (map) -> clip -> prefetch

* Only images enter: labels stay in :class:`~aezoo.datasets.sources.ImageSplits` for the analysis.
* Normalising and adding the channel axis happen once, before ``cache``, so later epochs read
  ready float tensors from memory.
* Noise is added *after* batching, one vectorised op per batch (cheaper than per image), and
  *after* caching, so it is drawn anew every epoch: the model never sees the same noisy digit
  twice and cannot memorise the noise.
* Each batch's noise seed comes from ``tf.data.Dataset.random``: reproducible for a given seed,
  different every epoch (``rerandomize_each_iteration``).
* Validation and test pairs get their noise once, from a fixed seed over the whole array, so
  every evaluation, every epoch and every model (whatever its batch size) is scored on the same
  noisy images. The two splits draw from different streams of the seed.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from aezoo.datasets.noise import Noise

IMAGE_SHAPE = (28, 28, 1)
# Offsets mixed into the user's seed for the fixed noise of the held-out splits, so it differs from
# every training epoch's and between the two splits.
_TEST_NOISE_STREAM = 7919
_VALIDATION_NOISE_STREAM = 7927


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 ``[N, 28, 28]`` -> float32 ``[N, 28, 28, 1]`` in [0, 1].

    The trailing channel axis is what ``Conv2D`` expects (channels last, Keras's default).
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE[:2]:
        raise ValueError(f"expected images of shape [N, 28, 28], got {list(images.shape)}")
    return np.expand_dims(images.astype(np.float32) / 255.0, axis=-1)


def training_dataset(images: np.ndarray, noise: Noise, batch_size: int = 128, seed: int = 0,
                     shuffle: bool = True) -> tf.data.Dataset:
    """Infinite-free, one-epoch-per-iteration dataset of ``(noisy, clean)`` batches.

    Args:
        images: uint8 ``[N, 28, 28]`` clean images (no labels).
        noise: the corruption, applied per batch with a fresh seed every epoch.
        batch_size: images per batch; the last, smaller batch is kept.
        seed: makes shuffling and noise reproducible.
        shuffle: reshuffle every epoch (turn off only for inspection).
    """
    _check_batch_size(batch_size)
    clean = tf.data.Dataset.from_tensor_slices(normalize(images)).cache()
    if shuffle:
        clean = clean.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    clean = clean.batch(batch_size)
    # A pair of int64 per batch, new every epoch but fixed by `seed`: the stateless noise's seed.
    noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    pairs = tf.data.Dataset.zip(clean, noise_seeds).map(
        lambda batch, noise_seed: (noise(batch, noise_seed), batch),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
    )
    return pairs.prefetch(tf.data.AUTOTUNE)


def test_pairs(images: np.ndarray, noise: Noise, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fixed noisy test images and their clean targets, as float32 ``[N, 28, 28, 1]`` arrays."""
    return _fixed_pairs(images, noise, seed, _TEST_NOISE_STREAM)


def validation_pairs(images: np.ndarray, noise: Noise, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fixed noisy validation images and their clean targets (as :func:`test_pairs`, another noise draw)."""
    return _fixed_pairs(images, noise, seed, _VALIDATION_NOISE_STREAM)


def pairs_dataset(noisy: np.ndarray, clean: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """``(noisy, clean)`` arrays as batches in order, for ``fit(validation_data=...)`` and ``evaluate``."""
    _check_batch_size(batch_size)
    return tf.data.Dataset.from_tensor_slices((noisy, clean)).batch(batch_size)


def _fixed_pairs(images: np.ndarray, noise: Noise, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    clean = normalize(images)
    noisy = noise(tf.constant(clean), tf.constant([seed, stream], dtype=tf.int64))
    return noisy.numpy(), clean


def test_dataset(images: np.ndarray, noise: Noise, batch_size: int = 128, seed: int = 0) -> tf.data.Dataset:
    """``(noisy, clean)`` batches of :func:`test_pairs`, in order; the same every iteration."""
    _check_batch_size(batch_size)
    noisy, clean = test_pairs(images, noise, seed)
    return tf.data.Dataset.from_tensor_slices((noisy, clean)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


# "test" here means the test split; tell pytest these are not tests when a test module imports them.
test_pairs.__test__ = False  # type: ignore[attr-defined]
test_dataset.__test__ = False  # type: ignore[attr-defined]
