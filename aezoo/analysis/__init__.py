"""Latent-space analysis of a run folder: t-SNE maps, interpolations, latent metrics, HTML report.

For every finished model with a latent space (the ``LATENT_SPACE`` capability) of a run folder,
:func:`analyze_run` embeds the first 1000 test images, maps the embeddings to 2-D with t-SNE
coloured by class, interpolates between embeddings and decodes, measures all of it, compares the
models, and writes (figures of colour images in colour, at the data's own size)::

    RUN/
      report.html                 one self-contained page comparing everything (open offline)
      *.png                       figures of several models in one picture, as the families' measures
                                  declare them (the VAE lineage's KL per dimension side by side)
      <model>/analysis/           only for models with a latent space
        tsne.png                  t-SNE map of the embeddings, coloured by class
        interpolation.png         decoded strips between pairs of test images
        latent_metrics.json       k-NN accuracy (+ pixel and PCA baselines), silhouette,
                                  trustworthiness, interpolation smoothness; KL per dimension
                                  for models that have it
        prior_samples.png         generative models: images decoded from z ~ N(0, I)
        latent_grid.png           generative models with a 2-D latent space: decoded grid over the prior
        ...                       what the model's family draws itself (its ``analysis.py``): the VAE
                                  lineage's kl_per_dimension.png, the CVAE's style_transfer.png,
                                  the VQ-VAE's codebook_usage.png

Grid codes (H/4 x W/4 x D) are flattened to one vector per image for t-SNE, k-NN and interpolation;
a conditional model encodes and decodes with the labels.

Data without labels (``ImageSplits.has_labels`` false) skips what needs a class per image, and the
report and ``summary.json`` (``"without_labels"``) say so in one sentence
(:func:`~aezoo.analysis.embeddings.without_labels`): no k-NN accuracy, silhouettes or their
baselines, a t-SNE map in one colour (its trustworthiness still measured), interpolation pairs drawn
by the seed among all images, and no sample judge in the generation scores.

It reads only the run folder (saved models, config, summary) and the dataset, so it can be
re-run at any time: ``python -m aezoo analyze RUN``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
from threadpoolctl import threadpool_limits

from aezoo import files
from aezoo.analysis import interpolation, latent_metrics
from aezoo.analysis.embeddings import (
    FIRST_TEST_IMAGES, WITHOUT_LABELS, AnalysisData, check_run_dir, embed, embedding_size, load_analysis_data,
    load_model, read_records,
)
from aezoo.analysis.plotting import image_grid, plt, save_figure
from aezoo.plotting import mosaic, show_image
from aezoo.analysis.tsne import DEFAULT_PERPLEXITY, plot_tsne, tsne_map
from aezoo.analysis.tsne import ITERATIONS as TSNE_ITERATIONS
from aezoo.datasets import ImageSplits
from aezoo.families import family_of
from aezoo.generation import evaluate_run as evaluate_generation
from aezoo.models.capabilities import CONDITIONAL, GENERATIVE, LATENT_SPACE, has
from aezoo.report import write_report
from aezoo.report.parts import RunFigure, family_measures
from aezoo.run_folder import RunFolder
from aezoo.samplers.prior import PriorSampler
from aezoo.timing import ANALYSIS, PhaseTimer

logger = logging.getLogger("aezoo")

Progress = Callable[[str], None]
PRIOR_SAMPLES = 64
LATENT_GRID_SIZE = 15


def analyze_run(run_dir: str | Path, images: int = FIRST_TEST_IMAGES, seed: int | None = None,
                splits: ImageSplits | None = None, progress: Progress | None = None,
                generation: bool | dict[str, Any] = True, timer: PhaseTimer | None = None,
                models: dict[str, keras.Model] | None = None) -> Path:
    """Analyse every finished model of a run folder and write ``RUN/report.html``; return its path.

    Args:
        run_dir: a folder written by :func:`aezoo.training.train` (finished, or with at least one
            finished model; unfinished ones are named and left out).
        images: how many test images to embed, from the start of the test split.
        seed: seeds t-SNE, the folds, the interpolation pairs and the prior samples; default: the
            run's own seed. The same seed reproduces every number and picture.
        splits: data already in memory (tests); default: reload the data the run was trained on.
        progress: called with one line per step; default: the ``aezoo`` logger.
        generation: also score generation (:func:`aezoo.generation.evaluate_run`); a dict passes
            its options (e.g. ``{"nll_samples": 16}``).
        timer: the phase timer of the command that trained the run (``python train.py``), whose
            table then covers the whole command; default: a new one for the analysis alone.
        models: trained models still in memory (kind -> model, the same weights as their
            ``model.keras``), used instead of loading those files again; default: load every one.

    The analysis's phases join ``summary.json["phases"]`` before the report shows them, replacing
    those of an earlier analysis of the same run (:func:`aezoo.timing.merge_tables`).
    Models without a latent space (no ``LATENT_SPACE`` capability) get no ``analysis/`` folder; the
    report lists their scores and says in one sentence why their latent sections are skipped.

    Raises:
        UsageError: ``run_dir`` is not a run folder, or holds no finished model.
    """
    # One BLAS/OpenMP thread for scikit-learn, NumPy and SciPy (TensorFlow keeps its own threads):
    # on a thousand points their threads mostly wait for each other, and on 2 busy cores a PCA
    # baseline took 2.6 CPU s with two threads against 0.3 s with one.
    with threadpool_limits(limits=1):
        return _analyze_run(run_dir, images, seed, splits, progress or logger.info, generation,
                            timer or PhaseTimer(part=ANALYSIS), dict(models or {}))


def _analyze_run(run_dir: str | Path, images: int, seed: int | None, splits: ImageSplits | None, say: Progress,
                 generation: bool | dict[str, Any], timer: PhaseTimer, models: dict[str, keras.Model]) -> Path:
    run = check_run_dir(run_dir)
    records = read_records(run)
    seed = records.train_config().seed if seed is None else seed
    started = time.perf_counter()
    data = load_analysis_data(records, images, splits=splits)
    # A lap: in the train command it also covers what ran since training's last phase (imports, the table).
    timer.lap("analysis: data", ANALYSIS)
    say(f"Analysis of {run.path}: the first {len(data)} clean test images of {data.dataset}")
    if data.skipped:
        say(data.skipped)
    _record_skipped(run, data)
    results, skipped = _analyze_models(run, records.models, data, seed, say, timer, models)
    with timer.phase("analysis: run figures", ANALYSIS):
        extra = run_figures(models, results, run.path)
    if generation:  # generation hook: metrics.json/summary.json "generation", read by the report
        evaluate_generation(run.path, seed=seed, splits=splits, progress=say, timer=timer, models=models,
                            **(generation if isinstance(generation, dict) else {}))
    with timer.phase("report", ANALYSIS):
        table = _PhaseTable(timer, run)
        report = write_report(records, results, data, skipped=skipped, figures=extra, phases=table)
    table.save()
    say(f"Report: {report} (whole analysis {time.perf_counter() - started:.1f} s)")
    return report


def _record_skipped(run: RunFolder, data: AnalysisData) -> None:
    """``summary.json["without_labels"]``: the sentence saying what the data's lack of labels skips (removed
    for labelled data, so a record never outlives the data it describes)."""
    summary = run.read_summary()
    if summary is not None:
        kept = {key: value for key, value in summary.items() if key != WITHOUT_LABELS}
        run.write_summary(kept | ({WITHOUT_LABELS: data.skipped} if data.skipped else {}))


class _PhaseTable:
    """The phase table as the report draws it, last of its sections, and then stores in ``summary.json``.

    The report is timed up to the moment its table is drawn (the rest is writing the file), so the
    page and ``summary.json`` show the same figures.
    """

    def __init__(self, timer: PhaseTimer, run: RunFolder) -> None:
        self.timer, self.run = timer, run
        self.rows: list[dict[str, Any]] | None = None

    def __call__(self) -> list[dict[str, Any]]:
        if self.rows is None:
            self.rows = self.timer.table_for((self.run.read_summary() or {}).get("phases"))
        return self.rows

    def save(self) -> None:
        summary = self.run.read_summary()
        if summary is not None:
            self.run.write_summary(summary | {"phases": self()})


def _analyze_models(run: RunFolder, kinds: list[str], data: AnalysisData, seed: int, say: Progress,
                    timer: PhaseTimer,
                    models: dict[str, keras.Model]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every model's latent analysis (one phase each, the pixel baselines another); and those without a latent space."""
    baselines: dict[int, dict[str, Any]] = {}  # per flattened embedding size; shared by models of equal size
    results: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for kind in kinds:
        model = models.get(kind)
        if model is None:
            with timer.phase(f"analysis: loading {kind}", ANALYSIS):
                model = models[kind] = load_model(run, kind)
        if not has(model, LATENT_SPACE):
            skipped.append(kind)
            say(f"{kind}: no latent space (encode/decode), so no latent analysis")
            continue
        size = embedding_size(model)
        if size not in baselines and data.has_labels:  # the pixel baselines are k-NN and silhouettes: by class
            with timer.phase(f"analysis: pixel baselines ({size}-D PCA)", ANALYSIS):
                say(f"Baselines: k-NN on raw pixels and on a {size}-D PCA")
                baselines[size] = latent_metrics.pixel_baselines(data.clean, data.labels, size, seed=seed)
        with timer.phase(f"analysis: {kind}", ANALYSIS):
            results[kind] = analyze_model(model, kind, data, run.analysis_dir(kind), seed=seed,
                                          baselines=baselines.get(size), progress=say)
    return results, skipped


