"""Generative evaluation: importance-sampled NLL, Frechet distance, class statistics, classifier cache."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
import tensorflow_probability as tfp
from scipy.special import logsumexp
from scipy.stats import norm

from aezoo.models.capabilities import CONDITIONAL, GENERATIVE, LATENT_SPACE, LIKELIHOOD
from aezoo.evaluation import classifier as classifier_module
from aezoo.evaluation.frechet import add_noise, frechet_distance
from aezoo.evaluation.likelihood import LatentVariableModel, bernoulli_log_likelihood, importance_sampled_nll
from aezoo.evaluation.sample_quality import class_statistics, label_accuracy, score_samples
from tests.fixtures import TINY_HYPERPARAMETERS, subset

tfd = tfp.distributions

# A 1-D toy: z ~ N(0, 1), five grey "pixels" x_i ~ Bernoulli(sigmoid(w_i z + c_i)). The posterior is
# not Gaussian, and the proposal q below is deliberately off, so every bound has a visible gap.
W = np.array([2.0, -1.5, 3.0, 0.5, -2.5])
C = np.array([0.3, -0.2, 0.0, 1.0, 0.5])
X = np.array([[0.9, 0.1, 1.0, 0.7, 0.0], [0.0, 0.8, 0.2, 0.5, 1.0], [0.6, 0.4, 0.5, 0.9, 0.3]])


def toy_model(loc: float = 0.4, scale: float = 0.9) -> LatentVariableModel:
    def posterior(x):
        batch = tf.shape(x)[0]
        return tfd.MultivariateNormalDiag(loc=tf.fill([batch, 1], loc), scale_diag=tf.fill([batch, 1], scale))

    def log_likelihood(x, z):
        return bernoulli_log_likelihood(x, tf.sigmoid(z * W.astype(np.float32) + C.astype(np.float32)))

    return LatentVariableModel(posterior, lambda: tfd.MultivariateNormalDiag(loc=[0.0], scale_diag=[1.0]),
                               log_likelihood)


def exact_log_px(x: np.ndarray) -> np.ndarray:
    """log of the integral of p(z) p(x|z) over z, by the rectangle rule on a fine grid."""
    z = np.linspace(-12, 12, 200_001)
    y = np.clip(1 / (1 + np.exp(-(z[:, None] * W + C))), 1e-7, 1 - 1e-7)
    log_joint = norm.logpdf(z)[None] + np.sum(x[:, None] * np.log(y) + (1 - x[:, None]) * np.log(1 - y), axis=-1)
    return logsumexp(log_joint, axis=1) + np.log(z[1] - z[0])


def test_bounds_are_ordered_and_tighten_towards_the_exact_log_likelihood():
    exact = exact_log_px(X)
    copies = 2000  # each image scored many times: the mean over copies is the bound's expectation
    x = np.tile(X, (copies, 1)).astype(np.float32)
    expected_gap = {}
    for k in (1, 10, 100):
        estimate = importance_sampled_nll(toy_model(), x, samples=k, seed=1, batch_size=len(x))
        assert np.all(estimate.elbo <= estimate.iwae_bound + 1e-5)  # Jensen, draw by draw
        assert np.allclose(estimate.nll, -estimate.iwae_bound)
        gaps = exact - estimate.iwae_bound.reshape(copies, len(X))
        expected_gap[k], standard_error = gaps.mean(axis=0), gaps.std(axis=0) / np.sqrt(copies)
        # Below log p(x) in expectation; by K = 100 the gap is within the noise of 2000 copies.
        assert np.all(expected_gap[k] > (3 if k < 100 else -3) * standard_error)
        if k == 1:
            elbo_gap = exact - estimate.elbo.reshape(copies, len(X)).mean(axis=0)
            np.testing.assert_allclose(elbo_gap, expected_gap[1], rtol=1e-6)  # K = 1: IWAE is the ELBO
    assert np.all(expected_gap[1] > 0.5)  # this q is far from the true posterior
    assert np.all(expected_gap[10] < 0.5 * expected_gap[1]) and np.all(expected_gap[100] < 0.5 * expected_gap[10])
    many = importance_sampled_nll(toy_model(), X.astype(np.float32), samples=20_000, seed=1)
    np.testing.assert_allclose(many.iwae_bound, exact, atol=0.05)  # IWAE_K -> log p(x)
    assert np.all(many.elbo < exact - 0.5)  # while the ELBO keeps its gap, however many draws


def test_one_sample_iwae_is_the_elbo_and_draws_are_reproducible():
    x = X.astype(np.float32)
    one = importance_sampled_nll(toy_model(), x, samples=1, seed=3)
    np.testing.assert_allclose(one.elbo, one.iwae_bound, rtol=1e-6)
    again = importance_sampled_nll(toy_model(), x, samples=7, seed=3, batch_size=2)
    np.testing.assert_array_equal(again.iwae_bound, importance_sampled_nll(toy_model(), x, samples=7, seed=3,
                                                                           batch_size=2).iwae_bound)
    summary = again.summary()
    assert summary["nll"] == pytest.approx(-np.mean(again.iwae_bound)) and summary["nll_samples"] == 7


@pytest.mark.parametrize("samples", [0, -1, 2.5])
def test_fewer_than_one_sample_is_refused(samples):
    with pytest.raises(ValueError, match="samples"):
        importance_sampled_nll(toy_model(), X.astype(np.float32), samples=samples)


def test_vae_adapter_scores_real_digits_batched_or_not(tiny_splits):
    from aezoo.families import build

    model = build("vae", **TINY_HYPERPARAMETERS)
    model.build()
    images = tiny_splits.test_images[:6]
    whole = importance_sampled_nll(model, images, samples=4, seed=0)
    batched = importance_sampled_nll(model, images, samples=4, seed=0, batch_size=6)
    np.testing.assert_allclose(whole.iwae_bound, batched.iwae_bound, rtol=1e-5)
    assert whole.nll.shape == (6,) and np.all(whole.nll > 0) and np.all(whole.elbo <= whole.iwae_bound + 1e-4)


class ConditionalToy:
    """The smallest conditional model; it records the labels each part was given."""

    capabilities = frozenset({CONDITIONAL, LATENT_SPACE, GENERATIVE, LIKELIHOOD})

    def __init__(self):
        self.seen = {}

    def posterior(self, images, labels):
        self.seen["posterior"] = np.asarray(labels)
        loc = tf.cast(labels, tf.float32)[:, None] / 10.0
        return tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.ones_like(loc))

    def prior(self):
        return tfd.MultivariateNormalDiag(loc=[0.0], scale_diag=[1.0])

    def decode(self, z, labels):
        self.seen["decoder"] = np.asarray(labels)
        logits = z[:, :, None, None] + tf.cast(labels, tf.float32)[:, None, None, None] - 4.5
        return tf.sigmoid(tf.broadcast_to(logits, [tf.shape(z)[0], 28, 28, 1]))


def test_conditional_model_is_scored_given_its_labels(tiny_splits):
    images, labels = tiny_splits.test_images[:4], tiny_splits.test_labels[:4]
    model = ConditionalToy()
    right = importance_sampled_nll(model, (images, labels), samples=3, seed=0)
    # Both the posterior and the decoder see each image's own label (the decoder once per sample).
    np.testing.assert_array_equal(model.seen["posterior"], labels)
    np.testing.assert_array_equal(model.seen["decoder"], np.tile(labels, 3))
    wrong = importance_sampled_nll(model, (images, (labels + 5) % 10), samples=3, seed=0)
    assert right.nll.shape == (4,) and not np.allclose(right.nll, wrong.nll)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_noise(rng):
    features = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    distances = [frechet_distance(features, features + rng.normal(scale=s, size=features.shape))
                 for s in (0.1, 0.5, 2.0)]
    assert 0 < distances[0] < distances[1] < distances[2]


def test_frechet_distance_matches_the_closed_form_for_shifted_and_scaled_gaussians(rng):
    a = rng.normal(size=(20_000, 3))
    b = 2.0 * rng.normal(size=(20_000, 3)) + 1.0
    # |mu1 - mu2|^2 + trace(I + 4I - 2 * 2I) = 3 + 3
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)


def eigen_frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The same FD through symmetric eigendecompositions: tr (S1 S2)^1/2 = sum sqrt eig(S1^1/2 S2 S1^1/2)."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(s1)
    root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0, None)))
    diff = a.mean(axis=0) - b.mean(axis=0)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_root)


def test_frechet_distance_is_accurate_for_singular_covariances(rng):
    # 40 points in 32-d, 8 of the dimensions always zero (like dead ReLU units): singular covariances.
    a, b = rng.normal(size=(40, 32)), rng.normal(size=(40, 32)) * 1.5 + 0.2
    a[:, :8] = b[:, :8] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning about it
        distance = frechet_distance(a, b)
    assert distance == pytest.approx(eigen_frechet_distance(a, b), rel=1e-6)


def test_a_failed_square_root_is_retried_with_a_small_offset(rng, monkeypatch):
    a, b = rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 1
    expected = frechet_distance(a, b)
    real_sqrtm, calls = scipy.linalg.sqrtm, []

    def failing_once(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(scipy.linalg, "sqrtm", failing_once)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-4) and len(calls) == 2


def test_round_off_imaginary_parts_are_dropped_and_large_ones_recomputed(rng, monkeypatch):
    a, b = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
    expected, real_sqrtm = frechet_distance(a, b), scipy.linalg.sqrtm
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m: real_sqrtm(m) + 1e-9j)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    # A failed sqrtm (large imaginary part, wrong real part) is replaced by the eigendecomposition.
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m: 3 * real_sqrtm(m) + 0.5j)
    assert frechet_distance(a, b) == pytest.approx(eigen_frechet_distance(a, b), rel=1e-6)


def test_class_statistics_tell_confident_diverse_samples_from_collapsed_or_vague_ones():
    diverse = np.eye(10)[np.arange(100) % 10] * 0.99 + 0.001
    collapsed = np.eye(10)[np.zeros(100, int)] * 0.99 + 0.001
    vague = np.full((100, 10), 0.1)
    good, mode, blur = (class_statistics(p) for p in (diverse, collapsed, vague))
    assert good["coverage"] == 10 and mode["coverage"] == 1
    assert good["mean_entropy"] < 0.1 < np.log(10) - 1e-6 < blur["mean_entropy"] + 1e-6
    assert good["marginal_entropy"] == pytest.approx(np.log(10), abs=1e-3) and mode["marginal_entropy"] < 0.1
    assert good["classifier_score"] > 9 and mode["classifier_score"] < 1.1
    assert blur["classifier_score"] == pytest.approx(1)
    assert sum(good["class_shares"]) == pytest.approx(1.0)


def test_label_accuracy_counts_top_classes_that_match():
    probabilities = np.eye(10)[[1, 2, 3, 3]]
    assert label_accuracy(probabilities, [1, 2, 3, 4]) == 0.75


class PixelClassifier:
    """A stand-in classifier: features are pixel means of 4x4 blocks, class = brightest of 10 columns."""

    def features(self, images):
        return np.asarray(images, np.float64).reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)

    def probabilities(self, images):
        columns = np.asarray(images, np.float64).reshape(-1, 28, 28)[:, :, :10].sum(axis=1)
        return np.eye(10)[np.argmax(columns, axis=1)]

    def features_and_probabilities(self, images):
        return self.features(images), self.probabilities(images)


def test_score_samples_combines_class_statistics_fd_and_label_accuracy(rng):
    images = rng.random((50, 28, 28, 1)).astype(np.float32)
    labels = np.argmax(images[..., 0][:, :, :10].sum(axis=1), axis=1)
    scores = score_samples(PixelClassifier(), images, real_images=images, labels=labels)
    assert scores["frechet_distance"] == pytest.approx(0.0, abs=1e-9) and scores["label_accuracy"] == 1.0
    assert scores["coverage"] == class_statistics(PixelClassifier().probabilities(images))["coverage"]
    unconditional = score_samples(PixelClassifier(), images)
    assert "frechet_distance" not in unconditional and "label_accuracy" not in unconditional


def test_classifier_cache_is_reused_not_retrained(tmp_path, embedded, monkeypatch):
    splits = subset(embedded, 256, 64)
    first = classifier_module.load_or_train_classifier(splits, seed=5, directory=tmp_path, epochs=1)
    path = classifier_module.cache_path(splits.name, 5, tmp_path, classifier_module.fingerprint(splits))
    assert path.exists() and path.with_suffix(".json").exists()

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier was retrained")

    monkeypatch.setattr(classifier_module, "train_classifier", no_training)
    second = classifier_module.load_or_train_classifier(splits, seed=5, directory=tmp_path, epochs=1)
    images = splits.test_images[:8]
    np.testing.assert_allclose(second.probabilities(images), first.probabilities(images), rtol=1e-5, atol=1e-6)
    assert second.features(images).shape == (8, 128)
    features, probabilities = second.features_and_probabilities(images)  # one pass gives both views
    np.testing.assert_allclose(features, second.features(images), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities, second.probabilities(images), rtol=1e-5, atol=1e-6)
    assert second.test_accuracy == first.test_accuracy
    # Values computed from the cached classifier are kept beside it and read back, not recomputed.
    assert second.remember("points", lambda: {"floor": 3.5}) == {"floor": 3.5}
    assert classifier_module.load_or_train_classifier(splits, seed=5, directory=tmp_path).remember(
        "points", no_training) == {"floor": 3.5}
    # Other training images under the same name and seed are another classifier.
    with pytest.raises(AssertionError, match="retrained"):
        classifier_module.load_or_train_classifier(subset(embedded, 128, 64), seed=5, directory=tmp_path)


def test_cache_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_CACHE", str(tmp_path))
    assert classifier_module.cache_path("mnist", 3) == tmp_path / "classifiers" / "mnist-seed3.keras"


def test_noise_reference_points_move_away_from_real_features(rng):
    images = (rng.random((4, 28, 28)) * 255).astype(np.uint8)
    noisy = add_noise(images, 0.3, seed=1)
    assert noisy.shape == (4, 28, 28, 1) and noisy.min() >= 0 and noisy.max() <= 1
    np.testing.assert_array_equal(noisy, add_noise(images, 0.3, seed=1))


def test_package_exports_resolve():
    import aezoo.evaluation as evaluation

    for name in evaluation.__all__:
        assert callable(getattr(evaluation, name)), name
