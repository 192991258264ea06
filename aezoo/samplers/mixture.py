"""The Gaussian-mixture sampler: a density fitted to the training codes after training.

A plain autoencoder has no prior: decoding N(0, I) draws gives garbage, because its codes live
wherever training put them. Ex-post density estimation (Ghosh et al. 2020, "From Variational to
Deterministic Autoencoders"; pythae's ``GaussianMixtureSampler``) fits a density to the codes of
the training images after training and samples codes from it instead. Ten full-covariance
components, one per digit if all goes well, are scikit-learn's ``GaussianMixture``. It applies to
any continuous, unconditional code, a VAE's posterior means included, where it often beats the
prior: it stays where the codes really are and skips the prior's holes.

The fitted mixture is saved as plain arrays (``.npz``: weights, means, covariances), never as a
pickle, so loading it runs no code; on load the arrays are checked (shapes against the model's
code size, weights, positive-definite covariances) so a corrupt file is refused in one line.
Sampling is TensorFlow ops on those arrays, so the SavedModel's ``sample`` signature draws the
same codes as aezoo for the same seed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from aezoo import files
from aezoo.errors import UsageError
from aezoo.models.adapter import ModelAdapter
from aezoo.models.capabilities import CODE_GRID, CONDITIONAL, LATENT_SPACE
from aezoo.samplers.base import Sampler

DEFAULT_COMPONENTS = 10
_ARRAYS = ("weights", "means", "covariances")


class GaussianMixtureSampler(Sampler):
    """Codes from a Gaussian mixture over the model's training codes: ``weights [C]``, ``means [C, D]``,
    ``covariances [C, D, D]``.

    Args:
        model: a model with a continuous, unconditional latent space (vector codes).
        components: mixture components to fit.
    """

    name = "gmm"
    summary = "a 10-component Gaussian mixture fitted to the training codes after training"
    requires = frozenset({LATENT_SPACE})
    excludes = frozenset({CONDITIONAL, CODE_GRID})
    needs_fit = True

    def __init__(self, model: Any, components: int = DEFAULT_COMPONENTS) -> None:
        super().__init__(model)
        if isinstance(components, bool) or not isinstance(components, int) or components < 1:
            raise ValueError(f"components must be a positive integer, got {components!r}")
        self.components = components
        self.weights: np.ndarray | None = None
        self.means: np.ndarray | None = None
        self.covariances: np.ndarray | None = None
        self._cholesky: tf.Tensor | None = None

    @property
    def is_fitted(self) -> bool:
        return self.weights is not None

    @property
    def embedding_dim(self) -> int:
        return int(np.prod(self.model.embedding_shape))

    def fit(self, train_images: Any, seed: int = 0) -> "GaussianMixtureSampler":
        """Fit ``components`` full-covariance Gaussians to the model's codes of the training images."""
        return self.fit_codes(ModelAdapter(self.model).encode(train_images), seed=seed)

    def fit_codes(self, codes: Any, seed: int = 0) -> "GaussianMixtureSampler":
        """Fit the mixture to codes ``[N, D]`` directly."""
        from sklearn.mixture import GaussianMixture  # only fitting needs scikit-learn
        from threadpoolctl import threadpool_limits

        codes = np.asarray(codes, np.float64)
        if codes.ndim != 2 or codes.shape[1] != self.embedding_dim or len(codes) < self.components:
            raise ValueError(f"need codes [N >= {self.components}, {self.embedding_dim}], got shape {list(codes.shape)}")
        mixture = GaussianMixture(n_components=self.components, covariance_type="full", random_state=seed)
        # One BLAS/OpenMP thread: on a few thousand 10-D codes the threads of k-means (the
        # initialisation) and of BLAS mostly wait for each other, and one thread fits the same
        # mixture much faster (bench/README.md, "Measurements behind code choices").
        with threadpool_limits(limits=1):
            mixture.fit(codes)
        return self.set_arrays(mixture.weights_, mixture.means_, mixture.covariances_)

    def set_arrays(self, weights: Any, means: Any, covariances: Any, source: str = "the mixture") -> "GaussianMixtureSampler":
        """Use these arrays; ``ValueError`` saying what is wrong when they are not a mixture for this model."""
        weights, means, covariances = (np.asarray(a, np.float64) for a in (weights, means, covariances))
        dim = self.embedding_dim
        if means.ndim != 2 or means.shape[1] != dim:
            raise ValueError(f"{source} has means of shape {list(means.shape)}; the model's codes have {dim} numbers")
        count = len(means)
        if weights.shape != (count,) or covariances.shape != (count, dim, dim):
            raise ValueError(f"{source} is inconsistent: weights {list(weights.shape)}, means {list(means.shape)}, "
                             f"covariances {list(covariances.shape)}")
        if not all(np.isfinite(a).all() for a in (weights, means, covariances)):
            raise ValueError(f"{source} holds NaN or infinite numbers")
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"{source} has weights that are negative or sum to zero")
        try:
            cholesky = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            raise ValueError(f"{source} has a covariance that is not positive-definite") from None
        self.weights, self.means, self.covariances = weights / weights.sum(), means, covariances
        self._cholesky = tf.constant(cholesky, tf.float32)
        return self

    def sample_codes(self, n: Any, seed: Any, labels: Any = None) -> Any:
        if not self.is_fitted:
            raise ValueError("the Gaussian mixture sampler is not fitted yet; call fit first")
        seed = tf.cast(seed, tf.int32)
        # Two independent streams from one seed: which component, and where in it.
        pick_seed, draw_seed = tf.stack([seed, tf.constant(1)]), tf.stack([seed, tf.constant(2)])
        log_weights = tf.math.log(tf.constant(self.weights, tf.float32))[tf.newaxis, :]
        component = tf.random.stateless_categorical(log_weights, n, pick_seed, dtype=tf.int32)[0]
        eps = tf.random.stateless_normal(tf.stack([n, self.embedding_dim]), draw_seed)
        # z = mean + L eps with L L^T = covariance: one batched matrix product for all draws.
        means = tf.gather(tf.constant(self.means, tf.float32), component)
        codes = means + tf.einsum("nij,nj->ni", tf.gather(self._cholesky, component), eps)
        return tf.reshape(codes, tf.concat([[n], list(self.model.embedding_shape)], axis=0))

    @classmethod
    def file_name(cls) -> str:
        return "sampler_gmm.npz"

    def save(self, folder: str | os.PathLike[str]) -> Path:
        if not self.is_fitted:
            raise ValueError("the Gaussian mixture sampler is not fitted yet; call fit first")
        path = Path(folder) / self.file_name()
        with files.atomic_path(path) as tmp:
            np.savez(tmp, weights=self.weights, means=self.means, covariances=self.covariances)
        return path

    @classmethod
    def load(cls, model: Any, folder: str | os.PathLike[str]) -> "GaussianMixtureSampler":
        path = Path(folder) / cls.file_name()
        sampler = cls(model)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = [np.array(data[name]) for name in _ARRAYS]
        except FileNotFoundError:
            raise UsageError(f"{path}: missing; the Gaussian mixture is fitted when the model is trained "
                             f"(or by `python -m aezoo sample {Path(folder)} --sampler gmm`)") from None
        except (OSError, KeyError, ValueError) as error:
            raise UsageError(f"{path}: not a saved Gaussian mixture ({error})") from None
        try:
            sampler.set_arrays(*arrays, source=str(path))
        except ValueError as error:
            raise UsageError(f"{error}; delete it and it is fitted anew") from None
        sampler.components = len(sampler.means)
        return sampler


__all__ = ["DEFAULT_COMPONENTS", "GaussianMixtureSampler"]
