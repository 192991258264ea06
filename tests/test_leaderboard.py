"""The zoo leaderboard: ``--quick`` trains and scores every kind of row; mistakes are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aezoo.bench.__main__ import main

# One model of each kind of row: a reference, a mixture sampler, a prior sampler with an NLL, a
# conditional model, a code prior, and a model without latent space.
QUICK_MODELS = "textbook,ae,vae,cvae,vqvae,unet"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zoo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEZOO_CACHE", str(folder / "cache"))  # the quick classifier stays out of the user's cache
        assert main(["zoo", "--quick", "--quiet", "--models", QUICK_MODELS, "--output", str(folder / "out")]) == 0
    return folder / "out"


def test_quick_leaderboard_fills_each_column_where_it_applies(quick):
    results = json.loads((quick / "leaderboard.json").read_text())
    rows = results["rows"]
    assert list(rows) == ["noisy input", "median 3x3", *QUICK_MODELS.split(",")]
    for name in QUICK_MODELS.split(","):
        row = rows[name]
        assert 0 < row["test"]["psnr"] < 60 and row["parameters"] > 0 and row["training_seconds"] > 0, name
        assert row["epochs"] == 1
    assert "generation" not in rows["textbook"] and "knn_accuracy" not in rows["textbook"]
    assert rows["unet"]["knn_accuracy"] is None and "generation" not in rows["unet"]
    assert rows["ae"]["generation"]["sampler"] == "gmm" and "likelihood" not in rows["ae"]["generation"]
    assert rows["vqvae"]["generation"]["sampler"] == "pixelcnn"
    assert rows["vae"]["generation"]["likelihood"]["nll"] > 0
    assert rows["cvae"]["generation"]["likelihood"]["quantity"] == "-log p(x | y)"
    assert 0 <= rows["cvae"]["generation"]["label_accuracy"] <= 1
    for name in ("ae", "vae", "cvae", "vqvae"):
        assert rows[name]["generation"]["frechet_distance"] >= 0 and 0 <= rows[name]["knn_accuracy"] <= 1
    assert "real train vs test" in results["reference_points"] and results["settings"]["quick"]


def test_quick_leaderboard_writes_table_and_plot(quick):
    table = (quick / "leaderboard.md").read_text()
    assert table.startswith("| model | test PSNR | SSIM | 5-NN acc | NLL | FD | label acc |")
    assert "| ae (gmm) |" in table and "| vqvae (pixelcnn) |" in table and "not an FID" in table
    assert (quick / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("argv", "message"), [
    (["--models", "ae,nope"], "unknown model 'nope'"), (["--nll-samples", "0"], "--nll-samples must be"),
    (["--samples", "1"], "--samples must be at least 2"),
])
def test_bad_values_are_one_line_and_write_nothing(argv, message, tmp_path, capsys):
    assert main(["zoo", "--quick", *argv, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()
