"""The convolutional denoising autoencoder: noisy image -> code -> clean image."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.models.hyperparameters import ARCHITECTURE, IMAGE_SHAPE, Hyperparameter

PIXEL_LOSSES = ("mse", "bce")
PIXEL_LOSS = Hyperparameter(
    "pixel_loss", "mse", "what the output is compared with the clean image by: mean squared error (what PSNR "
    "measures) or per-pixel binary cross-entropy", kind=str, choices=PIXEL_LOSSES, metavar="LOSS")

_LOSSES = {
    "mse": "mean squared error between the output for the noisy image and the clean image, averaged over the pixels",
    "bce": "binary cross-entropy between the output for the noisy image and the clean image, averaged over the pixels",
}


def loss_in_words(config: Mapping[str, Any]) -> str:
    return _LOSSES[str(config.get("pixel_loss", "mse"))]


FAMILY = Family(
    name="ae",
    model="aezoo.families.ae.model:ConvAutoencoder",
    summary="convolutional autoencoder: noisy image -> 10-d code -> clean image",
    paper="Vincent, Larochelle, Bengio & Manzagol 2008, Extracting and composing robust features with "
          "denoising autoencoders",
    hyperparameters=(*ARCHITECTURE, PIXEL_LOSS, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="gmm",
)
