"""Export a trained model to ONNX or LiteRT, for runtimes other than TensorFlow.

MODEL is a run folder, one model's folder, a saved_model/ folder or a .keras file. Writes the
folder --output with one file per function of the model: denoise, and for models with a latent
space encode and decode (denoise.onnx, encode.onnx, decode.onnx, or .tflite), plus export.json.
Each file is loaded in its own runtime and checked against the SavedModel before the folder is
written; a format that cannot be produced faithfully is refused with one line and exit status 2.
Needs the export extra: pip install 'aezoo[export]'.
"""

from __future__ import annotations

import argparse

from aezoo.inference import model_kinds

# aezoo.runtimes.FORMATS (a test keeps them equal), repeated so that --help imports nothing more.
FORMAT_NAMES = ("onnx", "litert")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="run folder, model folder (RUN/ae), saved_model/ folder or .keras file, or a preset (vae_mnist; python -m aezoo presets lists them; hf://user/repo)")
    parser.add_argument("--format", "-f", choices=FORMAT_NAMES, required=True,
                        help="onnx (onnxruntime) or litert (the TFLite / LiteRT interpreter)")
    parser.add_argument("--output", "-o", metavar="DIR", required=True,
                        help="folder for the exported files (new, empty, or an earlier export holding only "
                             "aezoo's files, which is replaced)")
    parser.add_argument("--model-kind", choices=model_kinds(),
                        help="which model of a run folder to export (default: ae when present)")


def run(args: argparse.Namespace) -> int:
    # export_model checks the format's packages, the output folder and the model path before it
    # imports TensorFlow, so those mistakes are reported at once.
    from aezoo import runtimes

    output = runtimes.export_model(args.model, args.format, args.output, model_kind=args.model_kind)
    manifest = runtimes.read_manifest(output)
    worst = max(entry["max_abs_difference"] for entry in manifest["files"].values())
    names = ", ".join(entry["file"] for entry in manifest["files"].values())
    fmt = runtimes.FORMATS[args.format]
    print(f"Exported {names} to {output}/ ({fmt.description}); each runs in {fmt.runtime} and matches "
          f"the SavedModel within {worst:.1e}")
    return 0
