"""The vector-quantised VAE: a grid of discrete codes from a learned codebook."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.models.hyperparameters import (
    ACTIVATION, BATCH_NORM, DEPTH, EMBEDDING_DIM, FILTERS, IMAGE_SHAPE, SEED, Choice, Hyperparameter,
)

# The codebook, not the vector size, is the bottleneck: 16 numbers are plenty for a 4x4 patch.
CODE_DIM = EMBEDDING_DIM.with_default(16)
NUM_CODES = Hyperparameter(
    "num_codes", 64, "codebook size: how many code vectors each grid cell chooses from", minimum=1,
    search=Choice((16, 32, 64, 128)), metavar="K")
COMMITMENT_COST = Hyperparameter(
    "commitment_cost", 0.25, "weight of the commitment loss that keeps the encoder near its codes", kind=float,
    minimum=0.0, metavar="W")


def loss_in_words(config: Mapping[str, Any]) -> str:
    return ("binary cross-entropy between the output for the noisy image and the clean image, averaged over the "
            "pixels, + codebook loss ‖sg[z_e] − e‖² + "
            f"{config.get('commitment_cost', COMMITMENT_COST.default)}·commitment loss ‖z_e − sg[e]‖², "
            f"with a codebook of {config.get('num_codes', NUM_CODES.default)} vectors")


FAMILY = Family(
    name="vqvae",
    model="aezoo.families.vqvae.model:VQVAE",
    summary="vector-quantised VAE: a grid of discrete codes (7x7 for MNIST) from a learned 64-entry codebook",
    paper="van den Oord, Vinyals & Kavukcuoglu 2017, Neural discrete representation learning",
    hyperparameters=(CODE_DIM, DEPTH, FILTERS, ACTIVATION, BATCH_NORM, NUM_CODES, COMMITMENT_COST, SEED,
                     IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="pixelcnn",
    analysis="aezoo.families.vqvae.analysis",
)
