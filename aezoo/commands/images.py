"""What the denoise and encode commands share: MODEL and INPUT arguments, labels for a
conditional model, checks made before the model loads, loading it, and the loop that feeds
inputs to the model in batches.

Everything up to :func:`load_model` runs without TensorFlow, so a mistyped path, an unwritable
output folder or a bad flag costs a fraction of a second and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from aezoo import files
from aezoo.batching import PendingBatch
from aezoo.errors import UsageError
from aezoo.imageio import FITS, ArrayFile, Framing, ImageFile, Source, collect_inputs
from aezoo.models.capabilities import CONDITIONAL, has
from aezoo.inference import (
    DEFAULT_BATCH_SIZE, NUM_CLASSES, ModelFacts, TrainedModel, as_labels, class_words, load, locate_model, model_kinds,
)

# One image file read and ready for the model: (where it came from, float32 [H,W] or [H,W,C] in [0, 1]).
ReadImage = tuple[ImageFile, np.ndarray]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, INPUT..., and the flags about reading them."""
    parser.add_argument("model", metavar="MODEL",
                        help="run folder, model folder (RUN/ae), saved_model/ folder or .keras file, or a preset (vae_mnist; python -m aezoo presets lists them; hf://user/repo)")
    parser.add_argument("inputs", metavar="INPUT", nargs="+",
                        help="image files (PNG, JPEG, BMP, TIFF, WebP), .npy arrays ([N,H,W,C] or [H,W,C] of the "
                             "model's shape, [N,H,W] or [H,W] for a grey model; uint8 0-255 or float 0-1), MNIST "
                             "IDX image files, or folders of them")
    parser.add_argument("--model-kind", choices=model_kinds(),
                        help="which model of a run folder to use (default: the first one it holds)")
    parser.add_argument("--fit", choices=FITS, default=None,
                        help="how images of another size or colour are brought to the model's shape: resize, crop "
                             "(centre-crop to its aspect ratio, then resize), pad (pad to its aspect ratio with the "
                             "paper colour, then resize), mnist (frame the digit like MNIST); default: mnist for a "
                             "28x28 grey model (arrays of other sizes then need --fit), resize otherwise")
    parser.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                        help="invert images (dark ink on light paper); default: detected per image file under "
                             "--fit mnist, otherwise and for arrays left as they are")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="images per model call")
    parser.add_argument("--strict", action="store_true",
                        help="read every input first and write nothing if any is bad")
    labels = parser.add_argument_group("labels, for a model that needs them (a conditional model)")
    choice = labels.add_mutually_exclusive_group()
    choice.add_argument("--labels", metavar="FILE",
                        help="the class (0 to the model's number of classes - 1; 0-9 for digits) of each image, "
                             "in input order (folders sorted, arrays row by row): a .npy array or a text file of "
                             "integers")
    choice.add_argument("--label", type=int, metavar="N", help="one class for every image")
    parser.set_defaults(prog=parser.prog)


def warn(args: argparse.Namespace, problem: UsageError) -> None:
    """One line on stderr per bad input; the message already names the file."""
    print(f"{getattr(args, 'prog', 'aezoo')}: warning: {problem} (skipped)", file=sys.stderr)


def check_writable_folder(folder: Path, label: str) -> None:
    """Refuse a folder that cannot be created or written in, before any work is done (see
    :func:`aezoo.files.check_writable`); ``label`` starts the message (e.g. ``"--output out"``)."""
    files.check_writable(folder, label, folder=True)


