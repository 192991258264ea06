"""SavedModel export with three signatures that plain TensorFlow can serve.

The artifact holds graphs and weights only: a process that never imports aezoo (or Keras) loads
it with ``tf.saved_model.load`` and calls::

    sm = tf.saved_model.load("runs/.../ae/saved_model")
    sm.signatures["serving_default"](images=x)["output_0"]   # denoise, x: float32 [N,28,28,1] in [0,1]
    sm.signatures["encode"](images=x)["output_0"]            # embeddings [N, embedding_dim]
    sm.signatures["decode"](embeddings=z)["output_0"]        # images [N,28,28,1]
    sm.denoise(x), sm.encode(x), sm.decode(z)                # the same, as plain functions
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf

from aezoo.files import atomic_directory
from aezoo.models import DenoisingAutoencoderBase

SIGNATURES = ("serving_default", "denoise", "encode", "decode")


def export_saved_model(model: DenoisingAutoencoderBase, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` as a SavedModel at ``path`` (atomically: a folder appears whole or not at all).

    Endpoints ``denoise`` (also ``serving_default``), ``encode`` (the VAE's posterior mean) and
    ``decode``. All are deterministic: the VAE does not sample at serving time.
    """
    images = tf.TensorSpec([None, 28, 28, 1], tf.float32, name="images")
    embeddings = tf.TensorSpec([None, model.embedding_dim], tf.float32, name="embeddings")
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The first endpoint also becomes "serving_default", what TF-Serving calls by default.
    archive.add_endpoint("denoise", lambda images: model.denoise(images), input_signature=[images])
    archive.add_endpoint("encode", lambda images: model.encode(images), input_signature=[images])
    archive.add_endpoint("decode", lambda embeddings: model.decode(embeddings), input_signature=[embeddings])
    path = Path(path)
    with atomic_directory(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return path
