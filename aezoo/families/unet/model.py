"""The U-Net denoiser: no bottleneck, the zoo's denoising ceiling."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.models import defaults
from aezoo.models.architecture import conv_block
from aezoo.models.architecture import check_image_shape
from aezoo.models.base import DenoisingAutoencoderBase, mean_bce
from aezoo.models.hyperparameters import DEPTH, FILTERS
from aezoo.models.validation import check_activation

LEVELS = 3  # full, half and quarter size: 28x28, 14x14, 7x7 for MNIST


@keras.saving.register_keras_serializable(package="aezoo")
class UNet(DenoisingAutoencoderBase):
    """A U-Net (Ronneberger, Fischer & Brox, 2015) trained to map noisy digits to clean ones.

    Three resolution levels (28, 14, 7 for MNIST) with ``filters``, ``2 * filters`` and ``4 * filters``
    channels (16-32-64 by default), ``depth`` 3x3 convolutions each. Going down, max-pooling
    halves the maps; coming up, a stride-2 transposed convolution doubles them and the result is
    concatenated with the same level's maps from the way down (the *skip connections*). A final
    1x1 sigmoid convolution to the image's channels gives the clean estimate. It is fully
    convolutional: ``image_shape`` sets the size it is built and exported for. The loss, per image::

        loss = mean over pixels of BCE(clean, unet(noisy))

    Binary cross-entropy rather than squared error: with a sigmoid output, MSE's gradient
    vanishes wherever the output saturates, and a U-Net trained on MSE collapsed to all-black
    images; BCE's gradient at the logit is ``output - clean``, which
    never vanishes while the output is wrong.

    The skips carry full-resolution detail past the coarse levels, so nothing forces a compressed
    code: the model has no latent space (no capabilities: no ``encode``/``decode``)
    and is included as the ceiling that the autoencoders' denoising can be measured against.

    Args:
        depth: convolutions per level (>= 1).
        filters: channels of the full-resolution level.
        activation: activation of the hidden layers.
        batch_norm: batch normalisation after each hidden convolution.
        image_shape: ``(height, width, channels)`` of the images (height and width multiples of 4).
    """

    def __init__(
        self,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_shape = check_image_shape(image_shape)
        self.depth = DEPTH.check(depth)
        self.filters = FILTERS.check(filters)
        self.activation = check_activation(activation)
        self.batch_norm = bool(batch_norm)
        self.down = [self._convs(level, "down") for level in range(LEVELS)]
        self.pool = keras.layers.MaxPooling2D(2, name="pool")
        self.upsample = [keras.layers.Conv2DTranspose(self._channels(level), 2, strides=2, name=f"upsample{level + 1}")
                         for level in range(LEVELS - 1)]
        self.up = [self._convs(level, "up") for level in range(LEVELS - 1)]
        self.output_conv = keras.layers.Conv2D(self.image_shape[-1], 1, activation="sigmoid", name="image",
                                               dtype="float32")

    def _channels(self, level: int) -> int:
        return self.filters * 2 ** level

    def _convs(self, level: int, side: str) -> list[keras.layers.Layer]:
        layers: list[keras.layers.Layer] = []
        for index in range(self.depth):
            layers += conv_block(keras.layers.Conv2D, self._channels(level), 1, self.activation, self.batch_norm,
                                 name=f"{side}{level + 1}_{index + 1}")
        return layers

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.call(tf.zeros((1, *self.image_shape)))  # builds every layer at the shape the image size implies
        self.built = True

    @staticmethod
    def _run(layers: list[keras.layers.Layer], x: tf.Tensor, training: bool | None) -> tf.Tensor:
        for layer in layers:
            x = layer(x, training=training)
        return x

    def call(self, images: Any, training: bool | None = None) -> Any:
        x, skips = images, []
        for level in range(LEVELS):
            x = self._run(self.down[level], x, training)
            if level < LEVELS - 1:
                skips.append(x)
                x = self.pool(x)
        for level in reversed(range(LEVELS - 1)):
            x = tf.concat([self.upsample[level](x), tf.cast(skips[level], x.dtype)], axis=-1)
            x = self._run(self.up[level], x, training)
        return self.output_conv(x)

    def loss_per_image(self, clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
        return mean_bce(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "depth": self.depth, "filters": self.filters, "activation": self.activation,
                "batch_norm": self.batch_norm, "image_shape": list(self.image_shape)}
