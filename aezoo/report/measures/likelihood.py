"""The importance-sampled negative log-likelihood of clean test images, for models that have one."""

from __future__ import annotations

from typing import Mapping

from aezoo.report.html import DASH, number
from aezoo.report.records import GenerationScores
from aezoo.report.words import Tie, rank, ranked

HEADER = ("NLL (nats)", "IWAE bound", "ELBO")
# No tolerance is claimed for the NLL: models are ranked by every difference.
NLL_TIE = Tie(0.0)


def cells(scores: GenerationScores) -> tuple[str, ...]:
    if scores.likelihood is None:
        return (DASH,) * len(HEADER)
    nll = scores.likelihood
    return number(nll.nll, ".2f"), number(nll.iwae_bound, ".2f"), number(nll.elbo, ".2f")


def nll_sentence(models: Mapping[str, GenerationScores]) -> str:
    """The unconditional models ranked by NLL (conditional ones estimate another quantity, -log p(x | y))."""
    nll = {name: s.likelihood.nll for name, s in models.items() if s.likelihood and not s.likelihood.conditional}
    if len(nll) < 2:
        return ""
    ranking = rank(nll, NLL_TIE, higher_is_better=False)
    return f"By NLL (nats per image, lower is better), among the unconditional models: {ranked(ranking, '{:.2f}'.format)}."


def note(nll_samples: int, colour: bool = False) -> str:
    """How the NLL was estimated; ``colour``: the images are RGB (one Bernoulli per pixel and channel)."""
    levels = "each pixel's red, green and blue levels" if colour else "grey levels"
    short = "colour levels" if colour else "grey levels"
    return (f"The NLL is -log p(x) in nats per clean test image (for a conditional model -log p(x | y)), estimated "
            f"with K = {nll_samples} importance samples from q(z|x) under the likelihood the models train with, a "
            f"Bernoulli on {levels}; the ELBO and the K-sample IWAE bound are lower bounds on log p(x) (ELBO <= "
            "IWAE bound <= log p). These numbers are comparable within aezoo (same images, same likelihood, same K) but "
            "not with pythae's binarised-MNIST figures (quoted in docs/generation.md), which score 0/1 images of "
            f"the full 10,000-image test set, on which the Bernoulli is a normalised density, while {short} "
            "under a Bernoulli are not.")
