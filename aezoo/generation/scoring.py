"""Scoring how a run's models generate: FD and class statistics of their samples, NLL where it applies.

:func:`evaluate_run` scores every finished model of a run that can generate (with the sampler the
run was trained with: ``--sampler``, else its default) or has a likelihood, on the same clean test
images, and writes ``metrics.json["generation"]`` per model and ``summary.json["generation"]`` (reference points,
classifier, one row per model). A model plus a sampler draws the images
(:mod:`aezoo.generation.sampling`); a small CNN trained once per dataset judges them
(:mod:`aezoo.evaluation`). That judge learns the data's classes, so data without labels has none:
its samples are drawn and pictured, and only the NLL is scored (``"classifier": null``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from aezoo.errors import UsageError
from aezoo.evaluation.likelihood import DEFAULT_SAMPLES as DEFAULT_NLL_SAMPLES
from aezoo.generation.pictures import SAMPLES_FIGURE, draw_samples
from aezoo.generation.sampling import load_sampler, why_not_generative
from aezoo.models.adapter import ModelAdapter, unit_images
from aezoo.models.capabilities import LIKELIHOOD, has
from aezoo.run_folder import RunFolder
from aezoo.samplers.base import Sampler
from aezoo.timing import ANALYSIS, PhaseTimer

logger = logging.getLogger("aezoo")

# Images generated per model for FD and the class statistics: as many as real test images they
# are compared with (FD depends on the number).
SCORED_SAMPLES = 1000
# Test images whose NLL is estimated: enough to rank models, few enough that the analysis runs by
# default after training (its cost: docs/generation.md).
NLL_IMAGES = 500

Progress = Callable[[str], None]


def check_nll_samples(samples: Any) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise UsageError(f"--nll-samples must be an integer >= 1, got {samples!r}")
    return int(samples)


def likelihood_metrics(model: Any, images: Any, labels: Any, samples: int, seed: int) -> dict[str, Any]:
    """Importance-sampled NLL, IWAE bound and ELBO (nats per image) of clean images."""
    from aezoo.evaluation.likelihood import importance_sampled_nll

    adapter = ModelAdapter(model)
    estimate = importance_sampled_nll(model, adapter.inputs(images, labels), samples=samples, seed=seed)
    levels = "grey levels" if unit_images(images[:1]).shape[-1] == 1 else "each channel's levels"
    return estimate.summary() | {"images": int(len(images)),
                                 "quantity": "-log p(x | y)" if adapter.conditional else "-log p(x)",
                                 "likelihood": f"Bernoulli on {levels} (the training loss)"}


def evaluate_model(model: Any, sampler: Sampler | None, classifier: Any | None, test_images: Any, test_labels: Any,
                   seed: int = 0, nll_samples: int = DEFAULT_NLL_SAMPLES, samples: int = SCORED_SAMPLES,
                   nll_images: int = NLL_IMAGES,
                   real_features: np.ndarray | None = None,
                   likelihood: bool = True) -> tuple[dict[str, Any], np.ndarray | None]:
    """Generation metrics of one model and the images its sampler drew (``None`` without a sampler).

    FD and class statistics from ``samples`` images against as many real ``test_images``; a
    conditional model is asked for every class in turn and adds ``label_accuracy``; a model with a
    likelihood adds the NLL of the first ``nll_images`` clean test images. ``real_features``: the classifier's features of the
    first ``samples`` test images, when the caller scores several models against them. Without a
    ``classifier`` (data without labels) the samples are drawn but not judged. ``likelihood=False``
    skips the NLL (a caller scoring a second sampler of the same model has it already).
    """
    from aezoo.evaluation.sample_quality import score_samples

    metrics: dict[str, Any] = {}
    drawn = None
    started, cpu = time.perf_counter(), time.process_time()
    if sampler is not None:
        count = min(samples, len(test_images))
        labels = np.arange(count) % int(model.num_classes) if sampler.conditional else None
        drawn = sampler.sample(count, seed=seed, labels=labels)
        real = real_features[:count] if real_features is not None and len(real_features) >= count else None
        metrics |= {"sampler": sampler.name, "conditional": sampler.conditional, "samples": count}
        if classifier is not None:
            metrics |= score_samples(classifier, drawn, real_images=unit_images(test_images[:count]), labels=labels,
                                     real_features=real)
    if likelihood and has(model, LIKELIHOOD):
        count = min(nll_images, len(test_images))
        labels = None if test_labels is None else np.asarray(test_labels[:count], np.int32)
        metrics["likelihood"] = likelihood_metrics(model, unit_images(test_images[:count]), labels, nll_samples, seed)
    # CPU seconds beside wall seconds: on a shared machine they tell the cost the wall clock hides.
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    metrics["cpu_seconds"] = round(time.process_time() - cpu, 2)
    return metrics, drawn


# ----------------------------------------------------------------------------- a run folder

CLASSIFIER_SEED = 0  # one observer for every run of a dataset, whatever the run's own seed


@dataclasses.dataclass(frozen=True)
class RunGeneration:
    """What :func:`evaluate_run` measured: ``models``: kind -> metrics; the rest is shared."""

    models: dict[str, dict[str, Any]]
    reference_points: dict[str, float]
    classifier: dict[str, Any] | None  # None: data without labels, nothing judged the samples
    nll_samples: int
    seconds: float

    def record(self) -> dict[str, Any]:
        """``summary.json["generation"]``."""
        return {"reference_points": self.reference_points, "classifier": self.classifier,
                "nll_samples": self.nll_samples, "seconds": self.seconds,
                "models": {kind: {k: v for k, v in m.items() if k != "class_shares"} for kind, m in self.models.items()}}


def register_classes() -> None:
    """Import every family's class and the PixelCNN, which registers them with Keras for loading."""
    from aezoo.families import model_classes
    from aezoo.models import pixelcnn  # noqa: F401

    model_classes()


