"""The adversarial autoencoder: the plain autoencoder whose codes a discriminator pulls towards N(0, I)."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.ae import PIXEL_LOSS, loss_in_words as reconstruction_in_words
from aezoo.families.family import Family
from aezoo.models.hyperparameters import ARCHITECTURE, IMAGE_SHAPE, SEED, Choice, Hyperparameter

DISCRIMINATOR_UNITS = Hyperparameter(
    "discriminator_units", 128, "units of each of the two hidden layers of the code discriminator", minimum=1,
    search=Choice((32, 64, 128, 256)), metavar="N")


def loss_in_words(config: Mapping[str, Any]) -> str:
    return (f"two phases per batch. Reconstruction: encoder and decoder minimise the "
            f"{reconstruction_in_words(config)}. Regularisation: a discriminator learns to tell draws from "
            "N(0, I) from the codes of the noisy images (binary cross-entropy, prior draws labelled 1, codes 0), "
            "then the encoder learns to fool it (−log D(code))")


FAMILY = Family(
    name="aae",
    model="aezoo.families.aae.model:AdversarialAutoencoder",
    summary="adversarial autoencoder: a code discriminator pulls the deterministic codes towards N(0, I)",
    paper="Makhzani, Shlens, Jaitly, Goodfellow & Frey 2016, Adversarial autoencoders",
    hyperparameters=(*ARCHITECTURE, PIXEL_LOSS, DISCRIMINATOR_UNITS, SEED, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="prior",
)
