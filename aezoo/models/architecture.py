"""What encoder, decoder and the full models share: the architecture arguments and the conv block."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models.batch_norm import FusedBatchNormalization
from aezoo.models.hyperparameters import BATCH_NORM, DEPTH, EMBEDDING_DIM, FILTERS
from aezoo.models.validation import check_activation

ARGUMENTS = ("embedding_dim", "depth", "filters", "activation", "batch_norm")


def set_architecture(model: keras.Layer, embedding_dim: Any, depth: Any, filters: Any, activation: Any,
                     batch_norm: Any) -> None:
    """Validate the architecture arguments and store them on ``model`` (raises ``ValueError``)."""
    model.embedding_dim = EMBEDDING_DIM.check(embedding_dim)
    model.depth = DEPTH.check(depth)
    model.filters = FILTERS.check(filters)
    model.activation = check_activation(activation)
    model.batch_norm = BATCH_NORM.check(batch_norm)


def architecture_config(model: keras.Layer) -> dict[str, Any]:
    """The architecture arguments of ``model``, for its ``get_config``."""
    return {name: getattr(model, name) for name in ARGUMENTS}


def conv_block(conv: type[keras.layers.Layer], filters: int, strides: int, activation: str, batch_norm: bool,
               name: str) -> list[keras.layers.Layer]:
    """A 3x3 convolution (``Conv2D`` or ``Conv2DTranspose``) with its activation.

    With ``batch_norm`` the order is convolution (no bias: normalisation removes it anyway) ->
    batch normalisation -> activation. ``synchronized=True`` makes the statistics those of the
    global batch when a ``tf.distribute`` strategy splits it across replicas; on one replica the
    normalisation trains through TensorFlow's fused kernel (:class:`FusedBatchNormalization`).
    """
    if not batch_norm:
        return [conv(filters, 3, strides=strides, padding="same", activation=activation, name=name)]
    return [
        conv(filters, 3, strides=strides, padding="same", use_bias=False, name=name),
        FusedBatchNormalization(synchronized=True, name=f"{name}_bn"),
        keras.layers.Activation(activation, name=f"{name}_{activation}"),
    ]
