"""Training runs end to end: artifacts, metrics, resume, and clear errors for bad flags."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from aezoo.commands import main
from aezoo.config import TrainConfig
from aezoo.errors import UsageError
from aezoo.run_folder import INCOMPLETE, RunFolder
from aezoo.training import format_comparison, prepare_splits, train
from tests.fixtures import TINY_HYPERPARAMETERS
from tests.helpers import TINY_TRAIN_FLAGS, assert_usage_error, run_python

MODEL_FILES = ["model.keras", "saved_model/saved_model.pb", "metrics.json", "history.csv", "loss_curves.png",
               "reconstructions/epoch_001.png", "reconstructions/epoch_002.png", "checkpoints/best.keras"]


def test_a_run_writes_every_artifact(tiny_run):
    assert (tiny_run / "config.json").exists() and (tiny_run / "summary.json").exists()
    assert not (tiny_run / INCOMPLETE).exists()
    for kind in ("ae", "vae"):
        for name in MODEL_FILES:
            assert (tiny_run / kind / name).exists(), f"{kind}/{name} missing"
        assert not (tiny_run / kind / "backup").exists()


def test_metrics_record_scores_data_and_speed(tiny_run):
    ae = json.loads((tiny_run / "ae" / "metrics.json").read_text())
    vae = json.loads((tiny_run / "vae" / "metrics.json").read_text())
    for metrics in (ae, vae):
        assert metrics["dataset"] == "embedded" and metrics["noise"] == {"kind": "gaussian", "strength": 0.5}
        assert metrics["seed"] == 0 and metrics["parameters"] > 0 and metrics["images_per_second"] > 0
        assert 0 < metrics["test"]["mse"] < 0.25 and 5 < metrics["test"]["psnr"] < 40
        assert -1 <= metrics["test"]["ssim"] <= 1
        assert metrics["config"]["embedding_dim"] == TINY_HYPERPARAMETERS["embedding_dim"]
    assert {"reconstruction_loss", "kl"} <= set(vae["test"])
    history = (tiny_run / "ae" / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 1 + 3  # header and the tiny run's 3 epochs


def test_summary_compares_models_with_baselines(tiny_run):
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert list(summary["test"]) == ["noisy input", "median 3x3", "non-local means", "total variation", "ae", "vae"]
    # The classical baselines' parameters were chosen on the validation pairs and are recorded.
    assert summary["test"]["non-local means"]["h"] > 0 and summary["test"]["total variation"]["weight"] > 0
    assert summary["test"]["median 3x3"]["psnr"] > summary["test"]["noisy input"]["psnr"]


def test_summary_times_every_phase_of_the_run(tiny_run):
    table = json.loads((tiny_run / "summary.json").read_text())["phases"]
    names = [row["phase"] for row in table]
    expected = ["set-up", "data", "held-out pairs and baselines"]
    for kind in ("ae", "vae"):
        expected += [f"{kind}: {step}" for step in ("build", "training", "validation and epoch-end callbacks",
                                                   "test evaluation", "sampler/prior", "save and SavedModel export")]
    assert names == [*expected, "summary and model cards", "total"]
    assert all(row["part"] == "training" for row in table[:-1]) and table[-1]["part"] == "total"
    # The rows cover the run: they add up to the total, give or take what ran between them.
    rows = sum(row["seconds"] for row in table[:-1])
    assert table[-1]["seconds"] / 2 <= rows <= table[-1]["seconds"] + 0.01 * len(table)


def test_the_saved_model_is_the_trained_model(tiny_run, tiny_splits):
    from aezoo.families import model_classes

    model_classes()  # registers the classes with Keras

    model = keras.saving.load_model(tiny_run / "ae" / "model.keras")
    summary = json.loads((tiny_run / "summary.json").read_text())
    from aezoo.datasets import GaussianNoise, test_pairs
    from aezoo.metrics import image_quality

    noisy, clean = test_pairs(tiny_splits.test_images, GaussianNoise(0.5), seed=0)
    assert image_quality(clean, model.denoise(noisy).numpy())["psnr"] == pytest.approx(summary["test"]["ae"]["psnr"], abs=1e-3)


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, tiny_splits, tiny_run):
    # Simulate a run killed after the AE finished and during the VAE: resuming must keep the AE
    # as it is and train only the VAE.
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    shutil.rmtree(run_dir / "vae")
    (run_dir / "summary.json").unlink()
    (run_dir / INCOMPLETE).write_text("interrupted")
    ae_model_time = (run_dir / "ae" / "model.keras").stat().st_mtime_ns
    config = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text()))
    train(config, output=run_dir, verbose=0, splits=tiny_splits)
    assert (run_dir / "ae" / "model.keras").stat().st_mtime_ns == ae_model_time
    assert (run_dir / "vae" / "model.keras").exists() and (run_dir / "summary.json").exists()
    assert not (run_dir / INCOMPLETE).exists()


def test_default_output_resumes_the_unfinished_run_with_the_same_settings(tmp_path, tiny_splits):
    config = TrainConfig(models=("ae",), epochs=1, batch_size=64, hyperparameters=dict(TINY_HYPERPARAMETERS))
    first = train(config, runs_root=tmp_path, verbose=0, splits=tiny_splits).run_dir
    (first / INCOMPLETE).write_text("interrupted")
    assert train(config, runs_root=tmp_path, verbose=0, splits=tiny_splits).run_dir == first
    # Finished now: the next identical command starts a new run.
    assert train(config, runs_root=tmp_path, verbose=0, splits=tiny_splits).run_dir != first


def test_a_finished_or_foreign_output_folder_is_refused(tmp_path, tiny_run, tiny_splits):
    config = TrainConfig.from_json(json.loads((tiny_run / "config.json").read_text()))
    with pytest.raises(UsageError, match="already holds a finished run"):
        train(config, output=tiny_run, splits=tiny_splits)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="non-empty folder that is not an aezoo run"):
        train(config, output=tmp_path, splits=tiny_splits)


@pytest.mark.parametrize("flags, message", [
    (["--model", "gan"], "argument --model: unknown model 'gan'; choose one or more"),
    (["--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
    (["--epochs", "0"], "epochs must be a positive integer, got 0"),
    (["--batch-size", "-4"], "batch size must be a positive integer, got -4"),
    (["--noise-strength", "-0.5"], "Gaussian noise std must be a finite number >= 0, got -0.5"),
    (["--noise", "salt_pepper", "--noise-strength", "1.5"], "salt-and-pepper amount must be a fraction in [0, 1], got 1.5"),
    (["--learning-rate", "0"], "learning rate must be a number in (0, 1), got 0.0"),
    (["--embedding-dim", "0"], "embedding_dim must be a positive integer, got 0"),
    (["--beta", "-1"], "beta must be a finite number >= 0, got -1.0"),
    (["--num-codes", "0"], "num_codes must be a positive integer, got 0"),
    (["--pixel-loss", "l1"], "argument --pixel-loss: invalid choice: 'l1'"),
    (["--model", "ae,vae", "--sampler", "prior"], "--sampler prior does not apply to ae: "),
    (["--data-dir", "/nonexistent/mnist"], "--data-dir /nonexistent/mnist is not a folder"),
])
def test_bad_flags_give_one_line_and_status_2_and_write_nothing(flags, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(["train", "--output", str(tmp_path / "run"), *flags])
    assert_usage_error(status, capsys.readouterr().err, message, absent=[tmp_path / "run", tmp_path / "runs"])


def test_corrupt_data_files_are_reported_before_anything_is_written(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data / name).write_bytes(b"\x00\x00\x08\x03garbage")
    status = main(["train", "--data-dir", str(data), "--output", str(tmp_path / "run")])
    assert_usage_error(status, capsys.readouterr().err, "train-images-idx3-ubyte has a truncated IDX header",
                       absent=[tmp_path / "run"])


@pytest.mark.slow  # train.py end to end again: the fast suite runs aezoo-train whole and train.py's usage errors
def test_train_py_end_to_end_in_a_subprocess(tmp_path):
    """The real entry point, as a user runs it, on the embedded data with a tiny architecture."""
    done = run_python("train.py", ["--epochs", "1", *TINY_TRAIN_FLAGS, "--batch-size", "256",
                                   "--output", tmp_path / "run", "--no-analysis"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for kind in ("ae", "vae"):
        assert (tmp_path / "run" / kind / "saved_model" / "saved_model.pb").exists()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["dataset"] == "embedded"
    assert summary["splits"] == {"train": 3600, "validation": 400, "test": 1000}


def test_a_usage_error_in_a_subprocess_is_one_line_without_traceback(tmp_path):
    done = run_python("train.py", ["--epochs", "-1"], cwd=tmp_path, timeout=300)
    line = assert_usage_error(done.returncode, done.stderr, absent=[tmp_path / "runs"])
    assert line == "train.py: error: epochs must be a positive integer, got -1"


# ----------------------------------------------------------------------------- three splits


def test_metrics_and_summary_record_the_size_of_all_three_splits(tiny_run, tiny_splits):
    sizes = prepare_splits(TrainConfig(), tiny_splits).sizes()
    assert sizes["train"] + sizes["validation"] == len(tiny_splits.train_images) and sizes["validation"] > 0
    assert sizes["test"] == len(tiny_splits.test_images)
    run = RunFolder(tiny_run)
    for record in (run.read_summary(), run.read_metrics("ae"), run.read_metrics("vae")):
        assert record["splits"] == sizes
        assert (record["train_images"], record["validation_images"], record["test_images"]) == (
            sizes["train"], sizes["validation"], sizes["test"])
    assert f"trained on {sizes['train']}, validated on {sizes['validation']}" in format_comparison(run.read_summary())


def test_val_metrics_and_the_best_checkpoint_come_from_the_validation_split(tiny_run, tiny_splits):
    """The recorded val_loss is the checkpoint's loss on the validation pairs, not on the test pairs."""
    from aezoo.families import model_classes

    model_classes()  # registers the classes with Keras
    from aezoo.datasets import pairs_dataset, test_pairs, validation_pairs

    run = RunFolder(tiny_run)
    config = TrainConfig.from_json(run.read_config())
    state = json.loads(run.best_checkpoint_path("ae").with_name("best.keras.json").read_text())
    assert state["monitor"] == "val_loss"
    model = keras.saving.load_model(run.best_checkpoint_path("ae"))
    splits = prepare_splits(config, tiny_splits)
    noise = config.noise_model()

    def loss(pairs):
        return model.evaluate(pairs_dataset(*pairs, config.batch_size), verbose=0, return_dict=True)["loss"]

    on_validation = loss(validation_pairs(splits.validation_images, noise, config.seed))
    on_test = loss(test_pairs(splits.test_images, noise, config.seed))
    # The tiny model is nearly constant, so the two losses are close: tight tolerance, seeded run.
    assert state["best"] == pytest.approx(on_validation, rel=1e-5)
    assert state["best"] != pytest.approx(on_test, rel=1e-5)
    history = (tiny_run / "ae" / "history.csv").read_text().splitlines()
    val_losses = [float(row.split(",")[history[0].split(",").index("val_loss")]) for row in history[1:]]
    assert state["best"] == pytest.approx(min(val_losses))