def run_figures(models: dict[str, keras.Model], results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Path]:
    """Figures of several models in one picture, written beside ``report.html``: file name -> path.

    Each is declared by a measure of the models' families (:class:`aezoo.report.parts.RunFigure`)
    and drawn with the results of every analysed model whose family declares that measure.
    """
    having: dict[int, tuple[RunFigure, dict[str, dict[str, Any]]]] = {}
    for kind, result in results.items():
        family = family_of(models[kind])
        for measure in () if family is None else family_measures(family):
            if measure.run_figure is not None:
                having.setdefault(id(measure), (measure.run_figure, {}))[1][kind] = result
    return {drawing.file: _save(drawing.draw(chosen), Path(run_dir) / drawing.file) for drawing, chosen in having.values()}


class Stopwatch:
    """Seconds per named stage, each stage timed from the end of the one before."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 2)
        self._last = now
        return self.seconds[stage]

    def total(self) -> float:
        return round(time.perf_counter() - self._start, 2)


@dataclasses.dataclass(frozen=True)
class Interpolations:
    pairs: list[tuple[int, int]]
    strips: list[np.ndarray]


def analyze_model(model: keras.Model, kind: str, data: AnalysisData, out_dir: str | Path, seed: int = 0,
                  baselines: dict[str, Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Analyse one model on ``data``: write its figures and ``latent_metrics.json`` into ``out_dir``.

    Args:
        model: a trained model with a latent space (``encode``, ``decode``, ``embedding_shape``);
            a generative one adds the prior samples, a conditional one is given the labels, and
            its family's ``analysis.py`` adds the measures and figures only it has. Grid
            embeddings are flattened to one vector per image.
        kind: the model's name in the run (``"ae"``, ``"vae"``), used in titles and file names.
        data: the test images and labels to analyse.
        out_dir: the model's ``analysis/`` folder (created).
        seed: seeds everything random, so a rerun gives the same numbers and pictures.
        baselines: :func:`latent_metrics.pixel_baselines` for this embedding size (computed if missing).
        progress: called with one line per step.

    Returns:
        The content of ``latent_metrics.json``, plus ``"figures"``: figure name -> file path.
    """
    say = progress or logger.info
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    watch = Stopwatch()
    labels = data.labels if has(model, CONDITIONAL) else None  # a conditional model encodes given the class
    say(f"{kind}: embedding {len(data)} test images ({_shape_text(model)})")
    embeddings, noisy_embeddings = embed(model, data.clean, labels), embed(model, data.noisy, labels)
    watch.lap("embed")
    say(f"{kind}: t-SNE of {len(data)} points...")
    points = tsne_map(embeddings, seed=seed)
    say(f"{kind}: t-SNE done in {watch.lap('tsne'):.1f} s")
    say(f"{kind}: latent metrics ({'5-fold 5-NN, silhouette, ' if data.has_labels else ''}trustworthiness)")
    metrics = measure_latent_space(model, kind, data, embeddings, noisy_embeddings, points, seed, baselines)
    watch.lap("metrics")
    say(f"{kind}: interpolations ({interpolation.MEASURED_PAIRS} pairs measured, "
        f"{interpolation.SHOWN_PAIRS} drawn)")
    lines = interpolate(model, data, embeddings, seed)
    metrics["interpolation"] = interpolation.smoothness(
        lines.strips, ends=(data.clean[[a for a, _ in lines.pairs]], data.clean[[b for _, b in lines.pairs]])) | {
        "pairs_by_class": data.has_labels}
    watch.lap("interpolation")
    figures = draw(model, kind, data, points, lines, metrics, out_dir, seed)
    family_analysis = _family_analysis(model)
    if family_analysis is not None:
        figures |= family_analysis.figures(model, kind, data, metrics, embeddings, out_dir, seed)
    watch.lap("figures")
    metrics["seconds"] = watch.seconds | {"total": watch.total()}
    metrics["interpolation_pairs_shown"] = [list(pair) for pair in lines.pairs[:interpolation.SHOWN_PAIRS]]
    write_metrics(metrics, out_dir)
    accuracy = (f"5-NN accuracy {metrics['knn_accuracy']['accuracy']:.1%} (pixels "
                f"{metrics['knn_accuracy_pixels']['accuracy']:.1%}, PCA {metrics['knn_accuracy_pca']['accuracy']:.1%})"
                if data.has_labels else f"t-SNE trustworthiness {metrics['tsne_trustworthiness']:.3f}")
    say(f"{kind}: {accuracy}, analysis took {metrics['seconds']['total']:.1f} s")
    return metrics | {"figures": figures}


