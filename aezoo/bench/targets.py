"""The zoo leaderboard's targets: claims about named models, as data.

Each :class:`Target` names the leaderboard rows it compares (models of the zoo and reference
autoencoders, by their ``--models`` names), the figure it reads from each row, how it combines
them, the threshold and how to show the result. :func:`judge` judges each one against a
leaderboard's rows: met, missed, or skipped when a row it needs is not in the run. None is a test;
the leaderboard reports them so that a reader sees which claims today's run supports.

This is the one place outside the family folders that names models: a new claim is a new row of
:data:`TARGETS`, not a new branch.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, Callable, Mapping

# A figure's place in a leaderboard row.
TEST_PSNR = ("test", "psnr")
TRAINING_SECONDS = ("training_seconds",)
NLL = ("generation", "likelihood", "nll")
LABEL_ACCURACY = ("generation", "label_accuracy")
FRECHET_DISTANCE = ("generation", "frechet_distance")

# How a target combines the figures of its rows (``None``: a figure is missing).
COMBINATIONS: dict[str, Callable[..., float | None]] = {
    "value": lambda a: a,
    "difference": lambda a, b: a - b,
    "ratio": lambda a, b: a / b if b else None,
}
# How the combined value is held against the threshold.
COMPARISONS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, ">": operator.gt, "<=": operator.le}


@dataclasses.dataclass(frozen=True)
class Target:
    """One claim: ``combination(metric of rows[0], metric of rows[1]) comparison threshold``.

    Args:
        text: the claim as the leaderboard prints it.
        metric: where the figure is in a row (a path of keys, e.g. :data:`TEST_PSNR`).
        rows: the rows compared, by name; the first is the claim's subject.
        combination: ``"value"`` (one row), ``"difference"`` (first minus second) or ``"ratio"``.
        comparison: ``">="``, ``">"`` or ``"<="``, against ``threshold``.
        threshold: the value the combination must reach.
        shown: a format string for the result: ``{value}``, and each row's figure by its name.
        when_missed: a sentence the leaderboard adds under the claim when it is missed.
    """

    text: str
    metric: tuple[str, ...]
    rows: tuple[str, ...]
    combination: str
    comparison: str
    threshold: float
    shown: str
    when_missed: str = ""

    def figures(self, rows: Mapping[str, Any]) -> dict[str, Any]:
        """Each compared row's figure by row name (``None`` where the row or the figure is missing)."""
        return {name: _lookup(rows.get(name), self.metric) for name in self.rows}

    def judge(self, rows: Mapping[str, Any]) -> dict[str, Any]:
        """This target's record for a leaderboard's rows: value, wanted, met (``None``: skipped), shown."""
        figures = self.figures(rows)
        value = None if None in figures.values() else COMBINATIONS[self.combination](*figures.values())
        if value is None:
            return {"target": self.text, "value": None, "wanted": self.threshold, "met": None, "shown": "–"}
        return {"target": self.text, "value": value, "wanted": self.threshold,
                "met": COMPARISONS[self.comparison](value, self.threshold),
                "shown": self.shown.format(value=value, **figures)}


def _lookup(row: Any, path: tuple[str, ...]) -> Any:
    value = row
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


FD_ORDER_MISSED = ("A 10-component mixture fitted to the AE's training codes draws where codes really lie; the "
                   "VAE draws from its prior N(0, I), which also covers regions between the codes of real digits "
                   "that the decoder never learned to draw, so its samples are blurrier.")

#: The zoo's stated targets, in the order the leaderboard lists them.
TARGETS: tuple[Target, ...] = (
    Target("U-Net beats the AE by >= 2 dB test PSNR", TEST_PSNR, ("unet", "ae"), "difference", ">=", 2.0,
           "{value:+.2f} dB"),
    Target("U-Net beats keras.io's no-bottleneck model by >= 1 dB", TEST_PSNR, ("unet", "kerasio"), "difference",
           ">=", 1.0, "{value:+.2f} dB"),
    Target("U-Net trains within 3x the textbook AE's time", TRAINING_SECONDS, ("unet", "textbook"), "ratio", "<=",
           3.0, "{value:.2f}x"),
    Target("IWAE's NLL is lower than the VAE's", NLL, ("vae", "iwae"), "difference", ">", 0.0,
           "{iwae:.1f} vs {vae:.1f} nats"),
    Target("CVAE label accuracy >= 90%", LABEL_ACCURACY, ("cvae",), "value", ">=", 0.9, "{value:.1%}"),
    Target("the VAE's prior samples are closer to real digits (FD) than the AE's mixture samples", FRECHET_DISTANCE,
           ("ae", "vae"), "difference", ">", 0.0, "FD {vae:.1f} vs {ae:.1f}", when_missed=FD_ORDER_MISSED),
)


def judge(rows: Mapping[str, Any], targets: tuple[Target, ...] = TARGETS) -> list[dict[str, Any]]:
    """Every target's record for a leaderboard's rows, in table order."""
    return [target.judge(rows) for target in targets]


def lines(records: list[dict[str, Any]], targets: tuple[Target, ...] = TARGETS) -> list[str]:
    """Markdown lines: one per target, met / MISSED / skipped, with the figure (and why, when missed)."""
    notes = {target.text: target.when_missed for target in targets}
    out = ["", "Targets:"]
    for record in records:
        verdict = {True: "met", False: "MISSED", None: "skipped (a row is missing)"}[record["met"]]
        out.append(f"- {verdict}: {record['target']} ({record['shown']})")
        if record["met"] is False and notes.get(record["target"]):
            out.append(f"  {notes[record['target']]}")
    return out


__all__ = ["FD_ORDER_MISSED", "TARGETS", "Target", "judge", "lines"]
