"""Corruptions that turn clean digits into the model's noisy inputs.

Each noise is a small callable ``noise(images, seed) -> noisy`` working on a whole batch at once
(vectorised, no Python loop) with TensorFlow's *stateless* random ops. Stateless ops take the seed
as an argument, so the same seed always gives the same noise: that is what lets the pipeline make
fresh noise every training epoch yet identical noise for every evaluation.
Results are clipped back into [0, 1], the range of the clean images and of the decoder's sigmoid.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

NOISE_KINDS = ("gaussian", "salt_pepper", "mask")


class Noise:
    """Base class: subclasses implement :meth:`corrupt` and list their arguments in ``get_config``."""

    kind: str = ""

    def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Corrupt ``images`` (float32 in [0, 1], any shape) with noise drawn from ``seed`` (shape [2])."""
        return tf.clip_by_value(self.corrupt(images, seed), 0.0, 1.0)

    def corrupt(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    @property
    def strength(self) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "strength": self.strength}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strength})"


class GaussianNoise(Noise):
    """Add N(0, std^2) to every pixel, then clip to [0, 1]: the corruption of the classic Keras
    denoising-autoencoder examples, and aezoo's default (std 0.5)."""

    kind = "gaussian"

    def __init__(self, std: float = 0.5) -> None:
        if not (isinstance(std, (int, float)) and math.isfinite(std) and std >= 0):
            raise ValueError(f"Gaussian noise std must be a finite number >= 0, got {std!r}")
        self.std = float(std)

    @property
    def strength(self) -> float:
        return self.std

    def corrupt(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return images + tf.random.stateless_normal(tf.shape(images), seed=seed, stddev=self.std, dtype=images.dtype)


class SaltAndPepperNoise(Noise):
    """Set a fraction ``amount`` of pixels to 0 or 1 (half each), like dead and hot sensor pixels."""

    kind = "salt_pepper"

    def __init__(self, amount: float = 0.2) -> None:
        _check_fraction("salt-and-pepper amount", amount)
        self.amount = float(amount)

    @property
    def strength(self) -> float:
        return self.amount

    def corrupt(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        u = tf.random.stateless_uniform(tf.shape(images), seed=seed, dtype=images.dtype)
        salt = tf.cast(u < self.amount / 2, images.dtype)
        pepper = tf.cast((u >= self.amount / 2) & (u < self.amount), images.dtype)
        keep = 1.0 - salt - pepper
        return images * keep + salt


class MaskingNoise(Noise):
    """Zero a fraction ``rate`` of pixels (the "masking noise" of the original denoising-AE paper)."""

    kind = "mask"

    def __init__(self, rate: float = 0.3) -> None:
        _check_fraction("masking rate", rate)
        self.rate = float(rate)

    @property
    def strength(self) -> float:
        return self.rate

    def corrupt(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        u = tf.random.stateless_uniform(tf.shape(images), seed=seed, dtype=images.dtype)
        return images * tf.cast(u >= self.rate, images.dtype)


_NOISES: dict[str, type[Noise]] = {cls.kind: cls for cls in (GaussianNoise, SaltAndPepperNoise, MaskingNoise)}
DEFAULT_STRENGTH = {"gaussian": 0.5, "salt_pepper": 0.2, "mask": 0.3}


def make_noise(kind: str = "gaussian", strength: float | None = None) -> Noise:
    """Build a noise by kind; ``strength`` is the std, amount or rate (``None``: the default).

    Raises:
        ValueError: unknown kind, or a strength out of range.
    """
    if kind not in _NOISES:
        raise ValueError(f"unknown noise {kind!r}; choose one of {', '.join(NOISE_KINDS)}")
    return _NOISES[kind](DEFAULT_STRENGTH[kind] if strength is None else strength)


def _check_fraction(what: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
        raise ValueError(f"{what} must be a fraction in [0, 1], got {value!r}")
