"""The conditional VAE: encoder and decoder both see the digit's class."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.families.cvae import CVAE_BETA, NUM_CLASSES
from aezoo.families.vae.model import VariationalAutoencoder
from aezoo.models import defaults
from aezoo.models.capabilities import CONDITIONAL, GENERATIVE, KL_TERM, LATENT_SPACE, LIKELIHOOD


@keras.saving.register_keras_serializable(package="aezoo")
class ConditionalVAE(VariationalAutoencoder):
    """A VAE conditioned on the class label y (Sohn, Lee & Yan, 2015, "Learning structured output
    representation using deep conditional generative models").

    Both networks see y as a one-hot vector: the encoder as ``num_classes`` extra constant image
    channels (q(z | noisy, y)), the decoder appended to the code (p(clean | z, y)). The loss, per
    image, is the conditional ELBO::

        loss = -log p(clean | z, y) + beta * KL(q(z | noisy, y) || N(0, I))

    with the same two terms as the VAE: a Bernoulli reconstruction summed over pixels, and the
    closed-form KL that keeps the codes near the prior. Because the decoder is told the class, the
    code no longer has to carry it: z keeps the *style* (slant, thickness, size), and decoding one
    digit's z with another label writes the same style as another digit. A k-NN classifier on the
    codes therefore does worse than on the VAE's, by design.

    Inputs are ``(images, labels)`` (labels: integer classes ``[batch]``); training data is
    ``((noisy, labels), clean)``. ``encode(images, labels)``, ``decode(embeddings, labels)``,
    and ``denoise(images, labels)`` all take the labels; so does a sampler drawing from its prior.

    Args:
        embedding_dim, depth, filters, activation, batch_norm, seed: as for the VAE.
        beta: weight of the KL term; 2 by default, which leaves the class to the label (prior
            samples drawn for a label show that class more often than at 1).
        num_classes: number of classes of the labels (10 digits).
    """

    capabilities = frozenset({LATENT_SPACE, GENERATIVE, LIKELIHOOD, KL_TERM, CONDITIONAL})
    num_classes: int

    def __init__(
        self,
        embedding_dim: int = defaults.EMBEDDING_DIM,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        beta: float = CVAE_BETA.default,
        seed: int | None = None,
        num_classes: int = NUM_CLASSES.default,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        # Set before the networks are built: their input sizes depend on it.
        self._classes = NUM_CLASSES.check(num_classes)
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, beta=beta, seed=seed, **kwargs)
        self.num_classes = self._classes

    def _encoder_channels(self) -> int:
        return self.image_shape[-1] + self._classes

    def _decoder_inputs(self) -> int:
        return self.embedding_dim + self._classes

    def one_hot(self, labels: Any) -> tf.Tensor:
        """``[batch, num_classes]`` float32 one-hot vectors of integer labels."""
        return tf.one_hot(tf.cast(tf.reshape(labels, [-1]), tf.int32), self._classes, dtype=tf.float32)

    def _posterior_params(self, inputs: Any, training: bool | None) -> tf.Tensor:
        images, labels = inputs
        images = tf.convert_to_tensor(images)  # float16 under mixed precision: Keras casts call inputs
        maps = tf.ones_like(images[..., :1]) * tf.cast(self.one_hot(labels), images.dtype)[:, tf.newaxis, tf.newaxis, :]
        return self.encoder(tf.concat([images, maps], axis=-1), training=training)

    def _decode(self, z: tf.Tensor, inputs: Any, training: bool | None) -> tf.Tensor:
        _, labels = inputs
        return self.decoder(tf.concat([tf.cast(z, tf.float32), self.one_hot(labels)], axis=-1), training=training)

    def encode(self, images: Any, labels: Any) -> Any:  # type: ignore[override]
        """The posterior mean of q(z | images, labels)."""
        return super().encode((images, labels))

    def posterior(self, images: Any, labels: Any) -> Any:  # type: ignore[override]
        return super().posterior((images, labels))

    def kl_per_dimension(self, images: Any, labels: Any) -> tf.Tensor:  # type: ignore[override]
        return super().kl_per_dimension((images, labels))

    def decode(self, embeddings: Any, labels: Any) -> Any:  # type: ignore[override]
        """Images written in the style ``embeddings`` as the digits ``labels``."""
        return self._decode(embeddings, (None, labels), training=False)

    def denoise(self, images: Any, labels: Any) -> Any:  # type: ignore[override]
        return self((images, labels), training=False)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes}
