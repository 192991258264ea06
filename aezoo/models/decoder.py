"""The convolutional decoder: embedding -> 28x28 image, mirroring the encoder."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models import defaults
from aezoo.models.architecture import architecture_config, conv_block, set_architecture


@keras.saving.register_keras_serializable(package="aezoo")
class Decoder(keras.Model):
    """Grows a vector of ``embedding_dim`` numbers back into a 28x28x1 image in [0, 1].

    A dense layer restores the 7x7x(2*filters) feature maps the encoder flattened; they are
    reshaped and upsampled 7 -> 14 -> 28 by stride-2 transposed convolutions, each followed by
    ``depth - 1`` stride-1 convolutions, in the reverse order of the encoder. A final
    ``Conv2D(1, sigmoid)`` gives one channel of per-pixel intensities (or Bernoulli
    probabilities, for the VAE) in [0, 1], the range of the clean targets.

    Args:
        embedding_dim: size of the input vector; must match the encoder's.
        depth: convolutions per resolution level (>= 1).
        filters: filters of the full-resolution level; the 14x14 level has twice as many.
        activation: activation of the hidden layers.
        batch_norm: add batch normalisation after each hidden convolution.
    """

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_architecture(self, embedding_dim, depth, filters, activation, batch_norm)
        self.project = keras.layers.Dense(7 * 7 * self.filters * 2, activation=self.activation, name="project")
        self.reshape = keras.layers.Reshape((7, 7, self.filters * 2), name="reshape")
        self.conv_layers: list[keras.layers.Layer] = []
        for level in (1, 0):  # 7x7 -> 14x14 with 2*filters, then 14x14 -> 28x28 with filters
            for index in range(self.depth):
                upsample = index == self.depth - 1  # the level's last convolution doubles the size
                self.conv_layers += conv_block(
                    keras.layers.Conv2DTranspose if upsample else keras.layers.Conv2D, self.filters * 2 ** level,
                    2 if upsample else 1, self.activation, self.batch_norm,
                    name=f"{'up' if upsample else 'conv'}{level + 1}_{index + 1}")
        # float32 even under mixed precision: losses and metrics compare it with float32 targets.
        self.output_conv = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="image", dtype="float32")

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
        return (input_shape[0], 28, 28, 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **architecture_config(self)}
