"""Generate new digits with a trained model, as a PNG grid or a .npy array.

MODEL is a run folder (--model-kind picks the model; default: its first), a model folder
(RUN/vae) or a model.keras file. How the model generates follows from what it can do: the VAE
family decodes draws from its prior, the conditional VAE writes the class --label (default: 0-9
in turn), the VQ-VAE draws code grids from its PixelCNN prior (prior.keras beside the model), the
plain autoencoder decodes draws from the Gaussian mixture fitted to its training codes
(gmm_sampler.npz). A model without a latent space (the U-Net) cannot generate.
The same --seed gives the same digits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aezoo.errors import UsageError
from aezoo.models.families import FAMILIES

MAX_SAMPLES = 100_000
NUM_CLASSES = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="run folder, model folder (RUN/vae) or model.keras file")
    parser.add_argument("--n", type=int, default=64, help="how many digits")
    parser.add_argument("--label", type=int, default=None,
                        help="conditional models: the digit to write (default: 0, 1, ..., 9 in turn)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same digits")
    parser.add_argument("--model-kind", choices=tuple(FAMILIES),
                        help="which model of a run folder (default: the first it holds)")
    parser.add_argument("--columns", type=int, default=8, help="digits per row of the PNG grid")
    parser.add_argument("--output", "-o", required=True, metavar="FILE.png|FILE.npy",
                        help="a PNG grid, or a float32 [n, 28, 28] array in [0, 1]")


def check_arguments(args: argparse.Namespace) -> Path:
    """Every check that needs no TensorFlow; returns the model's folder."""
    if not 1 <= args.n <= MAX_SAMPLES:
        raise UsageError(f"--n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    if args.label is not None and not 0 <= args.label < NUM_CLASSES:
        raise UsageError(f"--label must be a digit class 0-{NUM_CLASSES - 1}, got {args.label}")
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.columns < 1:
        raise UsageError(f"--columns must be at least 1, got {args.columns}")
    output = Path(args.output)
    if output.suffix.lower() not in (".png", ".npy"):
        raise UsageError(f"--output {output}: must end in .png or .npy")
    from aezoo import files

    files.check_writable(output, f"--output {output}", folder=False)
    files.clean_stale(output)
    return model_folder(Path(args.model), args.model_kind)


def model_folder(path: Path, kind: str | None) -> Path:
    """The folder holding ``model.keras`` (and any sampler files) that MODEL names."""
    if path.is_file():
        if path.suffix != ".keras":
            raise UsageError(f"{path}: not a model; expected a run folder, a model folder or a .keras file")
        return path.parent
    if not path.is_dir():
        raise UsageError(f"{path}: no such model file or folder")
    if (path / "model.keras").is_file():
        return path
    present = [name for name in FAMILIES if (path / name / "model.keras").is_file()]
    if not present:
        raise UsageError(f"{path}: not a model; expected a run folder, a model folder or a .keras file")
    if kind is not None and kind not in present:
        raise UsageError(f"{path}: run folder has no {kind} model (it has: {', '.join(present)})")
    return path / (kind or present[0])


def run(args: argparse.Namespace) -> int:
    folder = check_arguments(args)
    from aezoo import files, generation
    from aezoo.inference import load_keras_model  # imports TensorFlow

    generation.register_classes()
    model_file = Path(args.model) if Path(args.model).is_file() else folder / "model.keras"
    model = load_keras_model(model_file, args.model_kind)
    generator = generation.generator_for(model, folder)
    if generator is None:
        raise UsageError(f"{folder}: this model cannot generate: {generation.why_not_generative(model)}")
    if args.label is not None and not generator.conditional:
        raise UsageError(f"--label {args.label}: this model is not conditional (it has no labels to follow)")
    images = generator.draw(args.n, seed=args.seed, labels=args.label)[..., 0]
    output = Path(args.output)
    if output.suffix.lower() == ".npy":
        array = images.astype(np.float32)
        files.write_with(output, lambda tmp: np.save(tmp, array), size=128 + array.nbytes)
    else:
        from aezoo.imageio import save_png

        save_png(output, generation.mosaic(images, args.columns))
    print(f"Wrote {args.n} digit(s) drawn by {generator.sampler} sampling of {folder} (seed {args.seed}) to {output}")
    return 0
