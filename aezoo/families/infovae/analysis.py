"""What the InfoVAE's latent space has: the VAE lineage's KL per dimension, and the MMD of its codes to N(0, I).

Its posterior is the VAE's Gaussian, so the KL of each dimension reads as for the VAE (with α = 1
no term of the loss holds it down: it shows how much each dimension carries). Its MMD term pulls
the cloud of all codes towards the prior, as the WAE's does, so the WAE's measure of how close
that cloud came applies as is, and the report speaks of both families together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aezoo.families.vae import analysis as vae_analysis
from aezoo.families.wae import analysis as wae_analysis
from aezoo.report.parts import Measure


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``latent_usage`` (the VAE lineage's) and ``mmd_to_prior`` (the WAE's), on the clean test images."""
    return vae_analysis.measure(model, data, embeddings) | wae_analysis.measure(model, data, embeddings)


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """The VAE lineage's KL figure (the MMD has no figure of its own)."""
    return vae_analysis.figures(model, name, data, metrics, embeddings, out_dir, seed)


REPORT: tuple[Measure, ...] = (*vae_analysis.REPORT, *wae_analysis.REPORT)
