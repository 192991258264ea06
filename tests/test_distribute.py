"""tf.distribute: two logical CPU replicas match one device; two workers on 127.0.0.1 train one model."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from aezoo.distribute import make_strategy
from aezoo.errors import UsageError

REPO = Path(__file__).resolve().parents[1]

MIRRORED_SCRIPT = textwrap.dedent("""
    import sys
    import tensorflow as tf
    # Split the CPU into two logical devices before TensorFlow starts: MirroredStrategy then has
    # two replicas, exactly as on a machine with two GPUs.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from aezoo.config import TrainConfig
    from aezoo.training import train
    from tests.conftest import TINY_HYPERPARAMETERS, subset
    from aezoo.datasets import load_embedded
    splits = subset(load_embedded(), 256, 64)
    for strategy in ("one-device", "mirrored"):
        config = TrainConfig(models=(sys.argv[2],), epochs=3, batch_size=64, strategy=strategy,
                             hyperparameters={**TINY_HYPERPARAMETERS, "batch_norm": True})
        train(config, output=f"{sys.argv[1]}/{strategy}", verbose=0, splits=splits)
""")


def history(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_mirrored_over_two_replicas_matches_one_device(kind, tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tmp_path), kind], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "mirrored" / kind / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "MirroredStrategy"
    one, two = (history(tmp_path / s / kind / "history.csv") for s in ("one-device", "mirrored"))
    assert len(one) == len(two) == 3
    # The AE is deterministic: only float summation order differs. The VAE's sampling noise is
    # drawn per replica, so its trajectory agrees statistically rather than to the digit.
    tolerance = 2e-3 if kind == "ae" else 1e-2
    for a, b in zip(one, two):
        assert b["loss"] == pytest.approx(a["loss"], rel=tolerance)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=tolerance)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_on_localhost_train_one_model(tmp_path):
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    output = tmp_path / "run"
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                      "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, str(REPO / "train.py"), "--strategy", "multi-worker", "--model", "ae", "--epochs", "2",
             "--filters", "4", "--embedding-dim", "4", "--batch-size", "256", "--output", str(output), "--no-analysis"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        results = [p.communicate(timeout=540) for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, (_, err) in zip(processes, results):
        assert p.returncode == 0, err[-3000:]
    metrics = json.loads((output / "ae" / "metrics.json").read_text())
    # MultiWorkerMirroredStrategy is an alias; its class is CollectiveAllReduceStrategy.
    assert metrics["replicas"] == 2 and metrics["strategy"] == "CollectiveAllReduceStrategy"
    assert (output / "ae" / "model.keras").exists() and (output / "ae" / "saved_model" / "saved_model.pb").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"], "the non-chief worker leaves nothing behind"
    assert "median 3x3" in results[0][0] and "median 3x3" not in results[1][0]


def test_multi_worker_without_tf_config_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UsageError, match="needs TF_CONFIG"):
        make_strategy("multi-worker")


def test_unknown_strategy_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown strategy 'tpu'"):
        make_strategy("tpu")


def test_mixed_precision_trains_and_leaves_the_global_policy_alone(tmp_path, tiny_splits):
    import keras

    from aezoo.config import TrainConfig
    from aezoo.training import train
    from tests.conftest import TINY_HYPERPARAMETERS

    config = TrainConfig(models=("vae",), epochs=1, batch_size=64, mixed_precision=True,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    run = train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits).run_dir
    metrics = json.loads((run / "vae" / "metrics.json").read_text())
    assert metrics["config"]["dtype"]["config"]["name"] == "mixed_bfloat16"  # no GPU here: bfloat16
    assert 0 < metrics["test"]["mse"] < 0.3
    assert keras.mixed_precision.global_policy().name == "float32"
    restored = keras.saving.load_model(run / "vae" / "model.keras")
    assert restored.decode(np.zeros((1, 4), "float32")).dtype == "float32"
