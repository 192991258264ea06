"""aezoo: a Keras-native zoo of denoising autoencoders (noisy MNIST in, clean digits out)."""

from aezoo.errors import UsageError

__version__ = "0.1.0"

__all__ = ["UsageError", "__version__"]
