"""The VAE family: KL warm-up (β-VAE), the IWAE bound, the conditional VAE's labels."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.callbacks import KLWarmup
from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.models import ImportanceWeightedAutoencoder, VariationalAutoencoder, build
from aezoo.models.base import summed_bce
from tests.conftest import TINY_HYPERPARAMETERS


def tiny(name: str, **overrides) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = build(name, **{**TINY_HYPERPARAMETERS, "seed": 3, **overrides})
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.build()
    return model


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    noisy, clean = test_pairs(tiny_splits.train_images[:16], GaussianNoise(0.5))
    return noisy, clean, tiny_splits.train_labels[:16].astype("int32")


# --- β-VAE and KL warm-up ------------------------------------------------------------------------

def test_beta_vae_is_the_vae_with_beta_4():
    model = build("beta_vae")
    assert type(model) is VariationalAutoencoder and model.beta == 4.0
    assert float(model.kl_weight.numpy()) == 4.0


def test_kl_weight_follows_the_warm_up_schedule(pairs):
    noisy, clean, _ = pairs
    model = tiny("beta_vae")
    warmup = KLWarmup(warmup_epochs=2)
    history = model.fit(noisy, clean, batch_size=16, epochs=4, verbose=0, callbacks=[warmup]).history
    assert warmup.schedule == [(0, 0.0), (1, 2.0), (2, 4.0), (3, 4.0)]
    assert history["kl_weight"] == [0.0, 2.0, 4.0, 4.0]
    # The weight really is the one the loss uses: epoch 0 optimised the reconstruction alone.
    assert history["loss"][0] == pytest.approx(history["reconstruction_loss"][0], rel=1e-6)
    assert history["loss"][1] == pytest.approx(history["reconstruction_loss"][1] + 2.0 * history["kl"][1], rel=1e-5)
    # After training the model weighs the KL by its beta; the saved config keeps beta itself.
    assert float(model.kl_weight.numpy()) == 4.0 and model.get_config()["beta"] == 4.0
    # A second fit starts the ramp again.
    model.fit(noisy, clean, batch_size=16, epochs=1, verbose=0, callbacks=[warmup])
    assert warmup.schedule == [(0, 0.0)]


def test_the_kl_weight_is_what_the_gradient_sees(pairs):
    """A β-VAE whose KL weight is warmed down to 0 takes the very step a VAE with beta = 0 takes."""
    noisy, clean, _ = pairs
    warming, no_kl = tiny("beta_vae"), tiny("vae", beta=0.0)
    warming.kl_weight.assign(0.0)
    no_kl.set_weights(warming.get_weights())
    warming.train_on_batch(noisy, clean)
    no_kl.train_on_batch(noisy, clean)
    for a, b in zip(warming.get_weights(), no_kl.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_validation_loss_uses_the_target_beta_during_warm_up(pairs):
    noisy, clean, _ = pairs
    model = tiny("beta_vae")
    history = model.fit(noisy, clean, batch_size=16, epochs=1, verbose=0, validation_data=(noisy, clean),
                        callbacks=[KLWarmup(warmup_epochs=3)]).history
    assert history["val_loss"][0] == pytest.approx(history["val_reconstruction_loss"][0] + 4.0 * history["val_kl"][0],
                                                   rel=1e-5)


def test_warm_up_leaves_models_without_a_kl_term_alone_and_rejects_bad_lengths(pairs):
    noisy, clean, _ = pairs
    model = tiny("ae")
    history = model.fit(noisy, clean, batch_size=16, epochs=1, verbose=0, callbacks=[KLWarmup(2)]).history
    assert "kl_weight" not in history
    with pytest.raises(ValueError, match="warmup_epochs must be an integer >= 0, got -1"):
        KLWarmup(-1)


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
    vae_reconstruction, vae_kl = vae.elbo_terms(noisy, clean)  # the posterior mean, as in validation
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


# --- Conditional VAE -----------------------------------------------------------------------------

def test_cvae_decoder_output_changes_with_the_label(pairs):
    noisy, clean, labels = pairs
    model = tiny("cvae")
    model.fit((noisy, labels), clean, batch_size=16, epochs=2, verbose=0)
    z = model.encode(noisy[:4], labels[:4])
    as_zero = np.asarray(model.decode(z, np.zeros(4, "int32")))
    as_one = np.asarray(model.decode(z, np.ones(4, "int32")))
    assert np.abs(as_zero - as_one).mean() > 1e-3
    # The encoder sees the label too.
    assert not np.allclose(model.encode(noisy[:4], np.zeros(4, "int32")), model.encode(noisy[:4], np.ones(4, "int32")))


def test_cvae_samples_the_requested_classes():
    model = tiny("cvae")
    assert model.sample(12, seed=1).shape == (12, 28, 28, 1)  # classes 0..9, 0, 1
    np.testing.assert_array_equal(model.sample(3, labels=7, seed=1), model.sample(3, labels=[7, 7, 7], seed=1))
    assert not np.allclose(model.sample(3, labels=7, seed=1), model.sample(3, labels=2, seed=1))
