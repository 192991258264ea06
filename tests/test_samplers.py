"""The plain autoencoder's Gaussian-mixture sampler."""

from __future__ import annotations

import numpy as np
import pytest

from aezoo.errors import UsageError
from aezoo.samplers import GaussianMixtureSampler, fit_sampler, sample_images
from tests.conftest import TINY_HYPERPARAMETERS


def clustered(rng: np.random.Generator, n: int = 600) -> np.ndarray:
    centres = rng.normal(scale=5.0, size=(10, 3))
    return centres[np.arange(n) % 10] + rng.normal(scale=0.3, size=(n, 3))


def test_saved_sampler_round_trips_to_identical_samples(tmp_path, rng):
    sampler = GaussianMixtureSampler.fit(clustered(rng), seed=0)
    sampler.save(tmp_path / "gmm.npz")
    loaded = GaussianMixtureSampler.load(tmp_path / "gmm.npz")
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sampler, name))
    np.testing.assert_array_equal(loaded.sample(50, seed=4), sampler.sample(50, seed=4))
    with np.load(tmp_path / "gmm.npz", allow_pickle=False) as data:  # plain arrays: no pickle needed
        assert sorted(data.files) == ["covariances", "means", "weights"]


def test_samples_are_reproducible_per_seed_and_follow_the_mixture(rng):
    data = clustered(rng, 2000)
    sampler = GaussianMixtureSampler.fit(data, seed=0)
    draws = sampler.sample(2000, seed=1)
    np.testing.assert_array_equal(draws, sampler.sample(2000, seed=1))
    assert not np.array_equal(draws, sampler.sample(2000, seed=2))
    assert draws.shape == (2000, 3) and draws.dtype == np.float32
    np.testing.assert_allclose(draws.mean(axis=0), data.mean(axis=0), atol=0.5)
    np.testing.assert_allclose(draws.std(axis=0), data.std(axis=0), rtol=0.1)


def test_samples_have_the_covariance_of_a_correlated_component(rng):
    mixing = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [-1.0, 0.8, 0.3]])
    data = rng.normal(size=(5000, 3)) @ mixing.T  # one strongly correlated Gaussian
    sampler = GaussianMixtureSampler.fit(data, components=1, seed=0)
    np.testing.assert_allclose(np.cov(sampler.sample(20_000, seed=0), rowvar=False), np.cov(data, rowvar=False),
                               atol=0.15)


def test_bad_files_and_counts_are_refused(tmp_path, rng):
    sampler = GaussianMixtureSampler.fit(clustered(rng), seed=0)
    (tmp_path / "other.npz").write_bytes(b"not an npz")
    with pytest.raises(UsageError, match="other.npz"):
        GaussianMixtureSampler.load(tmp_path / "other.npz")
    with pytest.raises(UsageError, match=".npz"):
        sampler.save(tmp_path / "gmm.pkl")
    with pytest.raises(ValueError, match="n must be"):
        sampler.sample(0)


def test_autoencoder_codes_are_fitted_and_decoded(tiny_splits):
    from aezoo.models import build

    model = build("ae", **TINY_HYPERPARAMETERS)
    model.build()
    sampler = fit_sampler(model, tiny_splits.train_images[:100], components=3)
    assert sampler.embedding_dim == TINY_HYPERPARAMETERS["embedding_dim"]
    images = sample_images(model, sampler, 5, seed=0)
    assert images.shape == (5, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
