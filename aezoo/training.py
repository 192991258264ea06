"""Train models with ``fit`` and callbacks, and write a run folder (layout: :mod:`aezoo.run_folder`).

Three splits: models train on the training images, ``fit`` reports ``val_*`` metrics on the fixed
noisy validation images and the best checkpoint is chosen by them; the test images are scored
once per model after training, and nothing is chosen by them.

Building a model for training is here too: :func:`aezoo.models.build` makes a family's model,
:func:`compile_model` gives it the run's optimizer (Adam, constant or cosine-decayed rate) and
steps per execution, and :func:`build_compiled_model` does both under the mixed-precision policy.
Training, tuning, the HyperModels and the benchmark all build through these.

Re-running the command of an interrupted run (same flags) finds its folder and resumes it: a
model restarts after the last epoch its backup holds, with the settings the backup was made with
or not at all, and a process trains a run folder only while it holds the folder's lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import math
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import keras
import numpy as np
import tensorflow as tf

from aezoo import files, interrupts
from aezoo.callbacks import (
    BestCheckpoint, EpochTimer, HistoryCSV, KLWarmup, LossCurves, ReconstructionPlot, StopOnInterrupt,
)
from aezoo.callbacks.atomic_backup import BackupMismatch, ReplayRestoredEpoch, TrainingBackup
from aezoo.callbacks.tensorboard_images import TensorBoardImages
from aezoo.config import TrainConfig
from aezoo.datasets import ImageSplits, load_dataset, pairs_dataset, test_pairs, training_dataset, validation_pairs
from aezoo.distribute import is_chief, make_strategy
from aezoo.errors import UsageError
from aezoo.export import export_saved_model
from aezoo.families import build
from aezoo.baselines import baselines, choose_baselines
from aezoo.generation.sampling import choose_sampler, fit_sampler
from aezoo.metrics import image_quality
from aezoo.model_card import write_model_card
from aezoo.models.adapter import ModelAdapter, labels_for
from aezoo.run_folder import INCOMPLETE, LOCK, RunFolder
from aezoo.timing import PhaseTimer

logger = logging.getLogger("aezoo")

PLOTTED_IMAGES = 10
SCORED_METRICS = ("mse", "psnr", "ssim")
# The two rows every model's PSNR gain is shown against in the console table (aezoo.baselines).
BASELINE_NAMES = ("noisy input", "median 3x3")


class TrainingDiverged(UsageError):
    """The loss became NaN or infinite before any good checkpoint existed."""


@dataclasses.dataclass
class RunResult:
    """What :func:`train` wrote (``run_dir``, ``summary``) and kept in memory.

    ``models``: the models this call trained (not those a resumed run had finished before), the
    same weights as their ``model.keras``; ``splits``: the data they trained on. The train command
    hands both to the analysis, which otherwise reloads them from the run folder.
    """

    run_dir: Path
    summary: dict[str, Any]
    chief: bool = True  # False on the other workers of a multi-worker run, whose folder is thrown away
    models: dict[str, keras.Model] = dataclasses.field(default_factory=dict)
    splits: ImageSplits | None = None

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def table(self) -> str:
        """The comparison table for the console (:func:`format_comparison`)."""
        return format_comparison(self.summary)


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """The fixed noisy pairs of the validation and test splits, float32 ``[n, 28, 28, 1]`` each,
    and their labels (int ``[n]``), which only a model that needs labels is given."""

    noisy_validation: np.ndarray
    clean_validation: np.ndarray
    noisy_test: np.ndarray
    clean_test: np.ndarray
    validation_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    @classmethod
    def of(cls, splits: ImageSplits, config: TrainConfig) -> "HeldOut":
        noise = config.noise_model()
        return cls(*validation_pairs(splits.validation_images, noise, config.seed),
                   *test_pairs(splits.test_images, noise, config.seed),
                   validation_labels=splits.validation_labels, test_labels=splits.test_labels)

    def validation(self, batch_size: int, model: Any) -> tf.data.Dataset:
        """The validation pairs as batches for ``model`` (an instance or a class): ``((noisy, labels),
        clean)`` for a conditional one, ``(noisy, clean)`` otherwise."""
        return pairs_dataset(self.noisy_validation, self.clean_validation, batch_size,
                             labels_for(model, self.validation_labels))

    def test(self, batch_size: int, model: Any) -> tf.data.Dataset:
        """The test pairs as batches for ``model``, as :meth:`validation`."""
        return pairs_dataset(self.noisy_test, self.clean_test, batch_size, labels_for(model, self.test_labels))


# ----------------------------------------------------------------------------- building and compiling

def build_model(kind: str, config: TrainConfig) -> keras.Model:
    """A new, unbuilt model of family ``kind`` with the run's hyperparameters and seed.

    Raises:
        UsageError: a constructor refused a value; the message names the family.
    """
    try:
        return build(kind, **config.model_arguments(kind))
    except ValueError as error:
        raise UsageError(f"{kind}: {error}") from None


def check_models(config: TrainConfig) -> None:
    """Run every model constructor's own checks (embedding size, depth, beta, ...) without training,
    and check that ``config.sampler`` applies to every model."""
    for kind in config.models:
        choose_sampler(build_model(kind, config), config.sampler)


def make_optimizer(config: TrainConfig, steps_per_epoch: int | None = None) -> keras.optimizers.Optimizer:
    """Adam at ``config.learning_rate``, constant or decayed to zero over the run along a cosine.

    Cosine decay takes large steps early and ever finer ones at the end, which on a short run
    reaches a lower loss than a constant rate that is either too timid early or too jumpy late.
    """
    rate: Any = config.learning_rate
    if config.lr_schedule == "cosine":
        if steps_per_epoch is None:
            raise ValueError("a cosine schedule needs the number of steps per epoch")
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps_per_epoch * config.epochs)
    return keras.optimizers.Adam(rate)


def compile_model(model: keras.Model, config: TrainConfig, train_images: int | None = None, **extra: Any) -> None:
    """``model.compile`` as training does it (optimizer, steps per execution), plus ``extra``."""
    # Keras 3.15's multi-step loop fails under a multi-replica strategy (an unfed placeholder
    # inside its while loop), so several replicas run one step per execution.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    steps = config.steps_per_epoch(train_images) if train_images is not None else None
    model.compile(optimizer=make_optimizer(config, steps),
                  steps_per_execution=config.steps_per_execution if replicas == 1 else 1, **extra)


def build_compiled_model(kind: str, config: TrainConfig, train_images: int | None = None,
                         **compile_extra: Any) -> keras.Model:
    """Build, compile and create the weights of model ``kind``, as training does.

    Call it inside ``strategy.scope()`` when there is one. With ``config.mixed_precision`` the
    layers are created under a mixed policy (float16 on GPUs, which have tensor cores for it;
    bfloat16 on CPUs, which have no fast float16 maths); the global policy is restored after.
    """
    previous_policy = keras.mixed_precision.global_policy()
    if config.mixed_precision:
        gpu = bool(tf.config.list_logical_devices("GPU"))
        keras.mixed_precision.set_global_policy("mixed_float16" if gpu else "mixed_bfloat16")
    try:
        model = build_model(kind, config)
        compile_model(model, config, train_images, **compile_extra)
        model.build()
        # Adam's slots are otherwise created inside the first training step, and a tf.function
        # that creates variables is traced twice: building them here saves one trace of the
        # whole step (its cost: bench/README.md, "How the defaults got there").
        model.optimizer.build(model.trainable_variables)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    return model


# ----------------------------------------------------------------------------- the run

def prepare_splits(config: TrainConfig, splits: ImageSplits | None = None) -> ImageSplits:
    """The run's three splits: ``splits`` (a validation split carved if it has none), else the dataset."""
    if splits is None:
        return load_run_data(config)
    return splits.with_validation(config.validation_fraction)


