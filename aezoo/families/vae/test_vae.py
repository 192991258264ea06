"""The VAE's own guards: the loss is reconstruction + β·KL through TFP, the β-VAE preset, KL warm-up."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs
from tests.fixtures import TINY_HYPERPARAMETERS, tiny_model
import tensorflow_probability as tfp

from aezoo.callbacks import KLWarmup
from aezoo.families import build
from aezoo.families.vae.model import VariationalAutoencoder


def tiny(name: str, **overrides) -> keras.Model:
    return tiny_model(name, **{"seed": 3, **overrides})


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


# --- the loss, term by term ----------------------------------------------------------------------

def test_vae_loss_is_reconstruction_plus_beta_kl(tiny_splits):
    model = tiny("vae", beta=2.5)
    noisy, clean = test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))
    scores = model.evaluate(noisy, clean, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(scores["reconstruction_loss"] + 2.5 * scores["kl"], rel=1e-5)
    assert scores["kl"] > 0
    # Summed over 784 pixels: an untrained model is far above one nat per image.
    assert scores["reconstruction_loss"] > 100


def test_the_prior_sampler_decodes_prior_draws():
    from aezoo.samplers.prior import PriorSampler

    model = tiny("vae")
    sampler = PriorSampler(model)
    images = sampler.sample(5, seed=1)
    assert images.shape == (5, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(images, sampler.sample(5, seed=1))
    codes = sampler.sample_codes(5, 1)
    np.testing.assert_allclose(images, model.decode(codes), atol=1e-6)


def test_distributions_are_tfp():
    model = tiny("vae")
    assert isinstance(model.posterior(np.zeros((1, 28, 28, 1), "float32")), tfp.distributions.MultivariateNormalDiag)


def test_a_vae_train_step_descends_reconstruction_plus_beta_kl(tiny_splits):
    """One SGD step moves the weights by -lr * grad(mean(BCE summed over pixels + beta * KL)).

    The expected gradient is computed here from the encoder's and decoder's outputs alone, with
    the same sampling noise as the step (the latent layer's seed state is restored in between).
    """
    # A large beta gives the KL a visible share of the gradient (the summed BCE dominates at init).
    beta, learning_rate = 20.0, 1e-4
    keras.utils.set_random_seed(0)
    model = VariationalAutoencoder(**TINY_HYPERPARAMETERS, beta=beta, seed=3)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    model.build()
    noisy, clean = test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))
    seed_state = model.latent.seed_generator.state.numpy()

    # The noise the step will draw: z = mu + sigma * eps, so eps = (z - mu) / sigma.
    params = model.encoder(noisy, training=True)
    posterior = model.latent.posterior(params)
    z, _ = model.latent(params, training=True)
    eps = ((z - posterior.mean()) / posterior.stddev()).numpy()
    model.latent.seed_generator.state.assign(seed_state)

    before = [w.numpy() for w in model.trainable_weights]
    with tf.GradientTape() as tape:
        posterior = model.latent.posterior(model.encoder(noisy, training=True))
        mu, sigma = posterior.mean(), posterior.stddev()
        p = tf.clip_by_value(model.decoder(mu + sigma * eps, training=True), 1e-7, 1 - 1e-7)
        reconstruction = -tf.reduce_sum(clean * tf.math.log(p) + (1 - clean) * tf.math.log(1 - p), axis=[1, 2, 3])
        kl = tf.reduce_sum(0.5 * (mu ** 2 + sigma ** 2 - 1) - tf.math.log(sigma), axis=1)
        loss = tf.reduce_mean(reconstruction + beta * kl)
    gradients = tape.gradient(loss, model.trainable_weights)
    expected = np.concatenate([(w - learning_rate * g.numpy()).ravel() for w, g in zip(before, gradients)])

    model.fit(tf.data.Dataset.from_tensors((noisy, clean)), epochs=1, verbose=0, shuffle=False)  # one step
    after = np.concatenate([w.numpy().ravel() for w in model.trainable_weights])
    start = np.concatenate([w.ravel() for w in before])
    step, wanted = after - start, expected - start
    assert np.linalg.norm(wanted) > 0
    # Measured: 2e-8 (float rounding); without the KL term in the optimised loss: 6e-2.
    difference = np.linalg.norm(step - wanted) / np.linalg.norm(wanted)
    assert difference < 1e-4, f"the step differs from -lr * grad(recon + beta KL) by {difference:.1e} (relative)"