def load_run_model(run: RunFolder, kind: str) -> Any:
    from aezoo.inference import load_keras_model  # every command loads models through this one path

    return load_keras_model(run.model_file(kind), kind, compile=True)


def run_splits(run: RunFolder) -> Any:
    """The data the run was trained on (the dataset ``auto`` resolved to, as recorded)."""
    from aezoo.config import TrainConfig
    from aezoo.training import load_run_data

    config = TrainConfig.from_json(run.read_config() or {})
    recorded = [run.read_summary() or {}, *(run.read_metrics(kind) or {} for kind in run.models())]
    return load_run_data(config, next((r["dataset"] for r in recorded if r.get("dataset")), config.dataset))


def evaluate_run(run_dir: str | os.PathLike[str], seed: int | None = None, splits: Any = None,
                 nll_samples: int = DEFAULT_NLL_SAMPLES, samples: int = SCORED_SAMPLES, classifier: Any = None,
                 progress: Progress | None = None, timer: PhaseTimer | None = None,
                 models: dict[str, Any] | None = None) -> RunGeneration:
    """Score the generation of every finished model of a run; write it into the run's JSON files.

    Adds ``"generation"`` to each scored model's ``metrics.json`` and to ``summary.json``, and
    draws ``<model>/analysis/generated_samples.png``. ``splits``: the run's data (default:
    reloaded); ``classifier``: default the cached one for the dataset (trained on first use);
    ``timer``: times the classifier, the reference points and each model as analysis phases;
    ``models``: models already in memory (kind -> model), used instead of loading their files.
    Data without labels trains no classifier: no FD, class statistics or reference points.
    """
    from aezoo.evaluation.classifier import load_or_train_classifier

    say = progress or logger.info
    nll_samples = check_nll_samples(nll_samples)
    timer = timer or PhaseTimer(part=ANALYSIS)
    run = RunFolder(run_dir)
    started = time.perf_counter()
    seed = int((run.read_config() or {}).get("seed", 0)) if seed is None else seed
    with timer.phase("generation: classifier", ANALYSIS):
        splits = splits if splits is not None else run_splits(run)
        if classifier is None and splits.has_labels:
            classifier = load_or_train_classifier(splits, seed=CLASSIFIER_SEED)
    count = min(samples, len(splits.test_images), len(splits.train_images))
    real, references = None, {}
    if classifier is None:
        say(f"Generation: {splits.name} has no labels, so no classifier judges the samples; NLL only")
    else:
        say(f"Generation: the classifier judging samples has {classifier.test_accuracy:.1%} test accuracy; "
            f"FD of {count} {splits.noun} against {count} real test {splits.noun}")
        with timer.phase("generation: reference points", ANALYSIS):
            # The same real test images are compared with every model's samples: their features once.
            real = classifier.features(splits.test_images[:count])
            references = _reference_points(classifier, splits, count, seed, real)
    rows: dict[str, dict[str, Any]] = {}
    for kind in run.models():
        with timer.phase(f"generation: {kind}", ANALYSIS):
            model = (models or {}).get(kind)
            model = load_run_model(run, kind) if model is None else model
            metrics = _evaluate_one(run, kind, model, classifier, splits, seed, nll_samples, count, say, real)
        if metrics is not None:
            rows[kind] = metrics
    judge = None if classifier is None else {"test_accuracy": classifier.test_accuracy,
                                              "training_seconds": classifier.training_seconds, "seed": CLASSIFIER_SEED}
    result = RunGeneration(rows, references, judge, nll_samples, round(time.perf_counter() - started, 2))
    summary = run.read_summary()
    if summary is not None:
        run.write_summary(summary | {"generation": result.record()})
    return result


