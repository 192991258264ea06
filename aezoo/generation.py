"""Generation for a run folder: the samplers a model cannot learn by itself, drawing digits, scoring them.

How each kind of model generates, decided by its capabilities (never its family name):

* **generative** (``is_generative``: the VAE family) draws codes from its prior N(0, I) and decodes
  them; a model that also ``needs_labels`` (the CVAE) is asked for one class per digit;
* **a discrete code grid** (``codes``, ``decode_codes`` and ``num_codes``: the VQ-VAE) has no prior
  of its own: a :class:`~aezoo.models.pixelcnn.GatedPixelCNN` is trained with ``fit`` on the code
  grids of the training images, saved as ``<model>/prior.keras``, and exported inside the model's
  SavedModel as a ``sample(seed, n)`` signature (decode(prior sample)), callable without aezoo;
* **any other latent space** (the plain AE) samples from a 10-component Gaussian mixture fitted to
  its training embeddings (ex-post density estimation), saved as ``<model>/gmm_sampler.npz``
  (plain arrays, never a pickle);
* no latent space (the U-Net): it cannot generate.

:func:`prepare_sampling` fits the last two right after a model trains (``aezoo.training`` calls
it before the SavedModel export). :func:`evaluate_run` scores every model that can generate, on
the same clean test images, and writes ``metrics.json["generation"]`` per model and
``summary.json["generation"]`` (reference points, classifier, one row per model);
:func:`report_section` renders the report's "Generation" section from those files.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from aezoo import files
from aezoo.errors import UsageError
from aezoo.evaluation.likelihood import DEFAULT_SAMPLES as DEFAULT_NLL_SAMPLES
from aezoo.run_folder import RunFolder, read_json
from aezoo.samplers import GaussianMixtureSampler, embed
from aezoo.timing import ANALYSIS, PhaseTimer

logger = logging.getLogger("aezoo")

GMM_FILE = "gmm_sampler.npz"
PRIOR_FILE = "prior.keras"
SAMPLES_FIGURE = "generated_samples.png"
# The code prior's training: a few epochs over the 4000 training grids reach most of the loss
# drop at a fraction of the VQ-VAE's own training time (figures in the README).
PRIOR_EPOCHS = 5
PRIOR_BATCH_SIZE = 64
PRIOR_LEARNING_RATE = 3e-3
PRIOR_FILTERS = 32
# Digits generated per model for FD and the class statistics: as many as real test images they
# are compared with (FD depends on the number).
SCORED_SAMPLES = 1000
# Test images whose NLL is estimated: at the default K = 16 importance samples, about 2.5 CPU s per model.
NLL_IMAGES = 500
SHOWN_SAMPLES = 64
NUM_CLASSES = 10

Progress = Callable[[str], None]


# ----------------------------------------------------------------------------- capabilities

def has_code_grid(model: Any) -> bool:
    """A discrete latent grid that a prior over codes can model (the VQ-VAE's API)."""
    return all(hasattr(model, name) for name in ("codes", "decode_codes", "num_codes"))


def can_fit_mixture(model: Any) -> bool:
    """A continuous, unconditional latent space without a prior of its own (the plain AE)."""
    return (bool(getattr(model, "has_latent_space", False)) and not getattr(model, "is_generative", False)
            and not getattr(model, "needs_labels", False) and not has_code_grid(model))


def has_likelihood(model: Any) -> bool:
    """Models with q(z|x), p(z) and a Bernoulli decoder: the importance-sampled NLL applies."""
    return bool(getattr(model, "is_generative", False)) and hasattr(model, "posterior")


# ----------------------------------------------------------------------------- fitting samplers

def prepare_sampling(model: Any, model_dir: str | os.PathLike[str], train_images: Any, seed: int = 0,
                     prior_epochs: int | None = None, prior_filters: int | None = None) -> str | None:
    """Fit and save what ``model`` needs to generate but does not learn itself; return its kind.

    ``"pixelcnn"``: a code prior, saved as ``prior.keras`` and attached to ``model`` so that an
    export that follows writes a ``sample`` signature; ``"gmm"``: a Gaussian mixture saved as
    ``gmm_sampler.npz``; ``None``: nothing to fit (generative already, or no latent space).
    ``train_images``: the clean training images (uint8 or float in [0, 1]).
    """
    model_dir = Path(model_dir)
    if has_code_grid(model) and not getattr(model, "is_generative", False):
        prior = fit_code_prior(model, train_images, seed=seed, epochs=prior_epochs, filters=prior_filters)
        files.write_with(model_dir / PRIOR_FILE, prior.save)
        attach_prior(model, prior)
        return "pixelcnn"
    if can_fit_mixture(model):
        GaussianMixtureSampler.fit(embed(model, train_images), seed=seed).save(model_dir / GMM_FILE)
        return "gmm"
    return None


def code_grids(model: Any, images: Any, batch_size: int = 500) -> np.ndarray:
    """The integer code grids ``[N, 7, 7]`` of images (uint8 or float in [0, 1])."""
    unit = _unit(images)
    return np.concatenate([np.asarray(model.codes(unit[i:i + batch_size]))
                           for i in range(0, len(unit), batch_size)]).astype(np.int32)


def fit_code_prior(model: Any, train_images: Any, seed: int = 0, epochs: int | None = None,
                   filters: int | None = None, verbose: int = 0) -> Any:
    """A GatedPixelCNN trained with ``fit`` on the model's code grids of the training images
    (default ``PRIOR_EPOCHS`` epochs, ``PRIOR_FILTERS`` channels)."""
    from aezoo.models.pixelcnn import GatedPixelCNN

    epochs, filters = epochs or PRIOR_EPOCHS, filters or PRIOR_FILTERS
    grids = code_grids(model, train_images)
    keras.utils.set_random_seed(seed)  # initialisation and fit's shuffling
    prior = GatedPixelCNN(num_codes=int(model.num_codes), height=grids.shape[1], width=grids.shape[2],
                          filters=filters, name="prior")
    steps = epochs * -(-len(grids) // PRIOR_BATCH_SIZE)
    prior.compile(optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(PRIOR_LEARNING_RATE, decay_steps=max(steps, 1))))
    start = time.perf_counter()
    history = prior.fit(grids, epochs=epochs, batch_size=PRIOR_BATCH_SIZE, verbose=verbose)
    losses = history.history["loss"]
    logger.info("Code prior (gated PixelCNN): %d epochs in %.1f s, loss %.3f -> %.3f nats per position",
                epochs, time.perf_counter() - start, losses[0], losses[-1])
    return prior


def attach_prior(model: Any, prior: Any) -> None:
    """Make this model instance generative through ``prior``: ``sample(n, seed)`` decodes prior draws.

    Only the instance changes (its saved config and ``.keras`` file do not): the SavedModel export
    sees ``is_generative`` and writes a ``sample(seed, n)`` signature, whose graph holds the
    prior's weights (an export tracks every variable its endpoints use).
    """
    def sample(n: Any, seed: Any = 0) -> Any:
        return model.decode_codes(prior.sample(n, seed=seed))

    model.sample = sample
    model.is_generative = True


# ----------------------------------------------------------------------------- drawing samples

@dataclasses.dataclass(frozen=True)
class Generator:
    """How one trained model draws digits: ``draw(n, seed, labels)`` -> ``[n, 28, 28, 1]`` in [0, 1].

    ``sampler``: ``"prior"``, ``"conditional prior"``, ``"pixelcnn"`` or ``"gmm"``;
    ``conditional``: it needs a class per digit.
    """

    sampler: str
    conditional: bool
    draw_fn: Callable[[int, int, np.ndarray | None], Any]

    def draw(self, n: int, seed: int = 0, labels: Any = None, batch_size: int = 500) -> np.ndarray:
        """``n`` digits; ``labels`` (conditional models): one class for all or one per digit,
        default 0, 1, ..., 9, 0, ... in turn. The same seed gives the same digits."""
        if self.conditional:
            labels = np.broadcast_to(np.arange(n) % NUM_CLASSES if labels is None else np.asarray(labels), (n,))
        parts = []
        for index, start in enumerate(range(0, n, batch_size)):
            count = min(batch_size, n - start)
            part_labels = None if labels is None else np.asarray(labels[start:start + count], np.int32)
            # Each batch draws with its own seed, so a large n never needs all its codes at once;
            # the first uses ``seed`` itself, as the SavedModel's sample(seed, n) does.
            batch_seed = (seed + index * 1_000_003) % 2**31
            parts.append(np.asarray(self.draw_fn(count, batch_seed, part_labels), np.float32))
        return np.concatenate(parts).reshape(n, 28, 28, 1)


def generator_for(model: Any, model_dir: str | os.PathLike[str] | None = None) -> Generator | None:
    """The model's way to generate (``model_dir`` holds a fitted prior or mixture), or ``None``."""
    model_dir = None if model_dir is None else Path(model_dir)
    if getattr(model, "is_generative", False):
        if getattr(model, "needs_labels", False):
            return Generator("conditional prior", True,
                             lambda n, seed, labels: model.sample(n, labels=labels, seed=seed))
        sampler = "pixelcnn" if has_code_grid(model) else "prior"
        return Generator(sampler, False, lambda n, seed, labels: model.sample(n, seed=seed))
    if model_dir is not None and has_code_grid(model) and (model_dir / PRIOR_FILE).is_file():
        prior = load_prior(model_dir / PRIOR_FILE)
        return Generator("pixelcnn", False, lambda n, seed, labels: model.decode_codes(prior.sample(n, seed=seed)))
    if model_dir is not None and can_fit_mixture(model) and (model_dir / GMM_FILE).is_file():
        mixture = GaussianMixtureSampler.load(model_dir / GMM_FILE)
        return Generator("gmm", False, lambda n, seed, labels: model.decode(mixture.sample(n, seed=seed)))
    return None


def load_prior(path: str | os.PathLike[str]) -> Any:
    register_classes()
    try:
        return keras.saving.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot load the code prior {path}: {error}") from None


def why_not_generative(model: Any) -> str:
    """The one line that says why a model without a :func:`generator_for` cannot generate."""
    if not getattr(model, "has_latent_space", False):
        return "it has no latent space to sample codes from (it maps images to images)"
    if has_code_grid(model):
        return f"its code prior ({PRIOR_FILE}) is missing; it is fitted when the model is trained"
    return f"its Gaussian mixture sampler ({GMM_FILE}) is missing; it is fitted when the model is trained"


# ----------------------------------------------------------------------------- metrics

def _unit(images: Any) -> np.ndarray:
    array = np.asarray(images)
    scaled = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)
    return scaled.reshape(-1, 28, 28, 1)


