"""The InfoVAE's own guards: the loss term by term with its weights 1 − α and α + λ − 1, one step
against the gradient of the stated loss, the ELBO as its α = 0, λ = 1 case, the checks of α and λ."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.families import build, get_model
from aezoo.families.infovae.model import InfoVAE
from aezoo.families.vae.model import VariationalAutoencoder
from aezoo.families.wae.mmd import mmd
from aezoo.families.wae.test_wae import numpy_imq_mmd, short_run_psnr
from aezoo.models.capabilities import GENERATIVE, KL_TERM, LATENT_SPACE, LIKELIHOOD
from aezoo.models.latent import stateless_seed
from tests.fixtures import TINY_HYPERPARAMETERS, tiny_model


def tiny(**overrides) -> InfoVAE:
    return tiny_model("infovae", **{"seed": 3, **overrides})


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.train_images[:16], GaussianNoise(0.5))


def numpy_bce(clean: np.ndarray, output: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(output, np.float64), 1e-7, 1 - 1e-7)
    return -(clean * np.log(p) + (1 - clean) * np.log(1 - p)).sum(axis=(1, 2, 3))


# --- the weights ----------------------------------------------------------------------------------

def test_the_defaults_are_the_papers_mmd_vae_with_lambda_rescaled():
    model = build("infovae")
    assert (model.alpha, model.mmd_lambda) == (1.0, 100.0)
    # α = 1: no KL term (its warm-up ramps to 0); the MMD weighs α + λ − 1 = λ.
    assert model.beta == 0.0 and float(model.kl_weight.numpy()) == 0.0 and model.mmd_weight == 100.0
    assert model.capabilities == {LATENT_SPACE, GENERATIVE, LIKELIHOOD, KL_TERM}
    words = get_model("infovae").loss_in_words({"alpha": 0.25, "mmd_lambda": 3.0})
    assert "α = 0.25, λ = 3: KL weight 0.75, MMD weight 2.25" in words


def test_bad_alpha_and_lambda_are_refused():
    with pytest.raises(ValueError, match="alpha must be at most 1"):
        InfoVAE(alpha=1.5)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        InfoVAE(alpha=-0.5)
    # α = 0.2 needs λ >= 0.8, else the MMD's weight α + λ − 1 would be negative (rewarding the divergence).
    with pytest.raises(ValueError, match="mmd_lambda must be at least 1 - alpha = 0.8"):
        InfoVAE(alpha=0.2, mmd_lambda=0.5)


# --- the loss, term by term -------------------------------------------------------------------------

def test_the_loss_is_reconstruction_plus_weighted_kl_plus_weighted_mmd(pairs):
    """Validation's loss, by hand: summed BCE of the decoded posterior mean, the closed-form KL weighed
    1 − α, and the IMQ MMD of posterior draws against prior draws (validation's fixed seeds) weighed α + λ − 1."""
    noisy, clean = pairs
    alpha, mmd_lambda = 0.25, 3.0
    model = tiny(alpha=alpha, mmd_lambda=mmd_lambda)
    model.fit(noisy, clean, batch_size=16, epochs=5, verbose=0)  # an untrained decoder outputs 0.5 everywhere
    scores = model.evaluate(noisy, clean, batch_size=16, verbose=0, return_dict=True)

    posterior = model.posterior(noisy)
    mu, sigma = posterior.mean().numpy().astype(np.float64), posterior.stddev().numpy().astype(np.float64)
    reconstruction = numpy_bce(clean, model.decode(mu.astype("float32")).numpy()).mean()
    kl = (0.5 * (mu ** 2 + sigma ** 2 - 1) - np.log(sigma)).sum(axis=1).mean()
    codes = posterior.sample(seed=stateless_seed(model.seed + 1)).numpy()
    draws = model.prior().sample(16, seed=stateless_seed(model.seed)).numpy()
    penalty = numpy_imq_mmd(codes, draws)
    assert scores["reconstruction_loss"] == pytest.approx(reconstruction, rel=1e-4)
    assert scores["kl"] == pytest.approx(kl, rel=1e-4) and kl > 0
    assert scores["mmd"] == pytest.approx(penalty, rel=1e-3, abs=1e-5)
    assert scores["loss"] == pytest.approx(reconstruction + 0.75 * kl + 2.25 * penalty, rel=1e-4)


def test_an_infovae_train_step_descends_reconstruction_plus_weighted_kl_and_mmd(tiny_splits):
    """One SGD step moves the weights by -lr * grad(mean(summed BCE + (1 − α) KL) + (α + λ − 1) MMD),
    for the codes and prior draws the step makes (the latent layer's seed state is restored in between).

    α and λ give both regularisers a visible share of the step, so dropping either, or weighing
    either by the other's weight, fails."""
    alpha, mmd_lambda, learning_rate = 0.5, 300.0, 1e-4  # KL weight 0.5 (×40 below), MMD weight 299.5
    keras.utils.set_random_seed(0)
    model = InfoVAE(**TINY_HYPERPARAMETERS, alpha=alpha, mmd_lambda=mmd_lambda, seed=3)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    model.build()
    noisy, clean = test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))
    model.kl_weight.assign(20.0)  # the weight the step uses (a warm-up's), large enough to see

    # The noise the step draws: first the posterior sample (z = mu + sigma * eps), then the prior draws.
    seed_state = model.latent.seed_generator.state.numpy()
    params = model.encoder(noisy, training=True)
    posterior = model.latent.posterior(params)
    z, _ = model.latent(params, training=True)
    eps = ((z - posterior.mean()) / posterior.stddev()).numpy()
    draws = model.prior().sample(16, seed=tf.cast(model.latent.seed_generator.next(), tf.int32))
    model.latent.seed_generator.state.assign(seed_state)

    def expected_step(kl_weight: float, mmd_weight: float) -> np.ndarray:
        with tf.GradientTape() as tape:
            posterior = model.latent.posterior(model.encoder(noisy, training=True))
            mu, sigma = posterior.mean(), posterior.stddev()
            codes = mu + sigma * eps
            p = tf.clip_by_value(model.decoder(codes, training=True), 1e-7, 1 - 1e-7)
            reconstruction = -tf.reduce_sum(clean * tf.math.log(p) + (1 - clean) * tf.math.log(1 - p), axis=[1, 2, 3])
            kl = tf.reduce_sum(0.5 * (mu ** 2 + sigma ** 2 - 1) - tf.math.log(sigma), axis=1)
            loss = tf.reduce_mean(reconstruction + kl_weight * kl) + mmd_weight * mmd(codes, draws)
        gradients = tape.gradient(loss, model.trainable_weights)
        return np.concatenate([-learning_rate * g.numpy().ravel() for g in gradients])

    wanted = expected_step(20.0, alpha + mmd_lambda - 1.0)
    before = np.concatenate([w.numpy().ravel() for w in model.trainable_weights])
    model.fit(tf.data.Dataset.from_tensors((noisy, clean)), epochs=1, verbose=0, shuffle=False)  # one step
    step = np.concatenate([w.numpy().ravel() for w in model.trainable_weights]) - before
    for other in (expected_step(0.0, alpha + mmd_lambda - 1.0), expected_step(20.0, 0.0)):
        assert np.linalg.norm(wanted - other) > 0.05 * np.linalg.norm(wanted)  # each term's share is visible
    difference = np.linalg.norm(step - wanted) / np.linalg.norm(wanted)
    assert difference < 1e-4, f"the step differs from the stated loss's by {difference:.1e} (relative)"


