#!/usr/bin/env python
"""Train aezoo's denoising autoencoders (by default the AE and the VAE): ``python train.py --help``."""

from aezoo.commands import entry_point

if __name__ == "__main__":
    entry_point("train")
