"""Measurements of the benchmark: training clock, validation quality per epoch, serving speed, memory.

Every function measures one thing the same way for the references and for aezoo's models, so
ratios between them compare models, not measuring code.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from aezoo.metrics import image_quality


class TrainClock(keras.callbacks.Callback):
    """Training seconds of each epoch, validation and later callbacks excluded.

    Unlike :class:`aezoo.callbacks.EpochTimer` it keeps its record across several ``fit`` calls,
    which the benchmark needs because it trains the models one epoch at a time, in turns. It must
    come first in the callback list so that the quality evaluation after it is not timed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.peak_rss_mb: list[float] = []
        # What the model's first epoch added to the process (weights, optimizer slots, traced
        # graphs, activations): in a process shared by several models the absolute peak mostly
        # measures the others, while the growth during a model's first epoch is its own.
        self.first_epoch_rss_growth_mb = 0.0
        self._start = 0.0
        self._rss_before = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        reset_peak_rss()
        if not self.seconds:
            self._rss_before = rss_mb()
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        self.peak_rss_mb.append(peak_rss_mb())
        if len(self.seconds) == 1:
            self.first_epoch_rss_growth_mb = max(0.0, self.peak_rss_mb[0] - self._rss_before)

    def steady_images_per_second(self, images_per_epoch: int) -> float:
        """Images per second after the first epoch, which pays for tracing and compilation."""
        steady = self.seconds[1:] or self.seconds
        return images_per_epoch * len(steady) / sum(steady) if steady and sum(steady) > 0 else float("nan")


class EpochQuality(keras.callbacks.Callback):
    """MSE/PSNR/SSIM of the model's denoised held-out images after every epoch.

    Scored with :func:`aezoo.metrics.image_quality` on fixed noisy images (the benchmark passes
    the validation split), the function behind every aezoo report, so all models are scored
    identically whatever their loss.
    """

    def __init__(self, noisy: np.ndarray, clean: np.ndarray, batch_size: int = 1000) -> None:
        super().__init__()
        self.noisy, self.clean, self.batch_size = noisy, clean, batch_size
        self.scores: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        denoised = self.model.predict(self.noisy, batch_size=self.batch_size, verbose=0)
        self.scores.append(image_quality(self.clean, denoised))


def seconds_to_reach(psnr_per_epoch: list[float], seconds_per_epoch: list[float], target: float) -> float | None:
    """Training seconds until the end of the first epoch whose PSNR is at least ``target``.

    Epoch-granular on purpose: the score exists only at epoch ends, and interpolating
    inside an epoch would claim a precision the measurement does not have. ``None``: never.
    """
    elapsed = 0.0
    for psnr, seconds in zip(psnr_per_epoch, seconds_per_epoch):
        elapsed += seconds
        if psnr >= target:
            return elapsed
    return None


def pipeline_images_per_second(dataset: tf.data.Dataset, images_per_epoch: int, epochs: int = 3) -> float:
    """Images per second the input pipeline delivers with no model attached (first epoch excluded).

    The first epoch fills the ``cache``; later ones are what training sees in steady state.
    """
    for _ in dataset:
        pass
    start = time.perf_counter()
    for _ in range(epochs):
        for _ in dataset:
            pass
    return images_per_epoch * epochs / (time.perf_counter() - start)


def serving_function(saved_model_dir: str | os.PathLike[str]) -> tuple[Any, Any]:
    """``(fn, name)``: the SavedModel's ``serving_default`` and its single input's keyword name.

    Keras' ``model.export`` names the input after the input layer and aezoo's export calls it
    ``images``; reading it from the signature serves both the same way. The loaded object is
    returned inside ``fn`` (signatures keep their SavedModel alive).
    """
    loaded = tf.saved_model.load(str(saved_model_dir))
    fn = loaded.signatures["serving_default"]
    fn._aezoo_bench_owner = loaded  # keep the variables alive as long as the function
    (name,) = fn.structured_input_signature[1].keys()
    return fn, name


def serving_images_per_second(fn: Any, name: str, images: np.ndarray, batch_size: int, calls: int) -> float:
    """Images per second through ``fn`` at ``batch_size``, one call per batch, after one warm-up call.

    Inputs are converted to tensors beforehand, so the figure is the served graph's speed plus
    the per-call dispatch a Python client pays, not numpy conversion.
    """
    batches = [tf.constant(np.resize(images[i * batch_size % len(images):][:batch_size],
                                     (batch_size, *images.shape[1:])))
               for i in range(min(calls, 8))]
    fn(**{name: batches[0]})
    start = time.perf_counter()
    for i in range(calls):
        fn(**{name: batches[i % len(batches)]})
    return batch_size * calls / (time.perf_counter() - start)


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (``VmHWM``) so the next reading is the peak of what follows.

    Linux lets a process do this by writing 5 to ``/proc/self/clear_refs``; where it cannot, the
    peak stays the peak of the whole process so far (and this returns ``False``).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (0 where ``/proc`` is unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (since start or the last :func:`reset_peak_rss`)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


_SERVING_PROBE = """
import json, os, resource, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, tensorflow as tf
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
path, batch = sys.argv[1], int(sys.argv[2])
base_peak, base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss()
loaded = tf.saved_model.load(path)
fn = loaded.signatures["serving_default"]
((name, spec),) = fn.structured_input_signature[1].items()
for size in (1, batch):
    fn(**{name: tf.zeros([size, *spec.shape[1:]])})
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tensorflow_peak_rss_mb": base_peak, "serving_rss_growth_mb": max(0.0, rss() - base)}))
"""


def serving_peak_rss(saved_model_dir: str | os.PathLike[str], batch_size: int = 1024) -> dict[str, float]:
    """Peak RSS of a fresh process that imports only TensorFlow and serves batches of 1 and ``batch_size``
    (images of the shape its signature takes).

    A separate process per model is the only way to get one model's peak: in the benchmark's own
    process every model, dataset and optimizer ever created stays resident.
    ``tensorflow_peak_rss_mb`` is the same process's peak after ``import tensorflow`` alone; it
    can be the whole peak (importing TensorFlow briefly holds more than serving a small model
    does), so ``serving_rss_growth_mb``, resident memory after serving minus after the import, is
    the figure that tells the models apart.
    """
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", _SERVING_PROBE, str(saved_model_dir), str(batch_size)],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"serving probe failed for {saved_model_dir}: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
