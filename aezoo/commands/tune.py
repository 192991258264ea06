"""Search embedding size, depth, filters and learning rate (and the VAE's beta) with keras-tuner.

Each trial trains on the noisy digits and is scored on the fixed noisy test pairs (default:
validation PSNR). At the end: a results table (printed, results.csv), a plot (results.png) and
the best configuration retrained into a normal run folder (TUNING/best). Re-running the same
command resumes an interrupted search. Distributed search: set KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT (see docs/tuning.md).
"""

from __future__ import annotations

import argparse

from aezoo.commands.train import add_data_arguments, noise_strength
from aezoo.config import TrainConfig
from aezoo.models import MODEL_CLASSES
from aezoo.hypermodels import DEFAULT_OBJECTIVE, objectives
from aezoo.tuning import DEFAULT_EPOCHS, DEFAULT_MAX_TRIALS, TUNERS, SearchSettings, parse_fixed, tune


def add_arguments(parser: argparse.ArgumentParser) -> None:
    search = parser.add_argument_group("search")
    search.add_argument("--model", choices=tuple(MODEL_CLASSES), default="ae", help="which model to tune")
    search.add_argument("--tuner", choices=TUNERS, default="hyperband",
                        help="hyperband: many short trials, the best trained longer; random; bayesian "
                             "(a Gaussian process picks the next trial)")
    search.add_argument("--max-trials", type=int, default=None,
                        help=f"trials to run; None: {DEFAULT_MAX_TRIALS} for random and bayesian, all of "
                             "hyperband's brackets (for hyperband a number only caps them)")
    search.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help="epochs per trial (hyperband: of its longest trials) and of the final retraining")
    names = {name: objective.direction for kind in MODEL_CLASSES for name, objective in objectives(kind).items()}
    search.add_argument("--objective", default=DEFAULT_OBJECTIVE,
                        help="validation metric to optimise: " + ", ".join(
                            f"{name} ({'max' if direction == 'max' else 'min'}imised)" for name, direction in names.items()))
    search.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                        help="pin a hyperparameter instead of searching it, e.g. --fix filters=16 (repeatable)")
    search.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="images per step")
    search.add_argument("--retrain-epochs", type=int, default=None,
                        help="epochs of the best configuration's final training; None: --epochs")
    add_data_arguments(parser)
    # A search trains dozens of models: its default is the small embedded set (4000/1000 digits),
    # not train.py's "auto", which may pick 60000-image MNIST and blow the time budget 15-fold.
    parser.set_defaults(dataset="embedded")
    output = parser.add_argument_group("output")
    output.add_argument("--output", metavar="DIR",
                        help="tuning folder (default: tuning/MODEL-TUNER); an unfinished search there is resumed")
    output.add_argument("--overwrite", action="store_true", help="delete an earlier search in --output and start over")
    output.add_argument("--no-analysis", action="store_true", help="skip the latent-space analysis of the best run")


def run(args: argparse.Namespace) -> int:
    settings = SearchSettings(
        model=args.model, tuner=args.tuner, max_trials=args.max_trials, epochs=args.epochs,
        objective=args.objective, dataset=args.dataset, data_dir=args.data_dir, noise=args.noise,
        noise_strength=noise_strength(args), batch_size=args.batch_size, seed=args.seed,
        retrain_epochs=args.retrain_epochs, fixed=parse_fixed(args.model, args.fix),
    ).validate()
    result = tune(settings, output=args.output, overwrite=args.overwrite, analyze=not args.no_analysis)
    if result.role == "worker":
        print(f"\nWorker finished; the chief writes the results in {result.output}")
        return 0
    print(f"\nTuning folder: {result.output}")
    return 0 if result.best is not None else 1
