"""Command-line paths that no other test takes: analysis after training, salt-and-pepper and mask
noise, --depth 2, --no-batch-norm, --lr-schedule constant, --tensorboard, a 2-D VAE's latent grid,
a console script, and tune.py end to end with a resumed search.

One shared run covers most of them: the installed ``aezoo-train`` console script trains the VAE
(the model with the most analysis) for one epoch on 256 digits with all those flags at once,
then analyses the run.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_usage_error, launch_python, read_csv, run_python, snapshot, write_npz_data

LEARNING_RATE = 0.003


def console_script(name: str) -> str:
    """The installed console script beside this Python (a virtualenv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"console script {name} is not installed; run pip install -e ."
    return found


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory, tiny_splits) -> Path:
    """256 training and 64 test digits as an mnist.npz folder, for --data-dir."""
    return write_npz_data(tiny_splits, tmp_path_factory.mktemp("data"))


CONSOLE_RUN_FLAGS = ["--model", "vae", "--epochs", "1", "--batch-size", "64",
                     "--embedding-dim", "2", "--filters", "4", "--depth", "2", "--no-batch-norm",
                     "--lr-schedule", "constant", "--learning-rate", str(LEARNING_RATE), "--tensorboard",
                     "--noise", "salt_pepper", "--noise-strength", "0.2"]


