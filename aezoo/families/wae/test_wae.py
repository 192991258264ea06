"""The WAE's own guards: the IMQ MMD against numpy, the loss term by term, λ in the gradient, the prior."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs, training_dataset
from aezoo.families import get_model
from aezoo.families.wae.mmd import IMQ_SCALES, mmd, mmd_to_prior
from aezoo.families.wae.model import WassersteinAutoencoder
from aezoo.models.latent import stateless_seed
from tests.fixtures import TINY_HYPERPARAMETERS, tiny_model


def tiny(**overrides) -> WassersteinAutoencoder:
    return tiny_model("wae", **{"seed": 3, **overrides})


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.train_images[:16], GaussianNoise(0.5))


# --- the MMD ----------------------------------------------------------------------------------------

def numpy_imq_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with Σ_s C_s / (C_s + |a - b|²), C_s = 2·d·s (the prior's variance 1), in float64,
    pair by pair as the paper's formula reads."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    n, m, d = len(x), len(y), x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        squared = float(np.sum((a - b) ** 2))
        return sum(2 * d * s / (2 * d * s + squared) for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))

    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("n, m, shift", [(12, 12, 0.0), (12, 12, 1.5), (9, 14, 0.7)])
def test_mmd_is_the_unbiased_imq_estimate_of_the_paper(n, m, shift):
    rng = np.random.default_rng(n + m)
    x = (rng.normal(size=(n, 5)) * 1.3 + shift).astype("float32")
    y = rng.normal(size=(m, 5)).astype("float32")
    assert IMQ_SCALES == (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
    assert float(mmd(x, y)) == pytest.approx(numpy_imq_mmd(x, y), rel=1e-5, abs=1e-6)


def test_mmd_tells_the_prior_from_a_shifted_cloud_and_survives_one_code():
    rng = np.random.default_rng(0)
    prior = rng.normal(size=(200, 8)).astype("float32")
    same, shifted = rng.normal(size=(200, 8)).astype("float32"), rng.normal(1.0, 1.0, (200, 8)).astype("float32")
    assert abs(float(mmd(same, prior))) < 0.05 < float(mmd(shifted, prior))
    # One code has no unbiased estimate: 0, with a finite gradient (a last batch of one image).
    one = tf.Variable(prior[:1] + 3.0)
    with tf.GradientTape() as tape:
        value = mmd(one, prior[:1])
    assert float(value) == 0.0 and np.isfinite(tape.gradient(value, one).numpy()).all()


def test_mmd_to_prior_draws_as_many_codes_from_the_prior_it_is_given():
    codes = tf.random.stateless_normal([7, 3], seed=[1, 2])
    model = tiny(embedding_dim=3)
    seed = stateless_seed(5)
    draws = model.prior().sample(7, seed=seed)
    assert float(mmd_to_prior(codes, model.prior(), seed)) == pytest.approx(float(mmd(codes, draws)), rel=1e-6)


# --- the loss, term by term ---------------------------------------------------------------------

def test_the_loss_is_summed_bce_plus_lambda_mmd(pairs):
    noisy, clean = pairs
    model = tiny(mmd_weight=7.0)
    # Trained a little: an untrained decoder outputs about 0.5 everywhere, whatever the target.
    model.fit(noisy, clean, batch_size=16, epochs=10, verbose=0)
    scores = model.evaluate(noisy, clean, batch_size=16, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(scores["reconstruction_loss"] + 7.0 * scores["mmd"], rel=1e-5)
    # The reconstruction: BCE of the output for the noisy image against the clean one, summed over pixels.
    p = np.clip(model.denoise(noisy).numpy().astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -(clean * np.log(p) + (1 - clean) * np.log(1 - p)).sum(axis=(1, 2, 3))
    assert scores["reconstruction_loss"] == pytest.approx(bce.mean(), rel=1e-4)
    # The MMD: the codes of the noisy images against validation's fixed prior draws.
    denoised, reconstruction, penalty = model.losses_of(noisy, clean, training=False)
    codes = model.encode(noisy).numpy()
    assert scores["mmd"] == pytest.approx(float(penalty), rel=1e-5) and float(penalty) > 0.0
    draws = model.prior().sample(16, seed=stateless_seed(model.seed)).numpy()
    assert float(penalty) == pytest.approx(numpy_imq_mmd(codes, draws), rel=1e-4)
    assert get_model("wae").loss_in_words({"mmd_weight": 7.0}).endswith(
        "λ = 7.0, with the inverse multiquadratics kernel")


def test_a_wae_train_step_descends_reconstruction_plus_lambda_mmd(tiny_splits):
    """One SGD step moves the weights by -lr * grad(mean summed BCE + λ · MMD(codes, prior draws)).

    The expected gradient is computed here from the encoder and decoder alone, against the prior
    draws the step makes (the model's seed state is restored in between).
    """
    mmd_weight, learning_rate = 500.0, 1e-4  # a large λ gives the MMD a visible share of the gradient
    keras.utils.set_random_seed(0)
    model = WassersteinAutoencoder(**TINY_HYPERPARAMETERS, mmd_weight=mmd_weight, seed=3)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    model.build()
    noisy, clean = test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))
    seed_state = model.seed_generator.state.numpy()
    draws = model.prior().sample(16, seed=tf.cast(model.seed_generator.next(), tf.int32))
    model.seed_generator.state.assign(seed_state)

    def expected_step(weight: float) -> np.ndarray:
        with tf.GradientTape() as tape:
            codes = model.encoder(noisy, training=True)
            p = tf.clip_by_value(model.decoder(codes, training=True), 1e-7, 1 - 1e-7)
            reconstruction = -tf.reduce_sum(clean * tf.math.log(p) + (1 - clean) * tf.math.log(1 - p), axis=[1, 2, 3])
            loss = tf.reduce_mean(reconstruction) + weight * mmd(codes, draws)
        gradients = tape.gradient(loss, model.trainable_weights)
        return np.concatenate([-learning_rate * g.numpy().ravel() for g in gradients])

    wanted, without_mmd = expected_step(mmd_weight), expected_step(0.0)
    before = np.concatenate([w.numpy().ravel() for w in model.trainable_weights])
    model.fit(tf.data.Dataset.from_tensors((noisy, clean)), epochs=1, verbose=0, shuffle=False)  # one step
    step = np.concatenate([w.numpy().ravel() for w in model.trainable_weights]) - before
    # The MMD's share of the step is visible, so a step without it (or with other draws) fails.
    assert np.linalg.norm(wanted - without_mmd) > 0.05 * np.linalg.norm(wanted)
    difference = np.linalg.norm(step - wanted) / np.linalg.norm(wanted)
    assert difference < 1e-4, f"the step differs from -lr * grad(recon + λ MMD) by {difference:.1e} (relative)"


def test_training_pulls_the_codes_towards_the_prior(tiny_splits):
    """λ = 100 against λ = 0 (the plain autoencoder on summed BCE): after the same 32 steps the codes
    of test images lie closer to N(0, I) by MMD (measured: 0.27 against 7.6)."""
    noisy, clean = test_pairs(tiny_splits.train_images, GaussianNoise(0.5))
    test_noisy, _ = test_pairs(tiny_splits.test_images, GaussianNoise(0.5))
    reference = tf.random.stateless_normal([len(test_noisy), TINY_HYPERPARAMETERS["embedding_dim"]], seed=[0, 9])
    distance = {}
    for weight in (0.0, 100.0):
        model = tiny(mmd_weight=weight)
        model.fit(noisy, clean, batch_size=32, epochs=4, verbose=0, shuffle=False)
        distance[weight] = float(mmd(model.encode(test_noisy), reference))
    assert distance[100.0] < 0.1 * distance[0.0], distance


# --- the code and the prior -------------------------------------------------------------------------

def test_the_code_is_deterministic_and_the_prior_is_the_standard_normal(pairs):
    noisy, _ = pairs
    model = tiny()
    np.testing.assert_array_equal(model(noisy, training=True), model.denoise(noisy))  # no sampling in training
    np.testing.assert_allclose(model.denoise(noisy), model.decode(model.encode(noisy)), atol=1e-6)
    prior = model.prior()
    assert prior.event_shape == (4,)
    np.testing.assert_array_equal(prior.mean(), np.zeros(4))
    np.testing.assert_array_equal(prior.stddev(), np.ones(4))


def test_a_bad_mmd_weight_is_refused():
    with pytest.raises(ValueError, match="mmd_weight must be a finite number >= 0, got -1"):
        WassersteinAutoencoder(mmd_weight=-1)


def short_run_psnr(model_class: type, embedded, **arguments) -> tuple[float, float]:
    """``(PSNR of the model, PSNR of the noisy input)`` on 200 test digits after the AE's test run:
    8 epochs on 1024 digits, a small network with batch norm. The MMD families' InfoVAE uses it too."""
    from aezoo.metrics import image_quality

    keras.utils.set_random_seed(0)
    model = model_class(embedding_dim=10, depth=1, filters=8, batch_norm=True, seed=0, **arguments)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.build()
    model.fit(training_dataset(embedded.train_images[:1024], GaussianNoise(0.5), 32, seed=0), epochs=8, verbose=0)
    noisy, clean = test_pairs(embedded.test_images[:200], GaussianNoise(0.5), 0)
    return image_quality(clean, model.predict(noisy, verbose=0))["psnr"], image_quality(clean, noisy)["psnr"]


def test_a_short_wae_run_denoises_instead_of_going_blank(embedded):
    """The summed BCE keeps the sigmoid output away from the all-black collapse: the short run clears
    the noisy input by far (measured: 14.7 dB against 9.4)."""
    psnr, noisy_psnr = short_run_psnr(WassersteinAutoencoder, embedded)
    assert psnr > noisy_psnr + 4.0, (psnr, noisy_psnr)


def test_the_analysis_measures_the_codes_against_the_prior_and_its_noise_floor():
    from aezoo.families.wae import analysis

    rng = np.random.default_rng(0)
    on_prior = analysis.measure(None, None, rng.normal(size=(300, 6)).astype("float32"))[analysis.ENTRY]
    shifted = analysis.measure(None, None, rng.normal(2.0, 1.0, (300, 6)).astype("float32"))[analysis.ENTRY]
    assert on_prior["codes"] == 300 and abs(on_prior["mmd"]) < 0.02 and abs(on_prior["floor"]) < 0.02
    assert shifted["mmd"] > 0.5 and shifted["floor"] == on_prior["floor"]
