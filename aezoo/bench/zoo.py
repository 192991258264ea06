"""The zoo leaderboard: every family trained with its defaults on the same data and noise, side by side.

``python -m aezoo.bench zoo`` trains each listed family (and the textbook and keras.io reference
autoencoders) in turns in one process, one epoch each per round with the order rotating, so load
from elsewhere slows every model alike. Then each model is scored once on the test split:

* denoising: test PSNR and SSIM on the run's fixed noisy test images;
* latent space: 5-fold 5-NN accuracy of the embeddings of the first 1000 clean test digits;
* generation (:mod:`aezoo.generation`): importance-sampled NLL (models with a likelihood), FD and
  class coverage of generated digits with the family's default sampler, CVAE label accuracy; and
  FD for every (family, sampler) pair that applies (prior, Gaussian mixture, two-stage VAE, PixelCNN),
  so the table shows for which models a sampler fitted after training beats the prior;
* latent statistics (:mod:`aezoo.evaluation.latent_statistics`): the codes' MMD to N(0, I) and the
  total correlation of the aggregate posterior (Gaussian posteriors), on the first 1000 test digits;
* cost: parameters, training seconds (epochs only), steady images/s.

Rows also hold the noisy input and the 3x3 median filter. Writes ``leaderboard.json``,
``leaderboard.md`` (the table) and ``leaderboard.png`` (test PSNR against training seconds).
``--quick`` (tiny subset, 1 epoch, tiny models) checks the machinery; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from aezoo.bench import targets
from aezoo.bench.references import REFERENCE_KINDS
from aezoo.errors import UsageError
from aezoo.models.capabilities import CODE_GRID, CONDITIONAL, LATENT_SPACE, LIKELIHOOD, has

logger = logging.getLogger("aezoo.bench")

QUICK_HYPERPARAMETERS = {"embedding_dim": 4, "depth": 1, "filters": 4, "batch_norm": False}
KNN_IMAGES = 1000
# Defaults of the full run, and of --quick (where nothing is meant to be read from the figures).
FULL = {"nll_samples": 64, "samples": 1000, "sampler_options": {}}
# Samplers that learn are made tiny too (sampler name -> constructor options).
QUICK = {"nll_samples": 4, "samples": 64, "sampler_options": {"pixelcnn": {"epochs": 1, "filters": 8},
                                                               "two_stage": {"epochs": 1, "units": 16}}}
COLUMNS = ("test PSNR", "SSIM", "5-NN acc", "NLL", "FD", "label acc", "params", "train s", "img/s")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from aezoo.families import MODELS

    parser = argparse.ArgumentParser(prog="python -m aezoo.bench zoo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join((*REFERENCE_KINDS, *MODELS)),
                        help="comma-separated families and references (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for every model (default: train.py's)")
    parser.add_argument("--nll-samples", type=int, default=None,
                        help=f"importance samples per image for the NLL (default: {FULL['nll_samples']})")
    parser.add_argument("--samples", type=int, default=None,
                        help=f"generated digits per model for FD and coverage (default: {FULL['samples']})")
    parser.add_argument("--seed", type=int, default=None, help="default: train.py's")
    parser.add_argument("--output", default=None, help="folder (default: bench-results/zoo-DATE/)")
    parser.add_argument("--quick", action="store_true", help="tiny subset, 1 epoch, tiny models: checks, not figures")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch log lines")
    return parser.parse_args(argv)


@dataclasses.dataclass(frozen=True)
class ZooSettings:
    models: tuple[str, ...]
    epochs: int | None = None
    nll_samples: int = 64
    samples: int = 1000
    seed: int | None = None
    quick: bool = False

    def check(self) -> None:
        from aezoo.families import MODELS

        for name in self.models:
            if name not in MODELS and name not in REFERENCE_KINDS:
                raise UsageError(f"unknown model {name!r}; choose from {', '.join((*REFERENCE_KINDS, *MODELS))}")
        if not self.models:
            raise UsageError("no model given")
        for flag, value in (("--epochs", self.epochs), ("--nll-samples", self.nll_samples),
                            ("--samples", self.samples)):
            if value is not None and value < 1:
                raise UsageError(f"{flag} must be an integer >= 1, got {value}")
        if self.samples < 2:
            raise UsageError(f"--samples must be at least 2 (FD needs a covariance), got {self.samples}")


def settings_from_args(args: argparse.Namespace) -> ZooSettings:
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    mode = QUICK if args.quick else FULL
    settings = ZooSettings(models, args.epochs,
                           mode["nll_samples"] if args.nll_samples is None else args.nll_samples,
                           mode["samples"] if args.samples is None else args.samples, args.seed, args.quick)
    settings.check()
    return settings


# ----------------------------------------------------------------------------- training

def make_entries(settings: ZooSettings, splits: Any) -> list[Any]:
    """Built and compiled models with their datasets, seeded as ``train.py`` seeds them (tiny ones in quick mode)."""
    from aezoo.bench.harness import build_entry, make_entries as harness_entries
    from aezoo.families import get_model

    epochs = settings.epochs or (1 if settings.quick else None)
    overrides = {name: {k: v for k, v in QUICK_HYPERPARAMETERS.items() if k in get_model(name).defaults()}
                 for name in settings.models if settings.quick and name not in REFERENCE_KINDS}
    entries = harness_entries(settings.models, overrides, epochs, settings.seed)
    for entry in entries:
        build_entry(entry, splits)
    return entries


# ----------------------------------------------------------------------------- scoring

@dataclasses.dataclass(frozen=True)
class TestData:
    """The fixed noisy test pairs every model is scored on, and the labels."""

    noisy: np.ndarray
    clean: np.ndarray
    images: np.ndarray  # uint8, as loaded
    labels: np.ndarray


def latent_knn(model: Any, data: TestData, seed: int) -> float | None:
    """5-fold 5-NN accuracy of the flattened embeddings of the first clean test digits."""
    from aezoo.analysis.latent_metrics import knn_accuracy
    from aezoo.models.adapter import ModelAdapter

    if not has(model, LATENT_SPACE):
        return None
    count = min(KNN_IMAGES, len(data.clean))
    codes = ModelAdapter(model, 250).encode(data.clean[:count], data.labels[:count])
    return float(knn_accuracy(codes.reshape(count, -1), data.labels[:count], seed=seed)["accuracy"])


def latent_statistics(model: Any, data: TestData, seed: int) -> dict[str, float]:
    """The codes' MMD to N(0, I) (continuous codes) and the total correlation (Gaussian posteriors)."""
    from aezoo.evaluation.latent_statistics import prior_mmd, total_correlation
    from aezoo.models.adapter import ModelAdapter, unit_images

    if not has(model, LATENT_SPACE) or has(model, CODE_GRID):
        return {}
    count = min(KNN_IMAGES, len(data.clean))
    adapter = ModelAdapter(model, 250)
    labels = data.labels[:count]
    found = {"prior_mmd": prior_mmd(adapter.encode(data.clean[:count], labels), seed)}
    if has(model, LIKELIHOOD) and not has(model, CONDITIONAL):
        posterior = model.posterior(adapter.inputs(unit_images(data.clean[:count]), labels))
        scale = np.asarray(posterior.stddev())
        found["total_correlation"] = total_correlation(np.asarray(posterior.mean()), 2 * np.log(scale), seed)
    return found