def load_run_data(config: TrainConfig, resolved: str | None = None) -> ImageSplits:
    """The data a run with ``config`` trains on, as training loads it (size, colour and fit included).

    ``resolved``: the dataset name the run recorded, for a later reader (the analysis, generation) to
    load what ``auto`` resolved to. A ``--data-dir`` is the data whatever its recorded name (a folder
    of images is recorded under the folder's name, which is no dataset to load).
    """
    name = config.dataset if resolved is None or config.data_dir is not None else resolved
    return load_dataset(name, config.data_dir, validation_fraction=config.validation_fraction,
                        image_size=config.image_size, color_mode=config.color_mode, fit=config.fit)


def train(config: TrainConfig, output: str | Path | None = None, runs_root: str | Path = "runs",
          verbose: str | int = "auto", splits: ImageSplits | None = None,
          timer: PhaseTimer | None = None) -> RunResult:
    """Train every model of ``config`` and write a complete run folder.

    Args:
        config: what to train; validated first, before anything is written.
        output: the run folder; default: resume the newest unfinished run in ``runs_root`` with
            the same config, else a new timestamped folder there.
        runs_root: where default run folders go.
        verbose: Keras ``fit`` verbosity; ``"auto"`` is a progress bar on a terminal and one line
            per epoch otherwise.
        splits: data already in memory (tests, tuning); without a validation split, one is carved
            with ``config.validation_fraction``. Default: load ``config.dataset``.
        timer: times the phases (set-up, data, each model's build, training, evaluation, ...)
            into ``summary.json["phases"]``; the command passes one that started with the process.

    Raises:
        UsageError: bad settings or data (nothing is written), or a run that diverged.
    """
    timer = timer or PhaseTimer()
    with timer.phase("set-up"):
        # The strategy comes first: multi-worker collective ops must be configured before any other
        # TensorFlow work, and checking the models builds (unbuilt) Keras models.
        strategy = make_strategy(config.strategy)
        config.validate()
        check_models(config)
        chief = is_chief(strategy)
        if chief:  # the others write into a temporary folder of their own
            files.check_writable(output if output is not None else runs_root,
                                 f"--output {output}" if output is not None else f"runs folder {runs_root}")
    with timer.phase("data"):
        splits = prepare_splits(config, splits)
        config = config.for_data(splits.image_shape, splits.class_names, splits.has_labels)
        check_models(config)  # again, now that the data says the image shape

    def context(run: RunFolder) -> TrainingContext:
        return TrainingContext(config=config, splits=splits, run=run, strategy=strategy, timer=timer,
                               verbose=_fit_verbosity(verbose))

    if not chief:
        # Every worker of a multi-worker run executes the same steps (they take part in the same
        # collective ops, saving included); only the chief's files are kept.
        run_dir = Path(tempfile.mkdtemp(prefix="aezoo-worker-"))
        try:
            return dataclasses.replace(_train_all(context(RunFolder(run_dir))), chief=False)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    with _claimed_run(config, output, Path(runs_root)) as run:
        return _train_all(context(run))


