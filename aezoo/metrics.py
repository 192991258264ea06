"""Image-quality scores of a batch of estimates against clean images, in numpy.

Used for the trained models, for the classical baselines (:mod:`aezoo.baselines`) and by the
analysis and the benchmark, so every number in a report is computed the same way.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def image_quality(clean: np.ndarray, estimate: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
    """Mean per-image MSE, PSNR (dB, peak 1) and SSIM of ``estimate`` against ``clean``.

    Both are float arrays ``[N, H, W, C]`` in [0, 1]. SSIM uses TensorFlow's standard 11x11
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
