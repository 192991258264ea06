"""How good are generated digits? Judged by the cached digit classifier.

Three questions, each answered from the classifier (:mod:`aezoo.evaluation.classifier`):

* **Are they digits?** ``mean_entropy``: the mean entropy, in nats, of the classifier's
  prediction for each sample. Near 0: every sample looks clearly like *some* digit; near
  ``log 10 = 2.30``: the classifier cannot tell what they are (blobs, smudges).
* **Are they all ten digits?** ``marginal_entropy``: the entropy of the *mean* prediction, at most
  ``log 10`` when every class is generated equally often; ``coverage``: how many of the ten
  classes are the top prediction of at least ``min_share`` of the samples; ``class_shares``: that
  share per class. ``classifier_score = exp(marginal_entropy - mean_entropy)`` combines both the
  way the Inception score does (1 to 10; higher is better). It is an analogue computed with
  aezoo's own classifier, not an Inception score.
* **Do they have the digit they were asked for?** ``label_accuracy``: for a conditional model's
  ``sample(n, labels=y)``, the classifier's accuracy against ``y``.
* **Do they look like the real test digits as a whole?** ``frechet_distance`` (FD), see
  :mod:`aezoo.evaluation.frechet`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aezoo.evaluation.classifier import DigitClassifier
from aezoo.evaluation.frechet import frechet_distance

# A class counts as covered when it is the top prediction of at least this share of the samples:
# a fifth of the 10% it would get if all ten digits were generated equally often.
MIN_SHARE = 0.02


def _entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy in nats along the last axis (0 log 0 = 0)."""
    p = np.clip(probabilities, 0.0, 1.0)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def class_statistics(probabilities: Any, min_share: float = MIN_SHARE) -> dict[str, Any]:
    """Confidence and coverage of samples from their class probabilities ``[N, classes]``."""
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2 or len(probabilities) == 0:
        raise ValueError(f"probabilities must be [N >= 1, classes >= 2], got {list(probabilities.shape)}")
    mean_entropy = float(np.mean(_entropy(probabilities)))
    marginal_entropy = float(_entropy(probabilities.mean(axis=0)))
    shares = np.bincount(np.argmax(probabilities, axis=1), minlength=probabilities.shape[1]) / len(probabilities)
    return {
        "mean_entropy": mean_entropy,
        "marginal_entropy": marginal_entropy,
        "classifier_score": float(np.exp(marginal_entropy - mean_entropy)),
        "coverage": int(np.sum(shares >= min_share)),
        "class_shares": [float(share) for share in shares],
    }


def label_accuracy(probabilities: Any, labels: Any) -> float:
    """Share of samples whose top class is the label they were generated for."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels).reshape(-1)
    if len(probabilities) != len(labels):
        raise ValueError(f"{len(probabilities)} samples but {len(labels)} labels")
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def score_samples(classifier: DigitClassifier, samples: Any, real_images: Any | None = None,
                   labels: Any | None = None, min_share: float = MIN_SHARE,
                   real_features: np.ndarray | None = None) -> dict[str, Any]:
    """Every sample-quality metric of ``samples`` (images ``[N, 28, 28(, 1)]`` in [0, 1] or uint8).

    Args:
        classifier: the cached digit classifier.
        samples: generated images.
        real_images: real test images to measure the FD against; use as many as there are
            samples (FD depends on the number), and the same ones for every model.
        labels: the classes a conditional model was asked for; adds ``label_accuracy``.
        real_features: the classifier's features of ``real_images``, if already computed (the
            same test images are compared with every model's samples).
    """
    compare = real_images is not None or real_features is not None
    if compare:
        features, probabilities = classifier.features_and_probabilities(samples)
    else:
        probabilities = classifier.probabilities(samples)
    metrics = class_statistics(probabilities, min_share=min_share)
    if compare:
        real = classifier.features(real_images) if real_features is None else real_features
        metrics["frechet_distance"] = frechet_distance(features, real)
    if labels is not None:
        metrics["label_accuracy"] = label_accuracy(probabilities, labels)
    return metrics
