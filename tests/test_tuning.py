"""keras-tuner searches end to end: results, the retrained best run, resume, bad flags, chief/worker mode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import keras_tuner as kt
import numpy as np
import pytest

from aezoo.commands import run_command
from aezoo.errors import UsageError
from aezoo.hypermodels import AutoencoderHyperModel
from aezoo.run_folder import INCOMPLETE
from aezoo.tuning import PROJECT, SearchSettings, distributed_role, format_tuning, parse_fixed, tune
from tests.helpers import assert_usage_error, free_port, launch_python, read_csv, subprocess_env, write_npz_data

# Tiny architectures, the learning rate still searched: trials differ but each takes a second or two.
TINY_FIX = {"filters": 4, "depth": 1}
TINY_FLAGS = ["--fix", "filters=4", "--fix", "depth=1", "--fix", "embedding_dim=4"]


def tiny_space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Choice("embedding_dim", [2, 4])
    for name, value in TINY_FIX.items():
        hp.Fixed(name, value)
    return hp


def tiny_settings(**overrides) -> SearchSettings:
    values = dict(model="ae", tuner="random", max_trials=2, epochs=1, batch_size=64)
    return SearchSettings(**(values | overrides))


class CountingFits:
    """Replaces AutoencoderHyperModel.fit: counts calls and can raise KeyboardInterrupt at call N."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls = 0
        self.interrupt_at = interrupt_at
        self.original = AutoencoderHyperModel.fit

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "CountingFits":
        def fit(hypermodel, hp, model, *args, **kwargs):
            self.calls += 1
            if self.calls == self.interrupt_at:
                raise KeyboardInterrupt  # what Ctrl-C does mid-trial
            return self.original(hypermodel, hp, model, *args, **kwargs)

        monkeypatch.setattr(AutoencoderHyperModel, "fit", fit)
        return self


@pytest.fixture(scope="module")
def tiny_search(tmp_path_factory, tiny_splits) -> Path:
    """A finished random search: 2 trials of 1 epoch on 256 digits, best retrained. Read-only."""
    output = tmp_path_factory.mktemp("tuning") / "ae-random"
    tune(tiny_settings(), output=output, splits=tiny_splits, hyperparameters=tiny_space(), verbose=0, analyze=False)
    return output


def test_a_tiny_search_writes_results_and_the_best_model(tiny_search: Path) -> None:
    rows = read_csv(tiny_search / "results.csv")
    assert len(rows) == 2 and all(row["status"] == "COMPLETED" for row in rows)
    for row in rows:
        assert {"embedding_dim", "depth", "filters", "learning_rate", "val_psnr", "parameters", "seconds"} <= set(row)
        assert float(row["seconds"]) > 0 and int(row["parameters"]) > 0
    assert float(rows[0]["val_psnr"]) >= float(rows[1]["val_psnr"])  # best first
    assert (tiny_search / "results.png").stat().st_size > 0

    best = json.loads((tiny_search / "best.json").read_text())
    assert best["trial"] == rows[0]["trial"]
    assert best["validation_objective"] == pytest.approx(float(rows[0]["val_psnr"]))
    run = tiny_search / "best"
    assert not (run / INCOMPLETE).exists()
    for name in ("model.keras", "saved_model/saved_model.pb", "metrics.json", "history.csv"):
        assert (run / "ae" / name).exists(), name
    metrics = json.loads((run / "ae" / "metrics.json").read_text())
    assert metrics["config"]["embedding_dim"] == best["hyperparameters"]["embedding_dim"]
    assert metrics["config"]["filters"] == TINY_FIX["filters"]
    assert metrics["learning_rate"] == pytest.approx(best["hyperparameters"]["learning_rate"])
    # Same seed, data, noise, epochs and hyperparameters as the trial; only the learning-rate
    # schedule differs (trials: constant; retraining: train.py's cosine), so the validation
    # score is close. The test score is the retrained model's own, reported apart.
    history = read_csv(run / "ae" / "history.csv")
    assert float(history[-1]["val_psnr"]) == pytest.approx(best["validation_objective"], abs=0.5)
    assert best["retrained_test"] == {k: metrics["test"][k] for k in ("mse", "psnr", "ssim")}
    assert best["splits"] == metrics["splits"] and best["splits"]["validation"] > 0
    text = format_tuning([], best, tiny_settings())
    assert f"val_psnr {best['validation_objective']:.4g} on the validation split" in text
    assert f"test PSNR {metrics['test']['psnr']:.2f} dB" in text


