"""A callback that puts the reconstruction pictures (and a VAE's KL per dimension) into TensorBoard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aezoo.models.capabilities import KL_TERM, has
from aezoo.plotting import mosaic

IMAGES_RUN = "reconstructions"  # the TensorBoard run (sub-folder of the log dir) these summaries go to
IMAGE_TAG = "noisy_denoised_clean"
KL_TAG = "kl_per_dimension"


class TensorBoardImages(keras.callbacks.Callback):
    """Every epoch, write the same held-out images as one picture: noisy / denoised / clean rows.

    For models that have ``kl_per_dimension(images)`` (the VAE) it also writes a histogram of the
    mean KL of each latent dimension on those images: dimensions near 0 nats are unused, so the
    histogram shows how many dimensions the model has switched on, epoch by epoch.

    Summaries go to ``log_dir/reconstructions``, a run beside the ``train`` and ``validation``
    runs that ``keras.callbacks.TensorBoard(log_dir)`` writes, at step = epoch as Keras' epoch
    scalars do, so TensorBoard lines them up.

    Args:
        log_dir: the TensorBoard log folder.
        noisy: float ``[n, H, W, C]`` inputs in [0, 1], a dozen or so.
        clean: their clean targets, same shape.
        labels: the images' classes, for a model that needs labels (its inputs are
            ``(images, labels)``); ``None`` for every other model.
    """

    def __init__(self, log_dir: str | os.PathLike[str], noisy: np.ndarray, clean: np.ndarray,
                 labels: np.ndarray | None = None) -> None:
        super().__init__()
        if noisy.shape != clean.shape or noisy.ndim != 4 or len(noisy) == 0:
            raise ValueError("noisy and clean must be equal, non-empty [n, H, W, C] arrays; "
                             f"got {noisy.shape} and {clean.shape}")
        self.directory = Path(log_dir) / IMAGES_RUN
        self.noisy = np.asarray(noisy, np.float32)
        self.clean = np.asarray(clean, np.float32)
        self.labels = None if labels is None else np.asarray(labels, np.int32)
        self._writer: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._writer = tf.summary.create_file_writer(str(self.directory))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # A direct eager call: predict() would trace a new graph for this odd-sized batch.
        extra = () if self.labels is None else (self.labels,)
        inputs = self.noisy if self.labels is None else (self.noisy, self.labels)
        denoised = np.asarray(self.model(inputs, training=False), np.float32)
        with self._writer.as_default(step=epoch):
            tf.summary.image(IMAGE_TAG, grid([self.noisy, denoised, self.clean])[None], max_outputs=1,
                             description="Rows: noisy input, denoised, clean original "
                                         "(the same test images every epoch).")
            if has(self.model, KL_TERM):
                kl = np.asarray(self.model.kl_per_dimension(self.noisy, *extra)).mean(axis=0)
                tf.summary.histogram(KL_TAG, kl, buckets=max(2, min(30, kl.size)),
                                     description="Mean KL (nats) of each latent dimension on the pictured images; "
                                                 "near 0: an unused dimension.")
        self._writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def grid(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """``[h, w, C]`` picture of image batches ``[n, H, W, C]``, one batch per row, ``gap`` grey pixels between."""
    sheet = mosaic(np.concatenate([np.asarray(images, np.float32) for images in rows]), columns=len(rows[0]),
                   gap=gap, fill=0.5)
    return sheet[..., None] if sheet.ndim == 2 else sheet
