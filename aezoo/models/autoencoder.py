"""The convolutional denoising autoencoder."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.models import defaults
from aezoo.models.base import DenoisingAutoencoderBase
from aezoo.models.validation import check_choice

RECONSTRUCTION_LOSSES = ("mse", "bce")


@keras.saving.register_keras_serializable(package="aezoo")
class ConvAutoencoder(DenoisingAutoencoderBase):
    """Noisy image -> encoder -> embedding -> decoder -> clean estimate.

    It learns to denoise because ``train_step`` compares the output for the *noisy* input with the
    *clean* original, not with the input (an ordinary autoencoder would reconstruct the noise too).
    Data must come as ``(noisy, clean)`` pairs, which is what :mod:`aezoo.datasets` yields.

    Args:
        embedding_dim: size of the bottleneck (the brief suggests 10).
        depth: convolutions per resolution level in encoder and decoder.
        filters: filters of the first encoder level (doubled at the second).
        activation: activation of the hidden layers.
        batch_norm: batch normalisation after each hidden convolution.
        reconstruction_loss: ``"mse"`` (mean squared error, what PSNR measures) or ``"bce"``
            (per-pixel binary cross-entropy, which treats intensities as probabilities).
    """

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        reconstruction_loss: str = "mse",
        **kwargs: Any,
    ) -> None:
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, **kwargs)
        self.reconstruction_loss = check_choice("reconstruction_loss", reconstruction_loss, RECONSTRUCTION_LOSSES)

    def call(self, images: Any, training: bool | None = None) -> Any:
        return self.decoder(self.encoder(images, training=training), training=training)

    def encode(self, images: Any) -> Any:
        return self.encoder(images, training=False)

    def loss_per_image(self, clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
        """The training loss of each image, averaged over its pixels."""
        if self.reconstruction_loss == "bce":
            return tf.reduce_mean(keras.losses.binary_crossentropy(clean, denoised), axis=[1, 2])
        return tf.reduce_mean(tf.square(clean - denoised), axis=[1, 2, 3])

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = data
        with tf.GradientTape() as tape:
            denoised = self(noisy, training=True)
            loss = tf.reduce_mean(self.loss_per_image(clean, denoised))
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self.trackers["loss"].update_state(loss)
        self._update_image_metrics(clean, denoised)
        return self._results()

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = data
        denoised = self(noisy, training=False)
        self.trackers["loss"].update_state(self.loss_per_image(clean, denoised))
        self._update_image_metrics(clean, denoised)
        return self._results()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reconstruction_loss": self.reconstruction_loss}
