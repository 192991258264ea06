"""Every family in aezoo.models.FAMILIES passes these checks by being listed there.

Tiny models (see conftest.TINY_HYPERPARAMETERS), a few steps each: the point is the contract
(build, fit, save, serve, mixed precision, determinism), not the quality of the models.
"""

from __future__ import annotations

import inspect
import json
import textwrap

import keras
import numpy as np
import pytest

from aezoo.datasets import GaussianNoise, test_pairs
from aezoo.models import FAMILIES, build
from tests.conftest import TINY_HYPERPARAMETERS
from tests.helpers import WITHOUT_AEZOO_ENV, run_python

NAMES = sorted(FAMILIES)


def tiny(name: str, learning_rate: float = 3e-3, **overrides) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = build(name, **{**TINY_HYPERPARAMETERS, "seed": 0, **overrides})
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.build()
    return model


def inputs(model: keras.Model, noisy: np.ndarray, labels: np.ndarray):
    """What the model takes: the images, or ``(images, labels)`` when it needs labels."""
    return (noisy, labels.astype("int32")) if model.needs_labels else noisy


def with_labels(model: keras.Model, labels: np.ndarray) -> tuple:
    """Extra arguments of denoise/encode/decode: the labels, for a model that needs them."""
    return (labels.astype("int32"),) if model.needs_labels else ()


@pytest.fixture(scope="module")
def batch(tiny_splits):
    noisy, clean = test_pairs(tiny_splits.train_images[:32], GaussianNoise(0.5))
    return noisy, clean, tiny_splits.train_labels[:32]


@pytest.fixture(scope="module")
def fitted(batch):
    """``fitted(name)``: a tiny model of the family, with batch norm, after two steps (cached)."""
    noisy, clean, labels = batch
    cache: dict[str, keras.Model] = {}

    def get(name: str) -> keras.Model:
        if name not in cache:
            model = tiny(name, batch_norm=True)
            model.fit(inputs(model, noisy, labels), clean, batch_size=16, epochs=1, verbose=0)
            cache[name] = model
        return cache[name]

    return get


def test_the_zoo_lists_seven_families():
    assert NAMES == sorted(["ae", "vae", "beta_vae", "iwae", "cvae", "vqvae", "unet"])
    for family in FAMILIES.values():
        assert family.description and family.model_class.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_builds_at_default_and_tiny_size(name, batch):
    noisy, _, labels = batch
    default, small = build(name), tiny(name)
    default.build()
    assert default.count_params() > 3 * small.count_params() > 0
    for model in (default, small):
        assert model.denoise(noisy[:2], *with_labels(model, labels[:2])).shape == (2, 28, 28, 1)
    for argument, value in FAMILIES[name].preset.items():
        assert getattr(default, argument) == value


@pytest.mark.parametrize("name", NAMES)
def test_two_fit_steps_lower_the_loss(name, batch):
    noisy, clean, labels = batch
    model = tiny(name, learning_rate=1e-2)
    x = inputs(model, noisy, labels)
    before = model.evaluate(x, clean, verbose=0, return_dict=True)
    model.fit(x, clean, batch_size=32, epochs=2, verbose=0, shuffle=False)
    after = model.evaluate(x, clean, verbose=0, return_dict=True)
    assert set(before) == set(model.metric_names)
    assert after["loss"] < before["loss"]


@pytest.mark.parametrize("name", NAMES)
def test_keras_round_trip_gives_identical_outputs(name, batch, fitted, tmp_path):
    noisy, clean, labels = batch
    model = fitted(name)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert type(restored) is type(model) and restored.get_config() == model.get_config()
    extra = with_labels(model, labels)
    np.testing.assert_array_equal(restored.denoise(noisy, *extra), model.denoise(noisy, *extra))
    if model.has_latent_space:
        codes = model.encode(noisy, *extra)
        np.testing.assert_array_equal(restored.encode(noisy, *extra), codes)
        np.testing.assert_array_equal(restored.decode(codes, *extra), model.decode(codes, *extra))


@pytest.mark.parametrize("name", NAMES)
def test_get_config_lists_every_constructor_argument(name):
    cls = FAMILIES[name].model_class
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
        model = tiny(name)
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
    if model.has_latent_space:
        np.testing.assert_array_equal(model.encode(noisy, *extra), model.encode(noisy, *extra))


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
    from aezoo.export import export_saved_model, signature_names

    noisy, clean, labels = batch
    noisy, labels = noisy[:5], labels[:5].astype("int32")
    np.save(tmp_path / "x.npy", noisy)
    np.save(tmp_path / "labels.npy", labels)
    models = {name: fitted(name) for name in NAMES}
    for name, model in models.items():
        export_saved_model(model, tmp_path / name)
    script = tmp_path / "serve.py"
    script.write_text(SERVE_WITHOUT_AEZOO)
    # One process for every family (TensorFlow's start-up is the slow part); run from tmp_path so
    # that the repository, and so aezoo, is not importable by accident.
    done = run_python(script, [tmp_path, *NAMES], cwd=tmp_path, env=WITHOUT_AEZOO_ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout.strip().splitlines()[-1])
    assert listed.pop("aezoo_imported") is False
    for name, model in models.items():
        assert listed[name] == sorted(signature_names(model)), name
        served = np.load(tmp_path / f"{name}.npz")
        extra = with_labels(model, labels)
        expected = model.denoise(noisy, *extra)
        np.testing.assert_allclose(served["serving_default"], expected, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(served["denoise"], expected, atol=1e-5, err_msg=name)
        if model.has_latent_space:
            np.testing.assert_allclose(served["encode"], model.encode(noisy, *extra), atol=1e-5, err_msg=name)
            np.testing.assert_allclose(served["decode"], model.decode(served["encode"], *extra), atol=1e-5,
                                       err_msg=name)
        if model.is_generative:
            assert served["sample"].shape == (len(labels) if model.needs_labels else 3, 28, 28, 1)
            np.testing.assert_array_equal(served["sample"], served["sample_again"])


def test_an_autoencoder_saved_under_the_old_option_name_still_loads():
    from aezoo.models import ConvAutoencoder

    old = {**build("ae").get_config(), "reconstruction_loss": "bce"}
    del old["pixel_loss"]
    assert ConvAutoencoder.from_config(old).pixel_loss == "bce"
    with pytest.raises(ValueError, match="reconstruction_loss must be one of mse, bce; got 'l1'"):
        ConvAutoencoder(reconstruction_loss="l1")
    with pytest.raises(ValueError, match="pixel_loss must be one of mse, bce; got 'l1'"):
        ConvAutoencoder(pixel_loss="l1")
