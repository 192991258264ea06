"""The β-TC-VAE: the VAE trained with its KL term split in three, the total correlation weighted by β."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from aezoo.families.btcvae import DATASET_SIZE, TC_BETA
from aezoo.families.vae.model import VariationalAutoencoder
from aezoo.models import defaults
from aezoo.models.base import summed_bce
from aezoo.models.latent import stateless_seed

tfd = tfp.distributions

# Validation draws its codes from this fixed seed, so the val_ estimates are comparable between epochs.
VALIDATION_SEED = 1234


@dataclasses.dataclass(frozen=True)
class KLTerms:
    """The three parts of the KL term of each image, ``[batch]`` in nats."""

    mutual_information: tf.Tensor  # log q(z|x) - log q(z)
    total_correlation: tf.Tensor  # log q(z) - sum_j log q(z_j)
    dimensionwise_kl: tf.Tensor  # sum_j log q(z_j) - log p(z)

    @property
    def total(self) -> tf.Tensor:
        """Their sum, log q(z|x) - log p(z): the one-sample estimate of KL(q(z|x) || p(z))."""
        return self.mutual_information + self.total_correlation + self.dimensionwise_kl


def decompose_kl(z: tf.Tensor, log_q_own: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor,
                 log_weight: tf.Tensor | float) -> KLTerms:
    """Split ``log q(z_i|x_i) - log p(z_i)`` of each code ``z_i`` into the three terms.

    The aggregate posterior q(z) = E_x q(z|x) and its marginals q(z_j) are estimated by a weighted
    sum over the Gaussian posteriors ``N(loc, scale)`` of a set of images (the batch, in training):
    ``log q(z_i) ≈ logsumexp_k log q(z_i|x_k) + log_weight``, and the same per dimension for the
    marginals. Minibatch-weighted sampling (the paper's estimator) uses a batch of M images out of N
    with ``log_weight = -log(N·M)``; a whole set of n images, ``-log n``.

    Args:
        z: ``[M, D]`` codes, each drawn from its own image's posterior.
        log_q_own: ``[M]`` ``log q(z_i|x_i)`` of each code under its own posterior.
        loc, scale: ``[K, D]`` the posteriors that make up q(z).
        log_weight: the log-weight of each posterior in q(z).
    """
    per_dimension = tfd.Normal(loc[tf.newaxis], scale[tf.newaxis]).log_prob(z[:, tf.newaxis])  # [M, K, D]
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(per_dimension, axis=-1), axis=1) + log_weight
    log_marginals = tf.reduce_sum(tf.reduce_logsumexp(per_dimension, axis=1) + log_weight, axis=-1)
    log_pz = tf.reduce_sum(tfd.Normal(0.0, 1.0).log_prob(z), axis=-1)
    return KLTerms(log_q_own - log_qz, log_qz - log_marginals, log_marginals - log_pz)


def aggregate_kl_terms(model: Any, images: Any, seed: int = 0, rows: int = 250) -> dict[str, float]:
    """The three terms, in nats per image, with q(z) the aggregate posterior of the whole set ``images``.

    For any model whose ``posterior(images)`` is a diagonal Gaussian and whose prior is N(0, I) (the
    VAE lineage, unconditional), so that models can be compared on the same images: one code per
    image is drawn from its posterior (``seed`` fixes the draws), and q(z) is the equal mixture of
    the n posteriors (``log_weight = -log n``), as the authors' evaluation over a whole data set
    does. With n images the mutual information cannot exceed log n. Codes are scored ``rows`` at a
    time against all n posteriors.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    posteriors = [model.posterior(images[start:start + rows]) for start in range(0, int(images.shape[0]), rows)]
    loc = tf.concat([tf.cast(q.mean(), tf.float32) for q in posteriors], axis=0)
    scale = tf.concat([tf.cast(q.stddev(), tf.float32) for q in posteriors], axis=0)
    z = loc + scale * tf.random.stateless_normal(tf.shape(loc), stateless_seed(seed))
    log_q_own = tf.reduce_sum(tfd.Normal(loc, scale).log_prob(z), axis=-1)
    count = int(loc.shape[0])
    parts = [decompose_kl(z[start:start + rows], log_q_own[start:start + rows], loc, scale, -math.log(count))
             for start in range(0, count, rows)]
    return {name: float(tf.reduce_mean(tf.concat([getattr(part, name) for part in parts], axis=0)))
            for name in ("mutual_information", "total_correlation", "dimensionwise_kl")}


@keras.saving.register_keras_serializable(package="aezoo")
class BetaTCVAE(VariationalAutoencoder):
    """The β-TC-VAE (Chen, Li, Grosse & Duvenaud 2018, "Isolating sources of disentanglement in VAEs").

    The VAE's networks and Gaussian posterior q(z|x), trained on the ELBO with its KL term split
    into three parts (the aggregate posterior q(z) = E_x q(z|x), with marginals q(z_j))::

        KL(q(z|x) || p(z)) averaged over x
            = I_q(x; z)                  index-code mutual information: how much the code says about the image
            + KL(q(z) || prod_j q(z_j))  total correlation: how far the code's dimensions are from independent
            + sum_j KL(q(z_j) || p(z_j)) dimension-wise KL: how far each dimension's marginal is from N(0, 1)

        loss = reconstruction + alpha * MI + beta * TC + gamma * dimension-wise KL,   alpha = gamma = 1

    * reconstruction: ``-log p(clean | z)``, the binary cross-entropy summed over the pixels of the
      image decoded from a code drawn from q(z|noisy), as in the VAE;
    * MI, TC, dimension-wise KL: per image, ``log q(z|x) - log q(z)``, ``log q(z) - sum_j
      log q(z_j)`` and ``sum_j log q(z_j) - log p(z)`` at the drawn code, with q(z) and q(z_j)
      estimated by *minibatch-weighted sampling* (MWS, the paper's estimator): ``log q(z_i) ≈
      logsumexp_k log q(z_i | x_k) - log(N·M)`` over the M images of the batch, N the number of
      training images (``dataset_size``). The three add up to ``log q(z|x) - log p(z)``, the
      one-sample estimate of the KL, so beta = 1 is the plain ELBO. N enters only as constants
      (``+log NM`` in MI, ``+(D-1) log NM`` in TC, ``-D log NM`` in the dimension-wise KL): it
      shifts the reported terms, never the gradient; the default is the embedded data's 3600
      training digits.
    * beta > 1 penalises only the total correlation, the part of the KL that ties dimensions
      together, and leaves the information the code carries (MI) alone: the paper's remedy for
      the β-VAE, whose heavier weight on the whole KL also squeezes MI out and blurs the images.

    ``kl_weight`` (see the VAE) is the weight actually applied to the total correlation: it starts
    at beta, and a KL warm-up ramps it from 0 to beta, as the authors' ``--beta-anneal`` does; the
    mutual information and the dimension-wise KL keep weight 1.

    Metrics, in nats per image: ``loss``, ``reconstruction_loss``, ``kl`` (the closed-form KL, the
    VAE's figure), ``mutual_information``, ``total_correlation``, ``dimensionwise_kl`` (the MWS
    estimates, their sum estimating ``kl``). Validation decodes the posterior mean and estimates the
    three terms at codes drawn with a fixed seed, so its figures are comparable between epochs.

    Args:
        embedding_dim, depth, filters, activation, batch_norm, seed, image_shape: as for the VAE.
        beta: weight of the total-correlation term (>= 0; the authors' runs use 6).
        dataset_size: N, the number of training images, for the MWS estimate.
    """

    metric_names = ("loss", "reconstruction_loss", "kl", "mutual_information", "total_correlation",
                    "dimensionwise_kl", "mse", "psnr")

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        beta: float = 6.0,
        seed: int | None = None,
        dataset_size: int = 3600,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        beta, dataset_size = TC_BETA.check(beta), DATASET_SIZE.check(dataset_size)  # before building any network
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, beta=beta, seed=seed, image_shape=image_shape, **kwargs)
        self.dataset_size = dataset_size

    def kl_terms(self, posterior: tfd.MultivariateNormalDiag, z: tf.Tensor) -> KLTerms:
        """The three terms at codes ``z`` ``[M, D]`` drawn from ``posterior`` (one per image), by MWS."""
        batch = tf.cast(tf.shape(z)[0], tf.float32)
        log_weight = -tf.math.log(float(self.dataset_size) * batch)
        return decompose_kl(z, posterior.log_prob(z), posterior.mean(), posterior.stddev(), log_weight)

    def objective(self, reconstruction: tf.Tensor, terms: KLTerms, tc_weight: Any) -> tf.Tensor:
        """``reconstruction + MI + tc_weight * TC + dimension-wise KL`` of each image."""
        return (reconstruction + terms.mutual_information + tc_weight * terms.total_correlation
                + terms.dimensionwise_kl)

    def decomposed(self, inputs: Any, clean: tf.Tensor, training: bool,
                   seed: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, KLTerms, tf.Tensor]:
        """``(denoised, reconstruction, terms, kl)`` of one batch.

        One code per image is drawn from q(z|noisy) (``seed``: a ``[2]`` stateless seed; by default
        training takes the next one from the latent layer's generator, validation a fixed one).
        Training decodes it; validation decodes the posterior mean, as the VAE does.
        """
        # float32 even under mixed precision: densities of 128 x 128 code pairs are summed in logs.
        posterior = self.latent.posterior(tf.cast(self._posterior_params(inputs, training), tf.float32))
        if seed is None:
            seed = (tf.cast(self.latent.seed_generator.next(), tf.int32) if training
                    else stateless_seed(VALIDATION_SEED if self.seed is None else self.seed))
        z = posterior.sample(seed=seed)
        denoised = self._decode(z if training else posterior.mean(), inputs, training)
        return (denoised, summed_bce(clean, denoised), self.kl_terms(posterior, z),
                self.latent.kl_divergence(posterior))

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            denoised, reconstruction, terms, kl = self.decomposed(inputs, clean, training=True)
            loss = tf.reduce_mean(self.objective(reconstruction, terms, self.kl_weight))
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_terms(clean, denoised, reconstruction, terms, kl, self.kl_weight)
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        denoised, reconstruction, terms, kl = self.decomposed(inputs, clean, training=False)
        # Scored with the target beta even during a warm-up, so validation losses stay comparable.
        self._update_terms(clean, denoised, reconstruction, terms, kl, self.beta)
        return self._results()

    def _update_terms(self, clean: tf.Tensor, denoised: tf.Tensor, reconstruction: tf.Tensor, terms: KLTerms,
                      kl: tf.Tensor, tc_weight: Any) -> None:
        self.trackers["loss"].update_state(self.objective(reconstruction, terms, tc_weight))
        self.trackers["reconstruction_loss"].update_state(reconstruction)
        self.trackers["kl"].update_state(kl)
        self.trackers["mutual_information"].update_state(terms.mutual_information)
        self.trackers["total_correlation"].update_state(terms.total_correlation)
        self.trackers["dimensionwise_kl"].update_state(terms.dimensionwise_kl)
        self._update_image_metrics(clean, denoised)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dataset_size": self.dataset_size}
