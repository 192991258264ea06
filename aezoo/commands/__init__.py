"""Command-line entry points. Each module here has ``add_arguments(parser)`` and ``run(args) -> int``.

:func:`main` turns :class:`~aezoo.errors.UsageError` into one line on stderr and exit status 2;
any other exception is a bug and keeps its traceback. The arguments are parsed before TensorFlow
is imported: a command module and whatever its ``add_arguments`` touches import no TensorFlow at
module level (tests/test_commands.py checks it), so ``--help`` and a mistyped flag answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import typing
from pathlib import Path
from typing import Sequence

from aezoo import interrupts
from aezoo.commands.startup import quiet_tensorflow, verbose_requested
from aezoo.errors import UsageError
from aezoo.timing import PhaseTimer

# subcommand -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS = {
    "train": ("aezoo.commands.train", "train the autoencoder and/or the VAE on noisy digits"),
    "analyze": ("aezoo.commands.analyze", "latent-space analysis and HTML report of a run folder"),
    "tune": ("aezoo.commands.tune", "keras-tuner search over embedding size, depth and filters"),
    "denoise": ("aezoo.commands.denoise", "denoise image files or arrays with a trained model"),
    "encode": ("aezoo.commands.encode", "write the embeddings of images with a trained model"),
    "models": ("aezoo.commands.models", "list the model families: idea, capabilities, default arguments"),
    "export": ("aezoo.commands.export", "export a trained model to ONNX or LiteRT, checked in its runtime"),
    "presets": ("aezoo.commands.presets", "list the trained presets shipped with aezoo, or retrain them"),
    "sample": ("aezoo.commands.sample", "generate new digits with a trained model"),  # generation hook
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's and epilog's line breaks; appends a default only where it means something.

    Flags that default to ``None`` leave the value to the library and say so in their own help.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (action.default is None or action.default is argparse.SUPPRESS or isinstance(action.default, bool)
                or "default" in text or not action.option_strings or text == argparse.SUPPRESS):
            return action.help
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose mistakes are one line on stderr (exit status 2), like UsageError's."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (--help lists the flags)\n")


def build_parser(command: str, prog: str | None = None) -> argparse.ArgumentParser:
    module = importlib.import_module(COMMANDS[command][0])
    parser = Parser(prog=prog, description=module.__doc__, formatter_class=_HelpFormatter,
                    epilog=getattr(module, "EPILOG", None))
    module.add_arguments(parser)
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up and C++ log lines (also: AEZOO_VERBOSE=1)")
    return parser


def run_command(command: str, argv: Sequence[str] | None = None, prog: str | None = None,
                timer: PhaseTimer | None = None) -> int:
    """Parse ``argv`` for ``command`` and run it; returns the exit status.

    ``timer``: times the command's phases (``args.timer``; a command that records them, such as
    train, reads it); default: one started now. The entry points that own the process pass one
    started with the process, so that the interpreter's and TensorFlow's start-up count too.
    """
    timer = timer or PhaseTimer()
    parser = build_parser(command, prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help (0) or a bad flag (2, message already printed)
        return int(exit.code or 0)
    args.timer = timer
    verbose = verbose_requested(args.verbose)
    quiet_tensorflow(verbose)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # TensorFlow's Python notes ("Assets written to ...", retracing warnings when a search builds
    # one model after another) would bury aezoo's own lines; --verbose brings its warnings back.
    logging.getLogger("tensorflow").setLevel(logging.WARNING if verbose else logging.ERROR)
    interrupts.clear()
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    module = importlib.import_module(COMMANDS[command][0])
    try:
        return int(module.run(args) or 0)
    except UsageError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        # A write that did not go through aezoo.files (keras-tuner's trial files, TensorBoard's
        # event files) on a full or read-only disk is still the user's to fix, not a bug.
        message = _write_error(error)
        if message is None:
            raise
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def _write_error(error: BaseException) -> str | None:
    """One line for a write to a full or read-only disk; None for anything else (a bug keeps its traceback)."""
    import errno

    from aezoo.files import describe_write_error, error_number

    if error_number(error) not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        return None
    if isinstance(error, OSError) and error.filename:
        return describe_write_error(error, Path(os.fsdecode(error.filename)))
    if isinstance(error, OSError) or type(error).__module__.startswith("tensorflow"):
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"{first}; free some space or choose a writable output, then re-run the same command"
    return None


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (kill, a batch scheduler's time limit) ends the command like Ctrl-C: every file
    # already written is whole (see aezoo.files) and the next identical command resumes. The
    # flag makes training raise again after the next step if this exception gets swallowed.
    interrupts.request()
    if not interrupts.is_deferred():  # inside fit, StopOnInterrupt raises at the next step end
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, timer: PhaseTimer | None = None) -> int:
    """``python -m aezoo COMMAND ...``; ``timer`` as in :func:`run_command`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m aezoo {" + ",".join(COMMANDS) + "} [options]\n\n" + "\n".join(
        f"  {name:10} {text}" for name, (_, text) in COMMANDS.items())
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"aezoo: error: unknown command {argv[0]!r}\n{usage}", file=sys.stderr)
        return 2
    return run_command(argv[0], argv[1:], prog=f"python -m aezoo {argv[0]}", timer=timer)


def entry_point(command: str) -> None:
    """For console scripts and the root scripts: ``sys.exit`` with the command's status."""
    sys.exit(run_command(command, timer=PhaseTimer.since_process_start()))


def main_entry() -> None:
    """Console script ``aezoo``."""
    sys.exit(main(timer=PhaseTimer.since_process_start()))


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


def export_entry() -> None:
    """Console script ``aezoo-export``."""
    entry_point("export")
