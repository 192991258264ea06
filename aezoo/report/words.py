"""How the report writes about several models at once: ranked and grouped, as a person would.

A comparison of seven models must not read "the a beats it and the b beats it and the c beats
it": models are ranked by the figure, grouped (those level with the best lead, those level with
the worst trail, the rest follow) and each group is named once. A model is named as ``--model``
spells it (``beta_vae``), never re-cased.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

Show = Callable[[float], str]


def listing(items: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def inflect(singular: str, plural: str, count: int) -> str:
    """The verb (or noun) that agrees with ``count`` subjects."""
    return singular if count == 1 else plural


@dataclasses.dataclass(frozen=True)
class Tie:
    """How far apart two figures may be and still be called level.

    ``relative``: a share of the smaller figure (5 % apart or less); otherwise an absolute
    difference, and level means strictly less than it (1 percentage point of accuracy). Equal
    figures are always level, so ``Tie(0.0)`` ranks by every difference.
    """

    amount: float
    relative: bool = False

    def level(self, a: float, b: float) -> bool:
        gap = abs(a - b)
        return gap == 0 or (gap <= self.amount * min(abs(a), abs(b)) if self.relative else gap < self.amount)


@dataclasses.dataclass(frozen=True)
class Ranking:
    """Names ordered best first, split into leaders, the middle and trailers (see :func:`rank`)."""

    values: Mapping[str, float]
    leaders: tuple[str, ...]
    middle: tuple[str, ...]
    trailers: tuple[str, ...]

    @property
    def level(self) -> bool:
        """Every name is level with the best."""
        return not self.middle and not self.trailers

    @property
    def order(self) -> tuple[str, ...]:
        return self.leaders + self.middle + self.trailers

    @property
    def best(self) -> str:
        return self.leaders[0]

    @property
    def worst(self) -> str:
        return self.order[-1]


def rank(values: Mapping[str, float], tie: Tie, higher_is_better: bool = True) -> Ranking:
    """Leaders: level with the best; trailers: level with the worst (and not leaders); the middle: the rest.

    Equal figures keep the order of ``values`` (the run's order).
    """
    if not values:
        raise ValueError("nothing to rank")
    order = sorted(values, key=lambda name: values[name], reverse=higher_is_better)
    best, worst = values[order[0]], values[order[-1]]
    leaders = tuple(name for name in order if tie.level(values[name], best))
    trailers = tuple(name for name in order if name not in leaders and tie.level(values[name], worst))
    middle = tuple(name for name in order if name not in leaders and name not in trailers)
    return Ranking(dict(values), leaders, middle, trailers)


def named(names: Sequence[str], values: Mapping[str, float], show: Show) -> str:
    """``"ae 93.0% and vae 85.0%"``: each name with its figure."""
    return listing([f"{name} {show(values[name])}" for name in names])


def ranked(ranking: Ranking, show: Show) -> str:
    """``"ae 90.1% and iwae 89.9% lead; vae 85.0% follows; cvae trails at 56.5%"``."""
    values = ranking.values
    parts = [f"{named(ranking.leaders, values, show)} {inflect('leads', 'lead', len(ranking.leaders))}"]
    if ranking.middle:
        parts.append(f"{named(ranking.middle, values, show)} {inflect('follows', 'follow', len(ranking.middle))}")
    if len(ranking.trailers) == 1:
        parts.append(f"{ranking.trailers[0]} trails at {show(values[ranking.trailers[0]])}")
    elif ranking.trailers:
        parts.append(f"{named(ranking.trailers, values, show)} trail")
    return "; ".join(parts)


def span(values: Mapping[str, float], show: Show, most_listed: int = 3) -> str:
    """A few figures named one by one; more as their range: ``"0.93 (cvae) to 0.97 (ae)"``."""
    if len(values) <= most_listed:
        return named(list(values), values, show)
    low, high = min(values, key=lambda n: values[n]), max(values, key=lambda n: values[n])
    if show(values[low]) == show(values[high]):
        return f"{show(values[low])} for every one"
    return f"{show(values[low])} ({low}) to {show(values[high])} ({high})"


def percent(value: float) -> str:
    return f"{value:.1%}"


__all__ = ["Ranking", "Show", "Tie", "inflect", "listing", "named", "percent", "rank", "ranked", "span"]
