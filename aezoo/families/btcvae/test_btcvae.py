"""The β-TC-VAE's own guards: the three terms are the minibatch-weighted estimate and add up to the KL
estimate, the step descends reconstruction + MI + β·TC + dimension-wise KL, N shifts the terms and not
the step, and the whole-set estimate the analysis reports is the same decomposition with q(z) over a set.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.families import build
from aezoo.families.btcvae.model import BetaTCVAE, aggregate_kl_terms
from tests.fixtures import tiny_model
from tests.helpers import sgd_step_error

SEED = tf.constant([5, 6], tf.int32)


def tiny(name: str = "btcvae", optimizer: keras.optimizers.Optimizer | None = None, **overrides) -> keras.Model:
    return tiny_model(name, optimizer=optimizer, **{"seed": 3, **overrides})


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))


def normal_log_density(x: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return -0.5 * np.log(2 * np.pi) - np.log(scale) - 0.5 * ((x - loc) / scale) ** 2


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(x - top).sum(axis=axis))


def numpy_terms(z: np.ndarray, loc: np.ndarray, scale: np.ndarray, log_weight: float) -> dict[str, np.ndarray]:
    """MI, TC and dimension-wise KL of each code z_i, in float64, with q(z) = sum_j w q(z|x_j)."""
    z, loc, scale = (np.asarray(a, np.float64) for a in (z, loc, scale))
    pairs = normal_log_density(z[:, None, :], loc[None], scale[None])  # [i, j, d]
    own = normal_log_density(z, loc, scale).sum(-1)
    log_qz = logsumexp(pairs.sum(-1), axis=1) + log_weight
    log_marginals = (logsumexp(pairs, axis=1) + log_weight).sum(-1)
    log_pz = normal_log_density(z, 0.0, 1.0).sum(-1)
    return {"mutual_information": own - log_qz, "total_correlation": log_qz - log_marginals,
            "dimensionwise_kl": log_marginals - log_pz}


def drawn(model: BetaTCVAE, noisy: np.ndarray):
    """The posterior and the code per image the model draws with SEED."""
    posterior = model.posterior(noisy)
    return posterior, posterior.sample(seed=SEED)


# --- the three terms ------------------------------------------------------------------------------

def test_the_three_terms_are_the_minibatch_weighted_estimate(pairs):
    """Against numpy: log q(z_i) = logsumexp_j log q(z_i|x_j) - log(N M), the same per dimension."""
    noisy, clean = pairs
    model = tiny(dataset_size=3600)
    _, _, terms, _ = model.decomposed(noisy, clean, training=False, seed=SEED)
    posterior, z = drawn(model, noisy)
    expected = numpy_terms(z.numpy(), posterior.mean().numpy(), posterior.stddev().numpy(),
                           -math.log(3600 * len(noisy)))
    for name, values in expected.items():
        np.testing.assert_allclose(getattr(terms, name), values, rtol=1e-4, atol=1e-3, err_msg=name)


def test_the_three_terms_add_up_to_the_one_code_kl_estimate(pairs):
    """MI + TC + dimension-wise KL = log q(z|x) - log p(z) at the drawn code; its mean over many
    draws is the closed-form KL the VAE reports."""
    noisy, clean = pairs
    model = tiny()
    _, _, terms, kl = model.decomposed(noisy, clean, training=False, seed=SEED)
    posterior, z = drawn(model, noisy)
    np.testing.assert_allclose(terms.total, posterior.log_prob(z) - model.prior().log_prob(z), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(kl, tf.reduce_sum(model.kl_per_dimension(noisy), axis=-1), rtol=1e-5)
    totals = [model.decomposed(noisy, clean, training=False, seed=tf.constant([9, i]))[2].total for i in range(400)]
    np.testing.assert_allclose(np.mean(totals, axis=0), kl, atol=0.1)


def test_the_dataset_size_shifts_the_terms_by_constants_and_leaves_the_step_alone(pairs):
    noisy, clean = pairs
    small, large = (tiny(optimizer=keras.optimizers.SGD(1e-3), dataset_size=n) for n in (100, 3600))
    small_terms = small.decomposed(noisy, clean, training=False, seed=SEED)[2]
    large_terms = large.decomposed(noisy, clean, training=False, seed=SEED)[2]
    shift, dimensions = math.log(3600 / 100), small.embedding_dim
    np.testing.assert_allclose(large_terms.mutual_information - small_terms.mutual_information, shift, atol=1e-3)
    np.testing.assert_allclose(large_terms.total_correlation - small_terms.total_correlation,
                               (dimensions - 1) * shift, atol=1e-3)
    np.testing.assert_allclose(large_terms.dimensionwise_kl - small_terms.dimensionwise_kl, -dimensions * shift,
                               atol=1e-3)
    small.train_on_batch(noisy, clean)
    large.train_on_batch(noisy, clean)
    for a, b in zip(small.get_weights(), large.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_validation_reports_the_terms_and_weighs_the_total_correlation_by_beta(pairs):
    noisy, clean = pairs
    model = tiny(beta=3.0)
    scores = model.evaluate(noisy, clean, batch_size=len(noisy), verbose=0, return_dict=True)
    assert {"mutual_information", "total_correlation", "dimensionwise_kl"} <= set(scores)
    assert scores["loss"] == pytest.approx(scores["reconstruction_loss"] + scores["mutual_information"]
                                           + 3.0 * scores["total_correlation"] + scores["dimensionwise_kl"], rel=1e-5)
    assert scores["reconstruction_loss"] > 100  # summed over the 784 pixels, as in the VAE


# --- the step -------------------------------------------------------------------------------------

def test_a_train_step_descends_reconstruction_plus_mi_plus_beta_tc_plus_dimensionwise_kl(pairs):
    """One SGD step moves the weights by -lr * grad of the stated loss, written here from scratch:
    BCE summed over the pixels + MI + beta * TC + dimension-wise KL, with MWS over the batch, at the
    code the step draws (the latent layer's seed state is restored in between)."""
    noisy, clean = pairs
    # A large beta gives the total correlation a visible share of the gradient.
    beta, learning_rate, dataset_size = 20.0, 1e-4, 3600
    model = tiny(optimizer=keras.optimizers.SGD(learning_rate), beta=beta, dataset_size=dataset_size)
    state = model.latent.seed_generator.state.numpy()
    posterior = model.posterior(noisy)
    z = posterior.sample(seed=tf.cast(model.latent.seed_generator.next(), tf.int32))
    eps = ((z - posterior.mean()) / posterior.stddev()).numpy()
    model.latent.seed_generator.state.assign(state)

    half_log_2pi = 0.5 * math.log(2 * math.pi)
    before = [w.numpy() for w in model.trainable_weights]
    with tf.GradientTape() as tape:
        posterior = model.latent.posterior(model.encoder(noisy, training=True))
        mu, sigma = posterior.mean(), posterior.stddev()
        z = mu + sigma * eps
        p = tf.clip_by_value(model.decoder(z, training=True), 1e-7, 1 - 1e-7)
        reconstruction = -tf.reduce_sum(clean * tf.math.log(p) + (1 - clean) * tf.math.log(1 - p), axis=[1, 2, 3])
        pairs_ = (-half_log_2pi - tf.math.log(sigma[None]) - 0.5 * ((z[:, None] - mu[None]) / sigma[None]) ** 2)
        log_nm = math.log(dataset_size * len(noisy))
        log_qz = tf.reduce_logsumexp(tf.reduce_sum(pairs_, -1), axis=1) - log_nm
        log_marginals = tf.reduce_sum(tf.reduce_logsumexp(pairs_, axis=1) - log_nm, -1)
        log_q_own = tf.reduce_sum(-half_log_2pi - tf.math.log(sigma) - 0.5 * eps ** 2, -1)
        log_pz = tf.reduce_sum(-half_log_2pi - 0.5 * z ** 2, -1)
        loss = tf.reduce_mean(reconstruction + (log_q_own - log_qz) + beta * (log_qz - log_marginals)
                              + (log_marginals - log_pz))
    difference = sgd_step_error(model, (noisy, clean), before, tape.gradient(loss, model.trainable_weights),
                                learning_rate)
    assert difference < 1e-3, f"the step differs from -lr * grad(recon + MI + beta TC + dim KL) by {difference:.1e}"


def test_the_kl_weight_is_the_total_correlation_weight_the_gradient_sees(pairs):
    """Warmed down to 0, a β-TC-VAE takes the very step of one with beta = 0 (MI and dimension-wise KL
    still weighted 1), and not the step it takes at its own beta."""
    noisy, clean = pairs
    warming, no_tc, own = tiny(beta=6.0), tiny(beta=0.0), tiny(beta=6.0)
    warming.kl_weight.assign(0.0)
    for model in (warming, no_tc, own):
        model.train_on_batch(noisy, clean)
    for a, b in zip(warming.get_weights(), no_tc.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert not all(np.allclose(a, b) for a, b in zip(warming.get_weights(), own.get_weights()))


def test_beta_and_dataset_size_are_checked():
    with pytest.raises(ValueError, match="dataset_size must be a positive integer, got 0"):
        BetaTCVAE(dataset_size=0)
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        BetaTCVAE(beta=-1.0)
    assert build("btcvae").beta == 6.0 and float(build("btcvae").kl_weight.numpy()) == 6.0


# --- the whole-set estimate (what the analysis reports, for any model of the VAE lineage) ------------

@pytest.mark.parametrize("name", ["btcvae", "beta_vae"])
def test_the_whole_set_estimate_mixes_the_posteriors_of_every_image(pairs, name):
    noisy, _ = pairs
    model = tiny(name)
    measured = aggregate_kl_terms(model, noisy, seed=4, rows=5)  # rows of 5: the chunks must not matter
    posterior = model.posterior(noisy)
    loc, scale = posterior.mean().numpy(), posterior.stddev().numpy()
    from aezoo.models.latent import stateless_seed

    z = loc + scale * tf.random.stateless_normal(loc.shape, stateless_seed(4)).numpy()
    expected = numpy_terms(z, loc, scale, -math.log(len(noisy)))
    for term, values in expected.items():
        assert measured[term] == pytest.approx(values.mean(), rel=1e-4, abs=1e-3), term
    assert measured["mutual_information"] <= math.log(len(noisy)) + 1e-4
