"""Presets: a trained model saved as a folder, checked, loaded by path or name, and listed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import aezoo
from aezoo import presets
from aezoo.commands import run_command
from aezoo.errors import UsageError
from tests.helpers import assert_usage_error, snapshot


@pytest.fixture(scope="module")
def vae_preset(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return aezoo.save_preset(tiny_run, tmp_path_factory.mktemp("presets") / "tiny_vae", model_kind="vae")


@pytest.fixture
def shipped_here(vae_preset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package whose only shipped preset is ``tiny_vae``, in the vae family's folder."""
    families = tmp_path / "families"
    shutil.copytree(vae_preset, families / "vae" / "presets" / "tiny_vae")
    monkeypatch.setattr(presets, "FAMILIES_FOLDER", families)
    return families / "vae" / "presets" / "tiny_vae"


def test_a_preset_holds_the_model_its_records_and_its_card(vae_preset, tiny_run):
    assert {p.name for p in vae_preset.iterdir() if p.is_file()} >= {"config.json", "model.weights.h5",
                                                                     "metadata.json", "README.md"}
    metadata = json.loads((vae_preset / "metadata.json").read_text())
    metrics = json.loads((tiny_run / "vae" / "metrics.json").read_text())
    assert metadata["model"] == metadata["family"] == "vae"
    assert metadata["image_shape"] == [28, 28, 1]
    assert metadata["parameters"] == metrics["parameters"]
    assert metadata["test"]["psnr"] == metrics["test"]["psnr"]
    assert metadata["seed"] == metrics["seed"] and metadata["data"]["train_images"] == metrics["train_images"]
    assert metadata["weights_sha256"] == presets.sha256(vae_preset / "model.weights.h5")
    for key in ("aezoo_version", "keras_version", "tensorflow_version", "date", "noise"):
        assert metadata[key], key
    assert (vae_preset / "README.md").read_text().startswith("# Model card: vae (VariationalAutoencoder)")


def test_a_preset_denoises_as_the_model_it_was_saved_from(vae_preset, tiny_run, embedded):
    digits = embedded.test_images[:16]
    np.testing.assert_allclose(aezoo.load(vae_preset).denoise(digits),
                               aezoo.load(tiny_run / "vae" / "model.keras").denoise(digits), atol=1e-6)


def test_a_preset_loads_by_name_and_a_near_miss_names_the_nearest(shipped_here, embedded):
    model = aezoo.load("tiny_vae")
    assert model.location.path == shipped_here and model.location.kind == "vae"
    assert model.denoise(embedded.test_images[:2]).shape == (2, 28, 28)
    with pytest.raises(UsageError, match="did you mean tiny_vae"):
        aezoo.load("tiny_vea")