def _fit_verbosity(verbose: str | int) -> str | int:
    """``fit``'s ``verbose``: ``"auto"`` is a progress bar on a terminal, one line per epoch otherwise."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


@dataclasses.dataclass
class TrainingContext:
    """What every step of a run's training shares: its settings and data, its folder, how it runs.

    ``held_out``: the fixed noisy validation and test pairs, made on first use (they depend on
    the settings and the data only).
    """

    config: TrainConfig
    splits: ImageSplits
    run: RunFolder
    strategy: tf.distribute.Strategy = dataclasses.field(default_factory=tf.distribute.get_strategy)
    timer: PhaseTimer = dataclasses.field(default_factory=PhaseTimer)
    verbose: str | int = 2

    @functools.cached_property
    def held_out(self) -> HeldOut:
        return HeldOut.of(self.splits, self.config)

    @property
    def train_images(self) -> int:
        return len(self.splits.train_images)


def _train_all(context: TrainingContext) -> RunResult:
    config, splits, run, timer = context.config, context.splits, context.run, context.timer
    logger.info("Run folder: %s", run.path)
    logger.info("Data: %s; noise: %s %s", splits.describe(), config.noise, config.noise_strength)
    with timer.phase("held-out pairs and baselines"):
        held_out = context.held_out
        summary: dict[str, Any] = {
            **_data_record(splits), "noise": {"kind": config.noise, "strength": config.noise_strength},
            "test": baselines(held_out.noisy_test, held_out.clean_test,
                              choose_baselines(held_out.noisy_validation, held_out.clean_validation)),
            "models": {},
        }
    models: dict[str, keras.Model] = {}
    for kind in config.models:
        metrics, model = train_model(kind, context)
        if model is not None:
            models[kind] = model
        summary["test"][kind] = {k: metrics["test"][k] for k in SCORED_METRICS}
        summary["models"][kind] = {k: metrics[k] for k in ("parameters", "training_seconds", "images_per_second")}
    with timer.phase("summary and model cards"):
        run.write_summary(summary)
        for kind in config.models:  # the cards set each model beside the run's baselines, from summary.json
            write_model_card(run.model_dir(kind))
    # Rewritten by the analysis, which adds its own phases before it writes the report.
    summary["phases"] = timer.records()
    run.write_summary(summary)
    run.mark_complete()
    logger.debug("%s", format_comparison(summary))
    return RunResult(run.path, summary, models=models, splits=splits)


def _data_record(splits: ImageSplits) -> dict[str, Any]:
    """Which data, and how many images in each of the three splits (for metrics.json and summary.json)."""
    sizes = splits.sizes()
    return {"dataset": splits.name, "dataset_source": splits.source, "splits": sizes,
            "train_images": sizes["train"], "validation_images": sizes["validation"], "test_images": sizes["test"]}


# ----------------------------------------------------------------------------- one model

@dataclasses.dataclass
class FitOutcome:
    """One model after ``fit``: the model to keep (the best checkpoint if it diverged) and its records."""

    kind: str
    model: keras.Model
    diverged: bool
    timer: EpochTimer
    backup: TrainingBackup | None = None


def train_model(kind: str, context: TrainingContext) -> tuple[dict[str, Any], keras.Model | None]:
    """Train one model into ``run.model_dir(kind)``; return its metrics (also its ``metrics.json``) and the model.

    Build, fit (on train, watching validation), score (once, on test), save; the context's timer
    times each as a phase ``"<kind>: ..."``. A model that is already finished (a resumed run) is
    not trained again: its metrics are read back and the model is ``None``.
    """
    config, run, timer = context.config, context.run, context.timer
    if run.is_model_finished(kind):
        logger.info("%s: already trained in %s, skipping", kind, run.model_dir(kind))
        TrainingBackup(run.backup_dir(kind)).discard()  # a kill after metrics.json may have left it
        return run.read_metrics(kind) or {}, None
    files.make_folder(run.model_dir(kind))
    with timer.phase(f"{kind}: build"):
        keras.utils.set_random_seed(config.seed)
        with context.strategy.scope():  # variables (weights, optimizer state) are created per replica
            model = build_compiled_model(kind, config, context.train_images)
    with timer.phase(f"{kind}: training"):
        outcome = _fit(model, kind, context)
    # The fit phase's time outside the training steps: validation, and the epoch-end callbacks.
    training = timer.phases[-1]
    timer.carve(f"{kind}: validation and epoch-end callbacks", training.seconds - outcome.timer.seconds_this_fit,
                training.cpu_seconds - outcome.timer.cpu_seconds_this_fit)
    with timer.phase(f"{kind}: test evaluation"):
        metrics = _score(outcome, context)
    with timer.phase(f"{kind}: sampler/prior"):
        # The run's sampler (default: the model's), fitted on the training codes where it learns (the
        # AE's mixture, the VQ-VAE's PixelCNN) before the export, whose ``sample`` signature draws with it.
        sampler = fit_sampler(outcome.model, run.model_dir(kind), context.splits.train_images, config.sampler,
                              seed=config.seed)
    with timer.phase(f"{kind}: save and SavedModel export"):
        _save(outcome, context, metrics, sampler)
    # The model folder is complete here (model.keras, saved_model/, metrics.json): steps that
    # only read a finished model (model card, generation) are called from this point.
    return metrics, outcome.model


def _datasets(context: TrainingContext, model: keras.Model) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training batches (fresh noise every epoch) and the fixed validation pairs, as ``model`` takes them."""
    config, splits = context.config, context.splits
    # The global batch is config.batch_size; a strategy splits each batch across its replicas.
    train_ds = training_dataset(splits.train_images, config.noise_model(), config.batch_size, seed=config.seed,
                                labels=labels_for(model, splits.train_labels))
    val_ds = context.held_out.validation(config.batch_size, model)
    if context.strategy.num_replicas_in_sync > 1:
        # Workers each take their share of every epoch's batches (the data is in memory on each).
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_ds, val_ds = train_ds.with_options(options), val_ds.with_options(options)
    return train_ds, val_ds


