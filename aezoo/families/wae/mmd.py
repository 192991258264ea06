"""Maximum mean discrepancy with the inverse multiquadratics kernel: the WAE's penalty, in one place.

The WAE-MMD (Tolstikhin et al. 2018) and the InfoVAE (Zhao et al. 2019) both penalise how far the
batch's codes lie from draws of the prior N(0, I) by the MMD between the two samples. This module
is the one implementation; the InfoVAE's folder imports it from here.

Kernel. The inverse multiquadratics (IMQ) kernel ``k(x, y) = C / (C + ||x - y||²)`` has heavier
tails than a Gaussian kernel: two samples far apart still feel a gradient, where a Gaussian's
vanishes (the WAE paper's reason for it). As in the paper's implementation, the kernel is a sum
over scales ``C = 2·d·σ²·s`` for ``s`` in :data:`IMQ_SCALES`, ``d`` the code's size and ``σ² = 1``
the prior's variance: ``2·d·σ²`` is the expected squared distance of two prior draws, and the
scales cover a hundred-fold range around it, so no single bandwidth has to be tuned.

Estimator. The unbiased MMD² of Gretton et al. (2012), as the paper's code computes it::

    MMD²(q, p) = 1/(n(n-1)) Σ_{i≠j} k(q_i, q_j) + 1/(m(m-1)) Σ_{i≠j} k(p_i, p_j) - 2/(nm) Σ_{i,j} k(q_i, p_j)

Leaving out the diagonal (``k(x, x) = 1`` at every scale) makes the estimate unbiased: it is near
0 when the codes follow the prior, and may dip below 0 by sampling noise.
"""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

#: Validation draws its prior sample from this seed (the model's own seed when it has one), so
#: ``val_mmd`` compares the codes of successive epochs against the same draws.
VALIDATION_SEED = 1234

#: The scales s of the kernel's constant C = 2·d·σ²·s, those of the WAE paper's implementation.
IMQ_SCALES: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def squared_distances(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``[n, m]`` squared Euclidean distances between the rows of ``a [n, d]`` and ``b [m, d]``.

    Computed from the differences rather than ``|a|² + |b|² - 2ab``, which can come out slightly
    negative by rounding; a batch of codes is small, so the ``[n, m, d]`` differences are cheap.
    """
    return tf.reduce_sum(tf.square(a[:, tf.newaxis, :] - b[tf.newaxis, :, :]), axis=-1)


def imq_kernel(a: tf.Tensor, b: tf.Tensor, prior_variance: float = 1.0,
               scales: Sequence[float] = IMQ_SCALES) -> tf.Tensor:
    """``[n, m]``: Σ_s C_s / (C_s + ||a_i - b_j||²) with C_s = 2·d·σ²·s (see the module docstring)."""
    distances = squared_distances(a, b)
    base = 2.0 * tf.cast(tf.shape(a)[-1], a.dtype) * prior_variance
    return tf.add_n([base * s / (base * s + distances) for s in scales])


def _off_diagonal_mean(kernel: tf.Tensor) -> tf.Tensor:
    n = tf.cast(tf.shape(kernel)[0], kernel.dtype)
    # One row has no pair: the floor keeps the division (and its gradient) finite; mmd() returns 0.
    return (tf.reduce_sum(kernel) - tf.linalg.trace(kernel)) / tf.maximum(n * (n - 1.0), 1.0)


def mmd(codes: tf.Tensor, prior_draws: tf.Tensor, prior_variance: float = 1.0,
        scales: Sequence[float] = IMQ_SCALES) -> tf.Tensor:
    """The unbiased MMD² estimate between ``codes [n, d]`` and ``prior_draws [m, d]``, a scalar.

    With fewer than two codes or draws (a last batch of one image) there is no unbiased estimate:
    0, so such a batch trains the reconstruction alone. Computed in float32 whatever the model's compute dtype (the distances of a float16 code would
    round off the kernel's small differences).
    """
    codes = tf.cast(codes, tf.float32)
    prior_draws = tf.cast(prior_draws, tf.float32)
    within_codes = _off_diagonal_mean(imq_kernel(codes, codes, prior_variance, scales))
    within_prior = _off_diagonal_mean(imq_kernel(prior_draws, prior_draws, prior_variance, scales))
    between = tf.reduce_mean(imq_kernel(codes, prior_draws, prior_variance, scales))
    estimate = within_codes + within_prior - 2.0 * between
    return tf.where(tf.minimum(tf.shape(codes)[0], tf.shape(prior_draws)[0]) >= 2, estimate, 0.0)


def mmd_to_prior(codes: tf.Tensor, prior: Any, seed: tf.Tensor) -> tf.Tensor:
    """MMD² between ``codes [n, d]`` and as many draws of ``prior`` (a ``tfp`` distribution over
    codes, the model's own ``prior()``), drawn with the ``[2]`` stateless ``seed``."""
    return mmd(codes, prior.sample(tf.shape(codes)[0], seed=seed))


__all__ = ["IMQ_SCALES", "VALIDATION_SEED", "imq_kernel", "mmd", "mmd_to_prior", "squared_distances"]
