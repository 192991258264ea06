"""Figures that compare models of a run in one picture.

* KL per dimension side by side (every model with a KL per latent dimension): dimensions sorted by
  their KL, so models with different numbers of active units compare at a glance.

Figures only one family has (its KL bars, its codebook, its style transfer) are drawn by the
family's own analysis module (``aezoo/families/<name>/analysis.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aezoo.analysis.plotting import plt

def plot_kl_side_by_side(usages: dict[str, dict[str, Any]]) -> Any:
    """One group of bars per dimension rank, one bar per model: each model's KL per dimension, sorted."""
    dimensions = max(len(u["kl_per_dimension"]) for u in usages.values())
    width = 0.8 / len(usages)
    figure, axis = plt.subplots(figsize=(max(5.0, 0.5 * dimensions + 3.0), 3.4))
    for offset, (kind, usage) in enumerate(usages.items()):
        kl = np.sort(np.asarray(usage["kl_per_dimension"]))[::-1]
        axis.bar(np.arange(len(kl)) + (offset - (len(usages) - 1) / 2) * width, kl, width=width,
                 label=f"{kind.upper()}: {usage['active_units']} of {usage['dimensions']} active")
    threshold = next(iter(usages.values()))["active_threshold_nats"]
    axis.axhline(threshold, color="tab:red", linestyle="--", linewidth=1)
    axis.set_xticks(np.arange(dimensions), [str(i + 1) for i in range(dimensions)])
    axis.set_xlabel("latent dimensions of each model, largest KL first")
    axis.set_ylabel("mean KL (nats)")
    axis.set_title(f"KL per latent dimension, side by side (dashed: active threshold {threshold} nats)", fontsize=10)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()
    return figure


__all__ = ["plot_kl_side_by_side"]