def check_nll_samples(samples: Any) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise UsageError(f"--nll-samples must be an integer >= 1, got {samples!r}")
    return int(samples)


def likelihood_metrics(model: Any, images: Any, labels: Any, samples: int, seed: int) -> dict[str, Any]:
    """Importance-sampled NLL, IWAE bound and ELBO (nats per image) of clean images."""
    from aezoo.evaluation.likelihood import importance_sampled_nll

    conditional = bool(getattr(model, "needs_labels", False))
    inputs = (images, labels) if conditional else images
    estimate = importance_sampled_nll(model, inputs, samples=samples, seed=seed)
    return estimate.summary() | {"images": int(len(images)),
                                 "quantity": "-log p(x | y)" if conditional else "-log p(x)",
                                 "likelihood": "Bernoulli on grey levels (the training loss)"}


def evaluate_model(model: Any, generator: Generator | None, classifier: Any, test_images: Any, test_labels: Any,
                   seed: int = 0, nll_samples: int = DEFAULT_NLL_SAMPLES, samples: int = SCORED_SAMPLES,
                   nll_images: int = NLL_IMAGES,
                   real_features: np.ndarray | None = None) -> tuple[dict[str, Any], np.ndarray | None]:
    """Generation metrics of one model and the digits it drew (``None`` if it cannot generate).

    FD and class statistics from ``samples`` digits against as many real ``test_images``; the
    CVAE asks for 0..9 in turn and adds ``label_accuracy``; VAE-family models add the NLL of the
    first ``nll_images`` clean test images. ``real_features``: the classifier's features of the
    first ``samples`` test images, when the caller scores several models against them.
    """
    from aezoo.evaluation.sample_quality import score_samples

    metrics: dict[str, Any] = {}
    drawn = None
    started, cpu = time.perf_counter(), time.process_time()
    if generator is not None:
        count = min(samples, len(test_images))
        labels = np.arange(count) % NUM_CLASSES if generator.conditional else None
        drawn = generator.draw(count, seed=seed, labels=labels)
        real = real_features[:count] if real_features is not None and len(real_features) >= count else None
        metrics |= {"sampler": generator.sampler, "samples": count,
                    **score_samples(classifier, drawn, real_images=_unit(test_images[:count]), labels=labels,
                                    real_features=real)}
    if has_likelihood(model):
        count = min(nll_images, len(test_images))
        metrics["likelihood"] = likelihood_metrics(model, _unit(test_images[:count]),
                                                   np.asarray(test_labels[:count], np.int32), nll_samples, seed)
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
    classifier: dict[str, Any]
    nll_samples: int
    seconds: float

    def record(self) -> dict[str, Any]:
        """``summary.json["generation"]``."""
        return {"reference_points": self.reference_points, "classifier": self.classifier,
                "nll_samples": self.nll_samples, "seconds": self.seconds,
                "models": {kind: {k: v for k, v in m.items() if k != "class_shares"} for kind, m in self.models.items()}}


