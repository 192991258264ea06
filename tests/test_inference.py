"""aezoo.load(): finding the model, SavedModel vs .keras, batching, bad arrays and bad model files."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import aezoo
from aezoo.errors import UsageError
from aezoo.inference import TrainedModel, add_noise, locate_model, model_kinds
from tests.helpers import run_python
from tests.fixtures import TINY_HYPERPARAMETERS
from aezoo.models.capabilities import CONDITIONAL, LATENT_SPACE, has
from tests.model_doubles import image_to_image_family, marker_lambda, save_image_to_image  # noqa: F401


@pytest.fixture(scope="module")
def ae(tiny_run: Path) -> TrainedModel:
    return aezoo.load(tiny_run)


@pytest.fixture(scope="module")
def digits(embedded) -> np.ndarray:  # type: ignore[no-untyped-def]
    """10 real test digits, uint8 [10,28,28]."""
    return np.array(embedded.test_images[:10], dtype=np.uint8)


def test_import_aezoo_is_cheap() -> None:
    code = "import sys, aezoo; assert callable(aezoo.load); print('tensorflow' in sys.modules)"
    result = run_python("-c", [code])
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr[-2000:]


# --- finding the model -------------------------------------------------------------------------


def test_locate_model_forms(tiny_run: Path) -> None:
    assert locate_model(tiny_run) == locate_model(tiny_run / "ae")
    run = locate_model(tiny_run)
    assert (run.path, run.format, run.kind) == (tiny_run / "ae" / "saved_model", "saved_model", "ae")
    assert locate_model(tiny_run, "vae").path == tiny_run / "vae" / "saved_model"
    assert locate_model(tiny_run / "vae" / "saved_model").kind == "vae"
    keras_file = locate_model(tiny_run / "ae" / "model.keras")
    assert (keras_file.format, keras_file.kind) == ("keras", "ae")  # the model folder's name


def test_run_folder_defaults_to_the_model_it_has(tiny_run: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_run / "vae" / "saved_model", tmp_path / "run" / "vae" / "saved_model")
    assert locate_model(tmp_path / "run").kind == "vae"
    with pytest.raises(UsageError, match=r"run: run folder has no ae model \(it has: vae\)"):
        locate_model(tmp_path / "run", "ae")


def test_model_folder_without_saved_model_uses_model_keras(tiny_run: Path, tmp_path: Path) -> None:
    shutil.copy(tiny_run / "ae" / "model.keras", tmp_path / "model.keras")
    location = locate_model(tmp_path)
    assert (location.path, location.format) == (tmp_path / "model.keras", "keras")


@pytest.mark.parametrize("name, message", [
    ("missing", r"missing: no such model file or folder"),
    ("notes.txt", r"notes\.txt: not a model; expected a run folder"),
    ("folder", r"folder: not a model; expected a run folder"),
])
def test_not_a_model(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "folder").mkdir()
    with pytest.raises(UsageError, match=message):
        aezoo.load(tmp_path / name)


def test_model_kind_conflict(tiny_run: Path) -> None:
    with pytest.raises(UsageError, match=r"is a vae model, not ae"):
        locate_model(tiny_run / "vae", "ae")


# --- using it ----------------------------------------------------------------------------------


def test_denoise_encode_decode_shapes(ae: TrainedModel, digits: np.ndarray) -> None:
    assert ae.kind == "ae" and ae.embedding_dim == 4
    denoised = ae.denoise(digits)
    assert denoised.shape == (10, 28, 28) and denoised.dtype == np.float32
    assert 0.0 <= denoised.min() and denoised.max() <= 1.0
    assert ae.denoise(digits[..., None]).shape == (10, 28, 28, 1)
    assert ae.denoise(digits[0]).shape == (28, 28)
    embeddings = ae.encode(digits)
    assert embeddings.shape == (10, 4) and ae.encode(digits[0]).shape == (4,)
    assert ae.decode(embeddings).shape == (10, 28, 28) and ae.decode(embeddings[0]).shape == (28, 28)


def test_uint8_and_float_inputs_agree(ae: TrainedModel, digits: np.ndarray) -> None:
    np.testing.assert_allclose(ae.denoise(digits), ae.denoise(digits / 255.0), atol=1e-5)


def test_results_do_not_depend_on_the_batch_size(ae: TrainedModel, digits: np.ndarray) -> None:
    np.testing.assert_allclose(ae.denoise(digits, batch_size=3), ae.denoise(digits), atol=1e-5)
    np.testing.assert_allclose(ae.encode(digits, batch_size=4), ae.encode(digits), atol=1e-5)


def test_memory_is_bounded_by_the_batch_size(tiny_run: Path, digits: np.ndarray) -> None:
    model = aezoo.load(tiny_run, batch_size=4)
    seen: list[int] = []
    denoise = model._functions["denoise"]
    model._functions["denoise"] = lambda batch: (seen.append(len(batch)), denoise(batch))[1]
    model.denoise(digits)
    assert seen == [4, 4, 2]


def test_streaming_generator_is_lazy(ae: TrainedModel, digits: np.ndarray) -> None:
    pulled: list[int] = []

    def batches():  # type: ignore[no-untyped-def]
        for start in range(0, 10, 4):
            pulled.append(start)
            yield digits[start:start + 4]

    stream = ae.denoise_batches(batches())
    first = next(stream)
    assert pulled == [0] and first.shape == (4, 28, 28)
    np.testing.assert_allclose(np.concatenate([first, *stream]), ae.denoise(digits), atol=1e-5)
    assert np.concatenate(list(ae.encode_batches([digits[:5], digits[5:]]))).shape == (10, 4)


def test_saved_model_and_keras_file_agree(tiny_run: Path, digits: np.ndarray) -> None:
    for kind in ("ae", "vae"):
        saved = aezoo.load(tiny_run / kind / "saved_model")
        keras_model = aezoo.load(tiny_run / kind / "model.keras")
        assert keras_model.kind == kind and keras_model.location.format == "keras"
        np.testing.assert_allclose(saved.denoise(digits), keras_model.denoise(digits), atol=1e-5)
        np.testing.assert_allclose(saved.encode(digits), keras_model.encode(digits), atol=1e-5)


def test_vae_encode_is_the_deterministic_posterior_mean(tiny_run: Path, digits: np.ndarray) -> None:
    from aezoo.families.vae.model import VariationalAutoencoder

    vae = aezoo.load(tiny_run, model_kind="vae")
    np.testing.assert_array_equal(vae.encode(digits), vae.encode(digits))
    model = keras.saving.load_model(tiny_run / "vae" / "model.keras", compile=False)
    assert isinstance(model, VariationalAutoencoder)
    np.testing.assert_allclose(vae.encode(digits), np.asarray(model.encode(digits[..., None] / 255.0)), atol=1e-5)


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 32, 32)), r"images: shape \[2, 32, 32\] is not accepted"),
    (np.zeros((2, 28, 28), np.int32), r"images: dtype int32 is not accepted"),
    (np.full((2, 28, 28), np.nan), r"images: contains nan in image 0"),
    (np.full((2, 28, 28), 3.0), r"images: float pixel values span \[3, 3\]"),
])
def test_bad_arrays(ae: TrainedModel, images: np.ndarray, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ae.denoise(images)


def test_bad_embeddings(ae: TrainedModel) -> None:
    with pytest.raises(UsageError, match=r"embeddings: shape \[3, 5\] is not accepted; this model decodes \[N,4\]"):
        ae.decode(np.zeros((3, 5)))
    with pytest.raises(UsageError, match=r"embeddings: row 1 holds NaN"):
        ae.decode(np.array([[0, 0, 0, 0], [0, np.inf, 0, 0]], np.float32))


def test_bad_batch_size(tiny_run: Path) -> None:
    with pytest.raises(UsageError, match="batch size must be a positive integer, got 0"):
        aezoo.load(tiny_run, batch_size=0)


def test_add_noise_is_deterministic(digits: np.ndarray) -> None:
    clean = digits / np.float32(255)
    first = add_noise(clean, "gaussian", 0.5, seed=1)
    np.testing.assert_array_equal(first, add_noise(clean, "gaussian", 0.5, seed=1))
    assert not np.array_equal(first, add_noise(clean, "gaussian", 0.5, seed=1, index=1))
    with pytest.raises(UsageError, match="unknown noise"):
        add_noise(clean, "speckle")


# --- bad model files ---------------------------------------------------------------------------


def test_keras_file_of_an_unknown_class_is_not_loaded(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "other.keras")
    # The list names every family's class in order; a family added later may come anywhere in it.
    with pytest.raises(UsageError, match=r"other\.keras: holds a model of class 'keras\.Sequential', not one of "
                                         r"aezoo's \((aezoo>\w+, )*aezoo>ConditionalVAE, aezoo>ConvAutoencoder, "):
        aezoo.load(tmp_path / "other.keras")


def smuggle(source: Path, target: Path, where: list[str], payload: dict) -> Path:
    """Copy a .keras file, replacing the config value at ``where`` (a key path) by ``payload``."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as crafted:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                node = config
                for key in where[:-1]:
                    node = node[key]
                node[where[-1]] = payload
                data = json.dumps(config).encode()
            crafted.writestr(item, data)
    return target


