"""The two-stage VAE sampler: which models it applies to, its fit on known codes, its file, its checks
and its draws inside a SavedModel."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.errors import UsageError
from aezoo.models.capabilities import CODE_GRID, CONDITIONAL, GENERATIVE, LATENT_SPACE
from aezoo.samplers import sampler_class, samplers_for
from aezoo.samplers.two_stage import SecondStageVAE, TwoStageSampler
from tests.fixtures import TINY_HYPERPARAMETERS
from tests.test_samplers import Codes

# One strongly correlated Gaussian, far from the origin and far from unit scale, as an
# autoencoder's codes can be.
MIXING = 5.0 * np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [-1.0, 0.8, 0.3]])
OFFSET = np.array([10.0, -3.0, 1.0])


@pytest.fixture(scope="module")
def gaussian_codes() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(3000, 3)) @ MIXING.T + OFFSET


@pytest.fixture(scope="module")
def fitted(gaussian_codes) -> TwoStageSampler:
    return TwoStageSampler(Codes()).fit_codes(gaussian_codes, seed=0)


def quick(codes: np.ndarray, model: Codes | None = None) -> TwoStageSampler:
    return TwoStageSampler(model or Codes(), epochs=1, units=16).fit_codes(codes, seed=0)


@pytest.mark.parametrize("capabilities, applies", [
    (frozenset({LATENT_SPACE}), True),
    (frozenset({LATENT_SPACE, GENERATIVE}), True),
    (frozenset({LATENT_SPACE, GENERATIVE, CONDITIONAL}), False),
    (frozenset({LATENT_SPACE, CODE_GRID}), False),
    (frozenset(), False),
])
def test_it_applies_to_every_continuous_unconditional_latent_space(capabilities, applies):
    model = type("Declared", (), {"capabilities": capabilities})
    assert sampler_class("two_stage") is TwoStageSampler
    assert ("two_stage" in samplers_for(model)) is applies
    assert bool(TwoStageSampler.why_not(model)) is not applies


def test_the_draws_follow_the_mean_and_covariance_of_the_codes(fitted, gaussian_codes):
    draws = fitted.sample(5000, seed=1)
    assert draws.shape == (5000, 3) and draws.dtype == np.float32
    scale = gaussian_codes.std(axis=0)
    np.testing.assert_allclose(draws.mean(axis=0), gaussian_codes.mean(axis=0), atol=0.1 * scale.max())
    expected = np.cov(gaussian_codes, rowvar=False)
    # Measured: 3 % of the largest entry after the default 60 epochs (22 % after 10).
    np.testing.assert_allclose(np.cov(draws, rowvar=False), expected, atol=0.1 * np.abs(expected).max())
    # The learned decoder scale shrank from 1: it fits the codes, not just their spread.
    assert float(np.exp(fitted.network.log_gamma.numpy())) < 0.5


def test_draws_are_reproducible_per_seed(fitted):
    draws = fitted.sample(100, seed=3)
    np.testing.assert_array_equal(draws, fitted.sample(100, seed=3))
    assert not np.array_equal(draws, fitted.sample(100, seed=4))
    np.testing.assert_array_equal(fitted.sample_codes(100, 3).numpy(), draws)  # Codes decodes to the codes


def test_the_second_vae_minimises_the_gaussian_nll_with_learned_scale_plus_kl(gaussian_codes):
    network = SecondStageVAE(code_dim=3, units=8, seed=0)
    network.adapt(gaussian_codes)
    network.log_gamma.assign(np.log(0.5))
    codes = gaussian_codes[:5].astype("float32")
    x = (codes - gaussian_codes.mean(axis=0)) / gaussian_codes.std(axis=0)
    params = network.encoder(x.astype("float32"))
    mean = np.asarray(network.decoder(network.latent.posterior(params).mean()))  # no sampling at evaluation
    expected_nll = ((x - mean) ** 2).sum(axis=1) / (2 * 0.25) + 3 * (np.log(0.5) + 0.5 * np.log(2 * np.pi))
    terms = network.losses_of(codes, training=False)
    np.testing.assert_allclose(terms["reconstruction"], expected_nll, rtol=1e-4)
    np.testing.assert_allclose(terms["kl"], network.latent.kl_divergence(network.latent.posterior(params)), rtol=1e-6)


def test_saved_sampler_round_trips_to_identical_draws(fitted, tmp_path):
    path = fitted.save(tmp_path)
    assert path.name == "sampler_two_stage.keras" and TwoStageSampler.is_saved(tmp_path)
    loaded = TwoStageSampler.load(Codes(), tmp_path)
    assert isinstance(loaded.network, SecondStageVAE) and loaded.units == fitted.units
    np.testing.assert_array_equal(loaded.sample(50, seed=4), fitted.sample(50, seed=4))


def test_the_saved_file_holds_the_weights_without_the_optimizer(fitted, tmp_path):
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(fitted.save(tmp_path)) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert "optimizer" not in weights and len(weights) > 0  # drawing needs no Adam slots


def test_bad_files_are_refused_in_one_line(tmp_path, gaussian_codes):
    name = TwoStageSampler.file_name()
    with pytest.raises(UsageError, match="missing"):
        TwoStageSampler.load(Codes(), tmp_path)
    (tmp_path / name).write_bytes(b"not a keras file")
    with pytest.raises(UsageError, match="cannot load the second-stage VAE"):
        TwoStageSampler.load(Codes(), tmp_path)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    other.save(tmp_path / name)
    with pytest.raises(UsageError, match="holds a Sequential, not a SecondStageVAE"):
        TwoStageSampler.load(Codes(), tmp_path)
    quick(gaussian_codes).save(tmp_path)
    with pytest.raises(UsageError, match="codes of 3 numbers does not fit this model, whose codes have 10"):
        TwoStageSampler.load(Codes(10), tmp_path)
    with pytest.raises(ValueError, match=r"need codes \[N >= 2, 10\]"):
        TwoStageSampler(Codes(10)).fit_codes(gaussian_codes)
    with pytest.raises(ValueError, match="the two_stage sampler is not fitted yet"):
        TwoStageSampler(Codes()).sample(1)


def test_a_saved_model_draws_what_aezoo_draws(tiny_splits, tmp_path):
    """The second VAE's weights travel in the SavedModel: its ``sample`` signature gives the sampler's images."""
    from aezoo.export import export_saved_model
    from aezoo.families import build

    keras.utils.set_random_seed(0)
    model = build("ae", **TINY_HYPERPARAMETERS)
    model.build()
    sampler = TwoStageSampler(model, epochs=2, units=32).fit(tiny_splits.train_images[:200])
    export_saved_model(model, tmp_path / "exported", sampler)
    served = tf.saved_model.load(str(tmp_path / "exported")).signatures["sample"](seed=tf.constant(7), n=tf.constant(4))
    np.testing.assert_allclose(served["output_0"], sampler.draw(4, 7), atol=1e-6)
    assert sampler.sample(4, seed=7).shape == (4, 28, 28, 1)


def test_it_fits_and_draws_in_float32_under_a_mixed_global_policy(gaussian_codes):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        sampler = quick(gaussian_codes)
    finally:
        keras.config.set_dtype_policy("float32")
    assert all(weight.dtype == "float32" for weight in sampler.network.weights)
    draws = sampler.sample(10, seed=0)
    assert draws.dtype == np.float32 and np.isfinite(draws).all()