def test_alpha_0_lambda_1_is_the_vae(pairs):
    """α = 0, λ = 1: KL weight 1, MMD weight 0, the ELBO: the very step the VAE takes."""
    noisy, clean = pairs
    infovae, vae = tiny(alpha=0.0, mmd_lambda=1.0), VariationalAutoencoder(**TINY_HYPERPARAMETERS, seed=3)
    assert infovae.beta == 1.0 and infovae.mmd_weight == 0.0
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    vae.build()
    vae.set_weights(infovae.get_weights())
    infovae.train_on_batch(noisy, clean)
    vae.train_on_batch(noisy, clean)
    for a, b in zip(infovae.get_weights(), vae.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_training_pulls_the_aggregate_posterior_towards_the_prior(tiny_splits):
    """The MMD-VAE (α = 1) against α = 1 with λ = 0 (no regulariser at all): after the same steps,
    codes drawn from the posteriors of test images lie closer to N(0, I) by MMD."""
    noisy, clean = test_pairs(tiny_splits.train_images, GaussianNoise(0.5))
    test_noisy, _ = test_pairs(tiny_splits.test_images, GaussianNoise(0.5))
    reference = tf.random.stateless_normal([len(test_noisy), TINY_HYPERPARAMETERS["embedding_dim"]], seed=[0, 9])
    distance = {}
    for mmd_lambda in (0.0, 100.0):
        model = tiny(mmd_lambda=mmd_lambda)
        model.fit(noisy, clean, batch_size=32, epochs=4, verbose=0, shuffle=False)
        codes = model.posterior(test_noisy).sample(seed=stateless_seed(4))
        distance[mmd_lambda] = numpy_imq_mmd(codes.numpy(), reference.numpy())
    assert distance[100.0] < 0.2 * distance[0.0], distance


def test_a_short_infovae_run_denoises_instead_of_going_blank(embedded):
    """The summed BCE keeps the sigmoid output away from the all-black collapse, beside the MMD term:
    the WAE's short run clears the noisy input by far."""
    psnr, noisy_psnr = short_run_psnr(InfoVAE, embedded)
    assert psnr > noisy_psnr + 4.0, (psnr, noisy_psnr)


def test_the_analysis_adds_the_mmd_to_the_vae_lineages_measures():
    from aezoo.families.infovae import analysis
    from aezoo.families.vae import analysis as vae_analysis
    from aezoo.families.wae import analysis as wae_analysis

    assert analysis.REPORT == (*vae_analysis.REPORT, *wae_analysis.REPORT)
