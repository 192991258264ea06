"""The Wasserstein autoencoder (WAE-MMD): a deterministic code pulled towards N(0, I) by an MMD penalty."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.models.hyperparameters import ARCHITECTURE, IMAGE_SHAPE, SEED, Hyperparameter, LogRange

# The paper's λ for MNIST, whose reconstruction cost is also summed over the pixels (see the model's docstring).
MMD_WEIGHT = Hyperparameter(
    "mmd_weight", 10.0, "λ: weight of the MMD between the batch's codes and as many N(0, I) draws",
    kind=float, minimum=0.0, search=LogRange(1.0, 300.0), metavar="L")


def loss_in_words(config: Mapping[str, Any]) -> str:
    return ("binary cross-entropy between the output for the noisy image and the clean image, summed over the "
            f"pixels, + λ·MMD(codes of the batch, as many N(0, I) draws), λ = "
            f"{config.get('mmd_weight', MMD_WEIGHT.default)}, with the inverse multiquadratics kernel")


FAMILY = Family(
    name="wae",
    model="aezoo.families.wae.model:WassersteinAutoencoder",
    summary="Wasserstein autoencoder (WAE-MMD): a deterministic code whose distribution an MMD penalty pulls "
            "towards N(0, I)",
    paper="Tolstikhin, Bousquet, Gelly & Schoelkopf 2018, Wasserstein auto-encoders",
    hyperparameters=(*ARCHITECTURE, MMD_WEIGHT, SEED, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="prior",
    analysis="aezoo.families.wae.analysis",
)
