"""Figures that read a :class:`~clocksim.trace.Trace` (or a state array); never an engine.

Every function draws with matplotlib's object-oriented API into the axes (or
figure) it is given, or into a new figure when given none; it never calls
``plt.show()`` and returns what it drew, so callers can restyle, save or test
it. Nothing here depends on the engine that produced the trace: only the
trace's columns and its ``meta`` (labels, periods, sizes, cost constants).

Time on the x axis is model time: for synchronous runs an integer step, drawn
centred (step ``t`` covers ``[t - 0.5, t + 0.5)``); asynchronous firings are
drawn where they happened. Modules are listed fastest first, top to bottom.

When a run has more activations than the axes has pixel columns, the activity
timeline switches to an image of activation counts per time bin (and says so
in its title), and per-step cost is averaged over bins of steps.

Every figure function takes ``size="column"`` (3.5 in wide) or ``size="page"`` (7 in),
with fonts for print at that width and titles wrapped to fit; the default is the
screen layout.

The figures live in submodules by subject (``timeline``, ``costs``, ``energy``, ``arrays``,
``compare``, ``sweeps``, and, for the application's own outputs, ``history`` (a search's trials) and ``reproduce``
(the paper reproduction's figures)); ``files`` has the one draw-save-close path,
:func:`save_figures` (PNG, PDF, SVG, atomic writes, the figure closed afterwards).
Everything public is importable from here.
"""

from .arrays import plot_connectivity, plot_state
from .compare import plot_compare
from .costs import plot_cost, plot_latency, plot_staleness
from .energy import plot_energy
from .files import FORMATS, KINDS, SIZES, save_figures, save_plots
from .sweeps import plot_heatmap, plot_pareto
from .timeline import plot_activity, plot_gantt

__all__ = [
    "plot_activity", "plot_gantt", "plot_cost", "plot_latency", "plot_staleness", "plot_state",
    "plot_connectivity", "plot_compare", "plot_pareto", "plot_heatmap", "plot_energy", "save_figures", "save_plots", "KINDS",
    "FORMATS", "SIZES",
]