def register_classes() -> None:
    """Import every family's class and the PixelCNN, which registers them with Keras for loading."""
    from aezoo.models import pixelcnn  # noqa: F401
    from aezoo.models.families import FAMILIES

    for family in FAMILIES.values():
        family.model_class  # noqa: B018  (the import is the point)


def load_run_model(run: RunFolder, kind: str) -> Any:
    from aezoo.inference import load_keras_model  # every command loads models through this one path

    return load_keras_model(run.model_file(kind), kind, compile=True)


def run_splits(run: RunFolder) -> Any:
    """The data the run was trained on (the dataset ``auto`` resolved to, as recorded)."""
    from aezoo.config import TrainConfig
    from aezoo.datasets import load_dataset

    config = TrainConfig.from_json(run.read_config() or {})
    recorded = [run.read_summary() or {}, *(run.read_metrics(kind) or {} for kind in run.models())]
    name = next((r["dataset"] for r in recorded if r.get("dataset")), config.dataset)
    return load_dataset(name, config.data_dir, validation_fraction=config.validation_fraction)


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
        if classifier is None:
            classifier = load_or_train_classifier(splits, seed=CLASSIFIER_SEED)
    count = min(samples, len(splits.test_images), len(splits.train_images))
    say(f"Generation: the classifier judging samples has {classifier.test_accuracy:.1%} test accuracy; "
        f"FD of {count} digits against {count} real test digits")
    with timer.phase("generation: reference points", ANALYSIS):
        # The same real test digits are compared with every model's samples: their features once.
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
    result = RunGeneration(rows, references, {"test_accuracy": classifier.test_accuracy,
                                              "training_seconds": classifier.training_seconds,
                                              "seed": CLASSIFIER_SEED},
                           nll_samples, round(time.perf_counter() - started, 2))
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


