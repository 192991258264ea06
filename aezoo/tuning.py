"""Hyperparameter search with keras-tuner, then the best configuration retrained as a normal run.

A tuning folder (default ``tuning/<model>-<tuner>/``)::

    TUNING/
      search.json        the search settings: re-running the same command resumes this search
      keras_tuner/       keras-tuner's own state: oracle.json, tunerN.json, trial_NN/ (checkpoints)
      results.csv        every trial: hyperparameters, epochs, objective, parameters, seconds
      results.png        the objective against embedding size (or filters) and depth
      best.json          the best trial, its validation objective, and its retrained run's test scores
      best/              a normal run folder (see :mod:`aezoo.run_folder`) of the best configuration

How a search works: the tuner's *oracle* proposes hyperparameter values (a *trial*), the
:class:`~aezoo.hypermodels.AutoencoderHyperModel` builds that model, trains it on the usual
tf.data pipeline and scores it on the fixed noisy *validation* pairs (carved from the training
images, as in training); the oracle records the score and proposes the next trial. The test
split plays no part in the search: only the retrained best model is scored on it, once. Random search samples blindly; Bayesian optimisation fits a Gaussian
process to the scores so far; Hyperband trains many configurations for a few epochs and gives
the survivors of each round three times more (successive halving), so most of the budget goes
to promising models.

keras-tuner writes its state after every trial, so an interrupted search reloads it and only
re-runs the trial that was cut short. Distributed search uses keras-tuner's chief/worker mode:
with ``KERASTUNER_ORACLE_IP``/``_PORT`` set, the process whose ``KERASTUNER_TUNER_ID`` contains
"chief" serves the oracle over gRPC and the others (workers) ask it for trials; all share the
tuning folder. Only the chief (or a lone process) writes the results and retrains the best model.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from aezoo import files
from aezoo.config import TrainConfig, data_facts
from aezoo.datasets import DEFAULT_VALIDATION_FRACTION, ImageSplits, training_dataset
from aezoo.errors import UsageError
from aezoo.hypermodels import DEFAULT_OBJECTIVE, AutoencoderHyperModel, objectives
from aezoo.families import MODELS, PLAIN_AUTOENCODER, get_model
from aezoo.models.adapter import labels_for
from aezoo.run_folder import RunFolder, read_json
from aezoo.training import HeldOut, check_models, prepare_splits, train

logger = logging.getLogger("aezoo")

TUNERS = ("random", "bayesian", "hyperband")
DEFAULT_MAX_TRIALS = 10  # random and Bayesian search; Hyperband's brackets set its own number
# 9 = 3^2: with Hyperband's factor 3, three brackets (rungs of 1, 3 and 9 epochs), 23 trials and
# ~75 epochs of training, a budget of minutes on a laptop CPU (timings in docs/tuning.md). Short
# searches mostly rank how soon a model leaves the early "average digit" plateau: give --epochs
# more when there is time.
DEFAULT_EPOCHS = 9
HYPERBAND_FACTOR = 3
PROJECT = "keras_tuner"
SETTINGS_FILE = "search.json"
BEST_RUN = "best"
# keras-tuner's Hyperband bookkeeping, stored among each trial's hyperparameter values.
_HYPERBAND_EPOCHS, _HYPERBAND_PARENT = "tuner/epochs", "tuner/trial_id"
# results.png's x axis: the first of these the family searches (the U-Net has no embedding).
PLOT_AXES = ("embedding_dim", "filters")


@dataclasses.dataclass
class SearchSettings:
    """Everything that decides what a search does (and so what makes two commands the same search)."""

    model: str = PLAIN_AUTOENCODER
    tuner: str = "hyperband"
    max_trials: int | None = None
    epochs: int = DEFAULT_EPOCHS
    objective: str = DEFAULT_OBJECTIVE
    dataset: str = "embedded"
    data_dir: str | None = None
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None
    fit: str = "resize"
    noise: str = "gaussian"
    noise_strength: float | None = None
    batch_size: int = TrainConfig.batch_size
    seed: int = 0
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    retrain_epochs: int | None = None
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)

    def validate(self) -> "SearchSettings":
        """Raise :class:`UsageError` naming the first bad value, before anything runs."""
        if self.model not in MODELS:
            raise UsageError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.tuner not in TUNERS:
            raise UsageError(f"unknown tuner {self.tuner!r}; choose one of {', '.join(TUNERS)}")
        available = objectives(self.model)
        if self.objective not in available:
            raise UsageError(f"unknown objective {self.objective!r} for {self.model}; "
                             f"choose one of {', '.join(available)} (validation metrics of its test_step)")
        for name in ("max_trials", "retrain_epochs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise UsageError(f"{name.replace('_', ' ')} must be a positive integer, got {value!r}")
        hypermodel = self.hypermodel()
        space = hypermodel.search_space().values
        unknown = sorted(set(self.fixed) - set(space))
        if unknown:
            raise UsageError(f"cannot fix unknown hyperparameter(s) {', '.join(unknown)}; "
                             f"the search space of {self.model} has {', '.join(space)}")
        # The remaining checks (data, noise, epochs, batch size, the fixed values themselves) are
        # training's: the config of the default trial, judged by TrainConfig and the constructors.
        config = self.train_config(hypermodel, self.hyperparameters()).validate()
        check_models(config)
        return self

    def hypermodel(self, splits: ImageSplits | None = None) -> AutoencoderHyperModel:
        """The family's search space; ``splits`` decide the image shape (and a conditional model's classes)."""
        data = {} if splits is None else data_facts((self.model,), splits.image_shape, splits.class_names,
                                                     splits.has_labels)
        return AutoencoderHyperModel(self.model, seed=self.seed, data=data)

    def hyperparameters(self) -> kt.HyperParameters:
        """The pre-declared part of the space: ``fixed`` values (keras-tuner keeps the first declaration)."""
        hp = kt.HyperParameters()
        for name, value in self.fixed.items():
            hp.Fixed(name, value)
        return hp

    def train_config(self, hypermodel: AutoencoderHyperModel, hp: kt.HyperParameters,
                     epochs: int | None = None) -> TrainConfig:
        return hypermodel.train_config(hp, dataset=self.dataset, data_dir=self.data_dir, image_size=self.image_size,
                                       color_mode=self.color_mode, fit=self.fit, noise=self.noise,
                                       noise_strength=self.noise_strength, batch_size=self.batch_size,
                                       validation_fraction=self.validation_fraction, epochs=epochs or self.epochs)

    def __post_init__(self) -> None:
        if self.image_size is not None:
            self.image_size = tuple(self.image_size)  # type: ignore[assignment]  (JSON gives a list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"image_size": None if self.image_size is None else list(self.image_size)}


@dataclasses.dataclass
class TuneResult:
    output: Path
    role: str
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    best: dict[str, Any] | None = None
    settings: SearchSettings | None = None

    @property
    def table(self) -> str:
        """The results table and the best trial, for the console (:func:`format_tuning`)."""
        return format_tuning(self.rows, self.best, self.settings) if self.settings is not None else ""


def distributed_role() -> str:
    """``"standalone"``, or keras-tuner's ``"chief"``/``"worker"`` role from its environment variables."""
    if not os.environ.get("KERASTUNER_ORACLE_IP"):
        return "standalone"
    missing = [name for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if not os.environ.get(name)]
    if missing:
        raise UsageError(f"KERASTUNER_ORACLE_IP is set but {' and '.join(missing)} is not; distributed search "
                         "needs all three (the chief's KERASTUNER_TUNER_ID contains 'chief')")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def default_output(settings: SearchSettings) -> Path:
    return Path("tuning") / f"{settings.model}-{settings.tuner}"


