"""Generative evaluation: how well a model models and generates digits.

* :mod:`~aezoo.evaluation.likelihood`: importance-sampled NLL, with the ELBO and the IWAE bound
  (the VAE family, conditional models through the same three-callable protocol);
* :mod:`~aezoo.evaluation.classifier`: the cached digit classifier every sample metric relies on;
* :mod:`~aezoo.evaluation.frechet`: Frechet distance (FD) of classifier features, with reference points;
* :mod:`~aezoo.evaluation.sample_quality`: class entropy, coverage, label accuracy, and FD in one call.

Plain functions on arrays and models: training, the report, the CLI and the leaderboard call
them; nothing here trains an autoencoder or writes a run folder. Names are imported lazily so
that importing the package does not load TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DigitClassifier": "aezoo.evaluation.classifier",
    "load_or_train_classifier": "aezoo.evaluation.classifier",
    "frechet_distance": "aezoo.evaluation.frechet",
    "reference_points": "aezoo.evaluation.frechet",
    "LatentVariableModel": "aezoo.evaluation.likelihood",
    "LikelihoodEstimate": "aezoo.evaluation.likelihood",
    "importance_sampled_nll": "aezoo.evaluation.likelihood",
    "latent_variable_model": "aezoo.evaluation.likelihood",
    "class_statistics": "aezoo.evaluation.sample_quality",
    "label_accuracy": "aezoo.evaluation.sample_quality",
    "score_samples": "aezoo.evaluation.sample_quality",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aezoo.evaluation' has no attribute {name!r}")
