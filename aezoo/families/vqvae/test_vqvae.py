"""The VQ-VAE: nearest-code quantisation, the straight-through gradient, live codes, the grid API."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.families.vqvae.model import VectorQuantizer
from aezoo.families import build
from tests.fixtures import TINY_HYPERPARAMETERS

CODEBOOK = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [-1.0, -1.0, 1.0], [3.0, 3.0, 3.0]], "float32")


def quantizer() -> VectorQuantizer:
    layer = VectorQuantizer(num_codes=5, embedding_dim=3, seed=0)
    layer.build()
    layer.codebook.assign(CODEBOOK)
    return layer


def grid(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1.5, (2, 7, 7, 3)).astype("float32")


def test_each_vector_gets_the_nearest_codebook_entry():
    z_e = grid()
    quantised, indices, _, _ = quantizer()(z_e)
    distances = ((z_e[..., None, :] - CODEBOOK) ** 2).sum(-1)  # brute force, [2, 7, 7, 5]
    np.testing.assert_array_equal(indices, distances.argmin(-1))
    np.testing.assert_allclose(quantised, CODEBOOK[distances.argmin(-1)], atol=1e-6)


def test_the_gradient_passes_straight_through_and_each_loss_trains_its_side():
    layer = quantizer()
    z_e = tf.Variable(grid())
    upstream = tf.constant(np.random.default_rng(1).normal(size=(2, 7, 7, 3)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        quantised, _, codebook_loss, commitment_loss = layer(z_e)
        through = tf.reduce_sum(quantised * upstream)
    np.testing.assert_allclose(tape.gradient(through, z_e), upstream)  # as if quantisation were the identity
    assert tape.gradient(through, layer.codebook) is None
    assert tape.gradient(codebook_loss, z_e) is None  # the codebook loss moves only the codebook
    assert np.abs(tf.convert_to_tensor(tape.gradient(codebook_loss, layer.codebook))).sum() > 0
    assert tape.gradient(commitment_loss, layer.codebook) is None  # the commitment loss moves only the encoder
    assert np.abs(tape.gradient(commitment_loss, z_e)).sum() > 0


def test_dead_codes_are_restarted_on_encoder_outputs():
    layer = quantizer()
    z_e = grid()
    usage = np.full(5, 0.2, "float32")
    usage[4] = 0.0  # code 4 (far from every vector) has not been chosen for a long time
    layer.usage.assign(usage)
    assert int(layer.restart_dead_codes(z_e)) == 1
    codebook = layer.codebook.numpy()
    np.testing.assert_array_equal(codebook[:4], CODEBOOK[:4])
    assert any(np.allclose(codebook[4], vector) for vector in z_e.reshape(-1, 3))
    assert layer.usage.numpy()[4] == pytest.approx(0.2)


def test_training_revives_a_code_that_nobody_picks(tiny_splits):
    keras.utils.set_random_seed(0)
    model = build("vqvae", **{**TINY_HYPERPARAMETERS, "num_codes": 8, "seed": 0})
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.build()
    far = model.quantizer.codebook.numpy()
    far[0] = 1e3
    model.quantizer.codebook.assign(far)
    usage = np.full(8, 1 / 8, "float32")
    usage[0] = 0.035 / 8  # just above the dead threshold (0.03 / 8): a few unused steps take it below
    model.quantizer.usage.assign(usage)
    noisy, clean = test_pairs(tiny_splits.train_images[:64], GaussianNoise(0.5))
    model.fit(noisy, clean, batch_size=16, epochs=2, verbose=0)
    assert np.abs(model.quantizer.codebook.numpy()[0]).max() < 100
    assert model.codebook_usage(noisy)["counts"][0] > 0


def test_grid_api_and_codebook_usage(tiny_splits):
    keras.utils.set_random_seed(0)
    model = build("vqvae", **{**TINY_HYPERPARAMETERS, "seed": 0})
    model.build()
    noisy, _ = test_pairs(tiny_splits.test_images[:10], GaussianNoise(0.5))
    z_e = model.encode(noisy)
    assert z_e.shape == (10, 7, 7, 4) and model.embedding_shape == (7, 7, 4)
    np.testing.assert_allclose(model.decode(z_e), model.denoise(noisy), atol=1e-6)
    codes = model.codes(noisy)
    assert codes.shape == (10, 7, 7) and codes.dtype == tf.int32
    np.testing.assert_allclose(model.decode_codes(codes), model.denoise(noisy), atol=1e-6)
    usage = model.codebook_usage(noisy, batch_size=4)
    assert sum(usage["counts"]) == 10 * 49 and usage["used_codes"] + usage["dead_codes"] == 64
    assert 1.0 <= usage["perplexity"] <= usage["used_codes"] + 1e-4
