"""The convolutional denoising autoencoder."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.families.ae import PIXEL_LOSS
from aezoo.models import defaults
from aezoo.models.base import EncoderDecoderModel, mean_bce, per_image_mse
from aezoo.models.capabilities import LATENT_SPACE


@keras.saving.register_keras_serializable(package="aezoo")
class ConvAutoencoder(EncoderDecoderModel):
    """Noisy image -> encoder -> embedding -> decoder -> clean estimate.

    The loss, per image, compares the output for the *noisy* input with the *clean* original::

        loss = mean over pixels of (clean - decoder(encoder(noisy)))^2        (pixel_loss="mse")
        loss = mean over pixels of BCE(clean, decoder(encoder(noisy)))        (pixel_loss="bce")

    Comparing with the clean image rather than the input is what makes it a denoiser (an ordinary
    autoencoder would learn to reconstruct the noise too); the narrow embedding forces it to keep
    what digits have in common and drop what noise adds. This is the denoising autoencoder of
    Vincent et al. (2008), with convolutions. Data must come as ``(noisy, clean)`` pairs, which is
    what :mod:`aezoo.datasets` yields.

    Args:
        embedding_dim: size of the bottleneck: 10 by default, enough room for ten digit classes
            and small enough to force a compressed code.
        depth: convolutions per resolution level in encoder and decoder.
        filters: filters of the first encoder level (doubled at the second).
        activation: activation of the hidden layers.
        batch_norm: batch normalisation after each hidden convolution.
        pixel_loss: ``"mse"`` (mean squared error, what PSNR measures) or ``"bce"`` (per-pixel
            binary cross-entropy, which treats intensities as probabilities).
    """

    capabilities = frozenset({LATENT_SPACE})

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        pixel_loss: str = "mse",
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, **kwargs)
        self.pixel_loss = PIXEL_LOSS.check(pixel_loss)

    def call(self, images: Any, training: bool | None = None) -> Any:
        return self.decoder(self.encoder(images, training=training), training=training)

    def encode(self, images: Any) -> Any:
        return self.encoder(images, training=False)

    def loss_per_image(self, clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
        """The training loss of each image, averaged over its pixels and channels."""
        if self.pixel_loss == "bce":
            return mean_bce(clean, denoised)
        return per_image_mse(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pixel_loss": self.pixel_loss}
