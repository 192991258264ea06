"""The variational autoencoder, base of the VAE lineage (IWAE, conditional VAE), and its beta-VAE preset."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family, Preset
from aezoo.models.hyperparameters import ARCHITECTURE, BETA, IMAGE_SHAPE, SEED

SUMMED_BCE = "binary cross-entropy summed over the pixels"


def loss_in_words(config: Mapping[str, Any]) -> str:
    return (f"negative ELBO per image: Bernoulli reconstruction loss of the clean image ({SUMMED_BCE}) "
            f"+ β·KL(q(z|noisy) ‖ N(0, I)), β = {config.get('beta', BETA.default)}")


FAMILY = Family(
    name="vae",
    model="aezoo.families.vae.model:VariationalAutoencoder",
    summary="variational autoencoder: a Gaussian code per image, trained on the ELBO (reconstruction + KL)",
    paper="Kingma & Welling 2014, Auto-encoding variational Bayes",
    hyperparameters=(*ARCHITECTURE, BETA, SEED, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    presets=(Preset("beta_vae", {"beta": 4.0},
                    "beta-VAE: the VAE with the KL term weighted 4x, for fewer, smoother latent dimensions "
                    "(Higgins et al. 2017)"),),
    default_sampler="prior",
    analysis="aezoo.families.vae.analysis",
)
