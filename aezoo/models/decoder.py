"""The convolutional decoder: embedding -> image, mirroring the encoder."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models import defaults
from aezoo.models.architecture import architecture_config, conv_block, resolution_levels, set_architecture


@keras.saving.register_keras_serializable(package="aezoo")
class Decoder(keras.Model):
    """Grows a vector of ``embedding_dim`` numbers back into an image in [0, 1].

    A dense layer restores the smallest feature maps the encoder flattened (7x7x(2*filters) for
    MNIST); they are reshaped and upsampled (7 -> 14 -> 28) by stride-2 transposed convolutions,
    each followed by ``depth - 1`` stride-1 convolutions, in the reverse order of the encoder. A
    final sigmoid convolution gives one value per pixel and channel, intensities (or Bernoulli
    probabilities, for the VAE) in [0, 1], the range of the clean targets.

    Args:
        embedding_dim: size of the input vector; must match the encoder's.
        depth: convolutions per resolution level (>= 1).
        filters: filters of the full-resolution level; the 14x14 level has twice as many.
        activation: activation of the hidden layers.
        batch_norm: add batch normalisation after each hidden convolution.
        image_shape: ``(height, width, channels)`` of the images it draws.
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
        height, width, channels = self.image_shape
        levels = resolution_levels(height, width)
        smallest = (height // 2 ** levels, width // 2 ** levels, self.filters * 2 ** (levels - 1))
        self.project = keras.layers.Dense(smallest[0] * smallest[1] * smallest[2], activation=self.activation,
                                          name="project")
        self.reshape = keras.layers.Reshape(smallest, name="reshape")
        self.conv_layers: list[keras.layers.Layer] = []
        for level in reversed(range(levels)):  # MNIST: 7x7 -> 14x14 with 2*filters, then -> 28x28 with filters
            for index in range(self.depth):
                upsample = index == self.depth - 1  # the level's last convolution doubles the size
                self.conv_layers += conv_block(
                    keras.layers.Conv2DTranspose if upsample else keras.layers.Conv2D, self.filters * 2 ** level,
                    2 if upsample else 1, self.activation, self.batch_norm,
                    name=f"{'up' if upsample else 'conv'}{level + 1}_{index + 1}")
        # float32 even under mixed precision: losses and metrics compare it with float32 targets.
        self.output_conv = keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="image",
                                               dtype="float32")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = tuple(input_shape)
        for layer in [self.project, self.reshape, *self.conv_layers, self.output_conv]:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, embeddings: Any, training: bool | None = None) -> Any:
        x = self.reshape(self.project(embeddings))
        for layer in self.conv_layers:
            x = layer(x, training=training)
        return self.output_conv(x)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, int, int, int]:
        return (input_shape[0], *self.image_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **architecture_config(self)}
