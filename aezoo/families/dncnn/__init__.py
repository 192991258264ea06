"""DnCNN: a residual denoiser that predicts the noise; no bottleneck, no latent space."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.models.hyperparameters import ACTIVATION, BATCH_NORM, DEPTH, FILTERS, IMAGE_SHAPE

# The paper's network for a known noise level is 17 layers of 64 filters (16 hidden convolutions and
# the output one). A 28x28 digit needs less: 6 hidden convolutions of 32 filters (a 15x15 receptive
# field, most of a digit's strokes). On the embedded digits at sigma 0.5 (10 epochs) width paid and depth
# did not: 6x32 and 10x32 both reached 19.1 dB, 8x24 18.6 dB and 13x16 17.7 dB, and 6x32 trains in half
# the time of 10x32 (about twice the U-Net's arithmetic: every layer works at full resolution).
DNCNN_DEPTH = DEPTH.with_default(6)
DNCNN_FILTERS = FILTERS.with_default(32)


def loss_in_words(config: Mapping[str, Any]) -> str:
    return ("mean squared error between the predicted noise and the true noise (noisy image − clean image), "
            "averaged over the pixels; the output is the noisy image minus the predicted noise, clipped to [0, 1]")


FAMILY = Family(
    name="dncnn",
    model="aezoo.families.dncnn.model:DnCNN",
    summary="DnCNN: a residual CNN that predicts the noise and subtracts it; no bottleneck, no latent space",
    paper="Zhang, Zuo, Chen, Meng & Zhang 2017, Beyond a Gaussian denoiser: residual learning of deep CNN for "
          "image denoising",
    hyperparameters=(DNCNN_DEPTH, DNCNN_FILTERS, ACTIVATION, BATCH_NORM, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
)
