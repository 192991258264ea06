"""The data pipeline: shapes, ranges, fresh vs fixed noise, labels kept out, loaders and their errors."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib

import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import (
    GaussianNoise, MaskingNoise, SaltAndPepperNoise, carve_validation, load_dataset, load_folder, make_noise,
    normalize, test_dataset, test_pairs, training_dataset, validation_pairs,
)
from aezoo.datasets.idx import read_idx, write_idx
from aezoo.errors import UsageError


def first_batch(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    noisy, clean = next(iter(dataset))
    return noisy.numpy(), clean.numpy()


def test_embedded_split_is_fixed_stratified_real_mnist(embedded):
    assert embedded.train_images.shape == (4000, 28, 28) and embedded.test_images.shape == (1000, 28, 28)
    assert embedded.train_images.dtype == np.uint8
    assert np.bincount(embedded.test_labels).tolist() == [100] * 10
    assert np.bincount(embedded.train_labels).tolist() == [400] * 10
    # MNIST digits are bright strokes on black: the border is dark, the centre has ink.
    assert embedded.train_images[:, 0, :].mean() < 1 and embedded.train_images[:, 10:18, 10:18].mean() > 50
    assert np.array_equal(load_dataset("embedded").test_labels, embedded.test_labels)


def test_training_pairs_have_the_right_shape_range_and_targets(tiny_splits):
    noisy, clean = first_batch(training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 32, seed=1))
    assert noisy.shape == clean.shape == (32, 28, 28, 1)
    assert noisy.dtype == clean.dtype == np.float32
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0 and clean.min() >= 0.0 and clean.max() <= 1.0
    # The target is a clean training image, the input is visibly different from it.
    flat_train = normalize(tiny_splits.train_images).reshape(len(tiny_splits.train_images), -1)
    assert (np.abs(flat_train - clean[0].reshape(1, -1)).max(axis=1) < 1e-6).any()
    assert np.abs(noisy - clean).mean() > 0.1


def test_the_pipeline_carries_images_only(tiny_splits):
    spec = training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 8).element_spec
    assert [s.shape.as_list() for s in spec] == [[None, 28, 28, 1], [None, 28, 28, 1]]
    assert all(s.dtype == tf.float32 for s in spec)


def test_training_noise_is_fresh_each_epoch_but_reproducible(tiny_splits):
    dataset = training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 256, seed=3, shuffle=False)
    epoch1, clean1 = first_batch(dataset)
    epoch2, clean2 = first_batch(dataset)
    np.testing.assert_array_equal(clean1, clean2)
    assert np.abs(epoch1 - epoch2).mean() > 0.1
    again, _ = first_batch(training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 256, seed=3, shuffle=False))
    np.testing.assert_array_equal(epoch1, again)


def test_training_order_is_reshuffled_each_epoch(tiny_splits):
    dataset = training_dataset(tiny_splits.train_images, GaussianNoise(0.0), 256, seed=0)
    _, first = first_batch(dataset)
    _, second = first_batch(dataset)
    assert not np.array_equal(first, second)
    np.testing.assert_allclose(np.sort(first.ravel()), np.sort(second.ravel()))


def test_test_noise_is_fixed_by_the_seed_and_independent_of_batch_size(tiny_splits):
    noisy_a, clean = test_pairs(tiny_splits.test_images, GaussianNoise(0.5), seed=0)
    noisy_b, _ = test_pairs(tiny_splits.test_images, GaussianNoise(0.5), seed=0)
    np.testing.assert_array_equal(noisy_a, noisy_b)
    batched = np.concatenate([n.numpy() for n, _ in test_dataset(tiny_splits.test_images, GaussianNoise(0.5), 10)])
    np.testing.assert_array_equal(batched, noisy_a)
    twice = [np.concatenate([n.numpy() for n, _ in test_dataset(tiny_splits.test_images, GaussianNoise(0.5), 10)])
             for _ in range(2)]
    np.testing.assert_array_equal(*twice)
    other_seed, _ = test_pairs(tiny_splits.test_images, GaussianNoise(0.5), seed=1)
    assert np.abs(other_seed - noisy_a).mean() > 0.1
    assert clean.shape == (64, 28, 28, 1)


@pytest.mark.parametrize("noise, expected_changed", [
    (SaltAndPepperNoise(0.2), 0.2), (MaskingNoise(0.3), 0.3),
])
def test_impulse_noises_corrupt_the_requested_fraction(noise, expected_changed):
    images = tf.fill([64, 28, 28, 1], 0.5)
    noisy = noise(images, tf.constant([1, 2], tf.int64)).numpy()
    assert abs((noisy != 0.5).mean() - expected_changed) < 0.02
    assert set(np.unique(noisy)) <= {0.0, 0.5, 1.0}


def test_gaussian_noise_has_the_requested_std():
    images = tf.fill([64, 28, 28, 1], 0.5)
    noisy = GaussianNoise(0.1)(images, tf.constant([1, 2], tf.int64)).numpy()
    assert abs(noisy.std() - 0.1) < 0.005


@pytest.mark.parametrize("kind, strength, message", [
    ("gaussian", -0.1, "std must be a finite number >= 0"),
    ("salt_pepper", 1.5, r"fraction in \[0, 1\]"),
    ("mask", -0.2, r"fraction in \[0, 1\]"),
    ("speckle", None, "unknown noise 'speckle'"),
])
def test_bad_noise_arguments_raise_clear_errors(kind, strength, message):
    with pytest.raises(ValueError, match=message):
        make_noise(kind, strength)


def test_bad_batch_size_is_rejected(tiny_splits):
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        training_dataset(tiny_splits.train_images, GaussianNoise(), 0)


def test_idx_folder_round_trip_plain_and_gzip(tmp_path, tiny_splits):
    for name, array in [("train-images-idx3-ubyte.gz", tiny_splits.train_images),
                        ("train-labels-idx1-ubyte", tiny_splits.train_labels.astype(np.uint8)),
                        ("t10k-images-idx3-ubyte", tiny_splits.test_images),
                        ("t10k-labels-idx1-ubyte.gz", tiny_splits.test_labels.astype(np.uint8))]:
        write_idx(tmp_path / name, array)
    loaded = load_dataset("auto", data_dir=tmp_path)
    np.testing.assert_array_equal(loaded.train_images, carve_validation(tiny_splits).train_images)
    np.testing.assert_array_equal(loaded.test_labels, tiny_splits.test_labels)


def test_npz_folder(tmp_path, tiny_splits):
    np.savez(tmp_path / "mnist.npz", x_train=tiny_splits.train_images, y_train=tiny_splits.train_labels,
             x_test=tiny_splits.test_images, y_test=tiny_splits.test_labels)
    assert load_folder(tmp_path).train_images.shape == (256, 28, 28)


def save_npz(folder, splits, **replace):
    """``folder/mnist.npz`` of ``splits``, with arrays replaced by keyword (``x_train=...``)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"x_train": splits.train_images, "y_train": splits.train_labels,
              "x_test": splits.test_images, "y_test": splits.test_labels} | replace
    np.savez(folder / "mnist.npz", **arrays)
    return folder