def settings_of(config: TrainConfig) -> dict[str, Any]:
    """What a model's training depends on, recorded in its backup and metrics.json: the run's
    config but the list of models (a resumed run may add one)."""
    return {key: value for key, value in config.to_json().items() if key != "models"}


def _callbacks(model: keras.Model | type, kind: str, context: TrainingContext, timer: EpochTimer,
               backup: TrainingBackup | None = None) -> list[keras.callbacks.Callback]:
    config, run, held_out = context.config, context.run, context.held_out
    history = run.history_path(kind)
    labels = held_out.validation_labels
    plotted_labels = labels_for(model, None if labels is None else labels[:PLOTTED_IMAGES])
    backup = backup or TrainingBackup(run.backup_dir(kind), settings_of(config), timer)
    records: list[keras.callbacks.Callback] = [
        HistoryCSV(history),
        BestCheckpoint(run.best_checkpoint_path(kind), monitor="val_loss"),
        ReconstructionPlot(held_out.noisy_validation[:PLOTTED_IMAGES], held_out.clean_validation[:PLOTTED_IMAGES],
                           run.reconstructions_dir(kind), title=kind.upper(), labels=plotted_labels),
        LossCurves(run.loss_curves_path(kind), history_csv=history, title=kind.upper()),
    ]
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.TerminateOnNaN(),
        timer,  # before the backup, which keeps the epoch's time
        # Before HistoryCSV and the backup, which then record the epoch's KL weight; a no-op
        # without a KL term.
        KLWarmup(config.kl_warmup_epochs),
        # The first write of every epoch end: the backup that a resumed run starts from. A kill
        # right after it never costs an epoch of training; the records after it that the kill
        # prevented are written on resuming, by ReplayRestoredEpoch.
        backup,
        *records,
    ]
    if config.tensorboard:
        callbacks += [keras.callbacks.TensorBoard(str(run.tensorboard_dir(kind))),
                      TensorBoardImages(run.tensorboard_dir(kind), held_out.noisy_validation[:PLOTTED_IMAGES],
                                        held_out.clean_validation[:PLOTTED_IMAGES], labels=plotted_labels)]
    # Last: a termination asked for during an epoch's end stops training only after every record
    # of that epoch (history row, checkpoint, pictures) is written, since its backup already is.
    return [*callbacks, ReplayRestoredEpoch(backup, records), StopOnInterrupt()]


