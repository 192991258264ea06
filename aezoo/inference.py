"""Using a trained model on numpy arrays: ``aezoo.load(path).denoise(images)``.

``path`` is a run folder (``RUN/`` holding ``ae/`` and/or ``vae/``), one model's folder
(``RUN/ae``), a ``saved_model/`` folder or a ``.keras`` file. The SavedModel is preferred when
both exist: it is plain TensorFlow graphs and weights, so loading it runs no aezoo (or other
Python) code from the artifact. A ``.keras`` file is checked to hold one of aezoo's model classes
and then loaded with Keras safe mode on, so a file cannot smuggle in a Python lambda.

Every method works batch by batch (``batch_size`` images at a time): the memory used on top of
the input and output arrays stays bounded for any number of images, and the ``*_batches``
generators stream inputs of any length without holding them at all.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from aezoo.errors import UsageError
from aezoo.imageio import SIZE, check_array, normalize_pixels

MODEL_KINDS = ("ae", "vae")
DEFAULT_BATCH_SIZE = 1024
NOT_A_MODEL = "expected a run folder (with ae/ or vae/), a model folder, a saved_model/ folder or a .keras file"

Batch = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class ModelLocation:
    """Where a model's artifact is: found from the path alone, before TensorFlow is imported."""

    path: Path  # the saved_model/ folder or the .keras file
    format: str  # "saved_model" or "keras"
    kind: str | None  # "ae", "vae", or None when the path does not say


def _has_model(folder: Path) -> bool:
    return (folder / "saved_model" / "saved_model.pb").is_file() or (folder / "model.keras").is_file()


def _in_model_folder(folder: Path, kind: str | None) -> ModelLocation:
    if (folder / "saved_model" / "saved_model.pb").is_file():
        return ModelLocation(folder / "saved_model", "saved_model", kind)
    return ModelLocation(folder / "model.keras", "keras", kind)


def locate_model(path: str | os.PathLike[str], model_kind: str | None = None) -> ModelLocation:
    """Resolve a user's MODEL path to one artifact.

    ``model_kind`` chooses between the models of a run folder (default ``ae`` when present).

    Raises:
        UsageError: the path is missing or is not a model, or holds no model of ``model_kind``.
    """
    path = Path(path)
    if model_kind is not None and model_kind not in MODEL_KINDS:
        raise UsageError(f"model kind {model_kind!r} is unknown; use one of {', '.join(MODEL_KINDS)}")
    if not path.exists():
        raise UsageError(f"{path}: no such model file or folder; {NOT_A_MODEL}")
    if path.is_file():
        if path.suffix != ".keras":
            raise UsageError(f"{path}: not a model; {NOT_A_MODEL}")
        location = ModelLocation(path, "keras", None)
    elif (path / "saved_model.pb").is_file():
        guess = path.resolve().parent.name
        location = ModelLocation(path, "saved_model", guess if guess in MODEL_KINDS else None)
    elif _has_model(path):
        name = path.resolve().name
        location = _in_model_folder(path, name if name in MODEL_KINDS else None)
    else:
        kinds = [kind for kind in MODEL_KINDS if _has_model(path / kind)]
        if not kinds:
            raise UsageError(f"{path}: not a model; {NOT_A_MODEL}")
        if model_kind is not None and model_kind not in kinds:
            raise UsageError(f"{path}: run folder has no {model_kind} model (it has: {', '.join(kinds)})")
        chosen = model_kind or kinds[0]
        return _in_model_folder(path / chosen, chosen)
    if model_kind is not None and location.kind is not None and model_kind != location.kind:
        raise UsageError(f"{path}: is a {location.kind} model, not {model_kind}; --model-kind chooses "
                         "between the models of a run folder")
    return location


