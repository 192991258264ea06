"""Frechet distance (FD) between two sets of classifier features: an MNIST analogue of FID.

FID (Heusel et al. 2017) compares Inception-v3 features of generated and real images. Inception
knows nothing useful about 28x28 digits, so aezoo uses the penultimate layer of its own digit
classifier (:mod:`aezoo.evaluation.classifier`) instead. The number is therefore *not* an FID and
must never be compared with published FIDs; it is called "Frechet distance (FD)" throughout.

Each feature set is summarised by a Gaussian (mean ``mu``, covariance ``S``), and

    FD = |mu_1 - mu_2|^2 + trace(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

is the squared 2-Wasserstein distance between the two Gaussians. Lower is closer; 0 means the
same mean and covariance. FD is biased upwards for small sets, so compare only numbers computed
with the same number of images; :func:`reference_points` gives the scale at that number.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.ndimage

from aezoo.evaluation.classifier import DigitClassifier, as_unit_images

# Added to both covariances' diagonals when their product has no finite square root (a singular
# covariance: fewer images than feature dimensions, or dead ReLU units).
SQRTM_EPSILON = 1e-6
# The imaginary part sqrtm leaves from round-off; a larger one means a real numerical failure.
IMAGINARY_TOLERANCE = 1e-3


def gaussian_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` of features ``[N, D]`` (N >= 2), in float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [N >= 2, D], got shape {list(features.shape)}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance_from_statistics(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FD between N(mu1, sigma1) and N(mu2, sigma2)."""
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # Dead ReLU units make classifier-feature covariances singular; sqrtm then warns although
        # its result is fine (the tests compare it with an eigendecomposition). Non-finite results
        # are caught below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * SQRTM_EPSILON
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    trace_root = None
    if np.iscomplexobj(covmean):
        # The product of two covariances has real non-negative eigenvalues, so its square root is
        # real up to round-off; keep the real part. A large imaginary part is sqrtm failing on a
        # nearly singular product (fewer images than feature dimensions): then the trace comes
        # from symmetric eigendecompositions, which stay real and stable.
        largest = np.max(np.abs(covmean.imag))
        if largest > IMAGINARY_TOLERANCE * max(1.0, np.max(np.abs(covmean.real))):
            trace_root = symmetric_trace_root(sigma1, sigma2)
        covmean = covmean.real
    if trace_root is None:
        trace_root = np.trace(covmean)
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root
    return float(max(distance, 0.0))  # round-off can take identical sets a hair below zero


def symmetric_trace_root(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """trace((S1 S2)^(1/2)) as the sum of sqrt eig(S1^(1/2) S2 S1^(1/2)), a symmetric matrix."""
    values, vectors = np.linalg.eigh(sigma1)
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    return float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root @ sigma2 @ root), 0.0, None))))


def frechet_distance(features_a: Any, features_b: Any) -> float:
    """FD between two feature sets ``[N, D]`` and ``[M, D]``."""
    return frechet_distance_from_statistics(*gaussian_statistics(features_a), *gaussian_statistics(features_b))


def blur(images: Any, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur of each image (not across images nor channels), ``[N, H, W, C]`` in [0, 1]."""
    return scipy.ndimage.gaussian_filter(as_unit_images(images), sigma=(0, sigma, sigma, 0))


def add_noise(images: Any, stddev: float, seed: int = 0) -> np.ndarray:
    """Images plus Gaussian noise of ``stddev``, clipped to [0, 1]."""
    unit = as_unit_images(images)
    noise = np.random.default_rng(seed).normal(0.0, stddev, unit.shape)
    return np.clip(unit + noise, 0.0, 1.0).astype(np.float32)


# The reference points' blur and noise levels.
BLUR_SIGMA = 1.0
NOISE_STDDEVS = (0.1, 0.3)


def reference_points(classifier: DigitClassifier, train_images: Any, test_images: Any, n: int | None = None,
                     blur_sigma: float = BLUR_SIGMA, noise_stddevs: tuple[float, ...] = NOISE_STDDEVS,
                     seed: int = 0, test_features: np.ndarray | None = None) -> dict[str, float]:
    """FDs that put a model's FD on a scale, all against the same ``n`` real test images.

    * ``real train vs test``: real digits the classifier has seen against ones it has not: the
      floor, the best a perfect generator can score at this ``n``;
    * ``blurred train (sigma=...)``: real digits, blurred; blurry VAE samples land near here;
    * ``noisy train (stddev=...)``: real digits with Gaussian pixel noise.

    ``n`` defaults to the size of the smaller set; generated samples should be scored at the
    same ``n`` against the same test images (:func:`aezoo.evaluation.sample_quality.score_samples`).
    ``test_features``: the classifier's features of those ``n`` test images, if already computed.
    """
    n = min(len(train_images), len(test_images)) if n is None else n
    if n < 2 or n > min(len(train_images), len(test_images)):
        raise ValueError(f"n={n} must be 2..{min(len(train_images), len(test_images))}")
    train = train_images[:n]
    test = classifier.features(test_images[:n]) if test_features is None else test_features
    blurred = classifier.features(blur(train, blur_sigma))
    points = {"real train vs test": frechet_distance(classifier.features(train), test),
              f"blurred train (sigma={blur_sigma:g})": frechet_distance(blurred, test)}
    for stddev in noise_stddevs:
        noisy = add_noise(train, stddev, seed=seed)
        points[f"noisy train (stddev={stddev:g})"] = frechet_distance(classifier.features(noisy), test)
    return points
