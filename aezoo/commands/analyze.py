"""Analyse the latent spaces of a trained run and write its HTML report.

For every trained model in RUN_DIR: a t-SNE map of the embeddings of the first test images
coloured by class, interpolations between test digits, latent metrics (k-NN accuracy against
pixel and PCA baselines, silhouette, trustworthiness, interpolation smoothness, VAE active
units) in RUN_DIR/<model>/analysis/, then RUN_DIR/report.html comparing the models.
Uses the saved models only: nothing is trained.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aezoo import files
from aezoo.errors import UsageError

# aezoo.analysis.FIRST_TEST_IMAGES, copied so that --help loads no TensorFlow (tests/test_commands.py
# keeps them equal): a thousand digits, a hundred per class, are enough for stable t-SNE maps and
# k-NN scores and keep the analysis of a run to seconds.
DEFAULT_IMAGES = 1000
DEFAULT_NLL_SAMPLES = 16  # aezoo.evaluation.likelihood.DEFAULT_SAMPLES, copied for the same reason


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by train, e.g. runs/20260101-120000")
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES,
                        help="embed this many images from the start of the test split")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of t-SNE, folds, pairs and samples (default: the run's seed)")
    # Generation hook: the generation metrics' flags.
    parser.add_argument("--no-generation", action="store_true",
                        help="skip the generation metrics (NLL, FD, class coverage, sample grids)")
    parser.add_argument("--nll-samples", type=int, default=None, metavar="K",
                        help=f"importance samples per image for the NLL (default: {DEFAULT_NLL_SAMPLES})")


def run(args: argparse.Namespace) -> int:
    if args.images < 10:
        raise UsageError(f"--images must be at least 10, got {args.images}")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.nll_samples is not None and args.nll_samples < 1:
        raise UsageError(f"--nll-samples must be an integer >= 1, got {args.nll_samples}")
    if Path(args.run_dir).is_dir():  # the analysis writes its figures and report into the run folder
        files.check_writable(args.run_dir, f"run folder {args.run_dir}", folder=True)
    from aezoo.analysis import analyze_run  # imports TensorFlow

    generation = False if args.no_generation else ({"nll_samples": args.nll_samples} if args.nll_samples else True)
    report = analyze_run(args.run_dir, images=args.images, seed=args.seed, generation=generation)
    print(f"\nReport: {report}")
    return 0