def _fit(model: keras.Model, kind: str, context: TrainingContext) -> FitOutcome:
    config, run = context.config, context.run
    train_ds, val_ds = _datasets(context, model)
    timer = EpochTimer(images_per_epoch=context.train_images)
    backup = TrainingBackup(run.backup_dir(kind), settings_of(config), timer)
    try:
        with context.strategy.scope():
            initial_epoch = backup.restore(model)
    except BackupMismatch as error:
        raise UsageError(f"{run.backup_dir(kind)}: {error}; repeat the command the run was started with, "
                         "or choose a new --output") from None
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise UsageError(f"{run.backup_dir(kind)}: unreadable backup ({error}); delete that folder to train "
                         f"{kind} again from its first epoch") from None
    if initial_epoch:
        logger.info("%s: resuming after epoch %d of %d", kind, initial_epoch, config.epochs)
    else:
        logger.info("%s: %s parameters, training %d epochs", kind, f"{model.count_params():,}", config.epochs)
    with interrupts.deferred():  # a SIGTERM stops fit at a step end, never inside a backup write
        history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=initial_epoch,
                            verbose=context.verbose, shuffle=False,
                            callbacks=_callbacks(model, kind, context, timer, backup))
    # TerminateOnNaN is the only callback here that stops training early.
    diverged = bool(model.stop_training) or not all(math.isfinite(v) for v in history.history.get("loss", []))
    if diverged:
        model = _recover_from_nan(kind, run.best_checkpoint_path(kind), config)
    return FitOutcome(kind, model, diverged, timer, backup)


