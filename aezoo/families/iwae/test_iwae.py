"""The IWAE's own guards: K = 1 is the VAE's ELBO, more samples tighten the bound."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs
from tests.fixtures import tiny_model

from aezoo.families.iwae.model import ImportanceWeightedAutoencoder
from aezoo.models.base import summed_bce


def tiny(name: str, **overrides) -> keras.Model:
    return tiny_model(name, **{"seed": 3, **overrides})


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    noisy, clean = test_pairs(tiny_splits.train_images[:16], GaussianNoise(0.5))
    return noisy, clean, tiny_splits.train_labels[:16].astype("int32")


# --- IWAE ----------------------------------------------------------------------------------------

def test_iwae_with_one_sample_is_the_vae_elbo(pairs):
    """Same weights, same noise: K = 1 gives the VAE's ELBO, term by term."""
    noisy, clean, _ = pairs
    vae, iwae = tiny("vae"), tiny("iwae", iw_samples=1)
    iwae.set_weights(vae.get_weights())
    seed = tf.constant([5, 6], tf.int32)
    parts = iwae.log_weights(noisy, clean, training=True, seed=seed)
    bound, elbo = iwae.bounds(parts)

    # The VAE's own computation with the same draw of eps.
    q = vae.posterior(noisy)
    z = q.sample(seed=seed)
    reconstruction = summed_bce(clean, vae.decoder(z))
    single_sample_elbo = -(reconstruction + q.log_prob(z) - vae.latent.prior().log_prob(z))
    np.testing.assert_allclose(bound, single_sample_elbo, rtol=1e-6)  # logsumexp of one term, minus log 1
    vae_kl = tf.reduce_sum(vae.kl_per_dimension(noisy), axis=-1)
    vae_reconstruction = summed_bce(clean, vae.denoise(noisy))  # the posterior mean, as in validation
    np.testing.assert_allclose(parts["kl"], vae_kl, rtol=1e-6)
    np.testing.assert_allclose(elbo, -(reconstruction + vae_kl), rtol=1e-6)
    assert not np.allclose(reconstruction, vae_reconstruction)  # a sampled code, not the mean


def test_iwae_training_step_with_one_sample_matches_the_vae(pairs):
    """K = 1 trains like the VAE: the same sampled code, the same reconstruction and KL."""
    noisy, clean, _ = pairs
    vae, iwae = tiny("vae"), tiny("iwae", iw_samples=1)
    iwae.set_weights(vae.get_weights())
    vae_logs = vae.train_on_batch(noisy, clean, return_dict=True)
    iwae_logs = iwae.train_on_batch(noisy, clean, return_dict=True)
    for name in ("reconstruction_loss", "kl", "mse"):
        assert iwae_logs[name] == pytest.approx(vae_logs[name], rel=1e-5)
    assert iwae_logs["elbo"] == pytest.approx(-vae_logs["loss"], rel=1e-5)


def test_more_samples_tighten_the_bound(pairs):
    noisy, clean, _ = pairs
    model = tiny("iwae", iw_samples=64)
    bound, elbo = model.bounds(model.log_weights(noisy, clean, training=True))
    assert float(tf.reduce_mean(bound)) > float(tf.reduce_mean(elbo))
    logs = model.evaluate(noisy, clean, verbose=0, return_dict=True)
    assert {"iwae_bound", "elbo"} <= set(logs) and logs["loss"] == pytest.approx(-logs["iwae_bound"], rel=1e-6)


def numpy_iwae_bound(reconstruction: np.ndarray, log_ratio: np.ndarray, kl_weight: float = 1.0) -> np.ndarray:
    """IWAE_K = logsumexp_k(log w_k) - log K with log w_k = -(reconstruction_k + kl_weight * log_ratio_k),
    computed in float64 numpy, stably (the largest weight factored out)."""
    log_w = -(reconstruction.astype(np.float64) + kl_weight * log_ratio.astype(np.float64))
    top = log_w.max(axis=0)
    return top + np.log(np.exp(log_w - top).sum(axis=0)) - np.log(len(log_w))


@pytest.mark.parametrize("k", [2, 5, 16])
def test_the_iwae_bound_is_the_log_mean_of_the_importance_weights(pairs, k):
    """The bound, against numpy's logsumexp - log K of the same parts, and the parts against the
    model's own pieces drawn with the same seed; for K > 1, where the bound is not the ELBO."""
    noisy, clean, _ = pairs
    model = tiny("iwae", iw_samples=k)
    seed = tf.constant([7, 11], tf.int32)
    parts = model.log_weights(noisy, clean, training=False, seed=seed)
    reconstruction, log_ratio = parts["reconstruction"].numpy(), parts["log_ratio"].numpy()
    assert reconstruction.shape == log_ratio.shape == (k, len(noisy))

    # The parts: K codes of the posterior, each decoded, each weighed by prior / posterior.
    q = model.posterior(noisy)
    z = q.sample(k, seed=seed)
    for i in range(k):
        np.testing.assert_allclose(reconstruction[i], summed_bce(clean, model.decoder(z[i])), rtol=1e-5)
    np.testing.assert_allclose(log_ratio, q.log_prob(z) - model.latent.prior().log_prob(z), rtol=1e-5, atol=1e-4)

    for kl_weight in (1.0, 0.25):
        bound, _ = model.bounds(parts, kl_weight)
        np.testing.assert_allclose(bound, numpy_iwae_bound(reconstruction, log_ratio, kl_weight), rtol=1e-6)
    # What validation reports is the same figure, with its fixed seed.
    validation = model.log_weights(noisy, clean, training=False)
    expected = numpy_iwae_bound(validation["reconstruction"].numpy(), validation["log_ratio"].numpy()).mean()
    logs = model.evaluate(noisy, clean, batch_size=len(noisy), verbose=0, return_dict=True)
    assert logs["iwae_bound"] == pytest.approx(expected, rel=1e-5)


def test_iwae_needs_at_least_one_sample():
    with pytest.raises(ValueError, match="iw_samples must be a positive integer, got 0"):
        ImportanceWeightedAutoencoder(iw_samples=0)
