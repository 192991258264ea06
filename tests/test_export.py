"""SavedModels load and serve in plain TensorFlow, without aezoo."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from aezoo.datasets import GaussianNoise, test_pairs
from tests.helpers import WITHOUT_AEZOO_ENV, run_python

LOAD_WITHOUT_AEZOO = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    path, images_file = sys.argv[1], sys.argv[2]
    sm = tf.saved_model.load(path)
    x = np.load(images_file)
    out = {
        "signatures": sorted(sm.signatures),
        "serving_default": sm.signatures["serving_default"](images=tf.constant(x))["output_0"].numpy().tolist(),
        "encode": sm.signatures["encode"](images=tf.constant(x))["output_0"].numpy().tolist(),
    }
    z = tf.constant(np.asarray(out["encode"], dtype="float32"))
    out["decode"] = sm.signatures["decode"](embeddings=z)["output_0"].numpy().tolist()
    out["aezoo_imported"] = any(name.startswith("aezoo") for name in sys.modules)
    print(json.dumps(out))
""")


@pytest.mark.slow  # tests/test_families.py serves every family's SavedModel without aezoo in the fast suite
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_saved_model_signatures_work_in_a_process_without_aezoo(kind, tiny_run, tiny_splits, tmp_path):
    import keras

    from aezoo.families import model_classes

    model_classes()  # registers the classes for load_model below
    from aezoo.export import signature_names

    noisy, _ = test_pairs(tiny_splits.test_images[:5], GaussianNoise(0.5))
    np.save(tmp_path / "x.npy", noisy)
    script = tmp_path / "serve.py"
    script.write_text(LOAD_WITHOUT_AEZOO)
    # Run from tmp_path so the repository (and so aezoo) is not importable by accident.
    done = run_python(script, [tiny_run / kind / "saved_model", tmp_path / "x.npy"], cwd=tmp_path, timeout=300,
                      env=WITHOUT_AEZOO_ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])
    assert not served["aezoo_imported"]
    from aezoo.generation import load_sampler

    model = keras.saving.load_model(tiny_run / kind / "model.keras")
    # A model plus its run's sampler generates: the AE with its Gaussian mixture, the VAE with its prior.
    sampler = load_sampler(model, tiny_run / kind)
    expected = ["decode", "denoise", "encode", "sample", "serving_default"]
    assert served["signatures"] == expected == sorted(signature_names(model, sampler))
    np.testing.assert_allclose(served["serving_default"], model.denoise(noisy).numpy(), atol=1e-5)
    np.testing.assert_allclose(served["encode"], model.encode(noisy).numpy(), atol=1e-5)
    np.testing.assert_allclose(served["decode"], model.decode(model.encode(noisy)).numpy(), atol=1e-5)


def test_signatures_follow_the_capabilities_and_the_sampler():
    from aezoo.export import signature_names
    from aezoo.families import build
    from aezoo.samplers.prior import PriorSampler

    vae = build("vae")
    assert signature_names(build("ae")) == ("serving_default", "denoise", "encode", "decode")
    assert signature_names(vae) == ("serving_default", "denoise", "encode", "decode")
    assert signature_names(vae, PriorSampler(vae)) == ("serving_default", "denoise", "encode", "decode", "sample")
    assert signature_names(build("unet")) == ("serving_default", "denoise")
