"""The leaderboard's latent statistics: MMD to the prior and the total correlation, checked on known cases."""

from __future__ import annotations

import numpy as np
import pytest

from aezoo.evaluation.latent_statistics import imq_kernel, mmd, prior_mmd, total_correlation


def test_the_kernel_is_the_sum_of_inverse_multiquadratics_over_the_scales():
    a, b = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])  # squared distance 25, d = 2
    expected = sum(4 * s / (4 * s + 25) for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))
    assert imq_kernel(a, b)[0, 0] == pytest.approx(expected)


def test_mmd_is_near_zero_for_the_prior_itself_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    same = prior_mmd(rng.standard_normal((500, 8)), seed=2)
    shifted = prior_mmd(rng.standard_normal((500, 8)) + 1.0, seed=2)
    assert abs(same) < 0.01 < shifted
    # The unbiased estimate: with the diagonal left in, the same samples would give a positive bias.
    x = rng.standard_normal((50, 3))
    assert mmd(x, x) < 0


def test_total_correlation_is_near_zero_for_independent_codes_and_large_for_dependent_ones():
    rng = np.random.default_rng(0)
    independent = rng.standard_normal((800, 4))
    dependent = np.repeat(rng.standard_normal((800, 1)), 4, axis=1)  # four copies of one factor
    log_variance = np.full((800, 4), np.log(0.1))  # narrower posteriors: more self-term bias in 800 points
    low = total_correlation(independent, log_variance)
    high = total_correlation(dependent, log_variance)
    assert abs(low) < 0.6 and high > 2.0
    with pytest.raises(ValueError, match="must both be"):
        total_correlation(independent, log_variance[:, :3])