# ----------------------------------------------------------------------------- settings and building


@pytest.mark.parametrize("models, expected", [("both", ("ae", "vae")), ("all", None), ("vae,ae", ("vae", "ae")),
                                              (("ae",), ("ae",))])
def test_config_models_accept_what_the_family_list_accepts(models, expected):
    from aezoo.families import MODELS

    assert TrainConfig(models=models).validate().models == (expected or tuple(MODELS))


def test_an_unknown_model_is_a_usage_error_listing_the_families():
    with pytest.raises(UsageError, match="unknown model 'gan'; choose one or more .* of ae, vae"):
        TrainConfig(models="ae,gan").validate()


def test_validate_checks_hyperparameters_by_their_declarations_without_building_models(monkeypatch):
    from aezoo.families import ModelSpec

    def refuse(self, **hyperparameters):
        raise AssertionError("validate() built a model")

    monkeypatch.setattr(ModelSpec, "build", refuse)
    TrainConfig(hyperparameters={"embedding_dim": 3, "beta": 2.0}).validate()
    with pytest.raises(UsageError, match="embedding_dim must be a positive integer, got 0"):
        TrainConfig(hyperparameters={"embedding_dim": 0}).validate()
    with pytest.raises(UsageError, match="unknown model hyperparameter 'width'"):
        TrainConfig(hyperparameters={"width": 3}).validate()


