"""Choosing a ``tf.distribute`` strategy: one device, several (GPUs or logical CPUs), several machines.

The models need nothing special to run under a strategy: Keras builds and compiles them inside
``strategy.scope()``, splits every global batch across the replicas and sums their gradients.
The one thing a custom ``train_step`` must do is divide each replica's mean loss by the number
of replicas (see ``DenoisingAutoencoderBase._loss_for_gradients``), so that the summed gradient is
the gradient of the global batch's mean.
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from aezoo.errors import UsageError

logger = logging.getLogger("aezoo")

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker")


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Build the strategy ``name``.

    * ``auto``: multi-worker when ``TF_CONFIG`` names several workers, mirrored over all GPUs
      when there are two or more, otherwise TensorFlow's default (one device, no wrapping).
    * ``one-device``: the first GPU, or the CPU.
    * ``mirrored``: every GPU, or every logical CPU device when there is no GPU (tests split the
      CPU into logical devices to exercise this path).
    * ``multi-worker``: ``MultiWorkerMirroredStrategy`` across the machines listed in
      ``TF_CONFIG`` (each runs the same command; worker 0 is the chief and writes the run folder).
    """
    if name not in STRATEGIES:
        raise UsageError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    # Multi-worker first: its collective ops must be configured before TensorFlow initialises
    # its devices, which listing them below would do.
    if name == "multi-worker" or (name == "auto" and len(cluster_workers()) > 1):
        if not cluster_workers():
            raise UsageError("--strategy multi-worker needs TF_CONFIG describing the cluster, e.g. "
                             '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            name = "mirrored"
        else:
            return tf.distribute.get_strategy()
    if name == "one-device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def cluster_workers() -> list[str]:
    """The worker addresses in ``TF_CONFIG`` (empty when it is unset)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return []
    try:
        return list(json.loads(raw).get("cluster", {}).get("worker", []))
    except (ValueError, AttributeError):
        raise UsageError(f"TF_CONFIG is not valid JSON describing a cluster: {raw[:80]!r}") from None


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run folder (always, except on non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())
