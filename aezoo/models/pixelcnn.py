"""A gated PixelCNN: the autoregressive prior over a VQ-VAE's grid of code indices.

A VQ-VAE encodes an image as a 7x7 grid of indices into its codebook of K vectors; it has no
prior to sample from by itself. The PixelCNN learns one (van den Oord et al. 2016, "Conditional
Image Generation with PixelCNN Decoders"; the keras.io VQ-VAE example uses its ungated ancestor):

    p(grid) = prod over positions i in raster order of p(c_i | c_1 .. c_{i-1})

Each factor is a softmax over the K codes, computed for every position at once by convolutions
whose kernels are *masked* so that position i never sees itself or any later position. Training
is then one pass with sparse categorical cross-entropy (``fit(grids)``); sampling fills the grid
position by position (``sample``), each draw conditioned on those before it.

Two stacks remove the "blind spot" of plain masked convolutions (van den Oord et al. 2016, Fig. 1):

* the **vertical stack** sees every row above (kernel rows up to the centre, all columns). It
  also sees the current row, so its output is shifted down one row before the horizontal stack
  reads it;
* the **horizontal stack** sees the current row to the left: mask **A** in the first layer
  (strictly left: excludes the position itself, which is the code being predicted) and mask **B**
  afterwards (left and centre: the centre now carries only information from earlier positions).

Each layer is a **gated** unit, ``tanh(W_f * x) * sigmoid(W_g * x)``, with a residual connection
on the horizontal stack (not in the first layer, where the input is the current code itself).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aezoo.models.validation import check_positive_int

MASK_TYPES = ("A", "B", "V")


def causal_mask(kernel_size: tuple[int, int], mask_type: str) -> np.ndarray:
    """``[kh, kw, 1, 1]`` 0/1 mask: which kernel taps a position may read (centre = the position).

    "A": rows above, and the centre row strictly left of the centre; "B": the same plus the
    centre; "V": rows above and the whole centre row (vertical stack; shifted before use).
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}")
    height, width = kernel_size
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    centre_row, centre_col = height // 2, width // 2
    if mask_type == "V":
        allowed = rows <= centre_row
    else:
        last = centre_col if mask_type == "B" else centre_col - 1
        allowed = (rows < centre_row) | ((rows == centre_row) & (cols <= last))
    return allowed.astype("float32")[:, :, None, None]


@keras.saving.register_keras_serializable(package="aezoo")
class MaskedConv2D(keras.layers.Layer):
    """A 'same'-padded convolution whose kernel is multiplied by a fixed causal mask."""

    def __init__(self, filters: int, kernel_size: tuple[int, int], mask_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.mask_type = mask_type
        self.mask = causal_mask(self.kernel_size, mask_type)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.kernel = self.add_weight(shape=(*self.kernel_size, input_shape[-1], self.filters),
                                      initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, inputs: Any) -> Any:
        kernel = self.kernel * keras.ops.cast(self.mask, self.kernel.dtype)
        return keras.ops.conv(inputs, kernel, padding="same") + self.bias

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "mask_type": self.mask_type}


def _gate(x: Any) -> Any:
    """tanh(first half) * sigmoid(second half) over channels."""
    features, gates = keras.ops.split(x, 2, axis=-1)
    return keras.ops.tanh(features) * keras.ops.sigmoid(gates)


def shift_down(x: Any) -> Any:
    """Move every row one down (zeros on top): row i then holds what row i - 1 saw."""
    return keras.ops.pad(x, [[0, 0], [1, 0], [0, 0], [0, 0]])[:, :-1]


@keras.saving.register_keras_serializable(package="aezoo")
class GatedBlock(keras.layers.Layer):
    """One gated layer of both stacks: ``(vertical, horizontal) -> (vertical, horizontal)``."""

    def __init__(self, filters: int, kernel_size: int, first: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.first = first
        self.vertical = MaskedConv2D(2 * filters, (kernel_size, kernel_size), "V", name="vertical")
        self.horizontal = MaskedConv2D(2 * filters, (1, kernel_size), "A" if first else "B", name="horizontal")
        self.vertical_to_horizontal = keras.layers.Conv2D(2 * filters, 1, name="vertical_to_horizontal")
        self.horizontal_out = keras.layers.Conv2D(filters, 1, name="horizontal_out")

    def call(self, inputs: tuple[Any, Any]) -> tuple[Any, Any]:
        vertical_in, horizontal_in = inputs
        vertical = self.vertical(vertical_in)
        horizontal = self.horizontal(horizontal_in) + self.vertical_to_horizontal(shift_down(vertical))
        horizontal = self.horizontal_out(_gate(horizontal))
        if not self.first:  # the first layer's input is the code being predicted: no shortcut
            horizontal = horizontal + horizontal_in
        return _gate(vertical), horizontal

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "first": self.first}