@pytest.fixture(scope="module")
def console_run(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """``aezoo-train`` with the rarely used flags, analysis included. Read-only for the tests."""
    run_dir = tmp_path_factory.mktemp("console") / "run"
    args = [*CONSOLE_RUN_FLAGS, "--data-dir", tiny_data, "--output", run_dir]
    done = run_python(console_script("aezoo-train"), args, cwd=run_dir.parent, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir, done


def load(path: Path):  # type: ignore[no-untyped-def]
    import keras

    from aezoo.families.ae.model import ConvAutoencoder  # noqa: F401  (registers the classes)

    from aezoo.families.vae.model import VariationalAutoencoder

    return keras.saving.load_model(path)


def test_the_console_script_trains_and_prints_the_comparison(console_run):
    run_dir, done = console_run
    assert "median 3x3" in done.stdout and f"Run folder: {run_dir}" in done.stdout
    assert len(read_csv(run_dir / "vae" / "history.csv")) == 1


def test_the_command_times_its_phases_from_the_process_start(console_run):
    run_dir, done = console_run
    table = json.loads((run_dir / "summary.json").read_text())["phases"]
    names = [row["phase"] for row in table]
    assert names[:3] == ["start-up", "set-up", "data"] and names[-2:] == ["report", "total"]
    assert "vae: training" in names and "analysis: vae" in names and "generation: vae" in names
    assert "analysis: loading vae" not in names, "the analysis reuses the model still in memory"
    assert table[0]["cpu_seconds"] > 0, "start-up counts the interpreter and TensorFlow's import"
    assert f"Time: {table[-1]['seconds']:.1f} s in all: " in done.stdout
    assert "Where the time went" in (run_dir / "report.html").read_text()


def test_training_again_into_a_finished_run_is_refused_and_changes_nothing(console_run, tiny_data, capsys):
    from aezoo.commands import run_command

    run_dir, _ = console_run
    before = snapshot(run_dir)
    status = run_command("train", [*map(str, CONSOLE_RUN_FLAGS), "--data-dir", str(tiny_data), "--output", str(run_dir)])
    assert_usage_error(status, capsys.readouterr().err, "already holds a finished run", unchanged={run_dir: before})


def test_training_without_no_analysis_writes_the_analysis(console_run):
    run_dir, _ = console_run
    assert "<html" in (run_dir / "report.html").read_text().lower()
    for name in ("tsne.png", "interpolation.png", "latent_metrics.json", "prior_samples.png"):
        assert (run_dir / "vae" / "analysis" / name).stat().st_size > 0, name


def test_a_2d_vae_gets_a_latent_grid(console_run):
    from PIL import Image

    run_dir, _ = console_run
    with Image.open(run_dir / "vae" / "analysis" / "latent_grid.png") as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert min(pixels.shape) > 100 and pixels.std() > 10, "a grid of decoded digits, not a blank picture"


def test_depth_2_and_no_batch_norm_shape_the_model(console_run):
    run_dir, _ = console_run
    model = load(run_dir / "vae" / "model.keras")
    kernels = [w for w in model.encoder.weights if len(w.shape) == 4]
    assert len(kernels) == 4, "two convolutions at each of the two resolution levels"
    assert not [w.path for w in model.weights if "moving_mean" in w.path or "gamma" in w.path]
    config = json.loads((run_dir / "vae" / "metrics.json").read_text())["config"]
    assert config["depth"] == 2 and config["batch_norm"] is False


def test_a_constant_learning_rate_is_still_the_initial_one_after_training(console_run):
    """Under the default cosine schedule the rate would have decayed to ~0 by the last step."""
    run_dir, _ = console_run
    model = load(run_dir / "vae" / "model.keras")
    assert int(model.optimizer.iterations) == 256 // 64
    assert float(model.optimizer.learning_rate) == pytest.approx(LEARNING_RATE)
    assert json.loads((run_dir / "vae" / "metrics.json").read_text())["lr_schedule"] == "constant"


def test_tensorboard_event_files_are_written_for_training_and_validation(console_run):
    run_dir, _ = console_run
    for part in ("train", "validation"):
        events = list((run_dir / "vae" / "tensorboard" / part).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0, part


def mean_square(images: np.ndarray) -> float:
    return float(np.mean((images.astype(np.float64) / 255) ** 2))


def test_salt_and_pepper_noise_corrupts_the_data_the_run_trains_on(console_run, tiny_splits):
    """A fraction 0.2 of pixels set to 0 or 1 at random: MSE 0.2 * E[(c^2 + (1 - c)^2) / 2]."""
    run_dir, _ = console_run
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["noise"] == {"kind": "salt_pepper", "strength": 0.2}
    clean = tiny_splits.test_images.astype(np.float64) / 255
    expected = 0.2 * float(np.mean((clean ** 2 + (1 - clean) ** 2) / 2))
    assert summary["test"]["noisy input"]["mse"] == pytest.approx(expected, rel=0.1)
    assert np.isfinite(float(read_csv(run_dir / "vae" / "history.csv")[-1]["loss"]))


def test_mask_noise_trains(tmp_path, tiny_data, tiny_splits, capsys):
    """A fraction 0.3 of pixels zeroed: the noisy input's MSE is 0.3 * E[c^2]."""
    from aezoo.commands import run_command

    run_dir = tmp_path / "run"
    status = run_command("train", ["--model", "ae", "--data-dir", str(tiny_data), "--epochs", "1",
                                   "--batch-size", "64", "--filters", "4", "--embedding-dim", "4", "--noise", "mask",
                                   "--noise-strength", "0.3", "--no-analysis", "--output", str(run_dir)])
    assert status == 0, capsys.readouterr().err[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["noise"] == {"kind": "mask", "strength": 0.3}
    assert summary["test"]["noisy input"]["mse"] == pytest.approx(0.3 * mean_square(tiny_splits.test_images), rel=0.1)
    assert np.isfinite(summary["test"]["ae"]["psnr"])


TRIAL_LINE = re.compile(r"\] trial (\d+):")


@pytest.mark.slow
def test_tune_py_runs_a_random_search_and_resumes_it_after_sigterm(tmp_path, tiny_splits):
    """tune.py end to end: killed after its first trial, the same command runs only the second."""
    data = write_npz_data(tiny_splits, tmp_path / "data")
    output = tmp_path / "search"
    args = ["--tuner", "random", "--max-trials", "2", "--epochs", "2", "--batch-size", "64", "--data-dir", data,
            "--output", output, "--no-analysis", "--fix", "filters=4", "--fix", "depth=1"]
    log_path = tmp_path / "first.log"
    with log_path.open("w") as log:
        process = launch_python("tune.py", args, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while (not TRIAL_LINE.search(log_path.read_text()) and time.monotonic() < deadline
                   and process.poll() is None):
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)  # the second trial has just begun
            status = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    first = TRIAL_LINE.findall(log_path.read_text())
    assert status == 130, log_path.read_text()[-3000:]
    # SIGTERM's KeyboardInterrupt is sometimes raised inside a weakref or __del__ callback, where
    # Python swallows it; only the interrupt flag then stops the command. Trials must check it too,
    # or the search runs on to its end and there is nothing left to resume.
    assert len(first) == 1, "the search went on after SIGTERM instead of stopping in its second trial"

    resumed = run_python("tune.py", args, cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming the search" in resumed.stderr
    second = TRIAL_LINE.findall(resumed.stdout + resumed.stderr)
    assert len(second) == 1 and second != first, "the resumed search ran only the trial that was left"
    rows = read_csv(output / "results.csv")
    assert sorted(row["trial"] for row in rows) == sorted(first + second)
    assert all(row["status"] == "COMPLETED" for row in rows)
    assert (output / "best" / "ae" / "model.keras").exists() and "Tuning folder:" in resumed.stdout
