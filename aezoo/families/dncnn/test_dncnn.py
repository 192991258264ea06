"""DnCNN's own guards: it predicts the noise, subtracts it, and learns from the noise's squared error."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs, training_dataset
from aezoo.families import build, get_model
from aezoo.families.dncnn.model import DnCNN
from aezoo.models.base import per_image_psnr
from aezoo.models.capabilities import capabilities_of
from tests.fixtures import tiny_model


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))


def test_the_output_is_the_noisy_image_minus_the_predicted_noise(pairs):
    noisy, _ = pairs
    model = tiny_model("dncnn", depth=2)
    residual = model.residual(noisy, training=False).numpy()
    assert np.abs(residual).max() > 0.01
    np.testing.assert_allclose(model.denoise(noisy), np.clip(noisy - residual, 0.0, 1.0), atol=1e-6)
    # Residual learning: with the last layer at zero the network predicts no noise, and the
    # output is its input (a network that predicts the image would output zeros).
    model.noise.set_weights([np.zeros_like(w) for w in model.noise.get_weights()])
    np.testing.assert_array_equal(model.denoise(noisy), noisy)


def test_the_loss_is_the_squared_error_of_the_predicted_noise(pairs):
    noisy, clean = pairs
    model = tiny_model("dncnn", depth=2)
    residual = model.residual(noisy, training=False).numpy()
    expected = ((residual - (noisy - clean)) ** 2).mean()
    scores = model.evaluate(noisy, clean, batch_size=16, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(expected, rel=1e-5)
    denoised = np.clip(noisy - residual, 0, 1)
    assert scores["mse"] == pytest.approx(((denoised - clean) ** 2).mean(), rel=1e-5)
    assert get_model("dncnn").loss_in_words().startswith("mean squared error between the predicted noise and the "
                                                         "true noise (noisy image − clean image)")


def test_a_train_step_descends_the_squared_error_of_the_predicted_noise(pairs):
    """One SGD step moves the weights by -lr * grad(mean((R(noisy) - (noisy - clean))^2))."""
    noisy, clean = pairs
    learning_rate = 0.05
    keras.utils.set_random_seed(0)
    model = DnCNN(depth=2, filters=4, batch_norm=False)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    model.build()
    before = [w.numpy() for w in model.trainable_weights]
    with tf.GradientTape() as tape:
        residual = model.residual(noisy, training=True)
        loss = tf.reduce_mean(tf.square(residual - (noisy - clean)))
    expected = [w - learning_rate * g.numpy() for w, g in zip(before, tape.gradient(loss, model.trainable_weights))]
    model.fit(tf.data.Dataset.from_tensors((noisy, clean)), epochs=1, verbose=0, shuffle=False)
    for after, wanted, start in zip(model.trainable_weights, expected, before):
        assert np.abs(wanted - start).max() > 0
        np.testing.assert_allclose(after.numpy(), wanted, rtol=1e-4, atol=1e-6)


def test_the_layers_are_the_papers_at_the_stated_depth_and_width():
    model = build("dncnn")
    model.build()
    convolutions = [layer for layer in model.hidden if isinstance(layer, keras.layers.Conv2D)]
    normalised = [layer for layer in model.hidden if isinstance(layer, keras.layers.BatchNormalization)]
    assert (model.depth, model.filters) == (6, 32)
    assert len(convolutions) == 6 and {c.filters for c in convolutions} == {32}
    assert len(normalised) == 5  # every hidden convolution but the first
    assert all(c.strides == (1, 1) for c in convolutions) and model.noise.filters == 1
    assert model.noise.activation is keras.activations.linear  # noise can be negative
    assert all(isinstance(c.kernel_initializer, keras.initializers.HeNormal) for c in (*convolutions, model.noise))
    assert not capabilities_of(model) and not hasattr(model, "encode")


def test_it_is_fully_convolutional():
    model = build("dncnn", depth=2, filters=4, image_shape=(20, 36, 3))
    model.build()
    assert model.denoise(np.zeros((2, 20, 36, 3), "float32")).shape == (2, 20, 36, 3)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="depth must be a positive integer, got 0"):
        DnCNN(depth=0)


def test_a_trained_dncnn_beats_the_noisy_input_by_a_margin(tiny_splits):
    keras.utils.set_random_seed(0)
    model = build("dncnn", depth=4, filters=8, batch_norm=False)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.build()
    model.fit(training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 32, seed=0), epochs=3, verbose=0,
              shuffle=False)
    noisy, clean = test_pairs(tiny_splits.test_images, GaussianNoise(0.5))
    noisy_psnr = float(tf.reduce_mean(per_image_psnr(clean, noisy)))
    denoised_psnr = model.evaluate(noisy, clean, verbose=0, return_dict=True)["psnr"]
    assert denoised_psnr > noisy_psnr + 3.0
