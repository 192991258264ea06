"""``RUN/report.html``: the page, one builder a section, and what every section draws on (:class:`ReportContext`).

The written comparison is *generated from the measured numbers*: every sentence that ranks models
is decided by the figures it quotes, with a tolerance below which models are called level instead
of inventing a winner. What a measure says lives with the measure (:mod:`aezoo.report.measures`);
what only a family measures, in the family's ``analysis.py`` (:mod:`aezoo.report.parts`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Mapping, Sequence

from aezoo import files
from aezoo.report import html
from aezoo.report.html import DASH, escape, figure, figure_row, number, table
from aezoo.report.measures import CLOSING, SHARED, generation, timing
from aezoo.report.parts import Measure, measures_in_use
from aezoo.report.records import GenerationRecord, ModelReport, RunSummary, TestScores

if TYPE_CHECKING:
    from aezoo.analysis.embeddings import AnalysisData, RunRecords


@dataclasses.dataclass(frozen=True)
class ReportContext:
    """Everything a section of the report may draw on.

    Attributes:
        records: the run's config, summary and every finished model's metrics.json.
        results: latent analysis of each model with a latent space (name -> latent_metrics.json
            content plus ``"figures"``: figure name -> file).
        data: the analysed test images.
        skipped: models without a latent space (their section says why in one sentence).
        figures: run-level figures (file name -> path), drawn by the measures that have one.
        phases: returns the phase table as it stands when the page draws it (the analysis passes
            one that also times the report); default: ``summary.json["phases"]``.
    """

    records: RunRecords
    results: Mapping[str, Mapping[str, Any]]
    data: AnalysisData
    skipped: Collection[str] = ()
    figures: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    phases: Callable[[], list[dict[str, Any]]] | None = None

    def phase_table(self) -> list[dict[str, Any]]:
        """Where the run's time went (``summary.json["phases"]`` rows); [] for a run that has none."""
        if self.phases is not None:
            return self.phases()
        return list((self.records.summary or {}).get("phases") or [])

    @property
    def names(self) -> list[str]:
        """Every finished model of the run, in training order (with and without a latent space)."""
        return [k for k in self.records.models if k in self.results or k in self.skipped] or list(self.results)

    @functools.cached_property
    def models(self) -> list[ModelReport]:
        return [ModelReport.of(name, self.records.metrics.get(name), self.results.get(name)) for name in self.names]

    @property
    def latent_models(self) -> list[ModelReport]:
        return [model for model in self.models if model.latent is not None]

    @functools.cached_property
    def measures(self) -> list[tuple[Measure, list[ModelReport]]]:
        """Each latent measure with the models that have it, in report order (none by class without labels)."""
        return measures_in_use(SHARED, self.latent_models, CLOSING, labelled=self.data.has_labels)

    @functools.cached_property
    def summary(self) -> RunSummary | None:
        return RunSummary.from_json(self.records.summary) if self.records.summary else None

    @property
    def baselines(self) -> dict[str, TestScores]:
        """The rows of the run's test table that are not models (the noisy input, the median filter)."""
        tests = (self.records.summary or {}).get("test") or {}
        return {name: TestScores.from_json(scores) for name, scores in tests.items() if name not in self.names}

    @functools.cached_property
    def generation(self) -> GenerationRecord | None:
        # Read from disk: the generation scores are written after the records were loaded.
        return generation.read_record(self.records.folder)


Section = Callable[[ReportContext], str]


def write_report(records: RunRecords, results: Mapping[str, Mapping[str, Any]], data: AnalysisData,
                 skipped: Collection[str] = (), figures: Mapping[str, Path] | None = None,
                 phases: Callable[[], list[dict[str, Any]]] | None = None) -> Path:
    """Write the run's ``report.html`` from the analysis ``results`` (name -> metrics) and return its path.

    ``records`` are the run's config, summary and metrics as the analysis already read them;
    ``skipped`` the models without a latent space; ``figures`` the run-level figures;
    ``phases`` the phase table (:class:`ReportContext`).
    """
    path = records.folder.report_path
    context = ReportContext(records, results, data, tuple(skipped), dict(figures or {}), phases)
    files.write_text(path, render_report(context))
    return path


