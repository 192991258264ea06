#!/usr/bin/env python
"""Search the autoencoders' hyperparameters with keras-tuner: ``python tune.py --help``."""

from aezoo.commands import entry_point

if __name__ == "__main__":
    entry_point("tune")