def measure_latent_space(model: keras.Model, kind: str, data: AnalysisData, embeddings: np.ndarray,
                         noisy_embeddings: np.ndarray, points: np.ndarray, seed: int,
                         baselines: dict[str, Any] | None = None) -> dict[str, Any]:
    """k-NN, silhouettes, trustworthiness, the pixel baselines; and what the model's family measures itself.

    Without labels only what needs no class is measured: the map's trustworthiness, the codes' spread
    (and the family's own measures).
    """
    if baselines is None and data.has_labels:
        baselines = latent_metrics.pixel_baselines(data.clean, data.labels, embedding_size(model), seed=seed)
    metrics: dict[str, Any] = {
        "model": kind, "class": type(model).__name__, "embedding_dim": embedding_size(model),
        "embedding_shape": [int(n) for n in model.embedding_shape], "needs_labels": has(model, CONDITIONAL),
        "dataset": data.dataset, "images": len(data),
        "images_used": f"the first {len(data)} clean test images (embeddings of the noiseless {data.noun})",
        "seed": seed, "knn": {"neighbours": latent_metrics.KNN_NEIGHBOURS, "folds": latent_metrics.KNN_FOLDS},
        "tsne": {"perplexity": min(DEFAULT_PERPLEXITY, (len(data) - 1) / 3.0), "init": "pca",
                 "iterations": TSNE_ITERATIONS},
    }
    metrics |= latent_metrics.embedding_metrics(embeddings, data.labels, points, seed=seed)
    if data.has_labels:
        metrics["knn_accuracy_noisy_input"] = latent_metrics.knn_accuracy(noisy_embeddings, data.labels, seed=seed)
        metrics |= baselines
    family_analysis = _family_analysis(model)
    if family_analysis is not None:
        metrics |= family_analysis.measure(model, data, embeddings)
    return metrics