def _score(outcome: FitOutcome, context: TrainingContext) -> dict[str, Any]:
    """The model's one look at the test split, and everything metrics.json records about the run."""
    config, held_out, strategy = context.config, context.held_out, context.strategy
    model = outcome.model
    speed = outcome.timer.steady_images_per_second
    test_scores = model.evaluate(held_out.test(config.batch_size, model), verbose=0, return_dict=True)
    denoised = denoise_in_batches(model, held_out.noisy_test, held_out.test_labels)
    test = image_quality(held_out.clean_test, denoised) | {k: float(v) for k, v in test_scores.items()
                                                          if k not in ("mse", "psnr")}
    return {
        "model": outcome.kind, "class": type(model).__name__, "config": model.get_config(),
        "parameters": int(model.count_params()), **_data_record(context.splits),
        "validation_fraction": config.validation_fraction,
        "noise": {"kind": config.noise, "strength": config.noise_strength}, "seed": config.seed,
        "epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate,
        "lr_schedule": config.lr_schedule, "kl_warmup_epochs": config.kl_warmup_epochs,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync, "mixed_precision": config.mixed_precision,
        "test": test, "diverged": outcome.diverged,
        # Every epoch's, those before an interruption included (the backup keeps their times).
        "training_seconds": round(outcome.timer.total_seconds, 2),
        "images_per_second": None if speed is None else round(speed, 1),  # None: no epoch was timed
        "settings": settings_of(config),
    }


def denoise_in_batches(model: keras.Model, images: np.ndarray, labels: np.ndarray | None = None,
                       batch_size: int = 500) -> np.ndarray:
    """The model's outputs for ``images`` (and ``labels``, if it needs them), as ``predict`` gives them.

    Direct eager calls: ``predict`` would first trace a graph for one pass over a thousand test
    images, which costs more than the pass itself (bench/README.md, "Measurements behind code choices").
    """
    return ModelAdapter(model, batch_size)(images, labels)


def _save(outcome: FitOutcome, context: TrainingContext, metrics: dict[str, Any], sampler: Any = None) -> None:
    model, kind, run = outcome.model, outcome.kind, context.run
    files.write_with(run.model_file(kind), model.save)
    export_saved_model(model, run.saved_model_dir(kind), sampler)
    run.write_metrics(kind, metrics)  # last: its presence means the model is complete
    # Only now: a kill before this point resumes from the backup with no epoch to train again.
    (outcome.backup or TrainingBackup(run.backup_dir(kind))).discard()
    logger.info("%s: test PSNR %.2f dB, SSIM %.3f", kind, metrics["test"]["psnr"], metrics["test"]["ssim"])


