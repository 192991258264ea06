"""Batch normalisation that trains through TensorFlow's fused kernel on a single replica."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="aezoo")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training step is one fused TensorFlow op.

    Keras 3 normalises a training batch with a dozen small ops per layer (the moments, the
    normalisation, the scale and shift, the same again backwards). On a CPU with the zoo's small
    feature maps that per-op overhead, not the arithmetic, dominates (bench/README.md).
    TensorFlow's fused kernel (``tf.raw_ops.FusedBatchNormV3``) does the forward pass in one op
    and the backward pass in another.

    The layer is otherwise Keras's: the same weights (``gamma``, ``beta``, ``moving_mean``,
    ``moving_variance``), arguments, config and inference path. It falls back to Keras's own
    training path whenever the fused kernel does not apply: a mask, an axis other than the last,
    renormalisation, a rank other than 4, or a ``synchronized`` layer under a strategy with
    several replicas (the fused kernel sees only its replica's share of the batch).
    """

    def _can_fuse(self, inputs: Any, mask: Any) -> bool:
        if mask is not None or self.renorm or len(inputs.shape) != 4 or self.axis not in (-1, 3):
            return False
        if self.synchronized and tf.distribute.get_strategy().num_replicas_in_sync > 1:
            return False
        return True

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not (training and self.trainable) or not self._can_fuse(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        # As Keras does: half-precision inputs are normalised in float32, where they cannot overflow.
        x = tf.cast(inputs, tf.float32)
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels], tf.float32)
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels], tf.float32)
        # tf.raw_ops is TensorFlow's public, stable op API: the kernel tf.compat.v1's fused_batch_norm
        # calls, and differentiable (its gradient is registered). No running statistics go in
        # (empty mean and variance) since training normalises by the batch's own.
        empty = tf.constant([], tf.float32)
        outputs, mean, unbiased_variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=gamma, offset=beta, mean=empty, variance=empty, epsilon=self.epsilon,
            exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        # The kernel returns the unbiased batch variance (divided by n - 1); Keras keeps the biased
        # one in its moving average, and so does this layer.
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        variance = unbiased_variance * (count - 1.0) / count
        self.moving_mean.assign(tf.cast(self.moving_mean * self.momentum + mean * (1.0 - self.momentum),
                                        self.moving_mean.dtype))
        self.moving_variance.assign(tf.cast(self.moving_variance * self.momentum + variance * (1.0 - self.momentum),
                                            self.moving_variance.dtype))
        return tf.cast(outputs, self.compute_dtype)
