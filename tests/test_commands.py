"""The command line: quick TF-free parsing, the --model list, the shared flags, quiet start-up."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from aezoo.commands import build_parser, flags, run_command
from aezoo.errors import UsageError
from aezoo.families import MODELS
from tests.helpers import run_python, subprocess_env


def parse(command: str, *argv: str):
    return build_parser(command).parse_args(list(argv))


# ---------------------------------------------------------------------------------------------
# Quick start: parsing never imports TensorFlow

_PARSE_ONLY = """
import contextlib, io, json, sys
from aezoo.commands import run_command
cases = [("train", ["--help"]), ("train", ["--no-such-flag"]), ("train", ["--model", "nope"]),
         ("tune", ["--help"]), ("tune", ["--epochs", "x"]), ("analyze", ["--help"]),
         ("denoise", ["--help"]), ("encode", ["--help"]), ("models", ["--help"])]
results = []
for command, argv in cases:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = run_command(command, argv, prog=command)
    results.append([command, argv, status, out.getvalue(), err.getvalue()])
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "results": results}))
"""


@pytest.fixture(scope="module")
def parse_only() -> dict:
    """Help and bad flags of every command, run in one fresh process."""
    result = run_python("-c", [_PARSE_ONLY])
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_help_and_bad_flags_do_not_import_tensorflow(parse_only):
    assert parse_only["tensorflow"] is False
    statuses = {(command, argv[0]): status for command, argv, status, _, _ in parse_only["results"]}
    assert statuses[("train", "--help")] == 0 and statuses[("train", "--no-such-flag")] == 2
    assert statuses[("tune", "--epochs")] == 2


@pytest.mark.parametrize("command", ["train", "tune"])
def test_help_lists_every_family_with_its_idea(parse_only, command):
    text = next(out for name, argv, _, out, _ in parse_only["results"] if name == command and argv == ["--help"])
    for family in MODELS.values():
        assert f"{family.name}  " in text and family.summary in text


def test_a_bad_flag_is_one_line(parse_only):
    for command, argv, status, out, err in parse_only["results"]:
        if status == 2:
            assert out == "" and len(err.strip().splitlines()) == 1, (command, argv, err)
            assert err.startswith(f"{command}: error: ")


def test_an_unknown_model_names_the_families(parse_only):
    err = next(err for _, argv, _, _, err in parse_only["results"] if argv == ["--model", "nope"])
    assert "'nope'" in err and all(name in err for name in MODELS)


# ---------------------------------------------------------------------------------------------
# --model: one name, a comma list, both, all

@pytest.mark.parametrize("command", ["train", "tune"])
def test_model_lists(command):
    assert parse(command, "--model", "all").model == tuple(MODELS)
    assert parse(command, "--model", "both").model == ("ae", "vae")
    assert parse(command, "--model", "vae,ae,vae").model == ("vae", "ae")


def test_defaults_both_for_train_and_ae_for_tune():
    assert parse("train").model == ("ae", "vae")
    assert parse("tune").model == ("ae",)


# ---------------------------------------------------------------------------------------------
# Flags to settings

def test_unset_flags_leave_the_library_defaults():
    from aezoo.commands.train import config_from_args
    from aezoo.config import TrainConfig

    config = config_from_args(parse("train", "--model", "vae"))
    default = TrainConfig(models=("vae",))
    assert config.to_json() == default.to_json()


def test_given_flags_reach_the_config():
    from aezoo.commands.train import config_from_args

    config = config_from_args(parse("train", "--model", "ae", "--epochs", "3", "--seed", "7", "--filters", "8",
                                    "--no-batch-norm", "--noise", "mask", "--noise-strength", "0.1",
                                    "--lr-schedule", "constant"))
    assert (config.models, config.epochs, config.seed, config.noise, config.noise_strength, config.lr_schedule) == (
        ("ae",), 3, 7, "mask", 0.1, "constant")
    assert config.hyperparameters == {"filters": 8, "batch_norm": False}


def _has_validation_fraction() -> bool:
    from aezoo.config import TrainConfig

    return "validation_fraction" in {field.name for field in dataclasses.fields(TrainConfig)}


def test_validation_fraction_reaches_the_config():
    if not _has_validation_fraction():
        pytest.skip("TrainConfig has no validation_fraction yet")
    from aezoo.commands.train import config_from_args

    assert config_from_args(parse("train", "--validation-fraction", "0.2")).validation_fraction == 0.2


# ---------------------------------------------------------------------------------------------
# One set of noise flags

def test_the_same_noise_flags_in_train_tune_denoise_and_bench():
    from aezoo.bench.__main__ import parse_args as bench_args

    argv = ["--noise", "salt_pepper", "--noise-strength", "0.1"]
    assert flags.noise_from_args(parse("train", *argv)) == ("salt_pepper", 0.1)
    assert flags.noise_from_args(parse("tune", *argv)) == ("salt_pepper", 0.1)
    assert flags.noise_from_args(bench_args(argv)) == ("salt_pepper", 0.1)
    denoise = parse("denoise", "RUN", "x.png", "-o", "out", *argv)
    assert (denoise.add_noise, denoise.noise_strength) == ("salt_pepper", 0.1)


def test_noise_defaults():
    assert flags.noise_from_args(parse("train")) == ("gaussian", None)  # None: the kind's own strength
    assert parse("denoise", "RUN", "x.png", "-o", "out").add_noise is None
    assert parse("denoise", "RUN", "x.png", "-o", "out", "--noise", "mask").add_noise == "mask"


@pytest.mark.parametrize("old", [["--noise-std", "0.3"], ["--noise-amount", "0.3"], ["--mask-rate", "0.3"]])
def test_the_old_noise_spellings_are_gone(old, capsys):
    with pytest.raises(SystemExit):
        parse("train", *old)
    assert "unrecognized arguments" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse("denoise", "RUN", "x.png", "-o", "out", "--add-noise", "mask")


# ---------------------------------------------------------------------------------------------
# Model flags: generated from the families' declarations

def test_every_flaggable_hyperparameter_has_its_flag_and_reaches_the_config():
    from aezoo.families import all_hyperparameters

    declared = [h for h in all_hyperparameters().values() if h.flag]
    parser = build_parser("train")
    offered = {option for action in parser._actions for option in action.option_strings}
    assert {h.flag_name for h in declared} <= offered
    argv, expected = [], {}
    for h in declared:
        value = {bool: False, str: (h.choices or ("tanh",))[-1], int: 3, float: 0.5}[h.kind]
        argv += [f"--no-{h.flag_name[2:]}"] if h.kind is bool else [h.flag_name, str(value)]
        expected[h.name] = value
    assert flags.hyperparameters(parse("train", *argv)) == expected
    assert flags.hyperparameters(parse("train")) == {}


def test_hidden_hyperparameters_have_no_flag(capsys):
    for hidden in ("--num-classes", "--iw_samples"):  # flag=False, and the flag is spelt with dashes
        with pytest.raises(SystemExit):
            parse("train", hidden, "3")
    assert "unrecognized arguments" in capsys.readouterr().err


def test_model_flag_help_gives_each_models_default_and_who_takes_it():
    text = build_parser("train").format_help().replace("\n", " ")
    text = " ".join(text.split())
    # Prefixes: a family added later that takes --beta extends both lists.
    assert "(default 1; beta_vae 4, cvae 2" in text and "; taken by vae, beta_vae, iwae, cvae" in text
    assert "(default 10; vqvae 16; taken by" in text
    assert "(mse or bce; default mse; taken by ae" in text
    depth = text.split("--depth N ", 1)[1].split(" --filters", 1)[0]
    assert depth.startswith("convolutions per resolution level (default 2") and "taken by" not in depth  # all take it


def test_a_new_familys_hyperparameter_gets_its_flag_by_being_declared(monkeypatch):
    from aezoo import families
    from aezoo.families.family import Family, ModelSpec
    from aezoo.models.hyperparameters import Hyperparameter

    bandwidth = Hyperparameter("kernel_bandwidth", 1.5, "width of the MMD kernel", kind=float, minimum=0.0,
                               metavar="H")
    wae = Family(name="wae", model="nowhere:WAE", summary="Wasserstein autoencoder", paper="Tolstikhin 2018",
                 hyperparameters=(bandwidth,), loss_in_words=lambda config: "")
    monkeypatch.setitem(families.FAMILIES, "wae", wae)
    monkeypatch.setitem(families.MODELS, "wae", ModelSpec("wae", wae))
    args = parse("train", "--kernel-bandwidth", "0.7")
    assert flags.hyperparameters(args) == {"kernel_bandwidth": 0.7}
    assert "(default 1.5; taken by wae)" in " ".join(build_parser("train").format_help().split())


# ---------------------------------------------------------------------------------------------
# --sampler

def test_sampler_flag_reaches_the_config():
    from aezoo.commands.train import config_from_args

    assert config_from_args(parse("train", "--sampler", "gmm")).sampler == "gmm"
    assert config_from_args(parse("train")).sampler is None


def test_a_sampler_that_does_not_apply_to_a_listed_model_is_refused_in_one_line():
    from aezoo.config import TrainConfig
    from aezoo.training import check_models

    check_models(TrainConfig(models=("vae", "ae"), sampler="gmm").validate())
    with pytest.raises(UsageError, match="^--sampler pixelcnn does not apply to vae: ") as error:
        check_models(TrainConfig(models=("vae",), sampler="pixelcnn").validate())
    assert "\n" not in str(error.value)
    with pytest.raises(UsageError, match="unknown sampler 'mixture'"):
        TrainConfig(sampler="mixture").validate()


# ---------------------------------------------------------------------------------------------
# The CLI's TF-free copies equal the library's values

def test_copies_of_library_values_are_equal():
    from aezoo.config import LR_SCHEDULES, TrainConfig
    from aezoo.datasets.noise import DEFAULT_STRENGTH, NOISE_KINDS
    from aezoo.datasets.image_files import COLOR_MODES, FITS
    from aezoo.datasets.sources import DATASET_NAMES
    from aezoo.distribute import STRATEGIES

    assert flags.NOISE_KINDS == NOISE_KINDS and flags.DEFAULT_NOISE_STRENGTH == DEFAULT_STRENGTH
    assert (flags.DATASET_NAMES, flags.STRATEGIES, flags.LR_SCHEDULES) == (DATASET_NAMES, STRATEGIES, LR_SCHEDULES)
    assert (flags.COLOR_MODES, flags.TRAINING_FITS) == (COLOR_MODES, FITS)
    defaults = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
    shown = dict(flags.TRAINING_DEFAULTS)
    if not _has_validation_fraction():
        shown.pop("validation_fraction")
    assert shown == {name: defaults[name] for name in shown}


def test_copy_of_the_analysis_size_is_equal():
    from aezoo.analysis.embeddings import FIRST_TEST_IMAGES
    from aezoo.commands.analyze import DEFAULT_IMAGES

    assert DEFAULT_IMAGES == FIRST_TEST_IMAGES


def test_copies_of_tuning_values_are_equal():
    from aezoo.commands import tune as command
    from aezoo.tuning import DEFAULT_MAX_TRIALS, TUNERS, SearchSettings

    assert command.TUNERS == TUNERS
    defaults = {field.name: field.default for field in dataclasses.fields(SearchSettings)}
    expected = {name: defaults[name] for name in command.SEARCH_DEFAULTS if name != "max_trials"}
    assert command.SEARCH_DEFAULTS == expected | {"max_trials": DEFAULT_MAX_TRIALS}


# ---------------------------------------------------------------------------------------------
# tune with several models

def test_tune_checks_every_search_before_starting_any(monkeypatch):
    import aezoo.tuning
    from aezoo.commands import tune as command

    started = []
    monkeypatch.setattr(aezoo.tuning, "tune", lambda settings, **kwargs: started.append(settings))
    args = parse("tune", "--model", "vae,ae", "--fix", "beta=2")  # beta means nothing to the AE, listed second
    with pytest.raises(UsageError, match="^ae: "):
        command.run(args)
    assert started == []


def test_tune_gives_each_model_its_own_folder():
    from aezoo.commands import tune as command

    args = parse("tune", "--model", "ae,vae", "--tuner", "random", "--output", "out", "--epochs", "1")
    settings = command.search_settings(args)
    assert [s.model for s in settings] == ["ae", "vae"] and all(s.epochs == 1 for s in settings)
    assert [command.output_folder(args, s) for s in settings] == [Path("out/ae-random"), Path("out/vae-random")]
    one = parse("tune", "--output", "out")
    assert command.output_folder(one, command.search_settings(one)[0]) == Path("out")


# ---------------------------------------------------------------------------------------------
# The models command

def test_models_command_lists_families_and_capabilities(capsys):
    assert run_command("models", []) == 0
    out = capsys.readouterr().out
    for family in MODELS.values():
        assert out.count(f"{family.name}: {family.summary}") == 1
    assert "capabilities: latent space, generative, likelihood, KL term" in out  # the VAE
    from aezoo.samplers import samplers_for

    vae = ", ".join(samplers_for(MODELS["vae"].model_class))
    assert f"samplers:     {vae} (default prior)" in out and "paper:" in out
    assert vae.startswith("prior, gmm")
    assert run_command("models", ["nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# A quiet start

_IMPORT = "from aezoo.commands.startup import quiet_tensorflow; quiet_tensorflow({verbose}); import keras"


@pytest.mark.parametrize("verbose", [False, True])
def test_tensorflow_starts_quietly_unless_asked(verbose):
    result = run_python("-c", [_IMPORT.format(verbose=verbose)], env=subprocess_env(quiet=False))
    assert result.returncode == 0, result.stderr[-2000:]
    if verbose:  # the quiet case proves something only where TensorFlow has something to say
        if not result.stderr:
            pytest.skip("TensorFlow writes nothing at import on this machine")
    else:
        assert result.stderr == ""