def sampler_scores(model: Any, folder: Path, data: TestData, splits: Any, classifier: Any, settings: ZooSettings,
                   seed: int, default: tuple[str | None, dict[str, Any]]) -> dict[str, Any]:
    """FD and class statistics of every sampler that applies to ``model``, keyed by sampler name.

    ``default``: the default sampler's name and the generation metrics already measured with it,
    reused rather than drawn and scored a second time (without the NLL and timings, which are not
    the sampler's).
    """
    from aezoo import generation
    from aezoo.samplers import samplers_for

    mode = QUICK if settings.quick else FULL
    scores = {}
    for name in samplers_for(model):
        if name == default[0]:
            kept = {k: v for k, v in default[1].items() if k not in ("likelihood", "seconds", "cpu_seconds")}
            scores[name] = {"generation": kept, "fit_seconds": None}
            continue
        started = time.perf_counter()
        sampler = generation.fit_sampler(model, folder, splits.train_images, name, seed=seed,
                                         **mode["sampler_options"].get(name, {}))
        fitted_in = round(time.perf_counter() - started, 2)
        metrics, _ = generation.evaluate_model(model, sampler, classifier, data.images, data.labels, seed=seed,
                                               samples=settings.samples, likelihood=False)
        scores[name] = {"generation": {k: v for k, v in metrics.items() if k != "class_shares"},
                        "fit_seconds": fitted_in}
    return scores


