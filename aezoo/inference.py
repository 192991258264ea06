"""Using a trained model on numpy arrays: ``aezoo.load(path).denoise(images)``.

``path`` is a run folder (``RUN/`` holding one folder per model family, e.g. ``ae/``), one
model's folder (``RUN/ae``), a ``saved_model/`` folder, a ``.keras`` file, or a preset: a shipped
preset's name (``vae_mnist``; ``python -m aezoo presets`` lists them), a hub address
(``hf://user/repo``, ``kaggle://owner/model/keras/variant``) or a preset folder (:mod:`aezoo.presets`). The SavedModel is
preferred when both exist: it is plain TensorFlow graphs and weights, so loading it runs no aezoo
(or other Python) code from the artifact. A ``.keras`` file is read as JSON first and refused
unless it holds one of aezoo's model classes and nothing that carries code (a serialised
``Lambda`` or function, or a class from outside Keras and aezoo) anywhere in its config; it is
then loaded with Keras safe mode on as a second line of defence.

What a model can do comes from its capabilities (:mod:`aezoo.models.capabilities`), not its
name: a model without a latent space denoises but cannot ``encode`` or ``decode``; a conditional
model takes the images' classes beside them in ``denoise``, ``encode`` and ``decode``, and every
other model refuses labels. Which model it is (``vae`` or its preset ``beta_vae``) is read from
the artifact's own records, never guessed from a folder's name. An embedding's shape
is the model's own (``embedding_shape``): a vector for most families, a grid of vectors for
the VQ-VAE (7x7 for 28x28 images).

Images are the model's own shape (``image_shape``, ``(H, W, C)``: read from the SavedModel's
signatures or the ``.keras`` file's config), or are brought to it by a ``fit``
(:class:`aezoo.imageio.Framing`): ``resize``, ``crop``, ``pad`` or ``mnist`` (the default only for
28x28 grey models, which take other sizes only when a fit is asked for). A conditional model's
classes are ``0 .. num_classes - 1``.

Every method works batch by batch (``batch_size`` images at a time): the memory used on top of
the input and output arrays stays bounded for any number of images, and the ``*_batches``
generators stream inputs of any length without holding them at all.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from aezoo.errors import UsageError
from aezoo.imageio import MNIST_SHAPE, Framing, normalize_pixels
from aezoo.models.capabilities import CONDITIONAL, LATENT_SPACE, Capability, has
from aezoo.run_folder import SAVED_MODEL_RECORD

DEFAULT_BATCH_SIZE = 1024
# The classes of a conditional model whose artifact does not record how many it has: the ten digits,
# the only classes aezoo trained on before artifacts recorded theirs.
NUM_CLASSES = 10


def model_kinds() -> tuple[str, ...]:
    """The model names a run folder may hold, from the zoo's family list (no TensorFlow needed)."""
    from aezoo.families import MODELS

    return tuple(MODELS)