def test_a_bad_hyperparameter_is_refused_and_nothing_is_written(tmp_path, tiny_splits):
    config = TrainConfig(models="vae", hyperparameters={"beta": -1.0})
    with pytest.raises(UsageError, match="beta must be"):
        train(config, output=tmp_path / "run", splits=tiny_splits)
    assert not (tmp_path / "run").exists()


def test_training_prints_nothing_and_returns_its_table(tmp_path, tiny_splits, capsys):
    config = TrainConfig(models=("ae",), epochs=1, batch_size=64, hyperparameters=dict(TINY_HYPERPARAMETERS))
    result = train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits)
    assert capsys.readouterr().out == ""
    assert "median 3x3" in result.table and "\nae " in result.table


# ----------------------------------------------------------------------------- the run folder


def test_run_folder_knows_what_is_finished(tiny_run, tmp_path):
    run = RunFolder(tiny_run)
    assert run.is_finished() and run.models() == ["ae", "vae"] and run.unfinished_models() == []
    assert run.model_file("ae") == tiny_run / "ae" / "model.keras" and run.read_metrics("ae")["model"] == "ae"
    copy = RunFolder(tmp_path / "run")
    shutil.copytree(tiny_run, copy.path)
    copy.metrics_path("ae").unlink()
    copy.mark_incomplete()
    assert not copy.is_finished() and copy.models() == ["vae"] and copy.unfinished_models() == ["ae"]
    assert RunFolder(tmp_path / "nothing").read_config() is None and not RunFolder(tmp_path / "nothing").is_run()


