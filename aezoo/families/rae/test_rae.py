"""The RAE's own guards: each term of reconstruction + β·‖z‖²/2 + λ·R reaches the loss and the gradient,
for R the decoder's weight norm (RAE-L2) and its gradient penalty (RAE-GP); the paper's weights by
default; and it denoises rather than collapsing to a blank image."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs, training_dataset
from aezoo.families import build, get_model
from aezoo.families.rae.model import RegularizedAutoencoder
from tests.fixtures import tiny_model


def tiny(optimizer: keras.optimizers.Optimizer | None = None, **overrides) -> RegularizedAutoencoder:
    return tiny_model("rae", optimizer=optimizer, **{"seed": None, **overrides})  # the family's own default seed


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))


def kernels_by_hand(model: RegularizedAutoencoder) -> list[Any]:
    """The decoder's dense and convolution kernels, found by layer type rather than by weight name."""
    kinds = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    decoder = model.decoder
    return [layer.kernel for layer in (decoder.project, *decoder.conv_layers, decoder.output_conv)
            if isinstance(layer, kinds)]


# --- the declaration -----------------------------------------------------------------------------

GRADIENT_PENALTY = {"decoder_penalty": "gradient", "penalty_weight": 0.5e-7}  # RAE-GP, the paper's weight


def test_the_defaults_are_the_papers_mnist_weights():
    model = build("rae")
    assert (model.code_weight, model.decoder_penalty, model.penalty_weight) == (1e-4, "l2", 1e-7)
    words = get_model("rae").loss_in_words()
    assert "‖decoder weights‖²" in words and "β = 0.0001" in words and "λ = 1e-07" in words
    words = get_model("rae").loss_in_words(GRADIENT_PENALTY)
    assert "‖∇_z ‖decoder(z)‖²‖²" in words and "λ = 5e-08" in words


@pytest.mark.parametrize("arguments, message", [
    ({"decoder_penalty": "spectral"}, "decoder_penalty must be one of l2, gradient; got 'spectral'"),
    ({"code_weight": -1.0}, "code_weight must be a finite number >= 0, got -1.0"),
    ({"penalty_weight": float("nan")}, "penalty_weight must be a finite number >= 0"),
])
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        RegularizedAutoencoder(**arguments)


# --- the loss, term by term ----------------------------------------------------------------------

def test_the_l2_loss_is_mse_plus_beta_half_code_norm_plus_lambda_kernel_norm(pairs):
    """The evaluated loss against numpy: every kernel of the decoder, and nothing else, is penalised."""
    beta, lam = 0.3, 0.02
    noisy, clean = pairs
    model = tiny(code_weight=beta, penalty_weight=lam)
    rng = np.random.default_rng(0)
    for weight in model.weights:  # biases start at zero: make them count if the penalty wrongly took them in
        if weight.name == "bias":
            weight.assign(rng.normal(0.0, 0.1, weight.shape).astype("float32"))
    scores = model.evaluate(noisy, clean, batch_size=len(noisy), verbose=0, return_dict=True)

    z = np.asarray(model.encode(noisy), np.float64)
    denoised = np.asarray(model.denoise(noisy), np.float64)
    mse = ((clean - denoised) ** 2).mean(axis=(1, 2, 3))
    code = 0.5 * (z ** 2).sum(axis=1)
    kernels = kernels_by_hand(model)
    assert len(kernels) == 4  # project, the two upsampling convolutions, the output convolution
    weight_norm = sum(float((np.asarray(k, np.float64) ** 2).sum()) for k in kernels)
    assert scores["reconstruction_loss"] == pytest.approx(mse.mean(), rel=1e-4)
    assert scores["code_penalty"] == pytest.approx(code.mean(), rel=1e-4)
    assert scores["decoder_penalty"] == pytest.approx(weight_norm, rel=1e-4)
    assert scores["loss"] == pytest.approx(mse.mean() + beta * code.mean() + lam * weight_norm, rel=1e-4)


def test_the_gradient_penalty_is_the_squared_slope_of_the_output_norm(pairs):
    """RAE-GP's R against central differences of ‖decoder(z)‖² in each code coordinate (no autodiff)."""
    noisy, clean = pairs
    model = tiny(**GRADIENT_PENALTY)
    model.fit(noisy, clean, batch_size=16, epochs=20, verbose=0)  # an untrained decoder barely depends on z
    scores = model.evaluate(noisy, clean, batch_size=len(noisy), verbose=0, return_dict=True)
    z = np.asarray(model.encode(noisy), np.float64)
    step = 1e-2
    slopes = np.zeros_like(z)
    for j in range(z.shape[1]):
        shift = np.zeros_like(z)
        shift[:, j] = step
        up, down = (np.asarray(model.decode((z + s).astype(np.float32)), np.float64) for s in (shift, -shift))
        slopes[:, j] = ((up ** 2).sum(axis=(1, 2, 3)) - (down ** 2).sum(axis=(1, 2, 3))) / (2 * step)
    expected = (slopes ** 2).sum(axis=1).mean()
    assert expected > 1.0
    assert scores["decoder_penalty"] == pytest.approx(expected, rel=1e-2)


