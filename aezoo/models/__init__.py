"""Models: Keras, TensorFlow and TFP only (no data loading, plotting or file I/O).

The names below are imported lazily (PEP 562), so ``aezoo.models.families`` (the list of families,
used by ``--help``) and ``aezoo.models.defaults`` load without TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS = {
    "ConvAutoencoder": "aezoo.models.autoencoder",
    "PIXEL_LOSSES": "aezoo.models.autoencoder",
    "RECONSTRUCTION_LOSSES": "aezoo.models.autoencoder",
    "ConditionalVAE": "aezoo.models.cvae",
    "DenoisingAutoencoderBase": "aezoo.models.base",
    "EncoderDecoderModel": "aezoo.models.base",
    "GridDecoder": "aezoo.models.grid",
    "GridEncoder": "aezoo.models.grid",
    "ImportanceWeightedAutoencoder": "aezoo.models.iwae",
    "UNet": "aezoo.models.unet",
    "VQVAE": "aezoo.models.vqvae",
    "VectorQuantizer": "aezoo.models.vqvae",
    "per_image_mse": "aezoo.models.base",
    "per_image_psnr": "aezoo.models.base",
    "Decoder": "aezoo.models.decoder",
    "Encoder": "aezoo.models.encoder",
    "GaussianLatent": "aezoo.models.latent",
    "VariationalAutoencoder": "aezoo.models.vae",
    "FAMILIES": "aezoo.models.families",
    "GROUPS": "aezoo.models.families",
    "Family": "aezoo.models.families",
    "build": "aezoo.models.families",
    "get_family": "aezoo.models.families",
    "parse_model_list": "aezoo.models.families",
}

__all__ = [*_EXPORTS, "MODEL_CLASSES"]


def __getattr__(name: str) -> Any:
    if name == "MODEL_CLASSES":  # family name -> class, for older callers; new code uses FAMILIES
        from aezoo.models.families import FAMILIES

        # One name per class (the first family using it: "vae", not its preset "beta_vae"), so the
        # mapping can be inverted to name a loaded model.
        classes: dict[str, type] = {}
        for family in FAMILIES.values():
            if family.model_class not in classes.values():
                classes[family.name] = family.model_class
        return classes
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aezoo.models' has no attribute {name!r}")