def tune(settings: SearchSettings, output: str | Path | None = None, overwrite: bool = False,
         splits: ImageSplits | None = None, hyperparameters: kt.HyperParameters | None = None,
         verbose: str | int = "auto", analyze: bool = True) -> TuneResult:
    """Run (or resume) a search, then write the results and retrain the best configuration.

    Args:
        settings: what to search; validated before anything is written.
        output: the tuning folder; default ``tuning/<model>-<tuner>``.
        overwrite: delete an earlier search in ``output`` and start over (ignored by workers,
            which must never delete the chief's state).
        splits: data already in memory (tests); default: load ``settings.dataset``.
        hyperparameters: a pre-declared (narrower) search space; ``settings.fixed`` is added to it.
        verbose: Keras ``fit`` verbosity; ``"auto"``: a progress bar on a terminal, else a line per epoch.
        analyze: run the latent-space analysis on the retrained best run (when it is installed).
    """
    settings.validate()
    role = distributed_role()
    output = Path(output) if output is not None else default_output(settings)
    hp = settings.hyperparameters()
    if hyperparameters is not None:
        hp.merge(hyperparameters, overwrite=False)  # a value fixed in settings wins over a narrower range
    _prepare_output(output, settings, overwrite=overwrite and role != "worker", role=role)
    splits = prepare_splits(settings.train_config(settings.hypermodel(), hp), splits)
    hypermodel = settings.hypermodel(splits)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    logger.info("Tuning %s with %s search (%s) in %s; data: %s", settings.model, settings.tuner,
                role, output, splits.describe())
    tuner = make_tuner(settings, hypermodel, hp, output)
    run_search(tuner, settings, hypermodel, hp, splits, verbose)
    if role == "worker":
        return TuneResult(output, role, settings=settings)
    rows = write_results(tuner.oracle, settings, output)
    best = retrain_best(tuner.oracle, settings, hypermodel, output, splits, verbose, analyze)
    result = TuneResult(output, role, rows, best, settings)
    logger.debug("%s", result.table)
    return result


