"""The VAE with a VampPrior: the prior over codes is a mixture of the posteriors of learned pseudo-inputs."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from aezoo.families.vamp import PSEUDO_INPUTS
from aezoo.models import defaults
from aezoo.models.base import EncoderDecoderModel, summed_bce
from aezoo.models.capabilities import GENERATIVE, LATENT_SPACE, LIKELIHOOD
from aezoo.models.latent import GaussianLatent, stateless_seed

tfd = tfp.distributions

# Validation draws its codes from this fixed seed, so val_kl is comparable between epochs.
VALIDATION_SEED = 1234


@keras.saving.register_keras_serializable(package="aezoo")
class VampPriorVAE(EncoderDecoderModel):
    """A VAE whose prior is the VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior").

    The encoder and the Gaussian posterior q(z|x) are the VAE's. The prior is not N(0, I) but the
    *variational mixture of posteriors*: K pseudo-inputs u_1..u_K, images learned with the rest of
    the weights, each encoded into its own posterior, mixed in equal shares::

        p(z) = 1/K sum_k q(z | u_k)

    The prior that maximises the ELBO is the aggregate posterior (1/N) sum_n q(z|x_n); the
    VampPrior approximates it with K << N learned inputs, so the prior is shaped like the codes of
    real images and no KL term pulls them towards a shape they do not have. The loss, per image::

        loss = reconstruction + (log q(z|noisy) - log p(z)),     z ~ q(z|noisy)

    * reconstruction: ``-log p(clean | z)``, the binary cross-entropy summed over the pixels of the
      image decoded from a code drawn from the posterior, as in the VAE;
    * KL(q(z|noisy) || p(z)) has no closed form against a mixture: it is estimated at the drawn
      code, ``log q(z|noisy) - log p(z)`` (unbiased; its gradient reaches the encoder through q and
      through the prior's components, and the pseudo-inputs through the prior).

    Pseudo-inputs are ``sigmoid(logits)``, so they stay images in [0, 1] (the paper clips with a
    hard tanh). They start as grey noise (logits drawn from N(0, 1)) rather than the paper's
    near-constant 0.05 +- 0.01: in a few hundred steps, rather than the paper's thousands of epochs,
    near-identical pseudo-inputs would stay near-identical and the mixture would be one Gaussian.
    In training the pseudo-inputs go through the encoder in the same pass as the batch, so that
    batch normalisation sees the same statistics whether it encodes images or the prior; its moving
    averages, which inference uses for both, are those of that mixed batch.

    ``prior()`` is the mixture as a ``tfd.MixtureSameFamily``: the prior sampler draws from it,
    and the importance-sampled NLL weighs codes by it. There is no ``beta`` and no closed-form KL
    per dimension, so the model declares no KL term. Metrics, in nats per image: ``loss``,
    ``reconstruction_loss`` and ``kl`` (the one-code estimate). Validation decodes the posterior
    mean (deterministic, like the VAE's) and estimates the KL at codes drawn with a fixed seed.

    Args:
        embedding_dim, depth, filters, activation, batch_norm, image_shape: as for the VAE.
        pseudo_inputs: K, the number of pseudo-inputs (mixture components) of the prior.
        seed: seed of the sampling noise in training and of the pseudo-inputs' initial values.
    """

    metric_names = ("loss", "reconstruction_loss", "kl", "mse", "psnr")
    capabilities = frozenset({LATENT_SPACE, GENERATIVE, LIKELIHOOD})

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        pseudo_inputs: int = 30,
        seed: int | None = None,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        pseudo_inputs = PSEUDO_INPUTS.check(pseudo_inputs)  # before building any network
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, **kwargs)
        self.pseudo_inputs = pseudo_inputs
        self.seed = seed
        self.latent = GaussianLatent(self.embedding_dim, seed=seed, name="latent")
        self.pseudo_logits = self.add_weight(
            shape=(pseudo_inputs, *self.image_shape), name="pseudo_input_logits", dtype="float32",
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed))

    def _encoder_outputs(self) -> int:
        return 2 * self.embedding_dim  # a mean and a scale per latent dimension

    def pseudo_images(self) -> tf.Tensor:
        """The K pseudo-inputs, ``[K, *image_shape]`` in [0, 1]."""
        return tf.sigmoid(self.pseudo_logits)

    def _mixture(self, params: tf.Tensor) -> tfd.MixtureSameFamily:
        """The equal-weight mixture of the K posteriors with encoder outputs ``params`` ``[K, 2D]``."""
        components = self.latent.posterior(params)
        return tfd.MixtureSameFamily(tfd.Categorical(logits=tf.zeros([self.pseudo_inputs])), components)

    def _params(self, images: Any, training: bool | None) -> tf.Tensor:
        # float32 even under mixed precision: distributions are built from these numbers.
        return tf.cast(self.encoder(images, training=training), tf.float32)

    def posteriors_and_prior(self, images: Any, training: bool) -> tuple[tfd.MultivariateNormalDiag,
                                                                         tfd.MixtureSameFamily]:
        """``(q(z|images), p(z))`` from one encoder pass over the images and the pseudo-inputs."""
        images = tf.convert_to_tensor(images)
        pseudo = tf.cast(self.pseudo_images(), images.dtype)
        params = self._params(tf.concat([images, pseudo], axis=0), training)
        batch = tf.shape(images)[0]
        return self.latent.posterior(params[:batch]), self._mixture(params[batch:])

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        z, _ = self.latent(self._params(inputs, training), training=training)
        return self.decoder(z, training=training)

    def encode(self, images: Any) -> Any:
        """The posterior mean."""
        return self.posterior(images).mean()

    def posterior(self, images: Any) -> tfd.MultivariateNormalDiag:
        """q(z|images) as a ``tfp.distributions.MultivariateNormalDiag``."""
        return self.latent.posterior(self._params(images, False))

    def prior(self) -> tfd.MixtureSameFamily:
        """The VampPrior 1/K sum_k q(z|u_k), over the pseudo-inputs' posteriors."""
        return self._mixture(self._params(self.pseudo_images(), False))

    def _forward(self, inputs: Any, clean: tf.Tensor, training: bool,
                 seed: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``(denoised, reconstruction, kl)`` for one batch, the KL estimated at one drawn code per image.

        ``seed``: a ``[2]`` stateless seed; by default training takes the next one from the latent
        layer's generator and validation a fixed one. Training decodes the drawn code, validation
        the posterior mean.
        """
        posterior, prior = self.posteriors_and_prior(inputs, training)
        if seed is None:
            seed = (tf.cast(self.latent.seed_generator.next(), tf.int32) if training
                    else stateless_seed(VALIDATION_SEED if self.seed is None else self.seed))
        z = posterior.sample(seed=seed)
        denoised = self.decoder(z if training else posterior.mean(), training=training)
        return denoised, summed_bce(clean, denoised), posterior.log_prob(z) - prior.log_prob(z)

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            denoised, reconstruction, kl = self._forward(inputs, clean, training=True)
            loss = tf.reduce_mean(reconstruction + kl)
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_metrics(clean, denoised, reconstruction, kl)
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        self._update_metrics(clean, *self._forward(inputs, clean, training=False))
        return self._results()

    def _update_metrics(self, clean: tf.Tensor, denoised: tf.Tensor, reconstruction: tf.Tensor,
                        kl: tf.Tensor) -> None:
        self.trackers["loss"].update_state(reconstruction + kl)
        self.trackers["reconstruction_loss"].update_state(reconstruction)
        self.trackers["kl"].update_state(kl)
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pseudo_inputs": self.pseudo_inputs, "seed": self.seed}
