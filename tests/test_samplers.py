"""Samplers as objects: which apply to a model, and the Gaussian mixture's fit, draws, files and checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from aezoo.errors import UsageError
from aezoo.models.capabilities import CODE_GRID, CONDITIONAL, GENERATIVE, LATENT_SPACE
from aezoo.samplers import SAMPLERS, sampler_class, samplers_for
from aezoo.samplers.mixture import GaussianMixtureSampler
from tests.fixtures import TINY_HYPERPARAMETERS


class Codes:
    """A stand-in model whose codes are 3 numbers and whose decoder is the identity."""

    capabilities = frozenset({LATENT_SPACE})
    embedding_shape = (3,)
    name = "codes"

    def __init__(self, dim: int = 3) -> None:
        self.embedding_shape = (dim,)

    def decode(self, codes: Any) -> Any:
        return tf.convert_to_tensor(codes)


def clustered(rng: np.random.Generator, n: int = 600) -> np.ndarray:
    centres = rng.normal(scale=5.0, size=(10, 3))
    return centres[np.arange(n) % 10] + rng.normal(scale=0.3, size=(n, 3))


def mixture(rng: np.random.Generator, components: int = 10) -> GaussianMixtureSampler:
    return GaussianMixtureSampler(Codes(), components=components).fit_codes(clustered(rng), seed=0)


@pytest.mark.parametrize("capabilities, expected", [
    (frozenset({LATENT_SPACE}), ("gmm", "two_stage")),
    (frozenset({LATENT_SPACE, GENERATIVE}), ("prior", "gmm", "two_stage")),
    (frozenset({LATENT_SPACE, GENERATIVE, CONDITIONAL}), ("prior",)),
    (frozenset({LATENT_SPACE, CODE_GRID}), ("pixelcnn",)),
    (frozenset(), ()),
])
def test_which_samplers_apply_follows_the_capabilities_alone(capabilities, expected):
    model = type("Declared", (), {"capabilities": capabilities})
    assert samplers_for(model) == expected
    for name in set(SAMPLERS) - set(expected):
        assert sampler_class(name).why_not(model)  # a clause saying why not


def test_a_sampler_refuses_a_model_it_does_not_apply_to():
    with pytest.raises(ValueError, match="the prior sampler does not apply to codes: it needs a model with generative"):
        sampler_class("prior")(Codes())


def test_saved_sampler_round_trips_to_identical_samples(tmp_path, rng):
    sampler = mixture(rng)
    path = sampler.save(tmp_path)
    loaded = GaussianMixtureSampler.load(Codes(), tmp_path)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sampler, name))
    np.testing.assert_array_equal(loaded.sample(50, seed=4), sampler.sample(50, seed=4))
    with np.load(path, allow_pickle=False) as data:  # plain arrays: no pickle needed
        assert sorted(data.files) == ["covariances", "means", "weights"]


def test_samples_are_reproducible_per_seed_and_follow_the_mixture(rng):
    data = clustered(rng, 2000)
    sampler = GaussianMixtureSampler(Codes()).fit_codes(data, seed=0)
    draws = sampler.sample(2000, seed=1)
    np.testing.assert_array_equal(draws, sampler.sample(2000, seed=1))
    assert not np.array_equal(draws, sampler.sample(2000, seed=2))
    assert draws.shape == (2000, 3) and draws.dtype == np.float32
    np.testing.assert_allclose(draws.mean(axis=0), data.mean(axis=0), atol=0.5)
    np.testing.assert_allclose(draws.std(axis=0), data.std(axis=0), rtol=0.1)


def test_samples_have_the_covariance_of_a_correlated_component(rng):
    mixing = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [-1.0, 0.8, 0.3]])
    data = rng.normal(size=(5000, 3)) @ mixing.T  # one strongly correlated Gaussian
    sampler = GaussianMixtureSampler(Codes(), components=1).fit_codes(data, seed=0)
    np.testing.assert_allclose(np.cov(sampler.sample(20_000, seed=0), rowvar=False), np.cov(data, rowvar=False),
                               atol=0.15)


def test_the_mixture_weights_decide_how_often_each_component_is_drawn():
    """A 0.9/0.1 mixture of two far-apart points draws about 10 % from the small component."""
    sampler = GaussianMixtureSampler(Codes()).set_arrays(
        weights=[0.9, 0.1], means=[[-10.0, 0.0, 0.0], [10.0, 0.0, 0.0]], covariances=np.stack([np.eye(3)] * 2) * 0.01)
    share = float(np.mean(sampler.sample(20_000, seed=3)[:, 0] > 0))
    assert share == pytest.approx(0.1, abs=0.01)


def test_bad_files_are_refused_in_one_line(tmp_path, rng):
    name = GaussianMixtureSampler.file_name()
    (tmp_path / name).write_bytes(b"not an npz")
    with pytest.raises(UsageError, match="not a saved Gaussian mixture"):
        GaussianMixtureSampler.load(Codes(), tmp_path)
    with pytest.raises(UsageError, match="missing"):
        GaussianMixtureSampler.load(Codes(), tmp_path / "elsewhere")
    sampler = mixture(rng)
    # A covariance that is not positive-definite (one eigenvalue negative).
    broken = sampler.covariances.copy()
    broken[0] = -np.eye(3)
    np.savez(tmp_path / name, weights=sampler.weights, means=sampler.means, covariances=broken)
    with pytest.raises(UsageError, match="covariance that is not positive-definite"):
        GaussianMixtureSampler.load(Codes(), tmp_path)
    # A mixture of 3-number codes for a model whose codes have 10 numbers.
    sampler.save(tmp_path)
    with pytest.raises(UsageError, match="the model's codes have 10 numbers"):
        GaussianMixtureSampler.load(Codes(10), tmp_path)
    with pytest.raises(ValueError, match="n must be"):
        sampler.sample(0)


def test_autoencoder_codes_are_fitted_and_decoded(tiny_splits):
    from aezoo.families import build

    model = build("ae", **TINY_HYPERPARAMETERS)
    model.build()
    sampler = GaussianMixtureSampler(model, components=3).fit(tiny_splits.train_images[:100])
    assert sampler.embedding_dim == TINY_HYPERPARAMETERS["embedding_dim"]
    images = sampler.sample(5, seed=0)
    assert images.shape == (5, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
