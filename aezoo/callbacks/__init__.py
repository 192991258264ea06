"""Callbacks that draw and measure during ``fit``; they do not train."""

from aezoo.callbacks.best_checkpoint import BestCheckpoint
from aezoo.callbacks.epoch_timer import EpochTimer
from aezoo.callbacks.history_csv import HistoryCSV
from aezoo.callbacks.kl_warmup import KLWarmup
from aezoo.callbacks.loss_curves import LossCurves, plot_history
from aezoo.callbacks.reconstruction_plot import ReconstructionPlot, draw_rows
from aezoo.callbacks.stop_on_interrupt import StopOnInterrupt

__all__ = ["BestCheckpoint", "EpochTimer", "HistoryCSV", "KLWarmup", "LossCurves", "ReconstructionPlot", "StopOnInterrupt", "draw_rows", "plot_history"]
