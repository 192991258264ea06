"""Interpolation: decoded straight lines between two codes, and how evenly the image changes along them."""

from __future__ import annotations

from aezoo.models.capabilities import CONDITIONAL
from aezoo.report.parts import Column, Measure, Models, Row
from aezoo.report.records import ModelReport
from aezoo.report.words import Tie, inflect, listing, rank, ranked

# Jump ratios 5 % apart or less are "about the same".
JUMP_TIE = Tie(0.05, relative=True)
# With more models than this, the steps of each are left to its table.
DETAILED = 3


def rows(model: ModelReport) -> list[Row]:
    smooth = model.latent.interpolation
    cells = [("interpolation: mean step (mean |Δpixel|)", f"{smooth.mean_step:.4f}"),
             ("interpolation: largest step", f"{smooth.max_step:.4f}"),
             ("interpolation: jump ratio (1 = even)", f"{smooth.jump_ratio:.2f}")]
    if smooth.end_error is not None:
        cells.append(("interpolation: end error (decoded ends vs real images)", f"{smooth.end_error:.4f}"))
    return cells


COLUMNS = (Column("jump ratio", lambda model: f"{model.latent.interpolation.jump_ratio:.2f}"),)


def _details(model: ModelReport) -> str:
    s = model.latent.interpolation
    end = f", end error {s.end_error:.3f}" if s.end_error is not None else ""
    return f"{model.name}: mean step {s.mean_step:.4f}, largest step {s.max_step:.4f}, jump ratio {s.jump_ratio:.2f}{end}"


def paragraphs(models: Models, everyone: Models) -> list[str]:
    first = models[0].latent.interpolation
    details = f" ({'; '.join(_details(m) for m in models)})" if len(models) <= DETAILED else ""
    intro = (f"Interpolation smoothness, over {first.pairs} image pairs with {first.points_per_pair} decoded points "
             f"each{details}. ")
    caveat = (" The measure says how evenly the decoded image changes along the line, not whether the "
              "intermediate images look like the data; the strips show that.")
    switching = [m.name for m in models if m.has(CONDITIONAL)]
    if switching:
        caveat += (f" The strips of {listing(switching)} switch the class label halfway between two different "
                   "images, so their jump ratio includes that switch.")
    if len(models) < 2:
        return [intro + "A jump ratio of 1 would mean a perfectly even change." + caveat]
    return [intro + _verdict(models) + caveat]


def _verdict(models: Models) -> str:
    ratios = rank({m.name: m.latent.interpolation.jump_ratio for m in models}, JUMP_TIE, higher_is_better=False)
    if ratios.level:
        return ("They interpolate about equally smoothly: their jump ratios (largest step over the average step; "
                f"1 is perfectly even) are within {JUMP_TIE.amount:.0%} of each other.")
    degree = "more" if len(models) == 2 else "most"
    verdict = (f"By jump ratio (largest step over the average step; 1 is perfectly even, lower is smoother): "
               f"{ranked(ratios, '{:.2f}'.format)}. {listing(ratios.leaders)} "
               f"{inflect('interpolates', 'interpolate', len(ratios.leaders))} {degree} smoothly: the decoded images "
               "change more evenly, with smaller sudden jumps.")
    ends = {m.name: m.latent.interpolation.end_error for m in models}
    best, worst = ends[ratios.best], ends[ratios.worst]
    if best is not None and worst is not None and best > worst * (1 + JUMP_TIE.amount):
        verdict += (f" The decoded end points of {ratios.best} are, however, further from the real images than those "
                    f"of {ratios.worst} (end error {best:.3f} against {worst:.3f}), so its strips are also less "
                    "faithful to the two images they connect.")
    return verdict


def method(models: Models, everyone: Models) -> str:
    first = models[0].latent.interpolation
    labels = (" Models that need the class label encode each image with its true label; their strips decode the "
              "first half with the first image's label and the second half with the second's."
              if any(m.has(CONDITIONAL) for m in models) else "")
    chosen = ("alternating different-class and same-class, chosen by the seed from the labels only" if first.by_class
              else "chosen by the seed among all the images")
    return (f"Interpolation: {first.pairs} pairs {chosen} (the same for every model); step = mean absolute pixel "
            "difference between consecutive decoded images; end error = the same difference between the decoded "
            "ends (t = 0 and t = 1) and the two real images." + labels)


MEASURE = Measure("interpolation", columns=COLUMNS, rows=rows, figures=(("interpolation", "interpolation"),),
                  paragraphs=paragraphs, method=method)
