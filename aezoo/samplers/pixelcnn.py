"""The PixelCNN code prior: an autoregressive model of a code grid, fitted after training.

A VQ-VAE encodes an image as a grid of integer codes and has no prior to sample grids from. A
gated PixelCNN (:class:`aezoo.models.pixelcnn.GatedPixelCNN`) trained with ``fit`` on the code
grids of the training images learns one, as in van den Oord et al. 2017; drawing a grid position
by position and decoding it generates a new image. It applies to any model with a code grid.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import keras

from aezoo.errors import UsageError
from aezoo.models.adapter import ModelAdapter
from aezoo.models.capabilities import CODE_GRID, CONDITIONAL
from aezoo.samplers.base import NetworkSampler

logger = logging.getLogger("aezoo")

# A few epochs over the training grids reach most of the loss drop at a fraction of the VQ-VAE's
# own training time (figures in docs/generation.md).
EPOCHS = 5
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
FILTERS = 32


class PixelCNNSampler(NetworkSampler):
    """Code grids drawn by a gated PixelCNN fitted to the training grids, decoded by the model.

    Args:
        model: a model with a code grid.
        epochs, filters: the PixelCNN's training epochs and channels (default: :data:`EPOCHS`,
            :data:`FILTERS`, read when the sampler is made).
    """

    name = "pixelcnn"
    summary = "code grids drawn by a gated PixelCNN fitted to the training grids"
    requires = frozenset({CODE_GRID})
    excludes = frozenset({CONDITIONAL})
    needs_fit = True
    network_title = "the PixelCNN"

    def __init__(self, model: Any, epochs: int | None = None, filters: int | None = None) -> None:
        super().__init__(model)
        self.epochs = int(EPOCHS if epochs is None else epochs)
        self.filters = int(FILTERS if filters is None else filters)

    def fit(self, train_images: Any, seed: int = 0, verbose: int = 0) -> "PixelCNNSampler":
        """Train the PixelCNN with ``fit`` on the model's code grids of the training images."""
        from aezoo.models.pixelcnn import GatedPixelCNN

        grids = ModelAdapter(self.model).codes(train_images)
        keras.utils.set_random_seed(seed)  # initialisation and fit's shuffling
        height, width = self.model.code_grid_shape
        network = GatedPixelCNN(num_codes=int(self.model.num_codes), height=height, width=width,
                                filters=self.filters, name="prior")
        steps = self.epochs * -(-len(grids) // BATCH_SIZE)
        network.compile(optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=max(steps, 1))))
        start = time.perf_counter()
        losses = network.fit(grids, epochs=self.epochs, batch_size=BATCH_SIZE, verbose=verbose).history["loss"]
        logger.info("Code prior (gated PixelCNN): %d epochs in %.1f s, loss %.3f -> %.3f nats per position",
                    self.epochs, time.perf_counter() - start, losses[0], losses[-1])
        self.network = network
        return self

    def sample_codes(self, n: Any, seed: Any, labels: Any = None) -> Any:
        return self.fitted_network().sample(n, seed=seed)

    def decode(self, codes: Any, labels: Any = None) -> Any:
        return self.model.decode_codes(codes)

    @classmethod
    def file_name(cls) -> str:
        return "sampler_pixelcnn.keras"

    @classmethod
    def network_class(cls) -> type:
        from aezoo.models.pixelcnn import GatedPixelCNN

        return GatedPixelCNN

    def accept(self, network: Any, path: Path) -> None:
        grid = (int(network.height), int(network.width))
        model = self.model
        if int(network.num_codes) != int(model.num_codes) or grid != tuple(model.code_grid_shape):
            raise UsageError(f"{path}: a PixelCNN over {grid} grids of {network.num_codes} codes does not fit this "
                             f"model ({tuple(model.code_grid_shape)} grids of {model.num_codes} codes)")
        self.network = network


__all__ = ["PixelCNNSampler"]