def _reference_points(classifier: Any, splits: Any, count: int, seed: int,
                      real_features: np.ndarray) -> dict[str, float]:
    """The FD reference points, remembered beside a cached classifier: they depend on nothing else
    than it, the first ``count`` training and test images (hashed into the key) and the seed."""
    from aezoo.evaluation.frechet import BLUR_SIGMA, NOISE_STDDEVS, reference_points

    digest = hashlib.sha256(np.ascontiguousarray(splits.train_images[:count]).tobytes())
    digest.update(np.ascontiguousarray(splits.test_images[:count]).tobytes())
    noise = ",".join(f"{stddev:g}" for stddev in NOISE_STDDEVS)
    key = f"reference points n={count} seed={seed} blur={BLUR_SIGMA:g} noise={noise} images={digest.hexdigest()[:16]}"
    return classifier.remember(key, lambda: reference_points(
        classifier, splits.train_images, splits.test_images, n=count, seed=seed, test_features=real_features))


def _evaluate_one(run: RunFolder, kind: str, model: Any, classifier: Any | None, splits: Any, seed: int,
                  nll_samples: int, count: int, say: Progress,
                  real_features: np.ndarray | None) -> dict[str, Any] | None:
    """One model's generation metrics and sample grid with the sampler the run fitted (``--sampler``,
    else the model's default), also added to its ``metrics.json``; None if it cannot generate."""
    sampler = load_sampler(model, run.model_dir(kind), (run.read_config() or {}).get("sampler"))
    if sampler is None and not has(model, LIKELIHOOD):
        say(f"{kind}: cannot generate ({why_not_generative(model)}); no generation metrics")
        return None
    metrics, drawn = evaluate_model(model, sampler, classifier, splits.test_images, splits.test_labels,
                                    seed=seed, nll_samples=nll_samples, samples=count, real_features=real_features)
    if sampler is not None:
        metrics["figure"] = str(draw_samples(sampler, run.analysis_dir(kind) / SAMPLES_FIGURE, seed))
    _add_record(run, kind, metrics)
    say(f"{kind}: {describe(metrics) or 'samples drawn'} ({metrics['seconds']:.1f} s)")
    return metrics


def _add_record(run: RunFolder, kind: str, metrics: dict[str, Any]) -> None:
    record = run.read_metrics(kind)
    if record is not None:
        run.write_metrics(kind, record | {"generation": metrics})


def describe(metrics: dict[str, Any]) -> str:
    """One line: FD, coverage, label accuracy, NLL, whichever the model has."""
    parts = []
    if "frechet_distance" in metrics:
        parts.append(f"{metrics['sampler']} samples: FD {metrics['frechet_distance']:.1f}, "
                     f"{metrics['coverage']}/{len(metrics['class_shares'])} classes, "
                     f"entropy {metrics['mean_entropy']:.2f} nats")
    if "label_accuracy" in metrics:
        parts.append(f"label accuracy {metrics['label_accuracy']:.1%}")
    if "likelihood" in metrics:
        nll = metrics["likelihood"]
        parts.append(f"NLL {nll['nll']:.1f} nats (IWAE bound {nll['iwae_bound']:.1f}, ELBO {nll['elbo']:.1f}, "
                     f"K={nll['nll_samples']})")
    return "; ".join(parts)


