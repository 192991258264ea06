"""What only the VQ-VAE's latent space has: how its codebook is used.

Perplexity (exp of the entropy of the code frequencies) is the number of codes in effective use;
dead codes are chosen by no grid cell of the test images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aezoo.analysis.plotting import plt, save_figure


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``codebook``: perplexity, dead and used codes and the count of each, on the clean test images."""
    return {"codebook": dict(model.codebook_usage(data.clean)) | {"images": "the clean test images"}}


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """``codebook_usage.png``."""
    usage = metrics["codebook"]
    path = out_dir / "codebook_usage.png"
    save_figure(plot_codebook_usage(usage, f"{name}: codebook usage, perplexity {usage['perplexity']:.1f} of "
                                           f"{usage['num_codes']} codes, {usage['dead_codes']} dead"), path)
    return {"codebook_usage": path}


def plot_codebook_usage(usage: dict[str, Any], title: str) -> Any:
    """Bars of how often each code is chosen, most used first; dead codes show as the empty tail."""
    counts = np.sort(np.asarray(usage["counts"], dtype=np.float64))[::-1]
    share = counts / max(counts.sum(), 1.0)
    figure, axis = plt.subplots(figsize=(max(4.0, 0.09 * len(counts) + 2.0), 3.0))
    axis.bar(np.arange(len(share)), share, color=np.where(counts > 0, "tab:blue", "tab:gray"), width=0.9)
    axis.set_xlabel("code, most used first")
    axis.set_ylabel("share of grid cells")
    axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
