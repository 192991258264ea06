"""The harness both benchmarks share: entries built as ``train.py`` builds them, trained in turns.

An :class:`Entry` is one model of a benchmark (a reference autoencoder or a model of the zoo), its
training settings, its training data and its clock. ``python -m aezoo.bench`` (:mod:`.runner`) and
``python -m aezoo.bench zoo`` (:mod:`.zoo`) both

* load the embedded digits split as ``train.py`` splits them (:func:`embedded_splits`),
* make their entries (:func:`make_entries`): a reference with the textbook's optimiser settings, a
  model of the zoo with ``python train.py``'s defaults plus the benchmark's overrides,
* build each one seeded as training seeds it (:func:`build_entry`), and
* train them *in turns, one epoch each* (:func:`train_in_turns`), so that a burst of load from
  another process on a shared machine slows every model alike instead of whichever happened to
  be training; the turn order rotates every epoch for the same reason.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Iterable, Mapping

import keras

from aezoo.bench import measure
from aezoo.bench.references import REFERENCE_KINDS, build_reference
from aezoo.config import TrainConfig, model_defaults
from aezoo.datasets import ImageSplits, carve_validation, load_embedded, training_dataset
from aezoo.errors import UsageError
from aezoo.models.adapter import labels_for
from aezoo.training import build_compiled_model

logger = logging.getLogger("aezoo.bench")

TEXTBOOK_BATCH_SIZE = 128  # the batch size textbook Keras autoencoders train with
TEXTBOOK_LEARNING_RATE = 1e-3  # Adam's default, what the textbook models use
# Settings of the benchmark itself, accepted in overrides next to TrainConfig fields and model arguments.
BENCH_OPTIONS = ("jit_compile",)
# Quick mode keeps the first images of each split: enough to exercise every measurement.
QUICK_SIZES = {"train": 384, "validation": 128, "test": 128}


@dataclasses.dataclass
class Entry:
    """One model of a benchmark, its training settings and what was measured on it."""

    name: str
    kind: str
    config: TrainConfig
    bench_options: dict[str, Any]
    overrides: dict[str, Any]
    model: Any = None
    dataset: Any = None
    clock: measure.TrainClock = dataclasses.field(default_factory=measure.TrainClock)
    quality: Any = None  # a callback scoring every epoch (measure.EpochQuality), when the benchmark wants one

    @property
    def is_reference(self) -> bool:
        return self.kind in REFERENCE_KINDS

    def epoch_line(self) -> str:
        """The last epoch in one line: its seconds, and its scores when they are measured."""
        line = f"{self.clock.seconds[-1]:6.2f} s"
        if self.quality is not None:
            score = self.quality.scores[-1]
            line += f"  PSNR {score['psnr']:6.2f} dB  SSIM {score['ssim']:.3f}"
        return line


# ----------------------------------------------------------------------------- data

def embedded_splits(quick: bool = False) -> ImageSplits:
    """The embedded digits split as ``train.py`` splits them; quick mode keeps a few hundred of each.

    Quick mode cuts the training and test images before the validation split is carved (as the
    tests do: the carve then keeps its class balance), and the validation split after.
    """
    splits = load_embedded()
    if quick:
        train, test = QUICK_SIZES["train"], QUICK_SIZES["test"]
        splits = ImageSplits(f"{splits.name}-quick", splits.train_images[:train], splits.train_labels[:train],
                             splits.test_images[:test], splits.test_labels[:test], splits.class_names, splits.source)
    splits = carve_validation(splits, TrainConfig.validation_fraction)
    if quick:
        count = QUICK_SIZES["validation"]
        splits = dataclasses.replace(splits, validation_images=splits.validation_images[:count],
                                     validation_labels=splits.validation_labels[:count])
    return splits


# ----------------------------------------------------------------------------- entries

def reference_config(batch_size: int, epochs: int | None, seed: int | None) -> TrainConfig:
    """Data, noise and seed of ``TrainConfig()``, with the textbook's optimiser settings."""
    default = TrainConfig()
    return TrainConfig(dataset="embedded", batch_size=batch_size,
                       epochs=epochs if epochs is not None else default.epochs,
                       learning_rate=TEXTBOOK_LEARNING_RATE, lr_schedule="constant",
                       seed=default.seed if seed is None else seed)