def test_float_images_in_0_1_are_scaled_not_cast(tmp_path, tiny_splits):
    """Issue 20 case 1: float32 images in [0, 1] were cast to uint8 (all 0 or 1), near-blank digits."""
    folder = save_npz(tmp_path, tiny_splits, x_train=tiny_splits.train_images.astype(np.float32) / 255,
                      x_test=tiny_splits.test_images.astype(np.float64) / 255)
    loaded = load_folder(folder)
    np.testing.assert_array_equal(loaded.train_images, tiny_splits.train_images)
    np.testing.assert_array_equal(loaded.test_images, tiny_splits.test_images)
    # The IDX path takes the same rule: float IDX files in [0, 1] are scaled as well.
    idx = tmp_path / "idx"
    idx.mkdir()
    for name, array in [("train-images-idx3-ubyte", tiny_splits.train_images.astype(np.float32) / 255),
                        ("train-labels-idx1-ubyte", tiny_splits.train_labels.astype(np.uint8)),
                        ("t10k-images-idx3-ubyte", tiny_splits.test_images),
                        ("t10k-labels-idx1-ubyte", tiny_splits.test_labels.astype(np.uint8))]:
        write_idx(idx / name, array)
    np.testing.assert_array_equal(load_folder(idx).train_images, tiny_splits.train_images)


