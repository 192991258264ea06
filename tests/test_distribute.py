"""tf.distribute: two logical CPU replicas match one device; two workers on 127.0.0.1 train one model."""

from __future__ import annotations

import json
import subprocess
import textwrap

import numpy as np
import pytest

from aezoo.distribute import make_strategy
from aezoo.errors import UsageError
from tests.helpers import REPO, free_port, launch_python, read_numeric_csv, run_python, subprocess_env

# Split the CPU into two logical devices before TensorFlow starts: MirroredStrategy then has two
# replicas, exactly as on a machine with two GPUs.
TWO_CPUS = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
"""

# One plain SGD step of each model on one device and on two replicas, from the same weights and
# the same global batch of 64. SGD, unlike Adam, moves the weights in proportion to the gradient,
# so a gradient summed over replicas without dividing the loss by their number doubles the step.
# The VAE decodes its posterior mean here: its sampling noise is drawn per replica, which would
# make the two runs differ for a reason other than the loss scaling.
SGD_STEP_SCRIPT = TWO_CPUS + textwrap.dedent("""
    import json
    import keras
    import numpy as np
    from aezoo.families.ae.model import ConvAutoencoder
    from aezoo.models import GaussianLatent
    from aezoo.families.vae.model import VariationalAutoencoder

    HP = {"embedding_dim": 4, "depth": 1, "filters": 4, "batch_norm": False}

    class MeanLatent(GaussianLatent):
        def call(self, params, training=None):
            return super().call(params, training=False)

    def one_step(cls, strategy, weights, learning_rate, noisy, clean):
        with strategy.scope():
            model = cls(**HP)
            if hasattr(model, "latent"):
                model.latent = MeanLatent(model.latent.latent_dim, name="latent")
            model.build()
            model.set_weights(weights)
            model.compile(optimizer=keras.optimizers.SGD(learning_rate))
        data = tf.data.Dataset.from_tensor_slices((noisy, clean)).batch(len(noisy))
        model.fit(data, epochs=1, verbose=0, shuffle=False)
        return np.concatenate([w.numpy().ravel() for w in model.trainable_weights])

    rng = np.random.default_rng(0)
    clean = (rng.random((64, 28, 28, 1)) > 0.7).astype("float32")
    noisy = np.clip(clean + rng.normal(0, 0.3, clean.shape), 0, 1).astype("float32")
    # One MirroredStrategy for both models: two instances in one process reuse collective keys.
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    steps = {}
    for name, cls, learning_rate in (("ae", ConvAutoencoder, 0.5), ("vae", VariationalAutoencoder, 0.005)):
        keras.utils.set_random_seed(0)
        start = cls(**HP)
        start.build()
        before = np.concatenate([w.numpy().ravel() for w in start.trainable_weights])
        one = one_step(cls, tf.distribute.OneDeviceStrategy("/cpu:0"), start.get_weights(), learning_rate, noisy, clean)
        two = one_step(cls, mirrored, start.get_weights(), learning_rate, noisy, clean)
        steps[name] = {"one": (one - before).tolist(), "two": (two - before).tolist()}
    print(json.dumps(steps))
""")


def test_one_sgd_step_on_two_replicas_moves_the_weights_as_on_one_device(tmp_path):
    script = tmp_path / "sgd_step.py"
    script.write_text(SGD_STEP_SCRIPT)
    done = run_python(script, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = json.loads(done.stdout.strip().splitlines()[-1])
    for name, step in steps.items():
        one, two = np.array(step["one"]), np.array(step["two"])
        assert np.linalg.norm(one) > 0, f"{name}: the step did not move the weights"
        # Float summation order is all that differs (measured: ~1e-7 relative).
        assert np.linalg.norm(two - one) / np.linalg.norm(one) < 1e-4, (
            f"{name}: two replicas stepped {np.dot(two, one) / np.dot(one, one):.3f} times as far as one device")

MIRRORED_SCRIPT = TWO_CPUS + textwrap.dedent("""
    import sys
    from aezoo.config import TrainConfig
    from aezoo.training import train
    from tests.fixtures import TINY_HYPERPARAMETERS, subset
    from aezoo.datasets import load_embedded
    splits = subset(load_embedded(), 256, 64)
    for strategy in ("one-device", "mirrored"):
        config = TrainConfig(models=(sys.argv[2],), epochs=3, batch_size=64, strategy=strategy,
                             hyperparameters={**TINY_HYPERPARAMETERS, "batch_norm": True})
        train(config, output=f"{sys.argv[1]}/{strategy}", verbose=0, splits=splits)
