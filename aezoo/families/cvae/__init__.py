"""The conditional VAE: encoder and decoder are told the image's class, so the code keeps only the style."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.families.vae import SUMMED_BCE
from aezoo.models.hyperparameters import ARCHITECTURE, BETA, IMAGE_SHAPE, SEED, Hyperparameter

# beta 2 leaves the class to the label, so that samples drawn for a label show that digit, at a
# small cost in denoising (the figures: bench/README.md, "How the defaults got there").
CVAE_BETA = BETA.with_default(2.0)
NUM_CLASSES = Hyperparameter(
    "num_classes", 10, "number of classes of the labels (set from the data)", minimum=1, flag=False)


def loss_in_words(config: Mapping[str, Any]) -> str:
    return ("negative conditional ELBO per image: Bernoulli reconstruction loss of the clean image given the code "
            f"and the class label ({SUMMED_BCE}) + β·KL(q(z|noisy, label) ‖ N(0, I)), "
            f"β = {config.get('beta', CVAE_BETA.default)}")


FAMILY = Family(
    name="cvae",
    model="aezoo.families.cvae.model:ConditionalVAE",
    summary="conditional VAE: encoder and decoder see the class label, so the code keeps only the style",
    paper="Sohn, Lee & Yan 2015, Learning structured output representation using deep conditional generative "
          "models",
    hyperparameters=(*ARCHITECTURE, CVAE_BETA, SEED, NUM_CLASSES, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="prior",
    analysis="aezoo.families.cvae.analysis",
)
