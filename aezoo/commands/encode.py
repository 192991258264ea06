"""Write the embeddings of images (the VAE's posterior mean) with a trained model.

Takes the same MODEL, INPUTs and --fit as ``denoise``; the model needs a latent space (a U-Net has
none and is refused). Writes FILE.npy, float32 [N, *embedding shape] (a vector per image for most
models, a grid of vectors for the VQ-VAE), one row per image in input order, and
FILE.rows.txt saying which input each row came from ("path" for an image file, "path:index" for
an image of an array). A conditional model (cvae) needs --labels FILE or --label N, as for
denoise. Bad inputs are skipped with a one-line warning and the exit status is 2; the rows of the
good ones are still written. FILE may not be one of the inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aezoo import files
from aezoo.commands.images import (
    InputLabels, ReadImage, add_common_arguments, feed, finish, load_model, prepare, read_labels,
    refuse_overwriting_inputs,
)
from aezoo.errors import UsageError
from aezoo.imageio import ArrayFile
from aezoo.inference import TrainedModel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--output", "-o", metavar="FILE.npy", required=True,
                        help="the embeddings; FILE.rows.txt beside it names each row's input")


def rows_path(output: Path) -> Path:
    return output.with_name(output.name.removesuffix(".npy") + ".rows.txt")


class _Encoding:
    """Embeddings are small (N embeddings of a few hundred floats at most), so they are kept and
    written at the end, when the number of good rows is known."""

    def __init__(self, args: argparse.Namespace, model: TrainedModel, labels: InputLabels | None = None) -> None:
        self.args, self.model, self.labels = args, model, labels
        self.blocks: list[np.ndarray] = []
        self.rows: list[str] = []

    def image_files(self, batch: list[ReadImage]) -> None:
        labels = None if self.labels is None else np.concatenate([self.labels.of(source) for source, _ in batch])
        self.blocks.append(self.model.encode(np.stack([image for _, image in batch]), labels))
        self.rows.extend(str(source.path) for source, _ in batch)

    def array_file(self, source: ArrayFile) -> None:
        mine, start = [], 0
        for chunk in source.chunks(self.args.invert, self.args.batch_size):
            labels = None if self.labels is None else self.labels.of(source, start, start + len(chunk))
            mine.append(self.model.encode(chunk, labels))
            start += len(chunk)
        # Only a whole file counts: a bad chunk halfway raises before its rows are kept.
        self.blocks.extend(mine)
        self.rows.extend([f"{source.path}:{i}" for i in range(source.count)] if source.stacked
                         else [str(source.path)])

    def embeddings(self) -> np.ndarray:
        shape = self.model.embedding_shape or (0,)
        return np.concatenate(self.blocks) if self.blocks else np.empty((0, *shape), np.float32)


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix != ".npy":
        raise UsageError(f"--output {output}: must be a .npy file name")
    files.check_writable(output, f"--output {output}", folder=False)
    files.check_writable(rows_path(output), f"--output {output}: {rows_path(output).name}", folder=False)
    for target in (output, rows_path(output)):
        files.clean_stale(target)
    sources, problems, facts = prepare(args)
    refuse_overwriting_inputs([output, rows_path(output)], sources, args.inputs)
    if not sources:
        return 2  # every input was bad, and each already has its line on stderr
    labels = read_labels(args, sources, facts.num_classes)
    model = load_model(args, action="encode images", labels=labels, facts=facts)
    work = _Encoding(args, model, labels)
    feed(args, sources, problems, work.image_files, work.array_file)
    embeddings = work.embeddings()
    with files.atomic_paths(output, rows_path(output), size=128 + embeddings.nbytes) as (array, rows):  # both or neither
        np.save(array, embeddings)
        rows.write_text("".join(f"{row}\n" for row in work.rows), encoding="utf-8")
    shape = "x".join(map(str, model.embedding_shape or ()))
    print(f"Wrote {len(embeddings)} embedding(s) of shape {shape} to {output} "
          f"(rows named in {rows_path(output)})")
    return finish(problems)
