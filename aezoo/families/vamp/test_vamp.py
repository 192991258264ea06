"""The VampPrior VAE's own guards: the prior is the equal mixture of the pseudo-inputs' posteriors (and the
NLL weighs codes by it), the KL term is log q(z|x) - log p(z) at the drawn code under that prior, the step
descends reconstruction + that KL (reaching the pseudo-inputs), and the pseudo-inputs stay images.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp
from scipy.stats import norm

from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.evaluation.likelihood import latent_variable_model, log_weights
from aezoo.families import build
from aezoo.families.vamp.model import VampPriorVAE
from tests.fixtures import tiny_model
from tests.helpers import sgd_step_error

SEED = tf.constant([5, 6], tf.int32)
K = 7


def tiny(optimizer: keras.optimizers.Optimizer | None = None, **overrides) -> VampPriorVAE:
    return tiny_model("vamp", optimizer=optimizer, **{"seed": 3, "pseudo_inputs": K, **overrides})


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))


def gaussian_parameters(model: VampPriorVAE, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of q(z|images), from the encoder's raw outputs, in float64."""
    params = np.asarray(model.encoder(images, training=False), np.float64)
    loc, raw_scale = np.split(params, 2, axis=-1)
    return loc, np.logaddexp(0.0, raw_scale) + model.latent.min_scale  # softplus, plus the floor


def numpy_vampprior_log_density(model: VampPriorVAE, z: np.ndarray) -> np.ndarray:
    """log p(z) = log 1/K sum_k q(z|u_k), u_k = sigmoid(the pseudo-input logits), in float64."""
    pseudo = 1.0 / (1.0 + np.exp(-np.asarray(model.pseudo_logits, np.float64)))
    loc, scale = gaussian_parameters(model, pseudo.astype(np.float32))
    per_component = norm.logpdf(np.asarray(z, np.float64)[:, None, :], loc[None], scale[None]).sum(-1)  # [n, K]
    return logsumexp(per_component, axis=1) - math.log(len(loc))


# --- the prior --------------------------------------------------------------------------------------

def test_the_prior_is_the_equal_mixture_of_the_pseudo_inputs_posteriors(pairs):
    noisy, _ = pairs
    model = tiny()
    codes = np.concatenate([np.asarray(model.encode(noisy)),
                            np.random.default_rng(0).normal(size=(16, model.embedding_dim))]).astype(np.float32)
    expected = numpy_vampprior_log_density(model, codes)
    np.testing.assert_allclose(model.prior().log_prob(codes), expected, rtol=1e-4, atol=1e-4)
    # Not N(0, I): the guard would not notice the swap if the two happened to agree.
    assert not np.allclose(norm.logpdf(codes).sum(-1), expected, atol=0.1)
    assert model.prior().sample(5, seed=SEED).shape == (5, model.embedding_dim)


def test_the_nll_weighs_codes_by_the_vampprior(pairs):
    """The importance-sampled NLL's prior is the VampPrior: its log weights, rebuilt with numpy's
    mixture density, match; with N(0, I) in its place they would not."""
    noisy, _ = pairs
    model = tiny()
    estimator = latent_variable_model(model)
    weights = log_weights(estimator, noisy, 3, SEED).numpy()  # [3, B]
    z = model.posterior(noisy).sample(3, seed=SEED).numpy()
    log_prior = numpy_vampprior_log_density(model, z.reshape(-1, model.embedding_dim)).reshape(z.shape[:2])
    loc, scale = gaussian_parameters(model, noisy)
    log_posterior = norm.logpdf(z, loc[None], scale[None]).sum(-1)
    log_likelihood = np.stack([estimator.log_likelihood(noisy, tf.constant(codes)).numpy() for codes in z])
    np.testing.assert_allclose(weights, log_likelihood + log_prior - log_posterior, rtol=1e-4, atol=2e-3)


# --- the KL term and the step -------------------------------------------------------------------------