class TrainedModel:
    """A trained autoencoder or VAE working on numpy arrays.

    Images are ``[N,28,28]``, ``[N,28,28,1]`` or one ``[28,28]``, ``uint8`` 0-255 or float in
    [0, 1]; results are float32 in [0, 1]. ``denoise`` returns the shape it was given, ``encode``
    ``[N, embedding_dim]`` (the VAE's posterior mean), ``decode`` ``[N,28,28]``.
    """

    def __init__(self, location: ModelLocation, functions: dict[str, Batch], embedding_dim: int,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.location = location
        self.embedding_dim = int(embedding_dim)
        self.batch_size = _check_batch_size(batch_size)
        self._functions = functions

    @property
    def kind(self) -> str | None:
        """``"ae"``, ``"vae"``, or None when a bare SavedModel's folder does not say."""
        return self.location.kind

    @property
    def path(self) -> Path:
        return self.location.path

    def describe(self) -> str:
        return f"{self.kind or 'unknown-kind'} model ({self.location.format}: {self.path})"

    def __repr__(self) -> str:
        return f"<aezoo TrainedModel {self.describe()}, embedding_dim={self.embedding_dim}>"

    # -- whole arrays -------------------------------------------------------------------------

    def denoise(self, images: Any, batch_size: int | None = None) -> np.ndarray:
        """The clean estimate of ``images``, float32, same shape as ``images``."""
        images = _as_images(images)
        stack = images[None] if images.ndim == 2 else images
        out = np.empty(stack.shape, np.float32)
        for start, stop, batch in self._image_batches(stack, batch_size):
            out[start:stop] = self._functions["denoise"](batch).reshape(out[start:stop].shape)
        return out[0] if images.ndim == 2 else out

    def encode(self, images: Any, batch_size: int | None = None) -> np.ndarray:
        """Embeddings ``[N, embedding_dim]`` (``[embedding_dim]`` for one ``[28,28]`` image)."""
        images = _as_images(images)
        stack = images[None] if images.ndim == 2 else images
        out = np.empty((len(stack), self.embedding_dim), np.float32)
        for start, stop, batch in self._image_batches(stack, batch_size):
            out[start:stop] = self._functions["encode"](batch)
        return out[0] if images.ndim == 2 else out

    def decode(self, embeddings: Any, batch_size: int | None = None) -> np.ndarray:
        """Images ``[N,28,28]`` in [0, 1] from ``[N, embedding_dim]`` (one ``[28,28]`` from ``[embedding_dim]``)."""
        embeddings = np.asarray(embeddings)
        single = embeddings.ndim == 1
        matrix = embeddings.reshape(1, -1) if single else embeddings
        if matrix.ndim != 2 or matrix.shape[1] != self.embedding_dim:
            raise UsageError(f"embeddings: shape {list(embeddings.shape)} is not accepted; this model "
                             f"decodes [N,{self.embedding_dim}] or [{self.embedding_dim}]")
        if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
            raise UsageError(f"embeddings: dtype {matrix.dtype} is not accepted; use float")
        out = np.empty((len(matrix), SIZE, SIZE), np.float32)
        size = self._batch_size(batch_size)
        for start in range(0, len(matrix), size):
            chunk = matrix[start:start + size].astype(np.float32)
            if not np.isfinite(chunk).all():
                bad = start + int(np.argwhere(~np.isfinite(chunk))[0][0])
                raise UsageError(f"embeddings: row {bad} holds NaN or infinity; embeddings must be finite")
            out[start:start + len(chunk)] = self._functions["decode"](chunk).reshape(-1, SIZE, SIZE)
        return out[0] if single else out

    # -- streams ------------------------------------------------------------------------------

    def denoise_batches(self, batches: Iterable[Any]) -> Iterator[np.ndarray]:
        """Denoise a stream of image batches lazily: one output per input batch, nothing kept."""
        for batch in batches:
            yield self.denoise(batch)

    def encode_batches(self, batches: Iterable[Any]) -> Iterator[np.ndarray]:
        """Encode a stream of image batches lazily: one ``[b, embedding_dim]`` per input batch."""
        for batch in batches:
            yield self.encode(batch)

    # -- helpers ------------------------------------------------------------------------------

    def _batch_size(self, batch_size: int | None) -> int:
        return self.batch_size if batch_size is None else _check_batch_size(batch_size)

    def _image_batches(self, images: np.ndarray, batch_size: int | None) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(start, stop, float32 [b,28,28,1])`` of a stack ``[N,28,28(,1)]``, each batch checked on its own."""
        size = self._batch_size(batch_size)
        for start in range(0, len(images), size):
            stop = min(start + size, len(images))
            # Slice before reshaping: a reshape of a strided whole array could copy all of it.
            chunk = images[start:stop].reshape(-1, SIZE, SIZE)
            yield start, stop, normalize_pixels(chunk, "images", offset=start)[..., None]


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise UsageError(f"batch size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _as_images(images: Any) -> np.ndarray:
    # No copy and no dtype change here: conversion to float32 happens one batch at a time.
    images = images if isinstance(images, np.ndarray) else np.asarray(images)
    check_array(images)
    return images


# ---------------------------------------------------------------------------------------------
# Loading


def load(path: str | os.PathLike[str], model_kind: str | None = None,
         batch_size: int = DEFAULT_BATCH_SIZE) -> TrainedModel:
    """Load a trained model for inference (see the module docstring for what ``path`` may be).

    Raises:
        UsageError: the path is not a model, is corrupt, or is a ``.keras`` file of a class that
            is not one of aezoo's models.
    """
    location = locate_model(path, model_kind)
    _check_batch_size(batch_size)
    if location.format == "saved_model":
        return _load_saved_model(location, batch_size)
    return _load_keras(location, batch_size)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _load_saved_model(location: ModelLocation, batch_size: int) -> TrainedModel:
    import tensorflow as tf

    try:
        saved = tf.saved_model.load(str(location.path))
    except Exception as error:  # TF raises many types for a corrupt folder; all mean the same to a user
        raise UsageError(f"{location.path}: cannot load the SavedModel ({_first_line(error)})") from None
    signatures = getattr(saved, "signatures", {})
    missing = [name for name in ("denoise", "encode", "decode") if name not in signatures]
    if missing:
        raise UsageError(f"{location.path}: not an aezoo SavedModel: it lacks the {', '.join(missing)} "
                         f"signature(s) (it has: {', '.join(signatures) or 'none'})")
    images_spec = signatures["denoise"].structured_input_signature[1].get("images")
    embeddings_spec = signatures["decode"].structured_input_signature[1].get("embeddings")
    if images_spec is None or embeddings_spec is None or list(images_spec.shape[1:]) != [SIZE, SIZE, 1]:
        raise UsageError(f"{location.path}: not an aezoo SavedModel: its signatures do not take "
                         "images [N,28,28,1] and embeddings")

    def endpoint(name: str, argument: str) -> Batch:
        function = signatures[name]
        return lambda batch: function(**{argument: tf.constant(batch, tf.float32)})["output_0"].numpy()

    functions = {"denoise": endpoint("denoise", "images"), "encode": endpoint("encode", "images"),
                 "decode": endpoint("decode", "embeddings")}
    return TrainedModel(location, functions, int(embeddings_spec.shape[-1]), batch_size)


def keras_class(path: Path) -> str:
    """The registered class name of the model in a ``.keras`` file, read from its config.json.

    Read without Keras so an unknown class is refused before anything is deserialized.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UsageError(f"{path}: not a readable .keras file ({_first_line(error)})") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path}: not a readable .keras file (config.json is not an object)")
    return str(config.get("registered_name") or f"{config.get('module')}.{config.get('class_name')}")


