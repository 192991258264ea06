"""The model's image shape through every serving path: aezoo.load, denoise/encode/sample, export, bench.

Tiny untrained models at (32, 32, 3), (64, 64, 1) and (28, 28, 1), each saved as a model folder
(``model.keras`` and ``saved_model/``): what matters is the shape of what goes in and out, and that
the SavedModel, the ``.keras`` file and the other runtimes agree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import aezoo
from aezoo.commands import main
from aezoo.errors import UsageError
from aezoo.imageio import FITS, Framing, load_image
from tests.fixtures import TINY_HYPERPARAMETERS
from tests.helpers import WITHOUT_AEZOO_ENV, assert_usage_error, run_python

SHAPES = [(32, 32, 3), (64, 64, 1), (28, 28, 1)]
ARTIFACTS = ["saved_model", "model.keras"]
CLASSES = 3  # the conditional model's: not the digits, so nothing can pass by assuming ten


def shape_id(shape: tuple[int, int, int]) -> str:
    return "x".join(map(str, shape))


def model_folder(root: Path, shape: tuple[int, int, int], kind: str) -> Path:
    return root / shape_id(shape) / kind


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ROOT/HxWxC/{ae,vae}``, ``ROOT/32x32x3/cvae`` (3 classes) and ``ROOT/64x64x1/vqvae``, each
    a model folder with ``model.keras`` and a SavedModel."""
    import keras

    from aezoo.export import export_saved_model
    from aezoo.families import build

    root = tmp_path_factory.mktemp("shaped")
    wanted = [(shape, kind, {}) for shape in SHAPES for kind in ("ae", "vae")]
    wanted += [((32, 32, 3), "cvae", {"num_classes": CLASSES}), ((64, 64, 1), "vqvae", {})]
    for shape, kind, extra in wanted:
        keras.utils.set_random_seed(0)
        model = build(kind, image_shape=shape, **TINY_HYPERPARAMETERS, **extra)
        model.build()
        folder = model_folder(root, shape, kind)
        folder.mkdir(parents=True)
        model.save(folder / "model.keras")
        export_saved_model(model, folder / "saved_model")
    return root


