"""Denoise PNG/JPEG images, .npy arrays or MNIST IDX files with a trained model.

MODEL is a run folder, one model's folder, a saved_model/ folder or a .keras file. Writes one
denoised PNG per image (mirroring folders), one .npy per .npy input (same shape, float32 in
[0, 1]), a folder of PNGs per IDX file, and contact_sheet.png with inputs and results side by
side. Images that are not 28x28 are framed like MNIST digits first. A bad input is skipped with
a one-line warning and the exit status is 2; the other inputs are still written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from aezoo.commands import flags
from aezoo.errors import UsageError
from aezoo.imageio import ArrayFile, ContactSheet, ImageFile, Source, collect_inputs, npy_writer, save_png
from aezoo.inference import DEFAULT_BATCH_SIZE, MODEL_KINDS, TrainedModel, add_noise, load, locate_model

CONTACT_SHEET = "contact_sheet"
# aezoo.datasets.noise.NOISE_KINDS (a test keeps them equal); importing it here would load
# TensorFlow before a mistyped MODEL path could be reported, making every typo cost seconds.
NOISE_KINDS = ("gaussian", "salt_pepper", "mask")


# ---------------------------------------------------------------------------------------------
# Shared with the encode command


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, INPUT..., and the flags about reading them."""
    parser.add_argument("model", metavar="MODEL",
                        help="run folder, model folder (RUN/ae), saved_model/ folder or .keras file")
    parser.add_argument("inputs", metavar="INPUT", nargs="+",
                        help="PNG/JPEG files, .npy arrays ([N,28,28], [N,28,28,1] or [28,28]; uint8 0-255 "
                             "or float 0-1), MNIST IDX image files, or folders of them")
    parser.add_argument("--model-kind", choices=MODEL_KINDS,
                        help="which model of a run folder to use (default: ae when present, else vae)")
    parser.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                        help="invert images (dark ink on light paper); default: detected per image file, "
                             "arrays are left as they are")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="images per model call")
    parser.add_argument("--strict", action="store_true",
                        help="read every input first and write nothing if any is bad")
    parser.set_defaults(prog=parser.prog)


def warn(args: argparse.Namespace, problem: UsageError) -> None:
    """One line on stderr per bad input; the message already names the file."""
    print(f"{getattr(args, 'prog', 'aezoo')}: warning: {problem} (skipped)", file=sys.stderr)


def prepare(args: argparse.Namespace, reserved: Sequence[str] = ()) -> tuple[list[Source], list[UsageError]]:
    """Check the model path and the inputs; nothing here imports TensorFlow, so mistakes are quick.

    Raises:
        UsageError: a bad model path or flag; with ``--strict``, the first bad input.
    """
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer, got {args.batch_size}")
    locate_model(args.model, args.model_kind)
    sources, problems = collect_inputs(args.inputs, reserved)
    if args.strict:
        if problems:
            raise problems[0]
        for source in sources:  # a full read: --strict promises nothing is written if any input is bad
            for _ in source.chunks(args.invert, args.batch_size):
                pass
    for problem in problems:
        warn(args, problem)
    return sources, problems


def load_model(args: argparse.Namespace) -> TrainedModel:
    model = load(args.model, model_kind=args.model_kind, batch_size=args.batch_size)
    print(f"Using the {model.describe()}")
    return model


# ---------------------------------------------------------------------------------------------
# denoise


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--output", "-o", metavar="DIR", required=True, help="folder for the results")
    flags.add_noise_arguments(parser, default=None, kind_dest="add_noise", old_kind_flags=("--add-noise",),
                              purpose="corrupt the inputs with this noise first, to see the model at work on clean images")
    parser.add_argument("--seed", type=int, default=0, help="seed of --noise")
    parser.add_argument("--sheet-size", type=int, default=64, help="images on the contact sheet (0: no sheet)")


