"""Image-quality scores of a batch of estimates against clean images, in numpy.

Used for the trained models, for the baselines (noisy input, median filter) and by the analysis
and the benchmark, so every number in a report is computed the same way.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from scipy import ndimage


def image_quality(clean: np.ndarray, estimate: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
    """Mean per-image MSE, PSNR (dB, peak 1) and SSIM of ``estimate`` against ``clean``.

    Both are float arrays ``[N, 28, 28, 1]`` in [0, 1]. SSIM uses TensorFlow's standard 11x11
    Gaussian window; it rewards preserved strokes and edges where PSNR only counts squared error.
    """
    clean = np.asarray(clean, dtype=np.float32)
    estimate = np.asarray(estimate, dtype=np.float32)
    if clean.shape != estimate.shape:
        raise ValueError(f"clean {clean.shape} and estimate {estimate.shape} differ in shape")
    mse = np.mean((clean - estimate) ** 2, axis=(1, 2, 3))
    psnr = -10.0 * np.log10(np.maximum(mse, 1e-10))
    ssim = np.concatenate([
        tf.image.ssim(clean[i:i + batch_size], estimate[i:i + batch_size], max_val=1.0).numpy()
        for i in range(0, len(clean), batch_size)
    ])
    return {"mse": float(mse.mean()), "psnr": float(psnr.mean()), "ssim": float(ssim.mean())}


def median_filter(images: np.ndarray, size: int = 3) -> np.ndarray:
    """The classic non-learned denoiser: each pixel becomes the median of its ``size x size`` patch."""
    return ndimage.median_filter(images, size=(1, size, size, 1), mode="nearest")


def baselines(noisy: np.ndarray, clean: np.ndarray) -> dict[str, dict[str, float]]:
    """Scores a learned denoiser must beat: doing nothing, and a 3x3 median filter."""
    return {
        "noisy input": image_quality(clean, noisy),
        "median 3x3": image_quality(clean, median_filter(noisy)),
    }
