"""Callbacks that draw and measure during ``fit``; they do not train."""

from aezoo.callbacks.epoch_timer import EpochTimer
from aezoo.callbacks.loss_curves import LossCurves, plot_history
from aezoo.callbacks.reconstruction_plot import ReconstructionPlot, draw_rows

__all__ = ["EpochTimer", "LossCurves", "ReconstructionPlot", "draw_rows", "plot_history"]
