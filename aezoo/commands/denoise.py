"""Denoise image files (PNG, JPEG, BMP, TIFF, WebP), .npy arrays or MNIST IDX files with a trained model.

MODEL is a run folder, one model's folder, a saved_model/ folder or a .keras file. Inputs are
brought to the model's image shape by --fit (resize, crop, pad or mnist; default mnist for a 28x28
grey model, resize otherwise). Writes one denoised PNG per image (mirroring folders; in colour for
a colour model), one .npy per .npy input (float32 in [0, 1]: the input's shape when it is the
model's, else [N,H,W] for a grey model and [N,H,W,C] for colour), a folder of PNGs per IDX file,
and contact_sheet.png with inputs and results side by side. Two inputs that would share
an output (a folder digits/ and an IDX file digits-ubyte) are told apart with a -2 suffix. A bad
input is skipped with a one-line warning and leaves no output (an array file is read whole before
any of its results is written); the others are still written and the exit status is 2. The
output folder is checked writable, and no result may replace an input (nor may the output be an
input folder), before the model loads. Results are written together at the end: a failure (a
full disk) leaves none of them, and the output folder is created only when something is written.
A conditional model (cvae) needs the class of each image: --labels FILE (one integer 0 to its number
of classes - 1 per image, in input order) or --label N for all; any other model refuses them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aezoo import files
from aezoo.commands import flags
from aezoo.commands.images import (
    InputLabels, ReadImage, add_common_arguments, check_writable_folder, feed, finish, load_model, prepare,
    read_labels, refuse_overwriting_inputs,
)
from aezoo.errors import UsageError
from aezoo.imageio import ArrayFile, ContactSheet, ImageFile, Source, npy_writer, save_png
from aezoo.inference import TrainedModel, add_noise

CONTACT_SHEET = "contact_sheet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--output", "-o", metavar="DIR", required=True, help="folder for the results")
    flags.add_noise_arguments(parser, default=None, kind_dest="add_noise",
                              purpose="corrupt the inputs with this noise first, to see the model at work on clean images")
    parser.add_argument("--seed", type=int, default=0, help="seed of --noise")
    parser.add_argument("--sheet-size", type=int, default=64, help="images on the contact sheet (0: no sheet)")


class _Denoising:
    """Runs batches through the model and writes results; keeps only one batch in memory."""

    def __init__(self, args: argparse.Namespace, model: TrainedModel, output: Path,
                 labels: InputLabels | None = None) -> None:
        self.args, self.model, self.output, self.labels = args, model, output, labels
        columns = ["input", "noisy", "denoised"] if args.add_noise else ["input", "denoised"]
        self.sheet = ContactSheet(columns, limit=args.sheet_size)
        self.calls = 0  # one noise seed per model call, so every batch gets fresh noise
        self.images = 0  # images whose results were written
        self.folders: list[str] = []  # the IDX files' folders of PNGs, replaced whole in the output

    def run_batch(self, clean: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """float32 [b,H,W(,C)] of the model's shape -> denoised, the same shape (noised first with
        --noise); ``labels`` only for a model that needs them."""
        noisy = (add_noise(clean, self.args.add_noise, self.args.noise_strength, self.args.seed, self.calls)
                 if self.args.add_noise else clean)
        self.calls += 1
        denoised = self.model.denoise(noisy, labels)
        if not self.sheet.full:
            self.sheet.add(clean, noisy, denoised) if self.args.add_noise else self.sheet.add(clean, denoised)
        return denoised

    def _labels(self, source: Source, start: int = 0, stop: int | None = None) -> np.ndarray | None:
        return None if self.labels is None else self.labels.of(source, start, stop)

    def image_files(self, batch: list[ReadImage]) -> None:
        labels = None if self.labels is None else np.concatenate([self._labels(source) for source, _ in batch])
        denoised = self.run_batch(np.stack([image for _, image in batch]), labels)
        for (source, _), result in zip(batch, denoised):
            save_png(self.output / f"{source.name}.png", result)
        self.images += len(batch)

    def array_file(self, source: ArrayFile) -> None:
        # All of a file's results or none: its sheet tiles go if it fails halfway, and both
        # writers publish their file or folder only once it is whole.
        with self.sheet.all_or_nothing():
            if source.kind == "npy":
                # Written chunk by chunk, in the input's shape when the model takes it as it is.
                with npy_writer(self.output / f"{source.name}.npy", source.output_shape) as write:
                    start = 0
                    for chunk in source.chunks(self.args.invert, self.args.batch_size):
                        write(self.run_batch(chunk, self._labels(source, start, start + len(chunk))))
                        start += len(chunk)
            else:
                self._png_folder(source)
        self.images += source.count

    def _png_folder(self, source: ArrayFile) -> None:
        width = len(str(source.count - 1))
        self.folders.append(source.name)
        with files.atomic_directory(self.output / source.name) as folder:
            start = 0
            for chunk in source.chunks(self.args.invert, self.args.batch_size):
                labels = self._labels(source, start, start + len(chunk))
                for i, result in enumerate(self.run_batch(chunk, labels), start):
                    save_png(folder / f"{i:0{width}d}.png", result)
                start += len(chunk)


def _targets(sources: list[Source], output: Path) -> list[Path]:
    """Every path denoise writes: one per input, and the contact sheet."""
    return [output / f"{CONTACT_SHEET}.png"] + [
        output / (f"{source.name}.png" if isinstance(source, ImageFile)
                  else f"{source.name}.npy" if source.kind == "npy" else source.name)
        for source in sources]


def _check_flags(args: argparse.Namespace) -> None:
    if args.sheet_size < 0:
        raise UsageError(f"--sheet-size must be 0 or more, got {args.sheet_size}")
    if args.noise_strength is not None and not args.add_noise:
        raise UsageError("--noise-strength needs --noise KIND")
    if args.add_noise:
        from aezoo.datasets.noise import make_noise

        try:
            make_noise(args.add_noise, args.noise_strength)
        except ValueError as error:
            raise UsageError(f"--noise-strength: {error}") from None


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    check_writable_folder(output, f"--output {output}")
    files.clean_stale(output)  # what a killed denoise left: its staging folder
    _check_flags(args)
    sources, problems, facts = prepare(args, reserved=[CONTACT_SHEET])
    refuse_overwriting_inputs(_targets(sources, output), sources, args.inputs, output_folder=output)
    if not sources:
        return 2  # every input was bad, and each already has its line on stderr
    labels = read_labels(args, sources, facts.num_classes)
    model = load_model(args, labels=labels, facts=facts)
    # Everything is written into a staging folder and moved into place at the end: a full disk
    # halfway leaves no result (not 14 PNGs of 300), and no output folder if nothing was denoised.
    with files.staged_folder(output) as stage:
        work = _Denoising(args, model, stage.path, labels)
        feed(args, sources, problems, work.image_files, work.array_file)
        drew = work.sheet.save(stage.path / f"{CONTACT_SHEET}.png") if args.sheet_size else False
        stage.whole.update(work.folders)
    if not work.images:
        print("Denoised no image: every input was skipped, nothing was written")
        return finish(problems)
    sheet = output / f"{CONTACT_SHEET}.png"
    print(f"Denoised {work.images} image(s) into {output}/" + (f"; contact sheet: {sheet}" if drew else ""))
    return finish(problems)
