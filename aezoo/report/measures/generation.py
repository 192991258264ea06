"""Generation: each generative model's samples, judged by a classifier (FD, class statistics), and the FD ordering.

Read from ``summary.json["generation"]`` (:func:`aezoo.generation.evaluate_run`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from aezoo.generation.pictures import SAMPLES_FIGURE
from aezoo.report.html import DASH, PIXELATED, escape, figure, figure_row, number, paragraphs, table
from aezoo.report.measures import likelihood
from aezoo.report.records import GenerationRecord, GenerationScores
from aezoo.report.words import Tie
from aezoo.run_folder import RunFolder, read_json
from aezoo.samplers import SAMPLERS, sampler_class

if TYPE_CHECKING:
    from aezoo.report.page import ReportContext

FD_TIE = Tie(0.05, relative=True)  # FDs within 5 % of each other are called equal
# The samplers the FD-ordering sentence sets against each other: the model's own prior, and a
# mixture fitted after training to where the training codes really lie.
PRIOR, MIXTURE = "prior", "gmm"
HEADER = ("samples of", "sampler", "FD", "mean entropy (nats)", "classes covered", "label accuracy")
JUDGED = 4  # the last columns of HEADER: what the classifier says, absent for data without labels


def read_record(run: RunFolder) -> GenerationRecord | None:
    """``summary.json["generation"]`` of a run, ``None`` when it has none."""
    record = (read_json(run.summary_path) or {}).get("generation")
    return GenerationRecord.from_json(record) if record else None


def section(context: ReportContext) -> str:
    """The report's "Generation" section ("" when the run has no generation record)."""
    return run_section(context.records.folder, context.generation, len(context.data.class_names),
                       colour=context.data.clean.shape[-1] == 3)


def run_section(run: RunFolder, record: GenerationRecord | None, classes: int, colour: bool = False) -> str:
    """The "Generation" section of ``run`` from its ``record``, for data of ``classes`` classes (``colour``: RGB)."""
    if record is None:
        return ""
    figures = [figure(run.analysis_dir(name) / SAMPLES_FIGURE, f"{name}: generated images, {_drawn_by(scores)}",
                      style=PIXELATED)
               for name, scores in record.models.items() if scores.sampler]
    sentences = [fd_ordering_sentence(record.models), likelihood.nll_sentence(record.models)]
    return "\n".join(["<h2>Generation</h2>", f"<p>{escape(_intro(record))}</p>", figure_row(figures),
                      generation_table(record, classes), paragraphs(sentences),
                      f"<p class=\"note\">{escape(likelihood.note(record.nll_samples, colour))}</p>"])


def _drawn_by(scores: GenerationScores) -> str:
    summary = sampler_class(scores.sampler).summary if scores.sampler in SAMPLERS else ""
    per_class = "; one row per class" if scores.conditional else ""
    return f"{scores.sampler} sampler{': ' + summary if summary else ''}{per_class}"


def _intro(record: GenerationRecord) -> str:
    counts = [s.samples for s in record.models.values() if s.samples]
    drawn = f"draws {counts[0]} images (seeded)" if counts else "draws images (seeded)"
    if not record.judged:  # the report's opening says why, once
        return f"Every generative model {drawn}."
    return (f"Every generative model {drawn}. A small CNN trained once per dataset on the clean training split "
            f"({record.classifier_accuracy:.1%} test accuracy; cached) judges them: FD is the Fréchet distance "
            "between its penultimate-layer features of the samples and of as many real test images, an analogue "
            "of FID (not an FID: a different network); the reference rows put it on a scale, the first being the "
            "floor a perfect generator reaches. Mean entropy: how unsure the classifier is of each sample (0 = "
            "clearly some class); classes covered: classes that are the top class of at least 2 % of the samples.")


def generation_table(record: GenerationRecord, classes: int) -> str:
    """One row per model (sampler, FD, class statistics, NLL), then the FD reference points; without a
    judging classifier (data without labels) only the sampler and the NLL."""
    if not record.judged:
        return table(HEADER[:-JUDGED] + likelihood.HEADER,
                     [(name, s.sampler or DASH, *likelihood.cells(s)) for name, s in record.models.items()])
    rows = [(name, s.sampler or DASH, number(s.frechet_distance, ".1f"), number(s.mean_entropy, ".3f"),
             DASH if s.coverage is None else f"{s.coverage} of {classes}", number(s.label_accuracy, ".1%"),
             *likelihood.cells(s))
            for name, s in record.models.items()]
    rows += [(f"reference: {name}", "real images", f"{value:.1f}", *[DASH] * (len(HEADER) + len(likelihood.HEADER) - 3))
             for name, value in record.reference_points.items()]
    return table(HEADER + likelihood.HEADER, rows)


def fd_ordering_sentence(models: Mapping[str, GenerationScores]) -> str:
    """Whether the best prior samples beat the best mixture samples in FD, decided by the numbers.

    Conditional samples are left out: asked for each class in turn, they answer another question.
    """
    prior = {k: s.frechet_distance for k, s in models.items()
             if s.sampler == PRIOR and not s.conditional and s.frechet_distance is not None}
    mixture = {k: s.frechet_distance for k, s in models.items()
               if s.sampler == MIXTURE and s.frechet_distance is not None}
    if not prior or not mixture:
        return ""
    best_prior, best_mixture = min(prior, key=prior.__getitem__), min(mixture, key=mixture.__getitem__)
    a, b = prior[best_prior], mixture[best_mixture]
    quoted = f"FD {a:.1f} for the prior samples of {best_prior} against {b:.1f} for those of {best_mixture}"
    if FD_TIE.level(a, b):
        return (f"FD ordering: the prior samples of {best_prior} and the mixture samples of {best_mixture} are about "
                f"equally close to real images ({quoted}).")
    if a < b:
        return (f"FD ordering: the prior samples of {best_prior} are closer to real images than the Gaussian-mixture "
                f"samples of {best_mixture} ({quoted}).")
    entropies = models[best_prior].mean_entropy, models[best_mixture].mean_entropy
    entropy = (f"; the classifier is also less sure what they are: mean entropy {entropies[0]:.2f} against "
               f"{entropies[1]:.2f} nats" if None not in entropies else "")
    return (f"FD ordering: the prior samples of {best_prior} are not closer to real images than the Gaussian-mixture "
            f"samples of {best_mixture}; they are further away ({quoted}{entropy}). A likely reason: N(0, I) draws "
            "also land between the regions the posteriors cover, which the decoder renders as blurred, ambiguous "
            "images, while a mixture fitted to where the training codes really lie (ex-post density estimation, "
            "Ghosh et al. 2020) stays inside them.")
