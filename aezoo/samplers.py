"""Sampling a plain autoencoder: a Gaussian mixture fitted to its training embeddings.

A plain autoencoder has no prior: decoding N(0, I) draws gives garbage, because its codes live
wherever training put them. Ex-post density estimation (Ghosh et al. 2020, "From Variational to
Deterministic Autoencoders"; pythae's ``GaussianMixtureSampler``) fits a density to the codes of
the training images after training and samples codes from it instead. Ten full-covariance
components, one per digit if all goes well, are scikit-learn's ``GaussianMixture``.

The fitted mixture is saved as plain arrays (``.npz``: weights, means, covariances), never as a
pickle, so loading it runs no code; sampling uses those arrays only, so a loaded sampler draws
exactly what the fitted one does for the same seed.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from aezoo import files
from aezoo.errors import UsageError

DEFAULT_COMPONENTS = 10
_ARRAYS = ("weights", "means", "covariances")


@dataclasses.dataclass(frozen=True)
class GaussianMixtureSampler:
    """A Gaussian mixture over embeddings: ``weights [C]``, ``means [C, D]``, ``covariances [C, D, D]``."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        count, dim = self.means.shape
        if self.weights.shape != (count,) or self.covariances.shape != (count, dim, dim):
            raise ValueError(f"inconsistent mixture: weights {self.weights.shape}, means {self.means.shape}, "
                             f"covariances {self.covariances.shape}")

    @classmethod
    def fit(cls, embeddings: Any, components: int = DEFAULT_COMPONENTS, seed: int = 0) -> GaussianMixtureSampler:
        """Fit ``components`` full-covariance Gaussians to training embeddings ``[N, D]``."""
        from sklearn.mixture import GaussianMixture  # only fitting needs scikit-learn
        from threadpoolctl import threadpool_limits

        embeddings = np.asarray(embeddings, np.float64)
        if embeddings.ndim != 2 or len(embeddings) < components:
            raise ValueError(f"need embeddings [N >= {components}, D], got shape {list(embeddings.shape)}")
        mixture = GaussianMixture(n_components=components, covariance_type="full", random_state=seed)
        # One BLAS/OpenMP thread: on a few thousand 10-D codes the threads of k-means (the
        # initialisation) and of BLAS mostly wait for each other; on 2 busy cores one thread was
        # 10x faster (0.3 s instead of 3 s wall) with the same mixture.
        with threadpool_limits(limits=1):
            mixture.fit(embeddings)
        return cls(mixture.weights_.copy(), mixture.means_.copy(), mixture.covariances_.copy())

    @property
    def embedding_dim(self) -> int:
        return int(self.means.shape[1])

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` embeddings ``[n, D]`` (float32), the same ones for the same seed."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        component = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        # z = mean + L eps with L L^T = covariance: one batched matrix product for all draws.
        cholesky = np.linalg.cholesky(self.covariances)
        eps = rng.standard_normal((n, self.embedding_dim))
        return (self.means[component] + np.einsum("nij,nj->ni", cholesky[component], eps)).astype(np.float32)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the arrays to ``path`` (``.npz``), atomically."""
        path = Path(path)
        if path.suffix != ".npz":
            raise UsageError(f"a mixture is saved as .npz, not {path.name}")
        with files.atomic_path(path) as tmp:
            np.savez(tmp, **{name: getattr(self, name) for name in _ARRAYS})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GaussianMixtureSampler:
        """Read a mixture written by :meth:`save` (no pickles are ever loaded)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(*(np.array(data[name]) for name in _ARRAYS))
        except (OSError, KeyError, ValueError) as error:
            raise UsageError(f"{path} is not a saved Gaussian mixture sampler: {error}") from None


def embed(model: Any, images: Any, batch_size: int = 256) -> np.ndarray:
    """``model.encode`` of images ``[N, 28, 28(, 1)]`` (uint8 or float in [0, 1]), in batches."""
    array = np.asarray(images)
    unit = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)
    unit = unit.reshape(-1, 28, 28, 1)
    return np.concatenate([np.asarray(model.encode(unit[i:i + batch_size])) for i in range(0, len(unit), batch_size)])


def fit_sampler(model: Any, train_images: Any, components: int = DEFAULT_COMPONENTS,
                seed: int = 0) -> GaussianMixtureSampler:
    """The mixture of a model's codes of the (clean) training images."""
    return GaussianMixtureSampler.fit(embed(model, train_images), components=components, seed=seed)


def sample_images(model: Any, sampler: GaussianMixtureSampler, n: int, seed: int = 0) -> np.ndarray:
    """``n`` images ``[n, 28, 28, 1]`` in [0, 1]: decoded mixture samples."""
    return np.asarray(model.decode(sampler.sample(n, seed=seed)))