def score_entry(entry: Any, data: TestData, splits: Any, classifier: Any, settings: ZooSettings,
                folder: Path) -> dict[str, Any]:
    """Every column of one model's row."""
    from aezoo import generation
    from aezoo.metrics import image_quality
    from aezoo.training import denoise_in_batches

    model, seed = entry.model, entry.config.seed
    images = len(splits.train_images)
    row: dict[str, Any] = {
        "kind": "reference" if entry.is_reference else "family",
        "test": image_quality(data.clean, denoise_in_batches(model, data.noisy, data.labels.astype(np.int32))),
        "parameters": int(model.count_params()), "epochs": entry.config.epochs,
        "batch_size": entry.config.batch_size,
        "training_seconds": round(sum(entry.clock.seconds), 2),
        "images_per_second": round(entry.clock.steady_images_per_second(images), 1),
    }
    if entry.is_reference:
        return row
    row["knn_accuracy"] = latent_knn(model, data, seed)
    row["latent"] = latent_statistics(model, data, seed)
    sampler_dir = folder / entry.name
    sampler_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    mode = QUICK if settings.quick else FULL
    chosen = generation.choose_sampler(model)
    sampler = generation.fit_sampler(model, sampler_dir, splits.train_images, seed=seed,
                                     **mode["sampler_options"].get(chosen, {}))
    row["sampler_fit_seconds"] = round(time.perf_counter() - started, 2)
    if sampler is not None or has(model, LIKELIHOOD):
        metrics, _ = generation.evaluate_model(model, sampler, classifier, data.images, data.labels, seed=seed,
                                               nll_samples=settings.nll_samples, samples=settings.samples)
        row["generation"] = {k: v for k, v in metrics.items() if k != "class_shares"}
    row["samplers"] = sampler_scores(model, sampler_dir, data, splits, classifier, settings, seed,
                                     (chosen, row.get("generation", {})))
    return row


def run_zoo(settings: ZooSettings) -> dict[str, Any]:
    """Train and score every model of ``settings``; the leaderboard as a JSON-ready dict."""
    from aezoo import generation
    from aezoo.bench.harness import embedded_splits, train_in_turns
    from aezoo.config import TrainConfig
    from aezoo.datasets import test_pairs
    from aezoo.evaluation.classifier import DEFAULT_EPOCHS, load_or_train_classifier
    from aezoo.evaluation.frechet import reference_points
    from aezoo.baselines import baselines

    started = time.time()
    splits = embedded_splits(settings.quick)
    config = TrainConfig(seed=TrainConfig.seed if settings.seed is None else settings.seed)
    noisy, clean = test_pairs(splits.test_images, config.noise_model(), config.seed)
    data = TestData(noisy, clean, splits.test_images, np.asarray(splits.test_labels))
    classifier = load_or_train_classifier(splits, seed=generation.CLASSIFIER_SEED,
                                          epochs=1 if settings.quick else DEFAULT_EPOCHS)
    entries = make_entries(settings, splits)
    train_in_turns(entries)
    rows: dict[str, Any] = {name: {"kind": "baseline", "test": scores}
                            for name, scores in baselines(noisy, clean).items()}
    with tempfile.TemporaryDirectory(prefix="aezoo-zoo-") as folder:
        for entry in entries:
            rows[entry.name] = score_entry(entry, data, splits, classifier, settings, Path(folder))
            logger.info("%-10s %s", entry.name, format_row(entry.name, rows[entry.name]))
    count = min(settings.samples, len(splits.test_images), len(splits.train_images))
    results = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "settings": {"dataset": splits.describe(), **{f"{k}_images": n for k, n in splits.sizes().items()},
                     "noise": {"kind": config.noise, "strength": config.noise_strength}, "seed": config.seed,
                     "quick": settings.quick, "nll_samples": settings.nll_samples, "samples": count,
                     "nll_images": min(generation.NLL_IMAGES, len(splits.test_images))},
        "classifier": {"test_accuracy": classifier.test_accuracy, "training_seconds": classifier.training_seconds},
        "reference_points": reference_points(classifier, splits.train_images, splits.test_images, n=count,
                                             seed=config.seed),
        "rows": rows,
        "wall_seconds": round(time.time() - started, 1),
    }
    results["targets"] = targets.judge(rows | {targets.RUN: {"wall_seconds": results["wall_seconds"]}})
    return results


# ----------------------------------------------------------------------------- output