def _recover_from_nan(kind: str, best_path: Path, config: TrainConfig) -> keras.Model:
    if not best_path.exists():
        raise TrainingDiverged(
            f"{kind}: the loss became NaN before the first epoch finished; try a lower --learning-rate "
            f"(now {config.learning_rate})")
    logger.error("%s: the loss became NaN; training stopped and the best checkpoint (%s) is kept. "
                 "A lower --learning-rate usually helps.", kind, best_path)
    return keras.saving.load_model(best_path)


@contextlib.contextmanager
def _claimed_run(config: TrainConfig, output: str | Path | None, runs_root: Path) -> Iterator[RunFolder]:
    """The run folder, locked for this process while it trains; refusing to mix two runs in one.

    Checked under the lock, before anything is written: what the folder holds (a run with these
    settings, or nothing of anyone else's), and that every model it holds was trained or backed
    up with these settings. Temporaries a killed process left there are then removed.
    """
    wanted = config.to_json()
    if output is not None:
        run = RunFolder(output)
        files.make_folder(run.path)
    else:
        found = _find_unfinished(runs_root, wanted)
        if found is not None:
            logger.info("Resuming the unfinished run with the same settings in %s", found.path)
        run = found or _new_run(runs_root)
    with run.lock():
        if output is not None:
            _check_output(run, wanted)
        _check_resumable(run, settings_of(config), output is not None)
        files.clean_temporaries(run.path)
        run.mark_incomplete()
        run.write_config(wanted)
        yield run


def _check_output(run: RunFolder, wanted: dict[str, Any]) -> None:
    path = run.path
    problem = run.config_problem()
    if problem is not None:
        # INCOMPLETE alone: a run killed before its config.json was written, which starts afresh.
        if not files.other_files(path, {LOCK, INCOMPLETE}):
            return
        if run.config_path.exists() or run.is_incomplete() or run.model_names():
            raise UsageError(f"--output {path}: {problem}; restore it, or choose a new path")
        raise UsageError(f"--output {path} is a non-empty folder that is not an aezoo run ({problem}); "
                         "choose a new path")
    if not run.is_incomplete():
        raise UsageError(f"--output {path} already holds a finished run; choose a new path or delete it")
    if not _same_settings(run.read_config(), wanted):
        raise UsageError(f"--output {path} holds an unfinished run with other settings; "
                         "repeat its own command to resume it, or choose a new path")
    logger.info("Resuming the unfinished run in %s", path)


def _check_resumable(run: RunFolder, settings: dict[str, Any], named: bool) -> None:
    """Refuse to resume a run whose models were trained, or backed up, with other settings.

    config.json is what makes a rerun "the same command"; an edited config.json (and flags to
    match it) would otherwise resume 10-d weights into a 20-d model, or a 5-epoch learning-rate
    schedule as a 2-epoch run. Each model's own record is compared instead.
    """
    where = f"--output {run.path}" if named else str(run.path)
    for kind in run.model_names():
        if run.is_model_finished(kind):
            recorded, what = (run.read_metrics(kind) or {}).get("settings"), "trained"
        else:
            try:
                state = TrainingBackup(run.backup_dir(kind)).read_state()
            except (OSError, KeyError, ValueError) as error:
                raise UsageError(f"{run.backup_dir(kind)}: unreadable backup ({error}); delete that folder to "
                                 f"train {kind} again from its first epoch") from None
            recorded, what = (state or {}).get("settings"), "backed up"
        if not isinstance(recorded, dict):
            continue  # recorded by an aezoo that did not record settings: nothing to compare
        recorded = _normalised(recorded)
        changed = [f"{key} {recorded.get(key)!r} -> {settings.get(key)!r}"
                   for key in sorted(set(recorded) | set(settings)) if recorded.get(key) != settings.get(key)]
        if changed:
            raise UsageError(f"{where}: its {kind} model was {what} with other settings than these "
                             f"({'; '.join(changed)}); was config.json edited? Repeat the command the run was "
                             "started with, or choose a new --output")


