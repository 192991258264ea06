"""The two-stage VAE sampler: a small second VAE fitted to the training codes after training.

Dai & Wipf (2019, "Diagnosing and enhancing VAE models") observe that a VAE's posterior codes do
not fill its prior N(0, I): the aggregate of the codes of the training images is some other
distribution, and decoding prior draws lands where the decoder never learned to draw. Their
remedy is a second VAE, trained on the first model's codes, whose own latent space u does match
N(0, I): draw u ~ N(0, I), decode it with the second VAE into a code z, and decode z with the
first model into an image. The second VAE's decoder has a learned output scale γ (shared by
all dimensions); γ shrinking during training is what lets the second stage fit codes that lie
on a lower-dimensional set.

Here the second VAE is :class:`SecondStageVAE`: dense layers of a few hundred units on each
side, a latent space as large as the codes (as in the paper), trained with ``fit`` on the first
model's codes of the clean training images (the posterior means, for a VAE). It applies to any
continuous, unconditional latent space, deterministic autoencoders included. It is saved as a
``.keras`` file beside the model and checked on load; drawing is TensorFlow ops on its weights,
so the SavedModel's ``sample`` signature draws the same codes as aezoo for the same seed.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aezoo.errors import UsageError
from aezoo.models.adapter import ModelAdapter
from aezoo.models.capabilities import CODE_GRID, CONDITIONAL, LATENT_SPACE
from aezoo.models.latent import GaussianLatent, stateless_seed
from aezoo.models.validation import check_positive_int
from aezoo.samplers.base import NetworkSampler

logger = logging.getLogger("aezoo")

# The second stage is small and fast: 3600 ten-number codes, 57 steps an epoch.
EPOCHS = 60
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
UNITS = 256
# Standardising a code dimension that never varies divides by this instead of by zero.
MIN_CODE_SCALE = 1e-6


@keras.saving.register_keras_serializable(package="aezoo")
class SecondStageVAE(keras.Model):
    """A dense VAE over codes ``z`` of ``code_dim`` numbers, with a latent ``u`` of as many.

    The codes are first standardised per dimension (``code_mean``, ``code_scale``, set from the
    training codes by :meth:`adapt` and saved with the weights), so that codes of any scale (a
    plain autoencoder's can be far from unit size) meet the network at unit size. Then, per code::

        loss = ||x - mu(u)||^2 / (2 gamma^2) + code_dim * log(gamma) + code_dim * log(2 pi) / 2
               + KL(q(u|x) || N(0, I))

    with ``x`` the standardised code, ``u ~ q(u|x)`` drawn with the reparameterisation trick,
    ``mu`` the decoder and ``gamma = exp(log_gamma)`` a learned scalar: the negative ELBO of a
    Gaussian decoder whose variance is learned (Dai & Wipf 2019). :meth:`sample` draws
    ``u ~ N(0, I)`` and returns ``mu(u)`` mapped back to the codes' scale.

    Args:
        code_dim: numbers per code (the first model's embedding size).
        units: units of each of the two hidden layers of the encoder and of the decoder.
        seed: seed of the sampling noise in training.
    """

    def __init__(self, code_dim: int = 10, units: int = UNITS, seed: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")  # a few thousand numbers: mixed precision would buy nothing
        super().__init__(**kwargs)
        self.code_dim = check_positive_int("code_dim", code_dim)
        self.units = check_positive_int("units", units)
        self.seed = seed
        self.encoder = self._network(2 * self.code_dim, "encoder")  # a mean and a raw scale per dimension
        self.decoder = self._network(self.code_dim, "decoder")
        self.latent = GaussianLatent(self.code_dim, seed=seed, name="latent")
        self.code_mean = self.add_weight(shape=(self.code_dim,), initializer="zeros", trainable=False,
                                         name="code_mean")
        self.code_scale = self.add_weight(shape=(self.code_dim,), initializer="ones", trainable=False,
                                          name="code_scale")
        self.log_gamma = self.add_weight(shape=(), initializer="zeros", name="log_gamma")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl")}
        self.built = True

    def _network(self, outputs: int, name: str) -> keras.Sequential:
        # float32 layers too: the model's own dtype does not reach layers made under a mixed global policy.
        network = keras.Sequential([keras.layers.Dense(self.units, activation="relu", dtype="float32"),
                                    keras.layers.Dense(self.units, activation="relu", dtype="float32"),
                                    keras.layers.Dense(outputs, dtype="float32")], name=name)
        network.build((None, self.code_dim))
        return network

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def adapt(self, codes: Any) -> None:
        """Set the standardisation from the training codes ``[N, code_dim]``."""
        codes = np.asarray(codes, np.float64)
        self.code_mean.assign(codes.mean(axis=0).astype(np.float32))
        self.code_scale.assign(np.maximum(codes.std(axis=0), MIN_CODE_SCALE).astype(np.float32))

    def standardise(self, codes: Any) -> tf.Tensor:
        return (tf.convert_to_tensor(codes, tf.float32) - self.code_mean) / self.code_scale

    def call(self, codes: Any, training: bool | None = None) -> tf.Tensor:
        """The codes reconstructed through the second stage (the posterior mean of u when not training)."""
        u, _ = self.latent(self.encoder(self.standardise(codes)), training=training)
        return self.decoder(u) * self.code_scale + self.code_mean

    def losses_of(self, codes: Any, training: bool) -> dict[str, tf.Tensor]:
        """``reconstruction`` (the Gaussian -log p(x|u)) and ``kl`` of each code, ``[batch]``, in nats."""
        x = self.standardise(codes)
        u, kl = self.latent(self.encoder(x), training=training)
        squared_error = tf.reduce_sum(tf.square(x - self.decoder(u)), axis=-1)
        reconstruction = (squared_error / (2.0 * tf.exp(2.0 * self.log_gamma))
                          + self.code_dim * (self.log_gamma + 0.5 * math.log(2.0 * math.pi)))
        return {"reconstruction": reconstruction, "kl": kl}

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            terms = self.losses_of(codes, training=True)
            loss = tf.reduce_mean(terms["reconstruction"] + terms["kl"])
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update(terms)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._update(self.losses_of(codes, training=False))

    def _update(self, terms: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        self.trackers["loss"].update_state(terms["reconstruction"] + terms["kl"])
        self.trackers["reconstruction"].update_state(terms["reconstruction"])
        self.trackers["kl"].update_state(terms["kl"])
        return {**{name: tracker.result() for name, tracker in self.trackers.items()},
                "gamma": tf.exp(self.log_gamma)}

    def sample(self, n: Any, seed: Any = 0) -> tf.Tensor:
        """``n`` codes ``[n, code_dim]``: ``mu(u)`` for ``u ~ N(0, I)``, on the codes' scale; TensorFlow ops
        only (``n`` and ``seed`` may be tensors), the same codes for the same seed."""
        u = tf.random.stateless_normal(tf.stack([tf.cast(n, tf.int32), self.code_dim]), stateless_seed(seed))
        return self.decoder(u, training=False) * self.code_scale + self.code_mean

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "code_dim": self.code_dim, "units": self.units, "seed": self.seed}


class TwoStageSampler(NetworkSampler):
    """Codes drawn by a second VAE fitted to the model's training codes, decoded by the model.

    Args:
        model: a model with a continuous, unconditional latent space.
        epochs, units: the second VAE's training epochs and hidden units (default: :data:`EPOCHS`,
            :data:`UNITS`, read when the sampler is made).
    """

    name = "two_stage"
    summary = "codes drawn by a second, small VAE fitted to the training codes (Dai & Wipf 2019)"
    requires = frozenset({LATENT_SPACE})
    excludes = frozenset({CONDITIONAL, CODE_GRID})
    needs_fit = True
    network_title = "the second-stage VAE"

    def __init__(self, model: Any, epochs: int | None = None, units: int | None = None) -> None:
        super().__init__(model)
        self.epochs = check_positive_int("epochs", EPOCHS if epochs is None else epochs)
        self.units = check_positive_int("units", UNITS if units is None else units)

    @property
    def code_dim(self) -> int:
        return int(np.prod(self.model.embedding_shape))

    def fit(self, train_images: Any, seed: int = 0, verbose: int = 0) -> "TwoStageSampler":
        """Train the second VAE with ``fit`` on the model's codes of the clean training images."""
        return self.fit_codes(ModelAdapter(self.model).encode(train_images), seed=seed, verbose=verbose)

    def fit_codes(self, codes: Any, seed: int = 0, verbose: int = 0) -> "TwoStageSampler":
        """Train the second VAE on codes ``[N, *embedding_shape]`` directly."""
        codes = np.asarray(codes, np.float32).reshape(len(codes), -1)
        if codes.shape[1] != self.code_dim or len(codes) < 2:
            raise ValueError(f"need codes [N >= 2, {self.code_dim}], got shape {list(codes.shape)}")
        keras.utils.set_random_seed(seed)  # initialisation and fit's shuffling
        network = SecondStageVAE(code_dim=self.code_dim, units=self.units, seed=seed, name="second_stage")
        network.adapt(codes)
        steps_per_epoch = -(-len(codes) // BATCH_SIZE)
        network.compile(optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=self.epochs * steps_per_epoch)))
        # One endless shuffled stream rather than fit(arrays): each epoch over arrays sets up a new
        # pipeline, which costs more than the epoch's few dozen steps on small codes (measured:
        # 0.07-0.2 s an epoch of one step against 0.01 s for six steps of the stream).
        stream = (tf.data.Dataset.from_tensor_slices(codes).shuffle(len(codes), seed=seed).repeat()
                  .batch(BATCH_SIZE))
        start = time.perf_counter()
        history = network.fit(stream, epochs=self.epochs, steps_per_epoch=steps_per_epoch, shuffle=False,
                              verbose=verbose).history
        logger.info("Second-stage VAE: %d epochs in %.1f s, loss %.2f -> %.2f nats per code, gamma %.3f",
                    self.epochs, time.perf_counter() - start, history["loss"][0], history["loss"][-1],
                    history["gamma"][-1])
        self.network = network
        return self

    def sample_codes(self, n: Any, seed: Any, labels: Any = None) -> Any:
        codes = self.fitted_network().sample(n, seed)
        return tf.reshape(codes, tf.concat([[tf.cast(n, tf.int32)], list(self.model.embedding_shape)], axis=0))

    @classmethod
    def file_name(cls) -> str:
        return "sampler_two_stage.keras"

    @classmethod
    def network_class(cls) -> type:
        return SecondStageVAE

    def accept(self, network: Any, path: Path) -> None:
        if network.code_dim != self.code_dim:
            raise UsageError(f"{path}: a second-stage VAE over codes of {network.code_dim} numbers does not fit this "
                             f"model, whose codes have {self.code_dim}")
        self.network, self.units = network, network.units


__all__ = ["SecondStageVAE", "TwoStageSampler"]