""")


@pytest.mark.slow  # three epochs of Adam; the one-step SGD test above guards the loss scaling in the fast suite
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_mirrored_over_two_replicas_matches_one_device(kind, tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    done = run_python(script, [tmp_path, kind], cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "mirrored" / kind / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "MirroredStrategy"
    one, two = (read_numeric_csv(tmp_path / s / kind / "history.csv") for s in ("one-device", "mirrored"))
    assert len(one) == len(two) == 3
    # The AE is deterministic: only float summation order differs. The VAE's sampling noise is
    # drawn per replica, so its trajectory agrees statistically rather than to the digit.
    tolerance = 2e-3 if kind == "ae" else 1e-2
    for a, b in zip(one, two):
        assert b["loss"] == pytest.approx(a["loss"], rel=tolerance)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=tolerance)


@pytest.mark.slow
def test_two_workers_on_localhost_train_one_model(tmp_path):
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    output = tmp_path / "run"
    processes = []
    for index in range(2):
        env = subprocess_env(TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                   "task": {"type": "worker", "index": index}}))
        processes.append(launch_python(
            "train.py", ["--strategy", "multi-worker", "--model", "ae", "--epochs", "2", "--filters", "4",
                         "--embedding-dim", "4", "--batch-size", "256", "--output", output, "--no-analysis"],
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
    from tests.fixtures import TINY_HYPERPARAMETERS

    config = TrainConfig(models=("vae",), epochs=1, batch_size=64, mixed_precision=True,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    run = train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits).run_dir
    metrics = json.loads((run / "vae" / "metrics.json").read_text())
    import tensorflow as tf

    # float16 where a GPU has tensor cores for it, bfloat16 on CPUs.
    expected = "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    assert metrics["config"]["dtype"]["config"]["name"] == expected
    assert 0 < metrics["test"]["mse"] < 0.3
    assert keras.mixed_precision.global_policy().name == "float32"
    restored = keras.saving.load_model(run / "vae" / "model.keras")
    assert restored.decode(np.zeros((1, 4), "float32")).dtype == "float32"


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_each_mixed_policy_computes_in_half_precision_and_keeps_float32_weights_and_outputs(policy, kind, tiny_splits):
    """Both policies on any machine: float16 runs on CPUs too (slowly), so GPU-only code paths get tested here."""
    import keras

    from aezoo.datasets import GaussianNoise, training_dataset
    from aezoo.families.ae.model import ConvAutoencoder
    from aezoo.families.vae.model import VariationalAutoencoder
    from tests.fixtures import TINY_HYPERPARAMETERS

    cls = {"ae": ConvAutoencoder, "vae": VariationalAutoencoder}[kind]
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = cls(**TINY_HYPERPARAMETERS)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.build()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    half = policy.removeprefix("mixed_")
    assert model.encoder.conv_layers[0].compute_dtype == half
    assert {w.dtype for w in model.weights} == {"float32"}
    # Keras wraps the optimizer so small float16 gradients do not underflow; bfloat16 needs no scaling.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (half == "float16")
    data = training_dataset(tiny_splits.train_images[:128], GaussianNoise(0.5), 32, seed=0)
    history = model.fit(data, epochs=1, verbose=0, shuffle=False).history
    assert np.isfinite(history["loss"][-1]) and np.isfinite(history["psnr"][-1])
    images = tiny_splits.test_images[:4, ..., None].astype("float32") / 255
    for output in (model.denoise(images), model.encode(images)):
        assert output.dtype == "float32" and np.all(np.isfinite(output))