@pytest.mark.parametrize("images, message", [
    (lambda x: x.astype(np.float32), r"float32 values in \[0, 255\]; float pixels must be in \[0, 1\]; divide"),
    (lambda x: x.astype(np.float32) / 255 - 0.5, r"values in \[-0.5, 0.5\]"),
    (lambda x: np.where(x > 0, np.nan, 0).astype(np.float32), "NaN or infinity"),
    (lambda x: x.astype(np.int16) * 3, r"int16 values in \[0, 765\]; pixels must be 0-255"),
    (lambda x: x.astype(str), "of type <U"),
], ids=["float 0-255", "float centred", "nan", "int16 over 255", "strings"])
def test_images_of_another_range_or_type_are_refused_in_one_line(tmp_path, tiny_splits, images, message):
    folder = save_npz(tmp_path, tiny_splits, x_train=images(tiny_splits.train_images))
    with pytest.raises(UsageError, match=message) as refused:
        load_folder(folder)
    assert "mnist.npz (x_train): train images" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("labels, message", [
    (lambda y: np.where(np.arange(len(y)) == 3, 12, y), "train label 3 is 12, outside 0-9"),
    (lambda y: np.where(np.arange(len(y)) == 5, -1, y), "train label 5 is -1, outside 0-9"),
    (lambda y: y.astype(str), "train labels are of type <U"),
    (lambda y: np.array(["seven"] * len(y)), "train labels are of type <U"),
    (lambda y: y + 0.5, "not a whole number"),
    (lambda y: y > 4, "of type bool"),
], ids=["12", "-1", "digit strings", "words", "fractions", "bool"])
def test_labels_outside_the_classes_are_refused_before_training(tmp_path, tiny_splits, labels, message):
    """Issue 20 case 11: labels out of 0-9 trained, then crashed the analysis; strings gave a traceback."""
    folder = save_npz(tmp_path, tiny_splits, y_train=labels(tiny_splits.train_labels))
    with pytest.raises(UsageError, match=message):
        load_dataset("auto", data_dir=folder)
    idx = tmp_path / "idx"
    idx.mkdir()
    bad = tiny_splits.test_labels.astype(np.uint8).copy()
    bad[7] = 10
    for name, array in [("train-images-idx3-ubyte", tiny_splits.train_images),
                        ("train-labels-idx1-ubyte", tiny_splits.train_labels.astype(np.uint8)),
                        ("t10k-images-idx3-ubyte", tiny_splits.test_images), ("t10k-labels-idx1-ubyte", bad)]:
        write_idx(idx / name, array)
    with pytest.raises(UsageError, match=r"t10k-labels-idx1-ubyte: test label 7 is 10, outside 0-9"):
        load_folder(idx)


def test_labels_are_checked_against_the_class_names_in_memory_too(tiny_splits):
    with pytest.raises(UsageError, match="outside 0-9"):
        dataclasses.replace(tiny_splits, test_labels=tiny_splits.test_labels + 1)