class _Denoising:
    """Runs batches through the model and writes results; keeps only one batch in memory."""

    def __init__(self, args: argparse.Namespace, model: TrainedModel, output: Path) -> None:
        self.args, self.model, self.output = args, model, output
        columns = ["input", "noisy", "denoised"] if args.add_noise else ["input", "denoised"]
        self.sheet = ContactSheet(columns, limit=args.sheet_size)
        self.calls = 0  # one noise seed per model call, so every batch gets fresh noise
        self.images = 0

    def run_batch(self, clean: np.ndarray) -> np.ndarray:
        """float32 [b,28,28] -> denoised [b,28,28] (noised first with --add-noise)."""
        noisy = (add_noise(clean, self.args.add_noise, self.args.noise_strength, self.args.seed, self.calls)
                 if self.args.add_noise else clean)
        self.calls += 1
        denoised = self.model.denoise(noisy)
        if not self.sheet.full:
            self.sheet.add(clean, noisy, denoised) if self.args.add_noise else self.sheet.add(clean, denoised)
        self.images += len(clean)
        return denoised

    def images_batch(self, pending: list[tuple[ImageFile, np.ndarray]]) -> None:
        if not pending:
            return
        denoised = self.run_batch(np.stack([image for _, image in pending]))
        for (source, _), result in zip(pending, denoised):
            save_png(self.output / f"{source.name}.png", result)
        pending.clear()

    def array_file(self, source: ArrayFile) -> None:
        if source.kind == "npy":
            # The output keeps the input's shape; written chunk by chunk and published only whole.
            with npy_writer(self.output / f"{source.name}.npy", source.shape) as write:
                for chunk in source.chunks(self.args.invert, self.args.batch_size):
                    write(self.run_batch(chunk))
            return
        width = len(str(source.count - 1))
        start = 0
        for chunk in source.chunks(self.args.invert, self.args.batch_size):
            for i, result in enumerate(self.run_batch(chunk), start):
                save_png(self.output / source.name / f"{i:0{width}d}.png", result)
            start += len(chunk)


def _check_targets(sources: list[Source], output: Path) -> None:
    """Refuse to write a result over one of the inputs (e.g. ``--output`` is the input folder)."""
    inputs = {source.path.resolve() for source in sources}
    for source in sources:
        target = output / (f"{source.name}.png" if isinstance(source, ImageFile)
                           else f"{source.name}.npy" if source.kind == "npy" else source.name)
        if target.resolve() in inputs:
            raise UsageError(f"{target}: the result would overwrite an input; choose another --output folder")


def run(args: argparse.Namespace) -> int:
    if args.sheet_size < 0:
        raise UsageError(f"--sheet-size must be 0 or more, got {args.sheet_size}")
    if args.noise_strength is not None and not args.add_noise:
        raise UsageError("--noise-strength needs --add-noise KIND")
    if args.add_noise:
        from aezoo.datasets.noise import make_noise

        try:
            make_noise(args.add_noise, args.noise_strength)
        except ValueError as error:
            raise UsageError(f"--noise-strength: {error}") from None
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output}: exists and is not a folder")
    sources, problems = prepare(args, reserved=[CONTACT_SHEET])
    _check_targets(sources, output)
    if not sources:
        return 2  # every input was bad, and each already has its line on stderr
    model = load_model(args)
    output.mkdir(parents=True, exist_ok=True)
    work = _Denoising(args, model, output)
    pending: list[tuple[ImageFile, np.ndarray]] = []
    for source in sources:
        try:
            if isinstance(source, ImageFile):
                pending.append((source, source.read(args.invert)))
                if len(pending) >= args.batch_size:
                    work.images_batch(pending)
            else:
                work.images_batch(pending)  # keep the contact sheet in input order
                work.array_file(source)
        except UsageError as problem:
            problems.append(problem)
            warn(args, problem)
    work.images_batch(pending)
    sheet = output / f"{CONTACT_SHEET}.png"
    drew = work.sheet.save(sheet) if args.sheet_size else False
    print(f"Denoised {work.images} image(s) into {output}/" + (f"; contact sheet: {sheet}" if drew else ""))
    if problems:
        print(f"{len(problems)} input(s) skipped, see the warnings above")
        return 2
    return 0