def run_search(tuner: kt.Tuner, settings: SearchSettings, hypermodel: AutoencoderHyperModel,
               hp: kt.HyperParameters, splits: ImageSplits, verbose: str | int) -> None:
    """``tuner.search`` on the training images, every trial scored on the fixed noisy validation pairs."""
    config = settings.train_config(hypermodel, hp)
    # The data exactly as in aezoo.training: fresh noise every epoch for training, the fixed noisy
    # validation pairs to score on, so trial scores and the retrained run's val_* are comparable.
    # A conditional family gets ((noisy, labels), clean) batches, as in training; no other does.
    model_class = get_model(settings.model).model_class
    train_ds = training_dataset(splits.train_images, config.noise_model(), settings.batch_size, seed=settings.seed,
                                labels=labels_for(model_class, splits.train_labels))
    val_ds = HeldOut.of(splits, config).validation(settings.batch_size, model_class)
    started = time.perf_counter()
    tuner.search(train_ds, validation_data=val_ds, epochs=settings.epochs, verbose=verbose)
    logger.info("Search finished in %.0f s (this process)", time.perf_counter() - started)


def write_results(oracle: kt.Oracle, settings: SearchSettings, output: Path) -> list[dict[str, Any]]:
    """``results.csv`` and ``results.png``; returns the rows, best first."""
    rows = trial_rows(oracle, settings)
    files.write_text(output / "results.csv", rows_to_csv(rows))
    plot_results(rows, settings, output / "results.png")
    return rows


def _prepare_output(output: Path, settings: SearchSettings, overwrite: bool, role: str) -> None:
    """Refuse to mix two searches in one folder; start over only when asked and only in a tuning folder."""
    wanted = settings.to_json()
    settings_path = output / SETTINGS_FILE
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output} exists and is not a folder")
    existing = read_json(settings_path)
    # A worker started before its chief may already have made keras-tuner's project folder.
    foreign = [p for p in output.iterdir() if p.name != PROJECT] if output.is_dir() else []
    if existing is None and foreign and role != "worker":
        raise UsageError(f"--output {output} is a non-empty folder that is not an aezoo tuning folder; "
                         "choose a new path")
    if existing is not None and existing != wanted:
        if overwrite:
            logger.info("Deleting the earlier search in %s (--overwrite)", output)
            shutil.rmtree(output)
        else:
            changed = ", ".join(f"{key} {existing.get(key)!r} -> {value!r}"
                                for key, value in wanted.items() if existing.get(key) != value)
            raise UsageError(f"--output {output} holds a search with other settings ({changed}); repeat its "
                             "own command to resume it, add --overwrite to start over, or choose a new --output")
    elif existing is not None and overwrite:
        logger.info("Deleting the earlier search in %s (--overwrite)", output)
        shutil.rmtree(output)
    elif existing is not None:
        logger.info("Resuming the search in %s", output)
    if role != "worker":  # workers share the chief's folder and leave its settings alone
        files.write_json(settings_path, wanted)


