"""The shared contract: every model name the family folders declare passes these checks by being listed.

Tiny models (see fixtures.TINY_HYPERPARAMETERS), a few steps each: the point is the contract
(declaration, build, fit, save, serve with a sampler, mixed precision, determinism), not the
quality of the models. Nothing here names a family: a new folder in ``aezoo/families`` and one line
in ``FAMILY_FOLDERS`` put it under every test below. Its own loss terms are guarded by the tests
in its folder.
"""

from __future__ import annotations

import inspect
import json
import textwrap

import keras
import numpy as np
import pytest

from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.families import FAMILIES, FAMILY_FOLDERS, MODELS, build, family_of, spec_for_config
from aezoo.models.capabilities import CONDITIONAL, LATENT_SPACE, capabilities_of, has
from aezoo.samplers import samplers_for
from tests.fixtures import tiny_model
from tests.helpers import WITHOUT_AEZOO_ENV, run_python

NAMES = list(MODELS)


def inputs(model: keras.Model, noisy: np.ndarray, labels: np.ndarray):
    """What the model takes: the images, or ``(images, labels)`` when it is conditional."""
    return (noisy, labels.astype("int32")) if has(model, CONDITIONAL) else noisy


def with_labels(model: keras.Model, labels: np.ndarray) -> tuple:
    """Extra arguments of denoise/encode/decode: the labels, for a conditional model."""
    return (labels.astype("int32"),) if has(model, CONDITIONAL) else ()


@pytest.fixture(scope="module")
def batch(tiny_splits):
    noisy, clean = test_pairs(tiny_splits.train_images[:32], GaussianNoise(0.5))
    return noisy, clean, tiny_splits.train_labels[:32]


@pytest.fixture(scope="module")
def fitted(batch):
    """``fitted(name)``: a tiny model of that name, with batch norm, after two steps (cached)."""
    noisy, clean, labels = batch
    cache: dict[str, keras.Model] = {}

    def get(name: str) -> keras.Model:
        if name not in cache:
            model = tiny_model(name, batch_norm=True)
            model.fit(inputs(model, noisy, labels), clean, batch_size=16, epochs=1, verbose=0)
            cache[name] = model
        return cache[name]

    return get


# ----------------------------------------------------------------------------- the declaration


def test_every_folder_declares_its_family():
    assert list(FAMILIES) == list(FAMILY_FOLDERS)
    for family in FAMILIES.values():
        assert family.summary and family.paper and family.model_class.__doc__
        assert family_of(family.model_class) is family


@pytest.mark.parametrize("name", list(FAMILIES))
def test_the_declared_hyperparameters_are_the_constructor_arguments_with_their_defaults(name):
    family = FAMILIES[name]
    parameters = inspect.signature(family.model_class.__init__).parameters
    constructor = {n: p.default for n, p in parameters.items() if n not in ("self", "kwargs")}
    assert constructor == {h.name: h.default for h in family.hyperparameters}
    for hyperparameter in family.hyperparameters:
        assert hyperparameter.help, f"{name}.{hyperparameter.name} has no help text"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_the_loss_in_words_and_the_default_sampler_fit_the_family(name):
    family = FAMILIES[name]
    assert MODELS[name].loss_in_words()  # the family's own words for its loss
    if family.default_sampler is not None:
        assert family.default_sampler in samplers_for(family.model_class)


@pytest.mark.parametrize("name", NAMES)
def test_builds_at_default_and_tiny_size_with_its_preset(name, batch):
    noisy, _, labels = batch
    default, small = build(name), tiny_model(name)
    default.build()
    assert default.count_params() > 3 * small.count_params() > 0
    assert default.name == name
    for model in (default, small):
        assert model.denoise(noisy[:2], *with_labels(model, labels[:2])).shape == (2, 28, 28, 1)
    for argument, value in MODELS[name].arguments.items():
        assert getattr(default, argument) == value


@pytest.mark.parametrize("name", NAMES)
def test_two_fit_steps_lower_the_loss_and_metrics_reset(name, batch):
    noisy, clean, labels = batch
    model = tiny_model(name, learning_rate=1e-2)
    x = inputs(model, noisy, labels)
    before = model.evaluate(x, clean, verbose=0, return_dict=True)
    assert model.evaluate(x, clean, verbose=0, return_dict=True) == pytest.approx(before)
    model.fit(x, clean, batch_size=32, epochs=2, verbose=0, shuffle=False)
    after = model.evaluate(x, clean, verbose=0, return_dict=True)
    assert set(before) == set(model.metric_names)
    assert after["loss"] < before["loss"]


