"""The prior sampler: codes drawn from the distribution the model was trained towards, p(z)."""

from __future__ import annotations

from typing import Any

from aezoo.models.capabilities import GENERATIVE
from aezoo.models.latent import stateless_seed
from aezoo.samplers.base import Sampler


class PriorSampler(Sampler):
    """Draws z ~ p(z) from the model's own prior (N(0, I) for the VAE family) and decodes it.

    Nothing is fitted: the KL term (or whatever regulariser the family has) trained the encoder
    towards this prior, so its draws should land where the decoder learned to draw. Where the
    posteriors leave holes in the prior, its draws decode to blurred in-between images; the
    Gaussian mixture sampler avoids those holes (Ghosh et al. 2020).
    """

    name = "prior"
    summary = "z ~ p(z), the prior the model was trained towards"
    requires = frozenset({GENERATIVE})

    def sample_codes(self, n: Any, seed: Any, labels: Any = None) -> Any:
        return self.model.prior().sample(n, seed=stateless_seed(seed))


__all__ = ["PriorSampler"]
