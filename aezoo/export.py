"""SavedModel export with signatures that plain TensorFlow can serve, chosen by the model's capabilities.

The artifact holds graphs and weights only: a process that never imports aezoo (or Keras) loads
it with ``tf.saved_model.load`` and calls::

    sm = tf.saved_model.load("runs/.../ae/saved_model")
    sm.signatures["serving_default"](images=x)["output_0"]   # denoise, x: float32 [N,28,28,1] in [0,1]
    sm.signatures["encode"](images=x)["output_0"]            # embeddings [N, *embedding_shape]
    sm.signatures["decode"](embeddings=z)["output_0"]        # images [N,28,28,1]
    sm.signatures["sample"](seed=s, n=n)["output_0"]         # n new digits (generative models)
    sm.denoise(x), sm.encode(x), sm.decode(z)                # the same, as plain functions

Which signatures exist follows from the model's capabilities:

* always ``serving_default`` and ``denoise``;
* ``encode`` and ``decode`` when it has a latent space (not the U-Net);
* ``sample`` when it is generative: ``sample(seed, n)``, or ``sample(seed, labels)`` (one digit
  per label) when it needs labels;
* a model that needs labels takes ``labels`` (int32 ``[N]``, classes 0-9) beside ``images`` or
  ``embeddings`` in every signature.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import keras
import tensorflow as tf

from aezoo.files import atomic_directory
from aezoo.models import DenoisingAutoencoderBase

SIGNATURES = ("serving_default", "denoise", "encode", "decode", "sample")


def signature_names(model: DenoisingAutoencoderBase) -> tuple[str, ...]:
    """The signatures :func:`export_saved_model` writes for ``model``, in a fixed order."""
    names = ["serving_default", "denoise"]
    if model.has_latent_space:
        names += ["encode", "decode"]
    if model.is_generative:
        names.append("sample")
    return tuple(names)


def endpoints(model: DenoisingAutoencoderBase) -> dict[str, tuple[Callable[..., Any], list[tf.TensorSpec]]]:
    """Endpoint name -> (function, input signature), by capability; ``denoise`` comes first."""
    images = tf.TensorSpec([None, 28, 28, 1], tf.float32, name="images")
    labels = tf.TensorSpec([None], tf.int32, name="labels")
    seed = tf.TensorSpec([], tf.int32, name="seed")
    conditional = bool(model.needs_labels)
    found: dict[str, tuple[Callable[..., Any], list[tf.TensorSpec]]] = {}
    if conditional:
        found["denoise"] = (lambda images, labels: model.denoise(images, labels), [images, labels])
    else:
        found["denoise"] = (lambda images: model.denoise(images), [images])
    if model.has_latent_space:
        embeddings = tf.TensorSpec([None, *model.embedding_shape], tf.float32, name="embeddings")
        if conditional:
            found["encode"] = (lambda images, labels: model.encode(images, labels), [images, labels])
            found["decode"] = (lambda embeddings, labels: model.decode(embeddings, labels), [embeddings, labels])
        else:
            found["encode"] = (lambda images: model.encode(images), [images])
            found["decode"] = (lambda embeddings: model.decode(embeddings), [embeddings])
    if model.is_generative:
        if conditional:
            found["sample"] = (lambda seed, labels: model.sample(tf.shape(labels)[0], labels=labels, seed=seed),
                               [seed, labels])
        else:
            found["sample"] = (lambda seed, n: model.sample(n, seed=seed),
                               [seed, tf.TensorSpec([], tf.int32, name="n")])
    return found


def export_saved_model(model: DenoisingAutoencoderBase, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` as a SavedModel at ``path`` (atomically: a folder appears whole or not at all).

    The signatures are those of :func:`signature_names`. All but ``sample`` are deterministic:
    VAEs decode the posterior mean at serving time.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The first endpoint also becomes "serving_default", what TF-Serving calls by default.
    for name, (function, signature) in endpoints(model).items():
        archive.add_endpoint(name, function, input_signature=signature)
    path = Path(path)
    # TensorFlow's file system reports a full disk as its own ResourceExhaustedError, which
    # atomic_directory turns into a one-line WriteError like any OSError.
    with atomic_directory(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return path