def _family_analysis(model: keras.Model) -> Any:
    """The analysis module of the model's family (``aezoo/families/<name>/analysis.py``), or ``None``."""
    family = family_of(model)
    return None if family is None else family.analysis_module()


def interpolate(model: keras.Model, data: AnalysisData, embeddings: np.ndarray, seed: int) -> Interpolations:
    """Decoded straight lines between the embeddings of pairs of test images chosen by the seed (and the
    labels, alternating different and same class; among all images without labels)."""
    pairs = (interpolation.choose_pairs(data.labels, interpolation.MEASURED_PAIRS, seed=seed) if data.has_labels
             else interpolation.choose_any_pairs(len(data), interpolation.MEASURED_PAIRS, seed=seed))
    labels = data.labels if has(model, CONDITIONAL) else None
    return Interpolations(pairs, interpolation.interpolation_strips(model, embeddings, pairs, labels=labels))


def draw(model: keras.Model, kind: str, data: AnalysisData, points: np.ndarray, lines: Interpolations,
         metrics: dict[str, Any], out_dir: Path, seed: int) -> dict[str, Path]:
    """Every figure of one model, titled with its ``--model`` name; returns figure name -> file path."""
    figures: dict[str, Path] = {}
    by_class = (f"5-NN accuracy {metrics['knn_accuracy']['accuracy']:.1%} · silhouette "
                f"{metrics['silhouette_embedding']:.2f} · " if data.has_labels else "no labels · ")
    figure = plot_tsne(points, data.labels, data.class_names,
                       f"{kind}: t-SNE of the {_shape_text(model)} embeddings of {len(data)} test {data.noun}",
                       f"{by_class}trustworthiness {metrics['tsne_trustworthiness']:.2f}")
    figures["tsne"] = _save(figure, out_dir / "tsne.png")
    shown = interpolation.SHOWN_PAIRS
    smooth = metrics["interpolation"]
    figure = interpolation.plot_interpolations(
        data.clean, data.labels, lines.pairs[:shown], lines.strips[:shown], data.class_names,
        f"{kind}: linear interpolation between embeddings (mean step {smooth['mean_step']:.3f}, "
        f"jump ratio {smooth['jump_ratio']:.2f})")
    figures["interpolation"] = _save(figure, out_dir / "interpolation.png")
    if has(model, GENERATIVE):
        figures |= _generative_figures(model, out_dir, seed, kind, data.noun)
    return figures


