"""The shared building blocks: encoder and decoder alone, the Gaussian latent layer, argument checks.

Each family's own guards live in its folder (``aezoo/families/<name>/test_*.py``); the contract
every family keeps is tests/test_families.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from aezoo.datasets import GaussianNoise, test_pairs, training_dataset
from aezoo.families.ae.model import ConvAutoencoder
from aezoo.models import Decoder, Encoder, GaussianLatent, per_image_psnr
from aezoo.families.vae.model import VariationalAutoencoder
from tests.fixtures import TINY_HYPERPARAMETERS

def test_encoder_and_decoder_work_on_their_own():
    encoder, decoder = Encoder(embedding_dim=7, depth=2, filters=4), Decoder(embedding_dim=7, depth=2, filters=4)
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    codes = encoder(images)
    assert codes.shape == (3, 7)
    reconstructed = decoder(codes).numpy()
    assert reconstructed.shape == (3, 28, 28, 1)
    assert reconstructed.min() >= 0 and reconstructed.max() <= 1  # sigmoid output
    # Two stride-2 levels take 28x28 down to 7x7, as the brief asks.
    convolutions = [layer for layer in encoder.conv_layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.strides for layer in convolutions] == [(2, 2), (1, 1), (2, 2), (1, 1)]


def test_vae_kl_equals_the_closed_form():
    latent = GaussianLatent(latent_dim=3)
    mu = np.array([[0.5, -1.0, 0.0]], "float32")
    sigma = np.array([[1.0, 0.5, 2.0]], "float32")
    raw_scale = np.log(np.expm1(sigma - latent.min_scale))  # inverse of softplus(x) + min_scale
    _, kl = latent(np.concatenate([mu, raw_scale], axis=1), training=False)
    closed_form = np.sum(0.5 * (mu ** 2 + sigma ** 2 - 1) - np.log(sigma))
    assert float(kl[0]) == pytest.approx(closed_form, rel=1e-4)
    per_dim = latent.kl_per_dimension(np.concatenate([mu, raw_scale], axis=1)).numpy()
    assert per_dim.sum() == pytest.approx(closed_form, rel=1e-4)


def test_vae_samples_in_training_and_uses_the_mean_at_inference():
    latent = GaussianLatent(latent_dim=2, seed=1)
    params = np.array([[1.0, -1.0, 0.0, 0.0]], "float32")  # mu = (1, -1), sigma = softplus(0) ~ 0.69
    z_mean, _ = latent(params, training=False)
    np.testing.assert_allclose(z_mean.numpy(), [[1.0, -1.0]])
    draws = np.concatenate([latent(np.repeat(params, 500, axis=0), training=True)[0].numpy() for _ in range(4)])
    np.testing.assert_allclose(draws.mean(axis=0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(draws.std(axis=0), [np.log(2.0)] * 2, atol=0.05)


def test_vae_reparameterised_sampling_lets_gradients_reach_the_scale():
    latent = GaussianLatent(latent_dim=2, seed=0)
    params = tf.Variable(tf.zeros([8, 4]))
    with tf.GradientTape() as tape:
        z, _ = latent(params, training=True)
        objective = tf.reduce_sum(z ** 2)
    gradient = tape.gradient(objective, params).numpy()
    assert np.abs(gradient[:, 2:]).sum() > 0  # the scale half gets a gradient through eps


@pytest.mark.parametrize("cls", [Encoder, Decoder])
def test_get_config_lists_every_constructor_argument(cls):
    import inspect

    arguments = {name for name, p in inspect.signature(cls.__init__).parameters.items()
                 if name not in ("self", "kwargs")}
    assert arguments <= set(cls().get_config())


def test_latent_layer_round_trips():
    layer = GaussianLatent(latent_dim=3, min_scale=0.01, seed=4)
    clone = GaussianLatent.from_config(layer.get_config())
    assert (clone.latent_dim, clone.min_scale, clone.seed) == (3, 0.01, 4)


@pytest.mark.parametrize("cls, kwargs, message", [
    (ConvAutoencoder, {"embedding_dim": 0}, "embedding_dim must be a positive integer, got 0"),
    (ConvAutoencoder, {"depth": -1}, "depth must be a positive integer, got -1"),
    (ConvAutoencoder, {"filters": 2.5}, "filters must be a positive integer, got 2.5"),
    (ConvAutoencoder, {"activation": "wiggle"}, "activation must name a Keras activation"),
    (VariationalAutoencoder, {"beta": -1.0}, "beta must be a finite number >= 0, got -1.0"),
])
def test_bad_arguments_raise_value_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_latent_layer_rejects_mismatched_encoder_output():
    with pytest.raises(ValueError, match="needs 6 encoder outputs"):
        GaussianLatent(latent_dim=3)(np.zeros((1, 4), "float32"))
