"""Where a command's time goes: a table of named phases, each with its wall and CPU seconds.

``python train.py`` keeps one :class:`PhaseTimer` from the process's start to its end: start-up
(the interpreter, the imports, TensorFlow's included), data, each model's build, training, test
evaluation, sampler, save and export, then the analysis, the generation metrics and the report.
The table goes into ``summary.json["phases"]`` and the report::

    timer = PhaseTimer.since_process_start()
    timer.lap("start-up")                 # from the process's start (or the timer's) to now
    with timer.phase("data"):
        ...
    timer.records()  # [{"phase": "start-up", "seconds": 4.1, "cpu_seconds": 3.9, "part": "training"},
                     #  ..., {"phase": "total", "seconds": 48.0, "cpu_seconds": 71.2, "part": "total"}]

CPU seconds are the process's (every thread's) processor time: on a machine shared with other
work they tell the cost that the wall clock hides, and above the wall seconds they show threads
working in parallel. Phases do not nest, so the rows add up to about the total (the remainder is
what ran between phases). Each row belongs to a *part* ("training" or "analysis"), so that a
later ``python -m aezoo analyze RUN`` replaces the analysis rows instead of adding to them
(:func:`merge_tables`). No module here imports TensorFlow: the command layer starts the timer
before anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Iterator

TRAINING = "training"
ANALYSIS = "analysis"
TOTAL = "total"
START_UP = "start-up"

# When this module was first imported: the start of the command when /proc cannot say when the
# process started (aezoo.commands imports this module before parsing any flag).
_IMPORTED = time.perf_counter()


def process_start() -> float:
    """The ``time.perf_counter()`` reading at which this process started (Linux), else at this module's import.

    ``/proc/self/stat`` gives the start in clock ticks since boot, ``CLOCK_BOOTTIME`` the time
    since boot now; the difference is how long ago the interpreter started.
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, "starttime"; fields[0] is field 3
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED
    now = time.perf_counter()
    return now - age if 0.0 <= age <= now - _IMPORTED + 60.0 else _IMPORTED


@dataclasses.dataclass(frozen=True)
class Phase:
    """One row of the table. ``failed``: the phase ended with an exception (its time is still counted)."""

    name: str
    seconds: float
    cpu_seconds: float
    part: str = TRAINING
    failed: bool = False

    def record(self) -> dict[str, Any]:
        row: dict[str, Any] = {"phase": self.name, "seconds": round(self.seconds, 2),
                               "cpu_seconds": round(self.cpu_seconds, 2), "part": self.part}
        return row | {"failed": True} if self.failed else row


