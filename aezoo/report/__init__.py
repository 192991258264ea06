"""The run's HTML report, ``RUN/report.html``: one self-contained page comparing every model of a run.

::

    html.py       the HTML pieces, written once: escaping, embedded figures, tables, paragraphs, the page
    records.py    typed records of what the report reads (latent_metrics.json, metrics.json, summary.json)
    words.py      how several models are compared in prose: ranked and grouped, named as --model spells them
    parts.py      Measure: what one measure contributes (columns, rows, figures, paragraphs, method, section)
    measures/     the shared measures, one module each (class separation, t-SNE map, interpolation, ...),
                  and the generation, likelihood and timing sections
    page.py       ReportContext, the sections in order, the comparison table, each model's section

What only a family measures (the VAE lineage's KL per dimension, the VQ-VAE's codebook, the
conditional VAE's style transfer) is a :class:`~aezoo.report.parts.Measure` declared in the
family's ``analysis.py``; the report loops over what the families declare and never names one.
Training does not import this package: the analysis writes the report after training.
"""

from __future__ import annotations

from aezoo.report.page import SECTIONS, ReportContext, render_report, write_report, written_comparison

__all__ = ["SECTIONS", "ReportContext", "render_report", "write_report", "written_comparison"]
