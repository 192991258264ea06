"""The VAE with a VampPrior: the prior is a mixture of the posteriors of K learned pseudo-inputs."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.families.vae import SUMMED_BCE
from aezoo.models.hyperparameters import ARCHITECTURE, IMAGE_SHAPE, SEED, Choice, Hyperparameter

# K = 30: the paper's 500 pseudo-inputs for 60,000 MNIST digits is one per 120 training images;
# the embedded data's 3600 digits at that rate make 30. More components fit the training codes
# more closely (the paper saw the NLL stop improving, then overfit, as K grew towards N), and each
# one is an image the encoder sees at every step: 30 beside a batch of 48 is the encoder's forward
# and backward passes 1.6 times over, which K = 100 would make 3 times.
PSEUDO_INPUTS = Hyperparameter(
    "pseudo_inputs", 30, "K, the number of learned pseudo-inputs whose posteriors, mixed in equal shares, are "
    "the prior", minimum=1, search=Choice((10, 30, 100)), metavar="K")


def loss_in_words(config: Mapping[str, Any]) -> str:
    return (f"negative ELBO per image: Bernoulli reconstruction loss of the clean image ({SUMMED_BCE}) + "
            "KL(q(z|noisy) ‖ p(z)), estimated at one drawn code as log q(z|noisy) − log p(z), with the VampPrior "
            "p(z) = 1/K Σ_k q(z|u_k) over K = "
            f"{config.get('pseudo_inputs', PSEUDO_INPUTS.default)} learned pseudo-inputs u_k")


FAMILY = Family(
    name="vamp",
    model="aezoo.families.vamp.model:VampPriorVAE",
    summary="VAE with a VampPrior: the prior is a mixture of the posteriors of K learned pseudo-input images",
    paper="Tomczak & Welling 2018, VAE with a VampPrior",
    hyperparameters=(*ARCHITECTURE, PSEUDO_INPUTS, SEED, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="prior",
    analysis="aezoo.families.vamp.analysis",
)