def test_the_search_scores_trials_on_the_validation_split(tiny_splits, tmp_path, monkeypatch) -> None:
    """The tuner's objective is computed on the fixed noisy validation pairs, never on the test pairs."""
    from aezoo.config import TrainConfig
    from aezoo.datasets import GaussianNoise, test_pairs, validation_pairs
    from aezoo.training import prepare_splits

    seen = []
    original = AutoencoderHyperModel.fit

    def spy(hypermodel, hp, model, *args, **kwargs):
        seen.append(np.concatenate([noisy.numpy() for noisy, _ in kwargs["validation_data"]]))
        return original(hypermodel, hp, model, *args, **kwargs)

    monkeypatch.setattr(AutoencoderHyperModel, "fit", spy)
    tune(tiny_settings(max_trials=1), output=tmp_path / "search", splits=tiny_splits, hyperparameters=tiny_space(),
         verbose=0, analyze=False)
    splits = prepare_splits(TrainConfig(), tiny_splits)
    expected, _ = validation_pairs(splits.validation_images, GaussianNoise(0.5), seed=0)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], expected)
    assert len(seen[0]) != len(test_pairs(splits.test_images, GaussianNoise(0.5), seed=0)[0])


def test_rerunning_a_finished_search_trains_nothing(tiny_search, tiny_splits, tmp_path, monkeypatch) -> None:
    output = tmp_path / "copy"
    shutil.copytree(tiny_search, output)
    model_file = output / "best" / "ae" / "model.keras"
    before = model_file.stat().st_mtime_ns
    fits = CountingFits().install(monkeypatch)

    result = tune(tiny_settings(), output=output, splits=tiny_splits, hyperparameters=tiny_space(), verbose=0,
                  analyze=False)

    assert fits.calls == 0
    assert model_file.stat().st_mtime_ns == before
    assert result.best["trial"] == json.loads((tiny_search / "best.json").read_text())["trial"]


def test_resume_after_interruption_does_not_redo_finished_trials(tiny_splits, tmp_path, monkeypatch) -> None:
    output = tmp_path / "search"
    CountingFits(interrupt_at=2).install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        tune(tiny_settings(), output=output, splits=tiny_splits, hyperparameters=tiny_space(), verbose=0,
             analyze=False)
    first_trial = output / PROJECT / "trial_0" / "trial.json"
    finished = json.loads(first_trial.read_text())
    assert finished["status"] == "COMPLETED"
    assert not (output / "results.csv").exists()

    resumed = CountingFits().install(monkeypatch)
    tune(tiny_settings(), output=output, splits=tiny_splits, hyperparameters=tiny_space(), verbose=0, analyze=False)

    assert resumed.calls == 1  # only the trial that was cut short
    assert json.loads(first_trial.read_text())["metrics"] == finished["metrics"]
    rows = read_csv(output / "results.csv")
    assert sorted(row["trial"] for row in rows) == ["0", "1"]
    assert all(row["status"] == "COMPLETED" for row in rows)
    assert (output / "best" / "ae" / "model.keras").exists()


def test_hyperband_promotes_trials_and_honours_max_trials(tiny_splits, tmp_path) -> None:
    # max_epochs 3, factor 3: a bracket of 3 one-epoch trials whose best continues to 3 epochs.
    output = tmp_path / "hb"
    settings = tiny_settings(tuner="hyperband", epochs=3, max_trials=4)
    result = tune(settings, output=output, splits=tiny_splits, hyperparameters=tiny_space(), verbose=0,
                  analyze=False)
    rows = {row["trial"]: row for row in read_csv(output / "results.csv")}
    assert len(rows) == 4
    continued = [row for row in rows.values() if row["continues"]]
    assert len(continued) == 1 and continued[0]["epochs"] == "3"
    parent = rows[continued[0]["continues"]]
    assert parent["epochs"] == "1" and parent["learning_rate"] == continued[0]["learning_rate"]
    assert json.loads((output / "best" / "config.json").read_text())["epochs"] == 3
    assert result.best is not None


