"""The regularised denoising autoencoder (RAE-L2 and RAE-GP)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.families.rae import CODE_WEIGHT, DECODER_PENALTY, PAPER_CODE_WEIGHT, PAPER_L2_WEIGHT, PENALTY_WEIGHT
from aezoo.models import defaults
from aezoo.models.base import EncoderDecoderModel, per_image_mse
from aezoo.models.capabilities import LATENT_SPACE


@keras.saving.register_keras_serializable(package="aezoo")
class RegularizedAutoencoder(EncoderDecoderModel):
    """A deterministic autoencoder regularised instead of made stochastic (Ghosh, Sajjadi, Vergari,
    Black & Schölkopf 2020, "From variational to deterministic autoencoders").

    The paper reads the VAE's noise on the codes as a way of making the decoder smooth, and
    replaces it with explicit regularisers: the encoder maps the noisy image to one code
    ``z = encoder(noisy)`` and the loss, per batch, is::

        loss = mean over images of [ MSE(clean, decoder(z)) + beta * ||z||^2 / 2 ]  +  lambda * R

    * reconstruction: the squared error between the output for the *noisy* image and the *clean*
      image, averaged over the pixels and channels (the paper's l2 reconstruction, and the AE's);
    * ``beta * ||z||^2 / 2`` (``code_weight``): keeps the codes near the origin. Without it the
      encoder could spread them out without bound; it stands where the VAE has its KL term;
    * ``lambda * R`` (``penalty_weight``), the decoder's smoothness, one of two kinds
      (``decoder_penalty``):

      - ``"l2"`` (RAE-L2): ``R = ||decoder weights||^2``, the squared norm of every kernel of the
        decoder (the dense and convolution kernels; not the biases or batch-norm parameters,
        which shift the output without making it steeper in the code). It is added to the loss
        here rather than as Keras kernel regularisers, so the train step states it and the tests
        can check it;
      - ``"gradient"`` (RAE-GP): ``R = mean over images of ||d ||decoder(z)||^2 / dz||^2``, the
        squared gradient of the output's squared norm with respect to the code, as the authors'
        implementation computes the paper's ``||grad_z decoder(z)||^2`` (one extra backward pass
        instead of the whole Jacobian). It costs a second-order gradient in every step.

    The weights default to the paper's MNIST values, beta = 1e-4 and lambda = 1e-7 (RAE-L2;
    RAE-GP: lambda = 0.5e-7), whose reconstruction term is, as here, the squared
    error averaged over the pixels, so they apply unscaled. (The paper writes the code term as
    ``||z||^2 / 2``, as here; the authors' code averages ``z^2`` over its 16 numbers instead, so at
    the same beta this code term weighs up to 8 times more.)

    The model has no prior of its own: it generates through a density fitted to its training codes
    after training (a 10-component Gaussian mixture, the paper's "ex-post density estimation";
    :mod:`aezoo.samplers.mixture`), which it declares by having a latent space and no generative
    capability.

    Metrics: ``loss``; ``reconstruction_loss`` (the MSE term); ``code_penalty`` (``||z||^2 / 2``
    per image, unweighted) and ``decoder_penalty`` (``R``, unweighted); ``mse`` and ``psnr``.

    Args:
        embedding_dim, depth, filters, activation, batch_norm: architecture, as for the autoencoder.
        code_weight: beta, the weight of the code penalty (>= 0).
        decoder_penalty: ``"l2"`` or ``"gradient"``, what ``R`` is.
        penalty_weight: lambda, the weight of ``R`` (>= 0).
    """

    metric_names = ("loss", "reconstruction_loss", "code_penalty", "decoder_penalty", "mse", "psnr")
    capabilities = frozenset({LATENT_SPACE})

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        code_weight: float = PAPER_CODE_WEIGHT,
        decoder_penalty: str = "l2",
        penalty_weight: float = PAPER_L2_WEIGHT,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        # Checked before any network is built.
        code_weight = CODE_WEIGHT.check(code_weight)
        decoder_penalty = DECODER_PENALTY.check(decoder_penalty)
        penalty_weight = PENALTY_WEIGHT.check(penalty_weight)
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, **kwargs)
        self.code_weight = code_weight
        self.decoder_penalty = decoder_penalty
        self.penalty_weight = penalty_weight

    def call(self, images: Any, training: bool | None = None) -> Any:
        return self.decoder(self.encoder(images, training=training), training=training)

    def encode(self, images: Any) -> Any:
        return self.encoder(images, training=False)

    def decoder_kernels(self) -> list[Any]:
        """The decoder's kernels: the weights the L2 penalty holds down."""
        return [weight for weight in self.decoder.trainable_weights if weight.name == "kernel"]

    def weight_penalty(self) -> tf.Tensor:
        """``||decoder kernels||^2``, summed over every entry of every kernel."""
        return tf.add_n([tf.reduce_sum(tf.square(tf.cast(kernel, tf.float32))) for kernel in self.decoder_kernels()])

    def losses_of(self, noisy: Any, clean: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        """The loss and its terms for one batch: ``loss`` (scalar), ``reconstruction`` and ``code``
        (``[batch]``, unweighted), ``decoder`` (``R``, scalar, unweighted) and ``denoised``."""
        z = self.encoder(noisy, training=training)
        if self.decoder_penalty == "gradient":
            # An inner tape for d||decoder(z)||^2 / dz; the caller's tape records it too, so the
            # penalty's own gradient (second order) reaches the weights.
            with tf.GradientTape() as tape:
                tape.watch(z)
                denoised = self.decoder(z, training=training)
                squared_norm = tf.reduce_sum(tf.square(tf.cast(denoised, tf.float32)))
            slope = tape.gradient(squared_norm, z)
            decoder_term = tf.reduce_mean(tf.reduce_sum(tf.square(slope), axis=-1))
        else:
            denoised = self.decoder(z, training=training)
            decoder_term = self.weight_penalty()
        reconstruction = per_image_mse(clean, denoised)
        code = 0.5 * tf.reduce_sum(tf.square(z), axis=-1)
        loss = tf.reduce_mean(reconstruction + self.code_weight * code) + self.penalty_weight * decoder_term
        return {"loss": loss, "reconstruction": reconstruction, "code": code, "decoder": decoder_term,
                "denoised": denoised}

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            terms = self.losses_of(noisy, clean, training=True)
            scaled_loss = self._loss_for_gradients(terms["loss"])
        self._apply_gradients(tape, scaled_loss)
        self._update_metrics(clean, terms)
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        self._update_metrics(clean, self.losses_of(noisy, clean, training=False))
        return self._results()

    def _update_metrics(self, clean: tf.Tensor, terms: dict[str, tf.Tensor]) -> None:
        self.trackers["loss"].update_state(terms["loss"])
        self.trackers["reconstruction_loss"].update_state(terms["reconstruction"])
        self.trackers["code_penalty"].update_state(terms["code"])
        self.trackers["decoder_penalty"].update_state(terms["decoder"])
        self._update_image_metrics(clean, terms["denoised"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "code_weight": self.code_weight, "decoder_penalty": self.decoder_penalty,
                "penalty_weight": self.penalty_weight}
