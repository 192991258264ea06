"""Typed records of what the report reads: a run's JSON files, parsed once, checked where they are read.

The analysis and the training write JSON (``latent_metrics.json``, ``metrics.json``,
``summary.json``); the report reads it through these records instead of nested dicts, so a
missing figure fails where the record is made, not as a ``KeyError`` swallowed somewhere in a
table. Optional fields are optional here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from aezoo.models.capabilities import Capability

if TYPE_CHECKING:
    from aezoo.families import ModelSpec
    from aezoo.report.parts import Measure



def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_accuracy(record: Mapping[str, Any] | None) -> Accuracy | None:
    return None if record is None else Accuracy.from_json(record)


@dataclasses.dataclass(frozen=True)
class Accuracy:
    """A cross-validated k-NN accuracy; ``dimensions``: the PCA's size, for the PCA baseline."""

    accuracy: float
    std: float
    dimensions: int | None = None
    requested_dimensions: int | None = None

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Accuracy:
        dimensions = record.get("dimensions")
        requested = record.get("requested_dimensions", dimensions)
        return cls(float(record["accuracy"]), float(record["std"]), None if dimensions is None else int(dimensions),
                   None if requested is None else int(requested))


@dataclasses.dataclass(frozen=True)
class Smoothness:
    """How evenly decoded images change along straight lines between codes (:mod:`aezoo.analysis.interpolation`).

    ``by_class``: the pairs alternate different and same class (false: data without labels, pairs
    drawn among all images).
    """

    mean_step: float
    max_step: float
    jump_ratio: float
    pairs: int
    points_per_pair: int
    end_error: float | None = None
    by_class: bool = True

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Smoothness:
        return cls(float(record["mean_step"]), float(record["max_step"]), float(record["jump_ratio"]),
                   int(record["pairs"]), int(record["points_per_pair"]), _optional_float(record.get("end_error")),
                   bool(record.get("pairs_by_class", True)))


@dataclasses.dataclass(frozen=True)
class Spread:
    """Where a model's codes lie: per-dimension spread and mean distance from the origin."""

    mean_std: float
    mean_norm: float

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Spread:
        return cls(float(record["mean_std"]), float(record["mean_norm"]))


# The entries of latent_metrics.json that the shared analysis writes; the rest is the family's own.
SHARED_ENTRIES = frozenset({
    "model", "class", "embedding_dim", "embedding_shape", "needs_labels", "dataset", "images", "images_used", "seed",
    "knn", "tsne", "knn_accuracy", "knn_accuracy_noisy_input", "knn_accuracy_pixels", "knn_accuracy_pca",
    "chance_accuracy", "silhouette_embedding", "silhouette_tsne", "silhouette_pixels", "tsne_trustworthiness",
    "spread", "interpolation", "interpolation_pairs_shown", "seconds", "figures",
})


