"""Export a trained model to other runtimes: ONNX (onnxruntime) and LiteRT (the TFLite interpreter).

The export reads the model's SavedModel (a ``.keras`` file is first exported to a temporary one),
so what runs elsewhere is the very graph that ``tf.saved_model.load`` serves. Each endpoint the
SavedModel has becomes one file in the output folder::

    OUTPUT/denoise.onnx   images [N,H,W,C] -> output_0 [N,H,W,C]
    OUTPUT/encode.onnx    images [N,H,W,C] -> output_0 [N,*embedding_shape]   (models with a latent space)
    OUTPUT/decode.onnx    embeddings [N,*embedding_shape] -> output_0 [N,H,W,C]
    OUTPUT/export.json    what was exported, the package versions, and the measured differences

(``.tflite`` for LiteRT: one signature per file, named after the endpoint.) Input and output names
are the SavedModel's own, ``(H, W, C)`` is the model's image shape (``[N,28,28,1]`` for a digit
model), and the batch dimension stays free.

Nothing broken is ever written: the files are produced in a temporary folder, each is loaded in
its own runtime and run on probe images at batch 1 and 32, its outputs are compared with the
SavedModel's, and only then does the folder take the place of ``OUTPUT``. A format that today's
packages cannot produce, or that does not reproduce the SavedModel, raises
:class:`~aezoo.errors.UsageError` with one line saying why.

What works with TensorFlow 2.21 and Keras 3.15 (measured, see tests/test_runtimes.py):

* ONNX: ``tf2onnx`` 1.17 converts the SavedModel's functions (this is also what Keras'
  ``model.export(format="onnx")`` does). The VAE's posterior mean comes from
  ``tfp.distributions``, whose shape arithmetic uses TensorFlow's ``BroadcastArgs``; tf2onnx has
  no conversion for it and, left alone, writes a graph that onnxruntime refuses to load (Keras'
  own ONNX export of the VAE fails that way). :func:`_broadcast_args_to_onnx` supplies one.
* LiteRT: ``tf.lite.TFLiteConverter.from_saved_model`` with TFLite's built-in operators only (no
  Flex ops, so the file runs in the plain ``ai-edge-litert`` interpreter, as on a phone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from aezoo import files
from aezoo.errors import UsageError
from aezoo.inference import ModelLocation, locate_model

ENDPOINTS = ("denoise", "encode", "decode")  # in this order; a model without a latent space has only denoise
MANIFEST = "export.json"
ONNX_OPSET = 17  # onnxruntime 1.14 and later run it; tf2onnx 1.17 converts to it
# Outputs must match the SavedModel's within this, relative to the output's scale (images are in
# [0, 1], so for them it is an absolute 1e-5). Float kernels differ between runtimes (oneDNN,
# XNNPACK, MLAS), so bit-equality is not expected; a real conversion error is far larger.
TOLERANCE = 1e-5
PROBE_BATCH = 32


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    packages: tuple[tuple[str, str], ...]  # (import name, distribution name) the export needs
    description: str
    runtime: str


FORMATS = {
    "onnx": Format("onnx", ".onnx", (("tf2onnx", "tf2onnx"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime")),
                   f"ONNX opset {ONNX_OPSET}", "onnxruntime"),
    "litert": Format("litert", ".tflite", (("ai_edge_litert", "ai-edge-litert"),),
                     "LiteRT (TFLite flatbuffer, built-in operators only)", "the LiteRT interpreter"),
}

Runner = Callable[[np.ndarray], np.ndarray]


def check_format(name: str) -> Format:
    """The export format called ``name``; raises UsageError if it is unknown or its packages are missing."""
    if name not in FORMATS:
        raise UsageError(f"format {name!r} is unknown; choose one of {', '.join(FORMATS)}")
    fmt = FORMATS[name]
    missing = [dist for module, dist in fmt.packages if importlib.util.find_spec(module) is None]
    if missing:
        raise UsageError(f"{name} export needs {', '.join(missing)}, which are not installed; "
                         "install them with: pip install 'aezoo[export]'")
    return fmt


def export_file_names() -> set[str]:
    """Every name an export folder may hold: what aezoo wrote there, and nothing else."""
    return {MANIFEST} | {f"{endpoint}{fmt.suffix}" for endpoint in ENDPOINTS for fmt in FORMATS.values()}


def check_output(output: str | os.PathLike[str]) -> Path:
    """``output`` may be new, empty, or an earlier export (which is replaced); nothing else is touched.

    An earlier export is replaced only when it holds nothing but aezoo's own files: a file the
    user put there would go with it. A name ending in a format's suffix (``x.onnx``) is refused,
    since the export is a folder of files, one per endpoint, and the name would mislead.
    """
    output = Path(output)
    suffixes = {fmt.suffix for fmt in FORMATS.values()}
    if output.suffix.lower() in suffixes and not output.is_dir():
        raise UsageError(f"--output {output}: the export is a folder (denoise{output.suffix}, encode{output.suffix}, "
                         f"decode{output.suffix} and {MANIFEST}), not one file; give a folder name, e.g. "
                         f"{output.with_suffix('')}")
    files.check_writable(output, f"--output {output}", folder=True)
    files.clean_stale(output)  # what a killed export left beside it
    if output.is_dir() and any(output.iterdir()):
        if not (output / MANIFEST).is_file():
            raise UsageError(f"--output {output}: folder is not empty and holds no earlier export ({MANIFEST}); "
                             "choose a new folder")
        others = files.other_files(output, export_file_names())
        if others:
            raise UsageError(f"--output {output}: holds an earlier export and other files ({', '.join(others[:3])}"
                             f"{', ...' if len(others) > 3 else ''}), which replacing it would delete; move them "
                             "or choose a new folder")
    return output


def export_model(model: str | os.PathLike[str], format: str, output: str | os.PathLike[str],
                 model_kind: str | None = None) -> Path:
    """Export the model at ``model`` (run folder, model folder, ``saved_model/`` or ``.keras``) to ``output``.

    Returns ``output``, a folder with one file per endpoint and :data:`MANIFEST`.

    Raises:
        UsageError: an unknown format or missing package, a path that is not a model, an output
            that is not free, or a format that cannot be produced faithfully with today's packages.
    """
    fmt = check_format(format)
    output = check_output(output)
    location = locate_model(model, model_kind)
    with _saved_model_folder(location) as saved_model_dir:
        return _export_saved_model(saved_model_dir, fmt, output)


@contextlib.contextmanager
def _saved_model_folder(location: ModelLocation) -> Iterator[Path]:
    """The SavedModel of ``location``: its own, or one exported for the time being from a ``.keras`` file."""
    if location.format == "saved_model":
        yield location.path
        return
    model = _load_keras(location.path)
    from aezoo.export import export_saved_model

    with tempfile.TemporaryDirectory(prefix="aezoo-export-") as folder:
        yield export_saved_model(model, Path(folder) / "saved_model")


def _load_keras(path: Path) -> Any:
    from aezoo.inference import load_keras_model

    return load_keras_model(path)


# ---------------------------------------------------------------------------------------------
# Export and verification


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One SavedModel function: its name, its input's keyword and spec, and the function itself."""

    name: str
    argument: str
    spec: Any  # tf.TensorSpec
    function: Any  # the concrete function, returning {"output_0": tensor}

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return self.function(**{self.argument: inputs})["output_0"].numpy()


