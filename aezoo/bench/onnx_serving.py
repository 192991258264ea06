"""Serving speed of ONNX Runtime against the SavedModel, at batch 1 and 1024.

Each aezoo model's SavedModel is exported to ONNX with :func:`aezoo.runtimes.export_model` (which
checks the file in onnxruntime against the SavedModel before writing it), then
:func:`aezoo.runtimes.serving_speed` times the SavedModel's ``denoise`` and the ONNX ``denoise``
in alternating rounds, so a burst of load on a shared machine slows both alike and their ratio
compares the runtimes. References are left out: their SavedModels come from Keras' own
``model.export``, without the ``denoise`` signature aezoo's exporter writes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable

from aezoo.errors import UsageError

logger = logging.getLogger("aezoo.bench")

BATCH_SIZES = (1, 1024)
# Quick mode exercises the path on one model with short rounds: a check, not a figure.
QUICK = {"models": 1, "rounds": 1, "seconds": 0.05}
FULL = {"models": None, "rounds": 3, "seconds": 1.0}


def onnx_serving_speeds(saved_models: dict[str, Path], is_reference: Iterable[str], folder: Path,
                        quick: bool) -> dict[str, dict[str, float]]:
    """``{model: {"onnx_batch1_images_per_second": ..., "saved_model_denoise_batch1_images_per_second": ...}}``.

    Args:
        saved_models: model name -> its SavedModel folder, as the benchmark exported it.
        is_reference: names of the references, which are skipped.
        folder: a scratch folder for the ONNX files (the caller removes it).
        quick: time only the first aezoo model, briefly (see :data:`QUICK`).

    A model the ONNX exporter refuses (a missing package, an operator tf2onnx cannot convert, a
    result that differs from the SavedModel) is logged and left out, never measured on a wrong file.
    """
    from aezoo import runtimes

    settings = QUICK if quick else FULL
    references = set(is_reference)
    names = [name for name in saved_models if name not in references][:settings["models"]]
    speeds: dict[str, dict[str, float]] = {}
    for name in names:
        try:
            export_dir = runtimes.export_model(saved_models[name], "onnx", folder / f"{name}-onnx")
        except UsageError as error:
            logger.warning("%s: no ONNX serving figures (%s)", name, error)
            continue
        rates = runtimes.serving_speed(saved_models[name], export_dir, BATCH_SIZES, rounds=settings["rounds"],
                                       seconds=settings["seconds"])
        speeds[name] = _flatten(rates)
    return speeds


def _flatten(rates: dict[str, dict[int, float]]) -> dict[str, Any]:
    """Flat keys, as the benchmark's other serving figures are: ``onnx_batch1_images_per_second``."""
    flat = {}
    for size in BATCH_SIZES:
        flat[f"onnx_batch{size}_images_per_second"] = rates["onnx"][size]
        flat[f"saved_model_denoise_batch{size}_images_per_second"] = rates["saved_model"][size]
    return flat
