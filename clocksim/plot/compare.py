"""Two schedules side by side."""

from __future__ import annotations

import numpy as np

from . import _format as fmt
from ..trace.core import Trace
from .._validate import as_sequence
from ..errors import InvalidValueError
from ._style import _check_figure, _check_trace, _new_figure, _rows_height, _time_range, _time_unit, _width_px, sized
from .costs import _cost_cumulative, _latencies, _latency_cdf, _latency_xlim
from .timeline import _wants_bins, plot_activity


@sized
def plot_compare(trace_a: Trace, trace_b: Trace, fig=None, names=("A", "B"), steps=None):
    """Two schedules side by side: activity of each, cumulative cost of both, latency CDFs if present.

    Parameters
    ----------
    trace_a, trace_b : Trace
    fig : matplotlib Figure, optional
    names : (str, str)
        What to call the two runs.
    steps : int or (float, float), optional
        Window of the activity panels, as in :func:`plot_activity`.

    Returns
    -------
    dict of str -> Axes
        ``"activity_a"``, ``"activity_b"``, ``"cost"`` and, when either run
        modelled latency (``meta["latency_model"]``) and recorded some, ``"latency"``.
    """
    _check_trace(trace_a, "trace_a")
    _check_trace(trace_b, "trace_b")
    _check_figure(fig)
    names = as_sequence("names", names, "two names (str, str)")
    if len(names) != 2:
        raise InvalidValueError(f"got {len(names)} names, expected two (one per trace)", key="names")
    name_a, name_b = names
    has_latency = any(t.meta.get("latency_model") and _latencies(t).size for t in (trace_a, trace_b))
    rows = 3 if has_latency else 2
    height = max(_rows_height(trace_a.g), _rows_height(trace_b.g)) * 0.8
    fig = fig if fig is not None else _new_figure(figsize=(13, height + 3.2 * (rows - 1)))
    grid = fig.add_gridspec(rows, 2, height_ratios=[height] + [3.2] * (rows - 1))
    axes = {"activity_a": fig.add_subplot(grid[0, 0]), "activity_b": fig.add_subplot(grid[0, 1])}
    # one representation for both panels (binned if either needs it), so the two read the same way
    binned = any(_wants_bins(t, _width_px(axes[k]), steps) for k, t in (("activity_a", trace_a),
                                                                      ("activity_b", trace_b)))
    for key, trace, name in (("activity_a", trace_a, name_a), ("activity_b", trace_b, name_b)):
        plot_activity(trace, ax=axes[key], steps=steps, aggregate=binned)
        summary = f"{fmt.count(len(trace))} activations, {fmt.value(_speedup(trace))}x fewer multiply-adds than dense"
        axes[key].set_title(f"{name}: activity ({summary})", fontsize="medium")
    axes["cost"] = fig.add_subplot(grid[1, :])
    _compare_costs(axes["cost"], trace_a, trace_b, name_a, name_b)
    if has_latency:
        axes["latency"] = fig.add_subplot(grid[2, :])
        _compare_latency(axes["latency"], trace_a, trace_b, name_a, name_b)
    fig.suptitle(f"Schedule comparison: {name_a} vs {name_b}")
    return axes


def _compare_costs(ax, trace_a: Trace, trace_b: Trace, name_a: str, name_b: str) -> None:
    """Both runs' cumulative multiply-adds and the dense RNN's (twice when the two dense lines differ)."""
    differ = _dense_differs(trace_a, trace_b)
    line_a = _cost_cumulative(trace_a, ax, name_a, "C0", dense_name=name_a if differ else None, lw=3.5)
    line_b = _cost_cumulative(trace_b, ax, name_b, "C3", dense=differ, dense_name=name_b, dense_ls=":", lw=1.8)
    if np.array_equal(line_a.get_xdata(), line_b.get_xdata()) and np.array_equal(line_a.get_ydata(),
                                                                                  line_b.get_ydata()):
        line_b.set_label(f"{line_b.get_label()}: the same line as {name_a}, drawn over it")
    handles, labels = ax.get_legend_handles_labels()                    # the CW-RNN lines together, dense last
    ranked = sorted(range(len(labels)), key=lambda i: "dense RNN" in labels[i])
    ax.legend([handles[i] for i in ranked], [labels[i] for i in ranked], loc="upper left", fontsize="small")
    ax.set_xlim(*_union(_time_range(trace_a), _time_range(trace_b)))
    ax.set_title(f"Cumulative multiply-adds: {name_a} vs {name_b} vs the dense RNN")


def _compare_latency(ax, trace_a: Trace, trace_b: Trace, name_a: str, name_b: str) -> None:
    """Both runs' latency CDFs on one x range, their p50 (dotted) and p99 (dashed)."""
    both = np.concatenate([_latencies(trace_a), _latencies(trace_b)])
    xlim = _latency_xlim(both, None, integral=bool(np.all(both == np.round(both))))
    for trace, name, color, lw in ((trace_a, name_a, "C0", 3.5), (trace_b, name_b, "C3", 1.8)):
        lat = _latencies(trace)
        if lat.size:
            p50, p99 = np.percentile(lat, [50, 99])
            dropped = trace.readouts.shape[0] - lat.size
            label = (f"{name}: p50 = {fmt.value(p50)}, p99 = {fmt.value(p99)}"
                     + (f", {fmt.count(dropped)} inputs dropped" if dropped else ""))
            _latency_cdf(trace, ax, label, color, xlim=xlim).set_lw(lw)
            ax.axvline(p50, color=color, ls=":", lw=1.2)
            ax.axvline(p99, color=color, ls="--", lw=1.2)
    ax.set_xlim(*xlim)
    ax.set_xlabel(f"latency ({_time_unit(trace_a)}s from input arrival to the output that reflects it)")
    ax.legend(fontsize="small", loc="lower right")
    ax.set_title("Readout latency CDF over all inputs (dotted: p50, dashed: p99 of the inputs read)")


def _speedup(trace: Trace) -> float:
    return trace.summary()["speedup_vs_dense"]


def _dense_differs(a: Trace, b: Trace) -> bool:
    keys = ("dense_step_macs", "batch", "n_steps", "start")
    return any(a.meta.get(k) != b.meta.get(k) for k in keys)


def _union(r1, r2):
    return min(r1[0], r2[0]), max(r1[1], r2[1])