def test_commands_take_a_preset_name(shipped_here, tmp_path, capsys):
    digits = tmp_path / "digits.npy"
    np.save(digits, np.zeros((2, 28, 28), np.uint8))
    assert run_command("denoise", ["tiny_vae", str(digits), "-o", str(tmp_path / "clean")]) == 0
    assert np.load(tmp_path / "clean" / "digits.npy").shape == (2, 28, 28)
    assert run_command("sample", ["tiny_vae", "--n", "4", "-o", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 28, 28)
    assert run_command("presets", []) == 0
    listing = capsys.readouterr().out
    assert "tiny_vae" in listing and "vae" in listing
    before = snapshot(shipped_here)
    status = run_command("sample", ["tiny_vea", "--n", "4", "-o", str(tmp_path / "t.npy")])
    assert_usage_error(status, capsys.readouterr().err, "did you mean tiny_vae", absent=[tmp_path / "t.npy"],
                       unchanged={shipped_here: before})


def test_changed_weights_are_refused_in_one_line(vae_preset, tmp_path, capsys):
    tampered = shutil.copytree(vae_preset, tmp_path / "tampered")
    with open(tampered / "model.weights.h5", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(UsageError, match="SHA-256 differs"):
        aezoo.load(tampered)
    status = run_command("sample", [str(tampered), "--n", "2", "-o", str(tmp_path / "s.npy")])
    assert_usage_error(status, capsys.readouterr().err, "SHA-256", absent=[tmp_path / "s.npy"])


def test_a_preset_from_a_newer_aezoo_or_for_another_shape_says_so(vae_preset, tmp_path):
    newer = shutil.copytree(vae_preset, tmp_path / "newer")
    metadata = json.loads((newer / "metadata.json").read_text())
    (newer / "metadata.json").write_text(json.dumps(metadata | {"aezoo_version": "99.0.0"}))
    with pytest.raises(UsageError, match="newer than this aezoo"):
        aezoo.load(newer)
    with pytest.raises(UsageError, match="a preset for 28x28x1 images, not 32x32x3"):
        presets.load_model(vae_preset, image_shape=(32, 32, 3))


def test_a_preset_with_code_in_its_config_is_refused(vae_preset, tmp_path):
    hostile = shutil.copytree(vae_preset, tmp_path / "hostile")
    config = json.loads((hostile / "config.json").read_text())
    config["config"]["encoder_layer"] = {"module": "keras.layers", "class_name": "Lambda",
                                         "config": {"function": "print"}}
    (hostile / "config.json").write_text(json.dumps(config))
    with pytest.raises(UsageError, match="Lambda|code"):
        aezoo.load(hostile)


def test_a_preset_is_not_written_over_the_users_files(tiny_run, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    with pytest.raises(UsageError, match="not a preset"):
        aezoo.save_preset(tiny_run / "vae", folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_hub_address_offline_fails_in_one_line_and_caches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the sandbox has no network; this makes the failure immediate
    with pytest.raises(UsageError, match="needs the network|needs the huggingface_hub package"):
        aezoo.load("hf://nobody/no-such-preset")
    left = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert left == []


def test_the_shipped_judge_spares_the_first_run_its_training(tmp_path, monkeypatch):
    from aezoo.datasets import load_dataset
    from aezoo.evaluation import classifier

    monkeypatch.setenv("AEZOO_CACHE", str(tmp_path))

    def no_training(*args, **kwargs):
        raise AssertionError("the judge was trained although one ships for these digits")

    monkeypatch.setattr(classifier, "train_classifier", no_training)
    judge = classifier.load_or_train_classifier(load_dataset("embedded"))  # the splits python train.py trains on
    assert judge.shipped and judge.test_accuracy > 0.9
    assert judge.path is not None and judge.path.is_file()  # unpacked into the cache for next time


def test_other_data_trains_its_own_judge(tiny_splits, tmp_path, monkeypatch):
    from aezoo.evaluation import classifier

    monkeypatch.setenv("AEZOO_CACHE", str(tmp_path))
    judge = classifier.load_or_train_classifier(tiny_splits, epochs=1)
    assert not judge.shipped and judge.path.is_file()


def test_every_model_of_the_zoo_ships_a_preset_under_the_size_budget(capsys):
    from aezoo.presets import shipped_judges
    from aezoo.families import MODELS

    assert set(presets.shipped()) == {presets.preset_name(model) for model in MODELS}
    total = 0
    for preset in presets.iter_presets():  # each checked: whole, its weights' SHA-256 as recorded
        assert preset.metadata["data"]["dataset"] == "embedded" and preset.metadata["test"]["psnr"] > 15
        total += preset.size_bytes
    judges = shipped_judges()
    assert len(judges) == 1 and judges[0].metadata["test"]["accuracy"] > 0.95
    total += judges[0].size_bytes
    assert total < 10 * 2**20, f"{total / 2**20:.1f} MiB of presets"
    assert run_command("presets", []) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in presets.shipped())


@pytest.mark.slow
def test_rebuilding_a_preset_gives_the_shipped_weights(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("AEZOO_CACHE", str(tmp_path / "cache"))
    name = presets.preset_name("ae")
    from aezoo.preset_training import rebuild

    rebuilt = rebuild([name], families_folder=tmp_path / "families")[name]
    shipped = presets.load_model(presets.shipped()[name])
    again = presets.load_model(rebuilt)
    assert isinstance(again, keras.Model)
    for ours, theirs in zip(again.get_weights(), shipped.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_every_shipped_preset_that_can_generate_draws_with_its_own_sampler():
    """The sampler files a preset lists ship with it (a .keras sampler was once left out by .gitignore)."""
    from aezoo.generation import choose_sampler, load_sampler

    for preset in presets.iter_presets():
        model = presets.load_model(preset.path)
        if choose_sampler(model) is None:
            continue
        sampler = load_sampler(model, preset.path)
        drawn = sampler.sample(2, seed=0, labels=[0, 1] if sampler.conditional else None)
        assert drawn.shape == (2, 28, 28, 1) and np.isfinite(drawn).all(), preset.name


def test_a_preset_missing_a_listed_sampler_file_is_refused(tmp_path):
    whole = presets.shipped()[presets.preset_name("ae")]
    broken = shutil.copytree(whole, tmp_path / "broken")
    (broken / "sampler_gmm.npz").unlink()
    with pytest.raises(UsageError, match="lacks sampler_gmm.npz"):
        presets.check(broken)


def test_a_full_disk_while_saving_a_preset_is_one_line_and_leaves_nothing(tiny_run, tmp_path, monkeypatch):
    """(On a real 200 kB tmpfs, writing the unzipped weights through h5py crashed the process; the
    preset is now written as an archive and unpacked, so a full disk is an ordinary error.)"""
    import errno

    import keras

    def full_disk(model, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(keras.saving, "save_model", full_disk)
    with pytest.raises(UsageError, match="no space left on its disk"):
        aezoo.save_preset(tiny_run, tmp_path / "out" / "p", model_kind="vae")
    assert list((tmp_path / "out").iterdir()) == []
