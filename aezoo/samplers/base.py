"""What every sampler is: an object that draws codes for one trained model (pythae's ``BaseSampler``).

A model plus a sampler generates: the sampler draws codes, the model decodes them. Samplers that
learn something after training (a Gaussian mixture over the training codes, a PixelCNN over code
grids) are ``fit`` on the clean training images, then ``save``\\ d into the model's folder and
``load``\\ ed with the model; the prior sampler needs neither. Which samplers apply to a model
follows from its capabilities (:attr:`Sampler.requires`, :attr:`Sampler.excludes`), never from its
family's name.

Every sampler draws codes with TensorFlow ops from a seed (:meth:`Sampler.sample_codes`), so the
same function runs eagerly in aezoo and inside the SavedModel's ``sample`` signature, where a
process without aezoo gets the same images for the same seed.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from aezoo import files
from aezoo.errors import UsageError
from aezoo.models.capabilities import CONDITIONAL, Capability, capabilities_of, describe, has

# Draws are made this many at a time; each batch has its own seed (see ``sample``).
SAMPLE_BATCH = 500
# Seeds of successive batches of one ``sample`` call are this far apart.
BATCH_SEED_STRIDE = 1_000_003


class Sampler(abc.ABC):
    """Draws codes for ``model``; ``sample`` decodes them into images.

    Subclasses set :attr:`name`, :attr:`summary`, :attr:`requires` (and :attr:`excludes`),
    implement :meth:`sample_codes` and, when they learn something, :meth:`fit`, :meth:`save`
    and :meth:`load`.
    """

    #: The ``--sampler`` name.
    name: ClassVar[str]
    #: One line: how it draws codes.
    summary: ClassVar[str]
    #: Capabilities a model needs for this sampler to apply.
    requires: ClassVar[frozenset[Capability]]
    #: Capabilities that rule it out.
    excludes: ClassVar[frozenset[Capability]] = frozenset()
    #: Whether it learns from training codes (``fit``) and is saved beside the model.
    needs_fit: ClassVar[bool] = False

    def __init__(self, model: Any) -> None:
        reason = self.why_not(model)
        if reason:
            raise ValueError(f"the {self.name} sampler does not apply to {model.name}: {reason}")
        self.model = model

    # ------------------------------------------------------------------ which models

    @classmethod
    def applies_to(cls, model: Any) -> bool:
        """Whether this sampler can draw codes for ``model`` (an instance or a class)."""
        return not cls.why_not(model)

    @classmethod
    def why_not(cls, model: Any) -> str:
        """``""`` when it applies, else one clause saying why not."""
        capabilities = capabilities_of(model)
        missing = cls.requires - capabilities
        if missing:
            return f"it needs a model with {describe(missing)}, and this one has {describe(capabilities)}"
        ruled_out = cls.excludes & capabilities
        if ruled_out:
            return f"it does not work for a model with {describe(ruled_out)}"
        return ""

    @property
    def conditional(self) -> bool:
        """Whether it draws for given labels (one class per code)."""
        return has(self.model, CONDITIONAL)

    # ------------------------------------------------------------------ learning and files

    @property
    def is_fitted(self) -> bool:
        return True

    def fit(self, train_images: Any, seed: int = 0) -> "Sampler":
        """Learn from the model's codes of the clean training images (uint8 or float in [0, 1])."""
        return self

    @classmethod
    def file_name(cls) -> str | None:
        """The file it saves into a model folder, or ``None`` when it saves nothing."""
        return None

    @classmethod
    def is_saved(cls, folder: str | os.PathLike[str]) -> bool:
        name = cls.file_name()
        return name is None or (Path(folder) / name).is_file()

    def save(self, folder: str | os.PathLike[str]) -> Path | None:
        """Write what it learned into ``folder`` (atomically); returns the file, or None if nothing."""
        return None

    @classmethod
    def load(cls, model: Any, folder: str | os.PathLike[str]) -> "Sampler":
        """The sampler of ``model`` saved in ``folder``; ``UsageError`` when it is missing or corrupt."""
        return cls(model)

    def networks(self) -> list[Any]:
        """Keras models whose weights it draws with (a SavedModel export tracks them); none by default."""
        return []

    # ------------------------------------------------------------------ drawing

    @abc.abstractmethod
    def sample_codes(self, n: Any, seed: Any, labels: Any = None) -> Any:
        """``n`` codes for the model's ``decode``, as a tensor; TensorFlow ops only, so it also runs
        inside a SavedModel signature with tensors ``n`` and ``seed``. The same seed gives the same codes."""

    def decode(self, codes: Any, labels: Any = None) -> Any:
        """Images from codes of :meth:`sample_codes`."""
        return self.model.decode(codes, labels) if self.conditional else self.model.decode(codes)

    def draw(self, n: Any, seed: Any, labels: Any = None) -> Any:
        """``decode(sample_codes(n, seed))``: what the SavedModel's ``sample`` signature computes."""
        return self.decode(self.sample_codes(n, seed, labels), labels)

    def sample(self, n: int, seed: int = 0, labels: Any = None) -> np.ndarray:
        """``n`` new images, float32 ``[n, H, W, C]`` in [0, 1]; the same seed gives the same images.

        Conditional models draw one image per label: ``labels`` is one class for all, or ``n``
        classes; default 0, 1, ..., ``num_classes - 1``, 0, ... in turn. Images are drawn
        :data:`SAMPLE_BATCH` at a time, each batch with its own seed, the first with ``seed``
        itself (as the SavedModel's ``sample(seed, n)`` does), so a large ``n`` never needs all its
        codes at once.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if self.conditional:
            classes = np.arange(n) % int(self.model.num_classes) if labels is None else labels
            labels = np.broadcast_to(np.asarray(classes, np.int32), (n,))
        elif labels is not None:
            raise ValueError(f"{self.model.name} is not conditional: it draws without labels")
        parts = []
        for index, start in enumerate(range(0, n, SAMPLE_BATCH)):
            count = min(SAMPLE_BATCH, n - start)
            batch_seed = (seed + index * BATCH_SEED_STRIDE) % 2**31
            part_labels = None if labels is None else np.asarray(labels[start:start + count], np.int32)
            parts.append(np.asarray(self.draw(count, batch_seed, part_labels), np.float32))
        return np.concatenate(parts)

    def describe(self) -> str:
        return f"{self.name} ({self.summary})"


class NetworkSampler(Sampler):
    """A sampler that learns a Keras network (``network``): saved as a ``.keras`` file beside the model,
    loaded in Keras's safe mode and checked on load, its weights tracked by a SavedModel export.

    Subclasses set :attr:`network_title`, name the network's class (:meth:`network_class`), set
    ``self.network`` in ``fit`` and say whether a loaded network fits their model (:meth:`accept`).
    """

    #: The network as messages name it ("the PixelCNN").
    network_title: ClassVar[str]

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.network: Any = None

    @property
    def is_fitted(self) -> bool:
        return self.network is not None

    def networks(self) -> list[Any]:
        return [self.network] if self.network is not None else []

    def fitted_network(self) -> Any:
        """The network; ``ValueError`` when ``fit`` has not run yet."""
        if self.network is None:
            raise ValueError(f"the {self.name} sampler is not fitted yet; call fit first")
        return self.network

    @classmethod
    @abc.abstractmethod
    def network_class(cls) -> type:
        """The Keras model class of the network (importing it registers it with Keras)."""

    def accept(self, network: Any, path: Path) -> None:
        """Use a loaded ``network``; ``UsageError`` naming ``path`` when it does not fit this model."""
        self.network = network

    def save(self, folder: str | os.PathLike[str]) -> Path:
        network = _without_optimizer(self.fitted_network())
        path = Path(folder) / self.file_name()
        files.write_with(path, network.save)
        return path

    @classmethod
    def load(cls, model: Any, folder: str | os.PathLike[str]) -> "NetworkSampler":
        import keras

        expected = cls.network_class()
        path = Path(folder) / str(cls.file_name())
        sampler = cls(model)
        if not path.is_file():
            raise UsageError(f"{path}: missing; {cls.network_title} is fitted when the model is trained "
                             f"(or by `python -m aezoo sample {Path(folder)} --sampler {cls.name}`)")
        try:
            network = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a broken file; all mean the same here
            raise UsageError(f"{path}: cannot load {cls.network_title} ({str(error).splitlines()[0]})") from None
        if not isinstance(network, expected):
            raise UsageError(f"{path}: holds a {type(network).__name__}, not a {expected.__name__}")
        sampler.accept(network, path)
        return sampler


def _without_optimizer(network: Any) -> Any:
    """The same network, uncompiled: drawing needs its weights only, and the optimizer's two Adam slots
    per weight would triple the file (the VQ-VAE preset's PixelCNN: 2.35 MB with them, 0.83 MB without)."""
    copy = type(network).from_config(network.get_config())
    build = network.get_build_config()
    if build:
        copy.build_from_config(build)
    copy.set_weights(network.get_weights())
    return copy


__all__ = ["BATCH_SEED_STRIDE", "NetworkSampler", "SAMPLE_BATCH", "Sampler"]
