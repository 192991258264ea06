"""The latent-space analysis: metrics that can fail, files on disk, the HTML report and the command.

The written comparison's words: tests/test_report.py."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from aezoo.analysis import interpolation, latent_metrics
from aezoo.analysis.tsne import tsne_map
from aezoo.datasets import ImageSplits
from tests.helpers import assert_usage_error

ANALYSED_IMAGES = 200  # enough for 5 folds of every class, small enough for a fast t-SNE


@pytest.fixture
def balanced_labels() -> np.ndarray:
    return np.repeat(np.arange(10), 40)


# ----------------------------------------------------------------------------- metrics


def test_one_hot_embedding_scores_perfectly(balanced_labels: np.ndarray) -> None:
    one_hot = np.eye(10)[balanced_labels]
    assert latent_metrics.knn_accuracy(one_hot, balanced_labels)["accuracy"] == pytest.approx(1.0)
    assert latent_metrics.class_silhouette(one_hot, balanced_labels) == pytest.approx(1.0)


def test_random_embedding_scores_near_chance(balanced_labels: np.ndarray, rng: np.random.Generator) -> None:
    noise = rng.normal(size=(len(balanced_labels), 10))
    accuracy = latent_metrics.knn_accuracy(noise, balanced_labels)["accuracy"]
    assert latent_metrics.chance_accuracy(balanced_labels) == pytest.approx(0.1)
    assert abs(accuracy - 0.1) < 0.07
    assert abs(latent_metrics.class_silhouette(noise, balanced_labels)) < 0.1


def test_pca_baseline_uses_requested_dimensions(balanced_labels: np.ndarray, rng: np.random.Generator) -> None:
    # Class information hidden in 2 of 50 noisy pixels: a 2-D PCA cannot be told which two matter.
    pixels = rng.normal(size=(len(balanced_labels), 50)) * 0.1
    pixels[:, :10] += np.eye(10)[balanced_labels] * 5.0
    result = latent_metrics.pixel_baselines(pixels, balanced_labels, dimensions=10)
    assert result["knn_accuracy_pca"]["dimensions"] == 10
    assert result["knn_accuracy_pca"]["accuracy"] > 0.95
    assert result["knn_accuracy_pixels"]["accuracy"] > 0.95


def test_trustworthiness_of_identity_map_is_one(rng: np.random.Generator) -> None:
    points = rng.normal(size=(100, 2))
    assert latent_metrics.map_trustworthiness(points, points) == pytest.approx(1.0)
    shuffled = rng.permutation(points)
    assert latent_metrics.map_trustworthiness(points, shuffled) < 0.7


def test_kl_usage_counts_active_units() -> None:
    kl = np.tile([1.5, 0.0005, 0.8, 0.0], (20, 1))
    means = np.zeros((20, 4))
    means[:, 0] = np.linspace(-2, 2, 20)
    usage = latent_metrics.kl_usage(kl, means)
    assert usage["active_units"] == 2 and usage["active_dimensions"] == [0, 2]
    assert usage["kl_total"] == pytest.approx(2.3005)
    assert usage["active_units_variance"] == 1


# ----------------------------------------------------------------------------- t-SNE and interpolation


def test_tsne_is_reproducible(rng: np.random.Generator) -> None:
    embeddings = rng.normal(size=(60, 5))
    first, second = tsne_map(embeddings, seed=3), tsne_map(embeddings, seed=3)
    assert first.shape == (60, 2)
    np.testing.assert_allclose(first, second)


def test_pairs_alternate_different_and_same_class(balanced_labels: np.ndarray) -> None:
    pairs = interpolation.choose_pairs(balanced_labels, 6, seed=1)
    assert pairs == interpolation.choose_pairs(balanced_labels, 6, seed=1)
    for index, (a, b) in enumerate(pairs):
        assert a != b
        assert (balanced_labels[a] == balanced_labels[b]) == (index % 2 == 1)


def test_smoothness_tells_a_fade_from_a_jump() -> None:
    start, end = np.zeros((28, 28, 1)), np.ones((28, 28, 1))
    fade = np.stack([(1 - t) * start + t * end for t in np.linspace(0, 1, 12)])
    jump = np.stack([start] * 6 + [end] * 6)
    even, sudden = interpolation.smoothness([fade]), interpolation.smoothness([jump])
    assert even["jump_ratio"] == pytest.approx(1.0)
    assert even["mean_step"] == pytest.approx(1 / 11)
    assert sudden["jump_ratio"] == pytest.approx(11.0)
    assert sudden["max_step"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- end to end


class _StrictHTML(HTMLParser):
    """Fails on a closing tag that does not match the open one; records every ``src``/``href``."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.links: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value or "" for name, value in attrs if name in ("src", "href")]
        self.images += tag == "img"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


