"""Two statistics of a latent space that papers compare families by, in numpy for any model.

* :func:`prior_mmd`: how far a model's codes are from N(0, I), as the maximum mean discrepancy
  with the inverse multiquadratic kernel the WAE paper uses (Tolstikhin et al. 2018). The
  adversarial autoencoder claims codes closer to its prior than a plain autoencoder's.
* :func:`total_correlation`: the total correlation of the aggregate posterior q(z) of a set of
  images, from their Gaussian posteriors (Chen et al. 2018's quantity; q(z) is the mixture of the
  M posteriors given, so every term is estimated on the same images). β-TC-VAE claims a lower one
  than a β-VAE of the same β.

They are leaderboard measures, estimated on test images after training, independent of how any
family computes its own loss terms (a family's loss may estimate the same quantity differently).
"""

from __future__ import annotations

import numpy as np

# The IMQ kernel's scales: C = 2 * d * s for each s, summed, as in the WAE authors' implementation.
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def imq_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_s C_s / (C_s + ||a_i - b_j||^2)`` with ``C_s = 2 d s``: heavy tails, so far-off codes still count."""
    distances = _squared_distances(a, b)
    dim = a.shape[1]
    return sum(2.0 * dim * s / (2.0 * dim * s + distances) for s in IMQ_SCALES)


def mmd(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimate of MMD² between the samples ``x`` and ``y`` (rows are points)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError(f"MMD needs at least two points on each side, got {n} and {m}")
    kxx, kyy, kxy = imq_kernel(x, x), imq_kernel(y, y), imq_kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2.0 * kxy.mean())


def prior_mmd(codes: np.ndarray, seed: int = 0) -> float:
    """MMD² between ``codes`` ``[N, d]`` and as many draws from N(0, I)."""
    codes = np.asarray(codes, np.float64).reshape(len(codes), -1)
    prior = np.random.default_rng(seed).standard_normal(codes.shape)
    return mmd(codes, prior)


def _log_normal(z: np.ndarray, mean: np.ndarray, log_variance: np.ndarray) -> np.ndarray:
    return -0.5 * (np.log(2.0 * np.pi) + log_variance + (z - mean) ** 2 * np.exp(-log_variance))


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    top = values.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(values - top).sum(axis=axis))


def total_correlation(mean: np.ndarray, log_variance: np.ndarray, seed: int = 0) -> float:
    """KL(q(z) || prod_d q(z_d)) in nats, with q(z) = 1/M sum_j q(z | x_j) over the ``M`` posteriors given.

    ``mean``, ``log_variance``: ``[M, d]`` of the diagonal Gaussian posteriors of M images. One z is
    drawn from each posterior; each marginal q(z_d) is the same mixture, one coordinate at a time.
    (The minibatch-weighted estimator that β-TC-VAE trains with normalises by N·M for a minibatch
    of M out of N images; when the M images are the whole set it would add (d - 1)·log N nats.)
    """
    mean, log_variance = np.asarray(mean, np.float64), np.asarray(log_variance, np.float64)
    if mean.shape != log_variance.shape or mean.ndim != 2:
        raise ValueError(f"mean and log_variance must both be [M, d], got {mean.shape} and {log_variance.shape}")
    z = mean + np.exp(0.5 * log_variance) * np.random.default_rng(seed).standard_normal(mean.shape)
    # [M (sample i), M (posterior j), d]
    log_q = _log_normal(z[:, None, :], mean[None, :, :], log_variance[None, :, :])
    log_normaliser = np.log(len(mean))
    log_joint = _logsumexp(log_q.sum(axis=2), axis=1) - log_normaliser
    log_marginals = (_logsumexp(log_q, axis=1) - log_normaliser).sum(axis=1)
    return float(np.mean(log_joint - log_marginals))


__all__ = ["IMQ_SCALES", "imq_kernel", "mmd", "prior_mmd", "total_correlation"]