def _evaluate_one(run: RunFolder, kind: str, model: Any, classifier: Any, splits: Any, seed: int, nll_samples: int,
                  count: int, say: Progress, real_features: np.ndarray) -> dict[str, Any] | None:
    """One model's generation metrics and sample grid, also added to its ``metrics.json``; None if it
    cannot generate."""
    generator = generator_for(model, run.model_dir(kind))
    if generator is None and not has_likelihood(model):
        say(f"{kind}: cannot generate ({why_not_generative(model)}); no generation metrics")
        return None
    metrics, drawn = evaluate_model(model, generator, classifier, splits.test_images, splits.test_labels,
                                    seed=seed, nll_samples=nll_samples, samples=count, real_features=real_features)
    if generator is not None:
        metrics["figure"] = str(draw_samples(generator, run.analysis_dir(kind) / SAMPLES_FIGURE, seed))
    _add_record(run, kind, metrics)
    say(f"{kind}: {describe(metrics)} ({metrics['seconds']:.1f} s)")
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
                     f"{metrics['coverage']}/10 classes, entropy {metrics['mean_entropy']:.2f} nats")
    if "label_accuracy" in metrics:
        parts.append(f"label accuracy {metrics['label_accuracy']:.1%}")
    if "likelihood" in metrics:
        nll = metrics["likelihood"]
        parts.append(f"NLL {nll['nll']:.1f} nats (IWAE bound {nll['iwae_bound']:.1f}, ELBO {nll['elbo']:.1f}, "
                     f"K={nll['nll_samples']})")
    return "; ".join(parts)