def test_corrupt_and_missing_data_give_usage_errors(tmp_path, tiny_splits):
    with pytest.raises(UsageError, match="holds no data: expected MNIST-format IDX files"):
        load_dataset("auto", data_dir=tmp_path)
    with pytest.raises(UsageError, match="is not a folder"):
        load_dataset("auto", data_dir=tmp_path / "nowhere")
    truncated = tmp_path / "train-images-idx3-ubyte"
    write_idx(truncated, tiny_splits.train_images)
    truncated.write_bytes(truncated.read_bytes()[:-100])
    with pytest.raises(UsageError, match="truncated or corrupt"):
        read_idx(truncated)
    not_idx = tmp_path / "t10k-images-idx3-ubyte.gz"
    not_idx.write_bytes(gzip.compress(b"hello world"))
    with pytest.raises(UsageError, match="is not an IDX file"):
        read_idx(not_idx)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(UsageError, match="cannot read"):
        load_folder(tmp_path / "bad")


def test_unknown_dataset_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown dataset 'cifar'; choose one of auto, mnist"):
        load_dataset("cifar")


def test_auto_falls_back_to_the_embedded_set_offline(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("aezoo.datasets.sources._can_reach", lambda host, timeout, port=443: False)
    with caplog.at_level("WARNING", logger="aezoo"):
        splits = load_dataset("auto")
    assert splits.name == "embedded"
    assert "using the embedded set" in caplog.text
    with pytest.raises(UsageError, match="cannot be reached"):
        load_dataset("mnist")


def test_auto_uses_a_cached_full_mnist(monkeypatch, tmp_path, tiny_splits):
    (tmp_path / "datasets").mkdir()
    np.savez(tmp_path / "datasets" / "mnist.npz", x_train=tiny_splits.train_images, y_train=tiny_splits.train_labels,
             x_test=tiny_splits.test_images, y_test=tiny_splits.test_labels)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert load_dataset("auto").name == "mnist"


def test_embedded_splits_are_shuffled_so_any_prefix_holds_every_digit(embedded):
    assert len(np.unique(embedded.test_labels[:100])) == 10
    assert len(np.unique(embedded.train_labels[:256])) == 10


# ----------------------------------------------------------------------------- three splits

# sha256 of the embedded test images and of images + int64 labels, computed on the code before the
# validation split existed: carving a validation split must never move a test digit.
EMBEDDED_TEST_IMAGES_SHA256 = "faed8af19e703c14fb86ded7282226e534bad8fbb74d2264e03e7040929e2f11"
EMBEDDED_TEST_SPLIT_SHA256 = "cfa1adfc37c13618924c4fc4dd607047a5bde7ec5088e399328b58d7ba582bff"


def _rows(images: np.ndarray) -> list[bytes]:
    return sorted(image.tobytes() for image in images)


def test_the_embedded_test_split_never_moves():
    splits = load_dataset("embedded")
    assert hashlib.sha256(splits.test_images.tobytes()).hexdigest() == EMBEDDED_TEST_IMAGES_SHA256
    labels = splits.test_labels.astype(np.int64).tobytes()
    assert hashlib.sha256(splits.test_images.tobytes() + labels).hexdigest() == EMBEDDED_TEST_SPLIT_SHA256
    assert load_dataset("embedded", validation_fraction=0.3).test_images.tobytes() == splits.test_images.tobytes()


def test_validation_is_carved_from_training_stratified_and_disjoint(embedded):
    splits = load_dataset("embedded")
    assert splits.sizes() == {"train": 3600, "validation": 400, "test": 1000}
    assert np.bincount(splits.validation_labels).tolist() == [40] * 10
    assert np.bincount(splits.train_labels).tolist() == [360] * 10
    # Together the two are exactly the source's training images, each used once.
    assert _rows(np.concatenate([splits.train_images, splits.validation_images])) == _rows(embedded.train_images)
    train_rows = set(_rows(splits.train_images))
    assert not any(row in train_rows for row in _rows(splits.validation_images))
    assert len(np.unique(splits.validation_labels[:40])) == 10  # shuffled: any prefix holds every digit


def test_validation_split_is_fixed_whatever_the_seed_or_the_call(tiny_splits):
    from aezoo.config import TrainConfig
    from aezoo.training import prepare_splits

    first = carve_validation(tiny_splits, 0.1)
    again = prepare_splits(TrainConfig(seed=7), tiny_splits)
    np.testing.assert_array_equal(first.validation_images, again.validation_images)
    np.testing.assert_array_equal(first.train_images, again.train_images)
    assert prepare_splits(TrainConfig(), first) is first  # already three-way: used as it is
    counts = np.bincount(tiny_splits.train_labels, minlength=10)
    assert np.abs(np.bincount(first.validation_labels, minlength=10) - counts * 0.1).max() <= 0.5


def test_validation_noise_is_fixed_and_not_the_test_noise(tiny_splits):
    noise = GaussianNoise(0.5)
    first, _ = validation_pairs(tiny_splits.test_images, noise, seed=0)
    again, _ = validation_pairs(tiny_splits.test_images, noise, seed=0)
    as_test, _ = test_pairs(tiny_splits.test_images, noise, seed=0)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, as_test)


