"""A picture of what a model plus its sampler generates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aezoo.plotting import mosaic
from aezoo.samplers.base import Sampler

SAMPLES_FIGURE = "generated_samples.png"
SHOWN_SAMPLES = 64


def draw_samples(sampler: Sampler, path: Path, seed: int, columns: int = 8) -> Path:
    """A PNG grid of generated images; a conditional model gets one row per class."""
    from aezoo.imageio import save_png

    if sampler.conditional:
        labels = np.repeat(np.arange(int(sampler.model.num_classes)), columns)
        images = sampler.sample(len(labels), seed=seed, labels=labels)
    else:
        images = sampler.sample(SHOWN_SAMPLES, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(path, mosaic(images, columns))
    return path


__all__ = ["SAMPLES_FIGURE", "SHOWN_SAMPLES", "draw_samples"]
