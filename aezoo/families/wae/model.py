"""The Wasserstein autoencoder with an MMD penalty (WAE-MMD)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from aezoo.families.wae import MMD_WEIGHT
from aezoo.families.wae.mmd import VALIDATION_SEED, mmd_to_prior
from aezoo.models import defaults
from aezoo.models.base import EncoderDecoderModel, summed_bce
from aezoo.models.capabilities import GENERATIVE, LATENT_SPACE
from aezoo.models.latent import stateless_seed

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="aezoo")
class WassersteinAutoencoder(EncoderDecoderModel):
    """A WAE-MMD trained to reconstruct the clean image from the noisy one (Tolstikhin, Bousquet, Gelly &
    Schoelkopf 2018, "Wasserstein auto-encoders").

    The encoder is deterministic, like the plain autoencoder's: one code per image. Where the VAE
    pulls every image's posterior towards the prior (the KL term), the WAE only asks that the codes
    of all images *together* be distributed like the prior N(0, I): codes of different images may
    stay far apart, so reconstructions stay sharp, while the cloud of codes fills the prior, so
    decoding prior draws gives digits. The loss of a batch of n images::

        loss = 1/n Σ_i reconstruction(clean_i, decoder(encoder(noisy_i)))
               + λ · MMD²({encoder(noisy_i)}, {z̃_i ~ N(0, I)})

    * reconstruction: the cost c(x, y) of the paper's optimal-transport view, here the binary
      cross-entropy between output and clean image **summed** over the pixels (and channels), the
      VAE's reconstruction term, so the two families weigh their regularisers against the same
      scale (and a sigmoid output trained on BCE does not collapse to a blank image as on MSE).
    * MMD²: the unbiased estimate of the squared maximum mean discrepancy between the batch's codes
      and n draws of N(0, I), with the inverse multiquadratics kernel summed over seven scales
      (:mod:`aezoo.families.wae.mmd`), as in the paper's implementation. New prior draws every step.
    * λ (``mmd_weight``): 10, the paper's number for MNIST. The paper weighs it against 0.05 × the
      squared error summed over the pixels; against aezoo's summed BCE, whose gradient per pixel is
      larger, the same λ weighs the MMD more lightly, and yet enough: the batch's MMD falls to the
      level of its sampling noise within the default ten epochs, so a larger λ, which trades
      reconstruction for it, has nothing left to buy.

    Metrics: ``loss``, ``reconstruction_loss`` (nats per image), ``mmd`` (MMD² of each batch's
    codes), ``mse``, ``psnr``. Validation draws its prior sample from a fixed seed, so ``val_mmd``
    is comparable between epochs. Generation decodes draws of :meth:`prior`, N(0, I)
    (``aezoo.samplers.PriorSampler``); a Gaussian mixture fitted to the codes applies too.

    Args:
        embedding_dim, depth, filters, activation, batch_norm: architecture, as for the autoencoder.
        mmd_weight: λ, the weight of the MMD penalty (>= 0; 0 is the plain autoencoder on summed BCE).
        seed: seed of the prior draws in training.
    """

    metric_names = ("loss", "reconstruction_loss", "mmd", "mse", "psnr")
    capabilities = frozenset({LATENT_SPACE, GENERATIVE})

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        mmd_weight: float = 10.0,
        seed: int | None = None,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        mmd_weight = MMD_WEIGHT.check(mmd_weight)  # before building any network
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, **kwargs)
        self.mmd_weight = mmd_weight
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        return self.decoder(self.encoder(images, training=training), training=training)

    def encode(self, images: Any) -> Any:
        return self.encoder(images, training=False)

    def prior(self) -> tfd.MultivariateNormalDiag:
        """p(z) = N(0, I), the distribution the MMD penalty pulls the codes towards."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros([self.embedding_dim]), scale_diag=tf.ones([self.embedding_dim]))

    def reconstruction_loss(self, clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
        """``[batch]``: the reconstruction cost of each image (BCE summed over its pixels), in nats."""
        return summed_bce(clean, denoised)

    def losses_of(self, noisy: tf.Tensor, clean: tf.Tensor, training: bool,
                  seed: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``(denoised, reconstruction [batch], mmd)`` of one batch.

        ``seed``: the ``[2]`` stateless seed of the prior draws; by default training takes the next
        one from the model's generator and validation a fixed one.
        """
        if seed is None:
            seed = (tf.cast(self.seed_generator.next(), tf.int32) if training
                    else stateless_seed(VALIDATION_SEED if self.seed is None else self.seed))
        codes = self.encoder(noisy, training=training)
        denoised = self.decoder(codes, training=training)
        return denoised, self.reconstruction_loss(clean, denoised), mmd_to_prior(codes, self.prior(), seed)

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            denoised, reconstruction, penalty = self.losses_of(noisy, clean, training=True)
            loss = tf.reduce_mean(reconstruction) + self.mmd_weight * penalty
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_metrics(clean, denoised, reconstruction, penalty)
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        denoised, reconstruction, penalty = self.losses_of(noisy, clean, training=False)
        self._update_metrics(clean, denoised, reconstruction, penalty)
        return self._results()

    def _update_metrics(self, clean: tf.Tensor, denoised: tf.Tensor, reconstruction: tf.Tensor,
                        penalty: tf.Tensor) -> None:
        # The batch's MMD counts once per image, so that over an epoch loss = reconstruction + λ·mmd
        # holds for the averages too (a smaller last batch weighs less, as in the loss).
        penalty = tf.fill(tf.shape(reconstruction), penalty)
        self.trackers["loss"].update_state(reconstruction + self.mmd_weight * penalty)
        self.trackers["reconstruction_loss"].update_state(reconstruction)
        self.trackers["mmd"].update_state(penalty)
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mmd_weight": self.mmd_weight, "seed": self.seed}
