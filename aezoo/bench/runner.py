"""Run the benchmark: train the references and aezoo's models in one process and compare them.

All models see the same data (the embedded MNIST digits, split as ``train.py`` splits them: the
models train on the training split and are scored after every epoch on the fixed noisy
*validation* images), the same noise and the same seed. The test split is left alone: the
benchmark is used to choose defaults, and nothing may be chosen by the test images.

They are trained *in turns, one epoch each* (:func:`aezoo.bench.harness.train_in_turns`, shared
with the zoo leaderboard), so a burst of load from another process on a shared machine slows every
model alike. Serving speed is measured the same way, in rounds over all models, keeping each
model's best.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aezoo.bench import harness, measure
from aezoo.bench.harness import (
    TEXTBOOK_BATCH_SIZE, TEXTBOOK_LEARNING_RATE, Entry, build_entry, check_unique, embedded_splits, family_entry,
    reference_config, reference_entry, train_in_turns,
)
from aezoo.bench.onnx_serving import onnx_serving_speeds
from aezoo.bench.references import DESCRIPTIONS, REFERENCE_KINDS
from aezoo.config import TrainConfig, model_defaults
from aezoo.datasets import ImageSplits, training_dataset, validation_pairs
from aezoo.errors import UsageError
from aezoo.export import export_saved_model
from aezoo.baselines import baselines
from aezoo.families import GROUPS, MODELS, PLAIN_AUTOENCODER, parse_model_list
from aezoo.models.adapter import ModelAdapter
from aezoo.models.capabilities import CONDITIONAL, has

logger = logging.getLogger("aezoo.bench")

# Every name --models accepts besides the groups (both, all) of the family list.
ALL_KINDS = (*REFERENCE_KINDS, *MODELS)
# What a benchmark run trains unless told: the references and train.py's default models.
DEFAULT_KINDS = (*REFERENCE_KINDS, *GROUPS["both"])
# Quick mode: enough to exercise every measurement, nothing to read speed from.
QUICK = dict(epochs=1, serving_calls=(8, 1), rounds=1, parity_epochs=2)
FULL = dict(serving_calls=(300, 4), rounds=3, parity_epochs=4)


@dataclasses.dataclass
class BenchSettings:
    """What one benchmark run trains and measures (the command-line flags)."""

    models: tuple[str, ...] = DEFAULT_KINDS  # reference kinds, family names and groups ("all"), in table order
    epochs: int | None = None  # None: TrainConfig's default, for references and aezoo alike
    batch_size: int = TEXTBOOK_BATCH_SIZE  # the references'; aezoo's models use TrainConfig's
    overrides: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # model name -> settings
    candidates: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # label -> settings (+ kind)
    quick: bool = False
    parity: bool = True
    serving: bool = True
    intra_threads: int | None = None
    inter_threads: int | None = None
    seed: int | None = None


def expand_models(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Reference kinds, family names and family groups (``both``, ``all``) -> names in order, no repeats.

    Raises:
        UsageError: an unknown name; the message lists what is allowed.
    """
    expanded: list[str] = []
    for name in names:
        try:
            found = (name,) if name in REFERENCE_KINDS else parse_model_list(name)
        except ValueError:
            raise UsageError(f"unknown model {name!r}; choose from {', '.join(ALL_KINDS)}, "
                             f"or {', '.join(GROUPS)}") from None
        expanded += [kind for kind in found if kind not in expanded]
    return tuple(expanded)


def parse_overrides(text: str) -> dict[str, Any]:
    """``"batch_size=32,batch_norm=true,learning_rate=3e-3"`` -> typed dict (int, float, bool, str)."""
    result: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"override {item!r} is not KEY=VALUE")
        result[key.strip()] = _parse_value(raw.strip())
    return result


