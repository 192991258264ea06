"""The benchmark: aezoo's models against textbook Keras autoencoders, in one process.

``python -m aezoo.bench`` trains the keras.io denoising autoencoder, a plain ``keras.Sequential``
homework autoencoder and aezoo's AE and VAE (at ``python train.py``'s defaults) on the same data,
noise and machine, and reports speed, validation quality per epoch, serving speed and memory, as a
console table and JSON, with ratios against the references. See ``bench/README.md``.
"""

from aezoo.bench.runner import BenchSettings, parse_overrides, run_benchmark

__all__ = ["BenchSettings", "parse_overrides", "run_benchmark"]