def expected_loss(model: RegularizedAutoencoder, noisy: np.ndarray, clean: np.ndarray, beta: float, lam: float,
                  terms: tuple[str, ...]) -> tf.Tensor:
    """The stated loss written out again, with only ``terms`` of reconstruction, code and decoder."""
    with tf.GradientTape() as inner:
        z = model.encoder(noisy, training=True)
        inner.watch(z)
        denoised = model.decoder(z, training=True)
        squared_norm = tf.reduce_sum(denoised ** 2)
    loss = tf.constant(0.0)
    if "reconstruction" in terms:
        loss += tf.reduce_mean((clean - denoised) ** 2)
    if "code" in terms:
        loss += beta * tf.reduce_mean(0.5 * tf.reduce_sum(z ** 2, axis=1))
    if "decoder" in terms:
        if model.decoder_penalty == "gradient":
            loss += lam * tf.reduce_mean(tf.reduce_sum(inner.gradient(squared_norm, z) ** 2, axis=1))
        else:
            loss += lam * tf.add_n([tf.reduce_sum(tf.square(kernel)) for kernel in kernels_by_hand(model)])
    return loss


ALL_TERMS = ("reconstruction", "code", "decoder")


@pytest.mark.parametrize("penalty, beta, lam", [("l2", 0.05, 0.05), ("gradient", 0.05, 1e-3)])
def test_one_step_descends_every_term_of_the_stated_loss(penalty, beta, lam, pairs):
    """One SGD step moves the weights by -lr * grad(MSE + β·‖z‖²/2 + λ·R), and dropping any one term
    from that loss would move them measurably elsewhere (so each term reaches the gradient).

    β and λ are large here so that each term has a visible share of the gradient; the defaults
    (the paper's) would hide them under float rounding. The learning rate is large because the mean
    squared error's gradients are small: a smaller step would drown in the float32 rounding of
    weight + step (measured: 1e-2 relative on the encoder's kernels at a rate of 1e-3).
    """
    learning_rate = 1.0
    noisy, clean = pairs
    model = tiny(optimizer=keras.optimizers.SGD(learning_rate), code_weight=beta, decoder_penalty=penalty,
                 penalty_weight=lam)
    start = [w.numpy() for w in model.trainable_weights]

    def step_for(terms: tuple[str, ...]) -> np.ndarray:
        with tf.GradientTape() as tape:
            loss = expected_loss(model, noisy, clean, beta, lam, terms)
        gradients = tape.gradient(loss, model.trainable_weights)
        return -learning_rate * np.concatenate([np.zeros(w.size) if g is None else g.numpy().ravel()
                                                for w, g in zip(start, gradients)])

    wanted = step_for(ALL_TERMS)
    model.fit(tf.data.Dataset.from_tensors((noisy, clean)), epochs=1, verbose=0, shuffle=False)  # one step
    taken = np.concatenate([w.numpy().ravel() for w in model.trainable_weights]) - np.concatenate(
        [w.ravel() for w in start])
    difference = np.linalg.norm(taken - wanted) / np.linalg.norm(wanted)
    assert difference < 1e-4, f"the step differs from -lr * grad(stated loss) by {difference:.1e} (relative)"
    for dropped in ALL_TERMS[1:]:
        without = step_for(tuple(t for t in ALL_TERMS if t != dropped))
        share = np.linalg.norm(wanted - without) / np.linalg.norm(wanted)
        assert share > 1e-2, f"the {dropped} term moves the step by only {share:.1e}: the guard would not see it"


@pytest.mark.slow
def test_the_gradient_penalty_trains_under_mixed_precision(pairs):
    """The shared contract runs the default (l2) under float16; the second-order gradient runs there too."""
    noisy, clean = pairs
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny(**GRADIENT_PENALTY)
    finally:
        keras.config.set_dtype_policy("float32")
    history = model.fit(noisy, clean, batch_size=16, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all() and np.isfinite(history["decoder_penalty"]).all()
    assert history["decoder_penalty"][-1] > 0


# --- what it learns ------------------------------------------------------------------------------

def test_a_larger_code_weight_pulls_the_codes_towards_the_origin(pairs):
    noisy, clean = pairs
    norms = {}
    for beta in (0.0, 1.0):
        model = tiny(code_weight=beta)
        model.fit(noisy, clean, batch_size=16, epochs=30, verbose=0)
        norms[beta] = float(np.mean(np.sum(np.asarray(model.encode(noisy)) ** 2, axis=1)))
    assert norms[1.0] < 0.5 * norms[0.0]


def test_a_trained_rae_denoises_instead_of_drawing_blank_images(embedded):
    """MSE on a sigmoid output once collapsed a model to all-black images (about 10 dB): a small RAE
    trained 8 epochs on 1024 digits must clear the noisy input and the 3x3 median filter."""
    from aezoo.baselines import baselines
    from aezoo.metrics import image_quality

    keras.utils.set_random_seed(0)
    model = RegularizedAutoencoder(embedding_dim=16, depth=1, filters=8, batch_norm=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.build()
    model.fit(training_dataset(embedded.train_images[:1024], GaussianNoise(0.5), 32, seed=0), epochs=8, verbose=0,
              shuffle=False)
    noisy, clean = test_pairs(embedded.test_images[:200], GaussianNoise(0.5), 0)
    reference = baselines(noisy, clean)
    denoised = model.predict(noisy, verbose=0)
    assert denoised.mean() > 0.5 * clean.mean()  # not blank
    psnr = image_quality(clean, denoised)["psnr"]
    assert psnr > reference["noisy input"]["psnr"] + 4.0
    assert psnr > reference["median 3x3"]["psnr"] + 0.5
