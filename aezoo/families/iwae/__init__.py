"""The importance-weighted autoencoder: the VAE's networks trained on a K-sample bound tighter than the ELBO."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.families.vae import SUMMED_BCE
from aezoo.models.hyperparameters import ARCHITECTURE, BETA, IMAGE_SHAPE, SEED, Choice, Hyperparameter

IW_SAMPLES = Hyperparameter(
    "iw_samples", 5, "codes drawn per image for the importance-weighted bound (1 is the VAE's ELBO)", minimum=1,
    # A trial's cost grows with K, so the search stops at 10.
    search=Choice((1, 2, 5, 10)), metavar="K")


def loss_in_words(config: Mapping[str, Any]) -> str:
    return (f"negative importance-weighted bound per image, K = {config.get('iw_samples', IW_SAMPLES.default)} "
            "codes drawn from q(z|noisy): −log mean_k w_k with log w_k = log p(clean|z_k) + β·(log p(z_k) − "
            f"log q(z_k|noisy)); reconstruction term: {SUMMED_BCE}; β = {config.get('beta', BETA.default)}")


FAMILY = Family(
    name="iwae",
    model="aezoo.families.iwae.model:ImportanceWeightedAutoencoder",
    summary="importance-weighted autoencoder: the VAE trained on a K-sample bound tighter than the ELBO",
    paper="Burda, Grosse & Salakhutdinov 2015, Importance weighted autoencoders",
    hyperparameters=(*ARCHITECTURE, BETA, SEED, IW_SAMPLES, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="prior",
    analysis="aezoo.families.vae.analysis",
)
