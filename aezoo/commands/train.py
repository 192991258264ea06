"""Train a convolutional autoencoder and a variational autoencoder to denoise MNIST digits.

Writes a run folder with each model's model.keras, SavedModel, metrics, history and pictures,
and prints a comparison with two baselines (the noisy input and a 3x3 median filter).
Re-running the same command after an interruption resumes the unfinished run.
"""

from __future__ import annotations

import argparse

from aezoo.config import LR_SCHEDULES, MODEL_CHOICES, NOISE_KINDS, TrainConfig, model_defaults
from aezoo.datasets.noise import DEFAULT_STRENGTH
from aezoo.datasets.sources import DATASET_NAMES
from aezoo.distribute import STRATEGIES


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that trains (train, tune)."""
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=DATASET_NAMES, default="auto",
                       help="auto: full MNIST if cached or downloadable, else the embedded 5000 digits")
    group.add_argument("--data-dir", metavar="DIR",
                       help="folder with MNIST-format IDX files (gz or not) or an mnist.npz; overrides --dataset's source")
    group.add_argument("--noise", choices=NOISE_KINDS, default="gaussian", help="kind of corruption")
    group.add_argument("--noise-std", type=float, default=DEFAULT_STRENGTH["gaussian"],
                       help="std of the gaussian noise (images are in [0, 1])")
    group.add_argument("--noise-amount", type=float, default=DEFAULT_STRENGTH["salt_pepper"],
                       help="fraction of pixels set to 0 or 1 by salt_pepper noise")
    group.add_argument("--mask-rate", type=float, default=DEFAULT_STRENGTH["mask"],
                       help="fraction of pixels zeroed by mask noise")
    group.add_argument("--seed", type=int, default=0, help="seed for shuffling, noise, initialisation and sampling")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    ae, vae = model_defaults("ae"), model_defaults("vae")
    group = parser.add_argument_group("model (defaults are the model classes' own)")
    group.add_argument("--embedding-dim", type=int, default=ae["embedding_dim"], help="size of the bottleneck")
    group.add_argument("--depth", type=int, default=ae["depth"], help="convolutions per resolution level")
    group.add_argument("--filters", type=int, default=ae["filters"], help="filters of the first level, doubled at the second")
    group.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=ae["batch_norm"],
                       help="batch normalisation after each hidden convolution")
    group.add_argument("--beta", type=float, default=vae["beta"], help="VAE: weight of the KL term")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="passes over the training images")
    group.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="images per step")
    group.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate, help="Adam's (initial) step size")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TrainConfig.lr_schedule,
                       help="constant, or cosine decay to zero over the run")
    group.add_argument("--steps-per-execution", type=int, default=TrainConfig.steps_per_execution,
                       help="training steps per call into the compiled graph (fewer Python round trips)")
    group.add_argument("--strategy", choices=STRATEGIES, default=TrainConfig.strategy,
                       help="tf.distribute strategy: auto picks multi-worker from TF_CONFIG, mirrored with 2+ GPUs")
    group.add_argument("--mixed-precision", action="store_true",
                       help="compute in float16 on GPUs (bfloat16 on CPUs), keep weights in float32")


def noise_strength(args: argparse.Namespace) -> float:
    return {"gaussian": args.noise_std, "salt_pepper": args.noise_amount, "mask": args.mask_rate}[args.noise]


def hyperparameters(args: argparse.Namespace) -> dict[str, object]:
    """The model flags; their defaults are read from the model constructors."""
    names = ("embedding_dim", "depth", "filters", "batch_norm", "beta")
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODEL_CHOICES, default="both", help="which model(s) to train")
    add_data_arguments(parser)
    add_model_arguments(parser)
    add_training_arguments(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--output", metavar="DIR",
                        help="run folder (default: a new timestamped folder under runs/, or the unfinished "
                             "run of the same command, which is resumed)")
    output.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    output.add_argument("--no-analysis", action="store_true", help="skip the latent-space analysis after training")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        models=args.model, dataset=args.dataset, data_dir=args.data_dir, noise=args.noise,
        noise_strength=noise_strength(args), epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, lr_schedule=args.lr_schedule,
        steps_per_execution=args.steps_per_execution, seed=args.seed, hyperparameters=hyperparameters(args),
        tensorboard=args.tensorboard, strategy=args.strategy, mixed_precision=args.mixed_precision,
    )


def run(args: argparse.Namespace) -> int:
    from aezoo.training import train  # imports TensorFlow: only once the flags are known to parse

    result = train(config_from_args(args), output=args.output)  # validates before writing anything
    if not args.no_analysis:
        from aezoo.analysis import analyze_run

        analyze_run(result.run_dir)
    print(f"\nRun folder: {result.run_dir}")
    return 0
