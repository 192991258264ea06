"""What the AE and the VAE share: an encoder, a decoder, image-quality metrics and the public API."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.models.decoder import Decoder
from aezoo.models.encoder import Encoder
from aezoo.models.validation import check_activation, check_positive_int

IMAGE_SHAPE = (28, 28, 1)


def per_image_mse(clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
    """Mean squared error of each image, shape ``[batch]``."""
    return tf.reduce_mean(tf.square(clean - denoised), axis=[1, 2, 3])


def per_image_psnr(clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
    """Peak signal-to-noise ratio of each image in dB (peak 1.0), ``10 log10(1 / MSE)``.

    Averaged over images it is what denoising papers report; +3 dB halves the squared error.
    The MSE is floored at 1e-10 so a perfect image scores 100 dB instead of infinity.
    """
    return -10.0 * tf.math.log(tf.maximum(per_image_mse(clean, denoised), 1e-10)) / tf.math.log(10.0)


class DenoisingAutoencoderBase(keras.Model):
    """Base of aezoo's models: builds encoder and decoder, tracks metrics, exposes encode/decode.

    Subclasses say how many numbers the encoder must output (``_encoder_outputs``), and implement
    ``encode``, ``call``, ``train_step`` and ``test_step``. Metrics are ``keras.metrics.Mean``
    trackers listed by the ``metrics`` property, so Keras resets them at the start of every epoch
    and of every ``evaluate``.
    """

    metric_names: tuple[str, ...] = ("loss", "mse", "psnr")

    def __init__(self, embedding_dim: int = 10, depth: int = 1, filters: int = 32,
                 activation: str = "relu", batch_norm: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.depth = check_positive_int("depth", depth)
        self.filters = check_positive_int("filters", filters)
        self.activation = check_activation(activation)
        self.batch_norm = bool(batch_norm)
        shared = dict(depth=self.depth, filters=self.filters, activation=self.activation, batch_norm=self.batch_norm)
        self.encoder = Encoder(embedding_dim=self._encoder_outputs(), name="encoder", **shared)
        self.decoder = Decoder(embedding_dim=self.embedding_dim, name="decoder", **shared)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    def _encoder_outputs(self) -> int:
        return self.embedding_dim

    def build(self, input_shape: tuple[int | None, ...] = (None, *IMAGE_SHAPE)) -> None:
        self.encoder.build(input_shape)
        self.decoder.build((input_shape[0], self.embedding_dim))
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def decode(self, embeddings: Any) -> Any:
        """Images ``[batch, 28, 28, 1]`` in [0, 1] from embeddings ``[batch, embedding_dim]``."""
        return self.decoder(embeddings, training=False)

    def encode(self, images: Any) -> Any:
        """Embeddings ``[batch, embedding_dim]`` of images ``[batch, 28, 28, 1]`` in [0, 1]."""
        raise NotImplementedError

    def denoise(self, images: Any) -> Any:
        """The model's clean estimate of noisy images (deterministic: no sampling)."""
        return self(images, training=False)

    def _update_image_metrics(self, clean: tf.Tensor, denoised: tf.Tensor) -> None:
        self.trackers["mse"].update_state(per_image_mse(clean, denoised))
        self.trackers["psnr"].update_state(per_image_psnr(clean, denoised))

    def _results(self) -> dict[str, tf.Tensor]:
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _apply_gradients(self, tape: tf.GradientTape, loss: tf.Tensor) -> None:
        """Step the optimizer; under ``tf.distribute`` every replica's gradient is summed.

        Each replica's ``loss`` is a mean over its share of the global batch, so it is divided by
        the number of replicas before differentiating: the summed gradient is then the gradient of
        the mean over the global batch, the same as on one device.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        scaled = loss / replicas if replicas > 1 else loss
        gradients = tape.gradient(scaled, self.trainable_variables, unconnected_gradients="zero")
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "embedding_dim": self.embedding_dim, "depth": self.depth,
                "filters": self.filters, "activation": self.activation, "batch_norm": self.batch_norm}