# ----------------------------------------------------------------------------- the whole zoo


def test_every_family_trains_in_one_run_and_the_table_lists_them_against_both_baselines(zoo_run):
    from aezoo.families import MODELS

    run = RunFolder(zoo_run)
    summary = run.read_summary()
    assert run.is_finished() and sorted(run.models()) == sorted(MODELS)
    assert list(summary["test"]) == ["noisy input", "median 3x3", "non-local means", "total variation", *MODELS]
    table = format_comparison(summary).splitlines()
    (header,) = [line for line in table if "PSNR dB" in line]
    assert "vs noisy" in header and "vs median" in header
    for kind in MODELS:
        (row,) = [line for line in table if line.startswith(f"{kind} ")]
        gains = [float(cell) for cell in row.split()[4:6]]  # after MSE, PSNR and SSIM
        psnr = summary["test"][kind]["psnr"]
        assert gains == pytest.approx([psnr - summary["test"][name]["psnr"] for name in ("noisy input", "median 3x3")],
                                      abs=0.006)
        for name in MODEL_FILES[:3]:
            assert (zoo_run / kind / name).exists(), f"{kind}/{name} missing"


def test_the_iwae_records_both_bounds_and_the_cvae_is_scored_with_labels(zoo_run):
    run = RunFolder(zoo_run)
    iwae = run.read_metrics("iwae")
    assert {"iwae_bound", "elbo"} <= set(iwae["test"]) and iwae["config"]["iw_samples"] == 5
    # The bound is the average of log-mean-exp weights, never below the first sample's ELBO by much;
    # both are finite log-likelihoods in nats.
    assert all(-1e4 < iwae["test"][name] < 0 for name in ("iwae_bound", "elbo"))
    cvae = run.read_metrics("cvae")
    assert 0 < cvae["test"]["mse"] < 0.3 and {"reconstruction_loss", "kl"} <= set(cvae["test"])
    assert (zoo_run / "cvae" / "reconstructions" / "epoch_001.png").exists()


