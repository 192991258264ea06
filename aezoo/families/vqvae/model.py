"""The vector-quantised VAE: a grid of codes (a quarter of the image's size), each one of K learned vectors."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from aezoo.families.vqvae import CODE_DIM, COMMITMENT_COST, NUM_CODES
from aezoo.families.vqvae.grid import GridDecoder, GridEncoder
from aezoo.models import defaults
from aezoo.models.base import EncoderDecoderModel, mean_bce
from aezoo.models.capabilities import CODE_GRID, LATENT_SPACE
from aezoo.models.validation import check_non_negative, check_positive_int

# The encoder halves the image twice: a code per 4x4 patch (a 7x7 grid for MNIST).
GRID_STRIDE = 4


@keras.saving.register_keras_serializable(package="aezoo")
class VectorQuantizer(keras.layers.Layer):
    """Snaps each vector to the nearest of ``num_codes`` codebook vectors, and keeps the codebook alive.

    Call returns ``(quantised, indices, codebook_loss, commitment_loss)``: ``quantised`` has the
    input's shape and the straight-through gradient ``z_e + stop_gradient(e - z_e)`` (the forward
    pass sees the code ``e``, the backward pass copies the decoder's gradient to ``z_e``
    unchanged, as if quantisation were the identity); the two losses are per image, ``[batch]``.

    Dead codes: ``usage`` is an exponential moving average (decay ``usage_decay`` per step) of the
    share of vectors each code receives. :meth:`restart_dead_codes` moves every code whose share has
    fallen below ``dead_fraction / num_codes`` onto a vector the encoder has just produced, so it
    is near the data again and gets picked; without this a code that starts far from the data
    never wins an argmin, never gets a gradient, and stays dead for good.
    """

    def __init__(self, num_codes: int = 64, embedding_dim: int = 16, usage_decay: float = 0.95,
                 dead_fraction: float = 0.03, seed: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")  # distances between float32 vectors, even under mixed precision
        super().__init__(**kwargs)
        self.num_codes = check_positive_int("num_codes", num_codes)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.usage_decay = check_non_negative("usage_decay", usage_decay)
        self.dead_fraction = check_non_negative("dead_fraction", dead_fraction)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple[int | None, ...] | None = None) -> None:
        # "mean" aggregation: under tf.distribute each replica's update is averaged into one value.
        self.codebook = self.add_weight(
            shape=(self.num_codes, self.embedding_dim), name="codebook", aggregation="mean",
            initializer=keras.initializers.RandomUniform(-1.0 / self.num_codes, 1.0 / self.num_codes, seed=self.seed))
        self.usage = self.add_weight(shape=(self.num_codes,), name="usage", trainable=False, aggregation="mean",
                                     initializer=keras.initializers.Constant(1.0 / self.num_codes))
        self.built = True

    def nearest(self, vectors: tf.Tensor) -> tf.Tensor:
        """Index of the nearest codebook vector (Euclidean) for each row of ``[n, embedding_dim]``."""
        distances = (tf.reduce_sum(vectors ** 2, axis=1, keepdims=True) - 2.0 * vectors @ tf.transpose(self.codebook)
                     + tf.reduce_sum(self.codebook ** 2, axis=1)[tf.newaxis, :])
        return tf.argmin(distances, axis=1, output_type=tf.int32)

    def lookup(self, indices: tf.Tensor) -> tf.Tensor:
        """Codebook vectors of integer ``indices`` of any shape: ``[*shape, embedding_dim]``."""
        return tf.gather(self.codebook, indices)

    def call(self, z_e: Any) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        z_e = tf.cast(z_e, tf.float32)
        indices = tf.reshape(self.nearest(tf.reshape(z_e, [-1, self.embedding_dim])), tf.shape(z_e)[:-1])
        e = self.lookup(indices)
        codebook_loss = tf.reduce_mean((tf.stop_gradient(z_e) - e) ** 2, axis=[1, 2, 3])
        commitment_loss = tf.reduce_mean((z_e - tf.stop_gradient(e)) ** 2, axis=[1, 2, 3])
        return z_e + tf.stop_gradient(e - z_e), indices, codebook_loss, commitment_loss

    def update_usage(self, indices: tf.Tensor) -> tf.Tensor:
        """Fold one batch's code counts into ``usage``; returns the batch's perplexity."""
        share = tf.reduce_mean(tf.one_hot(tf.reshape(indices, [-1]), self.num_codes), axis=0)
        self.usage.assign(self.usage_decay * self.usage + (1.0 - self.usage_decay) * share)
        return perplexity(share)

    def restart_dead_codes(self, z_e: tf.Tensor) -> tf.Tensor:
        """Move dead codes onto randomly chosen vectors of ``z_e``; returns how many were moved."""
        vectors = tf.reshape(tf.cast(z_e, tf.float32), [-1, self.embedding_dim])
        dead = self.usage < self.dead_fraction / self.num_codes
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        picks = tf.random.stateless_uniform([self.num_codes], seed, maxval=tf.shape(vectors)[0], dtype=tf.int32)
        self.codebook.assign(tf.where(dead[:, tf.newaxis], tf.gather(vectors, picks), self.codebook))
        self.usage.assign(tf.where(dead, 1.0 / self.num_codes, self.usage))
        return tf.reduce_sum(tf.cast(dead, tf.int32))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_codes": self.num_codes, "embedding_dim": self.embedding_dim,
                "usage_decay": self.usage_decay, "dead_fraction": self.dead_fraction, "seed": self.seed}


def perplexity(share: tf.Tensor) -> tf.Tensor:
    """``exp(entropy)`` of a distribution over codes: the number of codes in effective use."""
    return tf.exp(-tf.reduce_sum(share * tf.math.log(share + 1e-10)))


@keras.saving.register_keras_serializable(package="aezoo")
class VQVAE(EncoderDecoderModel):
    """Vector-quantised VAE (van den Oord, Vinyals & Kavukcuoglu, 2017, "Neural discrete
    representation learning").

    The encoder turns the noisy image into an ``[H/4, W/4]`` grid (7x7 for MNIST) of ``embedding_dim``-d
    vectors ``z_e``; each
    is replaced by the nearest of ``num_codes`` codebook vectors ``e`` (a discrete code per 4x4
    patch), and the decoder draws the clean image from the quantised grid ``z_q``. The loss, per
    image::

        loss = BCE(clean, decoder(z_q))  +  ||sg[z_e] - e||^2  +  commitment_cost * ||z_e - sg[e]||^2

    * reconstruction: binary cross-entropy, averaged over pixels (so it and the two vector terms,
      averaged over the grid, are of comparable size);
    * codebook loss: moves each chosen code towards the encoder outputs it was chosen for
      (``sg`` is stop-gradient: this term trains only the codebook);
    * commitment loss (``commitment_cost`` = 0.25, the paper's beta): keeps the encoder's outputs
      close to their codes, so they do not drift away faster than the codebook can follow.

    The argmin has no gradient; the straight-through estimator copies the decoder's gradient at
    ``z_q`` to ``z_e``. We learn the codebook by its loss rather than by exponential moving
    averages: every weight then changes only through the optimizer, so tf.distribute's gradient
    averaging and the mixed-precision loss scale (``_loss_for_gradients``) cover it with no extra
    cross-replica code. EMA updates would not revive dead codes either; :class:`VectorQuantizer`
    does that by restarting codes that fall out of use on fresh encoder outputs.

    ``encode`` gives the pre-quantisation grid ``[batch, *code_grid_shape, embedding_dim]``; ``decode``
    quantises a grid and decodes it, so ``decode(encode(x)) == denoise(x)``. ``codes`` gives the
    integer grid ``[batch, *code_grid_shape]`` and ``decode_codes`` draws it (what a prior over codes, such as
    a PixelCNN, needs); ``codebook_usage`` measures perplexity and dead codes.

    Args:
        embedding_dim: size D of each code vector: 16 by default, plenty for a 4x4 patch of a
            digit; the codebook (``num_codes``) is the real bottleneck.
        depth, filters, activation, batch_norm: architecture, as for the autoencoder.
        num_codes: K, the codebook size.
        commitment_cost: weight of the commitment loss.
        seed: seed of the codebook's initialisation and of dead-code restarts.
    """

    metric_names = ("loss", "reconstruction_loss", "codebook_loss", "commitment_loss", "perplexity", "mse", "psnr")
    capabilities = frozenset({LATENT_SPACE, CODE_GRID})
    num_codes: int

    def __init__(
        self,
        embedding_dim: int = CODE_DIM.default,
        depth: int = defaults.DEPTH,
        filters: int = defaults.FILTERS,
        activation: str = defaults.ACTIVATION,
        batch_norm: bool = defaults.BATCH_NORM,
        num_codes: int = NUM_CODES.default,
        commitment_cost: float = COMMITMENT_COST.default,
        seed: int | None = None,
        image_shape: tuple[int, int, int] = defaults.IMAGE_SHAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(embedding_dim=embedding_dim, depth=depth, filters=filters, activation=activation,
                         batch_norm=batch_norm, image_shape=image_shape, **kwargs)
        self.num_codes = NUM_CODES.check(num_codes)
        self.commitment_cost = COMMITMENT_COST.check(commitment_cost)
        self.seed = seed
        self.quantizer = VectorQuantizer(self.num_codes, self.embedding_dim, seed=seed, name="quantizer")

    def _make_encoder(self) -> keras.Model:
        return GridEncoder(embedding_dim=self.embedding_dim, name="encoder", **self._shared_architecture())

    def _make_decoder(self) -> keras.Model:
        return GridDecoder(embedding_dim=self.embedding_dim, name="decoder", **self._shared_architecture())

    @property
    def embedding_shape(self) -> tuple[int, ...]:
        return (*self.code_grid_shape, self.embedding_dim)

    @property
    def code_grid_shape(self) -> tuple[int, ...]:
        """The shape of one image's integer code grid, ``codes`` gives ``[batch, *code_grid_shape]``."""
        return (self.image_shape[0] // GRID_STRIDE, self.image_shape[1] // GRID_STRIDE)

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.encoder.build((None, *self.image_shape))
        self.decoder.build((None, *self.embedding_shape))
        self.quantizer.build()
        self.built = True

    def call(self, images: Any, training: bool | None = None) -> Any:
        quantised, *_ = self.quantizer(self.encoder(images, training=training))
        return self.decoder(quantised, training=training)

    def encode(self, images: Any) -> Any:
        """The encoder's grid before quantisation, ``[batch, *code_grid_shape, embedding_dim]``."""
        return self.encoder(images, training=False)

    def decode(self, embeddings: Any) -> Any:
        """Quantise a grid ``[batch, *code_grid_shape, embedding_dim]`` and decode it into images."""
        quantised, *_ = self.quantizer(embeddings)
        return self.decoder(quantised, training=False)

    def codes(self, images: Any) -> tf.Tensor:
        """The integer code grid ``[batch, *code_grid_shape]`` of images."""
        return self.quantizer(self.encode(images))[1]

    def decode_codes(self, indices: Any) -> tf.Tensor:
        """Images from an integer code grid ``[batch, *code_grid_shape]``."""
        return self.decoder(self.quantizer.lookup(tf.cast(indices, tf.int32)), training=False)

    def codebook_usage(self, images: Any, batch_size: int = 250) -> dict[str, Any]:
        """How the codebook is used on ``images``: ``perplexity`` (codes in effective use),
        ``dead_codes`` (never chosen), ``used_codes`` and ``counts`` (one per code)."""
        counts = tf.zeros([self.num_codes], tf.int32)
        for start in range(0, len(images), batch_size):
            indices = tf.reshape(self.codes(images[start:start + batch_size]), [-1])
            counts += tf.math.bincount(indices, minlength=self.num_codes, maxlength=self.num_codes)
        share = tf.cast(counts, tf.float32) / tf.cast(tf.maximum(tf.reduce_sum(counts), 1), tf.float32)
        used = int(tf.math.count_nonzero(counts))
        return {"perplexity": float(perplexity(share)), "dead_codes": self.num_codes - used, "used_codes": used,
                "num_codes": self.num_codes, "counts": [int(c) for c in counts.numpy()]}

    def _forward(self, noisy: Any, clean: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        z_e = self.encoder(noisy, training=training)
        quantised, indices, codebook_loss, commitment_loss = self.quantizer(z_e)
        denoised = self.decoder(quantised, training=training)
        reconstruction = mean_bce(clean, denoised)
        loss = reconstruction + codebook_loss + self.commitment_cost * commitment_loss
        return {"z_e": z_e, "indices": indices, "denoised": denoised, "loss": loss,
                "reconstruction_loss": reconstruction, "codebook_loss": codebook_loss,
                "commitment_loss": commitment_loss}

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        with tf.GradientTape() as tape:
            terms = self._forward(noisy, clean, training=True)
            scaled_loss = self._loss_for_gradients(tf.reduce_mean(terms["loss"]))
        self._apply_gradients(tape, scaled_loss)
        batch_perplexity = self.quantizer.update_usage(terms["indices"])
        self.quantizer.restart_dead_codes(terms["z_e"])
        self._update_metrics(terms, clean, batch_perplexity)
        return self._results()

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        noisy, clean = self._unpack(data)
        terms = self._forward(noisy, clean, training=False)
        share = tf.reduce_mean(tf.one_hot(tf.reshape(terms["indices"], [-1]), self.num_codes), axis=0)
        self._update_metrics(terms, clean, perplexity(share))
        return self._results()

    def _update_metrics(self, terms: dict[str, tf.Tensor], clean: tf.Tensor, batch_perplexity: tf.Tensor) -> None:
        for name in ("loss", "reconstruction_loss", "codebook_loss", "commitment_loss"):
            self.trackers[name].update_state(terms[name])
        self.trackers["perplexity"].update_state(batch_perplexity)
        self._update_image_metrics(clean, terms["denoised"])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_codes": self.num_codes, "commitment_cost": self.commitment_cost,
                "seed": self.seed}