def test_keras_file_with_a_lambda_is_refused_and_never_run(tmp_path: Path, image_to_image_family: str) -> None:
    marker = tmp_path / "lambda-ran"
    path = save_image_to_image(tmp_path / "lambda.keras", marker_lambda(marker))
    marker.unlink()  # building the model before saving ran it once
    with pytest.raises(UsageError, match=r"lambda\.keras: refused: config\.inner holds a serialised Lambda"):
        aezoo.load(path).denoise(np.zeros((1, 28, 28), np.float32))
    assert not marker.exists()


def test_keras_safe_mode_refuses_a_lambda_the_config_check_missed(tmp_path: Path, image_to_image_family: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The second line of defence on its own: Keras' safe mode, with aezoo's config check switched off."""
    import aezoo.inference

    marker = tmp_path / "lambda-ran"
    path = save_image_to_image(tmp_path / "lambda.keras", marker_lambda(marker))
    marker.unlink()
    monkeypatch.setattr(aezoo.inference, "check_keras_config", lambda *args: None)
    with pytest.raises(UsageError, match=r"lambda\.keras: cannot load the Keras model \(.*lambda"):
        aezoo.load(path).denoise(np.zeros((1, 28, 28), np.float32))
    assert not marker.exists()


def test_lambda_smuggled_into_a_nested_config_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    marker = tmp_path / "lambda-ran"
    payload = keras.saving.serialize_keras_object(marker_lambda(marker))
    crafted = smuggle(tiny_run / "ae" / "model.keras", tmp_path / "crafted.keras", ["config", "dtype"], payload)
    with pytest.raises(UsageError, match=r"crafted\.keras: refused: config\.dtype holds a serialised Lambda"):
        aezoo.load(crafted).denoise(np.zeros((1, 28, 28), np.float32))
    assert not marker.exists()


@pytest.mark.parametrize("where, payload, message", [
    (["config", "dtype"], {"module": "keras.layers", "class_name": "Dense", "config": {"units": 1}},
     r"config\.dtype holds a Dense where a dtype policy belongs"),
    (["config", "activation"], {"module": "os", "class_name": "function", "config": "system"},
     r"config\.activation names os\.function, from outside Keras and aezoo"),
])
def test_foreign_objects_in_the_config_are_refused(tiny_run: Path, tmp_path: Path, where: list[str],
                                                   payload: dict, message: str) -> None:
    crafted = smuggle(tiny_run / "ae" / "model.keras", tmp_path / "crafted.keras", where, payload)
    with pytest.raises(UsageError, match=message):
        aezoo.load(crafted)


def test_real_model_configs_pass_the_check(tiny_run: Path) -> None:
    from aezoo.inference import check_keras_config, read_keras_config

    for kind in ("ae", "vae"):
        path = tiny_run / kind / "model.keras"
        check_keras_config(path, read_keras_config(path))


# --- capabilities ------------------------------------------------------------------------------


def test_model_kinds_come_from_the_family_list(image_to_image_family: str) -> None:
    from aezoo.families import MODELS

    assert model_kinds() == tuple(MODELS) and image_to_image_family in model_kinds()


def test_model_without_a_latent_space_denoises_but_cannot_encode(tmp_path: Path, image_to_image_family: str,
                                                                 digits: np.ndarray) -> None:
    model = aezoo.load(save_image_to_image(tmp_path / "i2i.keras"))
    assert model.kind == image_to_image_family and not has(model, LATENT_SPACE)
    assert model.denoise(digits).shape == digits.shape
    for call in (lambda: model.encode(digits), lambda: model.decode(np.zeros((1, 4)))):
        with pytest.raises(UsageError, match=r"i2i model \(keras: .*i2i\.keras\) has no latent space, so it cannot"):
            call()


@pytest.mark.parametrize("content", [b"garbage", b""])
def test_corrupt_keras_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "broken.keras").write_bytes(content)
    with pytest.raises(UsageError, match=r"broken\.keras: not a readable \.keras file"):
        aezoo.load(tmp_path / "broken.keras")


def test_corrupt_saved_model(tiny_run: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_run / "ae" / "saved_model", tmp_path / "saved_model")
    (tmp_path / "saved_model" / "saved_model.pb").write_bytes(b"not a protobuf")
    with pytest.raises(UsageError, match=r"saved_model: cannot load the SavedModel"):
        aezoo.load(tmp_path / "saved_model")


# --- every family of the zoo -------------------------------------------------------------------


@pytest.fixture(scope="module")
def zoo_models(zoo_run: Path) -> dict[tuple[str, str], TrainedModel]:
    """(family, "saved_model" | "model.keras") -> the loaded model, for every family of the zoo run."""
    from aezoo.families import MODELS

    return {(kind, artifact): aezoo.load(zoo_run / kind / artifact) for kind in MODELS
            for artifact in ("saved_model", "model.keras")}


def test_every_family_loads_from_both_artifacts_and_they_agree(zoo_models, digits: np.ndarray) -> None:
    from aezoo.families import get_model

    labels = np.arange(10) % 10
    for kind in {kind for kind, _ in zoo_models}:
        family = get_model(kind)
        saved, keras_file = zoo_models[(kind, "saved_model")], zoo_models[(kind, "model.keras")]
        given = labels if CONDITIONAL in family.capabilities else None
        for model in (saved, keras_file):
            assert model.kind == kind
            assert has(model, CONDITIONAL) == (CONDITIONAL in family.capabilities)
            assert has(model, LATENT_SPACE) == (LATENT_SPACE in family.capabilities)
        np.testing.assert_allclose(saved.denoise(digits, given), keras_file.denoise(digits, given), atol=1e-5)
        if LATENT_SPACE in family.capabilities:
            built = family.build(**TINY_HYPERPARAMETERS)
            assert saved.embedding_shape == keras_file.embedding_shape == tuple(built.embedding_shape)
            z = saved.encode(digits, given)
            assert z.shape == (10, *saved.embedding_shape)
            np.testing.assert_allclose(z, keras_file.encode(digits, given), atol=1e-5)
            assert saved.decode(z, given).shape == (10, 28, 28)


def test_the_vqvae_embedding_is_a_grid(zoo_models, digits: np.ndarray) -> None:
    vqvae = zoo_models[("vqvae", "saved_model")]
    assert vqvae.embedding_shape == (7, 7, TINY_HYPERPARAMETERS["embedding_dim"])
    assert vqvae.encode(digits[0]).shape == vqvae.embedding_shape
    with pytest.raises(UsageError, match=r"decodes \[N,7,7,4\] or \[7,7,4\]"):
        vqvae.decode(np.zeros((2, 4), np.float32))


@pytest.mark.parametrize("artifact", ["saved_model", "model.keras"])
def test_the_cvae_takes_labels_and_they_matter(zoo_models, digits: np.ndarray, artifact: str) -> None:
    cvae = zoo_models[("cvae", artifact)]
    as_threes = cvae.denoise(digits, 3)
    np.testing.assert_array_equal(as_threes, cvae.denoise(digits, np.full(10, 3)))
    assert np.abs(as_threes - cvae.denoise(digits, 7)).max() > 1e-4  # the decoder sees the label
    np.testing.assert_allclose(cvae.denoise(digits, np.arange(10), batch_size=3),
                               cvae.denoise(digits, np.arange(10)), atol=1e-6)  # labels follow their batch


@pytest.mark.parametrize("labels, message", [
    (None, r"is conditioned on the digit's class: give one label \(0-9\) per image"),
    (np.arange(3), r"labels: 3 label\(s\) for 10 image\(s\)"),
    (np.full(10, 10), r"labels: 10 \(label 0\) is not a digit class; labels are 0-9"),
    (np.array([1, 2, -1, 0, 0, 0, 0, 0, 0, 0]), r"labels: -1 \(label 2\) is not a digit class"),
    (np.full(10, 2.5), r"labels: 2.5 is not an integer"),
    (np.array(["a"] * 10), r"labels: <U1 values are not accepted"),
])
def test_bad_labels_for_the_cvae(zoo_models, digits: np.ndarray, labels, message: str) -> None:
    for artifact in ("saved_model", "model.keras"):
        with pytest.raises(UsageError, match=message):
            zoo_models[("cvae", artifact)].denoise(digits, labels)


def test_labels_never_reach_a_model_that_takes_none(zoo_models, digits: np.ndarray) -> None:
    for kind in ("ae", "vae", "unet"):
        with pytest.raises(UsageError, match=r"takes no labels \(only a conditional model does\)"):
            zoo_models[(kind, "saved_model")].denoise(digits, np.zeros(10, int))
