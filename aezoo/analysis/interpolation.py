"""Linear interpolation in latent space, and a number for how smoothly the decoded images change.

Take two test images, embed them (``z_a``, ``z_b``), walk the straight line
``z(t) = (1 - t) z_a + t z_b`` for ``t`` from 0 to 1 and decode every point. If the latent space
is "filled in", every intermediate code decodes to a plausible image and the strip morphs
gradually from one image to the other. A plain autoencoder is never asked to decode codes
*between* training codes, so it may pass through blurry non-images or change abruptly; the VAE's
KL term packs the codes into one smooth cloud around the origin, which is why it is expected
to interpolate better. Here that expectation is *measured*:

* step distance: mean absolute pixel difference between consecutive decoded images (0 to 1);
* ``mean_step`` and ``max_step``: its average and its largest value over all pairs;
* ``jump_ratio``: per pair, the largest step divided by the average step, then averaged. 1.0
  means the change is spread perfectly evenly over the steps; with S steps, S means the whole
  change happens in one jump. It does not depend on how different the two end images are, so it
  compares models fairly.
* ``end_error``: how far the strip's decoded ends are from the two real images (mean absolute
  pixel difference), so a strip that is smooth only because it never changes is recognised.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from aezoo.analysis.embeddings import decode
from matplotlib.patches import Rectangle

from aezoo.analysis.plotting import plt, show_mosaic

# Decoded points per pair, both ends included: 10 interpolated codes between the two embeddings.
INTERPOLATION_POINTS = 12
SHOWN_PAIRS = 4
MEASURED_PAIRS = 100


def choose_pairs(labels: np.ndarray, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """``count`` index pairs that alternate different-class and same-class, reproducibly.

    The first pair is always of two different classes and the second (when some class has two
    images) of the same class, so even the shortest list shows both kinds. Pairs depend only on
    the labels and the seed, so every model is interpolated between the same images.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    repeated = [c for c in classes if np.sum(labels == c) >= 2]
    pairs: list[tuple[int, int]] = []
    used: set[tuple[int, ...]] = set()  # class combinations already drawn, so the first rows differ
    while len(pairs) < count:
        same = len(pairs) % 2 == 1 and repeated
        for _ in range(20):  # a few redraws to find a new combination; repeats are fine once all are used
            if same:
                chosen = (rng.choice(repeated),)
            elif len(classes) >= 2:
                chosen = tuple(rng.choice(classes, size=2, replace=False))
            else:  # a single class: nothing to contrast
                chosen = (classes[0],)
            if tuple(sorted(chosen)) not in used:
                break
        used.add(tuple(sorted(chosen)))
        if len(chosen) == 2:
            a = rng.choice(np.flatnonzero(labels == chosen[0]))
            b = rng.choice(np.flatnonzero(labels == chosen[1]))
        else:
            a, b = rng.choice(np.flatnonzero(labels == chosen[0]), size=2, replace=False)
        pairs.append((int(a), int(b)))
    return pairs


