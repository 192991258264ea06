"""Reading PNG/JPEG/npy/IDX inputs, MNIST-style framing, and the writers (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aezoo.errors import UsageError
from aezoo.imageio import (
    ArrayFile, ContactSheet, ImageFile, collect_inputs, fit_digit, load_image, looks_dark_on_light,
    mnist_style, normalize_pixels, npy_writer, open_array, save_png,
)


def draw_digit(path: Path, size: tuple[int, int] = (60, 100), ink: int | tuple = 0, paper: int | tuple = 255,
               mode: str = "L", box: tuple[int, int, int, int] | None = None) -> Path:
    """A filled rectangle "digit" (tall by default) on plain paper."""
    image = Image.new(mode, size, paper)
    w, h = size
    ImageDraw.Draw(image).rectangle(box or (w // 3, h // 5, 2 * w // 3, 4 * h // 5), fill=ink)
    image.save(path)
    return path


def bbox(image: np.ndarray, level: float = 0.5) -> tuple[int, int]:
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    return float((ys * image).sum() / image.sum()) + 0.5, float((xs * image).sum() / image.sum()) + 0.5


# --- MNIST-style framing ---------------------------------------------------------------------


def test_dark_on_light_colour_jpeg_becomes_a_centred_mnist_digit(tmp_path: Path) -> None:
    path = draw_digit(tmp_path / "scan.jpg", size=(90, 150), ink=(20, 20, 40), paper=(235, 230, 220), mode="RGB")
    digit = load_image(path)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert 0.0 <= digit.min() and digit.max() <= 1.0
    assert digit[0].max() < 0.1 and digit.max() > 0.9, "light ink on a dark field, like MNIST"
    height, width = bbox(digit)
    assert height == 20 and width < 20, "the longer side fits the 20x20 box, aspect ratio kept"
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_wide_digit_is_scaled_by_its_width(tmp_path: Path) -> None:
    path = draw_digit(tmp_path / "wide.png", size=(200, 80), box=(20, 30, 180, 50))
    height, width = bbox(load_image(path))
    assert width == 20 and height < 8


def test_off_centre_digit_is_moved_to_the_centre() -> None:
    ink = np.zeros((100, 100), np.float32)
    ink[5:25, 70:80] = 1.0
    cy, cx = centre_of_mass(fit_digit(ink))
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_invert_is_detected_and_can_be_forced(tmp_path: Path) -> None:
    dark_on_light = draw_digit(tmp_path / "a.png")
    light_on_dark = draw_digit(tmp_path / "b.png", ink=255, paper=0)
    assert looks_dark_on_light(np.asarray(Image.open(dark_on_light), np.float32) / 255)
    auto_a, auto_b = load_image(dark_on_light), load_image(light_on_dark)
    np.testing.assert_allclose(auto_a, auto_b, atol=1e-6)
    small = draw_digit(tmp_path / "c.png", size=(28, 28))  # 28x28: inverted or not, never reframed
    paper = np.asarray(Image.open(small), np.float32) / 255
    np.testing.assert_allclose(load_image(small), 1 - paper, atol=1e-6)
    np.testing.assert_allclose(load_image(small, invert=False), paper, atol=1e-6)
    np.testing.assert_allclose(load_image(small, invert=True), 1 - paper, atol=1e-6)


def test_28x28_images_are_not_reframed(tmp_path: Path) -> None:
    """A noisy 28x28 digit is already framed; a bounding box of its noise would shrink it."""
    rng = np.random.default_rng(0)
    noisy = (rng.random((28, 28)) * 255).astype(np.uint8)
    Image.fromarray(noisy, mode="L").save(tmp_path / "noisy.png")
    np.testing.assert_allclose(load_image(tmp_path / "noisy.png", invert=False), noisy / 255, atol=1e-6)


def test_blank_image_is_all_zeros() -> None:
    assert not mnist_style(np.ones((50, 40), np.float32)).any()


def test_transparent_background_counts_as_paper(tmp_path: Path) -> None:
    path = draw_digit(tmp_path / "rgba.png", mode="RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))
    digit = load_image(path)
    assert digit[0].max() < 0.1 and bbox(digit)[0] == 20


def test_a_white_digit_on_a_transparent_background_is_not_blank(tmp_path: Path) -> None:
    """Issue 20 case 2: transparency was white paper, so white ink on it vanished (a blank input)."""
    path = draw_digit(tmp_path / "white.png", mode="RGBA", ink=(255, 255, 255, 255), paper=(255, 255, 255, 0))
    digit = load_image(path)
    assert digit[0].max() < 0.1 and digit.max() > 0.9 and bbox(digit)[0] == 20
    np.testing.assert_allclose(digit, load_image(draw_digit(tmp_path / "black.png", mode="RGBA",
                                                            ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))), atol=1e-6)


def test_transparent_margins_around_opaque_paper_take_the_papers_colour(tmp_path: Path) -> None:
    """Mostly opaque: the opaque part is the paper, and a transparent frame must not become ink."""
    image = Image.new("RGBA", (60, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 55, 95), fill=(250, 250, 250, 255))  # white paper, transparent margins
    draw.rectangle((20, 20, 40, 80), fill=(0, 0, 0, 255))  # dark ink
    image.save(tmp_path / "paper.png")
    digit = load_image(tmp_path / "paper.png")
    assert digit[0].max() < 0.1 and bbox(digit) == (20, 7)


def test_sixteen_bit_png(tmp_path: Path) -> None:
    array = np.zeros((28, 28), np.uint16)
    array[10:18, 12:16] = 65535
    Image.fromarray(array).save(tmp_path / "deep.png")
    digit = load_image(tmp_path / "deep.png")
    assert digit.max() == pytest.approx(1.0) and digit[0, 0] == 0.0


@pytest.mark.parametrize("content", [b"not an image", b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_corrupt_image_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=r"broken\.png: cannot read image"):
        load_image(path)


def test_truncated_png(tmp_path: Path) -> None:
    good = draw_digit(tmp_path / "good.png", size=(300, 300))
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UsageError, match=r"cut\.png: cannot read image"):
        load_image(tmp_path / "cut.png")


def test_other_image_formats_are_refused(tmp_path: Path) -> None:
    Image.new("L", (28, 28)).save(tmp_path / "digit.gif")
    sources, problems = collect_inputs([tmp_path / "digit.gif"])
    assert not sources and "digit.gif: not a PNG, JPEG, BMP, TIFF, WebP, .npy or IDX file" in str(problems[0])


# --- collecting inputs -------------------------------------------------------------------------


def test_collect_inputs_expands_folders_and_reports_problems(tmp_path: Path) -> None:
    digits = tmp_path / "digits"
    (digits / "sub").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    draw_digit(digits / "a.png")
    draw_digit(digits / "sub" / "b.jpg", mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255))
    draw_digit(digits / ".hidden.png")
    (digits / "notes.txt").write_text("not an input")
    np.save(tmp_path / "arr.npy", np.zeros((2, 28, 28), np.uint8))

    sources, problems = collect_inputs([digits, tmp_path / "arr.npy", tmp_path / "empty", tmp_path / "gone.png"])
    assert [s.name for s in sources] == ["digits/a", "digits/sub/b", "arr"]
    assert isinstance(sources[0], ImageFile) and isinstance(sources[2], ArrayFile)
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'empty'}: folder holds no PNG, JPEG, BMP, TIFF, WebP, .npy or IDX files",
        f"{tmp_path / 'gone.png'}: no such file or folder",
    ]


def test_same_names_are_told_apart(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        draw_digit(tmp_path / folder / "contact_sheet.png")
    sources, _ = collect_inputs([tmp_path / "x" / "contact_sheet.png", tmp_path / "y" / "contact_sheet.png"],
                                reserved=["contact_sheet"])
    assert [s.name for s in sources] == ["contact_sheet-2", "contact_sheet-3"]


def test_content_beats_suffix(tmp_path: Path) -> None:
    np.save(tmp_path / "arr.npy", np.zeros((28, 28), np.uint8))
    (tmp_path / "arr.png").write_bytes((tmp_path / "arr.npy").read_bytes())
    sources, problems = collect_inputs([tmp_path / "arr.png"])
    assert not problems and isinstance(sources[0], ArrayFile)


# --- arrays ------------------------------------------------------------------------------------


def read_all(source: ArrayFile, batch_size: int = 2) -> np.ndarray:
    return np.concatenate(list(source.chunks(None, batch_size)))


@pytest.mark.parametrize("shape", [(28, 28), (5, 28, 28), (5, 28, 28, 1)])
def test_npy_shapes_and_uint8_scaling(tmp_path: Path, shape: tuple[int, ...]) -> None:
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    np.save(tmp_path / "x.npy", array)
    source = open_array(tmp_path / "x.npy", "x", "npy")
    assert source.shape == shape and source.count == (1 if len(shape) == 2 else 5)
    np.testing.assert_allclose(read_all(source), array.reshape(-1, 28, 28) / 255, atol=1e-7)


def test_float_and_fortran_order_npy(tmp_path: Path) -> None:
    array = np.asfortranarray(np.random.default_rng(0).random((3, 28, 28), dtype=np.float64))
    np.save(tmp_path / "f.npy", array)
    np.testing.assert_allclose(read_all(open_array(tmp_path / "f.npy", "f", "npy")), array, atol=1e-6)


def test_inverting_arrays_only_when_asked(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.float32))
    source = open_array(tmp_path / "x.npy", "x", "npy")
    assert not np.concatenate(list(source.chunks(None))).any()
    assert np.concatenate(list(source.chunks(True))).min() == 1.0


@pytest.mark.parametrize("array, message", [
    (np.zeros((3, 32, 32), np.float32), r"shape \[3, 32, 32\] is not accepted; use \[N,28,28\]"),
    (np.zeros((3, 28, 28, 3), np.float32), r"shape \[3, 28, 28, 3\] is not accepted"),
    (np.zeros((0, 28, 28), np.float32), r"holds no images"),
    (np.zeros((3, 28, 28), np.int64), r"dtype int64 is not accepted; use uint8 \(0-255\) or float \(0-1\)"),
    (np.zeros((3, 28, 28), bool), r"dtype bool is not accepted"),
])
def test_bad_npy_headers_are_refused_on_opening(tmp_path: Path, array: np.ndarray, message: str) -> None:
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(UsageError, match=r"bad\.npy: " + message):
        open_array(tmp_path / "bad.npy", "bad", "npy")


def test_pickled_npy_is_refused_without_unpickling(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(UsageError, match=r"obj\.npy: holds Python objects"):
        open_array(tmp_path / "obj.npy", "obj", "npy")


def test_truncated_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", np.zeros((10, 28, 28), np.uint8))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-100])
    with pytest.raises(UsageError, match=r"t\.npy: truncated"):
        open_array(tmp_path / "t.npy", "t", "npy")
    (tmp_path / "u.npy").write_bytes(data[:5])
    sources, problems = collect_inputs([tmp_path / "u.npy"])
    assert not sources and "u.npy: not a .npy file" in str(problems[0])


@pytest.mark.parametrize("value, message", [
    (np.nan, r"contains nan in image 3; pixel values must be finite"),
    (np.inf, r"contains inf in image 3"),
    (255.0, r"float pixel values span \[0, 255\] \(first in image 3\); they must be in \[0, 1\]; divide 0-255"),
    (-0.5, r"float pixel values span \[-0.5, 0\] \(first in image 3\); they must be in \[0, 1\]$"),
])
def test_bad_values_name_the_file_and_image(tmp_path: Path, value: float, message: str) -> None:
    array = np.zeros((5, 28, 28), np.float32)
    array[3, 4, 5] = value
    np.save(tmp_path / "v.npy", array)
    source = open_array(tmp_path / "v.npy", "v", "npy")
    with pytest.raises(UsageError, match=r"v\.npy: " + message):
        read_all(source)


def test_tiny_rounding_outside_the_range_is_clipped() -> None:
    pixels = normalize_pixels(np.array([[-1e-5, 1.0 + 1e-5]], np.float32), "x")
    assert pixels.min() == 0.0 and pixels.max() == 1.0


def test_idx_images_and_labels(tmp_path: Path) -> None:
    from aezoo.datasets.idx import write_idx

    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    sources, problems = collect_inputs([tmp_path])
    assert [s.name for s in sources] == [f"{tmp_path.name}/t10k-images-idx3"]
    np.testing.assert_allclose(read_all(sources[0]), images / 255, atol=1e-7)
    assert "t10k-labels-idx1-ubyte: is an IDX label file" in str(problems[0])


# --- writers -----------------------------------------------------------------------------------


def test_save_png_is_8bit_grayscale(tmp_path: Path) -> None:
    image = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28, 1)
    save_png(tmp_path / "out" / "x.png", image)
    with Image.open(tmp_path / "out" / "x.png") as saved:
        assert saved.mode == "L" and saved.size == (28, 28)
        assert np.asarray(saved)[-1, -1] == 255


def test_values_outside_0_1_are_clipped_before_a_png_is_written(tmp_path: Path) -> None:
    """A model's output may overshoot [0, 1]; cast to uint8 unclipped, -0.2 would wrap to a bright
    205 and 1.3 to a dark 76."""
    image = np.array([-0.2, 1.3, 0.5, -3.0, 9.0, 0.0, 1.0], np.float32)
    image = np.resize(image, (28, 28))
    save_png(tmp_path / "x.png", image)
    with Image.open(tmp_path / "x.png") as saved:
        pixels = np.asarray(saved).ravel()[:7]
    assert pixels.tolist() == [0, 255, 128, 0, 255, 0, 255]
    sheet = ContactSheet(["input", "denoised"], limit=1, scale=1)
    sheet.add(image[None], -image[None])
    sheet.save(tmp_path / "sheet.png")
    with Image.open(tmp_path / "sheet.png") as saved:
        drawn = np.asarray(saved)
    cell = drawn[16:16 + 28, 8:8 + 28].ravel()[:7]
    assert cell.tolist() == [0, 255, 128, 0, 255, 0, 255]


def test_npy_writer_streams_and_is_atomic(tmp_path: Path) -> None:
    with npy_writer(tmp_path / "ok.npy", (5, 28, 28)) as write:
        write(np.ones((3, 28, 28)))
        write(np.zeros((2, 28, 28)))
    saved = np.load(tmp_path / "ok.npy")
    assert saved.shape == (5, 28, 28) and saved.dtype == np.float32 and saved[:3].all() and not saved[3:].any()

    with pytest.raises(UsageError):
        with npy_writer(tmp_path / "bad.npy", (5, 28, 28)) as write:
            write(np.ones((3, 28, 28)))
            raise UsageError("bad chunk")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.npy"]


def test_contact_sheet_keeps_only_its_limit(tmp_path: Path) -> None:
    sheet = ContactSheet(["input", "denoised"], limit=5, per_row=4)
    assert not sheet.save(tmp_path / "empty.png")
    for _ in range(3):
        sheet.add(np.zeros((4, 28, 28)), np.ones((4, 28, 28, 1)))
    assert sheet.full and len(sheet.tiles) == 5
    assert sheet.save(tmp_path / "sheet.png")
    with Image.open(tmp_path / "sheet.png") as picture:
        assert picture.size[0] > 4 * 2 * 56 and picture.size[1] > 2 * 56



# --- robustness --------------------------------------------------------------------------------


def test_huge_image_is_refused_from_its_header_without_pillow_warnings(tmp_path: Path) -> None:
    import warnings

    from aezoo.imageio import MAX_PIXELS

    big = tmp_path / "big.png"
    Image.new("L", (12000, 12000), 255).save(big)  # 144 megapixels in ~200 KB
    assert big.stat().st_size < 1_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Pillow DecompressionBombWarning would fail the test
        with pytest.raises(UsageError, match=rf"big\.png: image too large: 12000x12000 is 144,000,000 pixels; "
                                             rf"aezoo reads images of up to {MAX_PIXELS:,} pixels"):
            load_image(big)


def test_image_at_the_pixel_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aezoo.imageio

    monkeypatch.setattr(aezoo.imageio, "MAX_PIXELS", 60 * 100)
    assert load_image(draw_digit(tmp_path / "ok.png", size=(60, 100))).shape == (28, 28)
    monkeypatch.setattr(aezoo.imageio, "MAX_PIXELS", 60 * 100 - 1)
    with pytest.raises(UsageError, match="image too large: 60x100"):
        load_image(tmp_path / "ok.png")


def test_folder_and_idx_file_of_the_same_name_get_different_outputs(tmp_path: Path) -> None:
    from aezoo.datasets.idx import write_idx

    (tmp_path / "digits").mkdir()
    for i in range(2):
        draw_digit(tmp_path / "digits" / f"{i}.png")
    write_idx(tmp_path / "digits-ubyte", np.zeros((2, 28, 28), np.uint8))  # its PNGs: digits/0.png, digits/1.png
    sources, problems = collect_inputs([tmp_path / "digits", tmp_path / "digits-ubyte"])
    assert not problems and [s.name for s in sources] == ["digits/0", "digits/1", "digits-2"]
    sources, _ = collect_inputs([tmp_path / "digits-ubyte", tmp_path / "digits"])  # either order
    assert [s.name for s in sources] == ["digits-2", "digits/0", "digits/1"]


@pytest.mark.parametrize("wanted, names", [
    ([("a", False), ("a", False), ("a", True)], ["a", "a-2", "a-3"]),
    ([("d", True), ("d/0", False)], ["d-2", "d/0"]),  # the folder d/ would hold the file d/0.png
    ([("d", True), ("d/x", True)], ["d-2", "d/x"]),  # nested folders: the deeper keeps its name
    ([("d/x", True), ("d", False)], ["d/x", "d"]),  # d.png beside d/: no clash
    ([("contact_sheet", False)], ["contact_sheet-2"]),
])
def test_assign_names(wanted: list[tuple[str, bool]], names: list[str]) -> None:
    from aezoo.imageio import assign_names

    assert assign_names(wanted, reserved=["contact_sheet"]) == names


def test_validate_reads_the_whole_file(tmp_path: Path) -> None:
    from aezoo.datasets.idx import write_idx

    images = np.random.default_rng(0).random((8, 28, 28)).astype(np.float32)
    images[5, 3, 3] = np.nan
    write_idx(tmp_path / "nan-idx3-ubyte", images)
    sources, _ = collect_inputs([tmp_path / "nan-idx3-ubyte"])
    with pytest.raises(UsageError, match="nan-idx3-ubyte: contains nan in image 5"):
        sources[0].validate(batch_size=4)


def test_contact_sheet_drops_the_tiles_of_a_failed_input() -> None:
    sheet = ContactSheet(["input"], limit=10)
    sheet.add(np.zeros((2, 28, 28)))
    with pytest.raises(UsageError):
        with sheet.all_or_nothing():
            sheet.add(np.ones((3, 28, 28)))
            raise UsageError("bad input halfway")
    with sheet.all_or_nothing():
        sheet.add(np.ones((1, 28, 28)))
    assert len(sheet.tiles) == 3