def _parse_value(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def make_entries(settings: BenchSettings) -> list[Entry]:
    """The models to benchmark, in table order: references first, then aezoo's, then candidates."""
    entries = harness.make_entries(expand_models(settings.models), settings.overrides, settings.epochs,
                                   settings.seed, reference_batch_size=settings.batch_size)
    for label, overrides in settings.candidates.items():
        kind = overrides.get("kind", PLAIN_AUTOENCODER)
        if kind not in MODELS:
            raise UsageError(f"candidate {label}: kind must be one of {', '.join(MODELS)}")
        entries.append(family_entry(label, kind, overrides, settings.epochs, settings.seed))
    return check_unique(entries)


def export(entry: Entry, folder: Path) -> Path:
    """The SavedModel each side would ship: ``model.export`` for references, aezoo's exporter otherwise."""
    path = folder / entry.name
    if entry.is_reference:
        entry.model.export(str(path), format="tf_saved_model", verbose=False)
    else:
        export_saved_model(entry.model, path)
    return path


def measure_serving(entries: list[Entry], exported: dict[str, Path], images: np.ndarray, calls: tuple[int, int],
                    rounds: int) -> dict[str, dict[str, float]]:
    """Best-of-``rounds`` images/s at batch 1 and 1024 through each ``serving_default``, in turns."""
    functions = {e.name: measure.serving_function(exported[e.name]) for e in entries}
    best: dict[str, dict[str, float]] = {e.name: {"batch1_images_per_second": 0.0,
                                                  "batch1024_images_per_second": 0.0} for e in entries}
    for _ in range(rounds):
        for entry in entries:
            fn, name = functions[entry.name]
            result = best[entry.name]
            result["batch1_images_per_second"] = max(result["batch1_images_per_second"],
                                                     measure.serving_images_per_second(fn, name, images, 1, calls[0]))
            result["batch1024_images_per_second"] = max(result["batch1024_images_per_second"],
                                                        measure.serving_images_per_second(fn, name, images, 1024, calls[1]))
    return best


def measure_parity(batch_sizes: list[int], splits: ImageSplits, noisy: np.ndarray, clean: np.ndarray,
                   epochs: int, seed: int | None) -> list[dict[str, Any]]:
    """Training images/s of the textbook AE and of aezoo's ``ConvAutoencoder`` built as its twin.

    Same layers, same batch size, same pipeline: the only difference left is Keras' built-in
    ``fit`` step against aezoo's custom ``train_step`` (and its metrics), which is what "adds no
    overhead" is about. The pipeline alone is timed at the same batch size.
    """
    twin = {"embedding_dim": 10, "depth": 1, "filters": 32, "activation": "relu", "batch_norm": False,
            "pixel_loss": "mse", "learning_rate": TEXTBOOK_LEARNING_RATE, "lr_schedule": "constant"}
    rows = []
    for batch_size in batch_sizes:
        ref = reference_entry("textbook", batch_size, epochs, seed)
        ours = family_entry(f"{PLAIN_AUTOENCODER}-twin", PLAIN_AUTOENCODER, twin | {"batch_size": batch_size}, epochs,
                            seed)
        for entry in (ref, ours):
            build_entry(entry, splits)
            entry.quality = measure.EpochQuality(noisy, clean)
        train_in_turns([ref, ours])
        images = len(splits.train_images)
        pipeline = measure.pipeline_images_per_second(ours.dataset, images)
        ref_speed = ref.clock.steady_images_per_second(images)
        our_speed = ours.clock.steady_images_per_second(images)
        rows.append({"batch_size": batch_size, "epochs": epochs,
                     "textbook_images_per_second": round(ref_speed, 1),
                     "aezoo_twin_images_per_second": round(our_speed, 1),
                     "aezoo_over_textbook": round(our_speed / ref_speed, 3),
                     "pipeline_images_per_second": round(pipeline, 1),
                     "pipeline_over_aezoo_twin": round(pipeline / our_speed, 2)})
    return rows


def run_benchmark(settings: BenchSettings) -> dict[str, Any]:
    """Run the whole benchmark and return its results (the JSON document)."""
    if settings.intra_threads or settings.inter_threads:
        # Only possible before TensorFlow runs its first op, hence first thing here.
        tf.config.threading.set_intra_op_parallelism_threads(settings.intra_threads or 0)
        tf.config.threading.set_inter_op_parallelism_threads(settings.inter_threads or 0)
    mode = QUICK if settings.quick else FULL
    if settings.quick and settings.epochs is None:
        settings = dataclasses.replace(settings, epochs=QUICK["epochs"])
    started, load_start = time.time(), os.getloadavg()
    splits = embedded_splits(settings.quick)
    entries = make_entries(settings)
    reference = reference_config(settings.batch_size, settings.epochs, settings.seed)
    noisy, clean = validation_pairs(splits.validation_images, reference.noise_model(), reference.seed)
    for entry in entries:
        build_entry(entry, splits)
        # A conditional model denoises (images, labels); predict() takes the pair as its input.
        entry.quality = measure.EpochQuality(ModelAdapter(entry.model).inputs(noisy, splits.validation_labels), clean)
        logger.info("%-10s %s parameters, batch %d, %d epochs", entry.name, f"{entry.model.count_params():,}",
                    entry.config.batch_size, entry.config.epochs)
    train_in_turns(entries)
    serving = serve_all(entries, noisy, mode) if settings.serving else {}
    pipeline = pipeline_speeds(entries, splits.train_images, reference)
    parity = []
    if settings.parity:
        sizes = sorted({settings.batch_size} | {e.config.batch_size for e in entries if e.kind == PLAIN_AUTOENCODER})
        parity = measure_parity(sizes, splits, noisy, clean, mode["parity_epochs"], settings.seed)
    images = len(splits.train_images)
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(settings, load_start),
        "settings": {
            "dataset": splits.describe(), **{f"{k}_images": n for k, n in splits.sizes().items()},
            "scored_on": "validation", "noise": {"kind": reference.noise, "strength": reference.noise_strength},
            "seed": reference.seed, "reference_batch_size": settings.batch_size, "quick": settings.quick,
            "wall_seconds": round(time.time() - started, 1),
        },
        "baselines": baselines(noisy, clean),
        "models": {e.name: entry_result(e, images, serving.get(e.name), pipeline) for e in entries},
        "pipeline_images_per_second": pipeline,
        "parity": parity,
    }
    results["ratios"] = ratios(results["models"])
    return results