def choose_any_pairs(images: int, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """``count`` pairs of two different indices among ``images``, by the seed alone: for data without
    labels, where there is no class to alternate. Pairs repeat only once every pair has been drawn."""
    if images < 2:
        raise ValueError(f"interpolation pairs need at least 2 images, got {images}")
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    used: set[tuple[int, int]] = set()
    while len(pairs) < count:
        for _ in range(20):  # a few redraws to find a new pair, as choose_pairs does for class combinations
            a, b = (int(i) for i in rng.choice(images, size=2, replace=False))
            if (min(a, b), max(a, b)) not in used:
                break
        used.add((min(a, b), max(a, b)))
        pairs.append((a, b))
    return pairs


def interpolate(model: keras.Model, z_a: np.ndarray, z_b: np.ndarray, points: int = INTERPOLATION_POINTS,
                labels: tuple[int, int] | None = None) -> np.ndarray:
    """``[points, H, W, C]`` images decoded along the segment from ``z_a`` to ``z_b`` (ends included).

    ``z_a`` and ``z_b`` are flattened embeddings (a grid code is interpolated cell by cell and
    reshaped by :func:`~aezoo.analysis.embeddings.decode`). ``labels``, for a model that decodes
    a code *given* a class: the classes of the two ends. The first half of the strip is decoded as
    the first class and the second half as the second, so both ends reconstruct their own image;
    between two classes the label switch is a jump that no straight line in code space can avoid.
    """
    codes, strip_labels = _segment(z_a, z_b, points, labels)
    return decode(model, codes, strip_labels)


def _segment(z_a: np.ndarray, z_b: np.ndarray, points: int,
             labels: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``points`` codes from ``z_a`` to ``z_b`` and, given the ends' classes, the class of each."""
    if points < 2:
        raise ValueError(f"interpolation needs at least 2 points, got {points}")
    t = np.linspace(0.0, 1.0, points)[:, None]
    codes = (1.0 - t) * np.asarray(z_a).reshape(1, -1) + t * np.asarray(z_b).reshape(1, -1)
    return codes, None if labels is None else np.where(t[:, 0] < 0.5, labels[0], labels[1])


def step_distances(strip: np.ndarray) -> np.ndarray:
    """``[points - 1]`` mean absolute pixel difference between consecutive images of a strip."""
    strip = np.asarray(strip, dtype=np.float64)
    return np.abs(np.diff(strip, axis=0)).reshape(len(strip) - 1, -1).mean(axis=1)


def smoothness(strips: Sequence[np.ndarray], ends: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float]:
    """``mean_step``, ``max_step`` and ``jump_ratio`` (see the module docstring) over many strips.

    Args:
        strips: ``[points, H, W, C]`` decoded images per pair.
        ends: optionally the real first and second images of every pair (``[pairs, H, W, C]``
            each). Then ``end_error`` is also reported: the mean absolute pixel difference between
            each strip's two ends and the real images. A strip can only be "smooth" in a useful
            sense if it really starts and ends at the two images; a model that decodes everything
            to the same blur has tiny, perfectly even steps and a large ``end_error``.
    """
    steps = np.stack([step_distances(strip) for strip in strips])  # [pairs, points - 1]
    means = steps.mean(axis=1)
    # A pair whose two ends decode to the same image has no change to spread: ratio 1 by convention.
    ratios = np.where(means > 1e-12, steps.max(axis=1) / np.maximum(means, 1e-12), 1.0)
    result = {"mean_step": float(steps.mean()), "max_step": float(steps.max()), "jump_ratio": float(ratios.mean()),
              "pairs": int(len(strips)), "points_per_pair": int(steps.shape[1] + 1)}
    if ends is not None:
        first = np.stack([strip[0] for strip in strips])
        last = np.stack([strip[-1] for strip in strips])
        result["end_error"] = float((np.abs(first - ends[0]).mean() + np.abs(last - ends[1]).mean()) / 2)
    return result


def interpolation_strips(model: keras.Model, embeddings: np.ndarray, pairs: Sequence[tuple[int, int]],
                         points: int = INTERPOLATION_POINTS, labels: np.ndarray | None = None) -> list[np.ndarray]:
    """One decoded strip per pair of image indices, from the images' embeddings (and classes, if given).

    Every strip's codes are decoded together, in a few large batches rather than one call per pair.
    """
    segments = [_segment(embeddings[a], embeddings[b], points,
                         None if labels is None else (int(labels[a]), int(labels[b]))) for a, b in pairs]
    codes = np.concatenate([codes for codes, _ in segments])
    strip_labels = None if labels is None else np.concatenate([classes for _, classes in segments])
    images = decode(model, codes, strip_labels)
    return list(images.reshape(len(pairs), points, *images.shape[1:]))


def plot_interpolations(images: np.ndarray, labels: np.ndarray | None, pairs: Sequence[tuple[int, int]],
                        strips: Sequence[np.ndarray], class_names: Sequence[str], title: str) -> Any:
    """One row per pair: the real first image, the decoded strip, the real second image.

    The real images frame each strip so one can see what the decoder makes of the two ends
    (``t = 0`` and ``t = 1`` are reconstructions, not the inputs). Drawn as one mosaic
    (:func:`~aezoo.plotting.show_mosaic`, colour images in colour), the real images framed in red.
    Rows are labelled by the two classes, or by the two images' indices without ``labels``.
    """
    points = len(strips[0])
    columns, gap = points + 2, 6
    cells = np.concatenate([np.stack([images[a], *strip, images[b]]) for (a, b), strip in zip(pairs, strips)])
    height, width = cells.shape[1:3]
    figure, axis = plt.subplots(figsize=(columns * 0.62, len(pairs) * 0.7 * height / width + 0.8))
    rows = ([f"{class_names[labels[a]]} → {class_names[labels[b]]}\n"
             f"({'same class' if labels[a] == labels[b] else 'different classes'})" for a, b in pairs]
            if labels is not None else [f"image {a} → image {b}" for a, b in pairs])
    show_mosaic(axis, cells, columns, gap=gap, row_labels=rows, fontsize=8)
    row_step, column_step = height + gap, width + gap
    axis.xaxis.tick_top()
    axis.set_xticks([column * column_step + (width - 1) / 2 for column in range(columns)],
                    ["input A", *(f"t={c / (points - 1):.2f}" for c in range(points)), "input B"], fontsize=6)
    for row in range(len(pairs)):
        for column in (0, columns - 1):  # frame the real images
            axis.add_patch(Rectangle((column * column_step - 1, row * row_step - 1), width + 1, height + 1,
                                     fill=False, edgecolor="tab:red", linewidth=1.5, clip_on=False))
    axis.set_title(title, fontsize=11)
    figure.tight_layout()
    return figure


__all__ = ["INTERPOLATION_POINTS", "MEASURED_PAIRS", "SHOWN_PAIRS", "choose_any_pairs", "choose_pairs", "interpolate",
           "interpolation_strips", "plot_interpolations", "smoothness", "step_distances"]
