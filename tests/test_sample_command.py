"""``python -m aezoo sample``: reproducible digits from any model that can generate; one line for mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aezoo.commands import run_command
from tests.fixtures import TINY_HYPERPARAMETERS
from tests.helpers import REPO, assert_usage_error, snapshot

_PARSE_ONLY = """
import contextlib, io, json, sys
from aezoo.commands import run_command
model, out = sys.argv[1], sys.argv[2]
cases = [("sample", ["--help"]), ("sample", [model, "--n", "0", "--output", out]),
         ("sample", [model, "--label", "11", "--output", out]), ("sample", [model, "--output", out + ".txt"]),
         ("sample", [model + "-missing", "--output", out]), ("analyze", [model, "--nll-samples", "0"])]
results = []
for command, argv in cases:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = run_command(command, argv, prog=command)
    results.append([status, err.getvalue()])
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "results": results}))
"""


def test_bad_values_are_one_line_before_tensorflow_loads(tiny_run, tmp_path):
    out = tmp_path / "samples.npy"
    before = snapshot(tiny_run)
    done = subprocess.run([sys.executable, "-c", _PARSE_ONLY, str(tiny_run / "vae"), str(out)], capture_output=True,
                          text=True, check=True, env=os.environ | {"PYTHONPATH": str(REPO)})
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["tensorflow"] is False
    (help_status, _), *mistakes = found["results"]
    assert help_status == 0
    messages = ["--n must be between 1", "--label must be a digit class 0-9, got 11", "must end in .png or .npy",
                "no such model", "--nll-samples must be an integer >= 1, got 0"]
    for (status, stderr), message in zip(mistakes, messages):
        assert_usage_error(status, stderr, message, absent=[out, Path(f"{out}.txt")], unchanged={tiny_run: before})


def sample(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    status = run_command("sample", [str(a) for a in argv], prog="sample")
    return status, capsys.readouterr().err


def test_samples_are_reproducible_for_a_seed(tiny_run, tmp_path, capsys):
    paths = [tmp_path / name for name in ("a.npy", "b.npy", "c.npy")]
    for path, seed in zip(paths, (5, 5, 6)):
        assert sample(capsys, tiny_run, "--model-kind", "vae", "--n", 7, "--seed", seed, "--output", path)[0] == 0
    a, b, c = (np.load(path) for path in paths)
    assert a.shape == (7, 28, 28) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # The AE samples through its fitted mixture, the same way.
    for path in paths[:2]:
        assert sample(capsys, tiny_run / "ae", "--n", 3, "--seed", 1, "--output", path)[0] == 0
    np.testing.assert_array_equal(np.load(paths[0]), np.load(paths[1]))


def test_png_grid_has_the_asked_shape(tiny_run, tmp_path, capsys):
    from PIL import Image

    assert sample(capsys, tiny_run / "vae", "--n", 10, "--columns", 4, "--output", tmp_path / "grid.png")[0] == 0
    with Image.open(tmp_path / "grid.png") as image:
        assert image.size == (4 * 28 + 3 * 2, 3 * 28 + 2 * 2) and image.mode == "L"


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model.keras files of an (untrained) U-Net and CVAE: what matters is what they can do."""
    from aezoo.families import build

    folder = tmp_path_factory.mktemp("untrained")
    for kind in ("unet", "cvae"):
        model = build(kind, **TINY_HYPERPARAMETERS)
        model.build()
        (folder / kind).mkdir()
        model.save(folder / kind / "model.keras")
    return folder


def test_a_model_that_cannot_generate_is_one_line(untrained, tmp_path, capsys):
    out = tmp_path / "u.png"
    status, err = sample(capsys, untrained / "unet", "--output", out)
    assert_usage_error(status, err, "cannot generate: it has no latent space", absent=[out])
    status, err = sample(capsys, untrained, "--model-kind", "vae", "--output", out)
    assert_usage_error(status, err, "has no vae model", absent=[out])


def test_label_is_for_conditional_models_only(untrained, tiny_run, tmp_path, capsys):
    import keras

    out = tmp_path / "sevens.npy"
    assert sample(capsys, untrained / "cvae", "--label", 7, "--n", 4, "--seed", 2, "--output", out)[0] == 0
    cvae = keras.saving.load_model(untrained / "cvae" / "model.keras")
    from aezoo.samplers.prior import PriorSampler

    np.testing.assert_allclose(np.load(out), PriorSampler(cvae).sample(4, labels=7, seed=2)[..., 0], atol=1e-6)
    status, err = sample(capsys, tiny_run / "vae", "--label", 7, "--output", tmp_path / "x.npy")
    assert_usage_error(status, err, "not conditional", absent=[tmp_path / "x.npy"])


def test_the_command_lines_copy_of_the_default_k_matches_the_library():
    from aezoo.commands.analyze import DEFAULT_NLL_SAMPLES
    from aezoo.evaluation.likelihood import DEFAULT_SAMPLES

    assert DEFAULT_NLL_SAMPLES == DEFAULT_SAMPLES