def _read_record(record: Path) -> dict[str, Any]:
    """A JSON record (a model folder's ``metrics.json``, a SavedModel's ``aezoo.json``), or {} when unreadable."""
    try:
        found = json.loads(record.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _recorded_name(record: Path) -> str | None:
    """The model name a JSON record holds, or None."""
    name = _read_record(record).get("model")
    return name if isinstance(name, str) and name in model_kinds() else None


@dataclasses.dataclass(frozen=True)
class ModelFacts:
    """What a model takes: its images' shape ``(H, W, C)`` and, for a conditional model, its number of classes."""

    image_shape: tuple[int, int, int] = MNIST_SHAPE
    num_classes: int | None = None  # None: the model takes no labels, or nothing says yet

    @classmethod
    def of(cls, config: dict[str, Any], conditional: bool = False) -> "ModelFacts":
        """From a record or a Keras config: ``image_shape`` and ``num_classes`` where they are, defaults otherwise.

        Artifacts from before models took other shapes record neither: they are 28x28 digit models.
        """
        shape = config.get("image_shape")
        valid = isinstance(shape, list) and len(shape) == 3 and all(isinstance(d, int) and d > 0 for d in shape)
        classes = config.get("num_classes")
        classes = classes if isinstance(classes, int) and classes > 0 else (NUM_CLASSES if conditional else None)
        return cls(tuple(shape) if valid else MNIST_SHAPE, classes)  # type: ignore[arg-type]


def _not_a_model() -> str:
    folders = [f"{kind}/" for kind in model_kinds()]
    folders = " or ".join(folders) if len(folders) < 3 else f"{', '.join(folders[:-1])} or {folders[-1]}"
    return f"expected a run folder (with {folders}), a model folder, a saved_model/ folder or a .keras file"

# One endpoint on one batch: ``f(batch)``, or ``f(batch, labels)`` for a model that needs labels.
Batch = Callable[..., np.ndarray]


@dataclasses.dataclass(frozen=True)
class ModelLocation:
    """Where a model's artifact is: found from the path alone, before TensorFlow is imported."""

    path: Path  # the saved_model/ folder or the .keras file
    format: str  # "saved_model" or "keras"
    kind: str | None  # the model name ("ae", "beta_vae"...) as recorded beside it, or None when nothing says

    def facts(self) -> ModelFacts:
        """The model's image shape and classes as its files record them, read without TensorFlow.

        For checking inputs before the model loads; :func:`load` reads them from the model itself
        (a SavedModel's signatures) and refuses records that disagree.
        """
        if self.format == "saved_model":
            record = _read_record(self.path / SAVED_MODEL_RECORD)
            return ModelFacts.of(record, str(CONDITIONAL) in (record.get("capabilities") or ()))
        try:
            config = read_keras_config(self.path).get("config")
        except UsageError:
            return ModelFacts()  # loading it says what is wrong with the file
        return ModelFacts.of(config if isinstance(config, dict) else {})


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
    kinds = model_kinds()
    if model_kind is not None and model_kind not in kinds:
        raise UsageError(f"model kind {model_kind!r} is unknown; use one of {', '.join(kinds)}")
    from aezoo.presets import find

    preset = find(path)
    if preset is not None:
        location = ModelLocation(preset.path, "keras", _recorded_name(preset.path / "metadata.json"))
        if model_kind is not None and location.kind is not None and model_kind != location.kind:
            raise UsageError(f"{path}: is a {location.kind} preset, not {model_kind}")
        return location
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such model file or folder; {_not_a_model()}")
    if path.is_file():
        if path.suffix != ".keras":
            raise UsageError(f"{path}: not a model; {_not_a_model()}")
        location = ModelLocation(path, "keras", _recorded_name(path.parent / "metrics.json"))
    elif (path / "saved_model.pb").is_file():
        location = ModelLocation(path, "saved_model", _recorded_name(path / SAVED_MODEL_RECORD))
    elif _has_model(path):
        location = _in_model_folder(path, _recorded_name(path / "metrics.json"))
    else:
        present = [kind for kind in kinds if _has_model(path / kind)]
        if not present:
            raise UsageError(f"{path}: not a model; {_not_a_model()}")
        if model_kind is not None and model_kind not in present:
            raise UsageError(f"{path}: run folder has no {model_kind} model (it has: {', '.join(present)})")
        chosen = model_kind or present[0]
        return _in_model_folder(path / chosen, chosen)
    if model_kind is not None and location.kind is not None and model_kind != location.kind:
        raise UsageError(f"{path}: is a {location.kind} model, not {model_kind}; --model-kind chooses "
                         "between the models of a run folder")
    return location


class TrainedModel:
    """A trained model of the zoo working on numpy arrays.

    Images are ``uint8`` 0-255 or float in [0, 1]: ``[N,H,W,C]`` or one ``[H,W,C]`` of the model's
    :attr:`image_shape` (``[N,H,W]`` and ``[H,W]`` too for a grey model), taken as they are, or
    other sizes and channel counts brought to it by ``fit`` (see the module docstring). Results
    are float32 in [0, 1]: ``denoise`` returns the shape it was given for the model's own shapes and
    ``[N,H,W]`` (grey) or ``[N,H,W,C]`` (colour) for fitted ones; ``encode`` gives
    ``[N, *embedding_shape]`` (the VAE's posterior mean; the VQ-VAE's grid), ``decode``
    ``[N,H,W]`` or ``[N,H,W,C]``. ``encode`` and ``decode`` need a latent space; without one they
    raise UsageError. A conditional model takes ``labels``: one integer class
    ``0 .. num_classes - 1`` per image, or one for all. ``capabilities`` holds what the loaded
    artifact can do (``has(model, ...)``).
    """

    def __init__(self, location: ModelLocation, functions: dict[str, Batch],
                 embedding_shape: tuple[int, ...] | int | None, batch_size: int = DEFAULT_BATCH_SIZE,
                 conditional: bool = False, facts: ModelFacts | None = None) -> None:
        self.location = location
        self.embedding_shape = (None if embedding_shape is None
                                else tuple(int(d) for d in np.atleast_1d(embedding_shape)))
        self.batch_size = _check_batch_size(batch_size)
        self._functions = functions
        facts = facts or ModelFacts()
        self.image_shape: tuple[int, int, int] = facts.image_shape
        self.num_classes: int | None = (facts.num_classes or NUM_CLASSES) if conditional else None
        latent = self.embedding_shape is not None and {"encode", "decode"} <= functions.keys()
        self.capabilities: frozenset[Capability] = frozenset(
            {*([LATENT_SPACE] if latent else []), *([CONDITIONAL] if conditional else [])})

    @property
    def embedding_dim(self) -> int | None:
        """The size of one embedding vector (the last axis of :attr:`embedding_shape`), or None."""
        return None if self.embedding_shape is None else self.embedding_shape[-1]

    @property
    def kind(self) -> str | None:
        """The model's family (``"ae"``, ``"vae"``...), or None when a bare SavedModel's folder does not say."""
        return self.location.kind

    @property
    def path(self) -> Path:
        return self.location.path

    def describe(self) -> str:
        return f"{self.kind or 'unknown-kind'} model ({self.location.format}: {self.path})"

    def card(self) -> dict[str, Any]:
        """The model card's facts as a dict (:func:`aezoo.model_card.model_card`; ``README.md`` renders them)."""
        from aezoo.model_card import model_card

        return model_card(self.path)

    def __repr__(self) -> str:
        return (f"<aezoo TrainedModel {self.describe()}, image_shape={self.image_shape}, "
                f"embedding_shape={self.embedding_shape}>")

    def framing(self, fit: str | None = None) -> Framing:
        """How this model's inputs are brought to its :attr:`image_shape` (``fit`` None: its default)."""
        try:
            return Framing(self.image_shape, fit)
        except UsageError as error:
            raise UsageError(f"{error}; fit brings other image sizes to the model's {_size(self.image_shape)}") from None

    def require_latent_space(self, action: str) -> tuple[int, ...]:
        """The embedding shape; UsageError naming ``action`` when the model has no latent space."""
        if not has(self, LATENT_SPACE) or self.embedding_shape is None:
            raise UsageError(f"the {self.describe()} has no latent space, so it cannot {action}; "
                             "it maps images to images (use denoise)")
        return self.embedding_shape

    def check_labels(self, labels: Any, count: int) -> np.ndarray | None:
        """int32 ``[count]`` labels for this model, or None for a model that takes none.

        ``labels`` is one integer per image or a single integer for all of them. Raises
        UsageError when a model that needs labels gets none (or the wrong count, or a value
        outside its classes), and when a model that takes none gets some: labels must never reach it.
        """
        if not has(self, CONDITIONAL) or self.num_classes is None:
            if labels is not None:
                raise UsageError(f"the {self.describe()} takes no labels (only a conditional model does); "
                                 "give the images alone")
            return None
        if labels is None:
            raise UsageError(f"the {self.describe()} is conditioned on the {class_words(self.num_classes)[0]}: "
                             f"give one label (0-{self.num_classes - 1}) per image, or one for all")
        return as_labels(labels, count, num_classes=self.num_classes)

    # -- whole arrays -------------------------------------------------------------------------

    def denoise(self, images: Any, labels: Any = None, batch_size: int | None = None,
                fit: str | None = None) -> np.ndarray:
        """The clean estimate of ``images``, float32 (the shape given, or the model's for fitted images)."""
        framing = self.framing(fit)
        images, stacked = _as_images(images, framing)
        stack = images if stacked else images[None]
        classes = self.check_labels(labels, len(stack))
        out = np.empty(framing.output_shape(stack.shape), np.float32)
        for start, stop, batch in self._image_batches(stack, framing, batch_size):
            out[start:stop] = self._call("denoise", batch, classes, start, stop).reshape(out[start:stop].shape)
        return out if stacked else out[0]

    def encode(self, images: Any, labels: Any = None, batch_size: int | None = None,
               fit: str | None = None) -> np.ndarray:
        """Embeddings ``[N, *embedding_shape]`` (``[*embedding_shape]`` for one image)."""
        shape = self.require_latent_space("encode images")
        framing = self.framing(fit)
        images, stacked = _as_images(images, framing)
        stack = images if stacked else images[None]
        classes = self.check_labels(labels, len(stack))
        out = np.empty((len(stack), *shape), np.float32)
        for start, stop, batch in self._image_batches(stack, framing, batch_size):
            out[start:stop] = self._call("encode", batch, classes, start, stop)
        return out if stacked else out[0]

    def decode(self, embeddings: Any, labels: Any = None, batch_size: int | None = None) -> np.ndarray:
        """Images ``[N,H,W]`` (grey) or ``[N,H,W,C]`` in [0, 1] from ``[N, *embedding_shape]`` (one image from one)."""
        shape = self.require_latent_space("decode embeddings")
        embeddings = np.asarray(embeddings)
        single = embeddings.shape == shape
        stack = embeddings[None] if single else embeddings
        if stack.ndim != len(shape) + 1 or stack.shape[1:] != shape:
            accepted = ",".join(map(str, shape))
            raise UsageError(f"embeddings: shape {list(embeddings.shape)} is not accepted; this model "
                             f"decodes [N,{accepted}] or [{accepted}]")
        if not (np.issubdtype(stack.dtype, np.floating) or np.issubdtype(stack.dtype, np.integer)):
            raise UsageError(f"embeddings: dtype {stack.dtype} is not accepted; use float")
        classes = self.check_labels(labels, len(stack))
        dims = self.framing().image_dims
        out = np.empty((len(stack), *dims), np.float32)
        step = self._batch_size(batch_size)
        for start in range(0, len(stack), step):
            chunk = stack[start:start + step].astype(np.float32)
            if not np.isfinite(chunk).all():
                bad = start + int(np.argwhere(~np.isfinite(chunk))[0][0])
                raise UsageError(f"embeddings: row {bad} holds NaN or infinity; embeddings must be finite")
            stop = start + len(chunk)
            out[start:stop] = self._call("decode", chunk, classes, start, stop).reshape(-1, *dims)
        return out[0] if single else out

    # -- streams ------------------------------------------------------------------------------

    def denoise_batches(self, batches: Iterable[Any], labels: Iterable[Any] | None = None,
                        fit: str | None = None) -> Iterator[np.ndarray]:
        """Denoise a stream of image batches lazily: one output per input batch, nothing kept.

        ``labels``: for a model that needs labels, a stream of label batches beside ``batches``.
        """
        for batch, classes in zip(batches, _label_stream(labels)):
            yield self.denoise(batch, classes, fit=fit)

    def encode_batches(self, batches: Iterable[Any], labels: Iterable[Any] | None = None,
                       fit: str | None = None) -> Iterator[np.ndarray]:
        """Encode a stream of image batches lazily: one ``[b, *embedding_shape]`` per input batch."""
        for batch, classes in zip(batches, _label_stream(labels)):
            yield self.encode(batch, classes, fit=fit)

    # -- helpers ------------------------------------------------------------------------------

    def _call(self, name: str, batch: np.ndarray, labels: np.ndarray | None, start: int, stop: int) -> np.ndarray:
        function = self._functions[name]
        return function(batch) if labels is None else function(batch, labels[start:stop])

    def _batch_size(self, batch_size: int | None) -> int:
        return self.batch_size if batch_size is None else _check_batch_size(batch_size)

    def _image_batches(self, images: np.ndarray, framing: Framing,
                       batch_size: int | None) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(start, stop, float32 [b,H,W,C])`` of a checked stack, each batch checked and fitted on its own."""
        size = self._batch_size(batch_size)
        for start in range(0, len(images), size):
            stop = min(start + size, len(images))
            pixels = normalize_pixels(images[start:stop], "images", offset=start)
            yield start, stop, framing.bring(pixels).reshape(-1, *self.image_shape)


def _label_stream(labels: Iterable[Any] | None) -> Iterator[Any]:
    return itertools.repeat(None) if labels is None else iter(labels)


def class_words(num_classes: int) -> tuple[str, str]:
    """How messages name a model's classes: (the image's class, one class) - ``("digit's class", "digit class")``.

    A model records how many classes it has, not what they are; ten are the digits it was made for
    (a ten-class model of other images is still called so: the messages' only inexact case).
    """
    return ("digit's class", "digit class") if num_classes == NUM_CLASSES else ("image's class", "class of this model")


def as_labels(labels: Any, count: int, what: str = "labels", num_classes: int = NUM_CLASSES) -> np.ndarray:
    """int32 ``[count]`` from one integer class or ``count`` of them, each in ``0 .. num_classes - 1``.

    ``what`` starts the error messages (e.g. ``"--labels digits.txt"``). Raises UsageError otherwise.
    """
    array = np.asarray(labels)
    allowed = f"integer classes 0-{num_classes - 1}"
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise UsageError(f"{what}: {array.dtype} values are not accepted; give {allowed}")
    whole = np.isfinite(array) & (array == np.round(array)) if array.dtype.kind == "f" else np.ones(array.shape, bool)
    if not whole.all():
        index = np.unravel_index(int(np.argmin(whole)), array.shape)
        raise UsageError(f"{what}: {array[index].item()!r} is not an integer; give {allowed}")
    if array.ndim == 0:
        array = np.full(count, array)
    if array.ndim != 1 or len(array) != count:
        raise UsageError(f"{what}: {array.size} label(s) for {count} image(s); give one label per image, "
                         "or one for all")
    outside = (array < 0) | (array >= num_classes)
    if outside.any():
        index = int(np.argmax(outside))
        raise UsageError(f"{what}: {array[index]:g} (label {index}) is not a {class_words(num_classes)[1]}; labels "
                         f"are 0-{num_classes - 1}")
    return array.astype(np.int32)


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise UsageError(f"batch size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _as_images(images: Any, framing: Framing) -> tuple[np.ndarray, bool]:
    """``(images, stacked)``: the array checked against ``framing``, and whether its first axis counts images."""
    # No copy and no dtype change here: conversion to float32 happens one batch at a time.
    images = images if isinstance(images, np.ndarray) else np.asarray(images)
    framing.check("images", images.shape, images.dtype)
    return images, framing.stacked(images.shape)


def _size(image_shape: tuple[int, ...]) -> str:
    """``28x28 grey`` or ``32x32 colour (3 channels)``."""
    height, width, channels = image_shape
    return f"{height}x{width} " + ("grey" if channels == 1 else f"colour ({channels} channels)")


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
    # denoise is what every family can do; encode and decode come together with a latent space.
    latent = [name for name in ("encode", "decode") if name in signatures]
    if "denoise" not in signatures or len(latent) == 1:
        missing = [name for name in ("denoise", "encode", "decode") if name not in signatures]
        raise UsageError(f"{location.path}: not an aezoo SavedModel: it lacks the {', '.join(missing)} "
                         f"signature(s) (it has: {', '.join(signatures) or 'none'})")
    denoise_inputs = signatures["denoise"].structured_input_signature[1]
    images_spec = denoise_inputs.get("images")
    embeddings_spec = signatures["decode"].structured_input_signature[1].get("embeddings") if latent else None
    image_shape = None if images_spec is None else images_spec.shape[1:]
    if (image_shape is None or image_shape.rank != 3 or not image_shape.is_fully_defined()
            or (latent and embeddings_spec is None)):
        raise UsageError(f"{location.path}: not an aezoo SavedModel: its signatures do not take "
                         "images [N,H,W,C] (and embeddings)")
    # A conditional model's signatures all take labels beside images or embeddings.
    conditional = "labels" in denoise_inputs
    record = _read_record(location.path / SAVED_MODEL_RECORD)
    facts = ModelFacts.of(record, conditional)
    image_shape = tuple(int(d) for d in image_shape)
    if "image_shape" in record and facts.image_shape != image_shape:
        raise UsageError(f"{location.path}: {SAVED_MODEL_RECORD} says the model takes {_size(facts.image_shape)} "
                         f"images, but its signatures take {_size(image_shape)}; the folder is inconsistent")
    facts = dataclasses.replace(facts, image_shape=image_shape)

    def endpoint(name: str, argument: str) -> Batch:
        function = signatures[name]
        if conditional:
            return lambda batch, labels: function(**{argument: tf.constant(batch, tf.float32),
                                                     "labels": tf.constant(labels, tf.int32)})["output_0"].numpy()
        return lambda batch: function(**{argument: tf.constant(batch, tf.float32)})["output_0"].numpy()

    functions = {"denoise": endpoint("denoise", "images")}
    if latent:
        functions |= {"encode": endpoint("encode", "images"), "decode": endpoint("decode", "embeddings")}
    embedding_shape = tuple(int(d) for d in embeddings_spec.shape[1:]) if embeddings_spec is not None else None
    recorded = _recorded_name(location.path / SAVED_MODEL_RECORD)
    if recorded is not None:
        location = dataclasses.replace(location, kind=recorded)
    return TrainedModel(location, functions, embedding_shape, batch_size, conditional, facts)


def read_keras_config(path: Path) -> dict[str, Any]:
    """The ``config.json`` of a ``.keras`` file (or of Keras's unzipped folder format, which presets
    use), read as plain JSON (nothing is deserialised)."""
    try:
        if path.is_dir():
            config = json.loads((path / "config.json").read_text())
        else:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UsageError(f"{path}: not a readable .keras file ({_first_line(error)})") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path}: not a readable .keras file (config.json is not an object)")
    return config


def keras_class(path: Path) -> str:
    """The registered class name of the model in a ``.keras`` file, read from its config.json.

    Read without Keras so an unknown class is refused before anything is deserialized.
    """
    return _registered_name(read_keras_config(path))


def _registered_name(config: dict[str, Any]) -> str:
    return str(config.get("registered_name") or f"{config.get('module')}.{config.get('class_name')}")


# Serialised objects that carry Python code (bytecode, or a SavedModel's graph from another path).
_CODE_CLASSES = {"Lambda", "__lambda__", "TFSMLayer"}
_TRUSTED_PACKAGES = ("keras", "aezoo")


def _trusted(module: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in _TRUSTED_PACKAGES)


def _serialised_objects(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict with a ``class_name`` in a Keras config, with its place (``config.dtype``)."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield where, node
        for key, value in node.items():
            yield from _serialised_objects(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _serialised_objects(value, f"{where}[{i}]")


def check_keras_config(path: Path, config: dict[str, Any], families: Iterable[str] = ()) -> None:
    """Refuse a ``.keras`` config that could run code or that aezoo's models never write.

    Keras' safe mode stops a serialised lambda only where Keras deserialises it as one; a lambda
    (or any class) placed where a plain value belongs, such as a layer's ``dtype``, slips past it
    into the model and breaks later. aezoo's models hold only Keras and aezoo objects (and the
    zoo's model classes, whose registered names are ``families``), so anything else, anywhere in
    the config, is refused before Keras sees the file.
    """
    families = set(families)
    for where, item in _serialised_objects(config, ""):
        place = where or "the model"
        class_name, module = str(item.get("class_name")), item.get("module")
        registered = str(item.get("registered_name") or "")
        if class_name in _CODE_CLASSES:
            raise UsageError(f"{path}: refused: {place} holds a serialised {class_name} (Python code), which "
                             "aezoo's models never contain; it was not loaded")
        if where.endswith(".dtype") and not class_name.endswith(("DTypePolicy", "DTypePolicyMap")):
            raise UsageError(f"{path}: refused: {place} holds a {class_name} where a dtype policy belongs; "
                             "it was not loaded")
        outside = (module is not None and not _trusted(str(module))) or (
            ">" in registered and not _trusted(registered.partition(">")[0]))
        if outside and registered not in families:
            raise UsageError(f"{path}: refused: {place} names {module or registered}.{class_name}, from outside "
                             "Keras and aezoo; it was not loaded")


def load_keras_model(path: str | os.PathLike[str], kind: str | None = None, compile: bool = False) -> Any:
    """Load an aezoo model from a ``.keras`` file: the one way every command and the analysis do it.

    The file's config is read as plain JSON first: a file that is not a readable ``.keras``
    archive (a missing or corrupt ``config.json``), a class that is not one of aezoo's families,
    or anything that carries code is refused before Keras deserialises anything; Keras then
    loads it in safe mode. ``kind`` (default: the name recorded in the model's own config) is the
    model name expected. ``compile``: restore the training configuration too (the
    analysis evaluates with it).

    Raises:
        UsageError: one line saying what is wrong with the file.
    """
    return _load_keras_file(path, kind, compile)[0]


def _load_keras_file(path: str | os.PathLike[str], kind: str | None = None,
                     compile: bool = False) -> tuple[Any, str | None, dict[str, Any]]:
    """``(model, its name, its config.json)``."""
    path = Path(path)
    if not (path.is_file() or (path / "config.json").is_file()):
        raise UsageError(f"{path}: no such model file; {_not_a_model()}")
    config = read_keras_config(path)
    registered = _registered_name(config)
    import keras

    from aezoo.families import model_classes, spec_for_config

    # Importing each family's class registers it with Keras, so the file can name it.
    classes = {keras.saving.get_registered_name(cls): cls for cls in model_classes()}
    if registered not in classes:
        raise UsageError(f"{path}: holds a model of class {registered!r}, not one of aezoo's "
                         f"({', '.join(sorted(classes))}); it was not loaded")
    check_keras_config(path, config, classes)
    # The name the model was built under (its Keras config's "name": "beta_vae") says which preset it
    # is; the folder's name is never consulted.
    built_as = (config.get("config") or {}).get("name") if isinstance(config.get("config"), dict) else None
    spec = spec_for_config(classes[registered].__name__, kind or built_as)
    if kind is not None and spec is not None and spec.name != kind:
        raise UsageError(f"{path}: is a {spec.name} model, not {kind}")
    try:
        # safe_mode=True: Keras refuses to deserialize Python lambdas (bytecode) from the file.
        model = keras.saving.load_model(str(path), compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises ValueError, TypeError, OSError... for a broken file
        raise UsageError(f"{path}: cannot load the Keras model ({_first_line(error)})") from None
    if not isinstance(model, classes[registered]):
        raise UsageError(f"{path}: holds a {type(model).__name__}, not an aezoo model of class {registered}")
    return model, (spec.name if spec else None), config


def _load_keras(location: ModelLocation, batch_size: int) -> TrainedModel:
    model, name, config = _load_keras_file(location.path, location.kind)
    conditional = has(model, CONDITIONAL)
    # The shape is read from the config, where every family's constructor records it.
    facts = ModelFacts.of(config.get("config") or {}, conditional)
    if conditional:
        facts = dataclasses.replace(facts, num_classes=int(model.num_classes))
    functions, embedding_shape = _keras_functions(model, facts.image_shape)
    return TrainedModel(dataclasses.replace(location, kind=name), functions, embedding_shape,
                        batch_size, conditional, facts)


def _keras_functions(model: Any, image_shape: tuple[int, int, int]) -> tuple[dict[str, Batch], tuple[int, ...] | None]:
    """numpy-in, numpy-out endpoints of a Keras model, as far as its capabilities go."""
    import tensorflow as tf

    images = tf.TensorSpec([None, *image_shape], tf.float32)
    # A conditional model takes int32 labels [N] after its images or embeddings, in every endpoint.
    extra = [tf.TensorSpec([None], tf.int32)] if has(model, CONDITIONAL) else []
    # One traced graph per endpoint: eager calls would redo Python work for every batch.
    graphs = {"denoise": tf.function(model.denoise, input_signature=[images, *extra])}
    embedding_shape = None
    if has(model, LATENT_SPACE):
        embedding_shape = tuple(int(d) for d in model.embedding_shape)
        embeddings = tf.TensorSpec([None, *embedding_shape], tf.float32)
        graphs |= {"encode": tf.function(model.encode, input_signature=[images, *extra]),
                   "decode": tf.function(model.decode, input_signature=[embeddings, *extra])}
    functions = {name: (lambda graph: lambda *batch: graph(*batch).numpy())(graph) for name, graph in graphs.items()}
    return functions, embedding_shape


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


__all__ = ["DEFAULT_BATCH_SIZE", "NUM_CLASSES", "ModelFacts", "ModelLocation", "TrainedModel", "add_noise",
           "as_labels", "class_words",
           "check_keras_config", "keras_class", "load", "load_keras_model", "locate_model", "model_kinds", "read_keras_config"]
