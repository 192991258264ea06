"""FusedBatchNormalization must be Keras's BatchNormalization, only faster."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.models.batch_norm import FusedBatchNormalization


def _pair(**kwargs):
    fused, plain = FusedBatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    for layer in (fused, plain):
        layer.build((None, 6, 6, 3))
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=3).astype("float32"), rng.normal(size=3).astype("float32"),
               rng.normal(size=3).astype("float32"), rng.uniform(0.5, 2, size=3).astype("float32")]
    fused.set_weights(weights)
    plain.set_weights(weights)
    return fused, plain


@pytest.fixture
def batch() -> tf.Tensor:
    return tf.constant(np.random.default_rng(1).normal(2.0, 3.0, size=(8, 6, 6, 3)), tf.float32)


@pytest.mark.parametrize("training", [True, False])
def test_outputs_and_gradients_equal_keras(batch: tf.Tensor, training: bool) -> None:
    fused, plain = _pair(momentum=0.9)
    results = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            out = layer(batch, training=training)
            loss = tf.reduce_sum(out * tf.range(out.shape[-1], dtype=out.dtype))
        grads = tape.gradient(loss, [batch, *layer.trainable_weights])
        results.append((out.numpy(), [g.numpy() for g in grads]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4, atol=1e-4)
    for mine, theirs in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-4)


def test_training_updates_the_moving_statistics_as_keras_does(batch: tf.Tensor) -> None:
    fused, plain = _pair(momentum=0.9)
    before = fused.moving_mean.numpy().copy()
    for layer in (fused, plain):
        layer(batch, training=True)
    assert not np.allclose(fused.moving_mean.numpy(), before)
    np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-5)


def test_a_frozen_layer_uses_its_moving_statistics(batch: tf.Tensor) -> None:
    fused, plain = _pair()
    fused.trainable = plain.trainable = False
    np.testing.assert_allclose(fused(batch, training=True).numpy(), plain(batch, training=True).numpy(), atol=1e-5)
    np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy())


def test_half_precision_inputs_keep_the_policy_dtype(batch: tf.Tensor) -> None:
    layer = FusedBatchNormalization(dtype="mixed_bfloat16")
    out = layer(tf.cast(batch, tf.bfloat16), training=True)
    assert out.dtype == tf.bfloat16 and layer.moving_mean.dtype == tf.float32


def test_config_round_trip() -> None:
    layer = FusedBatchNormalization(momentum=0.8, epsilon=1e-2, synchronized=True, name="bn")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is FusedBatchNormalization
    assert restored.get_config() == layer.get_config()


def test_the_public_raw_op_is_the_compat_wrapper_bit_for_bit(batch: tf.Tensor) -> None:
    # The layer calls TensorFlow's fused kernel through tf.raw_ops (public, stable) instead of
    # tf.compat.v1.nn.fused_batch_norm, which calls the same op: no figure of a run can move.
    gamma, beta = tf.constant([0.5, 1.0, 2.0]), tf.constant([0.1, -0.2, 0.3])
    empty = tf.constant([], tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([batch, gamma, beta])
        wrapper = tf.compat.v1.nn.fused_batch_norm(batch, gamma, beta, epsilon=1e-3, data_format="NHWC",
                                                   is_training=True)
        raw = tf.raw_ops.FusedBatchNormV3(x=batch, scale=gamma, offset=beta, mean=empty, variance=empty,
                                          epsilon=1e-3, exponential_avg_factor=1.0, data_format="NHWC",
                                          is_training=True)[:3]
        losses = [tf.reduce_sum(outputs[0] * outputs[0]) for outputs in (wrapper, raw)]
    for mine, theirs in zip(raw, wrapper):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for mine, theirs in zip(tape.gradient(losses[1], [batch, gamma, beta]), tape.gradient(losses[0], [batch, gamma, beta])):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
