"""The U-Net: a denoiser without a latent space that clearly beats its noisy input."""

from __future__ import annotations

import keras
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs, training_dataset
from aezoo.families.unet.model import UNet
from aezoo.families import build
from aezoo.models.base import per_image_psnr
from aezoo.models.capabilities import capabilities_of


def test_unet_beats_the_noisy_input_by_a_margin(tiny_splits):
    keras.utils.set_random_seed(0)
    model = build("unet", filters=8, depth=1, batch_norm=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.build()
    model.fit(training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 32, seed=0), epochs=3, verbose=0)
    noisy, clean = test_pairs(tiny_splits.test_images, GaussianNoise(0.5))
    noisy_psnr = float(tf.reduce_mean(per_image_psnr(clean, noisy)))
    denoised_psnr = model.evaluate(noisy, clean, verbose=0, return_dict=True)["psnr"]
    assert denoised_psnr > noisy_psnr + 3.0  # about 9.4 dB -> 14 dB after 24 steps


def test_unet_has_skips_and_no_latent_space():
    model = build("unet")
    model.build()
    assert not capabilities_of(model) and not hasattr(model, "encode")
    assert [layer.filters for layer in model.upsample] == [16, 32]  # 16-32-64 channels by default
    # Each up level sees its upsampled maps concatenated with the skip: twice the channels.
    assert [stack[0].kernel.shape[2] for stack in model.up] == [32, 64]


def test_unet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="filters must be a positive integer, got 0"):
        UNet(filters=0)