@pytest.fixture(scope="module")
def analysed_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny run, analysed through the command line (``analyze RUN --images 200 --nll-samples 4``)."""
    from aezoo.commands import run_command

    run_dir = tmp_path_factory.mktemp("analysed") / "run"
    shutil.copytree(tiny_run, run_dir)
    assert run_command("analyze", [str(run_dir), "--images", str(ANALYSED_IMAGES), "--nll-samples", "4"]) == 0
    return run_dir


def test_analysis_writes_every_file(analysed_run: Path) -> None:
    for kind in ("ae", "vae"):
        folder = analysed_run / kind / "analysis"
        for name in ("tsne.png", "interpolation.png", "latent_metrics.json"):
            assert (folder / name).stat().st_size > 0, folder / name
    assert (analysed_run / "vae" / "analysis" / "prior_samples.png").is_file()
    assert (analysed_run / "vae" / "analysis" / "kl_per_dimension.png").is_file()
    assert not (analysed_run / "vae" / "analysis" / "latent_grid.png").exists()  # the tiny VAE is 4-D
    assert not list(analysed_run.rglob(".*.png")), "temporary files left behind"


def test_latent_metrics_are_in_range(analysed_run: Path) -> None:
    for kind in ("ae", "vae"):
        metrics = json.loads((analysed_run / kind / "analysis" / "latent_metrics.json").read_text())
        assert metrics["images"] == ANALYSED_IMAGES and metrics["embedding_dim"] == 4
        for key in ("knn_accuracy", "knn_accuracy_noisy_input", "knn_accuracy_pixels", "knn_accuracy_pca"):
            assert 0.0 <= metrics[key]["accuracy"] <= 1.0
        # Even two short epochs on 256 digits put same-class images together more often than chance.
        assert metrics["knn_accuracy"]["accuracy"] > metrics["chance_accuracy"] + 0.1
        for key in ("silhouette_embedding", "silhouette_tsne", "silhouette_pixels"):
            assert -1.0 <= metrics[key] <= 1.0
        assert 0.5 <= metrics["tsne_trustworthiness"] <= 1.0
        smooth = metrics["interpolation"]
        assert 0 < smooth["mean_step"] <= smooth["max_step"] <= 1 and smooth["jump_ratio"] >= 1
        assert smooth["points_per_pair"] >= 12
    usage = json.loads((analysed_run / "vae" / "analysis" / "latent_metrics.json").read_text())["latent_usage"]
    assert len(usage["kl_per_dimension"]) == 4 and min(usage["kl_per_dimension"]) >= 0
    assert 0 <= usage["active_units"] <= 4


def test_report_is_valid_self_contained_and_has_every_figure(analysed_run: Path) -> None:
    page = (analysed_run / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    parser = _StrictHTML()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed tags: {parser.stack}"
    assert all(link.startswith(("data:image/png;base64,", "#")) for link in parser.links), "external resource"
    assert "http://" not in page and "https://" not in page
    figures = [*analysed_run.glob("*.png"), *analysed_run.glob("*/analysis/*.png"),
               *analysed_run.glob("*/loss_curves.png")]
    for figure in figures:
        assert base64.b64encode(figure.read_bytes()).decode() in page, f"{figure} is not embedded"
    assert parser.images >= len(figures) + 2  # + the two reconstruction pictures
    for text in ("All models compared", "What the numbers say", "How the VAE samples", "jump ratio", "median 3x3"):
        assert text in page


def test_the_analysis_adds_its_phases_to_the_summary_and_the_report(analysed_run: Path, tiny_run: Path) -> None:
    trained = json.loads((tiny_run / "summary.json").read_text())["phases"]
    table = json.loads((analysed_run / "summary.json").read_text())["phases"]
    names = [row["phase"] for row in table]
    assert table[:len(trained) - 1] == trained[:-1], "the training rows are kept as they were"
    analysis = [row for row in table if row["part"] == "analysis"]
    assert {"analysis: ae", "analysis: vae", "generation: vae", "report"} <= {row["phase"] for row in analysis}
    assert names[-1] == "total" and names.count("analysis: ae") == 1
    moved = trained[-1]["seconds"] + sum(row["seconds"] for row in analysis)
    assert table[-1]["seconds"] == pytest.approx(moved, abs=0.05)
    page = (analysed_run / "report.html").read_text(encoding="utf-8")
    section = page[page.index("Where the time went"):]
    for row in table:  # the page shows the very rows summary.json keeps
        assert f"<td>{row['phase']}</td><td>{row['seconds']:.1f}</td>" in section


def test_analysing_again_replaces_the_analysis_phases(analysed_run: Path, tmp_path: Path) -> None:
    from aezoo.analysis import analyze_run

    run_dir = tmp_path / "run"
    shutil.copytree(analysed_run, run_dir)
    before = json.loads((run_dir / "summary.json").read_text())["phases"]
    analyze_run(run_dir, images=100, generation=False, progress=lambda line: None)
    after = json.loads((run_dir / "summary.json").read_text())["phases"]
    names = [row["phase"] for row in after]
    assert names.count("analysis: ae") == 1 and names.count("report") == 1 and names.count("total") == 1
    assert "generation: vae" not in names, "the earlier analysis's rows are gone, not kept beside the new ones"
    assert [row for row in after if row["part"] == "training"] == [row for row in before if row["part"] == "training"]


def test_analysis_of_a_single_model_run(tiny_run: Path, tmp_path: Path, embedded: ImageSplits) -> None:
    from aezoo.analysis import analyze_run

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir, ignore=shutil.ignore_patterns("vae"))
    # A shuffled test split, so that 100 images hold every digit whatever order the source has.
    order = np.random.default_rng(0).permutation(len(embedded.test_images))
    splits = dataclasses.replace(embedded, test_images=embedded.test_images[order],
                                 test_labels=embedded.test_labels[order])
    lines: list[str] = []
    report = analyze_run(run_dir, images=100, splits=splits, progress=lines.append)
    page = report.read_text(encoding="utf-8")
    assert "t-SNE" in page and "How the VAE samples" not in page
    assert any("t-SNE done" in line for line in lines)
    metrics = json.loads((run_dir / "ae" / "analysis" / "latent_metrics.json").read_text())
    assert metrics["chance_accuracy"] < 0.2 < metrics["knn_accuracy"]["accuracy"]
    assert not (run_dir / "vae").exists()


def test_analysis_refuses_a_single_class(tiny_run: Path, tmp_path: Path, embedded: ImageSplits) -> None:
    from aezoo.analysis import analyze_run
    from aezoo.errors import UsageError

    zeros = embedded.test_labels == 0
    splits = dataclasses.replace(embedded, test_images=embedded.test_images[zeros], test_labels=embedded.test_labels[zeros])
    with pytest.raises(UsageError, match="all of one class"):
        analyze_run(tiny_run, images=20, splits=splits)


@pytest.mark.parametrize("setup", ["missing", "empty", "config_only"])
def test_analyze_rejects_a_folder_without_models(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 setup: str) -> None:
    from aezoo.commands import run_command

    folder = tmp_path / "run"
    if setup != "missing":
        folder.mkdir()
    if setup == "config_only":
        (folder / "config.json").write_text("{}")
    message = {"missing": "does not exist", "empty": "not an aezoo run", "config_only": "no trained model"}[setup]
    line = assert_usage_error(run_command("analyze", [str(folder)]), capsys.readouterr().err, message,
                              absent=[folder / "report.html"])
    assert str(folder) in line


def test_unfinished_run_reloads_the_dataset_its_models_used(tiny_run: Path, tmp_path: Path) -> None:
    from aezoo.analysis.embeddings import load_analysis_data, read_records
    from aezoo.run_folder import RunFolder

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    (run_dir / "summary.json").unlink()  # as after an interruption between the two models
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps(config | {"dataset": "auto"}))  # "auto" must not be re-resolved
    data = load_analysis_data(read_records(RunFolder(run_dir)), images=150)
    assert data.dataset == "embedded" and len(data) == 150 and data.clean.shape == (150, 28, 28, 1)


def test_analyze_names_an_unfinished_model(tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           caplog: pytest.LogCaptureFixture) -> None:
    """A model folder without metrics.json did not finish: a warning beside finished models, else an error."""
    from aezoo.analysis.embeddings import check_run_dir
    from aezoo.commands import run_command

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    (run_dir / "ae" / "metrics.json").unlink()
    with caplog.at_level("WARNING", logger="aezoo"):
        assert check_run_dir(run_dir).models() == ["vae"]
    assert "ae did not finish (no metrics.json) and is left out; analysing vae" in caplog.text
    (run_dir / "vae" / "metrics.json").unlink()
    assert_usage_error(run_command("analyze", [str(run_dir)]), capsys.readouterr().err,
                       "its model(s) ae, vae did not finish (no metrics.json)", absent=[run_dir / "report.html"])
