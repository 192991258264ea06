"""Generation for a run folder: samplers fitted after training, the VQ-VAE's exported prior, scoring, report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aezoo import generation
from aezoo.report.measures.generation import fd_ordering_sentence, read_record, run_section
from aezoo.report.records import GenerationScores
from aezoo.run_folder import RunFolder
from tests.fixtures import TINY_HYPERPARAMETERS


# zoo_run (tests/fixtures.py): every family for 1 epoch, the VQ-VAE's code prior 1 epoch. Read-only.


@pytest.fixture(scope="module")
def tiny_classifier(tiny_splits: Any) -> Any:
    from aezoo.evaluation.classifier import train_classifier

    return train_classifier(tiny_splits, seed=0, epochs=1)


def load(run_dir: Path, kind: str) -> Any:
    return generation.load_run_model(RunFolder(run_dir), kind)


def test_training_fits_each_models_default_sampler_where_it_learns(tiny_run, zoo_run):
    from aezoo.samplers.mixture import GaussianMixtureSampler
    from aezoo.samplers.pixelcnn import PixelCNNSampler

    gmm, pixelcnn = GaussianMixtureSampler.file_name(), PixelCNNSampler.file_name()
    assert (tiny_run / "ae" / gmm).is_file()
    assert not any((tiny_run / "vae" / name).exists() for name in (gmm, pixelcnn))
    assert (zoo_run / "vqvae" / pixelcnn).is_file()
    assert not any((zoo_run / "unet" / name).exists() for name in (gmm, pixelcnn))
    samplers = {kind: generation.load_sampler(load(run, kind), run / kind)
                for run, kind in ((tiny_run, "ae"), (tiny_run, "vae"), (zoo_run, "vqvae"), (zoo_run, "unet"))}
    assert {k: s and s.name for k, s in samplers.items()} == {"ae": "gmm", "vae": "prior", "vqvae": "pixelcnn",
                                                            "unet": None}
    assert "no latent space" in generation.why_not_generative(load(zoo_run, "unet"))


def test_the_ae_mixture_file_drives_its_samples(tiny_run, tmp_path):
    import shutil

    ae = load(tiny_run, "ae")
    draws = generation.load_sampler(ae, tiny_run / "ae").sample(6, seed=4)
    assert draws.shape == (6, 28, 28, 1) and 0 <= draws.min() and draws.max() <= 1
    np.testing.assert_array_equal(draws, generation.load_sampler(ae, tiny_run / "ae").sample(6, seed=4))
    # Another mixture file (here shifted means) gives other digits: the file is what is sampled.
    mixture = generation.load_sampler(ae, tiny_run / "ae")
    mixture.set_arrays(mixture.weights, mixture.means + 3.0, mixture.covariances)
    folder = tmp_path / "ae"
    folder.mkdir()
    mixture.save(folder)
    assert not np.allclose(draws, generation.load_sampler(ae, folder).sample(6, seed=4))
    shutil.rmtree(folder)
    with pytest.raises(generation.scoring.UsageError, match="missing"):  # no mixture, no sampling
        generation.load_sampler(ae, folder)


def test_a_sampler_that_does_not_apply_is_refused_naming_those_that_do(tiny_run):
    with pytest.raises(generation.scoring.UsageError, match="--sampler prior does not apply to ae: .*it can use gmm"):
        generation.choose_sampler(load(tiny_run, "ae"), "prior")
    assert generation.choose_sampler(load(tiny_run, "vae"), "gmm") == "gmm"


SERVE_SAMPLE = """
import json, sys
import tensorflow as tf
sm = tf.saved_model.load(sys.argv[1])
out = sm.signatures["sample"](seed=tf.constant(3), n=tf.constant(5))["output_0"].numpy()
print(json.dumps({"aezoo_imported": any(m.startswith("aezoo") for m in sys.modules), "sample": out.tolist()}))
"""


def test_vqvae_savedmodel_samples_from_its_prior_without_aezoo(zoo_run, tmp_path):
    script = tmp_path / "serve.py"
    script.write_text(SERVE_SAMPLE)
    done = subprocess.run([sys.executable, str(script), str(zoo_run / "vqvae" / "saved_model")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])
    assert not served["aezoo_imported"]
    # The same digits as the saved VQ-VAE decoding the saved prior's draws for the same seed.
    vqvae = load(zoo_run, "vqvae")
    expected = generation.load_sampler(vqvae, zoo_run / "vqvae").sample(5, seed=3)
    np.testing.assert_allclose(np.asarray(served["sample"]), expected, atol=1e-5)


def test_cvae_draws_the_classes_it_is_asked_for(tiny_splits):
    from aezoo.families import build

    cvae = build("cvae", **TINY_HYPERPARAMETERS)
    cvae.build()
    sampler = generation.fit_sampler(cvae, None, None)  # the prior learns nothing: no images, no folder
    assert sampler.conditional and sampler.name == "prior"
    sevens = sampler.sample(4, seed=1, labels=7)
    np.testing.assert_allclose(sevens, np.asarray(cvae.decode(sampler.sample_codes(4, 1), np.full(4, 7))), atol=1e-6)
    assert not np.allclose(sevens, sampler.sample(4, seed=1, labels=2))


def test_evaluate_run_records_metrics_summary_and_report_section(tiny_run, tiny_splits, tiny_classifier, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    result = generation.evaluate_run(run_dir, splits=tiny_splits, nll_samples=4, samples=40,
                                     classifier=tiny_classifier)
    run = RunFolder(run_dir)
    assert set(result.models) == {"ae", "vae"}
    vae = run.read_metrics("vae")["generation"]
    assert vae["sampler"] == "prior" and vae["samples"] == 40 and vae["frechet_distance"] >= 0
    assert vae["likelihood"]["nll_samples"] == 4 and vae["likelihood"]["elbo"] <= vae["likelihood"]["iwae_bound"]
    assert "likelihood" not in run.read_metrics("ae")["generation"]  # no likelihood for a plain AE
    record = run.read_summary()["generation"]
    assert set(record["models"]) == {"ae", "vae"} and "real train vs test" in record["reference_points"]
    assert (run.analysis_dir("ae") / generation.SAMPLES_FIGURE).is_file()
    section = run_section(run, read_record(run), classes=10)
    assert section.startswith("<h2>Generation</h2>") and "pythae" in section and "FD ordering" in section
    assert section.count("data:image/png;base64") == 2
    with pytest.raises(generation.scoring.UsageError, match="nll-samples"):
        generation.evaluate_run(run_dir, splits=tiny_splits, nll_samples=0, classifier=tiny_classifier)


def test_a_run_without_generation_record_has_no_section(tiny_run):
    run = RunFolder(tiny_run)
    assert read_record(run) is None and run_section(run, read_record(run), classes=10) == ""


@pytest.mark.parametrize(("prior", "mixture", "expected"), [
    (20.0, 40.0, "are closer to real images"), (40.0, 20.0, "are not closer"), (30.0, 30.5, "about equally"),
])
def test_fd_ordering_sentence_follows_the_numbers(prior, mixture, expected):
    models = {"ae": GenerationScores(sampler="gmm", frechet_distance=mixture),
              "vae": GenerationScores(sampler="prior", frechet_distance=prior)}
    assert expected in fd_ordering_sentence(models)
    assert "the prior samples of vae" in fd_ordering_sentence(models)  # named as --model spells it
    assert fd_ordering_sentence({"vae": models["vae"]}) == ""


def test_a_runs_sampler_is_fitted_exported_scored_and_sampled_with(tiny_splits, tiny_classifier, tmp_path, capsys):
    # train.py --sampler gmm: the VAE's mixture replaces its prior everywhere generation happens.
    from aezoo.commands import run_command
    from aezoo.config import TrainConfig
    from aezoo.samplers.mixture import GaussianMixtureSampler
    from aezoo.training import train

    config = TrainConfig(models=("vae",), dataset="embedded", epochs=1, batch_size=64, sampler="gmm",
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    run_dir = train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits).run_dir
    assert (run_dir / "vae" / GaussianMixtureSampler.file_name()).is_file()
    assert json.loads((run_dir / "vae" / "saved_model" / "aezoo.json").read_text())["sampler"] == "gmm"
    result = generation.evaluate_run(run_dir, splits=tiny_splits, nll_samples=2, samples=20,
                                     classifier=tiny_classifier)
    assert result.models["vae"]["sampler"] == "gmm"
    assert run_command("sample", [str(run_dir / "vae"), "--n", "2", "--output", str(tmp_path / "s.npy")]) == 0
    assert "drawn by gmm (" in capsys.readouterr().out