def saved_model_endpoints(saved_model_dir: str | os.PathLike[str]) -> tuple[Any, list[Endpoint]]:
    """``(loaded, endpoints)``: the SavedModel's aezoo endpoints (keep ``loaded`` alive while using them)."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(saved_model_dir))
    except Exception as error:  # TF raises many types for a corrupt folder; all mean the same to a user
        raise UsageError(f"{saved_model_dir}: cannot load the SavedModel ({_first_line(error)})") from None
    endpoints = []
    for name in ENDPOINTS:
        function = loaded.signatures.get(name)
        if function is None:
            continue
        (argument, spec), = function.structured_input_signature[1].items()
        endpoints.append(Endpoint(name, argument, spec, function))
    if not endpoints or endpoints[0].name != "denoise":
        raise UsageError(f"{saved_model_dir}: not an aezoo SavedModel (it has no denoise signature)")
    return loaded, endpoints


def _export_saved_model(saved_model_dir: Path, fmt: Format, output: Path) -> Path:
    _loaded, endpoints = saved_model_endpoints(saved_model_dir)
    probes = probe_inputs(endpoints)
    manifest: dict[str, Any] = {"format": fmt.name, "description": fmt.description, "runtime": fmt.runtime,
                                "source": str(saved_model_dir), "packages": _versions(fmt), "files": {}}
    with files.atomic_directory(output) as folder:
        for endpoint in endpoints:
            path = folder / f"{endpoint.name}{fmt.suffix}"
            CONVERTERS[fmt.name](saved_model_dir, endpoint, path)
            runner = open_runtime(path, endpoint.name)
            difference = verify(endpoint, runner, probes[endpoint.name], fmt)
            manifest["files"][endpoint.name] = {
                "file": path.name, "input": {"name": endpoint.argument, "shape": [None, *endpoint.spec.shape[1:]]},
                "output": "output_0", "max_abs_difference": difference}
        files.write_json(folder / MANIFEST, manifest)
    return output


def probe_inputs(endpoints: list[Endpoint], seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs to compare runtimes on: uniform images of the model's shape in [0, 1], and the embeddings
    the model gives them.

    Decoding real embeddings (not arbitrary vectors) keeps the check where the model is used.
    """
    rng = np.random.default_rng(seed)
    images = probe_images(endpoints[0], PROBE_BATCH, rng)
    probes = {}
    for endpoint in endpoints:
        if endpoint.argument == "images":
            probes[endpoint.name] = images
        else:
            encode = next((e for e in endpoints if e.name == "encode"), None)
            shape = [int(d) for d in endpoint.spec.shape[1:]]
            probes[endpoint.name] = (encode(images) if encode is not None
                                     else rng.standard_normal((PROBE_BATCH, *shape), dtype=np.float32))
    return probes