def test_the_kl_warm_up_reaches_every_model_with_a_kl_term(zoo_run):
    from tests.helpers import read_csv

    assert RunFolder(zoo_run).read_metrics("vae")["kl_warmup_epochs"] == 2
    for kind in ("vae", "beta_vae", "iwae", "cvae"):
        (row,) = read_csv(zoo_run / kind / "history.csv")
        assert float(row["kl_weight"]) == 0.0, kind  # epoch 0 of a 2-epoch warm-up
    for kind in ("ae", "vqvae", "unet"):
        assert "kl_weight" not in read_csv(zoo_run / kind / "history.csv")[0], kind


def _specs(data):
    """The structure of a dataset's or array input's first element: "images" or "(images, labels)"."""
    import tensorflow as tf

    element = data.element_spec[0] if isinstance(data, tf.data.Dataset) else data
    return "(images, labels)" if isinstance(element, tuple) else "images"


def test_labels_reach_only_the_models_that_need_them(tmp_path, tiny_splits, monkeypatch):
    """Every door into a model (fit, validation, evaluate, direct calls such as the test predictions,
    the reconstruction plot) is watched."""
    seen: dict[tuple[str, str], set[str]] = {}

    def spy(method):
        original = getattr(keras.Model, method)

        def watched(self, x=None, *args, **kwargs):
            seen.setdefault((self.name, method), set()).add(_specs(x))
            if method != "fit":  # fit's own evaluate() gets its CallbackList, nothing new
                return original(self, x, *args, **kwargs)
            seen.setdefault((self.name, "validation"), set()).add(_specs(kwargs["validation_data"]))
            for callback in kwargs["callbacks"]:
                if hasattr(callback, "labels"):
                    seen.setdefault((self.name, "plot"), set()).add(
                        "images" if callback.labels is None else "(images, labels)")
            return original(self, x, *args, **kwargs)

        monkeypatch.setattr(keras.Model, method, watched)

    for method in ("fit", "evaluate", "predict", "__call__"):
        spy(method)
    config = TrainConfig(models=("ae", "vae", "cvae"), epochs=1, batch_size=64,
                         hyperparameters=dict(TINY_HYPERPARAMETERS))
    train(config, output=tmp_path / "run", verbose=0, splits=tiny_splits)
    doors = ("fit", "validation", "evaluate", "__call__", "plot")
    for kind in ("ae", "vae"):
        assert {door: seen[(kind, door)] for door in doors} == {door: {"images"} for door in doors}, kind
    assert {door: seen[("cvae", door)] for door in doors} == {door: {"(images, labels)"} for door in doors}


@pytest.mark.parametrize("flags, message", [
    (["--kl-warmup-epochs", "-1"], "KL warm-up epochs must be an integer >= 0 (0: no warm-up), got -1"),
    (["--model", "iwae", "--iw-samples", "0"], "iw_samples must be a "
                                               "positive integer, got 0"),
    (["--model", "ae", "--iw-samples", "0"], "iw_samples"),  # a mistake even when no IWAE is trained
    # A prefix of the list: the first families; those added later come after them.
    (["--model", "ae,gan"], "unknown model 'gan'; choose one or more (comma-separated) of ae, vae, beta_vae, iwae, "),
])
def test_zoo_flag_mistakes_are_one_line_status_2_and_write_nothing(flags, message, tmp_path, capsys, monkeypatch):
    from tests.helpers import assert_usage_error

    monkeypatch.chdir(tmp_path)
    status = main(["train", "--output", str(tmp_path / "run"), *flags])
    assert_usage_error(status, capsys.readouterr().err, message, absent=[tmp_path / "run", tmp_path / "runs"])