@dataclasses.dataclass(frozen=True)
class LatentResult:
    """One model's latent-space analysis: its ``latent_metrics.json`` and the figures drawn beside it.

    ``measured`` holds what the model's family measured itself (the entries its ``analysis.py``
    ``measure`` added); only that family's own report parts read them. The measures by class (k-NN
    accuracies, chance, silhouettes) are ``None`` for data without labels (:attr:`labelled`).
    """

    embedding_shape: tuple[int, ...]
    embedding_dim: int
    dataset: str
    images: int
    seed: int
    tsne_perplexity: float
    knn: Accuracy | None
    knn_noisy: Accuracy | None
    knn_pca: Accuracy | None
    knn_pixels: Accuracy | None
    chance: float | None
    silhouette_embedding: float | None
    silhouette_tsne: float | None
    silhouette_pixels: float | None
    trustworthiness: float
    interpolation: Smoothness
    spread: Spread
    seconds: Mapping[str, float] = dataclasses.field(default_factory=_empty)
    figures: Mapping[str, Path] = dataclasses.field(default_factory=_empty)
    measured: Mapping[str, Any] = dataclasses.field(default_factory=_empty)

    @classmethod
    def from_json(cls, metrics: Mapping[str, Any]) -> LatentResult:
        """From ``latent_metrics.json`` (plus ``"figures"``: figure name -> file, as the analysis returns it)."""
        return cls(
            embedding_shape=tuple(int(n) for n in metrics["embedding_shape"]),
            embedding_dim=int(metrics["embedding_dim"]), dataset=str(metrics["dataset"]), images=int(metrics["images"]),
            seed=int(metrics["seed"]), tsne_perplexity=float(metrics["tsne"]["perplexity"]),
            knn=_optional_accuracy(metrics.get("knn_accuracy")),
            knn_noisy=_optional_accuracy(metrics.get("knn_accuracy_noisy_input")),
            knn_pca=_optional_accuracy(metrics.get("knn_accuracy_pca")),
            knn_pixels=_optional_accuracy(metrics.get("knn_accuracy_pixels")),
            chance=_optional_float(metrics.get("chance_accuracy")),
            silhouette_embedding=_optional_float(metrics.get("silhouette_embedding")),
            silhouette_tsne=_optional_float(metrics.get("silhouette_tsne")),
            silhouette_pixels=_optional_float(metrics.get("silhouette_pixels")),
            trustworthiness=float(metrics["tsne_trustworthiness"]),
            interpolation=Smoothness.from_json(metrics["interpolation"]), spread=Spread.from_json(metrics["spread"]),
            seconds=MappingProxyType({k: float(v) for k, v in (metrics.get("seconds") or {}).items()}),
            figures=MappingProxyType({k: Path(v) for k, v in (metrics.get("figures") or {}).items()}),
            measured=MappingProxyType({k: v for k, v in metrics.items() if k not in SHARED_ENTRIES}))

    @property
    def grid(self) -> bool:
        """A grid of vectors per image (flattened for the measures), not one vector."""
        return len(self.embedding_shape) > 1

    @property
    def labelled(self) -> bool:
        """Measured on data with labels: the measures by class are there."""
        return self.knn is not None


@dataclasses.dataclass(frozen=True)
class TestScores:
    """Test scores on the noisy test images: image quality, and the losses per image a model trains with."""

    psnr: float | None = None
    ssim: float | None = None
    mse: float | None = None
    losses: Mapping[str, float] = dataclasses.field(default_factory=_empty)

    @classmethod
    def from_json(cls, record: Mapping[str, Any] | None) -> TestScores:
        record = record or {}
        return cls(_optional_float(record.get("psnr")), _optional_float(record.get("ssim")),
                   _optional_float(record.get("mse")),
                   MappingProxyType({k: float(v) for k, v in record.items()
                                     if k not in ("psnr", "ssim", "mse") and v is not None}))


@dataclasses.dataclass(frozen=True, eq=False)  # one record per model: compared by identity
class ModelReport:
    """One finished model of a run as the report sees it.

    Attributes:
        name: the ``--model`` name it was trained under (``beta_vae``): how the report names it.
        spec: what that name builds (its family, preset and words); ``None`` for a class aezoo
            no longer has.
        class_name: the Python class recorded in its ``metrics.json``.
        config: its constructor arguments, as saved.
        latent: its latent-space analysis, ``None`` without one.
    """

    name: str
    spec: ModelSpec | None
    class_name: str = ""
    config: Mapping[str, Any] = dataclasses.field(default_factory=_empty)
    test: TestScores = TestScores()
    parameters: int | None = None
    training_seconds: float | None = None
    latent: LatentResult | None = None

    @classmethod
    def of(cls, name: str, metrics: Mapping[str, Any] | None = None,
           latent: Mapping[str, Any] | None = None) -> ModelReport:
        """From a model's ``metrics.json`` and its ``latent_metrics.json`` (with ``"figures"``), either may be missing."""
        from aezoo.families import MODELS, spec_for_config

        metrics = metrics or {}
        class_name = str(metrics.get("class") or (latent or {}).get("class") or "")
        spec = spec_for_config(class_name, name) if class_name else MODELS.get(name)
        parameters = metrics.get("parameters")
        return cls(name, spec, class_name, MappingProxyType(dict(metrics.get("config") or {})),
                   TestScores.from_json(metrics.get("test")), None if parameters is None else int(parameters),
                   _optional_float(metrics.get("training_seconds")),
                   None if latent is None else LatentResult.from_json(latent))

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What its class declares (imports the model class)."""
        return frozenset() if self.spec is None else self.spec.capabilities

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def summary(self) -> str:
        """One line: the idea, in its family's words ("" for an unknown class)."""
        return "" if self.spec is None else self.spec.summary

    def loss_in_words(self) -> str:
        """Its training loss in its family's words, for its saved config ("" for an unknown class)."""
        return "" if self.spec is None else self.spec.loss_in_words(self.config)

    @property
    def measures(self) -> tuple[Measure, ...]:
        """The report parts its family declares for what only it measures (its ``analysis.py`` ``REPORT``)."""
        from aezoo.report.parts import family_measures

        return () if self.spec is None else family_measures(self.spec.family)


