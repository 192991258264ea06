"""Train denoising autoencoders of the zoo's families on noisy digits.

Writes a run folder with each model's model.keras, SavedModel, metrics, history and pictures,
and prints a comparison with two baselines (the noisy input and a 3x3 median filter).
Re-running the same command after an interruption resumes the unfinished run.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from aezoo import timing
from aezoo.commands import flags

if TYPE_CHECKING:
    from aezoo.config import TrainConfig

EPILOG = flags.families_epilog()


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = flags.TRAINING_DEFAULTS
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=int, help=f"passes over the training images (default: {defaults['epochs']})")
    group.add_argument("--batch-size", type=int, help=f"images per step (default: {defaults['batch_size']})")
    group.add_argument("--learning-rate", type=float,
                       help=f"Adam's (initial) step size (default: {defaults['learning_rate']})")
    group.add_argument("--lr-schedule", choices=flags.LR_SCHEDULES,
                       help=f"constant, or cosine decay to zero over the run (default: {defaults['lr_schedule']})")
    group.add_argument("--steps-per-execution", type=int,
                       help="training steps per call into the compiled graph: fewer Python round trips "
                            f"(default: {defaults['steps_per_execution']})")
    group.add_argument("--strategy", choices=flags.STRATEGIES,
                       help="tf.distribute strategy: auto picks multi-worker from TF_CONFIG, mirrored with "
                            f"2+ GPUs (default: {defaults['strategy']})")
    group.add_argument("--kl-warmup-epochs", type=int, metavar="N",
                       help="models with a KL term (the VAE family): ramp its weight from 0 to beta over the "
                            f"first N epochs, so the decoder learns to use the code first "
                            f"(default: {defaults['kl_warmup_epochs']}, no warm-up)")
    group.add_argument("--mixed-precision", action="store_true",
                       help="compute in float16 on GPUs (bfloat16 on CPUs), keep weights in float32")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    flags.add_model_list_argument(parser, default="both", what="train")
    flags.add_data_arguments(parser)
    flags.add_model_arguments(parser)
    add_training_arguments(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--output", metavar="DIR",
                        help="run folder (default: a new timestamped folder under runs/, or the unfinished "
                             "run of the same command, which is resumed)")
    output.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    output.add_argument("--no-analysis", action="store_true", help="skip the latent-space analysis after training")
    output.add_argument("--no-generation", action="store_true",  # generation hook
                        help="skip the generation metrics (NLL, FD, sample grids) of the analysis")
    flags.add_sampler_argument(output, "the sampler fitted after training, exported in each model's SavedModel "
                                       "and scored by the report")


# TrainConfig fields that a flag of the same name sets; unset flags leave TrainConfig's default.
_CONFIG_FLAGS = ("dataset", "data_dir", "image_size", "color_mode", "fit", "validation_fraction", "seed", "epochs", "batch_size", "learning_rate",
                 "lr_schedule", "steps_per_execution", "strategy", "kl_warmup_epochs", "sampler")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's settings: the flags given, TrainConfig's defaults for the rest."""
    from aezoo.config import TrainConfig  # imports TensorFlow

    kind, strength = flags.noise_from_args(args)
    return TrainConfig(models=args.model, noise=kind, noise_strength=strength,
                       hyperparameters=flags.hyperparameters(args), tensorboard=args.tensorboard,
                       mixed_precision=args.mixed_precision, **flags.given(args, *_CONFIG_FLAGS))


def run(args: argparse.Namespace) -> int:
    from aezoo.training import format_comparison, train

    timer = getattr(args, "timer", None) or timing.PhaseTimer()
    config = config_from_args(args)
    timer.lap(timing.START_UP)  # the interpreter, the flags and the imports, TensorFlow's included
    result = train(config, output=args.output, timer=timer)  # validates before writing anything
    if not result.chief:  # another worker of a multi-worker run: the chief reports and analyses
        return 0
    print(format_comparison(result.summary))
    if not args.no_analysis:
        from aezoo.analysis import analyze_run

        # The same timer: the analysis's phases join the table before the report shows it. The
        # models and data still in memory spare loading them again.
        analyze_run(result.run_dir, generation=not args.no_generation, timer=timer,  # generation hook: the flag
                    models=result.models, splits=result.splits)
    phases = (result.folder.read_summary() or {}).get("phases", [])
    print(f"\n{timing.one_line(phases)} (every phase: summary.json \"phases\")")
    print(f"Run folder: {result.run_dir}")
    return 0