class _TrialRecords:
    """Mixed into each keras-tuner tuner: adds parameters and seconds to every trial's metrics.

    Reporting them as metrics (rather than in side files) sends them through the oracle, so in a
    distributed search the chief has them too. Each trial's metrics are taken at its best epoch.
    """

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        start = time.perf_counter()
        histories = super().run_trial(trial, *args, **kwargs)
        seconds = time.perf_counter() - start
        metrics = best_epoch_metrics(histories, self.oracle.objective)
        metrics.update(parameters=float(self._parameters), seconds=seconds)
        logger.info("[%s] trial %s: %s %.4g, %s parameters, %.1f s", self.tuner_id, trial.trial_id,
                    self.oracle.objective.name, metrics[self.oracle.objective.name],
                    f"{self._parameters:,}", seconds)
        return metrics

    def on_epoch_begin(self, trial: Any, model: keras.Model, epoch: int, logs: dict | None = None) -> None:
        self._parameters = model.count_params()


class RandomSearch(_TrialRecords, kt.RandomSearch):
    pass


class BayesianOptimization(_TrialRecords, kt.BayesianOptimization):
    pass


class Hyperband(_TrialRecords, kt.Hyperband):
    pass


def make_tuner(settings: SearchSettings, hypermodel: AutoencoderHyperModel, hp: kt.HyperParameters,
               output: Path) -> kt.Tuner:
    """The keras-tuner tuner; reloads its state from ``output`` when a search is already there."""
    common = dict(hypermodel=hypermodel, objective=objectives(settings.model)[settings.objective],
                  hyperparameters=hp, seed=settings.seed, directory=str(output), project_name=PROJECT,
                  overwrite=False)
    if settings.tuner == "hyperband":
        tuner = Hyperband(max_epochs=settings.epochs, factor=HYPERBAND_FACTOR, **common)
        # Hyperband has no max_trials argument, but its oracle honours the attribute every
        # oracle has: with --max-trials it caps the brackets' trials (a budget, cutting the last bracket).
        if settings.max_trials is not None and hasattr(tuner.oracle, "max_trials"):
            tuner.oracle.max_trials = settings.max_trials
        return tuner
    cls = RandomSearch if settings.tuner == "random" else BayesianOptimization
    return cls(max_trials=settings.max_trials or DEFAULT_MAX_TRIALS, **common)


def best_epoch_metrics(histories: Any, objective: kt.Objective) -> dict[str, float]:
    """Every metric at the epoch where the objective was best (averaged over executions)."""
    histories = histories if isinstance(histories, list) else [histories]
    rows = []
    for history in histories:
        logs = history.history
        values = np.asarray(logs[objective.name], dtype=float)
        values = np.where(np.isfinite(values), values, -np.inf if objective.direction == "max" else np.inf)
        best = int(np.argmax(values) if objective.direction == "max" else np.argmin(values))
        rows.append({name: float(series[best]) for name, series in logs.items()})
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}


def parse_fixed(model: str, items: list[str]) -> dict[str, Any]:
    """``["filters=8", "learning_rate=3e-4"]`` -> ``{"filters": 8, "learning_rate": 0.0003}``.

    Each value is converted to the type of that hyperparameter's default (int or float).
    """
    defaults = AutoencoderHyperModel(model).search_space().values
    fixed: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in defaults:
            raise UsageError(f"--fix {item!r}: expected NAME=VALUE with NAME one of {', '.join(defaults)}")
        kind = type(defaults[name])
        try:
            fixed[name] = kind(text)
        except ValueError:
            raise UsageError(f"--fix {item!r}: {name} must be {'an integer' if kind is int else 'a number'}") from None
    return fixed