@dataclasses.dataclass(frozen=True)
class Likelihood:
    """Importance-sampled NLL of clean test images, with the bounds beside it (nats per image)."""

    nll: float
    iwae_bound: float
    elbo: float
    quantity: str  # "-log p(x)", or "-log p(x | y)" for a conditional model

    @property
    def conditional(self) -> bool:
        return "|" in self.quantity

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Likelihood:
        return cls(float(record["nll"]), float(record["iwae_bound"]), float(record["elbo"]), str(record["quantity"]))


@dataclasses.dataclass(frozen=True)
class GenerationScores:
    """How one model generates: its sampler's samples judged by the classifier, and its likelihood."""

    sampler: str | None = None
    conditional: bool = False
    samples: int | None = None
    frechet_distance: float | None = None
    mean_entropy: float | None = None
    coverage: int | None = None
    label_accuracy: float | None = None
    likelihood: Likelihood | None = None

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> GenerationScores:
        coverage, samples, likelihood = record.get("coverage"), record.get("samples"), record.get("likelihood")
        return cls(record.get("sampler"), bool(record.get("conditional", False)),
                   None if samples is None else int(samples), _optional_float(record.get("frechet_distance")),
                   _optional_float(record.get("mean_entropy")), None if coverage is None else int(coverage),
                   _optional_float(record.get("label_accuracy")),
                   None if likelihood is None else Likelihood.from_json(likelihood))


@dataclasses.dataclass(frozen=True)
class GenerationRecord:
    """``summary.json["generation"]``: every scored model, the FD reference points, the judging classifier.

    Data without labels has no judging classifier: ``classifier_accuracy`` is ``None`` and there are
    no reference points (only the samples and the NLL).
    """

    models: Mapping[str, GenerationScores]
    reference_points: Mapping[str, float]
    classifier_accuracy: float | None
    nll_samples: int

    @property
    def judged(self) -> bool:
        """A classifier judged the samples (the data has labels)."""
        return self.classifier_accuracy is not None

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> GenerationRecord:
        classifier = record.get("classifier")
        return cls(MappingProxyType({k: GenerationScores.from_json(m) for k, m in record["models"].items()}),
                   MappingProxyType({k: float(v) for k, v in (record.get("reference_points") or {}).items()}),
                   None if not classifier else float(classifier["test_accuracy"]), int(record["nll_samples"]))


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """The run's test set and noise (``summary.json``)."""

    dataset: str
    test_images: int
    noise_kind: str
    noise_strength: float
    train_images: int | None = None
    validation_images: int | None = None

    @classmethod
    def from_json(cls, summary: Mapping[str, Any]) -> RunSummary:
        splits = summary.get("splits") or {}
        return cls(str(summary["dataset"]), int(summary["test_images"]), str(summary["noise"]["kind"]),
                   float(summary["noise"]["strength"]), splits.get("train"), splits.get("validation"))


@dataclasses.dataclass(frozen=True)
class Phase:
    """One row of the phase table (``summary.json["phases"]``)."""

    name: str
    seconds: float
    cpu_seconds: float
    part: str
    failed: bool = False

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> Phase:
        return cls(str(row["phase"]), float(row["seconds"]), float(row["cpu_seconds"]), str(row.get("part", "")),
                   bool(row.get("failed", False)))


__all__ = ["Accuracy", "GenerationRecord", "GenerationScores", "LatentResult", "Likelihood", "ModelReport", "Phase",
           "RunSummary", "Smoothness", "Spread", "TestScores"]
