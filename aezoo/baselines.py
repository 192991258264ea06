"""The classical denoisers every learned model is compared with, their parameters chosen on validation.

* ``noisy input``: doing nothing;
* ``median 3x3``: each pixel the median of its 3x3 patch;
* ``non-local means`` (Buades et al. 2005; scikit-image): each pixel a weighted mean of pixels
  whose surrounding patches look alike; its filter strength ``h`` is chosen on the validation pairs;
* ``total variation`` (Chambolle 2004; scikit-image): the image closest to the noisy one whose
  summed gradient magnitude is small; its ``weight`` is chosen on the validation pairs;
* ``BM3D`` (Dabov et al. 2007), when the optional ``bm3d`` package is installed
  (``pip install -e '.[bm3d]'``; free for non-commercial use only); its noise level is chosen
  on the validation pairs too. It is slow (about a second per small image on one core).

A parameter is chosen by the mean PSNR on (at most :data:`TUNING_IMAGES` of) the validation pairs,
never on the test pairs the table reports, exactly as the learned models are selected.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any, Callable

import numpy as np
from scipy import ndimage
from threadpoolctl import threadpool_limits

from aezoo.metrics import image_quality

# Validation images a parameter is chosen on: enough for a stable mean, cheap on 2 cores.
TUNING_IMAGES = 200
# Candidate parameters, as multiples of the noise level estimated from the noisy images (NLM, BM3D),
# or as they are (TV's weight, for images in [0, 1]).
NLM_STRENGTHS = (0.1, 0.2, 0.35, 0.5, 0.7, 1.0)
TV_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5)
BM3D_STRENGTHS = (0.5, 1.0, 1.5)
# BM3D takes about a second per small image on one core: it is chosen on fewer validation images.
BM3D_TUNING_IMAGES = 20


def median_filter(images: np.ndarray, size: int = 3) -> np.ndarray:
    """Each pixel becomes the median of its ``size x size`` patch (channels apart)."""
    return ndimage.median_filter(images, size=(1, size, size, 1), mode="nearest")


def noise_level(noisy: np.ndarray) -> float:
    """The noise's standard deviation, estimated from the noisy images alone: the median absolute
    deviation of what a 3x3 median filter removes (robust to the image's own edges), as a std."""
    residual = np.asarray(noisy, np.float32) - median_filter(np.asarray(noisy, np.float32))
    return max(float(1.4826 * np.median(np.abs(residual - np.median(residual)))), 1e-3)


def _per_image(function: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def apply(images: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(function(image), np.float32).reshape(image.shape) for image in images])
    return apply


def non_local_means(h: float) -> Callable[[np.ndarray], np.ndarray]:
    from skimage.restoration import denoise_nl_means

    return _per_image(lambda image: denoise_nl_means(image, h=h, patch_size=3, patch_distance=5, fast_mode=True,
                                                     channel_axis=-1))


def total_variation(weight: float) -> Callable[[np.ndarray], np.ndarray]:
    from skimage.restoration import denoise_tv_chambolle

    return _per_image(lambda image: denoise_tv_chambolle(image, weight=weight, channel_axis=-1))


def bm3d_filter(sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    import bm3d  # the optional extra; free for non-commercial use only

    def one(image: np.ndarray) -> np.ndarray:
        if image.shape[-1] == 3:
            return bm3d.bm3d_rgb(image, sigma)
        return bm3d.bm3d(image[..., 0], sigma)[..., None]
    return _per_image(one)


def bm3d_available() -> bool:
    return importlib.util.find_spec("bm3d") is not None


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A classical denoiser with the parameter chosen for it (``None``: it has none)."""

    name: str
    apply: Callable[[np.ndarray], np.ndarray]
    parameter: str | None = None
    value: float | None = None

    def describe(self) -> str:
        return self.name if self.parameter is None else f"{self.name} ({self.parameter} {self.value:g})"


def _choose(name: str, parameter: str, make: Callable[[float], Callable[[np.ndarray], np.ndarray]],
            candidates: tuple[float, ...], noisy: np.ndarray, clean: np.ndarray) -> Baseline:
    """The candidate with the best mean validation PSNR."""
    scores = {value: image_quality(clean, make(value)(noisy))["psnr"] for value in candidates}
    best = max(scores, key=scores.get)
    return Baseline(name, make(best), parameter, float(best))


def choose_baselines(validation_noisy: np.ndarray, validation_clean: np.ndarray) -> list[Baseline]:
    """Every baseline, with its parameter chosen on (at most :data:`TUNING_IMAGES` of) the validation pairs."""
    noisy = np.asarray(validation_noisy[:TUNING_IMAGES], np.float32)
    clean = np.asarray(validation_clean[:TUNING_IMAGES], np.float32)
    with threadpool_limits(limits=1):  # per-image filters on tiny images: threads only wait for each other
        sigma = noise_level(noisy)
        chosen = [Baseline("noisy input", lambda images: images), Baseline("median 3x3", median_filter),
                  _choose("non-local means", "h", non_local_means, tuple(k * sigma for k in NLM_STRENGTHS),
                          noisy, clean),
                  _choose("total variation", "weight", total_variation, TV_WEIGHTS, noisy, clean)]
        if bm3d_available():
            few = slice(0, BM3D_TUNING_IMAGES)
            chosen.append(_choose("BM3D", "sigma", bm3d_filter, tuple(k * sigma for k in BM3D_STRENGTHS),
                                  noisy[few], clean[few]))
    return chosen


def baselines(noisy: np.ndarray, clean: np.ndarray, chosen: list[Baseline] | None = None) -> dict[str, dict[str, Any]]:
    """Scores a learned denoiser must beat on ``(noisy, clean)``: each baseline's MSE, PSNR, SSIM
    (and its chosen parameter). Without ``chosen``: doing nothing and the 3x3 median only."""
    chosen = chosen or [Baseline("noisy input", lambda images: images), Baseline("median 3x3", median_filter)]
    scores = {}
    with threadpool_limits(limits=1):
        for baseline in chosen:
            scores[baseline.name] = image_quality(clean, baseline.apply(np.asarray(noisy, np.float32)))
            if baseline.parameter is not None:
                scores[baseline.name][baseline.parameter] = baseline.value
    return scores


__all__ = ["Baseline", "baselines", "bm3d_available", "choose_baselines", "median_filter", "non_local_means",
           "noise_level", "total_variation"]
