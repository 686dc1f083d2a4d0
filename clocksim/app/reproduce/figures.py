"""The reproduction's figures: its results and the paper's data, drawn by :mod:`clocksim.plot.reproduce`."""

from __future__ import annotations

from ...plot import reproduce as draw
from ...train.tasks.pieces import load_pieces
from .plan import EXPERIMENTS, MODELS
from .tables import LABELS, PAPER_NMSE_1000

__all__ = ["plot_generated", "plot_nmse"]

#: The two panels of the NMSE figure: (experiment, title).
NMSE_PANELS = (("generation", "SGD, Nesterov momentum (the paper)"), ("generation_adam", "Adam (not in the paper)"))


def plot_generated(results: dict):
    """Like the paper's Figure 5 (:func:`clocksim.plot.reproduce.plot_generated`). Returns the figure."""
    return draw.plot_generated(results, load_pieces(), MODELS, LABELS)


def plot_nmse(results: dict):
    """Like the paper's Figure 4 (:func:`clocksim.plot.reproduce.plot_nmse`). Returns the figure."""
    panels = [(name, title, EXPERIMENTS[name]["budgets"]) for name, title in NMSE_PANELS]
    return draw.plot_nmse(results, panels, MODELS, LABELS, PAPER_NMSE_1000)