def _cells(row: dict[str, Any]) -> list[str]:
    gen = row.get("generation", {})

    def fmt(value: Any, spec: str) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)

    return [fmt(row["test"]["psnr"], ".2f"), fmt(row["test"]["ssim"], ".3f"), fmt(row.get("knn_accuracy"), ".1%"),
            fmt(gen.get("likelihood", {}).get("nll"), ".1f"), fmt(gen.get("frechet_distance"), ".1f"),
            fmt(gen.get("label_accuracy"), ".1%"), fmt(row.get("parameters"), ","),
            fmt(row.get("training_seconds"), ".1f"), fmt(row.get("images_per_second"), ".0f")]


def format_row(name: str, row: dict[str, Any]) -> str:
    return "  ".join(f"{h} {c}" for h, c in zip(COLUMNS, _cells(row)) if c != "–")


def markdown_table(results: dict[str, Any]) -> str:
    """The leaderboard as a Markdown table, then the FD reference points."""
    lines = ["| model | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    for name, row in results["rows"].items():
        sampler = row.get("generation", {}).get("sampler")
        label = f"{name} ({sampler})" if sampler not in (None, "prior") else name
        lines.append(f"| {label} | " + " | ".join(_cells(row)) + " |")
    s = results["settings"]
    lines += ["", f"Test split: {s['test_images']} images, {s['noise']['kind']} noise {s['noise']['strength']}, "
              f"seed {s['seed']}. NLL: nats per clean test image ({s['nll_images']} images, K = {s['nll_samples']}; "
              f"CVAE: -log p(x|y)). FD: {s['samples']} generated vs {s['samples']} real test digits, features of "
              f"aezoo's digit classifier ({results['classifier']['test_accuracy']:.1%} test accuracy); not an FID.",
              "FD reference points: " + "; ".join(f"{k} {v:.1f}" for k, v in results["reference_points"].items())]
    lines += sampler_table(results["rows"])
    if "targets" in results:
        lines += targets.lines(results["targets"])
    return "\n".join(lines)


def sampler_table(rows: dict[str, Any]) -> list[str]:
    """FD of every (family, sampler) pair that applies, and the latent statistics, one row per model."""
    from aezoo.samplers import SAMPLERS

    def cell(value: Any, spec: str) -> str:
        return "–" if value is None else format(value, spec)

    header = [*SAMPLERS, "codes' MMD² to N(0, I)", "total correlation (nats)"]
    lines = ["", "FD by sampler (lower is closer to real digits; – : the sampler does not apply), and latent "
             "statistics on the first 1000 test digits:", "",
             "| model | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for name, row in rows.items():
        if not row.get("samplers") and not row.get("latent"):
            continue
        fds = [cell(row.get("samplers", {}).get(sampler, {}).get("generation", {}).get("frechet_distance"), ".1f")
               for sampler in SAMPLERS]
        latent = row.get("latent", {})
        lines.append(f"| {name} | " + " | ".join([*fds, cell(latent.get("prior_mmd"), ".4f"),
                                                    cell(latent.get("total_correlation"), ".2f")]) + " |")
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    """Test PSNR against training seconds, one labelled point per trained model; baselines as lines."""
    from aezoo.plotting import save_figure, subplots

    figure, axis = subplots(figsize=(7, 4.5))
    for name, row in results["rows"].items():
        if row["kind"] == "baseline":
            axis.axhline(row["test"]["psnr"], color="tab:gray", linestyle=":", linewidth=1)
            axis.annotate(name, (0, row["test"]["psnr"]), xycoords=("axes fraction", "data"), fontsize=8,
                          color="tab:gray", va="bottom")
            continue
        colour = "tab:orange" if row["kind"] == "reference" else "tab:blue"
        axis.scatter(row["training_seconds"], row["test"]["psnr"], color=colour)
        axis.annotate(name, (row["training_seconds"], row["test"]["psnr"]), fontsize=8,
                      xytext=(4, 3), textcoords="offset points")
    axis.set_xlabel("training seconds (epochs only)")
    axis.set_ylabel("test PSNR (dB)")
    axis.set_title("aezoo leaderboard: denoising quality against training cost")
    figure.tight_layout()
    save_figure(figure, path)


def write_outputs(results: dict[str, Any], folder: Path) -> dict[str, Path]:
    from aezoo import files

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "leaderboard.json", "table": folder / "leaderboard.md", "plot": folder / "leaderboard.png"}
    files.write_json(paths["json"], results)
    files.write_text(paths["table"], markdown_table(results) + "\n")
    plot(results, paths["plot"])
    return paths