def refuse_overwriting_inputs(targets: Iterable[Path], sources: Sequence[Source],
                              inputs: Iterable[str | os.PathLike[str]] = (), output_folder: Path | None = None) -> None:
    """Refuse to write a result over an input, or a result folder over a folder holding one.

    ``inputs`` are the paths as given: a file among them is protected even when it was skipped
    as bad, and so is every file already inside a folder among them. ``output_folder`` (a
    command writing a folder of results) may be neither an input folder nor inside one: its
    results would mix with the inputs, and the next run would read them as inputs.
    """
    given = [Path(path).resolve() for path in inputs]
    protected = {path for path in given if path.is_file()} | {source.path.resolve() for source in sources}
    folders = [path for path in given if path.is_dir()]
    if output_folder is not None:
        out = output_folder.resolve()
        for folder in folders:
            if out == folder or folder in out.parents:
                where = "is the input folder" if out == folder else f"is inside the input folder {folder}"
                raise UsageError(f"--output {output_folder}: {where}; the results would mix with the inputs "
                                 "and be read as inputs next time; choose a folder outside it")
    for target in targets:
        resolved = target.resolve()
        clash = any(path == resolved or resolved in path.parents for path in protected) or (
            resolved.exists() and any(folder in resolved.parents for folder in folders))
        if clash:
            raise UsageError(f"{target}: the result would overwrite an input; choose another --output")


def prepare(args: argparse.Namespace,
            reserved: Sequence[str] = ()) -> tuple[list[Source], list[UsageError], ModelFacts]:
    """Check the model path and the inputs against the model's shape as its files record it.

    Nothing here imports TensorFlow (unless ``--strict`` reads image files), so mistakes are quick.
    Returns the sources, the problems found, and the model's facts (its shape and classes).

    Raises:
        UsageError: a bad model path or flag; with ``--strict``, the first bad input.
    """
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer, got {args.batch_size}")
    facts = locate_model(args.model, args.model_kind).facts()
    sources, problems = collect_inputs(args.inputs, reserved, Framing(facts.image_shape, args.fit))
    if args.strict:
        if problems:
            raise problems[0]
        for source in sources:  # a full read: --strict promises nothing is written if any input is bad
            for _ in source.chunks(args.invert, args.batch_size):
                pass
    for problem in problems:
        warn(args, problem)
    return sources, problems, facts


class InputLabels:
    """The labels of the inputs (``--labels FILE`` or ``--label N``), found by input and position.

    Labels are consumed in input order, one per image; each input owns a fixed stretch of them,
    so an input skipped as bad skips its own labels and the others keep theirs.
    """

    def __init__(self, values: np.ndarray, sources: Sequence[Source]) -> None:
        self.values = values
        self._starts: dict[int, int] = {}
        start = 0
        for source in sources:
            self._starts[id(source)] = start
            start += image_count(source)

    def of(self, source: Source, start: int = 0, stop: int | None = None) -> np.ndarray:
        """int32 labels of images ``start:stop`` of ``source``."""
        first = self._starts[id(source)]
        return self.values[first + start:first + (image_count(source) if stop is None else stop)]


def image_count(source: Source) -> int:
    """How many images an input holds: one per image file, ``count`` per array file."""
    return source.count if isinstance(source, ArrayFile) else 1


def read_labels(args: argparse.Namespace, sources: Sequence[Source],
                num_classes: int | None = None) -> InputLabels | None:
    """The labels given for ``sources`` (None without ``--labels``/``--label``), checked before the model loads.

    ``num_classes``: the model's, as its files record it (None: a model that takes no labels,
    which :func:`load_model` refuses them for; they are checked against the digits meanwhile).

    Raises:
        UsageError: an unreadable file, a value that is not one of the model's classes, or a
            count other than the number of images in the inputs.
    """
    classes = num_classes or NUM_CLASSES
    count = sum(map(image_count, sources))
    if args.label is not None:
        if not 0 <= args.label < classes:
            raise UsageError(f"--label {args.label}: not a {class_words(classes)[1]}; labels are 0-{classes - 1}")
        return InputLabels(as_labels(args.label, count, what="--label", num_classes=classes), sources)
    if args.labels is None:
        return None
    what = f"--labels {args.labels}"
    values = as_labels(_label_values(Path(args.labels), what, classes), count, what=what, num_classes=classes)
    return InputLabels(values, sources)


