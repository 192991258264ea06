"""Data: loaders for MNIST-like sources, noise models and the tf.data pipeline. Knows nothing of models."""

from aezoo.datasets.noise import (
    DEFAULT_STRENGTH, NOISE_KINDS, GaussianNoise, MaskingNoise, Noise, SaltAndPepperNoise, make_noise,
)
from aezoo.datasets.pipeline import IMAGE_SHAPE, normalize, test_dataset, test_pairs, training_dataset
from aezoo.datasets.sources import DATASET_NAMES, ImageSplits, load_dataset, load_embedded, load_folder

__all__ = [
    "DATASET_NAMES", "DEFAULT_STRENGTH", "IMAGE_SHAPE", "NOISE_KINDS", "GaussianNoise", "ImageSplits",
    "MaskingNoise", "Noise", "SaltAndPepperNoise", "load_dataset", "load_embedded", "load_folder",
    "make_noise", "normalize", "test_dataset", "test_pairs", "training_dataset",
]