def mosaic(images: Any, columns: int, gap: int = 2) -> np.ndarray:
    """One ``[H, W]`` picture of ``[n, 28, 28(, 1)]`` images, ``columns`` per row, white gaps between."""
    images = np.asarray(images, np.float32).reshape(-1, 28, 28)
    rows = -(-len(images) // columns)
    sheet = np.ones((rows * (28 + gap) - gap, columns * (28 + gap) - gap), np.float32)
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        sheet[row * (28 + gap):row * (28 + gap) + 28, col * (28 + gap):col * (28 + gap) + 28] = image
    return sheet


def draw_samples(generator: Generator, path: Path, seed: int, columns: int = 8) -> Path:
    """A PNG grid of generated digits; a conditional model gets one row per class."""
    from aezoo.imageio import save_png

    if generator.conditional:
        labels = np.repeat(np.arange(NUM_CLASSES), columns)
        images = generator.draw(len(labels), seed=seed, labels=labels)
    else:
        images = generator.draw(SHOWN_SAMPLES, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(path, mosaic(images, columns))
    return path


# ----------------------------------------------------------------------------- the report's section

FD_TIE = 0.05  # FDs within 5 % of each other are called equal
PYTHAE_NOTE = (
    "The NLL is -log p(x) in nats per clean test image (for the CVAE -log p(x | y)), estimated with K "
    "importance samples from q(z|x) under the likelihood the models train with, a Bernoulli on grey levels; "
    "the ELBO and the K-sample IWAE bound are lower bounds on log p(x) (ELBO <= IWAE <= log p). These numbers "
    "are comparable within aezoo (same images, same likelihood, same K) but not with pythae's binarised-MNIST "
    "figures (89.78 nats for its VAE, 86.82 for its IWAE), which score 0/1 images of the full 10,000-image test "
    "set, on which the Bernoulli is a normalised density, while grey levels under a Bernoulli are not.")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _figure(path: Path, caption: str) -> str:
    if not path.is_file():
        return f"<figure><figcaption>{_e(caption)}: not available</figcaption></figure>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{_e(caption)}\" "
            f"style=\"image-rendering: pixelated; width: 100%\"><figcaption>{_e(caption)}</figcaption></figure>")


def _number(value: Any, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def generation_table(record: dict[str, Any]) -> str:
    """HTML table: one row per model (sampler, FD, class statistics, NLL), then the FD reference points."""
    header = ("samples of", "sampler", "FD", "mean entropy (nats)", "classes covered", "label accuracy",
              "NLL (nats)", "IWAE bound", "ELBO")
    rows = []
    for kind, m in record["models"].items():
        nll = m.get("likelihood", {})
        rows.append((kind.upper(), m.get("sampler", "–"), _number(m.get("frechet_distance"), ".1f"),
                     _number(m.get("mean_entropy"), ".3f"),
                     f"{m['coverage']} of 10" if "coverage" in m else "–", _number(m.get("label_accuracy"), ".1%"),
                     _number(nll.get("nll"), ".2f"), _number(nll.get("iwae_bound"), ".2f"),
                     _number(nll.get("elbo"), ".2f")))
    for name, value in record["reference_points"].items():
        rows.append((f"reference: {name}", "real digits", f"{value:.1f}", *["–"] * 6))
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fd_ordering_sentence(models: dict[str, dict[str, Any]]) -> str:
    """Whether prior samples of a VAE beat the AE's mixture samples in FD, decided by the numbers."""
    prior = {k: m["frechet_distance"] for k, m in models.items() if m.get("sampler") == "prior"}
    mixture = {k: m["frechet_distance"] for k, m in models.items() if m.get("sampler") == "gmm"}
    if not prior or not mixture:
        return ""
    best_prior, best_mixture = min(prior, key=prior.get), min(mixture, key=mixture.get)
    a, b = prior[best_prior], mixture[best_mixture]
    quoted = f"FD {a:.1f} for the {best_prior.upper()}'s prior samples against {b:.1f} for the {best_mixture.upper()}'s"
    if abs(a - b) <= FD_TIE * min(a, b):
        return f"FD ordering: the {best_prior.upper()}'s prior samples and the {best_mixture.upper()}'s mixture " \
               f"samples are about equally close to real digits ({quoted})."
    if a < b:
        return f"FD ordering: the {best_prior.upper()}'s prior samples are closer to real digits than the " \
               f"{best_mixture.upper()}'s Gaussian-mixture samples ({quoted})."
    entropy = (f"; the classifier is also less sure what they are: mean entropy "
               f"{models[best_prior]['mean_entropy']:.2f} against {models[best_mixture]['mean_entropy']:.2f} nats"
               if "mean_entropy" in models[best_prior] and "mean_entropy" in models[best_mixture] else "")
    return (f"FD ordering: the {best_prior.upper()}'s prior samples are not closer to real digits than the "
            f"{best_mixture.upper()}'s Gaussian-mixture samples; they are further away ({quoted}{entropy}). "
            "A likely reason: N(0, I) draws also land between the regions the posteriors cover, which the decoder "
            "renders as blurred, ambiguous digits, while a mixture fitted to where the training codes really lie "
            "(ex-post density estimation, Ghosh et al. 2020) stays inside them.")


def nll_sentence(models: dict[str, dict[str, Any]]) -> str:
    unconditional = {k: m["likelihood"]["nll"] for k, m in models.items()
                     if m.get("likelihood", {}).get("quantity") == "-log p(x)"}
    if len(unconditional) < 2:
        return ""
    ordered = sorted(unconditional, key=unconditional.get)
    listed = ", ".join(f"{k.upper()} {unconditional[k]:.2f}" for k in ordered)
    return f"By NLL (lower is better) the unconditional models rank {listed} nats."


def report_section(run_dir: str | os.PathLike[str]) -> str:
    """The report's "Generation" section from ``summary.json["generation"]`` ("" when it has none)."""
    run = RunFolder(run_dir)
    record = (read_json(run.summary_path) or {}).get("generation")
    if not record:
        return ""
    models = record["models"]
    figures = []
    for kind, m in models.items():
        if "sampler" in m:
            what = ("one row per class 0-9, asked of the conditional prior" if m["sampler"] == "conditional prior"
                    else {"prior": "decoded from z ~ N(0, I)", "gmm": "decoded from the 10-component Gaussian mixture "
                          "fitted to its training codes", "pixelcnn": "code grids drawn by the gated PixelCNN prior"}
                    .get(m["sampler"], m["sampler"]))
            figures.append(_figure(run.analysis_dir(kind) / SAMPLES_FIGURE, f"{kind.upper()}: generated digits, {what}"))
    classifier = record["classifier"]
    some = next(iter(models.values()), {})
    intro = (f"Every generative model draws {some.get('samples', SCORED_SAMPLES)} digits (seeded). A small CNN "
             f"trained once per dataset on the clean training split ({classifier['test_accuracy']:.1%} test "
             "accuracy; cached) judges them: FD is the Fréchet distance between its penultimate-layer features of "
             "the samples and of as many real test digits, an MNIST analogue of FID (not an FID: a different "
             "network); the reference rows put it on a scale, the first being the floor a perfect generator "
             "reaches. Mean entropy: how unsure the classifier is of each sample (0 = clearly some digit); classes "
             "covered: digits that are the top class of at least 2 % of the samples.")
    sentences = [s for s in (fd_ordering_sentence(models), nll_sentence(models)) if s]
    note = PYTHAE_NOTE.replace("K importance samples", f"K = {record['nll_samples']} importance samples")
    return "\n".join(["<h2>Generation</h2>", f"<p>{_e(intro)}</p>",
                      f"<div class=\"row\">{''.join(figures)}</div>", generation_table(record),
                      *[f"<p>{_e(s)}</p>" for s in sentences], f"<p class=\"note\">{_e(note)}</p>"])
