"""What one measure contributes to the report (:class:`Measure`), and which measures a run's models have.

Every measure, the shared ones (:mod:`aezoo.report.measures`) and those only a family has, is a
:class:`Measure`: its columns in the comparison table, its rows in each model's table, the
figures it shows in each model's section, its paragraphs of the written comparison, its line of
"How this was measured", and optionally a section and a run-level figure of its own.

A family declares its own measures in its ``analysis.py`` as ``REPORT = (Measure(...), ...)``;
families that share a measure (the VAE lineage's KL per dimension) list the same object, and the
report speaks of all their models together. Nothing here knows a family by name: the report
loops over what the families declare.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from aezoo.families import Family
    from aezoo.report.page import ReportContext
    from aezoo.report.records import ModelReport

Row = tuple[str, str]
Models = Sequence["ModelReport"]


@dataclasses.dataclass(frozen=True)
class Column:
    """A column of the comparison table; ``cell`` is asked only of models that have the measure."""

    header: str
    cell: Callable[[ModelReport], str]


@dataclasses.dataclass(frozen=True)
class RunFigure:
    """A figure of every model with the measure in one picture, written beside ``report.html``.

    ``draw`` takes model name -> its ``latent_metrics.json`` content and returns a matplotlib figure.
    """

    file: str
    caption: str
    draw: Callable[[Mapping[str, Mapping[str, Any]]], Any]


def _nothing(*_: Any) -> Any:
    return ()


def _no_text(*_: Any) -> str:
    return ""


@dataclasses.dataclass(frozen=True)
class Measure:
    """Everything the report says about one measure.

    Attributes:
        name: what is measured, in a few words.
        columns: its columns in the comparison table (a dash for models without the measure).
        rows: ``model -> [(label, value), ...]``: its rows in the model's table of latent measures.
        figures: ``(figure name, caption)`` of the figures it shows in a model's section, when the
            model's analysis drew them.
        paragraphs: ``(models with it, every model with a latent space) -> paragraphs`` of the
            written comparison.
        method: ``(models with it, every model with a latent space) -> one item`` of "How this was measured".
        section: ``(models with it, the report) -> HTML``: a section of its own ("" for none).
        run_figure: a figure of all its models together, drawn by the analysis.
        needs_labels: it measures by class, so models analysed on data without labels do not have it
            (the report says why once, not per measure).
    """

    name: str
    columns: tuple[Column, ...] = ()
    rows: Callable[[ModelReport], Sequence[Row]] = _nothing
    figures: tuple[tuple[str, str], ...] = ()
    paragraphs: Callable[[Models, Models], Sequence[str]] = _nothing
    method: Callable[[Models, Models], str] = _no_text
    section: Callable[[Models, ReportContext], str] = _no_text
    run_figure: RunFigure | None = None
    needs_labels: bool = False


def family_measures(family: Family) -> tuple[Measure, ...]:
    """The measures a family declares in its ``analysis.py`` (``REPORT``); none without an analysis module."""
    module = family.analysis_module()
    return () if module is None else tuple(module.REPORT)


def measures_in_use(shared: Iterable[Measure], models: Models, closing: Iterable[Measure] = (),
                    labelled: bool = True) -> list[tuple[Measure, list[ModelReport]]]:
    """Each measure with the models that have it, in report order: ``shared`` ones (every model),
    then each family's own in the order their models come, then ``closing`` ones (every model).

    A measure several families declare appears once, with all their models. Data without labels
    (``labelled`` false) leaves out the measures by class (``needs_labels``).
    """
    owned: dict[int, tuple[Measure, list[ModelReport]]] = {}
    for model in models:
        for measure in model.measures:
            owned.setdefault(id(measure), (measure, []))[1].append(model)
    everyone = list(models)
    listed = ([(measure, everyone) for measure in shared] + list(owned.values())
              + [(measure, everyone) for measure in closing])
    # No model with a latent space (a run of the U-Net alone): no measure has anything to say.
    return [(measure, having) for measure, having in listed if having and (labelled or not measure.needs_labels)]


__all__ = ["Column", "Measure", "Models", "Row", "RunFigure", "family_measures", "measures_in_use"]
