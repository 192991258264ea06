"""Where the time went: each model's analysis time, and the run's phase table as its last section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aezoo.report.html import table
from aezoo.report.parts import Measure, Row
from aezoo.report.records import ModelReport, Phase

if TYPE_CHECKING:
    from aezoo.report.page import ReportContext


def rows(model: ModelReport) -> list[Row]:
    seconds = model.latent.seconds
    if "total" not in seconds:
        return []
    of_which = f" ({seconds['tsne']:.1f})" if "tsne" in seconds else ""
    return [("analysis time (s), of which t-SNE", f"{seconds['total']:.1f}{of_which}")]


MEASURE = Measure("analysis time", rows=rows)


def section(context: ReportContext) -> str:
    """One row per phase, wall and CPU seconds and the share of the total; "" for a run without a table."""
    phases = [Phase.from_json(row) for row in context.phase_table()]
    total = next((phase for phase in phases if phase.part == "total"), None)
    if total is None:
        return ""
    rows = [(phase.name + (" (failed)" if phase.failed else ""), f"{phase.seconds:.1f}", f"{phase.cpu_seconds:.1f}",
             f"{phase.seconds / total.seconds:.0%}" if total.seconds else "–") for phase in phases]
    rest = total.seconds - sum(phase.seconds for phase in phases if phase is not total)
    return ("<h2 id=\"phases\">Where the time went</h2><p>Wall-clock and CPU seconds of each phase of the command "
            "that made this run (<code>summary.json</code>, <code>\"phases\"</code>), from the process's start. "
            "CPU seconds count every thread: above the wall seconds, threads worked in parallel; far below them, "
            "the machine was busy with other work. A later <code>python -m aezoo analyze</code> replaces the "
            f"analysis rows and moves the total by the difference. Between phases: {rest:.1f} s.</p>"
            + table(("phase", "wall s", "CPU s", "of the total"), rows))