def test_kl_warmup_and_iw_samples_flags_reach_the_config_and_the_iwae_only():
    from aezoo.commands import build_parser
    from aezoo.commands.train import config_from_args
    from aezoo.config import model_defaults
    from aezoo.training import build_model

    def config(*flags):
        return config_from_args(build_parser("train").parse_args(["--model", "all", *flags]))

    given = config("--kl-warmup-epochs", "3", "--iw-samples", "2").validate()
    assert given.kl_warmup_epochs == 3 and build_model("iwae", given).iw_samples == 2
    assert "iw_samples" not in build_model("vae", given).get_config()  # only the IWAE takes it
    default = config().validate()
    assert default.kl_warmup_epochs == 0
    assert build_model("iwae", default).iw_samples == model_defaults("iwae")["iw_samples"]


def test_an_old_run_folder_without_the_new_settings_still_resumes(tmp_path, tiny_splits):
    config = TrainConfig(models=("ae",), epochs=1, batch_size=64, hyperparameters=dict(TINY_HYPERPARAMETERS))
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    older = config.to_json()
    del older["kl_warmup_epochs"]  # written before the setting existed
    run.write_config(older)
    run.mark_incomplete()
    train(config, output=run.path, verbose=0, splits=tiny_splits)
    assert run.is_finished()


def test_every_model_gets_the_kl_warm_up_before_the_history_is_written(tmp_path):
    from aezoo.callbacks import EpochTimer, HistoryCSV, KLWarmup
    from aezoo.families import get_model
    from aezoo.training import HeldOut, TrainingContext, _callbacks

    images = np.zeros((4, 28, 28, 1), np.float32)
    context = TrainingContext(config=TrainConfig(kl_warmup_epochs=3), splits=None, run=RunFolder(tmp_path))
    context.held_out = HeldOut(images, images, images, images, np.arange(4), np.arange(4))
    for kind in ("ae", "cvae"):
        callbacks = _callbacks(get_model(kind).model_class, kind, context, EpochTimer(4))
        kinds = [type(callback) for callback in callbacks]
        (warmup,) = [callback for callback in callbacks if isinstance(callback, KLWarmup)]
        assert warmup.warmup_epochs == 3 and kinds.index(KLWarmup) < kinds.index(HistoryCSV), kind


def test_loss_curves_are_redrawn_at_most_every_interval_and_after_the_last_epoch(tmp_path, monkeypatch):
    import types

    from aezoo.callbacks import loss_curves

    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(loss_curves, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    drawn: list[int] = []  # how many epochs each picture showed
    monkeypatch.setattr(loss_curves, "save_figure",
                        lambda figure, path, **options: drawn.append(len(figure.axes[0].lines[0].get_xdata())))

    def train(epochs: int, stop_after: int) -> None:
        callback = loss_curves.LossCurves(tmp_path / "curves.png", min_interval=5.0)
        callback.set_params({"epochs": epochs})
        callback.on_train_begin()
        for epoch in range(stop_after):
            clock.now += 2.0  # two seconds per epoch
            callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 1.0})
        callback.on_train_end()

    train(epochs=6, stop_after=6)
    assert drawn == [1, 4, 6]  # the first epoch, then 6 s later, then the last epoch
    drawn.clear()
    train(epochs=6, stop_after=2)  # stopped early (e.g. a NaN) after an epoch that was not drawn
    assert drawn == [1, 2]