def render_report(context: ReportContext) -> str:
    """The report as an HTML string: every builder of :data:`SECTIONS` in turn."""
    title = f"aezoo report {context.records.folder.path.name}: denoising autoencoders and their latent spaces"
    return html.page(title, [part for build in SECTIONS if (part := build(context))])


# ----------------------------------------------------------------------------- sections

def overview_section(context: ReportContext) -> str:
    """Where the report comes from, which models and data (and, without labels, the one sentence saying
    what that skips), and the run's configuration."""
    data, run_dir = context.data, context.records.folder.path
    return (f"<p class=\"note\">Generated {datetime.now():%Y-%m-%d %H:%M} from <code>{escape(run_dir)}</code>. "
            f"Models: {escape(', '.join(context.names))}. Data: {escape(data.dataset)}"
            f"{' (' + escape(data.source) + ')' if data.source else ''}. "
            + "".join(f"<a href=\"#model-{escape(name)}\">{escape(name)}</a> " for name in context.names) + "</p>\n"
            + html.paragraphs([data.skipped], "skip")
            + "<h2>Configuration</h2>" + _config_table(context.records.config))


def comparison_section(context: ReportContext) -> str:
    """One table of every model (rows) against the baselines: denoising and latent-space numbers."""
    return "<h2>All models compared</h2>" + _summary_intro(context.summary) + comparison_table(context)


def findings_section(context: ReportContext) -> str:
    """The written comparison, every claim decided by the numbers it quotes."""
    paragraphs = written_comparison(context.latent_models, labelled=context.data.has_labels)
    return "<h2>What the numbers say</h2>" + html.paragraphs(paragraphs) if paragraphs else ""


def model_sections(context: ReportContext) -> str:
    """One section per model: training, then its latent space (or one sentence why it has none)."""
    points = context.latent_models[0].latent.interpolation.points_per_pair if context.latent_models else None
    codes = f"{points} codes, ends included; " if points else ""
    colours = ("colours are the classes, the same in every map" if context.data.has_labels
               else "in one colour")
    intro = ("<h2>Each model</h2><p>Per model: the loss curves and its last validation images; then, for a model "
             f"with a latent space, the t-SNE map of the embeddings of the first {len(context.data)} <em>clean</em> "
             f"test images ({colours}; cluster sizes and distances between "
             "clusters carry little meaning, which points share a cluster does), decoded straight lines between "
             f"the embeddings of two test images (red frames; {codes}every model uses the same pairs), its own "
             "figures and its latent measures.</p>")
    return intro + "\n".join(model_section(context, model) for model in context.models)


def measure_sections(context: ReportContext) -> str:
    """The sections a measure has of its own (the VAE lineage's: how it samples and what its loss is)."""
    return "".join(measure.section(models, context) for measure, models in context.measures)


def generation_section(context: ReportContext) -> str:
    return generation.section(context)


def method_section(context: ReportContext) -> str:
    latent = context.latent_models
    if not latent:
        return ""
    return "<h2>How this was measured</h2>" + html.bullets(m.method(models, latent) for m, models in context.measures)


def timing_section(context: ReportContext) -> str:
    return timing.section(context)


# The report is these builders' output, in this order. A new section is one function taking the
# ReportContext and returning HTML ("" for nothing), placed in this list. The timing table comes
# last: drawn last, it times the report itself up to that moment.
SECTIONS: list[Section] = [overview_section, comparison_section, findings_section, model_sections,
                           measure_sections, generation_section, method_section, timing_section]


# ----------------------------------------------------------------------------- written comparison

def written_comparison(models: Sequence[ModelReport], labelled: bool | None = None) -> list[str]:
    """Plain-text paragraphs comparing the models with a latent space, each claim decided by the numbers it quotes.

    Each measure speaks in turn, the shared ones first, then each family's own about the models
    that have it. ``labelled``: whether the data has labels (default: whether every model's analysis
    measured by class); without them the measures by class say nothing.
    """
    latent = [model for model in models if model.latent is not None]
    if labelled is None:
        labelled = all(model.latent.labelled for model in latent)
    paragraphs: list[str] = []
    for measure, having in measures_in_use(SHARED, latent, CLOSING, labelled=labelled):
        paragraphs += measure.paragraphs(having, latent)
    return [p for p in paragraphs if p]


# ----------------------------------------------------------------------------- tables