def _load_keras(location: ModelLocation, batch_size: int) -> TrainedModel:
    registered = keras_class(location.path)
    import keras
    import tensorflow as tf

    from aezoo.models import MODEL_CLASSES, DenoisingAutoencoderBase  # registers the classes with Keras

    known = {keras.saving.get_registered_name(cls): kind for kind, cls in MODEL_CLASSES.items()}
    if registered not in known:
        raise UsageError(f"{location.path}: holds a model of class {registered!r}, not one of aezoo's "
                         f"({', '.join(sorted(known))}); it was not loaded")
    try:
        # safe_mode=True: Keras refuses to deserialize Python lambdas (bytecode) from the file.
        model = keras.saving.load_model(location.path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises ValueError, TypeError, OSError... for a broken file
        raise UsageError(f"{location.path}: cannot load the Keras model ({_first_line(error)})") from None
    if not isinstance(model, DenoisingAutoencoderBase):
        raise UsageError(f"{location.path}: holds a {type(model).__name__}, not an aezoo model")
    kind = known[registered]
    if location.kind is not None and location.kind != kind:
        raise UsageError(f"{location.path}: is a {kind} model, not {location.kind}")

    images = tf.TensorSpec([None, SIZE, SIZE, 1], tf.float32)
    embeddings = tf.TensorSpec([None, model.embedding_dim], tf.float32)
    # One traced graph per endpoint: eager calls would redo Python work for every batch.
    graphs = {"denoise": tf.function(model.denoise, input_signature=[images]),
              "encode": tf.function(model.encode, input_signature=[images]),
              "decode": tf.function(model.decode, input_signature=[embeddings])}
    functions = {name: (lambda graph: lambda batch: graph(batch).numpy())(graph) for name, graph in graphs.items()}
    return TrainedModel(dataclasses.replace(location, kind=kind), functions, model.embedding_dim, batch_size)


# ---------------------------------------------------------------------------------------------
# Noise, to watch a model at work on clean images


def add_noise(images: np.ndarray, kind: str = "gaussian", strength: float | None = None,
              seed: int = 0, index: int = 0) -> np.ndarray:
    """Corrupt float32 images in [0, 1] with aezoo's training noise (deterministic per seed and index).

    ``index`` tells batches of one stream apart so each gets its own noise.
    """
    import tensorflow as tf

    from aezoo.datasets.noise import make_noise

    try:
        noise = make_noise(kind, strength)
    except ValueError as error:
        raise UsageError(str(error)) from None
    seed_pair = tf.constant([seed % 2**31, index % 2**31], tf.int32)
    return noise(tf.constant(images, tf.float32), seed_pair).numpy()


__all__ = ["DEFAULT_BATCH_SIZE", "ModelLocation", "TrainedModel", "add_noise", "keras_class", "load", "locate_model"]