def test_another_search_in_the_same_folder_is_refused_unless_overwritten(tiny_search, tmp_path) -> None:
    output = tmp_path / "copy"
    shutil.copytree(tiny_search, output)
    with pytest.raises(UsageError, match=r"other settings \(epochs 1 -> 2\).*--overwrite"):
        tune(tiny_settings(epochs=2), output=output, verbose=0)
    not_tuning = tmp_path / "elsewhere"
    not_tuning.mkdir()
    (not_tuning / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not an aezoo tuning folder"):
        tune(tiny_settings(), output=not_tuning, overwrite=True, verbose=0)
    assert (not_tuning / "notes.txt").exists()  # --overwrite never deletes a folder it did not make


@pytest.mark.parametrize("flags, message", [
    (["--objective", "val_accuracy"], "unknown objective 'val_accuracy' for ae; choose one of val_loss, val_mse, val_psnr"),
    (["--model", "vae", "--objective", "val_kl"], "val_reconstruction_loss"),
    (["--max-trials", "0"], "max trials must be a positive integer, got 0"),
    (["--epochs", "0"], "epochs must be a positive integer, got 0"),
    (["--fix", "colour=3"], "--fix 'colour=3': expected NAME=VALUE with NAME one of embedding_dim, depth"),
    (["--fix", "depth=two"], "depth must be an integer"),
    (["--fix", "filters=0"], "filters"),
    (["--noise-strength", "-1"], "noise"),
])
def test_bad_flags_exit_2_with_a_clear_message(flags, message, capsys, tmp_path) -> None:
    status = run_command("tune", flags + ["--output", str(tmp_path / "t")])
    assert_usage_error(status, capsys.readouterr().err, message, absent=[tmp_path / "t"])


def test_unknown_choices_exit_2(capsys) -> None:
    assert_usage_error(run_command("tune", ["--tuner", "grid"]), capsys.readouterr().err, "invalid choice: 'grid'")


def test_parse_fixed_converts_to_each_hyperparameters_type() -> None:
    assert parse_fixed("vae", ["filters=16", "beta=0.5", "learning-rate=3e-4"]) == {
        "filters": 16, "beta": 0.5, "learning_rate": 3e-4}


def test_incomplete_distributed_environment_is_a_usage_error(monkeypatch) -> None:
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.delenv("KERASTUNER_ORACLE_PORT", raising=False)
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    with pytest.raises(UsageError, match="KERASTUNER_ORACLE_PORT"):
        distributed_role()
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    assert distributed_role() == "worker"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert distributed_role() == "chief"


@pytest.mark.slow
def test_distributed_search_with_a_chief_and_two_workers(tiny_splits, tmp_path) -> None:
    """keras-tuner's chief/worker mode on 127.0.0.1: every trial completes, and exactly once."""
    data_dir = write_npz_data(tiny_splits, tmp_path / "data")
    output = tmp_path / "search"
    trials = 4
    args = ["--tuner", "random", "--max-trials", trials, "--epochs", "1", "--batch-size", "64",
            "--data-dir", data_dir, "--output", output, "--no-analysis", "--fix", "filters=4", "--fix", "depth=1"]
    port = str(free_port())
    processes: dict[str, subprocess.Popen] = {}
    logs = {}
    try:
        for tuner_id in ("chief", "tuner1", "tuner2"):
            env = subprocess_env(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                                 KERASTUNER_ORACLE_PORT=port, TF_CPP_MIN_LOG_LEVEL="3")
            logs[tuner_id] = open(tmp_path / f"{tuner_id}.log", "w+")
            processes[tuner_id] = launch_python("tune.py", args, cwd=tmp_path, env=env, stdout=logs[tuner_id],
                                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        for tuner_id, process in processes.items():
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs.values():
            log.close()
    text = {tuner_id: (tmp_path / f"{tuner_id}.log").read_text() for tuner_id in processes}
    for tuner_id, process in processes.items():
        assert process.returncode == 0, f"{tuner_id} failed:\n{text[tuner_id][-3000:]}"

    rows = read_csv(output / "results.csv")
    assert len(rows) == trials and all(row["status"] == "COMPLETED" for row in rows)
    ran = [(tuner_id, trial) for tuner_id in ("tuner1", "tuner2")
           for trial in re.findall(rf"\[{tuner_id}\] trial (\d+):", text[tuner_id])]
    ran_trials = [trial for _, trial in ran]
    assert sorted(ran_trials) == sorted(row["trial"] for row in rows)  # each trial ran once, on a worker
    assert len(set(ran_trials)) == len(ran_trials)
    assert not re.search(r"\[chief\] trial", text["chief"])  # the chief only serves the oracle
    assert (output / "best" / "ae" / "model.keras").exists()


# --- families beyond the AE and the VAE ---------------------------------------------------------


def test_a_conditional_family_is_searched_with_labels(tiny_splits, tmp_path) -> None:
    """The CVAE trains on ((noisy, labels), clean) in its trials and in the retrained best run."""
    hp = kt.HyperParameters()
    for name, value in {"embedding_dim": 4, **TINY_FIX}.items():
        hp.Fixed(name, value)
    settings = tiny_settings(model="cvae", max_trials=1)
    result = tune(settings, output=tmp_path / "cvae", splits=tiny_splits, hyperparameters=hp, verbose=0, analyze=False)
    assert result.best is not None and np.isfinite(result.best["validation_objective"])
    assert (tmp_path / "cvae" / "results.png").exists() and result.best["retrained_test"]["psnr"] > 0


def test_the_results_plot_of_a_family_without_an_embedding(tmp_path) -> None:
    from aezoo.tuning import plot_results

    rows = [{"trial": str(i), "status": "COMPLETED", "depth": depth, "filters": filters, "learning_rate": 1e-3,
             "epochs": 1, "val_psnr": 10.0 + i} for i, (depth, filters) in enumerate([(1, 8), (2, 16), (1, 16)])]
    plot_results(rows, tiny_settings(model="unet"), tmp_path / "results.png")
    assert (tmp_path / "results.png").stat().st_size > 0


@pytest.mark.parametrize("model", ["beta_vae", "iwae", "cvae", "vqvae", "unet"])
def test_tune_accepts_every_family(model, tmp_path) -> None:
    assert tiny_settings(model=model).validate().model == model
