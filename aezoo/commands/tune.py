"""Search the architecture and learning rate of any model family with keras-tuner.

Each family searches the constructor arguments it has (embedding size, depth, filters; beta for
the VAE family, iw_samples for the IWAE, num_codes for the VQ-VAE) and the learning rate.

Each trial trains on the noisy digits and is scored on the fixed noisy validation pairs
(default: validation PSNR). At the end: a results table (printed, results.csv), a plot
(results.png) and the best configuration retrained into a normal run folder (TUNING/best), whose
test score is reported apart. Re-running the same command resumes an interrupted search.
Several models (--model ae,vae) are searched one after the other, each in its own folder.
Distributed search: set KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT
(see docs/tuning.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aezoo import files
from aezoo.commands import flags
from aezoo.errors import UsageError
from aezoo.families import PLAIN_AUTOENCODER

EPILOG = flags.families_epilog()

# Copies of aezoo.tuning's and aezoo.hypermodels' values for --help (tests/test_commands.py keeps them equal).
TUNERS = ("random", "bayesian", "hyperband")  # aezoo.tuning.TUNERS
SEARCH_DEFAULTS = {"model": PLAIN_AUTOENCODER, "tuner": "hyperband", "epochs": 9, "max_trials": 10,  # aezoo.tuning
                   "objective": "val_psnr", "dataset": "embedded"}  # SearchSettings, DEFAULT_MAX_TRIALS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SEARCH_DEFAULTS
    flags.add_model_list_argument(parser, default=defaults["model"], what="tune, one search after the other")
    search = parser.add_argument_group("search")
    search.add_argument("--tuner", choices=TUNERS,
                        help="hyperband: many short trials, the best trained longer; random; bayesian "
                             f"(a Gaussian process picks the next trial) (default: {defaults['tuner']})")
    search.add_argument("--max-trials", type=int,
                        help=f"trials to run (default: {defaults['max_trials']} for random and bayesian, all of "
                             "hyperband's brackets; for hyperband a number only caps them)")
    search.add_argument("--epochs", type=int,
                        help="epochs per trial (hyperband: of its longest trials) and of the final retraining "
                             f"(default: {defaults['epochs']})")
    search.add_argument("--objective",
                        help="validation metric to optimise, e.g. val_psnr (maximised) or val_loss (minimised); "
                             f"a mistyped name lists the model's metrics (default: {defaults['objective']})")
    search.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                        help="pin a hyperparameter of every searched model instead of searching it, "
                             "e.g. --fix filters=16 (repeatable)")
    search.add_argument("--batch-size", type=int,
                        help=f"images per step (default: train.py's, {flags.TRAINING_DEFAULTS['batch_size']})")
    search.add_argument("--retrain-epochs", type=int,
                        help="epochs of the best configuration's final training (default: --epochs)")
    # A search trains dozens of models: its default is the small embedded set, not train.py's
    # "auto", which may pick 60000-image MNIST and make every trial 15 times longer.
    flags.add_data_arguments(parser, dataset_default=defaults["dataset"])
    output = parser.add_argument_group("output")
    output.add_argument("--output", metavar="DIR",
                        help="tuning folder (default: tuning/MODEL-TUNER); with several models, the folder "
                             "that holds one MODEL-TUNER folder per model. An unfinished search there is resumed")
    output.add_argument("--overwrite", action="store_true", help="delete an earlier search in --output and start over")
    output.add_argument("--no-analysis", action="store_true", help="skip the latent-space analysis of the best run")


# SearchSettings fields that a flag of the same name sets; unset flags leave SearchSettings' default.
_SETTINGS_FLAGS = ("tuner", "max_trials", "epochs", "objective", "dataset", "data_dir", "image_size", "color_mode",
                   "fit", "batch_size", "seed",
                   "validation_fraction", "retrain_epochs")


def search_settings(args: argparse.Namespace) -> list[Any]:
    """One validated ``aezoo.tuning.SearchSettings`` per model, all checked before any search starts."""
    from aezoo.tuning import SearchSettings, parse_fixed  # imports TensorFlow

    kind, strength = flags.noise_from_args(args)
    searches = []
    for model in args.model:
        try:
            fixed = parse_fixed(model, args.fix)
        except UsageError as error:
            raise UsageError(f"{model}: {error}" if len(args.model) > 1 else str(error)) from None
        searches.append(SearchSettings(model=model, noise=kind, noise_strength=strength, fixed=fixed,
                                       **flags.given(args, *_SETTINGS_FLAGS)).validate())
    return searches


def output_folder(args: argparse.Namespace, settings: Any) -> Path | None:
    """``--output`` itself for one model; ``--output/MODEL-TUNER`` for several; ``None``: tuning's default."""
    if args.output is None:
        return None
    return Path(args.output) / f"{settings.model}-{settings.tuner}" if len(args.model) > 1 else Path(args.output)


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        files.check_writable(args.output, f"--output {args.output}", folder=True)
    searches = search_settings(args)  # every search is checked before the first one starts
    from aezoo.tuning import format_tuning, tune

    status = 0
    for settings in searches:
        result = tune(settings, output=output_folder(args, settings), overwrite=args.overwrite,
                      analyze=not args.no_analysis)
        if result.role == "worker":
            print(f"\nWorker finished; the chief writes the results in {result.output}")
            continue
        print(format_tuning(result.rows, result.best, settings))
        print(f"\nTuning folder: {result.output}")
        status = status or (0 if result.best is not None else 1)
    return status
