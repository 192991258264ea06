"""Numbers that say how well a latent space is organised, so a comparison rests on more than a picture.

* **k-NN accuracy** (5-fold cross-validation, k = 5): classify each image by the majority class of
  its 5 nearest neighbours in the embedding. High accuracy means images of the same class lie
  together, although the encoder never saw a label. Two baselines put it in perspective: the raw
  pixels (784 for MNIST), and a PCA of the pixels with as many dimensions as the embedding (the best *linear*
  code of that size). An encoder that beats PCA has learned something a projection cannot.
* **Silhouette score** by class, -1 to 1: for each point, how much closer it is to its own class
  than to the nearest other class (1: tight, separate classes; 0: overlapping; < 0: mixed up).
  Computed in the embedding itself and in the t-SNE map.
* **Trustworthiness** of the t-SNE map, 0 to 1: how far the map's 5 nearest neighbours of each
  point were its neighbours in the embedding too. Near 1, the clusters on the map are real.
* **KL per dimension** (VAE): the average ``KL(q(z_i|x) || N(0, 1))`` of each latent coordinate.
  A coordinate whose posterior equals the prior for every image carries no information about the
  image (KL near 0): it is *inactive*. Counting the others gives the **active units**.
* **Codebook usage** (vector-quantised models, measured by the model's ``codebook_usage``): the
  perplexity ``exp(entropy)`` of how often each code is chosen, i.e. how many codes are in
  effective use, and the dead codes that no image chooses.

Every function here takes plain arrays, so each can be checked on embeddings whose answer is
known (labels one-hot: perfect; random noise: chance).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

KNN_NEIGHBOURS = 5
KNN_FOLDS = 5
TRUSTWORTHINESS_NEIGHBOURS = 5
# A latent dimension whose average KL is below this many nats is counted as unused.
ACTIVE_KL_THRESHOLD = 0.01
# Burda et al. (2016): a dimension is active if its posterior mean varies across images by more than this.
ACTIVE_VARIANCE_THRESHOLD = 0.01


def knn_accuracy(features: np.ndarray, labels: np.ndarray, seed: int = 0, pca_dimensions: int | None = None,
                 neighbours: int = KNN_NEIGHBOURS, folds: int = KNN_FOLDS) -> dict[str, float]:
    """Cross-validated accuracy of a k-nearest-neighbour classifier on ``features``.

    Args:
        features: ``[n, d]`` one vector per image (embeddings, or flattened pixels).
        labels: ``[n]`` classes.
        seed: shuffles the folds; stratified, so each fold has every class in proportion.
        pca_dimensions: first project onto this many principal components. The PCA is fitted
            inside each training fold, so the held-out fold never influences its own features.
        neighbours, folds: k and the number of folds.

    Returns:
        ``{"accuracy": mean over folds, "std": standard deviation over folds}``.
    """
    features = np.asarray(features, dtype=np.float64).reshape(len(labels), -1)
    labels = np.asarray(labels)
    smallest = np.bincount(np.unique(labels, return_inverse=True)[1]).min()
    # StratifiedKFold needs every class in every fold; tiny test sets fall back to fewer folds.
    folds = max(2, min(folds, int(smallest)))
    classifier = KNeighborsClassifier(n_neighbors=min(neighbours, len(labels) - len(labels) // folds - 1))
    # A PCA has at most as many components as its (smallest) training fold has images: a 784-D grid
    # code's baseline analysed on a few hundred images is capped there.
    components = None if pca_dimensions is None else min(
        pca_dimensions, features.shape[1], len(labels) - -(-len(labels) // folds))
    model = classifier if components is None else make_pipeline(PCA(n_components=components, random_state=seed),
                                                                 classifier)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the least populated class has only ... members"
        scores = cross_val_score(model, features, labels, cv=splitter)
    result = {"accuracy": float(scores.mean()), "std": float(scores.std()), "folds": int(folds)}
    return result if components is None else result | {"dimensions": int(components)}


def chance_accuracy(labels: np.ndarray) -> float:
    """Accuracy of always guessing the most common class: what a space without class structure scores."""
    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    return float(counts.max() / counts.sum())


def class_silhouette(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette score (Euclidean) of the points grouped by class, in [-1, 1]."""
    features = np.asarray(features, dtype=np.float64).reshape(len(labels), -1)
    if not 2 <= len(np.unique(labels)) <= len(labels) - 1:
        raise ValueError("the silhouette score needs at least 2 classes and more points than classes")
    return float(silhouette_score(features, labels, metric="euclidean"))


