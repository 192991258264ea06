#!/usr/bin/env python
"""Train aezoo's denoising autoencoder and VAE: ``python train.py --help``."""

from aezoo.commands import entry_point

if __name__ == "__main__":
    entry_point("train")