@pytest.mark.parametrize("name", NAMES)
def test_keras_round_trip_gives_identical_outputs_and_keeps_the_name(name, batch, fitted, tmp_path):
    noisy, clean, labels = batch
    model = fitted(name)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert type(restored) is type(model) and restored.get_config() == model.get_config()
    assert spec_for_config(type(restored).__name__, restored.name) is MODELS[name]
    extra = with_labels(model, labels)
    np.testing.assert_array_equal(restored.denoise(noisy, *extra), model.denoise(noisy, *extra))
    if has(model, LATENT_SPACE):
        codes = model.encode(noisy, *extra)
        np.testing.assert_array_equal(restored.encode(noisy, *extra), codes)
        np.testing.assert_array_equal(restored.decode(codes, *extra), model.decode(codes, *extra))


@pytest.mark.parametrize("name", NAMES)
def test_get_config_lists_every_constructor_argument(name):
    cls = MODELS[name].model_class
    arguments = {n for n in inspect.signature(cls.__init__).parameters if n not in ("self", "kwargs")}
    config = build(name).get_config()
    assert arguments <= set(config)
    assert cls.from_config(config).get_config() == config


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_float16_policy_runs_on_cpu(name, batch):
    noisy, clean, labels = batch
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny_model(name)
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.compute_dtype == "float16"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(inputs(model, noisy, labels), clean, batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    denoised = np.asarray(model.denoise(noisy, *with_labels(model, labels)))
    assert denoised.dtype == np.float32 and np.isfinite(denoised).all()


@pytest.mark.parametrize("name", NAMES)
def test_denoising_is_deterministic(name, batch, fitted):
    noisy, clean, labels = batch
    model = fitted(name)
    extra = with_labels(model, labels)
    np.testing.assert_array_equal(model.denoise(noisy, *extra), model.denoise(noisy, *extra))
    if has(model, LATENT_SPACE):
        np.testing.assert_array_equal(model.encode(noisy, *extra), model.encode(noisy, *extra))


@pytest.mark.parametrize("name", NAMES)
def test_every_sampler_that_applies_generates_the_same_images_for_the_same_seed(name, batch, fitted, tmp_path):
    from aezoo.generation import fit_sampler, load_sampler

    noisy, clean, labels = batch
    model = fitted(name)
    for sampler_name in samplers_for(model):
        sampler = fit_sampler(model, tmp_path, clean, sampler_name, seed=0, **_tiny(sampler_name))
        drawn = sampler.sample(3, seed=5)
        assert drawn.shape == (3, 28, 28, 1) and np.isfinite(drawn).all()
        np.testing.assert_array_equal(drawn, load_sampler(model, tmp_path, sampler_name).sample(3, seed=5))


def _tiny(sampler_name: str) -> dict:
    return {"epochs": 1, "filters": 8} if sampler_name == "pixelcnn" else {}


SERVE_WITHOUT_AEZOO = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    root = sys.argv[1]
    x = tf.constant(np.load(f"{root}/x.npy"))
    labels = tf.constant(np.load(f"{root}/labels.npy"))
    listed = {}
    for name in sys.argv[2:]:
        sm = tf.saved_model.load(f"{root}/{name}")
        listed[name] = sorted(sm.signatures)
        conditional = "labels" in sm.signatures["denoise"].structured_input_signature[1]
        extra = {"labels": labels} if conditional else {}
        out = {"serving_default": sm.signatures["serving_default"](images=x, **extra)["output_0"],
               "denoise": sm.signatures["denoise"](images=x, **extra)["output_0"]}
        if "encode" in sm.signatures:
            out["encode"] = sm.signatures["encode"](images=x, **extra)["output_0"]
            out["decode"] = sm.signatures["decode"](embeddings=out["encode"], **extra)["output_0"]
        if "sample" in sm.signatures:
            count = {"labels": labels} if conditional else {"n": tf.constant(3)}
            out["sample"] = sm.signatures["sample"](seed=tf.constant(7), **count)["output_0"]
            out["sample_again"] = sm.signatures["sample"](seed=tf.constant(7), **count)["output_0"]
        np.savez(f"{root}/{name}.npz", **{k: v.numpy() for k, v in out.items()})
    listed["aezoo_imported"] = any(m.startswith("aezoo") for m in sys.modules)
    print(json.dumps(listed))
""")


def test_saved_model_signatures_work_in_a_process_without_aezoo(batch, fitted, tmp_path):
    """Every model, exported with its default sampler: each signature served by plain TensorFlow
    gives what the model (and the sampler) give in aezoo."""
    noisy, clean, labels = batch
    _serve_without_aezoo({name: fitted(name) for name in NAMES}, noisy, clean, labels, tmp_path)


# Beside 28x28 digits, the shapes of the user's images the zoo promises: colour crops and grey scans.
OTHER_SHAPES = [(32, 32, 3), (64, 64, 1)]


@pytest.mark.slow
@pytest.mark.parametrize("shape", OTHER_SHAPES, ids=lambda shape: "x".join(map(str, shape)))
def test_every_family_trains_round_trips_and_serves_at_other_image_shapes(shape, tmp_path):
    """Every model at (32, 32, 3) and (64, 64, 1): fit lowers nothing here, it must run; the
    ``.keras`` round trip gives identical outputs; the SavedModel serves without aezoo."""
    rng = np.random.default_rng(0)
    clean = rng.random((32, *shape), dtype=np.float32).round()  # binary images: BCE targets like ink on paper
    noisy = np.clip(clean + rng.normal(0, 0.5, clean.shape), 0, 1).astype(np.float32)
    labels = np.arange(32) % 10
    models = {}
    for name in NAMES:
        model = tiny_model(name, image_shape=shape)
        model.fit(inputs(model, noisy, labels), clean, batch_size=16, epochs=1, verbose=0)
        path = tmp_path / f"{name}.keras"
        model.save(path)
        again = keras.saving.load_model(path)
        extra = with_labels(model, labels[:4])
        np.testing.assert_allclose(again.denoise(noisy[:4], *extra), model.denoise(noisy[:4], *extra), atol=1e-6,
                                   err_msg=name)
        models[name] = model
    _serve_without_aezoo(models, noisy, clean, labels, tmp_path)


def _serve_without_aezoo(models: dict, noisy: np.ndarray, clean: np.ndarray, labels: np.ndarray, tmp_path) -> None:
    from aezoo.export import export_saved_model, signature_names
    from aezoo.generation import fit_sampler

    noisy, labels = noisy[:5], labels[:5].astype("int32")
    np.save(tmp_path / "x.npy", noisy)
    np.save(tmp_path / "labels.npy", labels)
    samplers = {}
    for name, model in models.items():
        chosen = MODELS[name].family.default_sampler
        samplers[name] = (None if chosen is None else
                          fit_sampler(model, tmp_path / f"{name}-sampler", clean, chosen, **_tiny(chosen)))
        export_saved_model(model, tmp_path / name, samplers[name])
    script = tmp_path / "serve.py"
    script.write_text(SERVE_WITHOUT_AEZOO)
    # One process for every model (TensorFlow's start-up is the slow part); run from tmp_path so
    # that the repository, and so aezoo, is not importable by accident.
    done = run_python(script, [tmp_path, *models], cwd=tmp_path, env=WITHOUT_AEZOO_ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout.strip().splitlines()[-1])
    assert listed.pop("aezoo_imported") is False
    for name, model in models.items():
        sampler = samplers[name]
        assert listed[name] == sorted(signature_names(model, sampler)), name
        record = json.loads((tmp_path / name / "aezoo.json").read_text())
        assert record["model"] == name and record["sampler"] == (sampler.name if sampler else None)
        served = np.load(tmp_path / f"{name}.npz")
        extra = with_labels(model, labels)
        expected = model.denoise(noisy, *extra)
        np.testing.assert_allclose(served["serving_default"], expected, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(served["denoise"], expected, atol=1e-5, err_msg=name)
        if has(model, LATENT_SPACE):
            np.testing.assert_allclose(served["encode"], model.encode(noisy, *extra), atol=1e-5, err_msg=name)
            np.testing.assert_allclose(served["decode"], model.decode(served["encode"], *extra), atol=1e-5,
                                       err_msg=name)
        if sampler is not None:
            count = len(labels) if sampler.conditional else 3
            assert served["sample"].shape == (count, *model.image_shape)
            np.testing.assert_array_equal(served["sample"], served["sample_again"])
            in_aezoo = sampler.draw(count, 7, labels if sampler.conditional else None)
            np.testing.assert_allclose(served["sample"], in_aezoo, atol=1e-5, err_msg=name)


def test_a_declared_capability_without_its_methods_is_refused_when_the_class_is_defined():
    from aezoo.models.base import DenoisingAutoencoderBase
    from aezoo.models.capabilities import CODE_GRID

    with pytest.raises(TypeError, match="declares the code grid capability but lacks codes, decode_codes"):
        class Pretender(DenoisingAutoencoderBase):  # noqa: F841
            capabilities = frozenset({CODE_GRID})
    assert capabilities_of(MODELS[NAMES[0]].model_class) == MODELS[NAMES[0]].capabilities