def _normalised(recorded: dict[str, Any]) -> dict[str, Any]:
    """Recorded settings read back through TrainConfig: a setting added since takes its default."""
    try:
        return settings_of(TrainConfig.from_json(recorded))
    except (TypeError, ValueError):
        return recorded


def _new_run(runs_root: Path) -> RunFolder:
    """A new timestamped folder, created here so that two processes never share one."""
    while True:
        path = _new_run_dir(runs_root)
        files.make_folder(runs_root)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as error:
            raise files.as_write_error(error, path) from error
        return RunFolder(path)


def _find_unfinished(runs_root: Path, wanted: dict[str, Any]) -> RunFolder | None:
    if not runs_root.is_dir():
        return None
    candidates = [RunFolder(d) for d in runs_root.iterdir()]
    candidates = [run for run in candidates if run.is_incomplete() and _same_settings(run.read_config(), wanted)]
    return max(candidates, key=lambda run: run.path.stat().st_mtime) if candidates else None


def _same_settings(existing: Any, wanted: dict[str, Any]) -> bool:
    """Whether a run folder's config.json asks for the run ``wanted`` describes.

    A config written before a setting existed lacks it; read back through TrainConfig it takes
    the setting's default, which is what that older run trained with.
    """
    if not isinstance(existing, dict):
        return False
    try:
        return existing == wanted or TrainConfig.from_json(existing).to_json() == wanted
    except (TypeError, ValueError):
        return False


def _new_run_dir(runs_root: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir, n = runs_root / stamp, 1
    while run_dir.exists():
        n += 1
        run_dir = runs_root / f"{stamp}-{n}"
    return run_dir


def format_comparison(summary: dict[str, Any]) -> str:
    """The console table: the two baselines, then every model, on the same noisy test images.

    Besides each row's scores, two columns give its PSNR gain in dB over each baseline (doing
    nothing, and the 3x3 median filter), so a model of the zoo is read against both at a glance.
    """
    sizes = summary.get("splits", {})
    trained_on = (f" (trained on {sizes['train']}, validated on {sizes['validation']})"
                  if {"train", "validation"} <= sizes.keys() else "")
    tests = summary["test"]
    references = [name for name in BASELINE_NAMES if name in tests]
    width = max([14, *(len(name) + 2 for name in tests)])
    lines = [f"\nTest set: {summary['test_images']} {summary['dataset']} images{trained_on}, "
             f"{summary['noise']['kind']} noise {summary['noise']['strength']}",
             f"{'':{width}}{'MSE':>9}{'PSNR dB':>9}{'SSIM':>8}"
             + "".join(f"{'vs ' + name.split()[0]:>11}" for name in references)
             + f"{'params':>10}{'train s':>9}{'img/s':>8}"]
    for name, scores in tests.items():
        gains = "".join(f"{scores['psnr'] - tests[ref]['psnr']:>+11.2f}" for ref in references)
        extra = summary["models"].get(name)
        tail = (f"{extra['parameters']:>10,}{_number(extra.get('training_seconds'), '>9.1f', 9)}"
                f"{_number(extra.get('images_per_second'), '>8.0f', 8)}" if extra else "")
        lines.append(f"{name:{width}}{scores['mse']:>9.4f}{scores['psnr']:>9.2f}{scores['ssim']:>8.3f}{gains}{tail}")
    if references:
        lines.append(f"vs ...: PSNR gain in dB over {' and over '.join('the ' + ref for ref in references)}")
    return "\n".join(lines)


def _number(value: Any, spec: str, width: int) -> str:
    """``value`` formatted, or a dash where it is unknown (``null`` in the JSON)."""
    return format(value, spec) if isinstance(value, (int, float)) and math.isfinite(value) else f"{'-':>{width}}"
