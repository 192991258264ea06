"""The importance-weighted autoencoder: the VAE trained on a tighter bound."""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

from aezoo.families.iwae import IW_SAMPLES
from aezoo.families.vae.model import VariationalAutoencoder
from aezoo.models.latent import stateless_seed
from aezoo.models import defaults
from aezoo.models.base import summed_bce

# Validation draws its K samples from this fixed seed, so val_* metrics are comparable between epochs.
VALIDATION_SEED = 1234


@keras.saving.register_keras_serializable(package="aezoo")
class ImportanceWeightedAutoencoder(VariationalAutoencoder):
    """The VAE's networks trained on the importance-weighted bound (Burda, Grosse & Salakhutdinov, 2015).

    For each image it draws K codes ``z_1..z_K`` from the posterior q(z|noisy) and weighs each by
    how well it explains the clean image relative to how likely the encoder made it::

        log w_k = log p(clean | z_k) + log p(z_k) - log q(z_k | noisy)
        IWAE_K  = logsumexp_k(log w_k) - log K          (a lower bound on log p(clean | noisy))
        loss    = -IWAE_K

    * ``log p(clean | z_k)``: the reconstruction term, binary cross-entropy summed over pixels,
      as in the VAE;
    * ``log p(z_k) - log q(z_k|noisy)``: a one-sample estimate of ``-KL``; with ``beta != 1`` (or
      during a KL warm-up) it is multiplied by the KL weight;
    * the log-mean-exp over K samples: a code that explains the image well dominates the
      average, so the encoder is no longer punished for spreading q over several good codes.
      IWAE_1 is the ordinary (one-sample) ELBO; IWAE_K grows with K towards log p(x).

    Metrics, in nats per image: ``loss`` (the objective), ``iwae_bound`` (IWAE_K with beta = 1,
    higher is better) and ``elbo`` (the closed-form ELBO ``-(reconstruction + KL)`` of the first
    sample, the VAE's own figure, so the two bounds sit side by side), plus ``reconstruction_loss``
    and ``kl`` as for the VAE. ``denoise``/``encode`` use the posterior mean, like the VAE.

    Args:
        embedding_dim, depth, filters, activation, batch_norm, beta, seed: as for the VAE.
        iw_samples: K, the number of codes drawn per image (>= 1; K = 1 is the VAE's bound).
    """

    metric_names = ("loss", "iwae_bound", "elbo", "reconstruction_loss", "kl", "mse", "psnr")

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        beta: float = 1.0,
        seed: int | None = None,
        iw_samples: int = 5,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        iw_samples = IW_SAMPLES.check(iw_samples)  # before building any network
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, beta=beta, seed=seed, **kwargs)
        self.iw_samples = iw_samples

    def log_weights(self, inputs: Any, clean: tf.Tensor, training: bool,
                    seed: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """The K importance weights' parts for one batch, each ``[K, batch]`` in nats.

        Returns ``reconstruction`` (``-log p(clean|z_k)``), ``log_ratio``
        (``log q(z_k|x) - log p(z_k)``), ``kl`` (closed form, ``[batch]``) and ``first`` (the
        image decoded from ``z_1``). ``seed`` is a ``[2]`` stateless seed; by default training
        takes the next one from the latent layer's generator and validation a fixed one.
        """
        q = self.latent.posterior(self._posterior_params(inputs, training))
        if seed is None:
            seed = (tf.cast(self.latent.seed_generator.next(), tf.int32) if training
                    else stateless_seed(VALIDATION_SEED if self.seed is None else self.seed))
        k = self.iw_samples
        z = q.sample(k, seed=seed)  # [K, batch, d]
        prior = self.latent.prior()
        log_ratio = q.log_prob(z) - prior.log_prob(z)
        # Decode all K * batch codes in one pass; the conditioning inputs repeat K times to match.
        flat_z = tf.reshape(z, [-1, self.embedding_dim])
        repeated = tf.nest.map_structure(lambda t: tf.concat([t] * k, axis=0), inputs)
        decoded = self._decode(flat_z, repeated, training)
        batch = tf.shape(log_ratio)[1]
        decoded = tf.reshape(decoded, tf.concat([[k, batch], tf.shape(decoded)[1:]], axis=0))
        reconstruction = summed_bce(tf.broadcast_to(clean, tf.shape(decoded)), decoded)
        return {"reconstruction": reconstruction, "log_ratio": log_ratio,
                "kl": self.latent.kl_divergence(q), "first": decoded[0]}

    def bounds(self, parts: dict[str, tf.Tensor], kl_weight: Any = 1.0) -> tuple[tf.Tensor, tf.Tensor]:
        """``(iwae_bound, elbo)`` of each image, ``[batch]`` in nats, from :meth:`log_weights`."""
        log_w = -(parts["reconstruction"] + kl_weight * parts["log_ratio"])
        iwae = tf.reduce_logsumexp(log_w, axis=0) - math.log(self.iw_samples)
        elbo = -(parts["reconstruction"][0] + kl_weight * parts["kl"])
        return iwae, elbo

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            parts = self.log_weights(inputs, clean, training=True)
            objective, _ = self.bounds(parts, self.kl_weight)
            loss = -tf.reduce_mean(objective)
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_bounds(parts, -objective, clean, parts["first"])
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        parts = self.log_weights(inputs, clean, training=False)
        objective, _ = self.bounds(parts, self.beta)
        self._update_bounds(parts, -objective, clean, self(inputs, training=False))
        return self._results()

    def _update_bounds(self, parts: dict[str, tf.Tensor], loss: tf.Tensor, clean: tf.Tensor,
                       denoised: tf.Tensor) -> None:
        iwae, elbo = self.bounds(parts)
        self.trackers["loss"].update_state(loss)
        self.trackers["iwae_bound"].update_state(iwae)
        self.trackers["elbo"].update_state(elbo)
        self.trackers["reconstruction_loss"].update_state(parts["reconstruction"][0])
        self.trackers["kl"].update_state(parts["kl"])
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "iw_samples": self.iw_samples}
