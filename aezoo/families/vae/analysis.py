"""What only the VAE lineage's latent space has: the KL of each latent dimension, and which are in use.

A family's analysis module answers two calls of the latent-space analysis (:mod:`aezoo.analysis`):
``measure`` adds entries to the model's ``latent_metrics.json``; ``figures`` draws what only this
family has into its ``analysis/`` folder. The IWAE (the VAE's networks) uses this module as is;
the conditional VAE extends it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aezoo.analysis import latent_metrics
from aezoo.analysis.plotting import plt, save_figure
from aezoo.models.capabilities import CONDITIONAL, has

KL_BATCH = 250


def kl_per_dimension(model: Any, data: Any) -> np.ndarray:
    """``[n, d]`` KL of each latent coordinate of each clean image (given its label when conditional)."""
    parts = []
    for start in range(0, len(data), KL_BATCH):
        labels = (np.asarray(data.labels[start:start + KL_BATCH], np.int32),) if has(model, CONDITIONAL) else ()
        parts.append(np.asarray(model.kl_per_dimension(data.clean[start:start + KL_BATCH], *labels)))
    return np.concatenate(parts)


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``latent_usage``: KL per dimension, active units (see :func:`aezoo.analysis.latent_metrics.kl_usage`)."""
    return {"latent_usage": latent_metrics.kl_usage(kl_per_dimension(model, data), embeddings)}


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """``kl_per_dimension.png``: which latent dimensions carry information."""
    path = out_dir / "kl_per_dimension.png"
    save_figure(kl_figure(metrics["latent_usage"], name), path)
    return {"kl_per_dimension": path}


def kl_figure(usage: dict[str, Any], name: str) -> Any:
    """Bars of the average KL of each latent dimension; dimensions under the threshold in grey."""
    kl = np.asarray(usage["kl_per_dimension"])
    figure, axis = plt.subplots(figsize=(max(4.0, 0.45 * len(kl) + 1.5), 3.2))
    active = kl > usage["active_threshold_nats"]
    axis.bar(np.arange(len(kl)), kl, color=np.where(active, "tab:blue", "tab:gray"))
    axis.axhline(usage["active_threshold_nats"], color="tab:red", linestyle="--", linewidth=1,
                 label=f"active threshold {usage['active_threshold_nats']} nats")
    axis.set_xticks(np.arange(len(kl)))
    axis.set_xlabel("latent dimension")
    axis.set_ylabel("mean KL (nats)")
    axis.set_title(f"{name}: KL per latent dimension, {usage['active_units']} of {len(kl)} active")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure
