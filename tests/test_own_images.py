"""The user's own images end to end: colour photographs without labels, and a labelled colour folder.

* Without labels (a subset of ``--dataset photos``): trained, then analysed by the command; what
  needs a class per image is skipped, and the report and ``summary.json`` say why in one sentence.
* With labels but not digits (class subfolders of two photographs' patches): the sample judge is
  trained on that folder's training split and cached under its fingerprint.
* The figures of their colour images are in colour (each drawing function: tests/test_colour_figures.py).
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from tests.fixtures import TINY_HYPERPARAMETERS, subset
from tests.helpers import TINY_TRAIN_FLAGS

ANALYSED = 64  # the subset's test images: all of them are analysed
# A pixel is coloured when its channels are more than this apart (of 255). Tiny models decode
# near-grey images, so what shows colour in these figures is the real photographs drawn beside them.
CHROMA = 20


def chromatic_share(path: Path) -> float:
    """How much of a saved picture is coloured: 0 for a picture drawn in grey (white, black, grey levels)."""
    from PIL import Image

    with Image.open(path) as picture:
        pixels = np.asarray(picture.convert("RGB")).astype(int)
    return float(((pixels.max(axis=-1) - pixels.min(axis=-1)) > CHROMA).mean())


def report_text(run_dir: Path) -> str:
    """The report's words: the page without its embedded pictures, style and tags."""
    page = (run_dir / "report.html").read_text()
    page = re.sub(r"<style>.*?</style>|<img [^>]*>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache of its own: the judges trained here stay out of the user's."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEZOO_CACHE", str(folder))
        yield folder


# ----------------------------------------------------------------------------- without labels


@pytest.fixture(scope="module")
def label_free_run(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    """Three tiny models trained on 256 photo patches; then ``python -m aezoo analyze RUN``, which
    reloads ``photos`` by name (its first 64 test images are the subset's)."""
    from aezoo.commands import run_command
    from aezoo.config import TrainConfig
    from aezoo.datasets.photos import load_photos
    from aezoo.training import train

    run_dir = tmp_path_factory.mktemp("photos") / "run"
    config = TrainConfig(models=("ae", "vae", "unet"), dataset="photos", epochs=1, batch_size=64,
                         learning_rate=3e-3, hyperparameters=dict(TINY_HYPERPARAMETERS))
    train(config, output=run_dir, verbose=0, splits=subset(load_photos("photos"), 256, ANALYSED))
    assert run_command("analyze", [str(run_dir), "--images", str(ANALYSED), "--nll-samples", "2"]) == 0
    return run_dir


def test_without_labels_the_report_says_why_once_and_shows_no_class_numbers(label_free_run: Path) -> None:
    from aezoo.analysis.embeddings import without_labels

    sentence = without_labels("photos")
    text = report_text(label_free_run)
    assert text.count(sentence) == 1
    rest = text.replace(sentence, "")  # the sentence names what is skipped; nothing else may
    for absent in ("5-NN", "silhouette", "FD", "Fréchet", "classes covered", "label accuracy", "no labels",
                   "digit"):
        assert absent not in rest, absent
    assert "trustworthiness" in rest and "NLL (nats)" in rest
    assert "chosen by the seed among all the images" in text


def test_without_labels_summary_records_why_and_nothing_judged(label_free_run: Path) -> None:
    from aezoo.analysis.embeddings import without_labels

    summary = json.loads((label_free_run / "summary.json").read_text())
    assert summary["without_labels"] == without_labels("photos")
    generation = summary["generation"]
    assert generation["classifier"] is None and generation["reference_points"] == {}
    assert {"ae", "vae"} <= generation["models"].keys()
    for scores in generation["models"].values():
        assert not {"frechet_distance", "mean_entropy", "coverage", "label_accuracy"} & scores.keys()
    assert generation["models"]["vae"]["likelihood"]["nll"] > 0  # the NLL needs no label


def test_without_labels_latent_metrics_keep_what_needs_no_class(label_free_run: Path) -> None:
    metrics = json.loads((label_free_run / "vae" / "analysis" / "latent_metrics.json").read_text())
    assert not [key for key in metrics if key.startswith(("knn_accuracy", "silhouette", "chance"))]
    assert 0 < metrics["tsne_trustworthiness"] <= 1
    assert metrics["interpolation"]["pairs_by_class"] is False
    assert "noiseless images" in metrics["images_used"]


def test_without_labels_the_figures_of_colour_images_are_in_colour(label_free_run: Path) -> None:
    from PIL import Image

    for figure in ("ae/reconstructions/epoch_001.png", "unet/reconstructions/epoch_001.png"):
        assert chromatic_share(label_free_run / figure) > 0.1, figure
    # The strips' real end images, beside red frames that alone cover well under 1 %.
    assert chromatic_share(label_free_run / "ae" / "analysis" / "interpolation.png") > 0.03
    for model in ("ae", "vae"):
        with Image.open(label_free_run / model / "analysis" / "generated_samples.png") as samples:
            assert samples.mode == "RGB"
    # One colour for a map without classes: grey points, no class colours.
    assert chromatic_share(label_free_run / "vae" / "analysis" / "tsne.png") == 0


def test_the_sample_command_keeps_colour(label_free_run: Path, tmp_path: Path) -> None:
    from PIL import Image

    from aezoo.commands import run_command

    grid, array = tmp_path / "samples.png", tmp_path / "samples.npy"
    for output in (grid, array):
        assert run_command("sample", [str(label_free_run / "vae"), "--n", "6", "--output", str(output)]) == 0
    with Image.open(grid) as picture:
        assert picture.mode == "RGB"
    assert np.load(array).shape == (6, 32, 32, 3)


def test_any_pairs_are_reproducible_and_never_an_image_with_itself() -> None:
    from aezoo.analysis.interpolation import choose_any_pairs

    pairs = choose_any_pairs(20, 100, seed=3)
    assert pairs == choose_any_pairs(20, 100, seed=3) and len(pairs) == 100
    assert all(a != b for a, b in pairs)
    assert len({tuple(sorted(pair)) for pair in pairs[:50]}) == 50  # new pairs while there are (190 of them)


# ----------------------------------------------------------------------------- labelled, not digits

PHOTOGRAPHS = ("astronaut", "coffee")  # one class each
PATCHES = 40  # per class


@pytest.fixture(scope="module")
def two_photographs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``two_photographs/<photograph>/NNN.png``: 32x32 colour patches, one class per photograph."""
    import skimage.data
    from PIL import Image

    from aezoo.datasets.photos import patches

    folder = tmp_path_factory.mktemp("data") / "two_photographs"
    for name in PHOTOGRAPHS:
        (folder / name).mkdir(parents=True)
        for index, patch in enumerate(patches(getattr(skimage.data, name)(), 32, "rgb")[:PATCHES]):
            Image.fromarray(patch).save(folder / name / f"{index:03d}.png")
    return folder


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory: pytest.TempPathFactory, two_photographs: Path, cache: Path) -> Path:
    """``python train.py --data-dir two_photographs --model ae,cvae``, analysis and generation included."""
    from aezoo.commands import run_command

    run_dir = tmp_path_factory.mktemp("labelled") / "run"
    assert run_command("train", ["--data-dir", str(two_photographs), "--model", "ae,cvae", "--epochs", "1",
                                 "--batch-size", "16", *TINY_TRAIN_FLAGS, "--output", str(run_dir)]) == 0
    return run_dir


def cached_judges(cache: Path) -> list[Path]:
    return sorted((cache / "classifiers").glob("two_photographs-seed0-*.keras"))


def test_the_judge_learns_the_folders_classes_and_is_cached_by_its_fingerprint(
        labelled_run: Path, two_photographs: Path, cache: Path) -> None:
    from aezoo.datasets import load_dataset
    from aezoo.evaluation.classifier import fingerprint
    from aezoo.generation import evaluate_run

    judges = cached_judges(cache)
    assert [path.name for path in judges] == [f"two_photographs-seed0-{fingerprint(load_dataset(data_dir=two_photographs))}.keras"]
    record = json.loads(judges[0].with_suffix(".json").read_text())
    assert record["dataset"] == "two_photographs" and 0 <= record["test_accuracy"] <= 1
    summary = json.loads((labelled_run / "summary.json").read_text())
    assert "without_labels" not in summary
    generation = summary["generation"]
    assert generation["classifier"]["test_accuracy"] == record["test_accuracy"]
    assert generation["reference_points"]
    assert generation["models"]["ae"]["frechet_distance"] >= 0
    assert generation["models"]["cvae"]["coverage"] <= len(PHOTOGRAPHS)
    assert 0 <= generation["models"]["cvae"]["label_accuracy"] <= 1
    # Scoring again reads the cached judge instead of training another.
    written = judges[0].stat().st_mtime_ns
    again = evaluate_run(labelled_run, nll_samples=2)
    assert again.classifier["test_accuracy"] == record["test_accuracy"]
    assert judges[0].stat().st_mtime_ns == written and cached_judges(cache) == judges


def test_a_labelled_colour_run_reports_classes_as_images_in_colour(labelled_run: Path) -> None:
    text = report_text(labelled_run)
    assert "5-NN accuracy" in text and "has no labels" not in text
    assert f"of {len(PHOTOGRAPHS)}" in text  # classes covered, out of the folder's classes
    assert "digit" not in text
    latent = json.loads((labelled_run / "ae" / "analysis" / "latent_metrics.json").read_text())
    assert latent["interpolation"]["pairs_by_class"] is True and latent["chance_accuracy"] > 0
    assert chromatic_share(labelled_run / "cvae" / "reconstructions" / "epoch_001.png") > 0.1
    assert chromatic_share(labelled_run / "cvae" / "analysis" / "interpolation.png") > 0.03


def test_a_colour_models_card_says_so(labelled_run: Path) -> None:
    card = (labelled_run / "ae" / "README.md").read_text()
    assert "32x32 colour (RGB) images like those it was trained on" in card
    assert "images like those of two_photographs" in card
    assert "digit" not in card.split("## How to load")[0] and "the way MNIST was made" not in card
