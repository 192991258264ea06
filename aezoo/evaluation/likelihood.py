"""Importance-sampled negative log-likelihood -log p(x) for latent-variable models (the VAE family).

A VAE's ELBO is only a lower bound on log p(x). Drawing K codes z_1..z_K from the encoder's
q(z|x) and weighting each by w_k = p(x|z_k) p(z_k) / q(z_k|x) gives (Burda et al. 2015)

    ELBO    = mean_k log w_k                       (a single-sample bound, averaged over K draws)
    IWAE_K  = log (1/K) sum_k w_k                  (the K-sample importance-weighted bound)
    ELBO <= IWAE_K <= IWAE_{K+1} <= log p(x),      IWAE_K -> log p(x) as K grows,

so ``NLL = -IWAE_K`` is an upper bound on -log p(x) that tightens with K (pythae reports this
with K = 1000 on binarised MNIST). The first inequality holds for every image and every draw
(Jensen on the same weights); the others hold in expectation.

Likelihood. aezoo's models train with a Bernoulli likelihood on *grey levels*:
log p(x|z) = sum over the 784 pixels of x log y + (1 - x) log(1 - y), y the decoder's output,
i.e. minus the binary cross-entropy summed over pixels, with Keras' clipping of y. The NLLs here
use exactly that, so they are comparable between aezoo's models on the same test images; they
are not comparable with pythae's or the literature's binarised-MNIST figures, because those score
0/1 images (a different data distribution, on which a Bernoulli is a normalised density) on the
full 10k test set, while grey levels under a Bernoulli are not a normalised density at all.

Plugging a model in. The estimator needs three callables (:class:`LatentVariableModel`):
``posterior(x)`` -> q(z|x), a ``tfp`` distribution with batch shape [B] and event shape [D];
``prior()`` -> p(z), event shape [D]; ``log_likelihood(x, z)`` -> log p(x|z), shape [B], for a
batch of inputs and one code per input. ``x`` is whatever the model takes (images, or
``(images, labels)`` for a conditional model, for which everything is conditioned on the label and
the result is -log p(x | y)). :func:`latent_variable_model` builds them from a VAE-family model.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from aezoo.evaluation.classifier import as_unit_images
from aezoo.models.capabilities import CONDITIONAL, has

# Importance samples per image. The decoder calls (images x K) are the whole cost, and a larger K
# tightens the bound (the figures: docs/generation.md), so compare models only at equal K; the zoo
# leaderboard uses K = 64.
DEFAULT_SAMPLES = 16
# Decoder calls per batch (images x samples): bounds memory at any K.
MAX_DECODES_PER_BATCH = 2048


@dataclasses.dataclass(frozen=True)
class LatentVariableModel:
    """The three callables the estimator needs (see the module docstring)."""

    posterior: Callable[[Any], Any]
    prior: Callable[[], Any]
    log_likelihood: Callable[[Any, tf.Tensor], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class LikelihoodEstimate:
    """Per-image bounds in nats (``[N]`` arrays) from ``samples`` importance samples per image."""

    elbo: np.ndarray
    iwae_bound: np.ndarray
    samples: int

    @property
    def nll(self) -> np.ndarray:
        """The NLL estimate, -IWAE_K: an upper bound on -log p(x)."""
        return -self.iwae_bound

    def summary(self) -> dict[str, float | int]:
        """Means over the images, for ``metrics.json``."""
        return {"nll": float(np.mean(self.nll)), "iwae_bound": float(np.mean(self.iwae_bound)),
                "elbo": float(np.mean(self.elbo)), "nll_samples": self.samples}


def bernoulli_log_likelihood(images: Any, probabilities: Any) -> tf.Tensor:
    """log p(images | probabilities) per image, ``[B]``: minus the pixel-summed binary cross-entropy.

    The same term the VAE family trains with (Keras' ``binary_crossentropy``, its clipping
    included), over all pixels whatever the image shape.
    """
    probabilities = tf.cast(probabilities, tf.float32)
    batch = tf.shape(probabilities)[0]
    # binary_crossentropy averages over the last axis; a last axis of size 1 makes it per pixel.
    x = tf.reshape(tf.cast(images, tf.float32), [batch, -1, 1])
    y = tf.reshape(probabilities, [batch, -1, 1])
    return -tf.reduce_sum(keras.losses.binary_crossentropy(x, y), axis=1)


def latent_variable_model(model: Any) -> LatentVariableModel:
    """The three callables of a VAE-family model, conditional or not.

    An unconditional model needs ``posterior(images)``, ``latent.prior()`` and
    ``decode(z)``; a conditional one ``posterior(images, labels)`` and
    ``decode(z, labels)``, and takes ``x = (images, labels)``.
    """
    prior = model.prior
    if has(model, CONDITIONAL):
        return LatentVariableModel(
            posterior=lambda x: model.posterior(x[0], x[1]), prior=prior,
            log_likelihood=lambda x, z: bernoulli_log_likelihood(x[0], model.decode(z, x[1])))
    return LatentVariableModel(posterior=model.posterior, prior=prior,
                               log_likelihood=lambda x, z: bernoulli_log_likelihood(x, model.decode(z)))


def check_samples(samples: int) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    return int(samples)


def log_weights(model: LatentVariableModel, x: Any, samples: int, seed: tf.Tensor) -> tf.Tensor:
    """``[samples, B]`` log importance weights log p(x|z) + log p(z) - log q(z|x), z ~ q(z|x)."""
    q = model.posterior(x)
    z = q.sample(samples, seed=seed)  # [K, B, D]; a stateless draw: the seed fixes it
    batch, dim = tf.shape(z)[1], tf.shape(z)[2]
    # Every input repeated K times, in the order of z's flattened [K * B] axis.
    repeated = tf.nest.map_structure(
        lambda t: tf.tile(t, tf.concat([[samples], tf.ones(tf.rank(t) - 1, tf.int32)], 0)), x)
    log_px_z = tf.reshape(model.log_likelihood(repeated, tf.reshape(z, [-1, dim])), [samples, batch])
    return log_px_z + model.prior().log_prob(z) - q.log_prob(z)


def importance_sampled_nll(model: LatentVariableModel | Any, inputs: Any, samples: int = DEFAULT_SAMPLES,
                           seed: int = 0, batch_size: int | None = None) -> LikelihoodEstimate:
    """ELBO, IWAE bound and NLL of each input, from ``samples`` draws of q(z|x) per input.

    Args:
        model: a :class:`LatentVariableModel`, or a VAE-family model (adapted by
            :func:`latent_variable_model`).
        inputs: images ``[N, 28, 28(, 1)]`` (uint8, or float in [0, 1]), or ``(images, labels)``
            for a conditional model; any nest of arrays with a leading N for a custom model.
        samples: K, importance samples per image (>= 1; K = 1 gives IWAE = ELBO).
        seed: fixes the draws, so the estimate is reproducible.
        batch_size: images per batch; default keeps images x samples <= 2048 decoder calls.

    Raises:
        ValueError: ``samples`` < 1.
    """
    samples = check_samples(samples)
    if not isinstance(model, LatentVariableModel):
        inputs = _unit_inputs(inputs, conditional=has(model, CONDITIONAL))
        model = latent_variable_model(model)
    inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)
    count = int(tf.nest.flatten(inputs)[0].shape[0])
    batch_size = batch_size or max(1, MAX_DECODES_PER_BATCH // samples)
    elbo, iwae = [], []
    for index, start in enumerate(range(0, count, batch_size)):
        x = tf.nest.map_structure(lambda t: t[start:start + batch_size], inputs)
        weights = log_weights(model, x, samples, seed=tf.constant([seed, index], tf.int32))
        elbo.append(tf.reduce_mean(weights, axis=0).numpy())
        iwae.append((tf.reduce_logsumexp(weights, axis=0) - math.log(samples)).numpy())
    return LikelihoodEstimate(np.concatenate(elbo).astype(np.float64), np.concatenate(iwae).astype(np.float64), samples)


def _unit_inputs(inputs: Any, conditional: bool) -> Any:
    """Images as float32 ``[N, 28, 28, 1]`` in [0, 1]; labels as int32."""
    if conditional:
        images, labels = inputs
        return as_unit_images(images), np.asarray(labels, np.int32).reshape(-1)
    return as_unit_images(inputs)