def images_of(shape: tuple[int, ...], count: int = 3, seed: int = 0) -> np.ndarray:
    """uint8 images ``[count, *shape]``: smooth enough that resizing them means something."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (count, 4, 4, shape[-1] if len(shape) == 3 else 1), dtype=np.uint8)
    big = np.stack([np.asarray(Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
                               .resize((shape[1], shape[0]), Image.Resampling.BILINEAR)) for image in small])
    return big.reshape(count, *shape)


def picture(path: Path, size: tuple[int, int], colour: bool = True) -> Path:
    """A picture of ``size`` (width, height): light paper, a red disc in the middle, a dark blue bar on the left."""
    image = Image.new("RGB", size, (230, 220, 200))
    w, h = size
    draw = ImageDraw.Draw(image)
    draw.ellipse((w // 3, h // 4, 2 * w // 3, 3 * h // 4), fill=(200, 30, 40))
    draw.rectangle((0, 0, w // 8, h), fill=(20, 40, 120))
    path.parent.mkdir(parents=True, exist_ok=True)
    (image if colour else image.convert("L")).save(path)
    return path


# --- aezoo.load ----------------------------------------------------------------------------------


@pytest.mark.parametrize("artifact", ARTIFACTS)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_a_loaded_model_takes_and_gives_its_own_shape(models: Path, shape, artifact: str) -> None:
    height, width, channels = shape
    model = aezoo.load(model_folder(models, shape, "ae") / artifact)
    assert model.image_shape == shape and model.num_classes is None
    own = images_of(shape)
    dims = (height, width) if channels == 1 else shape
    assert model.denoise(own).shape == own.shape
    assert model.denoise(own[0]).shape == shape
    if channels == 1:  # a grey model also takes [N,H,W] and [H,W], and answers in kind
        assert model.denoise(own[..., 0]).shape == (3, height, width)
        assert model.denoise(own[0, ..., 0]).shape == (height, width)
        np.testing.assert_allclose(model.denoise(own[..., 0]), model.denoise(own)[..., 0], atol=1e-6)
    z = model.encode(own)
    assert z.shape == (3, 4) and model.encode(own[0]).shape == (4,)
    assert model.decode(z).shape == (3, *dims) and model.decode(z[0]).shape == dims
    keras_model = aezoo.load(model_folder(models, shape, "ae") / "model.keras")
    np.testing.assert_allclose(model.denoise(own), keras_model.denoise(own), atol=1e-5)
    np.testing.assert_allclose(model.decode(z), keras_model.decode(z), atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES[:2], ids=shape_id)
def test_other_sizes_and_channels_are_brought_to_the_models_shape(models: Path, shape) -> None:
    model = aezoo.load(model_folder(models, shape, "ae"))
    dims = shape[:2] if shape[-1] == 1 else shape
    other = images_of((40, 24, 3 if shape[-1] == 1 else 1))  # the other channel count, another size
    for fit in ("resize", "crop", "pad"):
        assert model.denoise(other, fit=fit).shape == (3, *dims)
        # The fit reaches the model: the same as the images brought by hand. (Embeddings, since an
        # untrained decoder draws nearly the same grey whatever it is given.)
        brought = Framing(shape, fit).bring(other / np.float32(255))
        np.testing.assert_allclose(model.denoise(other, fit=fit), model.denoise(brought), atol=1e-6)
        np.testing.assert_allclose(model.encode(other, fit=fit), model.encode(brought), atol=1e-5)
    assert np.abs(model.encode(other, fit="crop") - model.encode(other, fit="pad")).max() > 1e-3
    np.testing.assert_array_equal(model.encode(other), model.encode(other, fit="resize"))  # the default
    assert model.encode(other[0], fit="pad").shape == (4,)


def test_a_digit_model_takes_other_sizes_only_when_a_fit_is_asked_for(models: Path) -> None:
    model = aezoo.load(model_folder(models, (28, 28, 1), "ae"))
    other = images_of((32, 32, 1))
    with pytest.raises(UsageError, match=r"images: shape \[3, 32, 32, 1\] is not accepted; use \[N,28,28\], "
                                         r"\[N,28,28,1\], \[28,28\] or \[28,28,1\] \(give the fit"):
        model.denoise(other)
    assert model.denoise(other, fit="resize").shape == (3, 28, 28)
    with pytest.raises(UsageError, match=r"fit 'squash' is unknown; use one of resize, crop, pad, mnist; fit "
                                         r"brings other image sizes to the model's 28x28 grey"):
        model.denoise(other, fit="squash")


def test_how_each_fit_frames_a_wide_array() -> None:
    """A 20x60 strip of paper (0.2, 0.4, 0.6) with a 10x10 red square in the middle, brought to 16x16."""
    paper, red = np.array([0.2, 0.4, 0.6], np.float32), np.array([1.0, 0.0, 0.0], np.float32)
    strip = np.empty((1, 20, 60, 3), np.float32)
    strip[:] = paper
    strip[:, 5:15, 25:35] = red
    resized, cropped, padded = (Framing((16, 16, 3), fit).bring(strip)[0] for fit in ("resize", "crop", "pad"))
    reddest = lambda image: int((image[:, :, 0] > 0.9).any(axis=0).sum())  # noqa: E731  columns the square spans
    assert reddest(resized) <= 3 and reddest(cropped) == 8  # squeezed to 16/60 of its width; 16/20 of it kept
    np.testing.assert_allclose(cropped[0, 0], paper, atol=1e-6)
    # Padded: the strip fits as 5x16 (rows 5-9), on its paper above and below.
    np.testing.assert_allclose(padded[:5], np.broadcast_to(paper, (5, 16, 3)), atol=1e-6)
    np.testing.assert_allclose(padded[10:], np.broadcast_to(paper, (6, 16, 3)), atol=1e-6)
    assert padded[7, 8, 0] > 0.9
    grey = Framing((4, 4, 1), "resize").bring(np.full((1, 4, 4, 3), [1.0, 0.5, 0.0], np.float32))
    np.testing.assert_allclose(grey, 0.299 + 0.587 * 0.5, atol=1e-6)  # luminance, as Pillow's "L"
    colour = Framing((4, 4, 3), "resize").bring(np.full((1, 4, 4), 0.25, np.float32))
    assert colour.shape == (1, 4, 4, 3)
    np.testing.assert_allclose(colour, 0.25, atol=1e-7)  # grey repeated


def test_pictures_keep_their_colour_for_a_colour_model(tmp_path: Path) -> None:
    path = picture(tmp_path / "p.png", (60, 40))
    colour = load_image(path, framing=Framing((32, 32, 3)))
    assert colour.shape == (32, 32, 3)
    red = colour[16, 16]
    assert red[0] > 0.6 and red[1] < 0.3 and red[2] < 0.3  # the disc at the centre stays red
    grey = load_image(path, framing=Framing((32, 32, 1)))
    assert grey.shape == (32, 32) and abs(float(grey[16, 16]) - float(red @ [0.299, 0.587, 0.114])) < 0.02
    cropped = load_image(path, framing=Framing((32, 32, 3), "crop"))
    assert cropped[16, 0, 0] > 0.8  # the blue bar on the left is cropped away: paper...
    assert load_image(path, framing=Framing((32, 32, 3), "resize"))[16, 0, 0] < 0.2  # ...not when resized
    padded = load_image(path, framing=Framing((32, 32, 3), "pad"))
    np.testing.assert_allclose(padded[0, 16], np.array([230, 220, 200]) / 255, atol=0.02)  # paper above


def test_the_conditional_model_takes_its_own_classes(models: Path) -> None:
    folder = model_folder(models, (32, 32, 3), "cvae")
    assert json.loads((folder / "saved_model" / "aezoo.json").read_text())["num_classes"] == CLASSES
    images = images_of((32, 32, 3))
    for artifact in ARTIFACTS:
        cvae = aezoo.load(folder / artifact)
        assert cvae.num_classes == CLASSES
        assert cvae.denoise(images, [0, 1, 2]).shape == images.shape
        with pytest.raises(UsageError, match=r"labels: 3 \(label 1\) is not a class of this model; labels are 0-2"):
            cvae.denoise(images, [0, 3, 1])
        with pytest.raises(UsageError, match=r"is conditioned on the image's class: give one label \(0-2\)"):
            cvae.encode(images)


def test_records_that_disagree_with_the_signatures_are_refused(models: Path, tmp_path: Path) -> None:
    saved = shutil.copytree(model_folder(models, (32, 32, 3), "ae") / "saved_model", tmp_path / "saved_model")
    record = json.loads((saved / "aezoo.json").read_text())
    (saved / "aezoo.json").write_text(json.dumps({**record, "image_shape": [28, 28, 1]}))
    with pytest.raises(UsageError, match=r"aezoo.json says the model takes 28x28 grey images, but its signatures "
                                         r"take 32x32 colour \(3 channels\)"):
        aezoo.load(saved)


# --- the commands --------------------------------------------------------------------------------


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_denoise_command_brings_pictures_by_each_fit(models: Path, tmp_path: Path, capsys, shape, fit: str) -> None:
    height, width, channels = shape
    inputs = tmp_path / "in"
    paths = [picture(inputs / "wide.png", (70, 30)), picture(inputs / "tall.jpg", (30, 50), colour=False)]
    np.save(tmp_path / "other.npy", images_of((40, 48, 3)))
    out = tmp_path / "out"
    status = main(["denoise", str(model_folder(models, shape, "ae")), str(inputs), str(tmp_path / "other.npy"),
                   "-o", str(out), "--fit", fit])
    assert status == 0, capsys.readouterr().err
    model = aezoo.load(model_folder(models, shape, "ae"))
    for path in paths:
        with Image.open(out / "in" / f"{path.stem}.png") as result:
            assert result.size == (width, height) and result.mode == ("L" if channels == 1 else "RGB")
            written = np.asarray(result, np.float32) / 255
        expected = model.denoise(load_image(path, framing=Framing(shape, fit)))
        np.testing.assert_allclose(written, expected, atol=0.6 / 255)
    dims = (height, width) if channels == 1 else shape
    arrays = np.load(out / "other.npy")
    assert arrays.shape == (3, *dims)
    np.testing.assert_allclose(arrays, model.denoise(images_of((40, 48, 3)), fit=fit), atol=1e-5)
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.mode == ("L" if channels == 1 else "RGB")


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_arrays_of_the_models_shape_keep_theirs(models: Path, tmp_path: Path, shape) -> None:
    own = images_of(shape)
    np.save(tmp_path / "own.npy", own)
    z = tmp_path / "z.npy"
    assert main(["denoise", str(model_folder(models, shape, "ae")), str(tmp_path / "own.npy"),
                 "-o", str(tmp_path / "out")]) == 0
    assert main(["encode", str(model_folder(models, shape, "ae")), str(tmp_path / "own.npy"), "-o", str(z)]) == 0
    model = aezoo.load(model_folder(models, shape, "ae"))
    np.testing.assert_allclose(np.load(tmp_path / "out" / "own.npy"), model.denoise(own), atol=1e-5)
    np.testing.assert_allclose(np.load(z), model.encode(own), atol=1e-5)


def test_encode_command_fits_pictures_and_writes_the_grid(models: Path, tmp_path: Path) -> None:
    path = picture(tmp_path / "in" / "p.png", (50, 90))
    z = tmp_path / "z.npy"
    folder = model_folder(models, (64, 64, 1), "vqvae")
    assert main(["encode", str(folder), str(path), "-o", str(z), "--fit", "crop"]) == 0
    vqvae = aezoo.load(folder)
    assert np.load(z).shape == (1, *vqvae.embedding_shape) and vqvae.embedding_shape[:2] == (16, 16)
    np.testing.assert_allclose(np.load(z)[0], vqvae.encode(load_image(path, framing=Framing((64, 64, 1), "crop"))),
                               atol=1e-5)


@pytest.mark.parametrize("suffix", [".bmp", ".tiff", ".webp"])
def test_more_image_formats_are_read(models: Path, tmp_path: Path, suffix: str) -> None:
    path = picture(tmp_path / f"p{suffix}", (40, 40))
    out = tmp_path / "out"
    assert main(["denoise", str(model_folder(models, (32, 32, 3), "ae")), str(path), "-o", str(out)]) == 0
    with Image.open(out / "p.png") as result:
        assert result.size == (32, 32) and result.mode == "RGB"


def test_label_mistakes_follow_the_models_classes(models: Path, tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "x.npy", images_of((32, 32, 3), 2))
    folder = model_folder(models, (32, 32, 3), "cvae")
    out = tmp_path / "out"
    status = main(["denoise", str(folder), str(tmp_path / "x.npy"), "-o", str(out), "--label", "3"])
    assert_usage_error(status, capsys.readouterr().err, "--label 3: not a class of this model; labels are 0-2",
                       absent=[out])
    status = main(["denoise", str(folder), str(tmp_path / "x.npy"), "-o", str(out)])
    assert_usage_error(status, capsys.readouterr().err, "is conditioned on the image's class: give --labels FILE "
                       "(one class 0-2 per image", absent=[out])
    assert main(["denoise", str(folder), str(tmp_path / "x.npy"), "-o", str(out), "--label", "2"]) == 0
    samples = tmp_path / "s.npy"
    status = main(["sample", str(folder), "--label", "3", "-o", str(samples)])
    assert_usage_error(status, capsys.readouterr().err, "--label must be a class of this model 0-2, got 3",
                       absent=[samples])


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_sample_writes_the_models_shape(models: Path, tmp_path: Path, shape) -> None:
    height, width, channels = shape
    folder = model_folder(models, shape, "vae")
    assert main(["sample", str(folder), "--n", "5", "--columns", "3", "-o", str(tmp_path / "s.npy")]) == 0
    assert main(["sample", str(folder), "--n", "5", "--columns", "3", "-o", str(tmp_path / "s.png")]) == 0
    drawn = np.load(tmp_path / "s.npy")
    assert drawn.shape == ((5, height, width) if channels == 1 else (5, *shape))
    with Image.open(tmp_path / "s.png") as grid:
        assert grid.size == (3 * width + 2 * 2, 2 * height + 2) and grid.mode == ("L" if channels == 1 else "RGB")
        np.testing.assert_allclose(np.asarray(grid, np.float32)[:height, :width] / 255, drawn[0], atol=0.6 / 255)


# --- served without aezoo, and by other runtimes --------------------------------------------------


def test_saved_models_of_every_shape_serve_without_aezoo(models: Path, tmp_path: Path) -> None:
    """tests/test_families.py's script, once per shape in one process that never imports aezoo."""
    from tests.test_families import SERVE_WITHOUT_AEZOO

    jobs = []
    for shape in SHAPES:
        root = tmp_path / shape_id(shape)
        root.mkdir()
        np.save(root / "x.npy", images_of(shape, 4).astype(np.float32) / 255)
        np.save(root / "labels.npy", np.array([0, 1, 2, 1], np.int32))
        names = sorted(p.name for p in (models / shape_id(shape)).iterdir())
        for name in names:
            shutil.copytree(models / shape_id(shape) / name / "saved_model", root / name)
        jobs.append([str(root), *names])
    (tmp_path / "serve.py").write_text(SERVE_WITHOUT_AEZOO)
    driver = ("import json, sys\nsource = open(sys.argv[1]).read()\n"
              "for job in json.loads(sys.argv[2]):\n    sys.argv = ['serve.py', *job]\n    exec(source, {})\n")
    (tmp_path / "driver.py").write_text(driver)
    done = run_python(tmp_path / "driver.py", [tmp_path / "serve.py", json.dumps(jobs)], cwd=tmp_path,
                      env=WITHOUT_AEZOO_ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    for line in done.stdout.strip().splitlines()[-3:]:
        assert json.loads(line)["aezoo_imported"] is False
    for shape, (root, *names) in zip(SHAPES, jobs):
        x, labels = np.load(Path(root) / "x.npy"), np.load(Path(root) / "labels.npy")
        for name in names:
            served = np.load(Path(root) / f"{name}.npz")
            model = aezoo.load(model_folder(models, shape, name) / "model.keras")
            given = labels if model.num_classes else None
            assert served["denoise"].shape == (4, *shape), (shape, name)
            np.testing.assert_allclose(served["denoise"], model.denoise(x, given), atol=1e-5)
            np.testing.assert_allclose(served["encode"], model.encode(x, given), atol=1e-5)


def test_onnx_export_of_a_colour_model_runs_in_onnxruntime(models: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    from aezoo.runtimes import open_runtime, read_manifest, serving_speed

    folder = model_folder(models, (32, 32, 3), "ae")
    out = tmp_path / "onnx"
    assert main(["export", str(folder), "--format", "onnx", "-o", str(out)]) == 0, capsys.readouterr().err
    assert read_manifest(out)["files"]["denoise"]["input"]["shape"] == [None, 32, 32, 3]
    model = aezoo.load(folder)
    images = images_of((32, 32, 3), 5).astype(np.float32) / 255
    np.testing.assert_allclose(open_runtime(out / "denoise.onnx")(images), model.denoise(images), atol=1e-5)
    z = open_runtime(out / "encode.onnx")(images)
    np.testing.assert_allclose(z, model.encode(images), atol=1e-5)
    np.testing.assert_allclose(open_runtime(out / "decode.onnx")(z), model.decode(z), atol=1e-5)
    rates = serving_speed(folder / "saved_model", out, batch_sizes=(1, 4), rounds=1, seconds=0.05)
    assert set(rates) == {"saved_model", "onnx"} and rates["onnx"][4] > 0


def test_litert_export_of_a_large_grey_model(models: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("ai_edge_litert")
    from aezoo.runtimes import open_runtime

    folder = model_folder(models, (64, 64, 1), "ae")
    out = tmp_path / "litert"
    assert main(["export", str(folder), "--format", "litert", "-o", str(out)]) == 0, capsys.readouterr().err
    images = images_of((64, 64, 1), 2).astype(np.float32) / 255
    np.testing.assert_allclose(open_runtime(out / "denoise.tflite")(images), aezoo.load(folder).denoise(images),
                               atol=1e-5)


def test_the_bench_serves_the_models_shape(models: Path) -> None:
    from aezoo.bench import measure

    peak = measure.serving_peak_rss(model_folder(models, (32, 32, 3), "ae") / "saved_model", batch_size=4)
    assert peak["peak_rss_mb"] > 0


def test_imageio_reads_the_suffixes_the_training_folders_do() -> None:
    from aezoo.datasets.image_files import IMAGE_SUFFIXES
    from aezoo.imageio import IMAGE_SUFFIXES as SERVED

    assert SERVED == IMAGE_SUFFIXES
