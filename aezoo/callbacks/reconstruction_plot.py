"""A callback that shows the denoising progress in pictures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from aezoo.files import make_folder
from aezoo.plotting import save_figure, show_mosaic, subplots


class ReconstructionPlot(keras.callbacks.Callback):
    """Every ``every`` epochs, save a picture of the same held-out images: noisy / denoised / clean.

    The images are fixed at construction (training passes the first validation images, with their
    fixed noise), so the pictures of successive epochs can be flipped through like a film of the
    training. The caption gives the epoch's ``val_psnr``, the validation split's PSNR.

    Args:
        noisy: float ``[n, H, W, C]`` inputs, at most a dozen or so.
        clean: their clean targets, same shape.
        directory: where ``epoch_NNN.png`` files go (NNN counts from 1).
        every: plot every this many epochs (the last epoch is always plotted).
        title: text above the grid, e.g. the model's name.
        labels: the images' classes, for a model that needs labels (its inputs are
            ``(images, labels)``); ``None`` for every other model.
    """

    def __init__(self, noisy: np.ndarray, clean: np.ndarray, directory: str | os.PathLike[str],
                 every: int = 1, title: str = "", labels: np.ndarray | None = None) -> None:
        super().__init__()
        if noisy.shape != clean.shape or noisy.ndim != 4 or len(noisy) == 0:
            raise ValueError(f"noisy and clean must be equal, non-empty [n, H, W, C] arrays; got {noisy.shape} and {clean.shape}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.noisy = noisy
        self.clean = clean
        self.directory = Path(directory)
        self.every = every
        self.title = title
        self.labels = None if labels is None else np.asarray(labels, np.int32)
        self.written: list[Path] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.written = []
        make_folder(self.directory)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        # A direct eager call: predict() would trace a new graph for this odd-sized batch.
        inputs = self.noisy if self.labels is None else (self.noisy, self.labels)
        denoised = self.model(inputs, training=False)
        path = self.directory / f"epoch_{epoch + 1:03d}.png"
        caption = f"epoch {epoch + 1}"
        if "val_psnr" in logs:
            caption += f"  -  validation PSNR {float(logs['val_psnr']):.2f} dB"
        figure = draw_rows([self.noisy, np.asarray(denoised), self.clean], ["noisy", "denoised", "clean"],
                           f"{self.title}  {caption}".strip())
        save_figure(figure, path, dpi=80)
        self.written.append(path)

    def catch_up(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """A resumed run's restored epoch: its picture, unless it was drawn before the interruption."""
        if not (self.directory / f"epoch_{epoch + 1:03d}.png").exists():
            self.on_epoch_end(epoch, logs)


def draw_rows(rows: list[np.ndarray], labels: list[str], title: str = "") -> Any:
    """A grid with one row per image batch (``[n, H, W, C]``), each labelled on the left.

    Drawn as one mosaic in one axes, as it is redrawn at every epoch (see :func:`show_mosaic`).
    """
    n = len(rows[0])
    figure, axis = subplots(figsize=(n * 0.9, len(rows) * 1.0))
    show_mosaic(axis, np.concatenate([np.asarray(images)[:n] for images in rows]), columns=n, gap=6,
                row_labels=labels)
    if title:
        figure.suptitle(title)
    return figure
