"""One way to feed a model: its inputs (with labels where it needs them), in batches, numpy out.

Training, analysis, generation, the samplers and the benchmark all call models on arrays larger
than one batch, and a conditional model takes ``(images, labels)`` where every other takes the
images alone. :class:`ModelAdapter` is the one place that knows both::

    adapter = ModelAdapter(model)
    codes = adapter.encode(images, labels)      # labels reach the model only if it is conditional
    clean = adapter.denoise(noisy, labels)
    dataset = training_dataset(images, noise, labels=labels_for(model, labels))  # the same rule for data

Calls are direct (``model(x, training=False)``), not ``predict``: ``predict`` traces a graph for
every new model, which costs more than one pass over a thousand test images.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from aezoo.models.capabilities import CODE_GRID, CONDITIONAL, LATENT_SPACE, Capability, has

DEFAULT_BATCH_SIZE = 500


def labels_for(model: Any, labels: Any) -> Any:
    """``labels`` if ``model`` (an instance or a class) is conditional, else ``None``: what a model's
    data (a ``tf.data`` pipeline, a batch) carries besides the images."""
    return labels if has(model, CONDITIONAL) else None


def unit_images(images: Any) -> np.ndarray:
    """float32 ``[N, H, W, C]`` in [0, 1] from uint8 0-255 or float images ``[N, H, W]`` or ``[N, H, W, C]``."""
    array = np.asarray(images)
    unit = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32, copy=False)
    return unit[..., None] if unit.ndim == 3 else unit


class ModelAdapter:
    """Calls ``model`` in batches of ``batch_size`` on numpy arrays (see the module docstring)."""

    def __init__(self, model: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.model = model
        self.batch_size = int(batch_size)
        self.conditional = has(model, CONDITIONAL)

    def inputs(self, images: Any, labels: Any = None) -> Any:
        """What the model takes for one batch: ``(images, labels)`` if it is conditional, else the images."""
        if not self.conditional:
            return images
        if labels is None:
            raise ValueError(f"{self.model.name} is conditional: it needs a label per image")
        return images, np.asarray(labels, np.int32).reshape(-1)

    def _batched(self, function: Callable[..., Any], first: np.ndarray, labels: Any,
                 with_labels: bool) -> np.ndarray:
        if self.conditional and labels is None:
            raise ValueError(f"{self.model.name} is conditional: it needs a label per image")
        labels = None if labels is None else np.broadcast_to(np.asarray(labels, np.int32).reshape(-1), (len(first),))
        parts = []
        for start in range(0, len(first), self.batch_size):
            chunk = first[start:start + self.batch_size]
            extra = (labels[start:start + self.batch_size],) if self.conditional and with_labels else ()
            parts.append(np.asarray(function(chunk, *extra)))
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)

    def denoise(self, images: Any, labels: Any = None) -> np.ndarray:
        """The model's clean estimates, float32 ``[N, H, W, C]``."""
        return self._batched(lambda x, *y: self.model.denoise(x, *y), unit_images(images), labels, True)

    def __call__(self, images: Any, labels: Any = None) -> np.ndarray:
        """``model(inputs, training=False)`` batch by batch (the same as :meth:`denoise`)."""
        return self._batched(lambda x, *y: self.model(self.inputs(x, *y), training=False), unit_images(images),
                             labels, True)

    def encode(self, images: Any, labels: Any = None) -> np.ndarray:
        """Embeddings ``[N, *embedding_shape]`` of images."""
        self._require(LATENT_SPACE)
        return self._batched(lambda x, *y: self.model.encode(x, *y), unit_images(images), labels, True)

    def decode(self, embeddings: Any, labels: Any = None) -> np.ndarray:
        """Images ``[N, H, W, C]`` from embeddings."""
        self._require(LATENT_SPACE)
        return self._batched(lambda z, *y: self.model.decode(z, *y), np.asarray(embeddings, np.float32), labels, True)

    def codes(self, images: Any) -> np.ndarray:
        """Integer code grids ``[N, *code_grid_shape]`` of images."""
        self._require(CODE_GRID)
        return self._batched(lambda x: self.model.codes(x), unit_images(images), None, False).astype(np.int32)

    def _require(self, capability: Capability) -> None:
        if not has(self.model, capability):
            raise ValueError(f"{self.model.name} has no {capability}")


__all__ = ["DEFAULT_BATCH_SIZE", "ModelAdapter", "labels_for", "unit_images"]
