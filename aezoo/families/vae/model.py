"""The variational denoising autoencoder, base of the VAE family (β-VAE, IWAE, conditional VAE)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.models import defaults
from aezoo.models.base import EncoderDecoderModel, summed_bce
from aezoo.models.capabilities import GENERATIVE, KL_TERM, LATENT_SPACE, LIKELIHOOD
from aezoo.models.hyperparameters import BETA
from aezoo.models.latent import GaussianLatent


@keras.saving.register_keras_serializable(package="aezoo")
class VariationalAutoencoder(EncoderDecoderModel):
    """A VAE trained to reconstruct the clean image from the noisy one (Kingma & Welling, 2014).

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
      textbook ELBO; ``beta > 1`` is the β-VAE of Higgins et al. 2017: fewer active dimensions,
      a smoother latent space, blurrier images).

    *KL warm-up* (Bowman et al. 2016; Sønderby et al. 2016): the weight actually applied to the
    KL term is ``kl_weight``, a non-trainable variable that starts at ``beta``. The callback
    :class:`aezoo.callbacks.KLWarmup` ramps it from 0 to ``beta`` over the first epochs, so the
    decoder learns to use the code before the KL term can switch dimensions off. It is not saved:
    a loaded model weighs the KL by ``beta``, the value in its config.

    ``loss``, ``reconstruction_loss`` and ``kl`` are in nats per image. Validation decodes the
    posterior mean (no sampling), so it is deterministic and comparable between epochs.
    Decoding draws from the prior, ``decode(prior().sample(n))``, gives new digits the model imagines
    (``aezoo.samplers.PriorSampler`` does it).

    Args:
        embedding_dim: size of the latent code ``z``.
        depth, filters, activation, batch_norm: architecture, as for the autoencoder.
        beta: weight of the KL term (>= 0).
        seed: seed of the sampling noise in training.
    """

    metric_names = ("loss", "reconstruction_loss", "kl", "mse", "psnr")
    beta: float
    kl_weight: tf.Variable
    capabilities = frozenset({LATENT_SPACE, GENERATIVE, LIKELIHOOD, KL_TERM})

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        beta: float = 1.0,
        seed: int | None = None,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, **kwargs)
        self.beta = BETA.check(beta)
        self.seed = seed
        self.latent = GaussianLatent(self.embedding_dim, seed=seed, name="latent")
        # A plain tf.Variable, which Keras does not track: a warm-up's intermediate value is a
        # training schedule, not a weight, so .keras files keep only the target ``beta``.
        self.kl_weight = tf.Variable(self.beta, trainable=False, dtype=tf.float32, name="kl_weight")

    def _encoder_outputs(self) -> int:
        return 2 * self.embedding_dim  # a mean and a scale per latent dimension

    # The two hooks a conditional subclass overrides: what the encoder and decoder see.
    def _posterior_params(self, inputs: Any, training: bool | None) -> tf.Tensor:
        return self.encoder(inputs, training=training)

    def _decode(self, z: tf.Tensor, inputs: Any, training: bool | None) -> tf.Tensor:
        return self.decoder(z, training=training)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        z, _ = self.latent(self._posterior_params(inputs, training), training=training)
        return self._decode(z, inputs, training)

    def encode(self, images: Any) -> Any:
        """The posterior mean, the VAE's deterministic embedding."""
        return self.latent.posterior(self._posterior_params(images, False)).mean()

    def posterior(self, images: Any) -> Any:
        """q(z|images) as a ``tfp.distributions.MultivariateNormalDiag``."""
        return self.latent.posterior(self._posterior_params(images, False))

    def kl_per_dimension(self, images: Any) -> tf.Tensor:
        """``[batch, embedding_dim]`` KL of each latent coordinate (near 0: an unused dimension)."""
        return self.latent.kl_per_dimension(self._posterior_params(images, False))

    def prior(self) -> Any:
        """p(z) = N(0, I), the distribution the KL term pulls every posterior towards."""
        return self.latent.prior()

    def _forward(self, inputs: Any, clean: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``(denoised, reconstruction, kl)`` for one batch."""
        z, kl = self.latent(self._posterior_params(inputs, training), training=training)
        denoised = self._decode(z, inputs, training)
        return denoised, summed_bce(clean, denoised), kl

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            denoised, reconstruction, kl = self._forward(inputs, clean, training=True)
            loss = tf.reduce_mean(reconstruction + self.kl_weight * kl)
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_metrics(clean, denoised, reconstruction, kl, self.kl_weight)
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        denoised, reconstruction, kl = self._forward(inputs, clean, training=False)
        # Scored with the target beta even during a warm-up, so validation losses stay comparable.
        self._update_metrics(clean, denoised, reconstruction, kl, self.beta)
        return self._results()

    def _update_metrics(self, clean: tf.Tensor, denoised: tf.Tensor, reconstruction: tf.Tensor, kl: tf.Tensor,
                        kl_weight: Any) -> None:
        self.trackers["loss"].update_state(reconstruction + kl_weight * kl)
        self.trackers["reconstruction_loss"].update_state(reconstruction)
        self.trackers["kl"].update_state(kl)
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta": self.beta, "seed": self.seed}
