"""What encoder, decoder and the full models share: the architecture arguments and the conv block."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models.batch_norm import FusedBatchNormalization
from aezoo.models import defaults
from aezoo.models.hyperparameters import BATCH_NORM, DEPTH, EMBEDDING_DIM, FILTERS, IMAGE_SHAPE
from aezoo.models.validation import check_activation

ARGUMENTS = ("embedding_dim", "depth", "filters", "activation", "batch_norm", "image_shape")
# The smallest feature map a level may halve to; and the number of halvings every family needs.
SMALLEST_MAP = 4
MIN_LEVELS = 2


def set_architecture(model: keras.Layer, embedding_dim: Any, depth: Any, filters: Any, activation: Any,
                     batch_norm: Any, image_shape: Any = defaults.IMAGE_SHAPE) -> None:
    """Validate the architecture arguments and store them on ``model`` (raises ``ValueError``)."""
    model.embedding_dim = EMBEDDING_DIM.check(embedding_dim)
    model.depth = DEPTH.check(depth)
    model.filters = FILTERS.check(filters)
    model.activation = check_activation(activation)
    model.batch_norm = BATCH_NORM.check(batch_norm)
    model.image_shape = check_image_shape(image_shape)


def architecture_config(model: keras.Layer) -> dict[str, Any]:
    """The architecture arguments of ``model``, for its ``get_config`` (the shape as a JSON list)."""
    return {name: list(model.image_shape) if name == "image_shape" else getattr(model, name) for name in ARGUMENTS}


def check_image_shape(image_shape: Any) -> tuple[int, int, int]:
    """``(H, W, C)`` that the convolutional families can take; ``ValueError`` naming the nearest that can."""
    height, width, channels = IMAGE_SHAPE.check(image_shape)
    resolution_levels(height, width)
    return height, width, channels


def resolution_levels(height: int, width: int) -> int:
    """How many times the encoder halves ``height x width``: while both stay even and at least
    :data:`SMALLEST_MAP` (28 -> 14 -> 7: 2 levels; 32 -> 16 -> 8 -> 4: 3; 64: 4).

    Raises:
        ValueError: fewer than :data:`MIN_LEVELS` halvings fit, naming the nearest size that works.
    """
    levels = min(_halvings(height), _halvings(width))
    if levels < MIN_LEVELS:
        step = 2 ** MIN_LEVELS
        nearest = "x".join(str(max(step * SMALLEST_MAP, step * round(n / step))) for n in (height, width))
        raise ValueError(f"an image size of {height}x{width} cannot be taken: height and width must be multiples of "
                         f"{step} and at least {step * SMALLEST_MAP} (nearest: {nearest}); use --image-size")
    return levels


def _halvings(size: int) -> int:
    count = 0
    while size % 2 == 0 and size // 2 >= SMALLEST_MAP:
        size //= 2
        count += 1
    return count


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