def _label_values(path: Path, what: str, num_classes: int) -> np.ndarray:
    """The raw values of a labels file: a .npy array, or whitespace-separated integers in a text file."""
    try:
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
            return values.reshape(-1) if values.ndim == 2 and 1 in values.shape else values
        words = path.read_text().split()
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"{what}: cannot read it ({getattr(error, 'strerror', None) or error}); give a .npy "
                         "array or a text file of integers") from None
    numbers = []
    for position, word in enumerate(words):
        try:
            numbers.append(int(word))
        except ValueError:
            raise UsageError(f"{what}: {word!r} (label {position}) is not an integer; labels are "
                             f"0-{num_classes - 1}") from None
    return np.asarray(numbers, dtype=np.int64)


def load_model(args: argparse.Namespace, action: str | None = None, labels: InputLabels | None = None,
               facts: ModelFacts | None = None) -> TrainedModel:
    """Load MODEL and check it can do the job, each refusal one line and before anything is written.

    ``action`` (e.g. "encode images") requires a latent space. A model that needs labels requires
    ``labels``; any other model refuses them, so labels never reach a model that does not take them.
    ``facts``: what :func:`prepare` checked the inputs and labels against, which the model must match.
    """
    model = load(args.model, model_kind=args.model_kind, batch_size=args.batch_size)
    checked = None if facts is None else (facts.image_shape, facts.num_classes or NUM_CLASSES)
    if checked is not None and (model.image_shape, model.num_classes or checked[1]) != checked:
        # Only an artifact without records (or with wrong ones): the inputs were read for another model.
        raise UsageError(f"the {model.describe()} takes images {list(model.image_shape)} (classes: "
                         f"{model.num_classes}), not the {list(checked[0])} (classes: {checked[1]}) its files "
                         "record; export it again with aezoo")
    if action is not None:
        model.require_latent_space(action)
    if has(model, CONDITIONAL) and labels is None:
        classes = model.num_classes or NUM_CLASSES
        raise UsageError(f"the {model.describe()} is conditioned on the {class_words(classes)[0]}: give --labels "
                         f"FILE (one class 0-{classes - 1} per image, in input order) or --label N (one class for all)")
    if labels is not None and not has(model, CONDITIONAL):
        given = "--label" if args.label is not None else "--labels"
        raise UsageError(f"{given}: the {model.describe()} takes no labels (only a conditional model does); "
                         f"leave out {given}")
    print(f"Using the {model.describe()}")
    return model


def feed(args: argparse.Namespace, sources: Sequence[Source], problems: list[UsageError],
         images: Callable[[list[ReadImage]], object], array: Callable[[ArrayFile], object]) -> None:
    """Hand the inputs to a command in input order, skipping bad ones with a warning.

    Image files go to ``images`` ``--batch-size`` at a time; array files to ``array`` one by one,
    each read whole once first, so that a file that turns out bad halfway is skipped before any
    of its results is written. A skipped input is warned about and added to ``problems``.
    """
    with PendingBatch(args.batch_size, images) as pending:
        for source in sources:
            try:
                if isinstance(source, ImageFile):
                    pending.add((source, source.read(args.invert)))
                    continue
                pending.flush()  # the images before this file come first, in results as in inputs
                source.validate(args.batch_size)
                array(source)
            except files.WriteError:
                raise  # the output's fault, not this input's: no later input could be written either
            except UsageError as problem:
                problems.append(problem)
                warn(args, problem)


def finish(problems: Sequence[UsageError]) -> int:
    """The exit status: 2 when an input was skipped (each has its warning above), else 0."""
    if problems:
        print(f"{len(problems)} input(s) skipped, see the warnings above")
        return 2
    return 0


__all__ = ["InputLabels", "ReadImage", "add_common_arguments", "check_writable_folder", "feed", "finish",
           "load_model", "prepare", "read_labels", "refuse_overwriting_inputs", "warn"]