def map_trustworthiness(embeddings: np.ndarray, points: np.ndarray,
                        neighbours: int = TRUSTWORTHINESS_NEIGHBOURS) -> float:
    """Trustworthiness of a 2-D map of ``embeddings`` (1: every map neighbour was a true neighbour)."""
    neighbours = min(neighbours, len(embeddings) // 2 - 1)  # scikit-learn requires k < n / 2
    return float(trustworthiness(np.asarray(embeddings, dtype=np.float64), points, n_neighbors=neighbours))


def kl_usage(kl_per_dimension: np.ndarray, posterior_means: np.ndarray) -> dict[str, Any]:
    """How much of the VAE's latent space is in use.

    Args:
        kl_per_dimension: ``[n, d]`` KL of each latent coordinate for each image, in nats.
        posterior_means: ``[n, d]`` the posterior means (the embeddings).

    Returns:
        ``kl_per_dimension`` (average over images), ``kl_total`` (their sum: the KL term of the
        loss, per image), ``active_units`` (dimensions above :data:`ACTIVE_KL_THRESHOLD` nats),
        ``active_dimensions`` (their indices) and ``active_units_variance`` (Burda et al.'s
        criterion: variance of the posterior mean above :data:`ACTIVE_VARIANCE_THRESHOLD`).
    """
    kl = np.asarray(kl_per_dimension, dtype=np.float64).mean(axis=0)
    variance = np.asarray(posterior_means, dtype=np.float64).var(axis=0)
    active = np.flatnonzero(kl > ACTIVE_KL_THRESHOLD)
    return {
        "kl_per_dimension": [float(v) for v in kl], "kl_total": float(kl.sum()),
        "active_units": int(len(active)), "active_dimensions": [int(i) for i in active],
        "active_threshold_nats": ACTIVE_KL_THRESHOLD, "dimensions": int(len(kl)),
        "active_units_variance": int(np.sum(variance > ACTIVE_VARIANCE_THRESHOLD)),
        "posterior_mean_variance": [float(v) for v in variance],
    }


def embedding_spread(embeddings: np.ndarray) -> dict[str, float]:
    """Scale of a code cloud: the per-dimension std (averaged) and the mean distance from the origin.

    The prior N(0, I) has std 1 and mean norm about sqrt(d); the VAE's KL term pulls its codes
    towards that, while a plain autoencoder's codes may sit at any scale and offset.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return {"mean_std": float(embeddings.std(axis=0).mean()),
            "mean_norm": float(np.linalg.norm(embeddings, axis=1).mean()),
            "mean_abs_centre": float(np.abs(embeddings.mean(axis=0)).mean())}


def embedding_metrics(embeddings: np.ndarray, labels: np.ndarray | None, points: np.ndarray,
                      seed: int = 0) -> dict[str, Any]:
    """The class-structure metrics of one embedding and its t-SNE map ``points``; without ``labels``
    only the map's trustworthiness and the codes' spread, which need no class."""
    by_class = {} if labels is None else {
        "knn_accuracy": knn_accuracy(embeddings, labels, seed=seed),
        "silhouette_embedding": class_silhouette(embeddings, labels),
        "silhouette_tsne": class_silhouette(points, labels),
    }
    return by_class | {"tsne_trustworthiness": map_trustworthiness(embeddings, points),
                       "spread": embedding_spread(embeddings)}


def pixel_baselines(images: np.ndarray, labels: np.ndarray, dimensions: int, seed: int = 0) -> dict[str, Any]:
    """k-NN accuracy and silhouette of the raw pixels, and k-NN accuracy of a ``dimensions``-D PCA.

    ``dimensions`` is the size of the *flattened* embedding it is compared with (a 7 x 7 x 16 grid:
    784, as many as the pixels; the PCA's ``dimensions`` says how many it could really use).
    """
    pixels = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    return {
        "knn_accuracy_pixels": knn_accuracy(pixels, labels, seed=seed),
        "knn_accuracy_pca": knn_accuracy(pixels, labels, seed=seed, pca_dimensions=dimensions) | {
            "requested_dimensions": int(dimensions)},
        "silhouette_pixels": class_silhouette(pixels, labels),
        "chance_accuracy": chance_accuracy(labels),
    }


__all__ = ["ACTIVE_KL_THRESHOLD", "ACTIVE_VARIANCE_THRESHOLD", "KNN_FOLDS", "KNN_NEIGHBOURS",
           "chance_accuracy", "class_silhouette", "embedding_metrics", "embedding_spread", "kl_usage",
           "knn_accuracy", "map_trustworthiness", "pixel_baselines"]
