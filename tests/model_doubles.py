"""A stand-in model family for inference tests: images to images, no latent space.

Registered with Keras under a test-only package and added to the family list by the
``image_to_image_family`` fixture, so loading and the commands can be tested on a family without
``encode``/``decode`` (like a U-Net) and on a family whose config carries a nested layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

FAMILY = "i2i"


@keras.saving.register_keras_serializable(package="aezoo_test")
class ImageToImage(keras.Model):
    """``denoise`` is one inner layer; ``inner`` may be a serialised layer (deserialised on loading)."""

    capabilities: frozenset = frozenset()  # denoising only

    def __init__(self, inner: dict[str, Any] | keras.layers.Layer | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(inner, dict):  # from a file: Keras' safe mode applies to this call
            inner = keras.saving.deserialize_keras_object(inner)
        self.inner = inner if inner is not None else keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")

    def call(self, images: Any) -> Any:
        return self.inner(images)

    def denoise(self, images: Any) -> Any:
        return self.call(images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "inner": keras.saving.serialize_keras_object(self.inner)}


def marker_lambda(marker: Path) -> keras.layers.Lambda:
    """A Lambda layer that creates ``marker`` when it runs: proof that a file's code executed."""
    function = eval(f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]")  # code, not a closure
    return keras.layers.Lambda(function)


def save_image_to_image(path: Path, inner: keras.layers.Layer | None = None) -> Path:
    model = ImageToImage(inner, name=FAMILY)
    model(np.zeros((1, 28, 28, 1), np.float32))  # build, so the weights are saved
    model.save(path)
    return path


@pytest.fixture
def image_to_image_family(monkeypatch: pytest.MonkeyPatch) -> str:
    """Adds the stand-in to the zoo's family list for one test."""
    from aezoo.families import FAMILIES, MODELS, Family, ModelSpec

    family = Family(FAMILY, "tests.model_doubles:ImageToImage", "test stand-in: images to images, no latent space",
                    paper="none", hyperparameters=(), loss_in_words=lambda config: "none")
    monkeypatch.setitem(FAMILIES, FAMILY, family)
    monkeypatch.setitem(MODELS, FAMILY, ModelSpec(FAMILY, family))
    return FAMILY
