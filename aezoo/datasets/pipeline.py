"""The ``tf.data`` pipeline: clean uint8 digits in, ``(noisy, clean)`` float batches out.

Training::

    uint8 [N,28,28] -> /255, expand_dims -> cache -> shuffle -> batch -> + noise (map) -> clip -> prefetch

* Images only, by default: labels stay in :class:`~aezoo.datasets.sources.ImageSplits` for the
  analysis. A caller that passes ``labels`` (training does so only for a model that needs them,
  a conditional model) gets ``((noisy, labels), clean)`` batches instead, labels int32 ``[batch]``,
  shuffled together with their images. The pipeline never decides this itself: it knows nothing
  of models.
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

from typing import Any

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
                     shuffle: bool = True, labels: np.ndarray | None = None) -> tf.data.Dataset:
    """Infinite-free, one-epoch-per-iteration dataset of ``(noisy, clean)`` batches.

    Args:
        images: uint8 ``[N, 28, 28]`` clean images.
        noise: the corruption, applied per batch with a fresh seed every epoch.
        batch_size: images per batch; the last, smaller batch is kept.
        seed: makes shuffling and noise reproducible.
        shuffle: reshuffle every epoch (turn off only for inspection).
        labels: integer classes ``[N]``; given, batches are ``((noisy, labels), clean)``. The
            images are shuffled and noised exactly as without them.
    """
    _check_batch_size(batch_size)
    clean = tf.data.Dataset.from_tensor_slices(_with_labels(normalize(images), labels)).cache()
    if shuffle:
        clean = clean.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    clean = clean.batch(batch_size)
    # A pair of int64 per batch, new every epoch but fixed by `seed`: the stateless noise's seed.
    noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    if labels is None:
        def corrupt(batch: tf.Tensor, noise_seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return noise(batch, noise_seed), batch
    else:
        def corrupt(batch: tuple[tf.Tensor, tf.Tensor], noise_seed: tf.Tensor) -> tuple[Any, tf.Tensor]:
            images, classes = batch
            return (noise(images, noise_seed), classes), images
    pairs = tf.data.Dataset.zip(clean, noise_seeds).map(
        corrupt, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pairs.prefetch(tf.data.AUTOTUNE)


def _with_labels(images: np.ndarray, labels: np.ndarray | None) -> Any:
    """``images``, or ``(images, int32 labels)`` after checking there is one label per image."""
    if labels is None:
        return images
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, one per image ({len(images)}), got {labels.dtype} "
                         f"{list(labels.shape)}")
    return images, labels.astype(np.int32)


def test_pairs(images: np.ndarray, noise: Noise, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fixed noisy test images and their clean targets, as float32 ``[N, 28, 28, 1]`` arrays."""
    return _fixed_pairs(images, noise, seed, _TEST_NOISE_STREAM)


def validation_pairs(images: np.ndarray, noise: Noise, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The fixed noisy validation images and their clean targets (as :func:`test_pairs`, another noise draw)."""
    return _fixed_pairs(images, noise, seed, _VALIDATION_NOISE_STREAM)


def pairs_dataset(noisy: np.ndarray, clean: np.ndarray, batch_size: int,
                  labels: np.ndarray | None = None) -> tf.data.Dataset:
    """``(noisy, clean)`` arrays as batches in order, for ``fit(validation_data=...)`` and ``evaluate``.

    With ``labels`` (one integer per image) the batches are ``((noisy, labels), clean)``.
    """
    _check_batch_size(batch_size)
    return tf.data.Dataset.from_tensor_slices((_with_labels(noisy, labels), clean)).batch(batch_size)


def _fixed_pairs(images: np.ndarray, noise: Noise, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    clean = normalize(images)
    noisy = noise(tf.constant(clean), tf.constant([seed, stream], dtype=tf.int64))
    return noisy.numpy(), clean


def test_dataset(images: np.ndarray, noise: Noise, batch_size: int = 128, seed: int = 0,
                 labels: np.ndarray | None = None) -> tf.data.Dataset:
    """``(noisy, clean)`` batches of :func:`test_pairs`, in order; the same every iteration.

    With ``labels`` the batches are ``((noisy, labels), clean)``.
    """
    noisy, clean = test_pairs(images, noise, seed)
    return pairs_dataset(noisy, clean, batch_size, labels).prefetch(tf.data.AUTOTUNE)


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


# "test" here means the test split; tell pytest these are not tests when a test module imports them.
test_pairs.__test__ = False  # type: ignore[attr-defined]
test_dataset.__test__ = False  # type: ignore[attr-defined]
