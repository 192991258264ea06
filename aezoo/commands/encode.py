"""Write the embeddings of images (the VAE's posterior mean) with a trained model.

Takes the same MODEL and INPUTs as ``denoise``. Writes FILE.npy, float32 [N, embedding_dim], one
row per image in input order, and FILE.rows.txt saying which input each row came from ("path"
for an image file, "path:index" for an image of an array). Bad inputs are skipped with a one-line
warning and the exit status is 2; the rows of the good ones are still written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aezoo import files
from aezoo.commands.denoise import add_common_arguments, load_model, prepare, warn
from aezoo.errors import UsageError
from aezoo.imageio import ArrayFile, ImageFile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--output", "-o", metavar="FILE.npy", required=True,
                        help="the embeddings; FILE.rows.txt beside it names each row's input")


def rows_path(output: Path) -> Path:
    return output.with_name(output.name.removesuffix(".npy") + ".rows.txt")


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix != ".npy":
        raise UsageError(f"--output {output}: must be a .npy file name")
    if output.is_dir():
        raise UsageError(f"--output {output}: is a folder; give a .npy file name")
    sources, problems = prepare(args)
    if not sources:
        return 2  # every input was bad, and each already has its line on stderr
    model = load_model(args)

    # Embeddings are small (N x embedding_dim floats), so they are kept and written at the end,
    # when the number of good rows is known.
    blocks: list[np.ndarray] = []
    rows: list[str] = []
    pending: list[tuple[ImageFile, np.ndarray]] = []

    def encode_pending() -> None:
        if pending:
            blocks.append(model.encode(np.stack([image for _, image in pending])))
            rows.extend(str(source.path) for source, _ in pending)
            pending.clear()

    for source in sources:
        try:
            if isinstance(source, ImageFile):
                pending.append((source, source.read(args.invert)))
                if len(pending) >= args.batch_size:
                    encode_pending()
                continue
            encode_pending()
            mine = [model.encode(chunk) for chunk in source.chunks(args.invert, args.batch_size)]
            # Only a whole file counts: a bad chunk halfway raises before its rows are kept.
            blocks.extend(mine)
            rows.extend(_array_rows(source))
        except UsageError as problem:
            problems.append(problem)
            warn(args, problem)
    encode_pending()

    embeddings = np.concatenate(blocks) if blocks else np.empty((0, model.embedding_dim), np.float32)
    files.write_with(output, lambda tmp: np.save(tmp, embeddings))
    files.write_text(rows_path(output), "".join(f"{row}\n" for row in rows))
    print(f"Wrote {len(embeddings)} embedding(s) of size {model.embedding_dim} to {output} "
          f"(rows named in {rows_path(output)})")
    if problems:
        print(f"{len(problems)} input(s) skipped, see the warnings above")
        return 2
    return 0


def _array_rows(source: ArrayFile) -> list[str]:
    if len(source.shape) == 2:
        return [str(source.path)]
    return [f"{source.path}:{i}" for i in range(source.count)]
