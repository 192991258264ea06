"""The denoise and encode commands, in-process through aezoo.commands.main and as real subprocesses."""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import aezoo.commands
from aezoo.commands import main
from aezoo.datasets.idx import write_idx
from tests.helpers import REPO, assert_usage_error, run_python, stderr_lines, subprocess_env
from tests.model_doubles import image_to_image_family, save_image_to_image  # noqa: F401


def digit_png(path: Path, size: tuple[int, int] = (40, 60), dark_on_light: bool = True) -> Path:
    ink, paper = (0, 255) if dark_on_light else (255, 0)
    image = Image.new("L", size, paper)
    w, h = size
    ImageDraw.Draw(image).ellipse((w // 4, h // 6, 3 * w // 4, 5 * h // 6), outline=ink, width=max(2, w // 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder with two good images (one in a subfolder) and a .npy of 3 digits."""
    folder = tmp_path / "in"
    digit_png(folder / "digits" / "zero.png")
    digit_png(folder / "digits" / "more" / "o.jpg", size=(100, 80), dark_on_light=False)
    np.save(folder / "three.npy", np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8))
    return folder


def test_denoise_images_and_arrays(tiny_run: Path, inputs: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = main(["denoise", str(tiny_run), str(inputs / "digits"), str(inputs / "three.npy"), "--output", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Using the ae model (saved_model:" in captured.out
    assert stderr_lines(captured.err) == []
    for png in ("digits/zero.png", "digits/more/o.png"):
        with Image.open(out / png) as image:
            assert image.mode == "L" and image.size == (28, 28)
    denoised = np.load(out / "three.npy")
    assert denoised.shape == (3, 28, 28, 1) and denoised.dtype == np.float32
    assert 0.0 <= denoised.min() and denoised.max() <= 1.0
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.size[0] > 5 * 2 * 56  # five side-by-side pairs in one row


def test_array_output_matches_the_python_api(tiny_run: Path, tmp_path: Path) -> None:
    import aezoo

    images = np.random.default_rng(1).random((7, 28, 28), dtype=np.float32)
    np.save(tmp_path / "x.npy", images)
    assert main(["denoise", str(tiny_run), str(tmp_path / "x.npy"), "-o", str(tmp_path / "out"),
                 "--batch-size", "3", "--sheet-size", "0"]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "out" / "x.npy"), aezoo.load(tiny_run).denoise(images), atol=1e-5)
    assert not (tmp_path / "out" / "contact_sheet.png").exists()


def test_single_28x28_array_and_idx(tiny_run: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "one.npy", np.zeros((28, 28), np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((12, 28, 28), np.uint8))
    out = tmp_path / "out"
    assert main(["denoise", str(tiny_run), str(tmp_path / "one.npy"), str(tmp_path / "t10k-images-idx3-ubyte"),
                 "-o", str(out)]) == 0
    assert np.load(out / "one.npy").shape == (28, 28)
    assert sorted(p.name for p in (out / "t10k-images-idx3").iterdir())[:2] == ["00.png", "01.png"]
    assert len(list((out / "t10k-images-idx3").iterdir())) == 12


def test_noise_is_reproducible_and_shown(tiny_run: Path, inputs: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        assert main(["denoise", str(tiny_run), str(inputs / "three.npy"), "-o", str(tmp_path / name),
                     "--noise", "salt_pepper", "--noise-strength", "0.3", "--seed", "5"]) == 0
        runs.append(np.load(tmp_path / name / "three.npy"))
    np.testing.assert_array_equal(*runs)
    with Image.open(tmp_path / "a" / "contact_sheet.png") as sheet:
        assert sheet.size[0] > 3 * 3 * 56  # three triples: input, noisy, denoised
    assert main(["denoise", str(tiny_run), str(inputs), "-o", str(tmp_path / "c"), "--noise-strength", "0.3"]) == 2
    assert main(["denoise", str(tiny_run), str(inputs), "-o", str(tmp_path / "c"), "--noise", "mask",
                 "--noise-strength", "2"]) == 2


def test_model_kind_and_keras_file(tiny_run: Path, inputs: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["denoise", str(tiny_run), str(inputs / "three.npy"), "-o", str(tmp_path / "v"),
                 "--model-kind", "vae"]) == 0
    assert "Using the vae model" in capsys.readouterr().out
    assert main(["denoise", str(tiny_run / "vae" / "model.keras"), str(inputs / "three.npy"),
                 "-o", str(tmp_path / "k")]) == 0
    assert "Using the vae model (keras:" in capsys.readouterr().out


def test_bad_inputs_are_skipped_with_one_line_each(tiny_run: Path, inputs: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    np.save(bad / "nan.npy", np.array([np.zeros((28, 28)), np.full((28, 28), np.nan)], np.float32))
    np.save(bad / "shape.npy", np.zeros((4, 27, 27), np.float32))
    np.save(bad / "dtype.npy", np.zeros((4, 28, 28), np.int16))
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    status = main(["denoise", str(tiny_run), str(inputs), str(bad / "corrupt.png"), str(bad / "nan.npy"),
                   str(bad / "shape.npy"), str(bad / "dtype.npy"), str(tmp_path / "empty"), "-o", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    lines = stderr_lines(captured.err)
    assert len(lines) == 5, lines
    for name, problem in [("corrupt.png", "cannot read image"), ("nan.npy", "contains nan in image 1"),
                          ("shape.npy", "shape [4, 27, 27] is not accepted"), ("dtype.npy", "dtype int16"),
                          ("empty", "folder holds no PNG")]:
        assert sum(name in line and problem in line and "warning" in line for line in lines) == 1, (name, lines)
    # The good inputs were still written; the bad array left no partial output.
    assert (out / "in" / "digits" / "zero.png").exists() and (out / "in" / "three.npy").exists()
    assert not (out / "nan.npy").exists()
    assert "5 input(s) skipped" in captured.out


def test_strict_writes_nothing(tiny_run: Path, inputs: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "nan.npy", np.full((2, 28, 28), np.inf, np.float32))
    out = tmp_path / "out"
    status = main(["denoise", str(tiny_run), str(inputs), str(tmp_path / "nan.npy"), "-o", str(out), "--strict"])
    assert_usage_error(status, capsys.readouterr().err, "nan.npy: contains inf in image 0", absent=[out])


@pytest.mark.parametrize("name, message", [
    ("missing", "missing: no such model file or folder"),
    ("junk.keras", "junk.keras: not a readable .keras file"),
    ("other.keras", "other.keras: holds a model of class 'keras.Sequential', not one of aezoo's"),
])
def test_bad_model_is_one_line(inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               name: str, message: str) -> None:
    import keras

    (tmp_path / "junk.keras").write_bytes(b"junk")
    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()]).save(tmp_path / "other.keras")
    model = tmp_path / name
    status = main(["denoise", str(model), str(inputs), "-o", str(tmp_path / "out")])
    line = assert_usage_error(status, capsys.readouterr().err, message, absent=[tmp_path / "out"])
    assert line.startswith("python -m aezoo denoise: error:")


def test_result_may_not_overwrite_an_input(tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    digit_png(tmp_path / "x.png")
    before = (tmp_path / "x.png").read_bytes()
    status = main(["denoise", str(tiny_run), str(tmp_path / "x.png"), "-o", str(tmp_path)])
    assert_usage_error(status, capsys.readouterr().err, "x.png: the result would overwrite an input",
                       absent=[tmp_path / "contact_sheet.png"])
    assert (tmp_path / "x.png").read_bytes() == before


def test_encode(tiny_run: Path, inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.png").write_bytes(b"nope")
    out = tmp_path / "emb" / "z.npy"
    status = main(["encode", str(tiny_run), str(inputs), str(tmp_path / "bad.png"), "-o", str(out),
                   "--model-kind", "vae"])
    assert_usage_error(status, capsys.readouterr().err, "bad.png")  # skipped: one line, exit 2, the rest encoded
    embeddings = np.load(out)
    assert embeddings.shape == (5, 4) and embeddings.dtype == np.float32
    rows = (tmp_path / "emb" / "z.rows.txt").read_text().splitlines()
    assert len(rows) == 5 and rows[0].endswith("more/o.jpg") and rows[1].endswith("zero.png") and rows[-1].endswith("three.npy:2")

    import aezoo

    vae = aezoo.load(tiny_run, model_kind="vae")
    np.testing.assert_allclose(embeddings[2:], vae.encode(np.load(inputs / "three.npy")), atol=1e-5)
    assert main(["encode", str(tiny_run), str(inputs), "-o", str(tmp_path / "z.csv")]) == 2


def test_console_scripts_are_declared() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    scripts = config["options.entry_points"]["console_scripts"]
    for name, function in [("aezoo-denoise", "denoise_entry"), ("aezoo-encode", "encode_entry")]:
        assert f"{name} = aezoo.commands:{function}" in scripts
        assert callable(getattr(aezoo.commands, function))


# --- real processes ----------------------------------------------------------------------------


def test_subprocess_bad_model_is_exactly_one_stderr_line(tmp_path: Path) -> None:
    """Checked before TensorFlow is imported, so stderr holds nothing but aezoo's line."""
    digit_png(tmp_path / "x.png")
    (tmp_path / "not_a_model").mkdir()
    result = run_python("-m aezoo", ["denoise", "not_a_model", "x.png", "--output", "out"], cwd=tmp_path,
                        timeout=300, env=subprocess_env(quiet=False))  # no log level set, as in a user's shell
    line = assert_usage_error(result.returncode, result.stderr, absent=[tmp_path / "out"])
    assert result.stderr.splitlines() == [line]
    assert line.startswith("python -m aezoo denoise: error: not_a_model: not a model; expected a run folder (with ae/, vae/, beta_vae/")
    assert line.endswith("a model folder, a saved_model/ folder or a .keras file")


def test_subprocess_bad_image_is_skipped_and_the_good_one_written(tiny_run: Path, tmp_path: Path) -> None:
    digit_png(tmp_path / "good.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    result = run_python("-m aezoo", ["denoise", tiny_run, "good.png", "bad.jpg", "--output", "out"], cwd=tmp_path,
                        timeout=300)
    line = assert_usage_error(result.returncode, result.stderr)
    assert re.fullmatch(r"python -m aezoo denoise: warning: bad\.jpg: cannot read image \(.+\) \(skipped\)", line)
    assert (tmp_path / "out" / "good.png").exists() and (tmp_path / "out" / "contact_sheet.png").exists()


# --- robustness: each case was first reproduced against the command line -----------------------


def one_warning(err: str, name: str, problem: str) -> None:
    lines = stderr_lines(err)
    assert len(lines) == 1 and name in lines[0] and problem in lines[0] and "(skipped)" in lines[0], lines
    assert "Traceback" not in err and "DecompressionBombWarning" not in err


def idx_header(*shape: int) -> bytes:
    return bytes([0, 0, 8, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def test_encode_refuses_to_overwrite_its_input(tiny_run: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    digits = tmp_path / "digits.npy"
    np.save(digits, np.zeros((3, 28, 28), np.uint8))
    before = digits.read_bytes()
    status = main(["encode", str(tiny_run), str(digits), "--output", str(digits)])
    assert_usage_error(status, capsys.readouterr().err, "digits.npy: the result would overwrite an input",
                       absent=[tmp_path / "digits.rows.txt"])
    assert digits.read_bytes() == before


def test_crafted_keras_file_is_refused_in_one_line(tiny_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.model_doubles import marker_lambda
    from tests.test_inference import smuggle

    import keras

    marker = tmp_path / "lambda-ran"
    crafted = smuggle(tiny_run / "ae" / "model.keras", tmp_path / "crafted.keras", ["config", "dtype"],
                      keras.saving.serialize_keras_object(marker_lambda(marker)))
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.uint8))
    for command, output in (("denoise", "out"), ("encode", "e.npy")):
        status = main([command, str(crafted), str(tmp_path / "x.npy"), "-o", str(tmp_path / output)])
        assert_usage_error(status, capsys.readouterr().err,
                           "crafted.keras: refused: config.dtype holds a serialised Lambda", absent=[tmp_path / output])
    assert not marker.exists()


def huge_idx(folder: Path) -> Path:
    (folder / "huge-idx3-ubyte").write_bytes(idx_header(2**31, 2**31, 4))
    return folder / "huge-idx3-ubyte"


def gzip_bomb(folder: Path) -> Path:
    from tests.test_idx import gzip_bomb as bomb

    return bomb(folder / "bomb-idx3-ubyte.gz", idx_header(1, 28, 28), inflated_mib=16)


def huge_png(folder: Path) -> Path:
    Image.new("L", (12000, 12000), 255).save(folder / "huge.png")
    return folder / "huge.png"


@pytest.mark.parametrize("make, problem", [
    (huge_idx, "is truncated or corrupt: header says shape (2147483648, 2147483648, 4)"),
    (gzip_bomb, "header says shape (1, 28, 28) (784 bytes of data) but the file holds more"),
    (huge_png, "image too large: 12000x12000 is 144,000,000 pixels"),
])
def test_hostile_input_is_skipped_and_the_others_kept(tiny_run: Path, tmp_path: Path, make, problem: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = make(tmp_path)
    digit_png(tmp_path / "good.png")
    out = tmp_path / "out"
    assert main(["denoise", str(tiny_run), str(bad), str(tmp_path / "good.png"), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    one_warning(captured.err, bad.name, problem)
    assert (out / "good.png").exists() and "Denoised 1 image(s)" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["contact_sheet.png", "good.png"]


def test_skipped_input_leaves_no_outputs(tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = np.random.default_rng(0).random((8, 28, 28)).astype(np.float32)
    images[5, 3, 3] = np.nan  # images 0-3 make a whole batch of 4 before the bad one
    write_idx(tmp_path / "nan-idx3-ubyte", images)
    digit_png(tmp_path / "good.png")
    for name, inputs in (("bad", ["nan-idx3-ubyte", "good.png"]), ("good", ["good.png"])):
        main(["denoise", str(tiny_run), *(str(tmp_path / i) for i in inputs), "-o", str(tmp_path / name),
              "--batch-size", "4"])
    captured = capsys.readouterr()
    one_warning(captured.err, "nan-idx3-ubyte", "contains nan in image 5")
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == ["contact_sheet.png", "good.png"]
    assert "Denoised 1 image(s)" in captured.out
    # The contact sheet shows the good image only: the same picture as a run without the bad input.
    assert (tmp_path / "bad" / "contact_sheet.png").read_bytes() == (tmp_path / "good" / "contact_sheet.png").read_bytes()


def test_two_inputs_never_share_an_output(tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(2):
        digit_png(tmp_path / "digits" / f"{i}.png")
    write_idx(tmp_path / "digits-ubyte", np.zeros((3, 28, 28), np.uint8))  # also digits/0.png...
    out = tmp_path / "out"
    assert main(["denoise", str(tiny_run), str(tmp_path / "digits"), str(tmp_path / "digits-ubyte"),
                 "-o", str(out)]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png") if p.name != "contact_sheet.png")
    assert written == ["digits-2/0.png", "digits-2/1.png", "digits-2/2.png", "digits/0.png", "digits/1.png"]
    assert "Denoised 5 image(s)" in capsys.readouterr().out


@pytest.fixture
def unwritable(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A folder this process cannot write in (permission bits do not stop an administrator)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    try:
        with open("/sys/aezoo-write-test", "w"):
            pass
    except OSError:
        yield Path("/sys")
        return
    pytest.skip("no unwritable folder for this user")


@pytest.mark.parametrize("command, output", [("denoise", "out"), ("encode", "out/e.npy")])
def test_unwritable_output_is_one_line_before_the_model_loads(tiny_run: Path, tmp_path: Path, unwritable: Path,
                                                              command: str, output: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import aezoo.commands.images

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(aezoo.commands.images, "load", no_loading)
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.uint8))
    status = main([command, str(tiny_run), str(tmp_path / "x.npy"), "-o", str(unwritable / output)])
    assert_usage_error(status, capsys.readouterr().err, f"cannot write in {unwritable}")


def test_encode_needs_a_latent_space(tmp_path: Path, image_to_image_family: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    model = save_image_to_image(tmp_path / "i2i.keras")
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.uint8))
    assert main(["denoise", str(model), str(tmp_path / "x.npy"), "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    status = main(["encode", str(model), str(tmp_path / "x.npy"), "-o", str(tmp_path / "e.npy")])
    assert_usage_error(status, capsys.readouterr().err, "has no latent space, so it cannot encode images",
                       absent=[tmp_path / "e.npy"])


def test_encode_and_denoise_share_a_module_not_each_other() -> None:
    import ast

    for name in ("encode", "denoise"):
        tree = ast.parse((REPO / "aezoo" / "commands" / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "aezoo.commands.images" in imported
        assert not imported & {"aezoo.commands.encode", "aezoo.commands.denoise"}, (name, imported)


def test_encode_does_not_overwrite_a_skipped_input_either(tiny_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    digit_png(folder / "good.png")
    (folder / "broken.npy").write_bytes(b"not numpy")  # skipped as bad, but still the user's file
    assert main(["encode", str(tiny_run), str(folder), "-o", str(folder / "broken.npy")]) == 2
    assert (folder / "broken.npy").read_bytes() == b"not numpy"
    assert main(["encode", str(tiny_run), str(folder / "broken.npy"), str(folder / "good.png"),
                 "-o", str(folder / "broken.npy")]) == 2
    assert (folder / "broken.npy").read_bytes() == b"not numpy"


# --- the zoo: labels for the conditional VAE, grids for the VQ-VAE, no encode for the U-Net -----


def test_cvae_denoises_with_labels_from_a_file_or_one_for_all(zoo_run: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Train (the zoo run) -> load -> denoise with labels, through the command line."""
    import aezoo

    digits = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "four.npy", digits)
    digit_png(tmp_path / "pngs" / "one.png")
    (tmp_path / "labels.txt").write_text("7\n1 2\n3\n9\n")  # the PNG first (folders in the order given), then the array
    np.save(tmp_path / "labels.npy", np.array([7, 1, 2, 3, 9]))
    cvae = aezoo.load(zoo_run, model_kind="cvae")
    expected = cvae.denoise(digits, [1, 2, 3, 9])
    for name, flags in (("text", ["--labels", str(tmp_path / "labels.txt")]),
                        ("npy", ["--labels", str(tmp_path / "labels.npy")])):
        out = tmp_path / name
        assert main(["denoise", str(zoo_run), str(tmp_path / "pngs"), str(tmp_path / "four.npy"), "-o", str(out),
                     "--model-kind", "cvae", "--batch-size", "3", *flags]) == 0, capsys.readouterr().err
        np.testing.assert_allclose(np.load(out / "four.npy"), expected, atol=1e-5)
        assert (out / "pngs" / "one.png").exists()
    out = tmp_path / "all-fives"
    assert main(["denoise", str(zoo_run / "cvae"), str(tmp_path / "four.npy"), "-o", str(out), "--label", "5"]) == 0
    np.testing.assert_allclose(np.load(out / "four.npy"), cvae.denoise(digits, 5), atol=1e-5)
    z = tmp_path / "z.npy"
    assert main(["encode", str(zoo_run / "cvae"), str(tmp_path / "four.npy"), "-o", str(z), "--label", "5"]) == 0
    np.testing.assert_allclose(np.load(z), cvae.encode(digits, 5), atol=1e-5)


@pytest.mark.parametrize("command", ["denoise", "encode"])
@pytest.mark.parametrize("model, flags, message", [
    ("cvae", [], "is conditioned on the digit's class: give --labels FILE (one class 0-9 per image, in input "
                 "order) or --label N (one class for all)"),
    ("cvae", ["--labels", "{tmp}/three.txt"], "three.txt: 3 label(s) for 2 image(s); give one label per image"),
    ("cvae", ["--labels", "{tmp}/eleven.txt"], "eleven.txt: 11 (label 1) is not a digit class; labels are 0-9"),
    ("cvae", ["--labels", "{tmp}/words.txt"], "words.txt: 'two' (label 1) is not an integer; labels are 0-9"),
    ("cvae", ["--labels", "{tmp}/missing.txt"], "missing.txt: cannot read it"),
    ("cvae", ["--label", "12"], "--label 12: not a digit class; labels are 0-9"),
    ("cvae", ["--label", "1", "--labels", "{tmp}/three.txt"], "argument --labels: not allowed with argument --label"),
    ("ae", ["--label", "1"], "--label: the ae model (saved_model: "),
    ("vae", ["--labels", "{tmp}/two.txt"], "--labels: the vae model (saved_model: "),
])
def test_label_mistakes_are_one_line_and_write_nothing(zoo_run: Path, tmp_path: Path, capsys, command: str,
                                                       model: str, flags: list[str], message: str) -> None:
    from tests.helpers import assert_usage_error

    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.uint8))
    for name, text in (("three", "1 2 3"), ("eleven", "1 11"), ("words", "1 two"), ("two", "1 2")):
        (tmp_path / f"{name}.txt").write_text(text)
    out = tmp_path / ("out" if command == "denoise" else "z.npy")
    status = main([command, str(zoo_run), str(tmp_path / "x.npy"), "-o", str(out), "--model-kind", model,
                   *(flag.format(tmp=tmp_path) for flag in flags)])
    assert_usage_error(status, capsys.readouterr().err, message, absent=[out])


def test_encode_on_a_unet_is_one_line_and_the_vqvae_writes_grids(zoo_run: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import assert_usage_error

    np.save(tmp_path / "x.npy", np.zeros((3, 28, 28), np.uint8))
    out = tmp_path / "z.npy"
    status = main(["encode", str(zoo_run), str(tmp_path / "x.npy"), "-o", str(out), "--model-kind", "unet"])
    assert_usage_error(status, capsys.readouterr().err, "the unet model (saved_model: ", absent=[out])
    assert main(["denoise", str(zoo_run / "unet"), str(tmp_path / "x.npy"), "-o", str(tmp_path / "d")]) == 0
    assert main(["encode", str(zoo_run / "vqvae"), str(tmp_path / "x.npy"), "-o", str(out)]) == 0
    assert np.load(out).shape == (3, 7, 7, 4)
    assert "embedding(s) of shape 7x7x4" in capsys.readouterr().out
