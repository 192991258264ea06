"""ONNX and LiteRT exports run in their own runtimes and give the SavedModel's outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aezoo import runtimes
from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.errors import UsageError
from tests.helpers import assert_usage_error, snapshot

TOLERANCE = 1e-5  # largest absolute difference from the SavedModel, on test images


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A model folder per family (model.keras and saved_model/), trained a few steps on random data."""
    import keras

    import aezoo.families
    from aezoo.export import export_saved_model

    root = tmp_path_factory.mktemp("models")
    folders = {}
    for kind in ("ae", "vae"):
        keras.utils.set_random_seed(0)
        model = aezoo.families.build(kind, embedding_dim=4, filters=4, batch_norm=False)
        model.build()
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
        model.fit(x, x, batch_size=16, epochs=1, verbose=0)
        export_saved_model(model, root / kind / "saved_model")
        model.save(root / kind / "model.keras")
        folders[kind] = root / kind
    return folders


@pytest.fixture(scope="module")
def noisy_test_images(tiny_splits) -> np.ndarray:
    noisy, _ = test_pairs(tiny_splits.test_images[:32], GaussianNoise(0.5), seed=1)
    return noisy


def saved_model_outputs(model_dir: Path, images: np.ndarray) -> dict[str, np.ndarray]:
    import tensorflow as tf

    sm = tf.saved_model.load(str(model_dir / "saved_model"))
    embeddings = sm.signatures["encode"](images=tf.constant(images))["output_0"]
    return {"denoise": sm.signatures["denoise"](images=tf.constant(images))["output_0"].numpy(),
            "encode": embeddings.numpy(),
            "decode": sm.signatures["decode"](embeddings=embeddings)["output_0"].numpy()}


