"""InfoVAE with the MMD divergence (the MMD-VAE at its default α = 1)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.families.infovae import ALPHA, MMD_LAMBDA, kl_weight, mmd_weight
from aezoo.families.vae.model import VariationalAutoencoder
from aezoo.families.wae.mmd import VALIDATION_SEED, mmd_to_prior
from aezoo.models import defaults
from aezoo.models.base import summed_bce
from aezoo.models.latent import stateless_seed


@keras.saving.register_keras_serializable(package="aezoo")
class InfoVAE(VariationalAutoencoder):
    """The VAE's networks trained on the InfoVAE objective with the MMD divergence (Zhao, Song & Ermon
    2019, "InfoVAE: balancing learning and inference in variational autoencoders").

    The ELBO's KL term does two things at once: it pulls the *aggregate* posterior q(z), the cloud
    of all images' codes, towards the prior (what sampling from the prior needs), and it pulls every
    image's own posterior q(z|x) towards the prior, which penalises the information the code carries
    about the image. InfoVAE weighs the two apart: the per-image KL by 1 − α, and a divergence
    between q(z) and p(z), here the MMD, by α + λ − 1. The loss of a batch of n images::

        loss = 1/n Σ_i [ reconstruction_i + (1 − α) · KL(q(z|noisy_i) ‖ N(0, I)) ]
               + (α + λ − 1) · MMD²({z_i ~ q(z|noisy_i)}, {z̃_i ~ N(0, I)})

    * reconstruction = ``-log p(clean | z_i)``, the binary cross-entropy against the clean image
      summed over the pixels, for a code z_i drawn from the posterior, as in the VAE;
    * KL: the VAE's closed-form KL of the posterior from the prior, weighted by ``kl_weight``
      (which starts at 1 − α; a KL warm-up ramps it from 0 to 1 − α);
    * MMD²: the unbiased MMD estimate between the batch's sampled codes (draws of the aggregate
      posterior q(z)) and n draws of N(0, I), with the WAE's inverse multiquadratics kernel
      (:mod:`aezoo.families.wae.mmd`). The paper's code uses a Gaussian kernel; the IMQ kernel's
      heavier tails keep a gradient when the two samples are far apart.

    α is the paper's MMD-VAE: α = 1 (no per-image KL: the code may carry as much about the image as
    the reconstruction wants; only the cloud of all codes is held to the prior). λ = 100 is the
    paper's λ = 1000 rescaled to this MMD: both weigh an MMD against a reconstruction summed over
    the pixels, but the paper's MMD has one Gaussian kernel, whose values lie in [0, 1], where this
    one sums seven IMQ kernels, each in [0, 1], so the same two samples give several times the MMD²;
    a tenth of the paper's λ keeps the MMD's weight about the paper's. It brings the batch's MMD
    to the level of its sampling noise within the default ten epochs, as 1000 does, and 1000
    reconstructs worse.
    α = 0 with λ = 1 is the VAE's ELBO; α = 0 with a large λ is the ELBO plus an MMD term.

    The posterior is the VAE's Gaussian (:class:`~aezoo.models.latent.GaussianLatent`), so the
    importance-sampled likelihood applies, with ``posterior``/``prior`` as in the VAE. ``beta`` (the
    KL capability's weight) is 1 − α. Metrics, per image: ``loss``, ``reconstruction_loss``, ``kl``
    (nats), ``mmd`` (MMD² of each batch's codes), ``mse``, ``psnr``. Validation decodes the posterior
    mean, measures the MMD of codes drawn from the posteriors against prior draws (both with fixed
    seeds) and weighs the KL by 1 − α.

    Args:
        embedding_dim, depth, filters, activation, batch_norm, seed: as for the VAE.
        alpha: α in [0, 1]; the KL term weighs 1 − α.
        mmd_lambda: λ >= 1 − α; the MMD term weighs α + λ − 1.
    """

    metric_names = ("loss", "reconstruction_loss", "kl", "mmd", "mse", "psnr")

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        alpha: float = 1.0,
        mmd_lambda: float = 100.0,
        seed: int | None = None,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        # Checked before building any network: a negative weight would reward the divergence it names.
        alpha, mmd_lambda = ALPHA.check(alpha), MMD_LAMBDA.check(mmd_lambda)
        if alpha > 1.0:
            raise ValueError(f"alpha must be at most 1 (the KL term weighs 1 - alpha), got {alpha!r}")
        if mmd_weight(alpha, mmd_lambda) < 0.0:
            raise ValueError(f"mmd_lambda must be at least 1 - alpha = {1.0 - alpha:g} (the MMD term weighs "
                             f"alpha + mmd_lambda - 1), got {mmd_lambda!r}")
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, beta=kl_weight(alpha), seed=seed, image_shape=image_shape, **kwargs)
        self.alpha = alpha
        self.mmd_lambda = mmd_lambda
        self.mmd_weight = mmd_weight(alpha, mmd_lambda)

    def losses_of(self, inputs: Any, clean: tf.Tensor, training: bool,
                  seed: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """The batch's ``denoised`` images and its terms: ``reconstruction`` and ``kl`` ``[batch]``, ``mmd``.

        ``seed``: the ``[2]`` stateless seed of the prior draws; by default training takes the next
        one from the latent layer's generator (after the posterior's draw) and validation a fixed one.
        """
        params = self._posterior_params(inputs, training)
        z, kl = self.latent(params, training=training)
        denoised = self._decode(z, inputs, training)
        if training:
            codes = z  # one draw of each q(z|x): together, a sample of the aggregate posterior q(z)
            seed = tf.cast(self.latent.seed_generator.next(), tf.int32) if seed is None else seed
        else:
            # Validation decodes the posterior mean (deterministic, as the VAE's), but the MMD term is
            # about q(z), not the cloud of means (narrower): it draws each image's code from its
            # posterior, with fixed seeds, so val_mmd estimates the training term and stays comparable
            # between epochs.
            fixed = VALIDATION_SEED if self.seed is None else self.seed
            codes = self.latent.posterior(params).sample(seed=stateless_seed(fixed + 1))
            seed = stateless_seed(fixed) if seed is None else seed
        return {"denoised": denoised, "reconstruction": summed_bce(clean, denoised), "kl": kl,
                "mmd": mmd_to_prior(codes, self.prior(), seed)}

    def objective(self, terms: dict[str, tf.Tensor], kl_weight: Any) -> tf.Tensor:
        """``[batch]``: reconstruction + kl_weight · KL + (α + λ − 1) · MMD of each image (the batch's MMD)."""
        return terms["reconstruction"] + kl_weight * terms["kl"] + self.mmd_weight * terms["mmd"]

    def train_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            terms = self.losses_of(inputs, clean, training=True)
            loss = tf.reduce_mean(self.objective(terms, self.kl_weight))
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self._update_terms(clean, terms, self.kl_weight)
        return self._results()

    def test_step(self, data: tuple[Any, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs, clean = self._unpack(data)
        # Scored with the target KL weight even during a warm-up, so validation losses stay comparable.
        self._update_terms(clean, self.losses_of(inputs, clean, training=False), self.beta)
        return self._results()

    def _update_terms(self, clean: tf.Tensor, terms: dict[str, tf.Tensor], kl_weight: Any) -> None:
        self.trackers["loss"].update_state(self.objective(terms, kl_weight))
        self.trackers["reconstruction_loss"].update_state(terms["reconstruction"])
        self.trackers["kl"].update_state(terms["kl"])
        # Once per image, as in the loss: over an epoch, loss = reconstruction + weights · (kl, mmd).
        self.trackers["mmd"].update_state(tf.fill(tf.shape(terms["kl"]), terms["mmd"]))
        self._update_image_metrics(clean, terms["denoised"])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]  # 1 - alpha: not a constructor argument of its own
        return {**config, "alpha": self.alpha, "mmd_lambda": self.mmd_lambda}
