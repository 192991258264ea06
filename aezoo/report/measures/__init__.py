"""The measures every model with a latent space has, one module each, in the order the report shows them.

Each module holds everything the report says about its measure: comparison-table columns, rows of a
model's table, the figures it shows, its paragraph of the written comparison and its method note
(a :class:`aezoo.report.parts.Measure`). Measures only some families have live in those families'
``analysis.py``. Generation and likelihood, and the phase table, are sections of their own.
"""

from __future__ import annotations

from aezoo.report.measures import embedding, interpolation, prior_samples, separation, timing, tsne_map
from aezoo.report.parts import Measure

#: Before the families' own measures.
SHARED: tuple[Measure, ...] = (embedding.MEASURE, separation.MEASURE, tsne_map.MEASURE, interpolation.MEASURE,
                               prior_samples.MEASURE)
#: After them.
CLOSING: tuple[Measure, ...] = (timing.MEASURE,)

__all__ = ["CLOSING", "SHARED"]
