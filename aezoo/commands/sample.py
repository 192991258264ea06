"""Generate new images with a trained model and a sampler, as a PNG grid or a .npy array.

MODEL is a run folder (--model-kind picks the model; default: its first), a model folder
(RUN/vae) or a model.keras file. A model plus a sampler generates: --sampler chooses one of the
samplers that apply to the model (default: its family's): "prior" decodes draws from the VAE
family's prior, "gmm" from a Gaussian mixture fitted to the training codes, "two_stage" from a
second small VAE fitted to them, "pixelcnn" from a PixelCNN over a VQ-VAE's code grids. A sampler that learns is fitted when the model is trained
(its file beside the model); one that was not, is fitted now on the run's training images and
saved there. A conditional model writes the class --label (default: each class in turn). A model
without a latent space (the U-Net) cannot generate. The same --seed gives the same images. Images
have the model's shape: the PNG grid is in colour for a colour model, the array is [n,H,W] for a
grey model and [n,H,W,C] for colour.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from aezoo.errors import UsageError
from aezoo.families import MODELS
from aezoo.samplers import SAMPLERS

MAX_SAMPLES = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="run folder, model folder (RUN/vae) or model.keras file, or a preset (vae_mnist; python -m aezoo presets lists them; hf://user/repo)")
    parser.add_argument("--n", type=int, default=64, help="how many images")
    parser.add_argument("--label", type=int, default=None,
                        help="conditional models: the class to draw, 0 to its number of classes - 1 (0-9 for "
                             "digits; default: each class in turn)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same images")
    parser.add_argument("--sampler", choices=tuple(SAMPLERS),
                        help="how codes are drawn, among the samplers that apply to the model (default: the sampler "
                             "its run was trained with, else the model's family's); python -m aezoo models lists "
                             "which apply to each model")
    parser.add_argument("--model-kind", choices=tuple(MODELS),
                        help="which model of a run folder (default: the first it holds)")
    parser.add_argument("--columns", type=int, default=8, help="images per row of the PNG grid")
    parser.add_argument("--output", "-o", required=True, metavar="FILE.png|FILE.npy",
                        help="a PNG grid (in colour for a colour model), or a float32 array in [0, 1]: "
                             "[n, H, W] for a grey model (28x28 digits: [n, 28, 28]), [n, H, W, C] for colour")


def check_arguments(args: argparse.Namespace) -> Path:
    """Every check that needs no TensorFlow; returns the model's folder."""
    if not 1 <= args.n <= MAX_SAMPLES:
        raise UsageError(f"--n must be between 1 and {MAX_SAMPLES}, got {args.n}")
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
    folder = model_folder(Path(args.model), args.model_kind)
    if args.label is not None:
        _check_label(args.label, model_file(args, folder))
    return folder


def model_file(args: argparse.Namespace, folder: Path) -> Path:
    """The Keras model MODEL names: itself, the one in its model folder, or a preset's folder (Keras's
    unzipped format)."""
    from aezoo.presets import is_preset_folder

    if Path(args.model).is_file():
        return Path(args.model)
    return folder if is_preset_folder(folder) else folder / "model.keras"


def _check_label(label: int, model_file: Path) -> None:
    """``--label`` against the model's classes, read from its file's config (without TensorFlow)."""
    from aezoo.inference import NUM_CLASSES, ModelLocation, class_words

    # A model without classes refuses --label once loaded; until then the digits' range applies.
    classes = ModelLocation(model_file, "keras", None).facts().num_classes or NUM_CLASSES
    if not 0 <= label < classes:
        raise UsageError(f"--label must be a {class_words(classes)[1]} 0-{classes - 1}, got {label}")


def model_folder(path: Path, kind: str | None) -> Path:
    """The folder holding the model (and any sampler files) that MODEL names: a run or model folder, a
    ``.keras`` file's folder, or a preset (by name, hub address or folder; checked)."""
    from aezoo.presets import find

    preset = find(path)
    if preset is not None:
        if kind is not None and kind != preset.model:
            raise UsageError(f"{path}: is a {preset.model} preset, not {kind}")
        return preset.path
    if path.is_file():
        if path.suffix != ".keras":
            raise UsageError(f"{path}: not a model; expected a run folder, a model folder or a .keras file")
        return path.parent
    if not path.is_dir():
        raise UsageError(f"{path}: no such model file or folder")
    if (path / "model.keras").is_file():
        return path
    present = [name for name in MODELS if (path / name / "model.keras").is_file()]
    if not present:
        raise UsageError(f"{path}: not a model; expected a run folder, a model folder or a .keras file")
    if kind is not None and kind not in present:
        raise UsageError(f"{path}: run folder has no {kind} model (it has: {', '.join(present)})")
    return path / (kind or present[0])


def run(args: argparse.Namespace) -> int:
    folder = check_arguments(args)
    from aezoo import files, generation
    from aezoo.inference import load_keras_model
    from aezoo.plotting import mosaic

    model = load_keras_model(model_file(args, folder), args.model_kind)
    sampler = _sampler(model, folder, args.sampler)
    if args.label is not None and not sampler.conditional:
        raise UsageError(f"--label {args.label}: this model is not conditional (it has no labels to follow)")
    images = sampler.sample(args.n, seed=args.seed, labels=args.label)
    images = images[..., 0] if images.shape[-1] == 1 else images  # grey: [n, H, W], as MNIST arrays are
    output = Path(args.output)
    if output.suffix.lower() == ".npy":
        array = images.astype(np.float32)
        files.write_with(output, lambda tmp: np.save(tmp, array), size=128 + array.nbytes)
    else:
        from aezoo.imageio import save_png

        save_png(output, mosaic(images, args.columns))
    print(f"Wrote {args.n} image(s) drawn by {sampler.describe()} of {folder} (seed {args.seed}) to {output}")
    return 0


def _sampler(model: Any, folder: Path, name: str | None) -> Any:
    """The sampler ``name`` (default: its run's, else the model's) saved beside it; fitted and saved now
    if it learns and is missing."""
    from aezoo import generation
    from aezoo.run_folder import RunFolder

    run = RunFolder(folder.parent)
    if name is None and run.is_run():  # the sampler the run fitted and exported (None: the family's)
        name = (run.read_config() or {}).get("sampler")
    chosen = generation.choose_sampler(model, name)
    if chosen is None:
        raise UsageError(f"{folder}: this model cannot generate: {generation.why_not_generative(model)}")
    if generation.sampling.sampler_is_saved(model, folder, chosen):
        return generation.load_sampler(model, folder, chosen)
    if not run.is_run():
        raise UsageError(f"{folder}: the {chosen} sampler was not fitted for this model, and it can be fitted only "
                         "inside the run folder that trained it (which has the training images' settings)")
    splits = generation.run_splits(run)
    config = run.read_config() or {}
    print(f"Fitting the {chosen} sampler on the codes of {len(splits.train_images)} training images...")
    return generation.fit_sampler(model, folder, splits.train_images, chosen, seed=int(config.get("seed", 0)))
