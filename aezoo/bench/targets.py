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
PRIOR_MMD = ("latent", "prior_mmd")
TOTAL_CORRELATION = ("latent", "total_correlation")
WALL_SECONDS = ("wall_seconds",)
# The pseudo-row that holds the whole run's figures (its wall time).
RUN = "the run"

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
        rows: the rows compared, by name; ``"vae/gmm"`` is the vae row's figures with its gmm
            sampler (the row's ``samplers`` entry), for claims about (family, sampler) pairs.
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
        return {name: _lookup(_row(rows, name), self.metric) for name in self.rows}

    def judge(self, rows: Mapping[str, Any]) -> dict[str, Any]:
        """This target's record for a leaderboard's rows: value, wanted, met (``None``: skipped), shown."""
        figures = self.figures(rows)
        value = None if None in figures.values() else COMBINATIONS[self.combination](*figures.values())
        if value is None:
            return {"target": self.text, "value": None, "wanted": self.threshold, "met": None, "shown": "–"}
        return {"target": self.text, "value": value, "wanted": self.threshold,
                "met": COMPARISONS[self.comparison](value, self.threshold),
                "shown": self.shown.format(*figures.values(), value=value, **figures)}


def _row(rows: Mapping[str, Any], name: str) -> Any:
    """The row ``name``, or for ``"family/sampler"`` that family's figures with that sampler."""
    base, _, sampler = name.partition("/")
    row = rows.get(base)
    if sampler:
        row = (row.get("samplers") or {}).get(sampler) if isinstance(row, dict) else None
    return row


def _lookup(row: Any, path: tuple[str, ...]) -> Any:
    value = row
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


FD_ORDER_MISSED = ("A 10-component mixture fitted to the AE's training codes draws where codes really lie; the "
                   "VAE draws from its prior N(0, I), which also covers regions between the codes of real digits "
                   "that the decoder never learned to draw, so its samples are blurrier.")

def _fd_below(subject: str, reference: str, text: str) -> Target:
    """``subject`` draws closer to real digits (lower FD) than ``reference``."""
    return Target(text, FRECHET_DISTANCE, (reference, subject), "difference", ">", 0.0, "FD {1:.1f} vs {0:.1f}")


def _beats_median(model: str) -> Target:
    return Target(f"{model} beats the 3x3 median by >= 1 dB test PSNR", TEST_PSNR, (model, "median 3x3"),
                  "difference", ">=", 1.0, "{value:+.2f} dB")


# The families that the second growth of the zoo added, each held to the median + 1 dB.
NEW_FAMILIES = ("wae", "rae", "infovae", "btcvae", "vamp", "aae", "dncnn")

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
    _fd_below("rae/gmm", "vae/prior", "RAE with its mixture draws closer to real digits (FD) than the VAE's prior "
              "(the RAE paper's claim)"),
    _fd_below("wae/prior", "vae/prior", "WAE's prior samples are closer to real digits (FD) than the VAE's (the WAE "
              "paper's claim)"),
    Target("the VampPrior VAE's NLL is lower than the VAE's (the VampPrior paper's claim)", NLL, ("vae", "vamp"),
           "difference", ">", 0.0, "{vamp:.1f} vs {vae:.1f} nats"),
    *(_fd_below(f"{model}/gmm", f"{model}/prior", f"the Gaussian mixture beats the prior on FD for the {model}")
      for model in ("vae", "beta_vae", "iwae")),
    _fd_below("vae/two_stage", "vae/prior", "the two-stage sampler beats the prior on FD for the vae"),
    Target("β-TC-VAE's total correlation is lower than the β-VAE's at β = 4", TOTAL_CORRELATION,
           ("beta_vae", "btcvae"), "difference", ">", 0.0, "{btcvae:.2f} vs {beta_vae:.2f} nats"),
    Target("the AAE's codes are closer to N(0, I) (MMD²) than the AE's", PRIOR_MMD, ("ae", "aae"), "difference", ">",
           0.0, "{aae:.4f} vs {ae:.4f}"),
    Target("DnCNN beats the AE by >= 2 dB test PSNR", TEST_PSNR, ("dncnn", "ae"), "difference", ">=", 2.0,
           "{value:+.2f} dB"),
    Target("DnCNN is within 0.5 dB of the U-Net's test PSNR", TEST_PSNR, ("unet", "dncnn"), "difference", "<=", 0.5,
           "U-Net {value:+.2f} dB"),
    *(_beats_median(model) for model in NEW_FAMILIES),
    Target("the whole leaderboard takes <= 20 minutes", WALL_SECONDS, (RUN,), "value", "<=", 1200.0,
           "{value:.0f} s"),
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


__all__ = ["FD_ORDER_MISSED", "NEW_FAMILIES", "RUN", "TARGETS", "Target", "judge", "lines"]