@pytest.mark.parametrize("fraction", [0, 0.5, -0.1, 1.2, float("nan"), True, "0.1"])
def test_a_bad_validation_fraction_is_a_usage_error(fraction, tiny_splits):
    from aezoo.config import TrainConfig

    with pytest.raises(UsageError, match=r"validation fraction must be a number in \(0, 0.5\)"):
        TrainConfig(validation_fraction=fraction).validate()
    with pytest.raises(UsageError, match="validation fraction"):
        carve_validation(tiny_splits, fraction)


def test_a_validation_split_is_not_carved_twice(tiny_splits):
    with pytest.raises(UsageError, match="already has a validation split"):
        carve_validation(carve_validation(tiny_splits))
    with pytest.raises(UsageError, match="either every split has labels or none has"):
        dataclasses.replace(tiny_splits, validation_images=tiny_splits.test_images)


# ----------------------------------------------------------------------------- labels, for conditional models


def test_labels_travel_with_their_images_only_when_given(tiny_splits):
    from aezoo.datasets import pairs_dataset

    images, labels = tiny_splits.train_images, tiny_splits.train_labels
    plain = training_dataset(images, GaussianNoise(0.5), 32, seed=1)
    assert not isinstance(plain.element_spec[0], tuple)  # images alone, as before
    (noisy, batch_labels), clean = next(iter(training_dataset(images, GaussianNoise(0.5), 32, seed=1, labels=labels)))
    assert batch_labels.dtype == tf.int32 and batch_labels.shape == (32,)
    # Shuffled together: each label is the class of its own clean image.
    flat = normalize(images).reshape(len(images), -1)
    for image, label in zip(clean.numpy(), batch_labels.numpy()):
        index = int(np.argmin(np.abs(flat - image.reshape(1, -1)).max(axis=1)))
        assert labels[index] == label
    # The same shuffle and noise as without labels: adding labels changes nothing else.
    plain_noisy, plain_clean = first_batch(plain)
    np.testing.assert_array_equal(plain_noisy, noisy.numpy())
    np.testing.assert_array_equal(plain_clean, clean.numpy())
    noisy_test, clean_test = test_pairs(tiny_splits.test_images, GaussianNoise(0.5))
    (_, held_labels), _ = next(iter(pairs_dataset(noisy_test, clean_test, 16, labels=tiny_splits.test_labels)))
    np.testing.assert_array_equal(held_labels.numpy(), tiny_splits.test_labels[:16])


def test_labels_must_be_one_integer_per_image(tiny_splits):
    with pytest.raises(ValueError, match=r"labels must be integers, one per image \(256\)"):
        training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 32, labels=tiny_splits.train_labels[:10])
    with pytest.raises(ValueError, match="labels must be integers"):
        training_dataset(tiny_splits.train_images, GaussianNoise(0.5), 32,
                         labels=tiny_splits.train_labels.astype(np.float32))