@keras.saving.register_keras_serializable(package="aezoo")
class GatedPixelCNN(keras.Model):
    """Autoregressive prior over ``[height, width]`` grids of ``num_codes`` code indices.

    Loss (nats per grid position): ``-mean_i log p(c_i | c_<i)``, the sparse categorical
    cross-entropy of the logits ``call(grids)`` returns against the grids themselves.
    Train with ``model.compile(optimizer)`` then ``model.fit(grids)`` (integer ``[N, H, W]``; the
    targets are the inputs). ``sample(n, seed)`` draws new grids.

    Args:
        num_codes: K, the size of the VQ-VAE's codebook.
        height, width: the grid (7x7 for aezoo's VQ-VAE).
        filters: channels of each stack.
        num_blocks: gated layers; each widens the view by ``kernel_size // 2`` in every direction,
            so 6 layers of 3x3 let every position of a 7x7 grid see all the positions before it.
        kernel_size: odd kernel size of the gated layers.
    """

    def __init__(self, num_codes: int = 64, height: int = 7, width: int = 7, filters: int = 64, num_blocks: int = 6,
                 kernel_size: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_codes = check_positive_int("num_codes", num_codes)
        self.height = check_positive_int("height", height)
        self.width = check_positive_int("width", width)
        self.filters = check_positive_int("filters", filters)
        self.num_blocks = check_positive_int("num_blocks", num_blocks)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (a centre tap is the current position), got {kernel_size}")
        self.embedding = keras.layers.Embedding(num_codes, filters, name="embedding")
        self.blocks = [GatedBlock(filters, kernel_size, first=i == 0, name=f"gated_{i}") for i in range(num_blocks)]
        self.head = keras.layers.Conv2D(filters, 1, activation="relu", name="head")
        self.logits = keras.layers.Conv2D(num_codes, 1, name="logits", dtype="float32")  # softmax in float32
        self._sample_graph = None

    def build(self, input_shape: tuple[int | None, ...] | None = None) -> None:
        if self.built:
            return
        # Running call (not __call__, which would build again) creates every sub-layer's weights.
        self.call(keras.ops.zeros((1, self.height, self.width), dtype="int32"))
        self.built = True

    def call(self, grids: Any, training: bool | None = None) -> Any:
        """Logits ``[N, H, W, num_codes]`` of each position given the positions before it."""
        x = self.embedding(keras.ops.cast(grids, "int32"))
        vertical, horizontal = x, x
        for block in self.blocks:
            vertical, horizontal = block((vertical, horizontal))
        return self.logits(self.head(keras.ops.relu(horizontal)))

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        # The grid is its own target, so fit(grids) needs no y.
        targets = keras.ops.cast(x if y is None else y, "int32")
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(targets, y_pred, from_logits=True))
        return loss + keras.ops.sum(self.losses) if self.losses else loss

    def sample(self, n: Any, seed: Any = 0, temperature: Any = 1.0) -> tf.Tensor:
        """``n`` grids ``[n, H, W]`` (int32), drawn one position at a time; the same for the same seed.

        Runs as one graph (traced on first use, once per model): the eager loop pays Keras' call
        overhead at each of the H * W positions and is several times slower. Inside another
        ``tf.function`` (a SavedModel signature with tensors ``seed`` and ``n``) it nests as is.
        """
        if self._sample_graph is None:
            self._sample_graph = tf.function(self._draw, input_signature=[
                tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)])
        return self._sample_graph(tf.cast(n, tf.int32), tf.cast(seed, tf.int32), tf.cast(temperature, tf.float32))

    def _draw(self, n: tf.Tensor, seed: tf.Tensor, temperature: tf.Tensor) -> tf.Tensor:
        positions = self.height * self.width
        grids = tf.zeros(tf.stack([n, self.height, self.width]), tf.int32)

        def draw_one(index: tf.Tensor, grids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            logits = tf.reshape(self(grids, training=False), [-1, positions, self.num_codes])
            logits = tf.cast(tf.gather(logits, index, axis=1), tf.float32) / temperature
            # A fresh stateless seed per position: reproducible, and no two positions share noise.
            codes = tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, index]), dtype=tf.int32)[:, 0]
            here = tf.reshape(tf.equal(tf.range(positions), index), [1, self.height, self.width])
            return index + 1, tf.where(here, codes[:, None, None], grids)

        _, grids = tf.while_loop(lambda index, _: index < positions, draw_one, (tf.constant(0), grids))
        return grids

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_codes": self.num_codes, "height": self.height, "width": self.width,
                "filters": self.filters, "num_blocks": self.num_blocks, "kernel_size": self.kernel_size}
