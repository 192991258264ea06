"""Generation for a run folder: fitting each model's sampler, drawing images, scoring them.

* :mod:`~aezoo.generation.sampling`: which sampler generates for a model (its family's default
  or ``--sampler``), fitted after training and saved in the model's folder;
* :mod:`~aezoo.generation.scoring`: FD, class statistics and NLL of every model of a run;
* :mod:`~aezoo.generation.pictures`: the grid of generated images.

The report's "Generation" section is written by :mod:`aezoo.report.measures.generation`.

A model plus a sampler generates (:mod:`aezoo.samplers`); nothing here changes a model.
"""

from __future__ import annotations

from aezoo.generation.pictures import SAMPLES_FIGURE, draw_samples
from aezoo.generation.sampling import choose_sampler, fit_sampler, load_sampler, why_not_generative
from aezoo.generation.scoring import (
    CLASSIFIER_SEED, NLL_IMAGES, SCORED_SAMPLES, RunGeneration, check_nll_samples, describe, evaluate_model,
    evaluate_run, likelihood_metrics, load_run_model, register_classes, run_splits,
)

__all__ = ["CLASSIFIER_SEED", "NLL_IMAGES", "SAMPLES_FIGURE", "SCORED_SAMPLES", "RunGeneration",
           "check_nll_samples", "choose_sampler", "describe", "draw_samples", "evaluate_model", "evaluate_run",
           "fit_sampler", "likelihood_metrics", "load_run_model", "load_sampler", "register_classes", "run_splits",
           "why_not_generative"]