def test_the_kl_is_log_posterior_minus_log_vampprior_at_the_drawn_code(pairs):
    noisy, clean = pairs
    model = tiny()
    _, reconstruction, kl = model._forward(noisy, clean, training=False, seed=SEED)
    z = model.posterior(noisy).sample(seed=SEED).numpy()
    loc, scale = gaussian_parameters(model, noisy)
    expected = norm.logpdf(z, loc, scale).sum(-1) - numpy_vampprior_log_density(model, z)
    np.testing.assert_allclose(kl, expected, rtol=1e-4, atol=2e-3)
    scores = model.evaluate(noisy, clean, batch_size=len(noisy), verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(scores["reconstruction_loss"] + scores["kl"], rel=1e-5)
    assert scores["reconstruction_loss"] > 100  # summed over the 784 pixels, as in the VAE


def test_a_train_step_descends_reconstruction_plus_the_one_code_kl_to_the_vampprior(pairs):
    """One SGD step moves every weight, the pseudo-inputs' included, by -lr * grad of the stated loss,
    written here from scratch: BCE summed over the pixels + log q(z|noisy) - log 1/K sum_k q(z|u_k) at
    the code the step draws (the latent layer's seed state is restored in between)."""
    noisy, clean = pairs
    learning_rate = 1e-3
    model = tiny(optimizer=keras.optimizers.SGD(learning_rate))
    state = model.latent.seed_generator.state.numpy()
    posterior = model.posterior(noisy)
    z = posterior.sample(seed=tf.cast(model.latent.seed_generator.next(), tf.int32))
    eps = ((z - posterior.mean()) / posterior.stddev()).numpy()
    model.latent.seed_generator.state.assign(state)

    def gaussian(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        loc, raw_scale = tf.split(model.encoder(images, training=True), 2, axis=-1)
        return loc, tf.nn.softplus(raw_scale) + model.latent.min_scale

    def log_normal(x: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(-0.5 * math.log(2 * math.pi) - tf.math.log(scale) - 0.5 * ((x - loc) / scale) ** 2, -1)

    before = [w.numpy() for w in model.trainable_weights]
    pseudo_before = model.pseudo_logits.numpy()
    with tf.GradientTape() as tape:
        mu, sigma = gaussian(noisy)
        z = mu + sigma * eps
        p = tf.clip_by_value(model.decoder(z, training=True), 1e-7, 1 - 1e-7)
        reconstruction = -tf.reduce_sum(clean * tf.math.log(p) + (1 - clean) * tf.math.log(1 - p), axis=[1, 2, 3])
        prior_mu, prior_sigma = gaussian(tf.sigmoid(model.pseudo_logits))
        log_prior = tf.reduce_logsumexp(log_normal(z[:, None], prior_mu[None], prior_sigma[None]), axis=1) - math.log(K)
        loss = tf.reduce_mean(reconstruction + log_normal(z, mu, sigma) - log_prior)
    difference = sgd_step_error(model, (noisy, clean), before, tape.gradient(loss, model.trainable_weights),
                                learning_rate)
    assert difference < 1e-3, f"the step differs from -lr * grad(recon + log q - log VampPrior) by {difference:.1e}"
    assert np.abs(model.pseudo_logits.numpy() - pseudo_before).max() > 0  # the prior learns too


# --- the pseudo-inputs ----------------------------------------------------------------------------------

def test_the_pseudo_inputs_are_images_of_the_model_shape():
    model = tiny(image_shape=(16, 20, 3))
    pseudo = np.asarray(model.pseudo_images())
    assert pseudo.shape == (K, 16, 20, 3)
    assert pseudo.min() >= 0.0 and pseudo.max() <= 1.0
    model.pseudo_logits.assign(tf.fill(model.pseudo_logits.shape, 50.0))
    assert np.asarray(model.pseudo_images()).max() <= 1.0


def test_the_number_of_pseudo_inputs_is_checked():
    with pytest.raises(ValueError, match="pseudo_inputs must be a positive integer, got 0"):
        VampPriorVAE(pseudo_inputs=0)
    assert build("vamp").pseudo_inputs == 30