def _shape_text(model: keras.Model) -> str:
    """``"10-D"``, or ``"7x7x16 grid (784-D flattened)"`` for a grid code."""
    shape = tuple(model.embedding_shape)
    if len(shape) == 1:
        return f"{shape[0]}-D"
    return f"{'x'.join(str(n) for n in shape)} grid ({embedding_size(model)}-D flattened)"


def write_metrics(metrics: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / "latent_metrics.json"
    files.write_json(path, metrics)
    return path


def _save(figure: Any, path: Path) -> Path:
    save_figure(figure, path)
    return path


def _generative_figures(model: keras.Model, out_dir: Path, seed: int, name: str,
                        noun: str = "images") -> dict[str, Path]:
    """Images decoded from the prior (``noun``: what they are called), and (2-D latent spaces only) the
    decoded latent grid."""
    samples = PriorSampler(model).sample(PRIOR_SAMPLES, seed=seed)
    labelled = f" with labels 0-{int(model.num_classes) - 1} in turn" if has(model, CONDITIONAL) else ""
    figures = {"prior_samples": _save(
        image_grid(samples, columns=8, title=f"{name}: {PRIOR_SAMPLES} {noun} decoded from z ~ N(0, I){labelled}"),
        out_dir / "prior_samples.png")}
    if tuple(model.embedding_shape) == (2,) and not has(model, CONDITIONAL):
        figures["latent_grid"] = _save(_latent_grid(model, name), out_dir / "latent_grid.png")
    return figures


def _latent_grid(model: keras.Model, name: str, size: int = LATENT_GRID_SIZE) -> Any:
    """Decode a ``size x size`` grid of 2-D codes spaced by equal prior probability.

    The grid points are quantiles of N(0, 1) (5 % to 95 %) rather than evenly spaced values, so
    each cell covers the same prior mass: the picture shows the part of latent space that
    sampling actually visits.
    """
    from scipy.stats import norm

    values = norm.ppf(np.linspace(0.05, 0.95, size))
    z1, z2 = np.meshgrid(values, values[::-1])  # z2 grows upwards, as on a plot
    codes = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
    images = np.asarray(model.decode(codes))
    height, width = images.shape[1:3]
    figure, axis = plt.subplots(figsize=(7, 7 * height / width))
    # One cell per data unit (the ticks are the codes); the aspect keeps each image's own proportions.
    show_image(axis, mosaic(images, columns=size, gap=0), extent=(0, size, 0, size), aspect=height / width,
               interpolation=None)  # matplotlib's smoothing, as this grid has always been drawn
    ticks = np.arange(size) + 0.5
    axis.set_xticks(ticks[::2], [f"{v:.1f}" for v in values[::2]])
    axis.set_yticks(ticks[::2], [f"{v:.1f}" for v in values[::2]])
    axis.set_xlabel("z1")
    axis.set_ylabel("z2")
    axis.set_title(f"{name}: decoded 2-D latent grid (prior quantiles 5 %–95 %)")
    return figure


__all__ = ["AnalysisData", "analyze_model", "analyze_run", "load_analysis_data"]
