"""The user's own images as training data: folders of image files, arrays of any shape, image options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aezoo.datasets import load_dataset, training_dataset
from aezoo.datasets.image_files import ImageFiles
from aezoo.datasets.noise import GaussianNoise
from aezoo.datasets.photos import load_photos
from aezoo.errors import UsageError
from tests.helpers import assert_usage_error, run_python


def write_images(folder: Path, images: np.ndarray, prefix: str = "img", suffix: str = ".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        path = folder / f"{prefix}{index:03d}{suffix}"
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    """60 real 32x32 colour patches of offline photographs."""
    return load_photos("photos").train_images[:60]


def test_a_flat_folder_gives_images_without_labels_and_a_fixed_test_split(tmp_path, patches):
    write_images(tmp_path / "flat", patches)
    splits = load_dataset(data_dir=tmp_path / "flat", validation_fraction=0.1)
    assert splits.image_shape == (32, 32, 3) and not splits.has_labels and splits.class_names == ()
    assert splits.sizes() == {"train": 43, "validation": 5, "test": 12}  # 20% test, then 10% validation
    again = load_dataset(data_dir=tmp_path / "flat", validation_fraction=0.1)
    np.testing.assert_array_equal(splits.test_images, again.test_images)  # carved by a constant seed
    every = np.concatenate([splits.train_images, splits.validation_images, splits.test_images])
    assert sorted(map(bytes, every)) == sorted(map(bytes, patches))  # each image once, unchanged


def test_class_subfolders_give_sorted_class_names_and_stratified_splits(tmp_path, patches):
    write_images(tmp_path / "labelled" / "sky", patches[:30])
    write_images(tmp_path / "labelled" / "cat", patches[30:])
    splits = load_dataset(data_dir=tmp_path / "labelled", validation_fraction=0.1)
    assert splits.class_names == ("cat", "sky")  # alphanumeric, as Keras orders them
    assert np.bincount(splits.test_labels).tolist() == [6, 6]
    cat = {bytes(image) for image in patches[30:]}
    assert all((bytes(image) in cat) == (label == 0) for image, label in zip(splits.train_images, splits.train_labels))


def test_train_and_test_subfolders_are_the_splits(tmp_path, patches):
    write_images(tmp_path / "data" / "train" / "a", patches[:20])
    write_images(tmp_path / "data" / "train" / "b", patches[20:40])
    write_images(tmp_path / "data" / "test" / "a", patches[40:50])
    write_images(tmp_path / "data" / "test" / "b", patches[50:])
    splits = load_dataset(data_dir=tmp_path / "data", validation_fraction=0.1)
    assert splits.sizes()["test"] == 20 and len(splits.train_images) + len(splits.validation_images) == 40
    (tmp_path / "data" / "test" / "b").rename(tmp_path / "data" / "test" / "c")
    with pytest.raises(UsageError, match="train/ has classes \\['a', 'b'\\] but test/ has \\['a', 'c'\\]"):
        load_dataset(data_dir=tmp_path / "data")


def test_sizes_modes_and_fits(tmp_path, patches):
    write_images(tmp_path / "mixed", patches[:10])
    small = write_images(tmp_path / "mixed", np.stack([np.asarray(Image.fromarray(p).resize((16, 24))) for p in
                                                       patches[10:20]]), prefix="small")
    with pytest.raises(UsageError, match=f"{small[0].name} is 24x16 but .* is 32x32; .* need --image-size"):
        load_dataset(data_dir=tmp_path / "mixed")
    resized = load_dataset(data_dir=tmp_path / "mixed", image_size=(16, 16))
    assert resized.image_shape == (16, 16, 3)
    grey = load_dataset(data_dir=tmp_path / "mixed", image_size=(16, 16), color_mode="grayscale", fit="crop")
    assert grey.image_shape == (16, 16, 1)
    with pytest.raises(UsageError, match="--fit 'stretch'"):
        load_dataset(data_dir=tmp_path / "mixed", image_size=(16, 16), fit="stretch")


def test_grey_files_are_grey_and_can_be_made_rgb(tmp_path, embedded):
    digits = embedded.train_images[:12][..., None]
    write_images(tmp_path / "digits", digits)
    assert load_dataset(data_dir=tmp_path / "digits").image_shape == (28, 28, 1)
    rgb = load_dataset(data_dir=tmp_path / "digits", color_mode="rgb")
    assert rgb.image_shape == (28, 28, 3)
    np.testing.assert_array_equal(rgb.test_images[..., 0], rgb.test_images[..., 2])


def test_a_white_digit_on_transparency_stays_visible_in_training_data(tmp_path, embedded):
    digit = embedded.train_images[0]
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, digit  # white ink, opaque only where the digit is
    folder = tmp_path / "ink"
    folder.mkdir()
    for index in range(5):
        Image.fromarray(rgba, "RGBA").save(folder / f"d{index}.png")
    image = load_dataset(data_dir=folder).train_images[0][..., 0].astype(float)
    assert np.corrcoef(image.ravel(), digit.ravel())[0, 1] > 0.95  # the digit, light on dark


def test_bad_folders_are_refused_in_one_line_naming_the_file(tmp_path, patches):
    write_images(tmp_path / "broken", patches[:5])
    (tmp_path / "broken" / "zz.png").write_bytes(b"not a picture")
    with pytest.raises(UsageError, match="zz.png: cannot read image"):
        load_dataset(data_dir=tmp_path / "broken")
    write_images(tmp_path / "loose" / "cats", patches[:5])
    write_images(tmp_path / "loose", patches[5:7], prefix="stray")
    with pytest.raises(UsageError, match="beside class subfolders"):
        load_dataset(data_dir=tmp_path / "loose")
    write_images(tmp_path / "half" / "train", patches[:5])
    with pytest.raises(UsageError, match="has train/ but no test/"):
        load_dataset(data_dir=tmp_path / "half")


def test_arrays_of_any_shape_and_float_range(tmp_path, patches):
    np.save(tmp_path / "colour.npy", patches.astype(np.float32) / 255.0)
    splits = load_dataset(data_dir=tmp_path / "colour.npy")
    assert splits.image_shape == (32, 32, 3) and not splits.has_labels
    np.savez(tmp_path / "labelled.npz", images=patches[..., 0], labels=np.arange(60) % 3)
    labelled = load_dataset(data_dir=tmp_path / "labelled.npz")
    assert labelled.image_shape == (32, 32, 1) and labelled.class_names == ("0", "1", "2")
    np.save(tmp_path / "bad.npy", patches.astype(np.float32))  # 0-255 as floats
    with pytest.raises(UsageError, match="float pixels must be in \\[0, 1\\]; divide 0-255 pixels by 255"):
        load_dataset(data_dir=tmp_path / "bad.npy")


def test_image_files_beyond_the_memory_budget_stream_the_same_batches(tmp_path, patches, monkeypatch):
    write_images(tmp_path / "many", patches)
    in_memory = load_dataset(data_dir=tmp_path / "many")
    monkeypatch.setenv("AEZOO_MEMORY_BUDGET", "0")
    streamed = load_dataset(data_dir=tmp_path / "many")
    assert isinstance(streamed.train_images, ImageFiles) and isinstance(streamed.test_images, np.ndarray)
    np.testing.assert_array_equal(streamed.test_images, in_memory.test_images)
    noise = GaussianNoise(0.1)
    batches = [next(iter(training_dataset(s.train_images, noise, 8, seed=0, shuffle=False))) for s in (in_memory, streamed)]
    np.testing.assert_allclose(batches[0][1], batches[1][1], atol=1e-6)  # the same clean images
    np.testing.assert_allclose(batches[0][0], batches[1][0], atol=1e-6)  # the same noise


def test_a_size_the_models_cannot_take_is_one_line_and_nothing_is_written(tmp_path, patches):
    folder = tmp_path / "odd"
    write_images(folder, np.stack([np.asarray(Image.fromarray(p).resize((30, 30))) for p in patches[:10]]))
    done = run_python("train.py", ["--data-dir", folder, "--model", "ae", "--epochs", "1",
                                   "--output", tmp_path / "run"])
    assert_usage_error(done.returncode, done.stderr, "an image size of 30x30 cannot be taken", absent=[tmp_path / "run"])
    assert "nearest: 32x32" in done.stderr
