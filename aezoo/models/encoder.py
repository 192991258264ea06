"""The convolutional encoder: image -> vector embedding."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models import defaults
from aezoo.models.architecture import architecture_config, conv_block, resolution_levels, set_architecture


@keras.saving.register_keras_serializable(package="aezoo")
class Encoder(keras.Model):
    """Shrinks an image to a vector of ``embedding_dim`` numbers, like a CNN classifier would.

    One resolution level per halving the image size allows (:func:`~aezoo.models.architecture.resolution_levels`:
    28 -> 14 -> 7 for MNIST, two levels; 64 -> 32 -> 16 -> 8 -> 4, four): each starts with a stride-2
    convolution that halves the feature map (learned downsampling, where pooling would just
    discard) and adds ``depth - 1`` stride-1 convolutions at the new size. Filters double at each
    level (``filters``, ``2 * filters``, ...), the usual trade of spatial size for channels. The
    last maps are flattened and a linear dense layer produces the embedding: no activation, so the
    code can use the whole real line.

    Args:
        embedding_dim: size of the output vector (the bottleneck).
        depth: convolutions per resolution level (>= 1).
        filters: filters of the first level; the second has twice as many.
        activation: activation of the convolutions.
        batch_norm: add batch normalisation after each convolution.
        image_shape: ``(height, width, channels)`` of the images; the levels follow from it.
    """

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_architecture(self, embedding_dim, depth, filters, activation, batch_norm, image_shape)
        self.conv_layers: list[keras.layers.Layer] = []
        for level in range(resolution_levels(*self.image_shape[:2])):
            for index in range(self.depth):
                self.conv_layers += conv_block(keras.layers.Conv2D, self.filters * 2 ** level, 2 if index == 0 else 1,
                                               self.activation, self.batch_norm, name=f"conv{level + 1}_{index + 1}")
        self.flatten = keras.layers.Flatten(name="flatten")
        # float32 even under mixed precision: the VAE builds distributions from these numbers.
        self.embedding = keras.layers.Dense(self.embedding_dim, name="embedding", dtype="float32")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = tuple(input_shape)
        for layer in [*self.conv_layers, self.flatten, self.embedding]:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, images: Any, training: bool | None = None) -> Any:
        x = images
        for layer in self.conv_layers:
            x = layer(x, training=training)
        return self.embedding(self.flatten(x))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, int]:
        return (input_shape[0], self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **architecture_config(self)}
