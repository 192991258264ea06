"""SavedModel export with signatures that plain TensorFlow can serve, chosen by the model's capabilities.

The artifact holds graphs and weights only: a process that never imports aezoo (or Keras) loads
it with ``tf.saved_model.load`` and calls::

    sm = tf.saved_model.load("runs/.../ae/saved_model")
    sm.signatures["serving_default"](images=x)["output_0"]   # denoise, x: float32 [N,H,W,C] in [0,1]
    sm.signatures["encode"](images=x)["output_0"]            # embeddings [N, *embedding_shape]
    sm.signatures["decode"](embeddings=z)["output_0"]        # images [N,H,W,C]
    sm.signatures["sample"](seed=s, n=n)["output_0"]         # n new images [n,H,W,C] (with a sampler)
    sm.denoise(x), sm.encode(x), sm.decode(z)                # the same, as plain functions

Which signatures exist follows from the model's capabilities:

* always ``serving_default`` and ``denoise``;
* ``encode`` and ``decode`` when it has a latent space (not the U-Net);
* ``sample`` when it is exported with a sampler (:mod:`aezoo.samplers`; the training run exports
  each model with its default one): ``sample(seed, n)``, or ``sample(seed, labels)`` (one image per
  label) for a conditional model; the sampler's arrays or network are part of the graph;
* a conditional model takes ``labels`` (int32 ``[N]``) beside ``images`` or ``embeddings`` in every
  signature.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import keras
import tensorflow as tf

from aezoo.families import family_of
from aezoo.files import atomic_directory
from aezoo.run_folder import SAVED_MODEL_RECORD
from aezoo.models.base import DenoisingAutoencoderBase
from aezoo.models.capabilities import CONDITIONAL, LATENT_SPACE, capabilities_of, has, names
from aezoo.samplers.base import Sampler


def signature_names(model: DenoisingAutoencoderBase, sampler: Sampler | None = None) -> tuple[str, ...]:
    """The signatures :func:`export_saved_model` writes for ``model`` (and ``sampler``), in a fixed order."""
    names = ["serving_default", "denoise"]
    if has(model, LATENT_SPACE):
        names += ["encode", "decode"]
    if sampler is not None:
        names.append("sample")
    return tuple(names)


def endpoints(model: DenoisingAutoencoderBase,
              sampler: Sampler | None = None) -> dict[str, tuple[Callable[..., Any], list[tf.TensorSpec]]]:
    """Endpoint name -> (function, input signature), by capability; ``denoise`` comes first."""
    images = tf.TensorSpec([None, *model.image_shape], tf.float32, name="images")
    labels = tf.TensorSpec([None], tf.int32, name="labels")
    seed = tf.TensorSpec([], tf.int32, name="seed")
    conditional = has(model, CONDITIONAL)
    found: dict[str, tuple[Callable[..., Any], list[tf.TensorSpec]]] = {}
    if conditional:
        found["denoise"] = (lambda images, labels: model.denoise(images, labels), [images, labels])
    else:
        found["denoise"] = (lambda images: model.denoise(images), [images])
    if has(model, LATENT_SPACE):
        embeddings = tf.TensorSpec([None, *model.embedding_shape], tf.float32, name="embeddings")
        if conditional:
            found["encode"] = (lambda images, labels: model.encode(images, labels), [images, labels])
            found["decode"] = (lambda embeddings, labels: model.decode(embeddings, labels), [embeddings, labels])
        else:
            found["encode"] = (lambda images: model.encode(images), [images])
            found["decode"] = (lambda embeddings: model.decode(embeddings), [embeddings])
    if sampler is not None:
        if conditional:
            found["sample"] = (lambda seed, labels: sampler.draw(tf.shape(labels)[0], seed, labels), [seed, labels])
        else:
            found["sample"] = (lambda seed, n: sampler.draw(n, seed), [seed, tf.TensorSpec([], tf.int32, name="n")])
    return found


def export_saved_model(model: DenoisingAutoencoderBase, path: str | os.PathLike[str],
                       sampler: Sampler | None = None) -> Path:
    """Write ``model`` as a SavedModel at ``path`` (atomically: a folder appears whole or not at all).

    The signatures are those of :func:`signature_names`; with a ``sampler`` (fitted) the model
    can ``sample`` without aezoo. All but ``sample`` are deterministic: VAEs decode the posterior
    mean at serving time.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    for network in sampler.networks() if sampler is not None else ():  # a sampler's own weights (a PixelCNN)
        archive.track(network)
    # The first endpoint also becomes "serving_default", what TF-Serving calls by default.
    for name, (function, signature) in endpoints(model, sampler).items():
        archive.add_endpoint(name, function, input_signature=signature)
    path = Path(path)
    # TensorFlow's file system reports a full disk as its own ResourceExhaustedError, which
    # atomic_directory turns into a one-line WriteError like any OSError.
    with atomic_directory(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
        # Which model this is, for aezoo.load (graphs do not say whether a VAE is the beta_vae preset).
        (tmp / SAVED_MODEL_RECORD).write_text(json.dumps(record(model, sampler), indent=2) + "\n")
    return path


def record(model: DenoisingAutoencoderBase, sampler: Sampler | None = None) -> dict[str, Any]:
    """What ``aezoo.json`` says of an exported model: its name, family, class, capabilities, sampler,
    image shape and, for a conditional model, its number of classes (which labels it takes: the
    graphs do not say)."""
    family = family_of(model)
    found = {"model": model.name, "family": None if family is None else family.name, "class": type(model).__name__,
             "capabilities": names(capabilities_of(model)),
             "sampler": None if sampler is None else sampler.name, "image_shape": list(model.image_shape)}
    if has(model, CONDITIONAL):
        found["num_classes"] = int(model.num_classes)
    return found
