"""The ``tf.data`` pipeline: clean uint8 images in, ``(noisy, clean)`` float batches out.

Training, images in memory::

    uint8 [N,H,W(,C)] -> /255, channel axis -> cache -> shuffle -> batch -> + noise (map) -> clip -> prefetch

Training, image files too large for memory (:class:`~aezoo.datasets.image_files.ImageFiles`)::

    paths -> shuffle -> read and decode (parallel map) -> /255 -> batch -> + noise (map) -> clip -> prefetch

* Images only, by default: labels stay in :class:`~aezoo.datasets.sources.ImageSplits` for the
  analysis. A caller that passes ``labels`` (training does so only for a model that needs them,
  a conditional model) gets ``((noisy, labels), clean)`` batches instead, labels int32 ``[batch]``,
  shuffled together with their images. The pipeline never decides this itself: it knows nothing
  of models.
* Normalising and adding the channel axis happen once, before ``cache``, so later epochs read
  ready float tensors from memory. Files that do not fit the memory budget are not cached: every
  epoch reads them again, several at a time, so resident memory stays bounded.
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

from aezoo.datasets.image_files import ImageFiles
from aezoo.datasets.noise import Noise

# The shape of MNIST digits, the offline default data; any (H, W, C) is accepted.
IMAGE_SHAPE = (28, 28, 1)
# Offsets mixed into the user's seed for the fixed noise of the held-out splits, so it differs from
# every training epoch's and between the two splits.
_TEST_NOISE_STREAM = 7919
_VALIDATION_NOISE_STREAM = 7927


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 ``[N, H, W]`` or ``[N, H, W, C]`` -> float32 ``[N, H, W, C]`` in [0, 1].

    The trailing channel axis is what ``Conv2D`` expects (channels last, Keras's default).
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"expected images of shape [N, H, W] or [N, H, W, C], got {list(images.shape)}")
    unit = images.astype(np.float32) / 255.0
    return unit[..., None] if images.ndim == 3 else unit


def training_dataset(images: np.ndarray, noise: Noise, batch_size: int = 128, seed: int = 0,
                     shuffle: bool = True, labels: np.ndarray | None = None) -> tf.data.Dataset:
    """Infinite-free, one-epoch-per-iteration dataset of ``(noisy, clean)`` batches.

    Args:
        images: uint8 ``[N, H, W(, C)]`` clean images, or image files read batch by batch.
        noise: the corruption, applied per batch with a fresh seed every epoch.
        batch_size: images per batch; the last, smaller batch is kept.
        seed: makes shuffling and noise reproducible.
        shuffle: reshuffle every epoch (turn off only for inspection).
        labels: integer classes ``[N]``; given, batches are ``((noisy, labels), clean)``. The
            images are shuffled and noised exactly as without them.
    """
    _check_batch_size(batch_size)
    if isinstance(images, ImageFiles):
        clean = _streamed(images, labels, shuffle, seed)
    else:
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


def _streamed(files: ImageFiles, labels: np.ndarray | None, shuffle: bool, seed: int) -> tf.data.Dataset:
    """Clean float images read from files: paths shuffled (cheap), then decoded in parallel."""
    paths = tf.data.Dataset.from_tensor_slices(_with_labels(np.asarray(files.paths), labels))
    if shuffle:
        paths = paths.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    shape = files.image_shape

    def read(path: tf.Tensor) -> tf.Tensor:
        image = tf.numpy_function(lambda p: files.read(p.decode()), [path], tf.uint8, stateful=False)
        return tf.ensure_shape(tf.cast(image, tf.float32) / 255.0, shape)

    def load(item: Any) -> Any:
        return (read(item[0]), item[1]) if labels is not None else read(item)

    return paths.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


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
    """The fixed noisy test images and their clean targets, as float32 ``[N, H, W, C]`` arrays."""
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
