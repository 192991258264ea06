"""The analysis with the zoo's families: no latent sections without a latent space, grid codes,
label-aware codes and style transfer, codebook usage, and a report that stays readable with many models."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from aezoo.analysis import analyze_model, interpolation
from aezoo.analysis.embeddings import AnalysisData, decode, embed
from aezoo.families.cvae.analysis import style_transfer
from aezoo.datasets import GaussianNoise, ImageSplits, test_pairs
from aezoo.families import build
from tests.fixtures import TINY_HYPERPARAMETERS, tiny_code_prior
from tests.helpers import run_python
from tests.test_analysis import _StrictHTML

IMAGES = 100


def tiny(name: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = build(name, **{**TINY_HYPERPARAMETERS, "seed": 0})
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.build()
    return model


@pytest.fixture(scope="module")
def shuffled(embedded: ImageSplits) -> ImageSplits:
    """The embedded digits with the test split shuffled, so the first 100 hold every class."""
    order = np.random.default_rng(0).permutation(len(embedded.test_images))
    return dataclasses.replace(embedded, test_images=embedded.test_images[order],
                               test_labels=embedded.test_labels[order])


@pytest.fixture(scope="module")
def analysis_data(shuffled: ImageSplits) -> AnalysisData:
    noisy, clean = test_pairs(shuffled.test_images[:IMAGES], GaussianNoise(0.5))
    return AnalysisData(clean=clean, noisy=noisy, labels=shuffled.test_labels[:IMAGES].astype("int64"),
                        class_names=tuple(shuffled.class_names), dataset="embedded")


@pytest.fixture(scope="module")
def cvae(tiny_splits: ImageSplits) -> keras.Model:
    """A tiny conditional VAE fitted for a few steps on ``((noisy, labels), clean)``."""
    model = tiny("cvae")
    noisy, clean = test_pairs(tiny_splits.train_images[:128], GaussianNoise(0.5))
    model.fit((noisy, tiny_splits.train_labels[:128].astype("int32")), clean, batch_size=32, epochs=2, verbose=0)
    return model


@pytest.fixture(scope="module")
def zoo_run(tmp_path_factory: pytest.TempPathFactory, tiny_splits: ImageSplits, shuffled: ImageSplits) -> Path:
    """A run of an autoencoder, a VQ-VAE and a U-Net (1 tiny epoch, a tiny code prior), analysed on
    100 test digits, generation scored on 100 samples."""
    from aezoo.analysis import analyze_run
    from aezoo.config import TrainConfig
    from aezoo.training import train

    run_dir = tmp_path_factory.mktemp("zoo") / "run"
    config = TrainConfig(models=("ae", "vqvae", "unet"), dataset="embedded", epochs=1, batch_size=32,
                         learning_rate=3e-3, hyperparameters=dict(TINY_HYPERPARAMETERS))
    with tiny_code_prior():
        train(config, output=run_dir, verbose=0, splits=tiny_splits)
    analyze_run(run_dir, images=IMAGES, splits=shuffled, generation={"samples": IMAGES, "nll_samples": 4})
    return run_dir


# ----------------------------------------------------------------------------- grid codes


def test_grid_codes_are_flattened_and_interpolate_between_grids(analysis_data: AnalysisData) -> None:
    model = tiny("vqvae")
    images = analysis_data.clean[:6]
    flat = embed(model, images)
    assert flat.shape == (6, 7 * 7 * 4)
    np.testing.assert_allclose(flat.reshape(6, 7, 7, 4), np.asarray(model.encode(images)), rtol=1e-6)
    np.testing.assert_allclose(decode(model, flat), np.asarray(model.denoise(images)), atol=1e-6)
    strip = interpolation.interpolate(model, flat[0], flat[1], points=5)
    assert strip.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(strip[[0, -1]], np.asarray(model.denoise(images[:2])), atol=1e-6)


# ----------------------------------------------------------------------------- labels


def test_a_conditional_model_encodes_with_the_labels(cvae: keras.Model, analysis_data: AnalysisData) -> None:
    images, labels = analysis_data.clean[:20], analysis_data.labels[:20]
    codes = embed(cvae, images, labels)
    np.testing.assert_allclose(codes, np.asarray(cvae.encode(images, labels.astype("int32"))), rtol=1e-6)
    assert not np.allclose(codes, embed(cvae, images, (labels + 1) % 10), atol=1e-4)
    with pytest.raises(ValueError, match="is conditional: it needs a label per image"):
        embed(cvae, images)


def test_style_transfer_decodes_one_code_with_every_label(cvae: keras.Model, analysis_data: AnalysisData) -> None:
    codes = embed(cvae, analysis_data.clean[:3], analysis_data.labels[:3])
    grid = style_transfer(cvae, codes, [0, 2], classes=10)
    assert grid.shape == (2, 10, 28, 28, 1)
    for row, index in enumerate([0, 2]):
        for label in (0, 7):
            expected = cvae.decode(codes[index:index + 1].astype("float32"), np.array([label], dtype="int32"))
            np.testing.assert_allclose(grid[row, label], np.asarray(expected)[0], atol=1e-6)
    assert np.abs(grid[0, 0] - grid[0, 7]).mean() > 1e-3  # the label, not only the code, shapes the digit


def test_conditional_model_analysis(cvae: keras.Model, analysis_data: AnalysisData, tmp_path: Path) -> None:
    metrics = analyze_model(cvae, "cvae", analysis_data, tmp_path, seed=0, progress=lambda line: None)
    assert metrics["needs_labels"] and (tmp_path / "style_transfer.png").stat().st_size > 0
    assert metrics["figures"]["style_transfer"] == tmp_path / "style_transfer.png"
    assert len(metrics["latent_usage"]["kl_per_dimension"]) == 4  # KL of the codes given the labels
    assert json.loads((tmp_path / "latent_metrics.json").read_text())["knn_accuracy"]["accuracy"] >= 0


# ----------------------------------------------------------------------------- a run of several families


def test_a_model_without_latent_space_gets_no_latent_files_and_one_sentence(zoo_run: Path) -> None:
    assert not (zoo_run / "unet" / "analysis").exists()
    page = (zoo_run / "report.html").read_text(encoding="utf-8")
    section = page.split('id="model-unet"')[1]
    assert re.search(r'<p class="skip">unet has no latent space: [^<]*latent sections are skipped\.</p>', section)
    assert page.count('class="skip"') == 1  # only the U-Net is skipped
    for kind in ("ae", "vqvae"):
        assert (zoo_run / kind / "analysis" / "tsne.png").is_file()


def test_grid_model_metrics_and_codebook(zoo_run: Path) -> None:
    metrics = json.loads((zoo_run / "vqvae" / "analysis" / "latent_metrics.json").read_text())
    assert metrics["embedding_shape"] == [7, 7, 4] and metrics["embedding_dim"] == 196
    # The PCA baseline is sized to the flattened code, capped by the 80 images of a training fold.
    assert metrics["knn_accuracy_pca"]["requested_dimensions"] == 196
    assert metrics["knn_accuracy_pca"]["dimensions"] == 80
    book = metrics["codebook"]
    assert 1.0 <= book["perplexity"] <= book["num_codes"] == 64
    assert book["dead_codes"] == 64 - book["used_codes"] and sum(book["counts"]) == IMAGES * 49
    assert (zoo_run / "vqvae" / "analysis" / "codebook_usage.png").is_file()
    assert "latent_usage" not in metrics


def test_report_has_one_comparison_table_then_a_section_per_model(zoo_run: Path) -> None:
    page = (zoo_run / "report.html").read_text(encoding="utf-8")
    parser = _StrictHTML()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    tables = re.findall(r"<table>.*?</table>", page, flags=re.S)
    assert not any("<img" in table for table in tables), "pictures in a table"
    comparison = [t for t in tables if "<th>model</th>" in t]  # models as rows: the one comparison table
    assert len(comparison) == 1
    rows = re.findall(r"<tr><td>([^<]*)</td>", comparison[0])
    assert rows == ["noisy input", "median 3x3", "non-local means", "total variation", "ae", "vqvae", "unet"]  # models named as --model spells them
    book = json.loads((zoo_run / "vqvae" / "analysis" / "latent_metrics.json").read_text())["codebook"]
    vq_row = re.search(r"<tr><td>vqvae</td>(.*?)</tr>", comparison[0]).group(1)
    assert f"{book['perplexity']:.1f} of 64 / {book['dead_codes']}" in vq_row
    unet_row = re.search(r"<tr><td>unet</td>(.*?)</tr>", comparison[0]).group(1)
    # 5-NN, silhouette, jump ratio and the codebook the VQ-VAE declares; no KL column, as no model has a KL
    assert "<th>codebook perplexity / dead</th>" in comparison[0] and "KL" not in comparison[0]
    assert unet_row.count("<td>–</td>") == 4  # every latent column
    headings = re.findall(r'<h2 id="model-(\w+)"', page)
    assert headings == ["ae", "vqvae", "unet"]
    assert page.index("All models compared") < page.index('id="model-ae"')
    assert "perplexity" in page.split("What the numbers say")[1].split('id="model-ae"')[0]


def test_report_sections_are_a_list_of_builders(zoo_run: Path, analysis_data: AnalysisData,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Another section is one function of the context in ``SECTIONS``; its HTML lands in the page."""
    from aezoo.analysis.embeddings import read_records
    from aezoo.report import page as report
    from aezoo.run_folder import RunFolder

    records = read_records(RunFolder(zoo_run))
    results = {kind: json.loads((zoo_run / kind / "analysis" / "latent_metrics.json").read_text()) | {"figures": {}}
               for kind in ("ae", "vqvae")}
    context = report.ReportContext(records, results, analysis_data, skipped=("unet",))
    extra = lambda context: f"<h2>Extra</h2><p>{len(context.names)} models</p>"  # noqa: E731
    before = report.SECTIONS.index(report.method_section)
    monkeypatch.setattr(report, "SECTIONS", [*report.SECTIONS[:before], extra, *report.SECTIONS[before:]])
    page = report.render_report(context)
    assert "<h2>Extra</h2><p>3 models</p>" in page
    assert page.index('id="model-unet"') < page.index("<h2>Extra</h2>") < page.index("How this was measured")


def test_a_fresh_process_loads_every_family_of_a_run(zoo_run: Path, tmp_path: Path) -> None:
    """``python -m aezoo analyze RUN`` starts with no model class imported; loading must register them."""
    script = tmp_path / "load.py"
    script.write_text("import sys\nfrom aezoo.analysis.embeddings import load_model\nfrom aezoo.run_folder import "
                      "RunFolder\nprint([type(load_model(RunFolder(sys.argv[1]), k)).__name__ for k in sys.argv[2:]])\n")
    result = run_python(script, [zoo_run, "ae", "vqvae", "unet"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "['ConvAutoencoder', 'VQVAE', 'UNet']" in result.stdout
