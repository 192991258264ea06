"""The benchmark: a ``--quick`` run writes a complete, sane JSON; overrides follow the defaults.

No timing is asserted: on a shared 2-core machine a speed says nothing about the code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from aezoo.bench import parse_overrides
from aezoo.bench.__main__ import format_tables, main
from aezoo.bench.references import kerasio_autoencoder, textbook_autoencoder
from aezoo.bench.measure import seconds_to_reach
from aezoo.bench.harness import aezoo_config
from aezoo.config import TrainConfig, model_defaults
from aezoo.errors import UsageError
from aezoo.training import build_model
from tests.helpers import assert_usage_error

MODEL_FIELDS = {"kind", "description", "parameters", "batch_size", "epochs", "learning_rate", "lr_schedule",
                "model_config", "bench_options", "overrides", "training_seconds", "first_epoch_seconds",
                "images_per_second", "pipeline_over_model", "train_peak_rss_mb", "train_first_epoch_rss_growth_mb", "epochs_log",
                "validation",
                "serving", "seconds_to_textbook_psnr"}
RATIO_FIELDS = {"training_seconds_vs_textbook", "images_per_second_vs_textbook",
                "seconds_to_textbook_psnr_vs_textbook_training", "psnr_minus_textbook_db", "psnr_minus_kerasio_db",
                "training_seconds_vs_kerasio", "serving_batch1_images_per_second_vs_textbook",
                "serving_batch1024_images_per_second_vs_textbook"}


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "quick.json"
    assert main(["--quick", "--quiet", "--output", str(output),
                 "--candidate", "small:filters=8,batch_norm=true,batch_size=64"]) == 0
    return json.loads(output.read_text())


def test_quick_run_has_every_model_and_field(quick_results: dict[str, Any]) -> None:
    models = quick_results["models"]
    assert list(models) == ["textbook", "kerasio", "ae", "vae", "small"]
    for name, result in models.items():
        assert MODEL_FIELDS <= set(result), (name, MODEL_FIELDS - set(result))
        assert set(quick_results["ratios"][name]) == RATIO_FIELDS
        assert len(result["epochs_log"]) == result["epochs"] == 1
        assert {"mse", "psnr", "ssim"} <= set(result["validation"]) and "test" not in result
        assert set(result["serving"]) >= {"batch1_images_per_second", "batch1024_images_per_second", "peak_rss_mb"}
    assert "targets" not in quick_results  # pass/fail targets live in bench/README.md, not in the code
    settings = quick_results["settings"]
    assert settings["scored_on"] == "validation" and settings["validation_images"] > 0
    assert settings["train_images"] + settings["validation_images"] == 384  # carved from quick mode's 384
    assert {"date", "machine", "settings", "baselines", "pipeline_images_per_second", "parity"} <= set(quick_results)


def test_quick_run_values_are_sane(quick_results: dict[str, Any]) -> None:
    models = quick_results["models"]
    assert 130_000 < models["textbook"]["parameters"] < 150_000
    assert 27_000 < models["kerasio"]["parameters"] < 30_000
    for name, result in models.items():
        assert 0 < result["validation"]["psnr"] < 60, name
        assert -1 <= result["validation"]["ssim"] <= 1, name
        for key in ("training_seconds", "images_per_second", "pipeline_over_model", "train_peak_rss_mb"):
            assert _positive(result[key]), (name, key)
        assert all(_positive(v) for v in result["serving"].values()), name
    textbook = quick_results["ratios"]["textbook"]
    assert textbook["training_seconds_vs_textbook"] == 1.0 and textbook["psnr_minus_textbook_db"] == 0
    assert models["textbook"]["seconds_to_textbook_psnr"] == models["textbook"]["training_seconds"]
    assert models["small"]["batch_size"] == 64 and models["small"]["model_config"]["filters"] == 8
    assert quick_results["baselines"]["median 3x3"]["psnr"] > quick_results["baselines"]["noisy input"]["psnr"]
    batches = {row["batch_size"] for row in quick_results["parity"]}
    assert batches == {128, TrainConfig().batch_size, 64}
    for row in quick_results["parity"]:
        assert _positive(row["aezoo_over_textbook"]) and _positive(row["pipeline_over_aezoo_twin"])
    assert "validation PSNR after each epoch" in format_tables(quick_results)


def test_aezoo_models_follow_train_defaults() -> None:
    config, options = aezoo_config("ae", {})
    default = TrainConfig()
    for field in ("epochs", "batch_size", "learning_rate", "lr_schedule", "noise", "noise_strength", "seed"):
        assert getattr(config, field) == getattr(default, field), field
    assert config.hyperparameters == {} and config.model_arguments("ae") == {}
    assert build_model("ae", config).get_config()["filters"] == model_defaults("ae")["filters"]
    assert options == {"jit_compile": "auto"}


def test_overrides_are_typed_and_routed() -> None:
    overrides = parse_overrides("batch_size=32, batch_norm=true,learning_rate=3e-3,lr_schedule=cosine,jit_compile=false")
    assert overrides == {"batch_size": 32, "batch_norm": True, "learning_rate": 0.003,
                         "lr_schedule": "cosine", "jit_compile": False}
    config, options = aezoo_config("ae", overrides, epochs=3)
    assert (config.batch_size, config.learning_rate, config.lr_schedule, config.epochs) == (32, 0.003, "cosine", 3)
    assert config.hyperparameters == {"batch_norm": True} and options["jit_compile"] is False
    with pytest.raises(UsageError, match="unknown override"):
        aezoo_config("ae", {"filterz": 3})
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_overrides("batch_size")
    with pytest.raises(UsageError):
        aezoo_config("ae", {"batch_size": 0})


def test_textbook_is_aezoo_default_architecture_twin() -> None:
    from aezoo.families.ae.model import ConvAutoencoder

    twin = ConvAutoencoder(embedding_dim=10, depth=1, filters=32, batch_norm=False)
    twin.build()
    assert textbook_autoencoder().count_params() == twin.count_params()
    assert kerasio_autoencoder().output_shape == (None, 28, 28, 1)


def test_seconds_to_reach_is_epoch_granular() -> None:
    assert seconds_to_reach([10.0, 12.0, 14.0], [3.0, 2.0, 2.0], 12.0) == 5.0
    assert seconds_to_reach([10.0, 12.0], [3.0, 2.0], 13.0) is None


def test_bad_flags_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--quick", "--models", "textbook,nope", "--output", str(tmp_path / "x.json")])
    assert_usage_error(status, capsys.readouterr().err, "unknown model", absent=[tmp_path / "x.json"])


# --- the zoo's families ------------------------------------------------------------------------


def test_models_accept_family_names_and_groups() -> None:
    from aezoo.bench.runner import BenchSettings, make_entries
    from aezoo.families import MODELS

    entries = make_entries(BenchSettings(models=("textbook", "cvae", "all"), epochs=1))
    assert [e.name for e in entries] == ["textbook", "cvae", *(kind for kind in MODELS if kind != "cvae")]
    with pytest.raises(UsageError, match="unknown model 'gan'; choose from textbook, kerasio, ae, vae, beta_vae"):
        make_entries(BenchSettings(models=("gan",)))


def test_a_conditional_family_is_benchmarked_with_labels(tmp_path: Path) -> None:
    output = tmp_path / "cvae.json"
    assert main(["--quick", "--quiet", "--no-parity", "--models", "cvae", "--output", str(output)]) == 0
    result = json.loads(output.read_text())["models"]["cvae"]
    assert math.isfinite(result["validation"]["psnr"]) and result["parameters"] > 0
    assert "serving" not in result  # serving_default takes labels too; the serving probe feeds images alone
