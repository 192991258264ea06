"""The VAE's stochastic layer, built on ``tfp.distributions``.

Why not ``tfp.layers``? TFP's probabilistic layers (``IndependentNormal``,
``KLDivergenceAddLoss``, ...) are written for ``tf_keras`` (Keras 2) and do not work inside
Keras 3 models, and TFP does not plan to port them. The distributions themselves are plain
TensorFlow and work anywhere, so this small Keras 3 layer wraps exactly what the VAE needs:
build the posterior q(z|x), draw from it with the reparameterisation trick, and measure its
KL divergence from the prior.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from aezoo.models.validation import check_non_negative, check_positive_int

tfd = tfp.distributions


def stateless_seed(seed: Any) -> tf.Tensor:
    """A ``[2]`` int32 seed for TF's stateless random ops from one integer (Python or tensor)."""
    return tf.stack([tf.constant(0, tf.int32), tf.cast(seed, tf.int32)])


@keras.saving.register_keras_serializable(package="aezoo")
class GaussianLatent(keras.layers.Layer):
    """Encoder outputs -> diagonal Gaussian posterior -> latent code ``z`` and its KL divergence.

    The encoder emits ``2 * latent_dim`` numbers per image. The first half is the posterior mean
    ``mu``; the second half, passed through softplus (plus a small floor), is the standard
    deviation ``sigma`` -- softplus keeps it positive without the overflow risk of ``exp``.
    Together they define ``q(z|x) = N(mu, diag(sigma^2))``, the encoder's belief about where the
    image lives in latent space.

    Sampling (training): ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``. This is the
    *reparameterisation trick*: the randomness sits in ``eps``, which does not depend on the
    weights, so gradients flow through ``mu`` and ``sigma`` as through any other layer.
    ``MultivariateNormalDiag.sample`` computes exactly this (TFP marks the distribution
    ``FULLY_REPARAMETERIZED``); its seed comes from a Keras ``SeedGenerator`` so runs reproduce.

    Inference (``training=False``): ``z = mu``, the most likely code, so denoising is deterministic.

    KL term: ``KL(q(z|x) || p(z))`` with the prior ``p(z) = N(0, I)``, computed in closed form by
    ``tfd.kl_divergence``: per dimension ``0.5 * (mu^2 + sigma^2 - 1) - log(sigma)``, summed.
    It pulls every posterior towards the prior, which keeps the latent space compact and without
    holes, so that decoding prior samples or points between two codes gives plausible digits.

    Args:
        latent_dim: size of ``z``.
        min_scale: floor added to ``sigma`` for numerical safety.
        seed: seed of the sampling noise.

    Call returns ``(z, kl)``: ``z`` of shape ``[batch, latent_dim]``, ``kl`` of shape ``[batch]``.
    """

    def __init__(self, latent_dim: int, min_scale: float = 1e-4, seed: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")  # distributions stay in float32 under mixed precision
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.min_scale = check_non_negative("min_scale", min_scale)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def posterior(self, params: Any) -> tfd.MultivariateNormalDiag:
        """q(z|x) from the encoder's ``[batch, 2 * latent_dim]`` output."""
        params = tf.convert_to_tensor(params)
        if params.shape[-1] is not None and params.shape[-1] != 2 * self.latent_dim:
            raise ValueError(
                f"GaussianLatent(latent_dim={self.latent_dim}) needs {2 * self.latent_dim} encoder outputs "
                f"(a mean and a scale per dimension), got {params.shape[-1]}")
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.nn.softplus(raw_scale) + self.min_scale)

    def prior(self) -> tfd.MultivariateNormalDiag:
        """p(z) = N(0, I)."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros([self.latent_dim]), scale_diag=tf.ones([self.latent_dim]))

    def kl_divergence(self, q: tfd.MultivariateNormalDiag) -> tf.Tensor:
        """``[batch]`` KL(q || N(0, I)) in nats, in closed form."""
        return tfd.kl_divergence(q, self.prior())

    def kl_per_dimension(self, params: Any) -> tf.Tensor:
        """``[batch, latent_dim]`` KL of each coordinate; its batch mean shows which dimensions are in use."""
        q = self.posterior(params)
        return tfd.kl_divergence(tfd.Normal(q.mean(), q.stddev()), tfd.Normal(0.0, 1.0))

    def call(self, params: Any, training: bool | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        q = self.posterior(params)
        if training:
            # A stateless draw seeded by the layer's SeedGenerator: reproducible, new every step.
            z = q.sample(seed=tf.cast(self.seed_generator.next(), tf.int32))
        else:
            z = q.mean()
        kl = self.kl_divergence(q)
        return z, kl

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[tuple[int | None, int], tuple[int | None]]:
        return (input_shape[0], self.latent_dim), (input_shape[0],)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "latent_dim": self.latent_dim, "min_scale": self.min_scale, "seed": self.seed}
