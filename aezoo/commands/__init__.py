"""Command-line entry points. Each module here has ``add_arguments(parser)`` and ``run(args) -> int``.

:func:`main` turns :class:`~aezoo.errors.UsageError` into one line on stderr and exit status 2;
any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from typing import Sequence

from aezoo import interrupts
from aezoo.errors import UsageError

# subcommand -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS = {
    "train": ("aezoo.commands.train", "train the autoencoder and/or the VAE on noisy digits"),
    "analyze": ("aezoo.commands.analyze", "latent-space analysis and HTML report of a run folder"),
    "tune": ("aezoo.commands.tune", "keras-tuner search over embedding size, depth and filters"),
    "denoise": ("aezoo.commands.denoise", "denoise image files or arrays with a trained model"),
    "encode": ("aezoo.commands.encode", "write the embeddings of images with a trained model"),
}


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) buries the useful output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_parser(command: str, prog: str | None = None) -> argparse.ArgumentParser:
    module = importlib.import_module(COMMANDS[command][0])
    parser = argparse.ArgumentParser(prog=prog, description=module.__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    module.add_arguments(parser)
    return parser


def run_command(command: str, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Parse ``argv`` for ``command`` and run it; returns the exit status."""
    _quiet_tensorflow()
    parser = build_parser(command, prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help (0) or a bad flag (2, message already printed)
        return int(exit.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # "Assets written to ..." is noise
    interrupts.clear()
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    module = importlib.import_module(COMMANDS[command][0])
    try:
        return int(module.run(args) or 0)
    except UsageError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (kill, a batch scheduler's time limit) ends the command like Ctrl-C: every file
    # already written is whole (see aezoo.files) and the next identical command resumes. The
    # flag makes training raise again after the next step if this exception gets swallowed.
    interrupts.request()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m aezoo COMMAND ...``"""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m aezoo {" + ",".join(COMMANDS) + "} [options]\n\n" + "\n".join(
        f"  {name:10} {text}" for name, (_, text) in COMMANDS.items())
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"aezoo: error: unknown command {argv[0]!r}\n{usage}", file=sys.stderr)
        return 2
    return run_command(argv[0], argv[1:], prog=f"python -m aezoo {argv[0]}")


def entry_point(command: str) -> None:
    """For console scripts and the root scripts: ``sys.exit`` with the command's status."""
    sys.exit(run_command(command))


def main_entry() -> None:
    """Console script ``aezoo``."""
    sys.exit(main())


def train_entry() -> None:
    """Console script ``aezoo-train``."""
    entry_point("train")


def analyze_entry() -> None:
    """Console script ``aezoo-analyze``."""
    entry_point("analyze")


def denoise_entry() -> None:
    """Console script ``aezoo-denoise``."""
    entry_point("denoise")


def encode_entry() -> None:
    """Console script ``aezoo-encode``."""
    entry_point("encode")


def tune_entry() -> None:
    """Console script ``aezoo-tune``."""
    entry_point("tune")
