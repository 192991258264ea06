"""Train models with ``fit`` and callbacks, and write a run folder.

A run folder is the one hand-over between training, analysis, tuning and inference::

    RUN/
      config.json          the TrainConfig (what makes two runs "the same command")
      INCOMPLETE           present while training or after an interruption; removed at the end
      summary.json         baselines and every model's test scores (the comparison table)
      <model>/             one per model kind ("ae", "vae")
        model.keras        the trained model (Keras format, loads with aezoo installed)
        saved_model/       SavedModel: serving_default/denoise, encode, decode (plain TensorFlow)
        metrics.json       test MSE/PSNR/SSIM (+ VAE terms), data, noise, seed, size, speed
        history.csv        one row per epoch
        loss_curves.png    the curves, redrawn every epoch
        reconstructions/   epoch_NNN.png: the same test digits, noisy / denoised / clean
        checkpoints/       best.keras (lowest test loss so far) and best.keras.json (its epoch, score)
        backup/            BackupAndRestore state while training; deleted when the model is done

Re-running the command of an interrupted run (same flags) finds its folder and resumes it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aezoo import files
from aezoo.callbacks import BestCheckpoint, EpochTimer, HistoryCSV, LossCurves, ReconstructionPlot, StopOnInterrupt
from aezoo.config import TrainConfig
from aezoo.datasets import ImageSplits, load_dataset, test_pairs, training_dataset
from aezoo.distribute import is_chief, make_strategy
from aezoo.errors import UsageError
from aezoo.export import export_saved_model
from aezoo.metrics import baselines, image_quality

logger = logging.getLogger("aezoo")

INCOMPLETE_MARKER = "INCOMPLETE"
PLOTTED_TEST_IMAGES = 10


class TrainingDiverged(UsageError):
    """The loss became NaN or infinite before any good checkpoint existed."""


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]


def train(config: TrainConfig, output: str | Path | None = None, runs_root: str | Path = "runs",
          verbose: str | int = "auto", splits: ImageSplits | None = None) -> RunResult:
    """Train every model of ``config`` and write a complete run folder.

    Args:
        config: what to train; validated first, before anything is written.
        output: the run folder; default: resume the newest unfinished run in ``runs_root`` with
            the same config, else a new timestamped folder there.
        runs_root: where default run folders go.
        verbose: Keras ``fit`` verbosity; ``"auto"`` is a progress bar on a terminal and one line
            per epoch otherwise.
        splits: data already in memory (tests, tuning); default: load ``config.dataset``.

    Raises:
        UsageError: bad settings or data (nothing is written), or a run that diverged.
    """
    # The strategy comes first: multi-worker collective ops must be configured before any other
    # TensorFlow work, and validating the config already builds (unbuilt) models.
    strategy = make_strategy(config.strategy)
    config.validate()
    splits = splits if splits is not None else load_dataset(config.dataset, config.data_dir)
    chief = is_chief(strategy)
    # Every worker of a multi-worker run executes the same steps (they take part in the same
    # collective ops, saving included); only the chief's files are kept.
    run_dir = (_prepare_run_dir(config, output, Path(runs_root)) if chief
               else Path(tempfile.mkdtemp(prefix="aezoo-worker-")))
    try:
        return _train_all(config, splits, run_dir, strategy, verbose, chief)
    finally:
        if not chief:
            shutil.rmtree(run_dir, ignore_errors=True)


def _train_all(config: TrainConfig, splits: ImageSplits, run_dir: Path, strategy: tf.distribute.Strategy,
               verbose: str | int, chief: bool) -> RunResult:
    logger.info("Run folder: %s", run_dir)
    logger.info("Data: %s; noise: %s %s", splits.describe(), config.noise, config.noise_strength)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2

    noisy_test, clean_test = test_pairs(splits.test_images, config.noise_model(), config.seed)
    summary: dict[str, Any] = {
        "dataset": splits.name, "dataset_source": splits.source,
        "train_images": len(splits.train_images), "test_images": len(splits.test_images),
        "noise": {"kind": config.noise, "strength": config.noise_strength},
        "test": baselines(noisy_test, clean_test), "models": {},
    }
    for kind in config.models:
        metrics = fit_model(kind, config, splits, run_dir / kind, noisy_test, clean_test, verbose, strategy)
        summary["test"][kind] = {k: metrics["test"][k] for k in ("mse", "psnr", "ssim")}
        summary["models"][kind] = {k: metrics[k] for k in ("parameters", "training_seconds", "images_per_second")}
    files.write_json(run_dir / "summary.json", summary)
    (run_dir / INCOMPLETE_MARKER).unlink(missing_ok=True)
    if chief:
        print(format_comparison(summary))
    return RunResult(run_dir, summary)


def fit_model(kind: str, config: TrainConfig, splits: ImageSplits, model_dir: Path,
              noisy_test: np.ndarray, clean_test: np.ndarray, verbose: str | int = 2,
              strategy: tf.distribute.Strategy | None = None) -> dict[str, Any]:
    """Train one model into ``model_dir`` and return its metrics (also written to ``metrics.json``).

    A model whose ``metrics.json`` already exists (a resumed run) is not trained again.
    """
    metrics_path = model_dir / "metrics.json"
    if metrics_path.exists() and (model_dir / "model.keras").exists():
        logger.info("%s: already trained in %s, skipping", kind, model_dir)
        return json.loads(metrics_path.read_text())

    model_dir.mkdir(parents=True, exist_ok=True)
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():  # variables (weights, optimizer state) are created per replica
        model = config.build_compiled_model(kind, len(splits.train_images))
    # The global batch is config.batch_size; a strategy splits each batch across its replicas.
    train_ds = training_dataset(splits.train_images, config.noise_model(), config.batch_size, seed=config.seed)
    test_ds = tf.data.Dataset.from_tensor_slices((noisy_test, clean_test)).batch(config.batch_size)
    if strategy.num_replicas_in_sync > 1:
        # Workers each take their share of every epoch's batches (the data is in memory on each).
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_ds, test_ds = train_ds.with_options(options), test_ds.with_options(options)

    timer = EpochTimer(images_per_epoch=len(splits.train_images))
    best_path = model_dir / "checkpoints" / "best.keras"
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.BackupAndRestore(str(model_dir / "backup")),
        keras.callbacks.TerminateOnNaN(),
        StopOnInterrupt(),
        timer,
        HistoryCSV(model_dir / "history.csv"),
        BestCheckpoint(best_path, monitor="val_loss"),
        ReconstructionPlot(noisy_test[:PLOTTED_TEST_IMAGES], clean_test[:PLOTTED_TEST_IMAGES],
                           model_dir / "reconstructions", title=kind.upper()),
        LossCurves(model_dir / "loss_curves.png", history_csv=model_dir / "history.csv", title=kind.upper()),
    ]
    if config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(model_dir / "tensorboard")))

    logger.info("%s: %s parameters, training %d epochs", kind, f"{model.count_params():,}", config.epochs)
    history = model.fit(train_ds, validation_data=test_ds, epochs=config.epochs, callbacks=callbacks,
                        verbose=verbose, shuffle=False)
    # TerminateOnNaN is the only callback here that stops training early.
    diverged = bool(model.stop_training) or not all(math.isfinite(v) for v in history.history.get("loss", []))
    if diverged:
        model = _recover_from_nan(kind, best_path, config)

    test_scores = model.evaluate(test_ds, verbose=0, return_dict=True)
    denoised = model.predict(noisy_test, batch_size=512, verbose=0)
    test = image_quality(clean_test, denoised) | {k: float(v) for k, v in test_scores.items() if k not in ("mse", "psnr")}
    metrics = {
        "model": kind, "class": type(model).__name__, "config": model.get_config(),
        "parameters": int(model.count_params()),
        "dataset": splits.name, "dataset_source": splits.source,
        "train_images": len(splits.train_images), "test_images": len(splits.test_images),
        "noise": {"kind": config.noise, "strength": config.noise_strength}, "seed": config.seed,
        "epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "lr_schedule": config.lr_schedule, "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync, "mixed_precision": config.mixed_precision,
        "test": test, "diverged": diverged,
        "training_seconds": round(timer.total_seconds, 2),
        "images_per_second": round(timer.steady_images_per_second, 1),
    }
    files.write_with(model_dir / "model.keras", model.save)
    export_saved_model(model, model_dir / "saved_model")
    files.write_json(metrics_path, metrics)  # last: its presence means the model is complete
    shutil.rmtree(model_dir / "backup", ignore_errors=True)
    logger.info("%s: test PSNR %.2f dB, SSIM %.3f", kind, test["psnr"], test["ssim"])
    return metrics


def _recover_from_nan(kind: str, best_path: Path, config: TrainConfig) -> keras.Model:
    if not best_path.exists():
        raise TrainingDiverged(
            f"{kind}: the loss became NaN before the first epoch finished; try a lower --learning-rate "
            f"(now {config.learning_rate})")
    logger.error("%s: the loss became NaN; training stopped and the best checkpoint (%s) is kept. "
                 "A lower --learning-rate usually helps.", kind, best_path)
    return keras.saving.load_model(best_path)


def _prepare_run_dir(config: TrainConfig, output: str | Path | None, runs_root: Path) -> Path:
    """Choose the run folder, refusing to mix two different runs in one folder."""
    wanted = config.to_json()
    if output is not None:
        run_dir = Path(output)
        if run_dir.exists() and not run_dir.is_dir():
            raise UsageError(f"--output {run_dir} exists and is not a folder")
        existing = _read_config(run_dir)
        if existing is None and run_dir.exists() and any(run_dir.iterdir()):
            raise UsageError(f"--output {run_dir} is a non-empty folder that is not an aezoo run; choose a new path")
        if existing is not None:
            if not (run_dir / INCOMPLETE_MARKER).exists():
                raise UsageError(f"--output {run_dir} already holds a finished run; choose a new path or delete it")
            if existing != wanted:
                raise UsageError(f"--output {run_dir} holds an unfinished run with other settings; "
                                 "repeat its own command to resume it, or choose a new path")
            logger.info("Resuming the unfinished run in %s", run_dir)
    else:
        run_dir = _find_unfinished(runs_root, wanted)
        if run_dir is not None:
            logger.info("Resuming the unfinished run with the same settings in %s", run_dir)
        else:
            run_dir = _new_run_dir(runs_root)
    run_dir.mkdir(parents=True, exist_ok=True)
    files.write_text(run_dir / INCOMPLETE_MARKER,
                     "Training is running or was interrupted. Re-run the same command to resume.\n")
    files.write_json(run_dir / "config.json", wanted)
    return run_dir


def _read_config(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None


def _find_unfinished(runs_root: Path, wanted: dict[str, Any]) -> Path | None:
    if not runs_root.is_dir():
        return None
    candidates = [d for d in runs_root.iterdir() if (d / INCOMPLETE_MARKER).exists() and _read_config(d) == wanted]
    return max(candidates, key=lambda d: d.stat().st_mtime) if candidates else None


def _new_run_dir(runs_root: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir, n = runs_root / stamp, 1
    while run_dir.exists():
        n += 1
        run_dir = runs_root / f"{stamp}-{n}"
    return run_dir


def format_comparison(summary: dict[str, Any]) -> str:
    """The console table: baselines and models on the same noisy test images."""
    lines = [f"\nTest set: {summary['test_images']} {summary['dataset']} images, "
             f"{summary['noise']['kind']} noise {summary['noise']['strength']}",
             f"{'':14}{'MSE':>9}{'PSNR dB':>9}{'SSIM':>8}{'params':>10}{'train s':>9}{'img/s':>8}"]
    for name, scores in summary["test"].items():
        extra = summary["models"].get(name)
        tail = (f"{extra['parameters']:>10,}{extra['training_seconds']:>9.1f}{extra['images_per_second']:>8.0f}"
                if extra else "")
        lines.append(f"{name:14}{scores['mse']:>9.4f}{scores['psnr']:>9.2f}{scores['ssim']:>8.3f}{tail}")
    return "\n".join(lines)