def run_onnx(path: Path, inputs: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (input_,) = session.get_inputs()
    return session.run(["output_0"], {input_.name: inputs})[0]


def run_litert(path: Path, inputs: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    (signature,) = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(signature)
    (argument,) = runner.get_input_details()
    return runner(**{argument: inputs})["output_0"]


RUNTIMES = {"onnx": (".onnx", run_onnx), "litert": (".tflite", run_litert)}


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_export_matches_the_saved_model_in_its_own_runtime(kind, fmt, model_dirs, noisy_test_images, tmp_path):
    output = runtimes.export_model(model_dirs[kind], fmt, tmp_path / "export")

    suffix, run = RUNTIMES[fmt]
    assert sorted(p.name for p in output.iterdir()) == sorted(
        [f"{name}{suffix}" for name in ("denoise", "encode", "decode")] + ["export.json"])
    expected = saved_model_outputs(model_dirs[kind], noisy_test_images)
    inputs = {"denoise": noisy_test_images, "encode": noisy_test_images, "decode": expected["encode"]}
    for name in ("denoise", "encode", "decode"):
        for batch in (inputs[name][:1], inputs[name]):  # the batch dimension stays free
            got = run(output / f"{name}{suffix}", batch)
            want = expected[name][:len(batch)]
            assert got.shape == want.shape, name
            assert np.max(np.abs(got - want)) <= TOLERANCE, name
    manifest = runtimes.read_manifest(output)
    assert manifest["format"] == fmt and set(manifest["files"]) == {"denoise", "encode", "decode"}
    assert all(entry["max_abs_difference"] <= TOLERANCE for entry in manifest["files"].values())


def test_export_reads_a_keras_file_too(model_dirs, noisy_test_images, tmp_path):
    output = runtimes.export_model(model_dirs["ae"] / "model.keras", "litert", tmp_path / "export")
    expected = saved_model_outputs(model_dirs["ae"], noisy_test_images)
    assert np.max(np.abs(run_litert(output / "denoise.tflite", noisy_test_images) - expected["denoise"])) <= TOLERANCE


def test_an_unconvertible_operator_is_refused_in_one_line_and_nothing_is_written(model_dirs, tmp_path, monkeypatch):
    # Without aezoo's BroadcastArgs conversion tf2onnx cannot convert the VAE (tfp's shape
    # arithmetic) and would leave a graph that onnxruntime refuses to load.
    monkeypatch.delitem(runtimes.ONNX_OP_CONVERSIONS, "BroadcastArgs")
    with pytest.raises(UsageError, match="BroadcastArgs") as error:
        runtimes.export_model(model_dirs["vae"], "onnx", tmp_path / "export")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "export").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary folder left behind either


def test_a_file_the_runtime_cannot_load_is_never_written(model_dirs, tmp_path, monkeypatch):
    def broken(saved_model_dir: Path, endpoint: runtimes.Endpoint, path: Path) -> None:
        path.write_bytes(b"\x08\x07not an onnx graph")

    monkeypatch.setitem(runtimes.CONVERTERS, "onnx", broken)
    with pytest.raises(UsageError, match="onnxruntime cannot load it"):
        runtimes.export_model(model_dirs["ae"], "onnx", tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_an_export_that_differs_from_the_saved_model_is_refused_and_the_earlier_one_kept(model_dirs, tmp_path,
                                                                                        monkeypatch):
    output = runtimes.export_model(model_dirs["ae"], "litert", tmp_path / "export")
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    real_open = runtimes.open_runtime
    monkeypatch.setattr(runtimes, "open_runtime",
                        lambda path, signature=None: (lambda x: real_open(path, signature)(x) + 1e-3))
    with pytest.raises(UsageError, match="differs from the SavedModel"):
        runtimes.export_model(model_dirs["ae"], "litert", output)
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before


def test_output_must_be_new_empty_or_an_earlier_export(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        runtimes.check_output(tmp_path)
    with pytest.raises(UsageError, match="not a folder"):
        runtimes.check_output(tmp_path / "notes.txt")
    assert runtimes.check_output(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / runtimes.MANIFEST).write_text("{}")
    assert runtimes.check_output(tmp_path / "old") == tmp_path / "old"


def test_missing_packages_are_named_with_the_install_command(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "tf2onnx" else real_find_spec(name, *args))
    with pytest.raises(UsageError, match=r"needs tf2onnx.*pip install 'aezoo\[export\]'"):
        runtimes.check_format("onnx")
    with pytest.raises(UsageError, match="unknown; choose one of onnx, litert"):
        runtimes.check_format("coreml")


# ---------------------------------------------------------------------------------------------
# The command


@pytest.fixture
def export_command():
    from aezoo import commands

    return lambda *argv: commands.main(["export", *map(str, argv)])


def test_export_is_a_command_and_a_console_script(capsys, monkeypatch):
    import configparser

    from aezoo import commands
    from tests.helpers import REPO

    assert commands.main(["--help"]) == 0 and "  export " in capsys.readouterr().out
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert "aezoo-export = aezoo.commands:export_entry" in config["options.entry_points"]["console_scripts"]
    monkeypatch.setattr("sys.argv", ["aezoo-export", "--help"])
    with pytest.raises(SystemExit) as exit:
        commands.export_entry()
    assert exit.value.code == 0 and "--format" in capsys.readouterr().out


def test_command_formats_are_the_runtimes_formats():
    from aezoo.commands.export import FORMAT_NAMES

    assert FORMAT_NAMES == tuple(runtimes.FORMATS)


def test_command_exports_a_run_folder_model(export_command, model_dirs, tmp_path, capsys):
    status = export_command(model_dirs["vae"].parent, "--model-kind", "vae", "--format", "onnx",
                            "--output", tmp_path / "onnx")
    assert status == 0
    assert (tmp_path / "onnx" / "denoise.onnx").is_file()
    assert runtimes.read_manifest(tmp_path / "onnx")["source"].endswith("vae/saved_model")
    assert "each runs in onnxruntime" in capsys.readouterr().out


def test_command_mistakes_are_one_line_and_exit_2_with_nothing_written(export_command, model_dirs, tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    cases = [
        [model_dirs["ae"], "--format", "onnx", "--output", tmp_path / "taken"],
        [tmp_path / "no-such-model", "--format", "litert", "--output", tmp_path / "out"],
    ]
    before = snapshot(tmp_path)
    for argv in cases:
        assert_usage_error(export_command(*argv), capsys.readouterr().err, "error:", unchanged={tmp_path: before})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
