"""InfoVAE: the VAE's Gaussian posterior, with the KL term traded for an MMD between all codes and the prior."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.families.vae import SUMMED_BCE
from aezoo.models.hyperparameters import ARCHITECTURE, IMAGE_SHAPE, SEED, Choice, Hyperparameter, LogRange

# The paper's MMD-VAE: α = 1 drops the per-image KL term (the mutual-information penalty). Its
# λ = 1000 weighs an MMD with one Gaussian kernel; aezoo's MMD sums seven IMQ kernels, several times
# the value for the same two samples, so λ = 100 weighs it about as the paper does (see the model).
ALPHA = Hyperparameter(
    "alpha", 1.0, "α in [0, 1]: the KL term weighs 1 − α (1: the MMD-VAE, no KL; 0: the ELBO plus an MMD)",
    kind=float, minimum=0.0, search=Choice((0.0, 0.5, 1.0)), metavar="A")
MMD_LAMBDA = Hyperparameter(
    "mmd_lambda", 100.0, "λ: the MMD between all codes and N(0, I) weighs α + λ − 1 (at least 1 − α)",
    kind=float, minimum=0.0, search=LogRange(10.0, 3000.0), metavar="L")


def kl_weight(alpha: float) -> float:
    """The KL term's weight, 1 − α."""
    return 1.0 - alpha


def mmd_weight(alpha: float, mmd_lambda: float) -> float:
    """The MMD term's weight, α + λ − 1."""
    return alpha + mmd_lambda - 1.0


def loss_in_words(config: Mapping[str, Any]) -> str:
    alpha = float(config.get("alpha", ALPHA.default))
    mmd_lambda = float(config.get("mmd_lambda", MMD_LAMBDA.default))
    return (f"Bernoulli reconstruction loss of the clean image ({SUMMED_BCE}) + (1 − α)·KL(q(z|noisy) ‖ N(0, I)) "
            f"+ (α + λ − 1)·MMD(codes drawn from q(z|noisy) for the batch, as many N(0, I) draws), α = {alpha:g}, "
            f"λ = {mmd_lambda:g}: KL weight {kl_weight(alpha):g}, MMD weight {mmd_weight(alpha, mmd_lambda):g}, "
            "inverse multiquadratics kernel")


FAMILY = Family(
    name="infovae",
    model="aezoo.families.infovae.model:InfoVAE",
    summary="InfoVAE (the MMD-VAE): the VAE's Gaussian code, held to N(0, I) by an MMD over all codes instead of "
            "a KL per image",
    paper="Zhao, Song & Ermon 2019, InfoVAE: balancing learning and inference in variational autoencoders",
    hyperparameters=(*ARCHITECTURE, ALPHA, MMD_LAMBDA, SEED, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="prior",
    analysis="aezoo.families.infovae.analysis",
)
