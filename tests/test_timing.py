"""The phase timer: rows, laps, failures, no nesting, the total, and how an analysis re-run merges its rows."""

from __future__ import annotations

import pytest

from aezoo import timing
from aezoo.timing import PhaseTimer, merge_tables, one_line


class FakeClock:
    """Stands in for the ``time`` module: the wall clock advances only when told; CPU runs at half speed."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now

    def process_time(self) -> float:
        return self.now / 2

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def rows_by_name(table: list[dict]) -> dict[str, dict]:
    return {row["phase"]: row for row in table}


def test_phases_laps_and_the_total(clock: FakeClock) -> None:
    timer = PhaseTimer(origin=clock.now - 3.0, cpu_origin=0.0)  # the process started 3 s ago
    clock.advance(1.0)
    timer.lap("start-up")
    with timer.phase("data"):
        clock.advance(2.0)
    clock.advance(0.5)  # between phases: in the total, in no row
    with timer.phase("ae: training", part="training"):
        clock.advance(10.0)
    table = timer.records()
    rows = rows_by_name(table)
    assert [row["phase"] for row in table] == ["start-up", "data", "ae: training", "total"]
    assert rows["start-up"]["seconds"] == 4.0  # the lap counts from the timer's origin
    assert rows["data"]["seconds"] == 2.0 and rows["data"]["cpu_seconds"] == 1.0
    assert rows["total"] == {"phase": "total", "seconds": 16.5, "cpu_seconds": 56.75, "part": "total"}
    assert sum(row["seconds"] for row in table[:-1]) == pytest.approx(16.0)


def test_a_phase_that_raises_is_recorded_as_failed_and_the_error_propagates(clock: FakeClock) -> None:
    timer = PhaseTimer()
    with pytest.raises(ZeroDivisionError):
        with timer.phase("export"):
            clock.advance(1.5)
            1 / 0  # noqa: B018
    row = rows_by_name(timer.records())["export"]
    assert row["failed"] is True and row["seconds"] == 1.5
    with timer.phase("next"):  # the failed phase is closed: a new one may start
        clock.advance(1.0)
    assert "failed" not in rows_by_name(timer.records())["next"]


def test_phases_do_not_nest(clock: FakeClock) -> None:
    timer = PhaseTimer()
    with timer.phase("outer"):
        with pytest.raises(RuntimeError, match="do not nest"):
            with timer.phase("inner"):
                pass
        with pytest.raises(RuntimeError, match="do not nest"):
            timer.lap("lap")
    assert [row["phase"] for row in timer.records()] == ["outer", "total"]


def test_an_open_phase_is_shown_up_to_now(clock: FakeClock) -> None:
    timer = PhaseTimer()
    with timer.phase("report", part="analysis"):
        clock.advance(2.0)
        assert rows_by_name(timer.records())["report"]["seconds"] == 2.0


def test_carving_moves_part_of_the_last_phase_into_its_own_row(clock: FakeClock) -> None:
    timer = PhaseTimer()
    with timer.phase("ae: training"):
        clock.advance(10.0)
    timer.carve("ae: validation and epoch-end callbacks", 3.0, 1.0)
    table = timer.records()
    assert [row["phase"] for row in table] == ["ae: training", "ae: validation and epoch-end callbacks", "total"]
    assert (table[0]["seconds"], table[0]["cpu_seconds"]) == (7.0, 4.0)
    assert (table[1]["seconds"], table[1]["cpu_seconds"]) == (3.0, 1.0)
    assert sum(row["seconds"] for row in table[:-1]) == table[-1]["seconds"]
    timer.carve("more than there is", 99.0, -1.0)  # capped: no row goes negative
    assert min(row["seconds"] for row in timer.records()) == 0.0
    assert min(row["cpu_seconds"] for row in timer.records()) == 0.0


def training_table() -> list[dict]:
    return [{"phase": "start-up", "seconds": 5.0, "cpu_seconds": 5.0, "part": "training"},
            {"phase": "ae: training", "seconds": 20.0, "cpu_seconds": 30.0, "part": "training"},
            {"phase": "analysis: ae", "seconds": 8.0, "cpu_seconds": 8.0, "part": "analysis"},
            {"phase": "total", "seconds": 34.0, "cpu_seconds": 44.0, "part": "total"}]


def test_an_analysis_re_run_replaces_the_analysis_rows_and_moves_the_total() -> None:
    again = [{"phase": "analysis: ae", "seconds": 3.0, "cpu_seconds": 2.0, "part": "analysis"},
             {"phase": "report", "seconds": 1.0, "cpu_seconds": 1.0, "part": "analysis"},
             {"phase": "total", "seconds": 4.5, "cpu_seconds": 3.5, "part": "total"}]
    merged = merge_tables(training_table(), again)
    assert [row["phase"] for row in merged] == ["start-up", "ae: training", "analysis: ae", "report", "total"]
    assert rows_by_name(merged)["analysis: ae"]["seconds"] == 3.0
    assert merged[-1] == {"phase": "total", "part": "total", "seconds": 30.0, "cpu_seconds": 39.0}
    assert merge_tables(merged, again) == merged  # a third analysis: still one set of rows


def test_a_table_that_measured_every_part_replaces_the_old_one() -> None:
    whole = training_table()[:2] + [{"phase": "total", "seconds": 26.0, "cpu_seconds": 36.0, "part": "total"}]
    assert merge_tables(whole[:2] + [whole[2]], training_table()) == training_table()
    assert merge_tables(None, whole) == whole and merge_tables([], whole) == whole


def test_the_console_line_names_training_and_the_total() -> None:
    line = one_line(training_table())
    assert line.startswith("Time: 34.0 s in all: ")
    assert "training 20.0 s" in line and "start-up 5.0 s" in line and "analysis and report 8.0 s" in line
    assert "between phases 1.0 s" in line
    table = training_table()
    table.insert(2, {"phase": "ae: validation and epoch-end callbacks", "seconds": 1.0, "cpu_seconds": 1.0,
                     "part": "training"})
    line = one_line(table)
    assert "training 20.0 s" in line and "validation and epoch-end callbacks 1.0 s" in line
    assert "between phases" not in line  # the rows now add up to the total
    assert one_line([]) == ""


def test_a_timer_since_the_process_start_counts_what_ran_before_this_module() -> None:
    timer = PhaseTimer.since_process_start()
    # The interpreter started (and ran) before aezoo.timing was imported: the total includes that.
    assert timer.origin <= timing._IMPORTED and timer.cpu_origin == 0.0
    assert timer.records()[-1]["cpu_seconds"] > 0
