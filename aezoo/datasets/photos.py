"""Offline photographs as a second kind of data: patches cut from the colour photos inside the wheels.

scikit-image (``skimage/data``) and scikit-learn (``load_sample_images``) ship real colour
photographs. Cutting them into non-overlapping square patches gives a small, label-free dataset of
natural images, on which the zoo is tried away from digits:

* ``photos``: 32x32 RGB patches;
* ``photos_gray64``: 64x64 grayscale patches of the same photographs.

The training and test patches come from *different* photographs (training: scikit-image's; test:
scikit-learn's two), so the test split measures how a model does on pictures it never saw a
piece of. Patches are taken on a fixed grid in row order, so the data never changes.
"""

from __future__ import annotations

import numpy as np

from aezoo.errors import UsageError

# scikit-image's colour photographs (file names in skimage/data), for training.
TRAIN_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                "motorcycle_right.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg")
# scikit-learn's two sample photographs (china, flower), for testing.
PHOTO_DATASETS = {"photos": (32, "rgb"), "photos_gray64": (64, "grayscale")}


def _skimage_photos() -> list[np.ndarray]:
    try:
        from importlib import resources

        folder = resources.files("skimage").joinpath("data")
    except ModuleNotFoundError:
        raise UsageError("the photo datasets need scikit-image: pip install scikit-image") from None
    from PIL import Image

    photos = []
    for name in TRAIN_PHOTOS:
        with resources.as_file(folder.joinpath(name)) as path, Image.open(path) as image:
            photos.append(np.asarray(image.convert("RGB")))
    return photos


def _sklearn_photos() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return [np.asarray(image) for image in load_sample_images().images]


def patches(photo: np.ndarray, size: int, color_mode: str) -> np.ndarray:
    """Non-overlapping ``size x size`` patches of one RGB photo, row by row, uint8 ``[n, size, size, C]``."""
    if color_mode == "grayscale":
        from PIL import Image

        photo = np.asarray(Image.fromarray(photo).convert("L"))[..., None]
    rows, columns = photo.shape[0] // size, photo.shape[1] // size
    cut = photo[:rows * size, :columns * size]
    return (cut.reshape(rows, size, columns, size, -1).transpose(0, 2, 1, 3, 4)
            .reshape(rows * columns, size, size, cut.shape[-1]).astype(np.uint8))


def load_photos(name: str = "photos") -> "ImageSplits":  # noqa: F821  (imported below, avoiding a cycle)
    """The patch dataset ``name`` (:data:`PHOTO_DATASETS`), without labels."""
    from aezoo.datasets.sources import ImageSplits

    size, color_mode = PHOTO_DATASETS[name]
    train = np.concatenate([patches(photo, size, color_mode) for photo in _skimage_photos()])
    test = np.concatenate([patches(photo, size, color_mode) for photo in _sklearn_photos()])
    return ImageSplits(name, train, None, test, None, class_names=(),
                       source="skimage/data photographs (train), sklearn sample images (test)")


__all__ = ["PHOTO_DATASETS", "TRAIN_PHOTOS", "load_photos", "patches"]
