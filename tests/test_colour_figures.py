"""Every figure of images draws colour images in colour and grey ones in grey, at any size.

Each drawing function is given pure green images of a size no model of the zoo defaults to (20x36)
and saved as a PNG: green must show, and the same images made grey must show no green at all (the
red frames and class colours of some figures are never pure green). End to end: tests/test_own_images.py.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

SHAPE = (20, 36)  # height x width: neither square nor 28x28


def green(count: int) -> np.ndarray:
    images = np.zeros((count, *SHAPE, 3), np.float32)
    images[..., 1] = 1.0
    return images


def grey(images: np.ndarray) -> np.ndarray:
    """The same images in grey ``[..., 1]``: what a figure that dropped the colour would draw."""
    return images.mean(axis=-1, keepdims=True)


def green_share(path: Path) -> float:
    """Share of the picture's pixels that are pure green (as the images drawn)."""
    from PIL import Image

    with Image.open(path) as picture:
        pixels = np.asarray(picture.convert("RGB")).astype(int)
    return float(((pixels[..., 1] > 200) & (pixels[..., 0] < 60) & (pixels[..., 2] < 60)).mean())


def saved(figure: Any, path: Path) -> Path:
    from aezoo.plotting import save_figure

    save_figure(figure, path)
    return path


class DecodesGreen:
    """A model with a 2-D latent space whose decoder draws every code as the given images do."""

    embedding_shape = (2,)
    num_classes = 2

    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    def decode(self, codes: Any, labels: Any = None) -> np.ndarray:
        return np.repeat(self.image[None], len(np.asarray(codes)), axis=0)


def reconstructions(images: np.ndarray, path: Path) -> Path:
    from aezoo.callbacks.reconstruction_plot import draw_rows

    return saved(draw_rows([images, images, images], ["noisy", "denoised", "clean"], "epoch 1"), path)


def prior_samples(images: np.ndarray, path: Path) -> Path:
    from aezoo.analysis.plotting import image_grid

    return saved(image_grid(images, columns=4, title="samples"), path)


def interpolations(images: np.ndarray, path: Path) -> Path:
    from aezoo.analysis.interpolation import plot_interpolations

    strips = [np.repeat(images[:1], 12, axis=0) for _ in range(2)]
    return saved(plot_interpolations(images, None, [(0, 1), (2, 3)], strips, (), "interpolation"), path)


def latent_grid(images: np.ndarray, path: Path) -> Path:
    from aezoo.analysis import _latent_grid

    return saved(_latent_grid(DecodesGreen(images[0]), "vae", size=5), path)


def style_transfer(images: np.ndarray, path: Path) -> Path:
    from aezoo.families.cvae.analysis import plot_style_transfer

    grid = np.repeat(images[:2, None], 2, axis=1)
    return saved(plot_style_transfer(images, np.array([0, 1, 0, 1]), [0, 1], grid, ("a", "b"), "style"), path)


def generated_samples(images: np.ndarray, path: Path) -> Path:
    from aezoo.generation.pictures import draw_samples

    sampler = types.SimpleNamespace(conditional=False, sample=lambda count, seed, labels=None: images[:1].repeat(
        count, axis=0))
    return draw_samples(sampler, path, seed=0)  # type: ignore[arg-type]


FIGURES: dict[str, Callable[[np.ndarray, Path], Path]] = {
    "reconstructions": reconstructions, "prior samples": prior_samples, "interpolations": interpolations,
    "latent grid": latent_grid, "style transfer": style_transfer, "generated samples": generated_samples,
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_colour_images_are_drawn_in_colour_and_grey_ones_in_grey(name: str, tmp_path: Path) -> None:
    draw = FIGURES[name]
    colour = draw(green(4), tmp_path / "colour.png")
    assert green_share(colour) > 0.05, f"{name}: the colour images are not drawn in colour"
    assert green_share(draw(grey(green(4)), tmp_path / "grey.png")) == 0, f"{name}: grey images drawn in colour"


def test_generated_samples_are_rgb_pngs_for_colour_and_grey_ones_for_grey(tmp_path: Path) -> None:
    from PIL import Image

    for images, mode in ((green(4), "RGB"), (grey(green(4)), "L")):
        with Image.open(generated_samples(images, tmp_path / f"{mode}.png")) as picture:
            assert picture.mode == mode


def test_tensorboard_pictures_keep_the_channels() -> None:
    from aezoo.callbacks.tensorboard_images import grid

    assert grid([green(3), green(3)]).shape == (2 * SHAPE[0] + 2, 3 * SHAPE[1] + 4, 3)
    assert grid([grey(green(3))]).shape == (SHAPE[0], 3 * SHAPE[1] + 4, 1)