def probe_images(denoise: Endpoint, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` uniform images in [0, 1] of the shape the SavedModel's ``denoise`` takes."""
    return rng.random((count, *(int(d) for d in denoise.spec.shape[1:])), dtype=np.float32)


def verify(endpoint: Endpoint, runner: Runner, inputs: np.ndarray, fmt: Format) -> float:
    """Largest absolute difference from the SavedModel at batch 1 and at full batch; UsageError past tolerance."""
    difference = 0.0
    for batch in (inputs[:1], inputs):
        expected = endpoint(batch)
        got = runner(batch)
        if got.shape != expected.shape:
            raise UsageError(f"{fmt.name} export of {endpoint.name} is broken: it gives shape {list(got.shape)} "
                             f"where the SavedModel gives {list(expected.shape)}; nothing was written")
        gap = float(np.max(np.abs(got.astype(np.float64) - expected)))
        limit = TOLERANCE * max(1.0, float(np.max(np.abs(expected))))
        if not gap <= limit:  # also catches NaN
            raise UsageError(f"{fmt.name} export of {endpoint.name} differs from the SavedModel by {gap:.2g} "
                             f"(more than {limit:.2g}) with today's converter; nothing was written")
        difference = max(difference, gap)
    return difference


def _versions(fmt: Format) -> dict[str, str]:
    names = ["tensorflow", *(dist for _, dist in fmt.packages)]
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


# ---------------------------------------------------------------------------------------------
# ONNX


def _to_onnx(saved_model_dir: Path, endpoint: Endpoint, path: Path) -> None:
    import onnx
    import tensorflow as tf
    import tf2onnx

    function = tf.function(lambda inputs: endpoint.function(**{endpoint.argument: inputs}),
                           input_signature=[endpoint.spec])
    with _captured_errors("tf2onnx") as errors:
        try:
            proto, _ = tf2onnx.convert.from_function(
                function, input_signature=[endpoint.spec], opset=ONNX_OPSET,
                custom_op_handlers={op: (handler, []) for op, handler in ONNX_OP_CONVERSIONS.items()})
        except Exception as error:  # the converter's failures have no common type
            raise UsageError(f"onnx export of {endpoint.name} is not possible with tf2onnx "
                             f"{tf2onnx.__version__}: {_first_line(error)}") from None
    # tf2onnx keeps going past operators it cannot convert and leaves them in the graph.
    unsupported = [message for message in errors if "nsupported" in message]
    if unsupported:
        raise UsageError(f"onnx export of {endpoint.name} is not possible with tf2onnx {tf2onnx.__version__}: "
                         f"{unsupported[-1]}; nothing was written")
    for value in [*proto.graph.input, *proto.graph.output]:
        first = value.type.tensor_type.shape.dim[0]
        if not first.HasField("dim_value"):
            first.dim_param = "batch"  # tf2onnx calls it "unk__123"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def _broadcast_args_to_onnx(ctx: Any, node: Any, name: str, args: Any) -> None:
    """TensorFlow's ``BroadcastArgs(s0, s1)`` (the shape two shapes broadcast to) in ONNX operators.

    ONNX has no such operator, but its ``Add`` broadcasts the same way (numpy rules), so:
    ``Shape(ConstantOfShape(s0) + ConstantOfShape(s1))``. The tensors are as big as the
    broadcast result, here a batch of means ``[N, embedding_dim]``: negligible.
    """
    from onnx import TensorProto

    dtype, shapes, output, inputs = node.output_dtypes[0], node.output_shapes, node.output[0], list(node.input)
    ctx.remove_node(node.name)
    zeros = []
    for shape in inputs:
        as_int64 = ctx.make_node("Cast", [shape], attr={"to": TensorProto.INT64})
        zeros.append(ctx.make_node("ConstantOfShape", [as_int64.output[0]]).output[0])
    total = ctx.make_node("Add", zeros)
    broadcast = ctx.make_node("Shape", [total.output[0]])
    ctx.make_node("Cast", [broadcast.output[0]], attr={"to": dtype}, name=node.name, outputs=[output],
                  shapes=shapes, dtypes=[dtype])


# TensorFlow operators tf2onnx cannot convert by itself -> aezoo's conversion.
ONNX_OP_CONVERSIONS: dict[str, Callable[..., None]] = {"BroadcastArgs": _broadcast_args_to_onnx}


@contextlib.contextmanager
def _captured_errors(logger_name: str) -> Iterator[list[str]]:
    """Collect the logger's error messages instead of printing them (tf2onnx logs what it skips)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                messages.append(record.getMessage())

    logger = logging.getLogger(logger_name)
    handler, level, propagate = Collect(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _onnx_runner(path: Path) -> Runner:
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own exception types (InvalidGraph, Fail, ...)
        raise UsageError(f"onnx export of {path.stem} is broken: onnxruntime cannot load it "
                         f"({_first_line(error)}); nothing was written") from None
    (input_,) = session.get_inputs()
    return lambda batch: session.run(None, {input_.name: batch})[0]


# ---------------------------------------------------------------------------------------------
# LiteRT


def _to_litert(saved_model_dir: Path, endpoint: Endpoint, path: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[endpoint.name])
    # Built-in operators only: a file that needs TensorFlow's Flex ops would not run in the plain
    # LiteRT interpreter, which is the point of the format.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        flatbuffer = converter.convert()
    except Exception as error:  # ConverterError and friends
        raise UsageError(f"litert export of {endpoint.name} is not possible with TensorFlow {tf.__version__}'s "
                         f"converter: {_first_line(error)}") from None
    path.write_bytes(flatbuffer)


def _litert_runner(path: Path, signature: str) -> Runner:
    from ai_edge_litert.interpreter import Interpreter

    try:
        runner = Interpreter(model_path=str(path)).get_signature_runner(signature)
    except Exception as error:  # RuntimeError/ValueError from the interpreter
        raise UsageError(f"litert export of {signature} is broken: the interpreter cannot load it "
                         f"({_first_line(error)}); nothing was written") from None
    (argument,) = runner.get_input_details()
    return lambda batch: runner(**{argument: batch})["output_0"]


CONVERTERS: dict[str, Callable[[Path, Endpoint, Path], None]] = {"onnx": _to_onnx, "litert": _to_litert}


def open_runtime(path: str | os.PathLike[str], signature: str | None = None) -> Runner:
    """A numpy function running an exported file in its own runtime (``.onnx`` or ``.tflite``).

    ``signature`` names the LiteRT signature (default: the file's name, e.g. ``denoise``).
    """
    path = Path(path)
    if path.suffix == ".onnx":
        return _onnx_runner(path)
    if path.suffix == ".tflite":
        return _litert_runner(path, signature or path.stem)
    raise UsageError(f"{path}: not an exported model (.onnx or .tflite)")


def serving_speed(saved_model_dir: str | os.PathLike[str], export_dir: str | os.PathLike[str],
                  batch_sizes: tuple[int, ...] = (1, 1024), rounds: int = 3,
                  seconds: float = 1.0) -> dict[str, dict[int, float]]:
    """Denoised images per second: the SavedModel's ``denoise`` against the exported ``denoise`` file.

    ``{"saved_model": {batch: rate}, "<format>": {batch: rate}}``. Inputs are prepared beforehand
    (tensors for TensorFlow, arrays for the runtime), so this is the served graph plus the call a
    Python client pays. The two alternate for ``rounds`` rounds of about ``seconds`` each and each
    keeps its best round: on a shared machine, a burst of other work then slows neither alone.
    """
    import tensorflow as tf

    manifest = read_manifest(export_dir)
    _loaded, endpoints = saved_model_endpoints(saved_model_dir)
    denoise = endpoints[0]
    exported = open_runtime(Path(export_dir) / manifest["files"]["denoise"]["file"], "denoise")
    rng = np.random.default_rng(0)
    rates: dict[str, dict[int, float]] = {"saved_model": {}, manifest["format"]: {}}
    for size in batch_sizes:
        batch = probe_images(denoise, size, rng)
        tensor = tf.constant(batch)
        calls = {"saved_model": lambda: denoise.function(**{denoise.argument: tensor}),
                 manifest["format"]: lambda: exported(batch)}
        for name, call in calls.items():
            call()  # warm-up: first-call set-up is not serving
            rates[name][size] = 0.0
        for _ in range(rounds):
            for name, call in calls.items():
                rates[name][size] = max(rates[name][size], size * _calls_per_second(call, seconds))
    return rates


def _calls_per_second(call: Callable[[], Any], seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < seconds:
        call()
        count += 1
    return count / (time.perf_counter() - start)


def read_manifest(output: str | os.PathLike[str]) -> dict[str, Any]:
    """The :data:`MANIFEST` of an export folder."""
    return json.loads((Path(output) / MANIFEST).read_text())


__all__ = ["ENDPOINTS", "FORMATS", "MANIFEST", "TOLERANCE", "check_format", "check_output", "export_model",
           "open_runtime", "read_manifest", "saved_model_endpoints", "serving_speed"]
