"""The variational denoising autoencoder."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.models import defaults
from aezoo.models.base import DenoisingAutoencoderBase
from aezoo.models.latent import GaussianLatent
from aezoo.models.validation import check_non_negative


@keras.saving.register_keras_serializable(package="aezoo")
class VariationalAutoencoder(DenoisingAutoencoderBase):
    """A VAE trained to reconstruct the clean image from the noisy one.

    Where the plain autoencoder maps an image to one point, the VAE's encoder outputs a
    *distribution* over codes, q(z|x) (see :class:`~aezoo.models.latent.GaussianLatent`):
    ``model.encoder(x)`` returns its parameters (means, then raw scales), ``model.encode(x)``
    its mean. During training a code is *sampled* from q(z|x) and decoded.

    The loss, per image, is the negative evidence lower bound (ELBO) of a denoising VAE::

        loss = reconstruction + beta * KL(q(z|noisy) || N(0, I))

    * reconstruction = ``-log p(clean | z)``: the decoder's sigmoid outputs are read as
      Bernoulli probabilities of each pixel being "on", so this is the binary cross-entropy
      against the *clean* image, **summed** over the 784 pixels (a log-likelihood of the whole
      image; averaging would shrink it 784-fold and let the KL term dominate).
    * KL: how far the posterior strays from the prior, in nats, computed in closed form. It costs
      information in the code, so the VAE only uses as many latent dimensions as pay for
      themselves in reconstruction; ``beta`` trades one against the other (``beta=1`` is the
      textbook ELBO, larger is smoother latent space and blurrier images).

    ``loss``, ``reconstruction_loss`` and ``kl`` are in nats per image. Validation decodes the
    posterior mean (no sampling), so it is deterministic and comparable between epochs.
    ``sample(n)`` decodes draws from the prior: new digits the model imagines.

    Args:
        embedding_dim: size of the latent code ``z``.
        depth, filters, activation, batch_norm: architecture, as for the autoencoder.
        beta: weight of the KL term (>= 0).
        seed: seed of the sampling noise in training.
    """

    metric_names = ("loss", "reconstruction_loss", "kl", "mse", "psnr")
    is_generative = True

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        beta: float = 1.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, **kwargs)
        self.beta = check_non_negative("beta", beta)
        self.seed = seed
        self.latent = GaussianLatent(self.embedding_dim, seed=seed, name="latent")

    def _encoder_outputs(self) -> int:
        return 2 * self.embedding_dim  # a mean and a scale per latent dimension

    def call(self, images: Any, training: bool | None = None) -> Any:
        z, _ = self.latent(self.encoder(images, training=training), training=training)
        return self.decoder(z, training=training)

    def encode(self, images: Any) -> Any:
        """The posterior mean, the VAE's deterministic embedding."""
        z, _ = self.latent(self.encoder(images, training=False), training=False)
        return z

    def posterior(self, images: Any) -> Any:
        """q(z|images) as a ``tfp.distributions.MultivariateNormalDiag``."""
        return self.latent.posterior(self.encoder(images, training=False))

    def kl_per_dimension(self, images: Any) -> tf.Tensor:
        """``[batch, embedding_dim]`` KL of each latent coordinate (near 0: an unused dimension)."""
        return self.latent.kl_per_dimension(self.encoder(images, training=False))

    def sample(self, n: int, seed: int | None = None) -> tf.Tensor:
        """Decode ``n`` codes drawn from the prior N(0, I)."""
        z = self.latent.prior().sample(n, seed=seed)
        return self.decoder(z, training=False)

    def losses_per_image(self, clean: tf.Tensor, noisy: tf.Tensor, training: bool) -> tuple[tf.Tensor, ...]:
        """``(denoised, reconstruction, kl)``, the last two of shape ``[batch]`` in nats."""
        z, kl = self.latent(self.encoder(noisy, training=training), training=training)
        denoised = self.decoder(z, training=training)
        # keras.losses.binary_crossentropy averages over the last axis (the single channel), so
        # summing over height and width gives the sum over all pixels.
        reconstruction = tf.reduce_sum(keras.losses.binary_crossentropy(clean, denoised), axis=[1, 2])
        return denoised, reconstruction, kl

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = data
        with tf.GradientTape() as tape:
            denoised, reconstruction, kl = self.losses_per_image(clean, noisy, training=True)
            loss = tf.reduce_mean(reconstruction + self.beta * kl)
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_metrics(clean, denoised, reconstruction, kl)
        return self._results()

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = data
        denoised, reconstruction, kl = self.losses_per_image(clean, noisy, training=False)
        self._update_metrics(clean, denoised, reconstruction, kl)
        return self._results()

    def _update_metrics(self, clean: tf.Tensor, denoised: tf.Tensor, reconstruction: tf.Tensor, kl: tf.Tensor) -> None:
        self.trackers["loss"].update_state(reconstruction + self.beta * kl)
        self.trackers["reconstruction_loss"].update_state(reconstruction)
        self.trackers["kl"].update_state(kl)
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta": self.beta, "seed": self.seed}
