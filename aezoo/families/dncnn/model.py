"""DnCNN: the residual denoiser of Zhang et al. (2017), sized for small images."""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf

from aezoo.families.dncnn import DNCNN_DEPTH, DNCNN_FILTERS
from aezoo.models import defaults
from aezoo.models.architecture import conv_block
from aezoo.models.base import DenoisingAutoencoderBase
from aezoo.models.hyperparameters import IMAGE_SHAPE
from aezoo.models.validation import check_activation

# The paper initialises its weights as He et al. (2015) do for ReLU networks; Keras' default (Glorot)
# shrinks the signal layer by layer, and the net first spends epochs predicting no noise at all.
INITIALIZER = "he_normal"


@keras.saving.register_keras_serializable(package="aezoo")
class DnCNN(DenoisingAutoencoderBase):
    """DnCNN (Zhang, Zuo, Chen, Meng & Zhang 2017, "Beyond a Gaussian denoiser: residual learning of
    deep CNN for image denoising"): a plain stack of 3x3 convolutions at full resolution that
    predicts the *noise* of a noisy image, which is then subtracted.

    Layers, all 3x3 with ``"same"`` padding, none strided or pooled: a first convolution of
    ``filters`` channels with its activation (no batch normalisation, as in the paper); ``depth - 1``
    convolutions of ``filters`` channels, each with batch normalisation and the activation; a last,
    linear convolution to the image's channels, the predicted noise ``R(noisy)``. The defaults,
    ``depth`` 6 and ``filters`` 32 (7 convolutions, a 15x15 receptive field, 47,329 parameters), are
    a smaller version of the paper's 17 layers of 64 filters, for 28x28 digits and a training time
    near the U-Net's (see the family's ``__init__``). Weights start as the paper's do, with He et
    al.'s (2015) initialisation for ReLU networks. It is fully convolutional: ``image_shape`` only
    sets the size it is built and exported for.

    The loss, per image, is the paper's residual loss::

        loss = mean over pixels of (R(noisy) - (noisy - clean))^2

    the squared error between the predicted and the true noise (the paper's 1/2 is dropped: it only
    scales the gradient, which Adam undoes). The output is ``clip(noisy - R(noisy), 0, 1)``. Since
    ``noisy - R(noisy) - clean = -(R(noisy) - (noisy - clean))`` the loss is also the squared error of
    the *unclipped* output, so the training signal is the PSNR's own error; no sigmoid lies in between,
    so the collapse of a sigmoid output trained on squared error to black images cannot happen here:
    the gradient of the last, linear layer never vanishes while the prediction is wrong.
    Predicting the noise rather than the image is the paper's "residual learning": the identity,
    hard for a stack of nonlinear layers to learn, is free (a zero residual), and batch
    normalisation and residual learning together train faster and denoise better (the paper's Fig. 2).

    Like the U-Net it keeps full-resolution detail and compresses nothing: no latent space, no
    capabilities, a second denoising ceiling for the autoencoders.

    Args:
        depth: hidden convolutions (>= 1): the first, then ``depth - 1`` with batch normalisation;
            the output convolution comes on top (the paper's 17 layers are ``depth=16``).
        filters: channels of every hidden convolution (the paper: 64).
        activation: activation of the hidden convolutions (the paper: ReLU).
        batch_norm: batch normalisation after the middle convolutions (the paper: on).
        image_shape: ``(height, width, channels)`` of the images.
    """

    def __init__(
        self,
        depth: int = DNCNN_DEPTH.default,
        filters: int = DNCNN_FILTERS.default,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.depth = DNCNN_DEPTH.check(depth)
        self.filters = DNCNN_FILTERS.check(filters)
        self.activation = check_activation(activation)
        self.batch_norm = bool(batch_norm)
        self.image_shape = IMAGE_SHAPE.check(image_shape)  # any size: nothing is halved
        conv = functools.partial(keras.layers.Conv2D, kernel_initializer=INITIALIZER)
        self.hidden = [conv(self.filters, 3, padding="same", activation=self.activation, name="conv1")]
        for index in range(2, self.depth + 1):
            self.hidden += conv_block(conv, self.filters, 1, self.activation, self.batch_norm, name=f"conv{index}")
        # float32 even under mixed precision: the noise is subtracted from the float32 input.
        self.noise = conv(self.image_shape[-1], 3, padding="same", name="noise", dtype="float32")

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.residual(tf.zeros((1, *self.image_shape)))  # builds every layer at the image's shape
        self.built = True

    def residual(self, noisy: Any, training: bool | None = None) -> tf.Tensor:
        """``R(noisy)``: the noise the network predicts in ``noisy``, ``[batch, H, W, C]``."""
        x = noisy
        for layer in self.hidden:
            x = layer(x, training=training)
        return self.noise(x)

    def _denoise(self, noisy: tf.Tensor, residual: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(tf.cast(noisy, tf.float32) - residual, 0.0, 1.0)

    def call(self, images: Any, training: bool | None = None) -> Any:
        return self._denoise(images, self.residual(images, training=training))

    @staticmethod
    def residual_loss(noisy: tf.Tensor, clean: tf.Tensor, residual: tf.Tensor) -> tf.Tensor:
        """``[batch]``: mean over pixels of (predicted noise - (noisy - clean))^2."""
        noise = tf.cast(noisy, tf.float32) - tf.cast(clean, tf.float32)
        return tf.reduce_mean(tf.square(residual - noise), axis=[1, 2, 3])

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            residual = self.residual(noisy, training=True)
            loss = tf.reduce_mean(self.residual_loss(noisy, clean, residual))
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self.trackers["loss"].update_state(loss)
        self._update_image_metrics(clean, self._denoise(noisy, residual))
        return self._results()

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        residual = self.residual(noisy, training=False)
        self.trackers["loss"].update_state(self.residual_loss(noisy, clean, residual))
        self._update_image_metrics(clean, self._denoise(noisy, residual))
        return self._results()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "depth": self.depth, "filters": self.filters, "activation": self.activation,
                "batch_norm": self.batch_norm, "image_shape": list(self.image_shape)}
