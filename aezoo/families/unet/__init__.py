"""The U-Net denoiser: skip connections and no bottleneck, the zoo's denoising ceiling."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.models.hyperparameters import ACTIVATION, BATCH_NORM, DEPTH, FILTERS, IMAGE_SHAPE


def loss_in_words(config: Mapping[str, Any]) -> str:
    return ("binary cross-entropy between the output for the noisy image and the clean image, averaged over the "
            "pixels")


FAMILY = Family(
    name="unet",
    model="aezoo.families.unet.model:UNet",
    summary="U-Net: skip connections and no bottleneck; the denoising ceiling, with no latent space",
    paper="Ronneberger, Fischer & Brox 2015, U-Net: convolutional networks for biomedical image segmentation",
    hyperparameters=(DEPTH, FILTERS, ACTIVATION, BATCH_NORM, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
)
