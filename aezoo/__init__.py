"""aezoo: a Keras-native zoo of denoising autoencoders (noisy MNIST in, clean digits out)."""

from aezoo.errors import UsageError

__version__ = "0.1.0"

__all__ = ["UsageError", "__version__"]


def load(path, model_kind=None, batch_size=1024):  # type: ignore[no-untyped-def]
    """Load a trained model for inference: ``aezoo.load("runs/x").denoise(images)``.

    Lazy on purpose: ``import aezoo`` stays cheap (no TensorFlow) until a model is loaded.
    See :func:`aezoo.inference.load` for the arguments.
    """
    from aezoo.inference import load as _load

    return _load(path, model_kind=model_kind, batch_size=batch_size)


def save_preset(model_or_run_folder, directory, model_kind=None):  # type: ignore[no-untyped-def]
    """Write a preset (:mod:`aezoo.presets`) of a trained model into ``directory``; return its path.

    ``model_or_run_folder``: a model folder (``RUN/vae``) or a run folder (``model_kind`` picks the
    model; default: its first). The preset loads by its path (``aezoo.load(directory)``) or, uploaded
    to a hub, by its address (``hf://user/repo``).
    """
    from aezoo.presets import save_from

    return save_from(model_or_run_folder, directory, model_kind)


__all__ += ["load", "save_preset"]