def serve_all(entries: list[Entry], images: np.ndarray, mode: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Export every model to a temporary folder and measure its serving speed and memory.

    The serving measurements feed ``serving_default`` images alone, so a model that needs
    labels is left out (its row shows no serving figures).
    """
    entries = [entry for entry in entries if not has(entry.model, CONDITIONAL)]
    folder = Path(tempfile.mkdtemp(prefix="aezoo-bench-"))
    try:
        exported = {e.name: export(e, folder) for e in entries}
        serving = measure_serving(entries, exported, images, mode["serving_calls"], mode["rounds"])
        for entry in entries:
            serving[entry.name] |= measure.serving_peak_rss(exported[entry.name])
        onnx = onnx_serving_speeds(exported, [e.name for e in entries if e.is_reference], folder, mode is QUICK)
        return {name: figures | onnx.get(name, {}) for name, figures in serving.items()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pipeline_speeds(entries: list[Entry], train_images: np.ndarray, reference: TrainConfig) -> dict[str, float]:
    """Images/s of the training pipeline alone, at every batch size of the benchmark."""
    speeds = {}
    for batch_size in sorted({e.config.batch_size for e in entries}):
        dataset = training_dataset(train_images, reference.noise_model(), batch_size, seed=reference.seed)
        speeds[str(batch_size)] = round(measure.pipeline_images_per_second(dataset, len(train_images)), 1)
    return speeds


def machine_info(settings: BenchSettings, load_start: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }


def entry_result(entry: Entry, images: int, serving: dict[str, float] | None, pipeline: dict[str, float]) -> dict[str, Any]:
    config, clock, scores = entry.config, entry.clock, entry.quality.scores
    result: dict[str, Any] = {
        "kind": entry.kind,
        "description": DESCRIPTIONS.get(entry.kind, f"aezoo {type(entry.model).__name__}, train.py defaults"
                                        + (f" + {entry.overrides}" if entry.overrides else "")),
        "parameters": int(entry.model.count_params()),
        "batch_size": config.batch_size, "epochs": config.epochs, "learning_rate": config.learning_rate,
        "lr_schedule": config.lr_schedule,
        "model_config": {} if entry.is_reference else {k: entry.model.get_config().get(k) for k in model_defaults(entry.kind)
                                                        if k in entry.model.get_config()},
        "bench_options": entry.bench_options, "overrides": entry.overrides,
        "training_seconds": round(sum(clock.seconds), 2),
        "first_epoch_seconds": round(clock.seconds[0], 2),
        "images_per_second": round(clock.steady_images_per_second(images), 1),
        "pipeline_over_model": round(pipeline[str(config.batch_size)] / clock.steady_images_per_second(images), 2),
        "train_peak_rss_mb": round(max(clock.peak_rss_mb), 1),
        "train_first_epoch_rss_growth_mb": round(clock.first_epoch_rss_growth_mb, 1),
        "epochs_log": [{"epoch": i + 1, "seconds": round(s, 3), "cumulative_seconds": round(sum(clock.seconds[:i + 1]), 2),
                        "psnr": round(q["psnr"], 3), "ssim": round(q["ssim"], 4)}
                       for i, (s, q) in enumerate(zip(clock.seconds, scores))],
        "validation": {k: round(v, 4) for k, v in scores[-1].items()},
    }
    if serving is not None:
        result["serving"] = {k: round(v, 1) for k, v in serving.items()}
    return result


def ratios(models: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every model against the references: times and speeds as ratios, PSNR as dB differences."""
    textbook, kerasio = models.get("textbook"), models.get("kerasio")
    out: dict[str, dict[str, Any]] = {}
    for name, m in models.items():
        row: dict[str, Any] = {}
        if textbook:
            # The per-epoch log on both sides, so the textbook reaches its own final score exactly.
            target = textbook["epochs_log"][-1]["psnr"]
            psnrs = [e["psnr"] for e in m["epochs_log"]]
            reach = measure.seconds_to_reach(psnrs, [e["seconds"] for e in m["epochs_log"]], target)
            m["seconds_to_textbook_psnr"] = None if reach is None else round(reach, 2)
            row["training_seconds_vs_textbook"] = round(m["training_seconds"] / textbook["training_seconds"], 3)
            row["images_per_second_vs_textbook"] = round(m["images_per_second"] / textbook["images_per_second"], 3)
            row["seconds_to_textbook_psnr_vs_textbook_training"] = (
                None if reach is None else round(reach / textbook["training_seconds"], 3))
            row["psnr_minus_textbook_db"] = round(m["validation"]["psnr"] - target, 2)
            if "serving" in m and "serving" in textbook:
                for key in ("batch1_images_per_second", "batch1024_images_per_second"):
                    row[f"serving_{key}_vs_textbook"] = round(m["serving"][key] / textbook["serving"][key], 3)
        if kerasio:
            row["psnr_minus_kerasio_db"] = round(m["validation"]["psnr"] - kerasio["validation"]["psnr"], 2)
            row["training_seconds_vs_kerasio"] = round(m["training_seconds"] / kerasio["training_seconds"], 3)
        out[name] = row
    return out