def aezoo_config(kind: str, overrides: Mapping[str, Any], epochs: int | None = None,
                 seed: int | None = None) -> tuple[TrainConfig, dict[str, Any]]:
    """The ``TrainConfig`` that ``python train.py --model KIND`` would use, plus ``overrides``.

    Everything not overridden is read from ``TrainConfig()`` and the model constructor's
    defaults, so the benchmark follows the defaults wherever they move. Returns the config and
    the benchmark-only options (``jit_compile``).
    """
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"models", "dataset", "data_dir", "hyperparameters"}
    arguments = model_defaults(kind)
    config_values: dict[str, Any] = {}
    hyperparameters: dict[str, Any] = {}
    options: dict[str, Any] = {"jit_compile": "auto"}
    for key, value in overrides.items():
        if key == "kind":
            continue
        if key in BENCH_OPTIONS:
            options[key] = value
        elif key in fields:
            config_values[key] = value
        elif key in arguments:
            hyperparameters[key] = value
        else:
            raise UsageError(f"unknown override {key!r} for {kind}: not a TrainConfig field, a {kind} "
                             f"argument ({', '.join(arguments)}) or a bench option ({', '.join(BENCH_OPTIONS)})")
    if epochs is not None and "epochs" not in overrides:
        config_values["epochs"] = epochs
    if seed is not None and "seed" not in overrides:
        config_values["seed"] = seed
    config = TrainConfig(models=(kind,), dataset="embedded", hyperparameters=hyperparameters, **config_values)
    config.validate()
    return config, options


def reference_entry(kind: str, batch_size: int = TEXTBOOK_BATCH_SIZE, epochs: int | None = None,
                    seed: int | None = None) -> Entry:
    """A reference autoencoder with the textbook's optimiser settings."""
    return Entry(kind, kind, reference_config(batch_size, epochs, seed), {"jit_compile": "auto"}, {})


def family_entry(name: str, kind: str, overrides: Mapping[str, Any], epochs: int | None = None,
                 seed: int | None = None) -> Entry:
    """The model ``kind`` of the zoo, called ``name``, with ``train.py``'s settings plus ``overrides``."""
    config, options = aezoo_config(kind, overrides, epochs, seed)
    return Entry(name, kind, config, options, dict(overrides))


def make_entries(names: Iterable[str], overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 epochs: int | None = None, seed: int | None = None,
                 reference_batch_size: int = TEXTBOOK_BATCH_SIZE) -> list[Entry]:
    """One entry per name, in order: a reference kind, or a model of the zoo (with ``overrides[name]``)."""
    overrides = overrides or {}
    return [reference_entry(name, reference_batch_size, epochs, seed) if name in REFERENCE_KINDS
            else family_entry(name, name, overrides.get(name, {}), epochs, seed) for name in names]


def check_unique(entries: list[Entry]) -> list[Entry]:
    if len({e.name for e in entries}) != len(entries):
        raise UsageError("two models of the benchmark have the same name")
    return entries


def build_entry(entry: Entry, splits: ImageSplits) -> None:
    """Build and compile ``entry``'s model and its training dataset, seeded like ``train_model``.

    The training labels reach the dataset only of a conditional model, as in training.
    """
    config = entry.config
    keras.utils.set_random_seed(config.seed)
    if entry.is_reference:
        entry.model = build_reference(entry.kind, config.learning_rate, jit_compile=entry.bench_options["jit_compile"])
    else:
        entry.model = build_compiled_model(entry.kind, config, len(splits.train_images),
                                           jit_compile=entry.bench_options["jit_compile"])
    entry.dataset = training_dataset(splits.train_images, config.noise_model(), config.batch_size, seed=config.seed,
                                     labels=labels_for(entry.model, splits.train_labels))


# ----------------------------------------------------------------------------- training

def train_in_turns(entries: list[Entry]) -> None:
    """Train every entry for its epochs, one epoch per model per round, rotating the order."""
    rounds = max(e.config.epochs for e in entries)
    for epoch in range(rounds):
        turn = entries[epoch % len(entries):] + entries[:epoch % len(entries)]
        for entry in turn:
            if epoch >= entry.config.epochs:
                continue
            # The clock first: the quality callback's scoring is not timed.
            callbacks = [entry.clock, *([entry.quality] if entry.quality is not None else [])]
            entry.model.fit(entry.dataset, initial_epoch=epoch, epochs=epoch + 1, verbose=0, shuffle=False,
                            callbacks=callbacks)
            logger.info("epoch %2d %-10s %s", epoch + 1, entry.name, entry.epoch_line())


__all__ = ["BENCH_OPTIONS", "Entry", "QUICK_SIZES", "TEXTBOOK_BATCH_SIZE", "TEXTBOOK_LEARNING_RATE", "aezoo_config",
           "build_entry", "check_unique", "embedded_splits", "family_entry", "make_entries", "reference_config",
           "reference_entry", "train_in_turns"]
