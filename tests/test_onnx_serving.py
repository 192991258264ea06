"""The benchmark's ONNX Runtime serving figures (aezoo.bench.onnx_serving). No time is asserted."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aezoo.bench import onnx_serving
from aezoo.errors import UsageError
from tests.fixtures import TINY_HYPERPARAMETERS


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras

    from aezoo.export import export_saved_model
    from aezoo.families import build

    keras.utils.set_random_seed(0)
    model = build("ae", **TINY_HYPERPARAMETERS)
    model.build()
    return export_saved_model(model, tmp_path_factory.mktemp("bench") / "ae")


def test_onnx_and_saved_model_are_timed_at_batch_1_and_1024_and_references_skipped(saved_model, tmp_path):
    speeds = onnx_serving.onnx_serving_speeds({"textbook": tmp_path / "not-an-aezoo-model", "ae": saved_model},
                                              ["textbook"], tmp_path, quick=True)
    assert list(speeds) == ["ae"]
    assert set(speeds["ae"]) == {f"{runtime}_batch{size}_images_per_second" for size in (1, 1024)
                                 for runtime in ("onnx", "saved_model_denoise")}
    assert all(math.isfinite(v) and v > 0 for v in speeds["ae"].values())
    assert (tmp_path / "ae-onnx" / "denoise.onnx").is_file()  # the ONNX file that was timed


def test_quick_mode_times_one_model_only(saved_model, tmp_path):
    speeds = onnx_serving.onnx_serving_speeds({"ae": saved_model, "ae2": saved_model}, [], tmp_path, quick=True)
    assert list(speeds) == ["ae"]


def test_a_model_the_exporter_refuses_is_left_out(saved_model, tmp_path, monkeypatch):
    from aezoo import runtimes

    def refuse(*args, **kwargs):
        raise UsageError("onnx export of denoise is not possible with tf2onnx: planted")

    monkeypatch.setattr(runtimes, "export_model", refuse)
    assert onnx_serving.onnx_serving_speeds({"ae": saved_model}, [], tmp_path, quick=False) == {}