def _config_table(config: Mapping[str, Any]) -> str:
    if not config:
        return "<p>config.json is missing.</p>"
    rows = [(key, json.dumps(value) if isinstance(value, (dict, list)) else value) for key, value in config.items()]
    return table(("setting", "value"), rows)


def _summary_intro(summary: RunSummary | None) -> str:
    if summary is None:
        return ("<p>summary.json is missing (an unfinished run): the test scores are each finished model's "
                "metrics.json.</p>")
    split_text = (f" The models trained on {summary.train_images} images and were validated (best checkpoint, "
                  f"val_* curves) on {summary.validation_images} others; these test images were scored once, "
                  "after training." if summary.train_images is not None and summary.validation_images is not None
                  else "")
    return (f"<p>{summary.test_images} {escape(summary.dataset)} test images with {escape(summary.noise_kind)} noise "
            f"of strength {summary.noise_strength:g}. The first rows are baselines: the noisy input itself and a 3×3 "
            f"median filter.{escape(split_text)} The latent columns are measured on the first analysed clean test "
            "images; – means the measure does not apply.</p>")


DENOISING_HEADER = ("model", "test PSNR (dB)", "test SSIM", "parameters", "training (s)")


def comparison_table(context: ReportContext) -> str:
    """Baselines and every model as rows; columns that do not apply to a model show a dash."""
    columns = [(column, models) for measure, models in context.measures for column in measure.columns]
    blank = [DASH] * (len(DENOISING_HEADER) - 3 + len(columns))
    rows = [(name, number(scores.psnr, ".2f"), number(scores.ssim, ".3f"), *blank)
            for name, scores in context.baselines.items()]
    for model in context.models:
        latent = [column.cell(model) if model in having else DASH for column, having in columns]
        rows.append((model.name, number(model.test.psnr, ".2f"), number(model.test.ssim, ".3f"),
                     number(model.parameters, ",d"), number(model.training_seconds, ".1f"), *latent))
    return table(DENOISING_HEADER + tuple(column.header for column, _ in columns), rows)


# ----------------------------------------------------------------------------- one model

def skip_reason(model: ModelReport) -> str:
    """The one sentence a model without a latent space gets instead of its latent sections."""
    return (f"{model.name} has no latent space: it maps a noisy image straight to a clean one with no code in "
            "between (no encode or decode), so there are no embeddings to map, classify or interpolate, and its "
            "latent sections are skipped.")


def model_section(context: ReportContext, model: ModelReport) -> str:
    """One model: what it is, its training figures, then its latent figures and measures or why it has none."""
    run, name = context.records.folder, model.name
    about = f"{model.summary} ({model.class_name})" if model.summary and model.class_name else model.summary
    epochs = sorted(run.reconstructions_dir(name).glob("epoch_*.png"))
    parts = [f"<h2 id=\"model-{escape(name)}\">{escape(name)}</h2>",
             html.paragraphs([about], "note"),
             figure_row([figure(run.loss_curves_path(name), f"{name}: loss and metrics per epoch (val_*: the "
                                "validation split)"),
                         figure(epochs[-1] if epochs else None,
                                f"{name}: noisy / denoised / clean validation images after the last epoch")])]
    if model.latent is None:
        if name in context.skipped:
            parts.append(html.paragraphs([skip_reason(model)], "skip"))
        return "".join(parts)
    measures = [measure for measure, models in context.measures if model in models]
    shown = model.latent.figures
    drawn = [figure(shown[n], f"{name}: {caption}") for measure in measures for n, caption in measure.figures
             if n in shown]
    rows = [row for measure in measures for row in measure.rows(model)]
    note = ("<p class=\"note\">Accuracies are means ± standard deviation over 5 stratified folds. Higher is better "
            "for accuracy, silhouette and trustworthiness; for the jump ratio lower is smoother.</p>"
            if context.data.has_labels else
            "<p class=\"note\">Higher trustworthiness is better; for the jump ratio lower is smoother.</p>")
    return "".join(parts + [figure_row(drawn), f"<h3>{escape(name)}: latent measures</h3>",
                            table(("measure", "value"), rows), note])


__all__ = ["SECTIONS", "ReportContext", "comparison_table", "model_section", "render_report", "skip_reason",
           "write_report", "written_comparison"]