class PhaseTimer:
    """Times the phases of one command; :meth:`records` is the table.

    Args:
        origin: the ``time.perf_counter()`` reading the total counts from (default: now).
        cpu_origin: the ``time.process_time()`` reading the CPU total counts from (default: now).
        part: the part new phases belong to unless :meth:`phase` or :meth:`lap` says otherwise.
    """

    def __init__(self, origin: float | None = None, cpu_origin: float | None = None, part: str = TRAINING) -> None:
        self.origin = time.perf_counter() if origin is None else origin
        self.cpu_origin = time.process_time() if cpu_origin is None else cpu_origin
        self.part = part
        self._phases: list[Phase] = []
        self._open: tuple[str, str, float, float] | None = None
        self._last_end = (self.origin, self.cpu_origin)

    @classmethod
    def since_process_start(cls) -> "PhaseTimer":
        """A timer whose total and first lap count from the process's start: the interpreter's start-up too."""
        return cls(origin=process_start(), cpu_origin=0.0)

    @contextlib.contextmanager
    def phase(self, name: str, part: str | None = None) -> Iterator[None]:
        """Time the ``with`` block as phase ``name``; a block that raises is recorded with ``failed``.

        Raises:
            RuntimeError: another phase is still open (phases do not nest, so the rows add up).
        """
        if self._open is not None:
            raise RuntimeError(f"phase {name!r} started inside phase {self._open[0]!r}; phases do not nest")
        self._open = (name, part or self.part, time.perf_counter(), time.process_time())
        failed = True
        try:
            yield
            failed = False
        finally:
            self._close(failed)

    def lap(self, name: str, part: str | None = None) -> Phase:
        """Record phase ``name`` as everything from the end of the last phase (or the origin) to now."""
        if self._open is not None:
            raise RuntimeError(f"lap {name!r} inside phase {self._open[0]!r}; phases do not nest")
        self._open = (name, part or self.part, *self._last_end)
        return self._close(failed=False)

    def carve(self, name: str, seconds: float, cpu_seconds: float) -> Phase:
        """Move ``seconds`` (and ``cpu_seconds``) of the last phase into a new row ``name`` after it.

        For work inside a phase that only the code running it can measure: ``fit`` times its
        training steps, so the rest of the fit phase (validation, epoch-end pictures and
        checkpoints) becomes a row of its own. Amounts are capped at the last phase's.
        """
        if not self._phases or self._open is not None:
            raise RuntimeError(f"nothing to carve {name!r} out of: no finished phase, or one still open")
        last = self._phases.pop()
        seconds, cpu_seconds = min(max(seconds, 0.0), last.seconds), min(max(cpu_seconds, 0.0), last.cpu_seconds)
        carved = Phase(name, seconds, cpu_seconds, last.part, last.failed)
        self._phases += [dataclasses.replace(last, seconds=last.seconds - seconds,
                                             cpu_seconds=last.cpu_seconds - cpu_seconds), carved]
        return carved

    def _close(self, failed: bool) -> Phase:
        assert self._open is not None
        name, part, start, cpu_start = self._open
        end, cpu_end = time.perf_counter(), time.process_time()
        phase = Phase(name, end - start, cpu_end - cpu_start, part, failed)
        self._phases.append(phase)
        self._open, self._last_end = None, (end, cpu_end)
        return phase

    @property
    def phases(self) -> list[Phase]:
        return list(self._phases)

    def parts(self) -> set[str]:
        return {phase.part for phase in self._phases}

    def records(self) -> list[dict[str, Any]]:
        """Every finished phase, then a phase still open (timed up to now), then the total up to now."""
        rows = [phase.record() for phase in self._phases]
        now, cpu_now = time.perf_counter(), time.process_time()
        if self._open is not None:
            name, part, start, cpu_start = self._open
            rows.append(Phase(name, now - start, cpu_now - cpu_start, part).record())
        return rows + [Phase(TOTAL, now - self.origin, cpu_now - self.cpu_origin, TOTAL).record()]

    def table_for(self, existing: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """This timer's table merged into ``existing`` (a run's earlier table; see :func:`merge_tables`)."""
        return merge_tables(existing, self.records())


def merge_tables(existing: list[dict[str, Any]] | None, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``existing`` with the rows of every part that ``new`` measured replaced by ``new``'s rows.

    A table that measured every part of ``existing`` (the whole ``train`` command) replaces it,
    total included. One that measured only some parts (``analyze`` re-run on a trained run)
    replaces those parts' rows and moves the total by the difference, so the total reads as the
    time of the whole run had this analysis been part of it. Rows keep their order: the parts
    ``new`` did not measure first, then ``new``'s.
    """
    new_parts = {row.get("part") for row in new} - {TOTAL}
    old_rows = [row for row in existing or [] if row.get("part") != TOTAL]
    if not old_rows or {row.get("part") for row in old_rows} <= new_parts:
        return list(new)
    kept = [row for row in old_rows if row.get("part") not in new_parts]
    added = [row for row in new if row.get("part") != TOTAL]
    old_total = next((row for row in existing or [] if row.get("part") == TOTAL), None)
    total = {"phase": TOTAL, "part": TOTAL}
    for key in ("seconds", "cpu_seconds"):
        base = old_total[key] if old_total else sum(row[key] for row in old_rows)
        replaced = sum(row[key] for row in old_rows if row.get("part") in new_parts)
        total[key] = round(base - replaced + sum(row[key] for row in added), 2)
    return kept + added + [total]


def total_row(table: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((row for row in table if row.get("part") == TOTAL), None)


def one_line(table: list[dict[str, Any]]) -> str:
    """Where the time went, in one line: ``"48.2 s in all: training 33.1 s, start-up 5.0 s, ..."``.

    Model training (the rows ``"<model>: training"``) is one group, its validation and epoch-end
    callbacks another, the rest of the training part a third; the analysis part is split into
    the generation metrics and the rest.
    """
    total = total_row(table)
    if total is None:
        return ""
    groups: dict[str, float] = {}
    for row in table:
        name, part = row["phase"], row.get("part")
        if part == TOTAL:
            continue
        if name == START_UP:
            group = START_UP
        elif name.endswith(": training"):
            group = "training"
        elif name.endswith(": validation and epoch-end callbacks"):
            group = "validation and epoch-end callbacks"
        elif part == ANALYSIS:
            group = "generation metrics" if name.startswith("generation") else "analysis and report"
        else:
            group = "data, evaluation, samplers, saving"
        groups[group] = groups.get(group, 0.0) + row["seconds"]
    rest = total["seconds"] - sum(groups.values())
    parts = [f"{name} {seconds:.1f} s" for name, seconds in sorted(groups.items(), key=lambda item: -item[1])]
    if rest >= 0.05:
        parts.append(f"between phases {rest:.1f} s")
    return f"Time: {total['seconds']:.1f} s in all: " + ", ".join(parts)


__all__ = ["ANALYSIS", "START_UP", "TOTAL", "TRAINING", "Phase", "PhaseTimer", "merge_tables", "one_line",
           "process_start", "total_row"]
