"""What a generative model's own prior decodes into, as the analysis draws it (no figures measured)."""

from __future__ import annotations

from aezoo.report.parts import Measure

MEASURE = Measure("decoded prior draws", figures=(
    ("prior_samples", "images decoded from random codes z ~ N(0, I)"),
    ("latent_grid", "the 2-D latent space decoded on a grid"),
))
