"""Data: loaders for MNIST-like sources, noise models and the tf.data pipeline. Knows nothing of models."""

from aezoo.datasets.noise import (
    DEFAULT_STRENGTH, NOISE_KINDS, GaussianNoise, MaskingNoise, Noise, SaltAndPepperNoise, make_noise,
)
from aezoo.datasets.pipeline import (
    IMAGE_SHAPE, normalize, pairs_dataset, test_dataset, test_pairs, training_dataset, validation_pairs,
)
from aezoo.datasets.sources import (
    DATASET_NAMES, DEFAULT_VALIDATION_FRACTION, ImageSplits, carve_validation, check_validation_fraction,
    image_noun, load_dataset, load_embedded, load_folder,
)

__all__ = [
    "DATASET_NAMES", "DEFAULT_STRENGTH", "DEFAULT_VALIDATION_FRACTION", "carve_validation",
    "check_validation_fraction", "image_noun", "pairs_dataset", "validation_pairs", "IMAGE_SHAPE", "NOISE_KINDS", "GaussianNoise", "ImageSplits",
    "MaskingNoise", "Noise", "SaltAndPepperNoise", "load_dataset", "load_embedded", "load_folder",
    "make_noise", "normalize", "test_dataset", "test_pairs", "training_dataset",
]
