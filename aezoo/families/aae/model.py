"""The adversarial autoencoder: reconstruction, then a code discriminator against N(0, I), every batch."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from aezoo.families.aae import DISCRIMINATOR_UNITS
from aezoo.families.ae.model import ConvAutoencoder
from aezoo.models import defaults
from aezoo.models.capabilities import GENERATIVE, LATENT_SPACE
from aezoo.models.latent import stateless_seed

tfd = tfp.distributions

# Validation scores the discriminator against prior draws from this fixed seed, so that val_*
# figures are comparable between epochs and evaluate() gives the same figures twice.
VALIDATION_SEED = 1234


@keras.saving.register_keras_serializable(package="aezoo")
class AdversarialAutoencoder(ConvAutoencoder):
    """The adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey 2016, "Adversarial
    autoencoders"): the plain denoising autoencoder, whose deterministic codes a discriminator pulls
    towards the prior p(z) = N(0, I), so that decoding draws from the prior generates digits.

    Networks: the autoencoder's encoder ``E`` and decoder (see :class:`ConvAutoencoder`), and a code
    discriminator ``D``: an MLP with two ReLU layers of ``discriminator_units`` and one logit, the
    probability that a code was drawn from the prior rather than made by the encoder. Each batch of
    ``(noisy, clean)`` images trains in two phases, as in the paper:

    1. *Reconstruction.* Encoder and decoder take one step of the compiled optimizer on::

           reconstruction = mean over pixels of (clean - decoder(E(noisy)))^2     (pixel_loss="mse")
                            mean over pixels of BCE(clean, decoder(E(noisy)))     (pixel_loss="bce")

    2. *Regularisation*, with codes ``z = E(noisy)`` of the updated encoder and as many draws
       ``z' ~ N(0, I)``. The discriminator takes one step on the binary cross-entropy of telling
       them apart (prior draws labelled 1, codes 0)::

           discriminator_loss = mean of -log D(z') - log(1 - D(z))

       then the encoder, as the generator, takes one step on fooling the updated discriminator (the
       non-saturating form of the GAN loss, Goodfellow et al. 2014)::

           generator_loss = mean of -log D(z)

       At the equilibrium the discriminator cannot tell codes from prior draws: the codes of the
       training images are distributed as N(0, I) (the paper's aggregated posterior matching the prior).

    The discriminator's and the generator's steps use two Adam optimizers the model creates and
    owns (``discriminator_optimizer``, ``generator_optimizer``); ``compile``'s optimizer steps the
    reconstruction phase only. Each optimizer so steps once per batch, which keeps the compiled
    optimizer's step count, and with it a cosine learning-rate schedule, as in every other family
    (stepped twice it would reach the schedule's end half-way), and keeps Adam's moments of the
    encoder's two losses apart. Before every step the adversarial optimizers take the compiled
    optimizer's current learning rate: as the reconstruction phase's steps shrink, so do the
    adversary's, and codes do not keep moving once the decoder has stopped following them. Both are
    attributes of the model, so ``.keras`` files and ``save_weights`` (aezoo's training backup) save
    and restore their state with the model's (they are built with the model).

    Metrics: ``loss`` is the reconstruction loss, the one objective; the two adversarial losses are a
    game (each player's loss rises as the other improves) and are reported beside it
    (``discriminator_loss`` near 2 log 2 = 1.39 and ``generator_loss`` near log 2 = 0.69 when the
    discriminator cannot tell codes from prior draws). Validation scores the discriminator against
    prior draws from a fixed seed. ``denoise``, ``encode`` and ``decode`` are the autoencoder's.

    Args:
        embedding_dim, depth, filters, activation, batch_norm, pixel_loss: as for the autoencoder.
        discriminator_units: units of each of the discriminator's two hidden layers (the paper's
            MNIST discriminator: two of 1,000, for a code of 8 numbers).
        seed: seed of the prior draws in training.
        image_shape: ``(height, width, channels)`` of the images.
    """

    metric_names = ("loss", "reconstruction_loss", "discriminator_loss", "generator_loss", "mse", "psnr")
    capabilities = frozenset({LATENT_SPACE, GENERATIVE})

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        pixel_loss: str = "mse",
        discriminator_units: int = DISCRIMINATOR_UNITS.default,
        seed: int | None = None,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        discriminator_units = DISCRIMINATOR_UNITS.check(discriminator_units)  # before building any network
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, pixel_loss=pixel_loss, image_shape=image_shape, **kwargs)
        self.discriminator_units = discriminator_units
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # float32 even under mixed precision: it reads the encoder's float32 codes, and its logits feed
        # log-probabilities.
        self.discriminator = keras.Sequential([
            keras.layers.Dense(discriminator_units, activation="relu", name="hidden1", dtype="float32"),
            keras.layers.Dense(discriminator_units, activation="relu", name="hidden2", dtype="float32"),
            keras.layers.Dense(1, name="logit", dtype="float32"),
        ], name="discriminator")
        self.discriminator_optimizer = self._adversarial_optimizer("discriminator_optimizer")
        self.generator_optimizer = self._adversarial_optimizer("generator_optimizer")

    def _adversarial_optimizer(self, name: str) -> keras.optimizers.Optimizer:
        optimizer: keras.optimizers.Optimizer = keras.optimizers.Adam(name=name)
        # What compile() does for the model's own optimizer under float16: scale the loss so that
        # small gradients of the float16 encoder do not underflow (float32 and bfloat16 need none).
        if self.dtype_policy.name == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scale")
        return optimizer

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        super().build(input_shape)
        self.discriminator.build((None, self.embedding_dim))
        # Their slots exist before any step, so a saved model's or a backup's state loads into them.
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.generator_optimizer.build(self.encoder.trainable_variables)

    def prior(self) -> Any:
        """p(z) = N(0, I), the distribution the discriminator pulls the codes towards."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros([self.embedding_dim]), scale_diag=tf.ones([self.embedding_dim]))

    def discriminate(self, codes: Any) -> tf.Tensor:
        """``[batch]`` logits of D: how sure the discriminator is that each code was drawn from the prior."""
        return self.discriminator(codes)[:, 0]

    def discriminator_loss(self, drawn: tf.Tensor, codes: tf.Tensor) -> tf.Tensor:
        """``[batch]``: -log D(drawn) - log(1 - D(codes)), pairing each prior draw with a code."""
        # softplus(-l) = -log sigmoid(l) and softplus(l) = -log(1 - sigmoid(l)), without overflow.
        return tf.nn.softplus(-self.discriminate(drawn)) + tf.nn.softplus(self.discriminate(codes))

    def generator_loss(self, codes: tf.Tensor) -> tf.Tensor:
        """``[batch]``: -log D(codes), how surely the discriminator sees the codes as the encoder's."""
        return tf.nn.softplus(-self.discriminate(codes))

    @staticmethod
    def _scaled(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
        # As _loss_for_gradients does for the compiled optimizer: a mean over the global batch across
        # replicas, and this optimizer's own loss scale.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return optimizer.scale_loss(loss / replicas if replicas > 1 else loss)

    @staticmethod
    def _step(optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, scaled_loss: tf.Tensor,
              variables: list[tf.Variable]) -> None:
        optimizer.apply_gradients(zip(tape.gradient(scaled_loss, variables), variables))

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        if not self.optimizer.built:
            # On every trainable variable, the discriminator's included, as training and loading a
            # saved model build it: built on the variables it steps, its state would not load back.
            self.optimizer.build(self.trainable_variables)
        learning_rate = self.optimizer.learning_rate

        # 1. Reconstruction: encoder and decoder, on the compiled optimizer.
        with tf.GradientTape() as tape:
            denoised = self(noisy, training=True)
            reconstruction = self.loss_per_image(clean, denoised)
            scaled_loss = self._loss_for_gradients(tf.reduce_mean(reconstruction))
        self._step(self.optimizer, tape, scaled_loss,
                   self.encoder.trainable_variables + self.decoder.trainable_variables)

        # 2. Regularisation: the discriminator, then the encoder as the generator.
        for optimizer in (self.discriminator_optimizer, self.generator_optimizer):
            optimizer.learning_rate.assign(learning_rate)
        drawn = self.prior().sample(tf.shape(noisy)[0], seed=tf.cast(self.seed_generator.next(), tf.int32))
        with tf.GradientTape() as generator_tape:
            codes = self.encoder(noisy, training=True)
        with tf.GradientTape() as tape:
            discriminator = self.discriminator_loss(drawn, tf.stop_gradient(codes))
            scaled_loss = self._scaled(self.discriminator_optimizer, tf.reduce_mean(discriminator))
        self._step(self.discriminator_optimizer, tape, scaled_loss, self.discriminator.trainable_variables)
        with generator_tape:  # the same tape again: the codes' gradient reaches the encoder
            generator = self.generator_loss(codes)  # against the discriminator just updated
            scaled_loss = self._scaled(self.generator_optimizer, tf.reduce_mean(generator))
        self._step(self.generator_optimizer, generator_tape, scaled_loss, self.encoder.trainable_variables)

        self._update_metrics(clean, denoised, reconstruction, discriminator, generator)
        return self._results()

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        codes = self.encoder(noisy, training=False)
        denoised = self.decoder(codes, training=False)
        drawn = self.prior().sample(tf.shape(noisy)[0], seed=stateless_seed(VALIDATION_SEED))
        self._update_metrics(clean, denoised, self.loss_per_image(clean, denoised),
                             self.discriminator_loss(drawn, codes), self.generator_loss(codes))
        return self._results()

    def _update_metrics(self, clean: tf.Tensor, denoised: tf.Tensor, reconstruction: tf.Tensor,
                        discriminator: tf.Tensor, generator: tf.Tensor) -> None:
        self.trackers["loss"].update_state(reconstruction)
        self.trackers["reconstruction_loss"].update_state(reconstruction)
        self.trackers["discriminator_loss"].update_state(discriminator)
        self.trackers["generator_loss"].update_state(generator)
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "discriminator_units": self.discriminator_units, "seed": self.seed}
