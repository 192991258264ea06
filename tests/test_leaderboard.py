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
    # Every (family, sampler) pair that applies is scored; the default's figures are the row's.
    assert set(rows["vae"]["samplers"]) == {"prior", "gmm", "two_stage"}
    assert set(rows["vqvae"]["samplers"]) == {"pixelcnn"} and rows["unet"]["samplers"] == {}
    assert rows["vae"]["samplers"]["prior"]["generation"]["frechet_distance"] == rows["vae"]["generation"][
        "frechet_distance"]
    assert rows["vae"]["samplers"]["gmm"]["generation"]["frechet_distance"] >= 0
    assert rows["ae"]["latent"]["prior_mmd"] > 0 and "total_correlation" not in rows["ae"]["latent"]
    assert rows["vae"]["latent"]["total_correlation"] >= -1.0 and rows["vqvae"]["latent"] == {}


def test_quick_leaderboard_writes_table_and_plot(quick):
    table = (quick / "leaderboard.md").read_text()
    assert table.startswith("| model | test PSNR | SSIM | 5-NN acc | NLL | FD | label acc |")
    assert "| ae (gmm) |" in table and "| vqvae (pixelcnn) |" in table and "not an FID" in table
    assert "| model | prior | gmm | pixelcnn | two_stage | codes' MMD² to N(0, I) |" in table
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


def _row(psnr, seconds=None, **generation):
    row = {"test": {"psnr": psnr}, "training_seconds": seconds}
    if generation:
        row["generation"] = generation
    return row


def test_targets_are_judged_met_missed_or_skipped():
    from aezoo.bench.targets import judge as judge_targets, lines as targets_lines

    rows = {"textbook": _row(12.8, 30.0), "kerasio": _row(16.8, 20.0), "unet": _row(20.0, 95.0),
            "ae": _row(17.5, 25.0, frechet_distance=9.0),
            "vae": _row(17.3, 25.0, frechet_distance=70.0, likelihood={"nll": 112.0}),
            "iwae": _row(17.1, 70.0, likelihood={"nll": 110.0})}
    verdicts = {t["target"]: t["met"] for t in judge_targets(rows)}
    expected = {
        "U-Net beats the AE by >= 2 dB test PSNR": True,        # +2.5 dB
        "U-Net beats keras.io's no-bottleneck model by >= 1 dB": True,
        "U-Net trains within 3x the textbook AE's time": False,  # 95 s against 30 s: 3.17x
        "IWAE's NLL is lower than the VAE's": True,
        "CVAE label accuracy >= 90%": None,                      # no cvae row in this run
        "the VAE's prior samples are closer to real digits (FD) than the AE's mixture samples": False,
    }
    assert {text: verdicts[text] for text in expected} == expected
    assert all(verdicts[text] is None for text in set(verdicts) - set(expected))  # their rows are not in this run
    text = "\n".join(targets_lines(judge_targets(rows)))
    assert "MISSED: U-Net trains within 3x" in text and "(3.17x)" in text
    assert "skipped" in text and "N(0, I)" in text  # the missed FD ordering is explained

    rows["unet"] = _row(19.4, 60.0)  # +1.9 dB over the AE: just short
    rows["iwae"] = _row(17.1, 70.0, likelihood={"nll": 113.0})
    verdicts = {t["target"]: t["met"] for t in judge_targets(rows)}
    assert verdicts["U-Net beats the AE by >= 2 dB test PSNR"] is False
    assert verdicts["IWAE's NLL is lower than the VAE's"] is False
    assert verdicts["U-Net trains within 3x the textbook AE's time"] is True


def test_quick_leaderboard_reports_its_targets(quick):
    results = json.loads((quick / "leaderboard.json").read_text())
    from aezoo.bench.targets import TARGETS

    assert len(results["targets"]) == len(TARGETS)
    judged = {t["target"]: t["met"] for t in results["targets"]}
    assert judged["IWAE's NLL is lower than the VAE's"] is None  # no iwae row in the quick run: skipped
    assert judged["the whole leaderboard takes <= 20 minutes"] is not None
    assert "Targets:" in (quick / "leaderboard.md").read_text()


def test_targets_on_family_and_sampler_pairs_and_latent_statistics():
    from aezoo.bench.targets import judge as judge_targets

    def with_samplers(**fds):
        return {"test": {"psnr": 17.0}, "samplers": {name: {"generation": {"frechet_distance": fd}}
                                                      for name, fd in fds.items()}}

    rows = {"vae": with_samplers(prior=74.0, gmm=15.0, two_stage=80.0), "rae": with_samplers(gmm=10.0),
            "ae": {"latent": {"prior_mmd": 0.30}}, "aae": {"latent": {"prior_mmd": 0.05}},
            "beta_vae": {"latent": {"total_correlation": 1.0}}, "btcvae": {"latent": {"total_correlation": 1.5}},
            "the run": {"wall_seconds": 1300.0}}
    judged = {t["target"]: t for t in judge_targets(rows)}
    assert judged["RAE with its mixture draws closer to real digits (FD) than the VAE's prior (the RAE paper's claim)"][
        "shown"] == "FD 10.0 vs 74.0"
    assert judged["the Gaussian mixture beats the prior on FD for the vae"]["met"] is True
    assert judged["the two-stage sampler beats the prior on FD for the vae"]["met"] is False
    assert judged["the Gaussian mixture beats the prior on FD for the iwae"]["met"] is None
    assert judged["the AAE's codes are closer to N(0, I) (MMD²) than the AE's"]["met"] is True
    assert judged["β-TC-VAE's total correlation is lower than the β-VAE's at β = 4"]["met"] is False
    assert judged["the whole leaderboard takes <= 20 minutes"]["met"] is False
