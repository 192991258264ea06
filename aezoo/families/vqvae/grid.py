"""Convolutional encoder and decoder that keep a spatial grid, a quarter of the image's size (for the VQ-VAE)."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models import defaults
from aezoo.models.architecture import architecture_config, conv_block, set_architecture


class _Stack(keras.Model):
    """A plain stack of layers built one after the other; subclasses fill ``self.stack``."""

    stack: list[keras.layers.Layer]

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = tuple(input_shape)
        for layer in self.stack:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, x: Any, training: bool | None = None) -> Any:
        for layer in self.stack:
            x = layer(x, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(x)
        return x

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        for layer in self.stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **architecture_config(self)}


@keras.saving.register_keras_serializable(package="aezoo")
class GridEncoder(_Stack):
    """Image ``[H, W, C]`` -> ``[H/4, W/4]`` grid of ``embedding_dim``-d vectors, one per 4x4 patch
    of pixels (7x7 for MNIST).

    The first two levels of :class:`~aezoo.models.encoder.Encoder` (28 -> 14 -> 7), then a 1x1
    convolution to ``embedding_dim`` channels, linear and float32 (the vectors are compared with
    a float32 codebook), instead of flattening into one vector.
    """

    def __init__(self, embedding_dim: int = defaults.EMBEDDING_DIM, depth: int = defaults.DEPTH,
                 filters: int = defaults.FILTERS, activation: str = defaults.ACTIVATION,
                 batch_norm: bool = defaults.BATCH_NORM, image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        set_architecture(self, embedding_dim, depth, filters, activation, batch_norm, image_shape)
        self.stack = []
        for level in range(2):
            for index in range(self.depth):
                self.stack += conv_block(keras.layers.Conv2D, self.filters * 2 ** level, 2 if index == 0 else 1,
                                         self.activation, self.batch_norm, name=f"conv{level + 1}_{index + 1}")
        self.stack.append(keras.layers.Conv2D(self.embedding_dim, 1, name="vectors", dtype="float32"))


@keras.saving.register_keras_serializable(package="aezoo")
class GridDecoder(_Stack):
    """``[H/4, W/4]`` grid of ``embedding_dim``-d vectors -> image ``[H, W, C]`` in [0, 1].

    A 3x3 convolution to ``2 * filters`` channels on the grid takes the place of
    :class:`~aezoo.models.decoder.Decoder`'s dense layer; then the same upsampling
    (7 -> 14 -> 28 for MNIST) and a float32 sigmoid convolution to the image's channels.
    """

    def __init__(self, embedding_dim: int = defaults.EMBEDDING_DIM, depth: int = defaults.DEPTH,
                 filters: int = defaults.FILTERS, activation: str = defaults.ACTIVATION,
                 batch_norm: bool = defaults.BATCH_NORM, image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        set_architecture(self, embedding_dim, depth, filters, activation, batch_norm, image_shape)
        self.stack = conv_block(keras.layers.Conv2D, self.filters * 2, 1, self.activation, self.batch_norm,
                                name="grid_in")
        for level in (1, 0):
            for index in range(self.depth):
                upsample = index == self.depth - 1
                self.stack += conv_block(
                    keras.layers.Conv2DTranspose if upsample else keras.layers.Conv2D, self.filters * 2 ** level,
                    2 if upsample else 1, self.activation, self.batch_norm,
                    name=f"{'up' if upsample else 'conv'}{level + 1}_{index + 1}")
        self.stack.append(keras.layers.Conv2D(self.image_shape[-1], 3, padding="same", activation="sigmoid",
                                              name="image", dtype="float32"))