def searched_names(settings: SearchSettings) -> list[str]:
    return list(settings.hypermodel().search_space().values)


def trial_rows(oracle: kt.Oracle, settings: SearchSettings) -> list[dict[str, Any]]:
    """One row per trial, best first (failed trials last): hyperparameters, epochs, scores, size, time."""
    objective = oracle.objective
    names = searched_names(settings)
    rows = []
    for trial in oracle.trials.values():
        values = trial.hyperparameters.values
        metrics = trial.metrics
        score = metrics.get_best_value(objective.name) if metrics.exists(objective.name) else None
        row: dict[str, Any] = {"trial": trial.trial_id, "status": str(trial.status)}
        row |= {name: values.get(name) for name in names}
        row["epochs"] = values.get(_HYPERBAND_EPOCHS, settings.epochs)
        if settings.tuner == "hyperband":
            row["continues"] = values.get(_HYPERBAND_PARENT) or ""
        row[objective.name] = score
        for name in ("parameters", "seconds"):
            row[name] = metrics.get_best_value(name) if metrics.exists(name) else None
        row["parameters"] = int(row["parameters"]) if row["parameters"] is not None else None
        rows.append(row)
    sign = -1.0 if objective.direction == "max" else 1.0
    return sorted(rows, key=lambda r: (r[objective.name] is None or not math.isfinite(r[objective.name]),
                                       sign * r[objective.name] if r[objective.name] is not None else 0.0,
                                       r["trial"]))


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def format_results(rows: list[dict[str, Any]], settings: SearchSettings) -> str:
    """The console table, best trial first."""
    if not rows:
        return "\nNo trials."
    columns = list(rows[0])

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.3f}"
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)

    table = [columns] + [[cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = ["  ".join(text.rjust(width) for text, width in zip(line, widths)) for line in table]
    completed = sum(row["status"] == "COMPLETED" for row in rows)
    return (f"\n{settings.tuner} search over {settings.model}: {len(rows)} trials ({completed} completed), "
            f"objective {settings.objective} on the validation split "
            f"({objectives(settings.model)[settings.objective].direction})\n"
            + "\n".join(lines))


def plot_results(rows: list[dict[str, Any]], settings: SearchSettings, path: Path) -> None:
    """Left: objective against embedding size (filters for a family without one), one colour per
    depth, bigger dots for more epochs. Right: the best objective of each (size, depth) cell."""
    from aezoo.plotting import plt, save_figure

    name = settings.objective
    scored = [r for r in rows if r[name] is not None and math.isfinite(r[name])]
    axis = next((x for x in PLOT_AXES if any(r.get(x) is not None for r in scored)), PLOT_AXES[0])
    label = axis.replace("_dim", " size").replace("_", " ")
    scored = [r for r in scored if r.get(axis) is not None and r.get("depth") is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    depths = sorted({r["depth"] for r in scored})
    dims = sorted({r[axis] for r in scored})
    max_epochs = max([r["epochs"] for r in scored], default=1)
    for i, depth in enumerate(depths):
        points = [r for r in scored if r["depth"] == depth]
        left.scatter([r[axis] for r in points], [r[name] for r in points], label=f"depth {depth}",
                     s=[20 + 60 * r["epochs"] / max_epochs for r in points], alpha=0.75, color=f"C{i}")
    if scored:
        best = scored[0]
        left.scatter([best[axis]], [best[name]], marker="*", s=250, color="black", label="best", zorder=3)
        left.set_xscale("log", base=2)
        left.set_xticks(dims, [str(d) for d in dims])
        left.legend(fontsize=8)
    left.set(xlabel=label, ylabel=name, title=f"{settings.model.upper()}: {name} per trial")
    left.grid(alpha=0.3)

    grid = np.full((len(depths), len(dims)), np.nan)
    better = max if objectives(settings.model)[name].direction == "max" else min
    for r in scored:
        i, j = depths.index(r["depth"]), dims.index(r[axis])
        grid[i, j] = r[name] if np.isnan(grid[i, j]) else better(grid[i, j], r[name])
    cmap = "viridis" if better is max else "viridis_r"
    image = right.imshow(grid, cmap=cmap, aspect="auto", origin="lower")
    right.set_xticks(range(len(dims)), [str(d) for d in dims])
    right.set_yticks(range(len(depths)), [str(d) for d in depths])
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            right.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8, color="white")
    right.set(xlabel=label, ylabel="depth", title=f"best {name} per cell")
    fig.colorbar(image, ax=right)
    fig.tight_layout()
    save_figure(fig, path)


def retrain_best(oracle: kt.Oracle, settings: SearchSettings, hypermodel: AutoencoderHyperModel,
                 output: Path, splits: ImageSplits, verbose: str | int, analyze: bool = True) -> dict[str, Any] | None:
    """Retrain the best trial's configuration with ``train.py``'s code into ``output/best``.

    The trial was chosen by its validation objective; the retrained model is then scored once
    on the test split, and ``best.json`` keeps the two apart.
    """
    # get_best_trials ranks failed trials too (last); only a completed one has a score.
    best_trials = [t for t in oracle.get_best_trials(1) if t.metrics.exists(settings.objective)]
    if not best_trials:
        logger.error("No trial completed (their errors are printed above), so there is nothing to retrain")
        return None
    trial = best_trials[0]
    config = settings.train_config(hypermodel, trial.hyperparameters, epochs=settings.retrain_epochs)
    run = RunFolder(output / BEST_RUN)
    summary = _retrained_summary(run, config, trial, verbose, splits, analyze)
    best = {
        "trial": trial.trial_id, "objective": settings.objective,
        "validation_objective": float(trial.metrics.get_best_value(settings.objective)),
        "hyperparameters": {name: trial.hyperparameters.values[name] for name in searched_names(settings)
                            if name in trial.hyperparameters.values},
        "run_dir": str(run.path), "retrain_epochs": config.epochs,
        "retrained_test": summary["test"].get(settings.model), "splits": summary.get("splits"),
    }
    files.write_json(output / "best.json", best)
    return best


def _retrained_summary(run: RunFolder, config: TrainConfig, trial: Any, verbose: str | int,
                       splits: ImageSplits, analyze: bool) -> dict[str, Any]:
    """The summary of the best configuration's run: trained now, or found finished from before."""
    summary = run.read_summary()
    if run.is_finished() and run.read_config() == config.to_json() and summary is not None:
        logger.info("The best configuration was already retrained in %s", run.path)
        return summary
    if run.is_finished():  # a finished run of another configuration: the search has moved on since
        shutil.rmtree(run.path)
    logger.info("Retraining the best configuration (trial %s) for %d epochs in %s",
                trial.trial_id, config.epochs, run.path)
    summary = train(config, output=run.path, verbose=verbose, splits=splits).summary
    if analyze:
        _analyze(run.path)
    return summary


def format_best(best: dict[str, Any] | None, settings: SearchSettings) -> str:
    """One paragraph: the trial chosen on validation, and its retrained model's test score apart."""
    if best is None:
        return "\nNo trial completed, so there is no best configuration."
    values = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best["hyperparameters"].items())
    test = best.get("retrained_test") or {}
    scored = (f"test PSNR {test['psnr']:.2f} dB, SSIM {test['ssim']:.3f}" if {"psnr", "ssim"} <= test.keys()
              else "no test score")
    return (f"\nBest: trial {best['trial']}, {settings.objective} {best['validation_objective']:.4g} on the "
            f"validation split (what the search chose by), with {values}"
            f"\nRetrained for {best['retrain_epochs']} epochs in {best['run_dir']}: {scored} (scored once, "
            "after the search)")


def format_tuning(rows: list[dict[str, Any]], best: dict[str, Any] | None, settings: SearchSettings) -> str:
    """The console text of a finished search: :func:`format_results` and :func:`format_best`."""
    return format_results(rows, settings) + format_best(best, settings)


def _analyze(run_dir: Path) -> None:
    try:
        from aezoo.analysis import analyze_run
    except ImportError:  # the analysis package is optional here: the run folder is complete without it
        logger.info("Latent-space analysis not available; skipped")
        return
    analyze_run(run_dir)
