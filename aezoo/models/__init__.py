"""The building blocks every family shares: Keras, TensorFlow and TFP only (no data, plotting or file I/O).

The families themselves (the model classes, their hyperparameters and presets) are folders of
:mod:`aezoo.families`. Names below are imported lazily (PEP 562), so ``aezoo.models.defaults``,
``aezoo.models.capabilities`` and ``aezoo.models.hyperparameters`` load without TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS = {
    "DenoisingAutoencoderBase": "aezoo.models.base",
    "EncoderDecoderModel": "aezoo.models.base",
    "per_image_mse": "aezoo.models.base",
    "per_image_psnr": "aezoo.models.base",
    "Decoder": "aezoo.models.decoder",
    "Encoder": "aezoo.models.encoder",
    "GaussianLatent": "aezoo.models.latent",
    "GatedPixelCNN": "aezoo.models.pixelcnn",
    "Capability": "aezoo.models.capabilities",
    "capabilities_of": "aezoo.models.capabilities",
    "has": "aezoo.models.capabilities",
    "Hyperparameter": "aezoo.models.hyperparameters",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aezoo.models' has no attribute {name!r}")
