"""What every aezoo model shares: image-quality metrics, loss scaling, capabilities, the public API."""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import tensorflow as tf

from aezoo.models import defaults
from aezoo.models.architecture import architecture_config, set_architecture
from aezoo.models.capabilities import Capability, check_declaration
from aezoo.models.decoder import Decoder
from aezoo.models.encoder import Encoder



def per_image_mse(clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
    """Mean squared error of each image (over pixels and channels), shape ``[batch]``."""
    return tf.reduce_mean(tf.square(clean - denoised), axis=[1, 2, 3])


def per_image_psnr(clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
    """Peak signal-to-noise ratio of each image in dB (peak 1.0), ``10 log10(1 / MSE)``.

    Averaged over images it is what denoising papers report; +3 dB halves the squared error.
    The MSE is floored at 1e-10 so a perfect image scores 100 dB instead of infinity.
    """
    return -10.0 * tf.math.log(tf.maximum(per_image_mse(clean, denoised), 1e-10)) / tf.math.log(10.0)


def pixel_bce(clean: tf.Tensor, probabilities: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of every pixel and channel, ``[batch, H, W, C]`` (no reduction).

    ``keras.losses.binary_crossentropy`` would average over the last axis, the channels; the
    losses here sum or average over each image's pixels *and* channels themselves.
    """
    return keras.ops.binary_crossentropy(clean, probabilities)


def summed_bce(clean: tf.Tensor, probabilities: tf.Tensor) -> tf.Tensor:
    """``-log p(clean | probabilities)`` of each image in nats: Bernoulli pixels (every channel a
    pixel of its own), summed over the image: 784 terms for an MNIST digit."""
    return tf.reduce_sum(pixel_bce(clean, probabilities), axis=[-3, -2, -1])


def mean_bce(clean: tf.Tensor, probabilities: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of each image, averaged over its pixels and channels, ``[batch]``."""
    return tf.reduce_mean(pixel_bce(clean, probabilities), axis=[1, 2, 3])


class DenoisingAutoencoderBase(keras.Model):
    """Base of every aezoo model: metric trackers, loss scaling, capabilities and ``denoise``.

    Subclasses implement ``call`` and either ``loss_per_image`` (the ``train_step`` and
    ``test_step`` here minimise and report its batch mean) or their own ``train_step`` and
    ``test_step``, for losses that are more than a comparison of output and clean image (the
    VAE's KL term, the VQ-VAE's codebook losses). Models with a latent space
    derive from :class:`EncoderDecoderModel`, which adds the encoder, the decoder and
    ``encode``/``decode``; the U-Net derives from this class directly. Metrics are
    ``keras.metrics.Mean`` trackers named by ``metric_names`` and listed by the ``metrics``
    property, so Keras resets them at the start of every epoch and of every ``evaluate``. A
    ``train_step`` differentiates ``self._loss_for_gradients(loss)``, never the bare loss: that one
    method accounts for the replica count and the mixed-precision loss scale.
    """

    metric_names: tuple[str, ...] = ("loss", "mse", "psnr")
    #: What the model can do beyond denoising (:mod:`aezoo.models.capabilities`): declared by each
    #: class, checked against its methods when the class is defined, asked with ``has(model, ...)``.
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_declaration(cls)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def denoise(self, images: Any) -> Any:
        """The model's clean estimate of noisy images (deterministic: no sampling)."""
        return self(images, training=False)

    @staticmethod
    def _unpack(data: Any) -> tuple[Any, Any]:
        """``(inputs, clean)`` of a batch; ``train_on_batch`` adds a third, empty sample-weight slot."""
        inputs, clean, _ = keras.utils.unpack_x_y_sample_weight(data)
        return inputs, clean

    def _update_image_metrics(self, clean: tf.Tensor, denoised: tf.Tensor) -> None:
        self.trackers["mse"].update_state(per_image_mse(clean, denoised))
        self.trackers["psnr"].update_state(per_image_psnr(clean, denoised))

    def _results(self) -> dict[str, tf.Tensor]:
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3 averages step outputs across workers along axis 0 (keras-team/keras#20585),
            # which a scalar lacks: give each result that axis; the average is a scalar again.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def _loss_for_gradients(self, loss: tf.Tensor) -> tf.Tensor:
        """The loss to differentiate; call it *inside* the ``GradientTape`` so the tape records it.

        Under ``tf.distribute`` every replica's gradient is summed. Each replica's ``loss`` is a
        mean over its share of the global batch, so it is divided by the number of replicas: the
        summed gradient is then the gradient of the mean over the global batch, as on one device.
        Under mixed precision the optimizer is a ``LossScaleOptimizer``: multiplying the loss keeps
        small float16 gradients from underflowing to zero; ``apply_gradients`` divides it out.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
        return self.optimizer.scale_loss(loss)

    def _apply_gradients(self, tape: tf.GradientTape, scaled_loss: tf.Tensor) -> None:
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))

    def loss_per_image(self, clean: tf.Tensor, denoised: tf.Tensor) -> tf.Tensor:
        """The training loss of each image, shape ``[batch]``: what the default steps below use."""
        raise NotImplementedError(f"{type(self).__name__} defines neither loss_per_image nor its own train_step")

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            denoised = self(noisy, training=True)
            loss = tf.reduce_mean(self.loss_per_image(clean, denoised))
            scaled_loss = self._loss_for_gradients(loss)
        self._apply_gradients(tape, scaled_loss)
        self.trackers["loss"].update_state(loss)
        self._update_image_metrics(clean, denoised)
        return self._results()

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        denoised = self(noisy, training=False)
        self.trackers["loss"].update_state(self.loss_per_image(clean, denoised))
        self._update_image_metrics(clean, denoised)
        return self._results()

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Work-around for a Keras 3 bug (keras-team/keras#20585): under MultiWorkerMirroredStrategy
        # fit() first averages one input batch across workers to trace the model symbolically,
        # and that eager cross-worker reduce fails. aezoo's models are built before fit and
        # compile no Keras losses or metrics, so the only thing left to build is the optimizer.
        # Keras offers no public hook for this step: setup.cfg pins the Keras range it was tested
        # with, and tests/test_keras_private_api.py fails by name if Keras moves the method.
        strategy = self.distribute_strategy
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            with strategy.scope():
                if not self.optimizer.built:
                    self.optimizer.build(self.trainable_variables)
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


class EncoderDecoderModel(DenoisingAutoencoderBase):
    """A model with a latent space: an encoder, a decoder, and the architecture arguments they share.

    Subclasses say how many numbers the encoder outputs (``_encoder_outputs``), how many the
    decoder takes (``_decoder_inputs``) and how many channels the encoder sees
    (``_encoder_channels``), or replace the networks (``_make_encoder``/``_make_decoder``), and
    implement ``encode``, ``call`` and the loss (see :class:`DenoisingAutoencoderBase`).
    """

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_architecture(self, embedding_dim, depth, filters, activation, batch_norm, image_shape)
        self.encoder = self._make_encoder()
        self.decoder = self._make_decoder()

    def _shared_architecture(self) -> dict[str, Any]:
        return dict(depth=self.depth, filters=self.filters, activation=self.activation, batch_norm=self.batch_norm,
                    image_shape=self.image_shape)

    def _make_encoder(self) -> keras.Model:
        return Encoder(embedding_dim=self._encoder_outputs(), name="encoder", **self._shared_architecture())

    def _make_decoder(self) -> keras.Model:
        return Decoder(embedding_dim=self._decoder_inputs(), name="decoder", **self._shared_architecture())

    def _encoder_outputs(self) -> int:
        return self.embedding_dim

    def _decoder_inputs(self) -> int:
        return self.embedding_dim

    def _encoder_channels(self) -> int:
        return self.image_shape[-1]

    @property
    def embedding_shape(self) -> tuple[int, ...]:
        """The shape of one embedding: ``encode`` gives ``[batch, *embedding_shape]``."""
        return (self.embedding_dim,)

    def build(self, input_shape: Any = None) -> None:
        if self.built:  # Keras' build_from_config (e.g. keras-tuner's Hyperband) may call it again
            return
        self.encoder.build((None, *self.image_shape[:-1], self._encoder_channels()))
        self.decoder.build((None, self._decoder_inputs()))
        self.built = True

    def decode(self, embeddings: Any) -> Any:
        """Images ``[batch, *image_shape]`` in [0, 1] from embeddings ``[batch, *embedding_shape]``."""
        return self.decoder(embeddings, training=False)

    def encode(self, images: Any) -> Any:
        """Embeddings ``[batch, *embedding_shape]`` of images ``[batch, *image_shape]`` in [0, 1]."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **architecture_config(self)}
