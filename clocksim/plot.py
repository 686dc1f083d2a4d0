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
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter, MaxNLocator, StrMethodFormatter

from .trace import Trace, atomic_write

__all__ = [
    "plot_activity", "plot_gantt", "plot_cost", "plot_latency", "plot_state",
    "plot_connectivity", "plot_compare", "save_figure", "save_plots", "KINDS",
]

MISS_COLOR = "#d62728"
DENSE_COLOR = "0.35"


# ------------------------------------------------------------------ activity


def plot_activity(trace: Trace, ax=None, steps=None, aggregate: bool | None = None):
    """Module activity timeline: one mark per activation, the picture of "clock rate".

    Parameters
    ----------
    trace : Trace
    ax : matplotlib Axes, optional
        Drawn into; a new figure is made when omitted.
    steps : int or (float, float), optional
        The first ``steps`` input steps, or a half-open time window ``(t0, t1)``;
        default the whole run.
    aggregate : bool, optional
        Draw counts per time bin instead of single marks. Default: when the
        fastest module fires more often than every fourth pixel column.

    Returns
    -------
    matplotlib Axes
        Modules on y (tick labels from ``meta["labels"]``, fastest at the top),
        time on x. Marks are ``EventCollection`` s (one per module); in the
        aggregated mode an ``AxesImage`` whose data (rows in y order, shape
        ``(g, n_bins)``) are activation counts.
    """
    _check_trace(trace)
    ax = ax if ax is not None else _new_axes(figsize=(10, _rows_height(trace.g)))
    lo, hi, pad = _window(trace, steps)
    order, rank = _fastest_first(trace)
    act = trace.activations
    act = act[(act["time"] >= lo) & (act["time"] < hi)]
    row = rank[act["module"]]                                                # (A,) y position
    width_px = _width_px(ax)
    per_row = np.bincount(row, minlength=trace.g)
    if aggregate is None:
        aggregate = bool(per_row.size) and per_row.max() > width_px / 4
    colors = _module_colors(trace.g)
    if aggregate:
        edges, label = _bins(lo, hi, max(1, int(width_px) // 2), integral=pad > 0, periods=trace.meta["periods"])
        counts = np.stack([np.histogram(act["time"][row == r], edges)[0] for r in range(trace.g)])  # (g, bins)
        shown = np.ma.masked_equal(counts, 0)
        top = max(int(counts.max(initial=0)), 1)
        norm = mcolors.LogNorm(1, top) if top >= 10 else mcolors.Normalize(0, top)
        image = ax.imshow(shown, aspect="auto", interpolation="nearest", norm=norm,
                          cmap=_cmap("viridis_r", bad="white"),
                          extent=(edges[0] - pad, edges[-1] - pad, trace.g - 0.5, -0.5))
        if top > 1:
            bar = ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04)
            bar.set_label("activations per bin")
            how = f"colour: activations per {label}"
        else:
            how = f"one column per {label}"
    else:
        lw = float(np.clip(0.45 * width_px / max(hi - lo, 1e-9) * 72 / ax.figure.dpi, 1.0, 7.0))
        ax.eventplot([act["time"][row == r] for r in range(trace.g)], lineoffsets=np.arange(trace.g),
                     linelengths=0.7, linewidths=lw, colors=[colors[i] for i in order])
        how = "one mark per activation"
    _module_axis(ax, trace, order)
    if pad:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(lo - pad, hi - pad)
    ax.set_ylim(trace.g - 0.5, -0.5)
    ax.set_xlabel(_time_label(trace))
    if not aggregate:
        ax.grid(axis="x", color="0.92", lw=0.8)
        ax.set_axisbelow(True)
    ax.set_title(f"Module activity over {_span_text(trace, lo, hi, pad)}: {act.shape[0]:,} activations ({how})")
    return ax


# ------------------------------------------------------------------ compute timeline


def plot_gantt(trace: Trace, ax=None, steps=None):
    """Compute timeline: each activation's queue wait and compute span, deadline misses highlighted.

    Rows are cores when the run had a compute model (``activations["core"] >= 0``),
    else modules (fastest at the top). Each activation draws a pale bar from its
    firing to the start of its compute (queue wait) in the lower part of its row
    and a solid bar, coloured by module, over its compute. A bottom row marks
    every readout; those that missed the deadline get a red cross and a red band
    across the chart.

    Parameters
    ----------
    trace : Trace
    ax : matplotlib Axes, optional
    steps : int or (float, float), optional
        As in :func:`plot_activity`: activations *firing* in the window are drawn.

    Returns
    -------
    matplotlib Axes
        Its artists with ``gid`` ``"queue wait"`` and ``"compute"`` are
        ``PolyCollection`` s with one rectangle per drawn activation, in trace
        order (wait ``[time, start]``, compute ``[start, end]``); the line with
        ``gid`` ``"deadline misses"`` marks the missed readouts.
    """
    _check_trace(trace)
    act_all = trace.activations
    lo, hi, pad = _window(trace, steps)
    act = act_all[(act_all["time"] >= lo) & (act_all["time"] < hi)]
    by_core = bool((act_all["core"] >= 0).any())
    order, rank = _fastest_first(trace)
    if by_core:
        n_cores = int(trace.meta.get("compute", {}).get("cores", int(act_all["core"].max()) + 1))
        row, names = act["core"].astype(int), [f"core {c}" for c in range(n_cores)]
    else:
        row, names = rank[act["module"]], [trace.meta["labels"][i] for i in order]
    n_rows = len(names) + 1                                                  # + readouts
    ax = ax if ax is not None else _new_axes(figsize=(11, _rows_height(n_rows)))
    colors = np.array([mcolors.to_rgba(c) for c in _module_colors(trace.g)])
    wait_c = colors[act["module"]].copy()
    wait_c[:, 3] = 0.35
    waits = PolyCollection(_rects(act["time"], act["start"], row + 0.12, 0.26), facecolors=wait_c,
                           edgecolors="none", gid="queue wait")
    computes = PolyCollection(_rects(act["start"], act["end"], row - 0.38, 0.46),
                              facecolors=colors[act["module"]], edgecolors="white", linewidths=0.3, gid="compute")
    ax.add_collection(waits)
    ax.add_collection(computes)
    instantaneous = bool(act.shape[0]) and bool((act["end"] == act["start"]).all())
    if instantaneous:                                                        # zero-width bars: show ticks
        ax.scatter(act["start"], row, marker="|", s=120, linewidths=2, c=colors[act["module"]])
    # readouts: input arrival -> readout, misses highlighted
    ro = trace.readouts
    ro = ro[(ro["time"] >= lo) & (ro["time"] < hi)]
    y_ro = len(names)
    hit = ro[~ro["missed"]]
    ax.plot(hit["time"], np.full(hit.shape[0], y_ro), "|", color="0.3", ms=9)
    missed = ro[ro["missed"]]
    misses = ax.plot(missed["time"], np.full(missed.shape[0], y_ro), "x", color=MISS_COLOR, ms=8, mew=2,
                     label=f"deadline miss ({missed.shape[0]})", gid="deadline misses")[0]
    for t in missed["time"]:
        ax.axvspan(t - 0.002 * (hi - lo), t + 0.002 * (hi - lo), color=MISS_COLOR, alpha=0.12, lw=0)
    ax.set_yticks(np.arange(n_rows), names + ["readouts"])
    ax.tick_params(axis="y", labelsize=_label_size(n_rows))
    right = max(hi - pad, float(act["end"].max(initial=lo)))
    ax.set_xlim(lo - pad, right + 0.01 * (right - lo))
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xlabel(_time_label(trace))
    _gantt_legend(ax, trace, act, order, misses if missed.shape[0] else None)
    total_missed = int(trace.readouts["missed"].sum())
    deadline = trace.meta.get("deadline")
    miss_text = (f"{total_missed:,} of {trace.readouts.shape[0]:,} readouts in the run missed the deadline "
                 f"of {_amount(deadline, trace)} (red)" if deadline is not None else "no deadline set")
    what = "per core" if by_core else "per module"
    if instantaneous:
        head = f"Compute timeline {what}: updates are instantaneous (no compute model), one tick each"
    else:
        head = f"Compute timeline {what}: queue wait (pale, below) and compute (solid)"
    if pad:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{head}\n{miss_text}")
    return ax


def _rects(x0, x1, y0, height) -> np.ndarray:
    """(N, 4, 2) rectangles from x0 to x1, bottom y0 (array), height."""
    y0 = np.asarray(y0, dtype=float)
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    return np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1),
                     np.stack([x1, y0 + height], -1), np.stack([x0, y0 + height], -1)], axis=1)


def _gantt_legend(ax, trace, act, order, misses) -> None:
    shown = [i for i in order if (act["module"] == i).any()]
    handles = [Patch(color=_module_colors(trace.g)[i], label=trace.meta["labels"][i]) for i in shown[:12]]
    handles.append(Patch(color="0.6", alpha=0.5, label="queue wait"))
    if misses is not None:
        handles.append(misses)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize="small", frameon=False)


# ------------------------------------------------------------------ cost


def plot_cost(trace: Trace, fig=None, steps=None):
    """Multiply-adds per step (stacked by module) and cumulatively, against the dense RNN.

    The dense RNN is the paper's baseline: a simple RNN of the same size running
    every step (``meta["dense_step_macs"]`` per step and sequence). CW-RNN cost
    is the activations' ``macs`` plus ``meta["readout_macs"]`` per readout,
    both times the batch, binned by the input step in which they happen.

    Parameters
    ----------
    trace : Trace
    fig : matplotlib Figure, optional
        Two axes are added to it (a new figure when omitted).
    steps : int or (float, float), optional
        Window of the per-step panel, as in :func:`plot_activity`.

    Returns
    -------
    (Axes, Axes)
        Per step, cumulative. The cumulative CW-RNN line ends at
        ``summary()["macs"]`` and the dense one at ``summary()["dense_macs"]``.
    """
    _check_trace(trace)
    fig = fig if fig is not None else _new_figure(figsize=(10, 6.5))
    ax_step, ax_cum = fig.subplots(2, 1)
    _cost_per_step(trace, ax_step, steps)
    _cost_cumulative(trace, ax_cum)
    return ax_step, ax_cum


def _step_costs(trace: Trace):
    """Bin edges (one bin per input step, (L+1,)) and costs per bin: (g + 1, L), module rows then readout."""
    times = _input_times(trace)
    edges = np.append(times, times[-1] + _dt(times))
    B = trace.batch
    act, ro = trace.activations, trace.readouts
    L, g = times.size, trace.g
    bin_act = np.clip(np.searchsorted(edges, act["time"], side="right") - 1, 0, L - 1)
    bin_ro = np.clip(np.searchsorted(edges, ro["time"], side="right") - 1, 0, L - 1)
    out = np.zeros((g + 1, L))
    np.add.at(out, (act["module"].astype(int), bin_act), act["macs"].astype(float))
    out[g] = np.bincount(bin_ro, minlength=L)[:L] * float(_meta(trace, "readout_macs")) * B
    return edges, out


def _cost_per_step(trace: Trace, ax, steps=None) -> None:
    edges, cost = _step_costs(trace)                                          # (L+1,), (g+1, L)
    lo, hi, pad = _window(trace, steps)
    keep = (edges[:-1] >= lo) & (edges[:-1] < hi)
    if not keep.any():
        raise ValueError(f"steps: the window [{lo:g}, {hi:g}) holds no input step of this run "
                         f"({edges[0]:g} to {edges[-2]:g})")
    edges_w = np.append(edges[:-1][keep], edges[1:][keep][-1:])
    cost = cost[:, keep]
    n_bins = max(1, int(_width_px(ax)) // 3)
    k = _steps_per_bin(math.ceil(cost.shape[1] / n_bins), trace.meta["periods"])  # steps per bin
    if k > 1:                                                                 # mean per step over k-step bins
        n = math.ceil(cost.shape[1] / k)
        padded = np.zeros((cost.shape[0], n * k))
        padded[:, :cost.shape[1]] = cost
        sizes = np.minimum(k, cost.shape[1] - k * np.arange(n))
        cost = padded.reshape(cost.shape[0], n, k).sum(axis=2) / sizes
        edges_w = np.append(edges_w[:-1][::k], edges_w[-1])
    order, _ = _fastest_first(trace)
    colors = _module_colors(trace.g)
    base = np.zeros(cost.shape[1])
    layers = [(trace.meta["labels"][i], cost[i], colors[i]) for i in order] + [("readout", cost[-1], "0.75")]
    many = trace.g > 12
    for label, values, color in layers:
        ax.stairs(base + values, edges_w - pad, baseline=base, fill=True, color=color,
                  label=label if not many or label == "readout" else "_" + label)
        base = base + values
    dense = float(_meta(trace, "dense_step_macs")) * trace.batch
    ax.axhline(dense, color=DENSE_COLOR, ls="--", lw=1.2, label=f"dense RNN\n({_eng(dense)} per step)")
    ax.set_xlim(lo - pad, hi - pad)
    ax.set_ylim(0, max(dense, base.max(initial=0)) * 1.08)
    ax.yaxis.set_major_formatter(EngFormatter())
    ax.set_ylabel("multiply-adds per step")
    ax.set_xlabel(_time_label(trace))
    per = "per step" if k == 1 else f"mean per step over {k}-step bins"
    ax.set_title(f"Multiply-adds {per}, by module, vs the dense RNN ({_basis(trace)})")
    if not many:
        _side_legend(ax, len(layers) + 1)
    else:                                                                     # a colour scale instead of g entries
        ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
        scale = matplotlib.cm.ScalarMappable(mcolors.Normalize(-0.5, trace.g - 0.5),
                                             mcolors.ListedColormap([colors[i] for i in order]))
        bar = ax.figure.colorbar(scale, ax=ax, pad=0.01, fraction=0.03)
        ticks = np.unique(np.linspace(0, trace.g - 1, 6).round().astype(int))
        bar.set_ticks(ticks, labels=[trace.meta["labels"][order[t]] for t in ticks], fontsize="x-small")
        bar.set_label("module (fastest at the bottom of the stack)", fontsize="small")


def _cost_cumulative(trace: Trace, ax, name: str | None = None, color="C0", dense: bool = True,
                     dense_name: str | None = None, dense_ls="--", lw: float = 2.0):
    edges, cost = _step_costs(trace)
    total = np.concatenate([[0.0], np.cumsum(cost.sum(axis=0))])             # (L+1,)
    dense_total = float(_meta(trace, "dense_step_macs")) * trace.batch * np.arange(edges.size)
    pad = _pad(trace)
    speedup = dense_total[-1] / total[-1] if total[-1] else math.inf
    label = f"{name + ': ' if name else ''}CW-RNN ({_eng(total[-1])}, {speedup:.2f}x fewer)"
    line = ax.plot(edges - pad, total, color=color, lw=lw, label=label)[0]
    if dense:
        ax.plot(edges - pad, dense_total, color=DENSE_COLOR, ls=dense_ls, lw=1.2,
                label=f"{dense_name + ': ' if dense_name else ''}dense RNN ({_eng(dense_total[-1])})")
    ax.set_xlim(edges[0] - pad, edges[-1] - pad)
    ax.relim()
    ax.autoscale(axis="y")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(EngFormatter())
    ax.set_ylabel("cumulative multiply-adds")
    ax.set_xlabel(_time_label(trace))
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(f"Cumulative multiply-adds vs the dense RNN ({_basis(trace)})")
    return line


# ------------------------------------------------------------------ latency


def plot_latency(trace: Trace, fig=None):
    """Readout latency distribution: histogram and CDF, p50 and p99 marked (NaN latencies ignored).

    Latency is the time from an input's arrival to the readout that reflects it
    (``trace.readouts["latency"]``); readouts before any module ran have none (NaN).

    Returns
    -------
    (Axes, Axes)
        Histogram, CDF. Each has vertical lines at p50 and p99 (``np.percentile``
        of the finite latencies, as in ``summary()``; their ``gid`` is ``"p50"`` /
        ``"p99"``) and, when the run had one, the deadline with the region that
        misses it shaded.
    """
    _check_trace(trace)
    fig = fig if fig is not None else _new_figure(figsize=(10, 4))
    ax_hist, ax_cdf = fig.subplots(1, 2)
    lat = _latencies(trace)
    deadline = trace.meta.get("deadline")
    if lat.size:
        bins = _latency_bins(lat)
        integral = not isinstance(bins, int)
        ax_hist.hist(lat, bins=bins, color="C0", rwidth=0.7 if integral else 0.95)
        ax_hist.set_ylabel("readouts")
        xlim = _latency_xlim(lat, deadline, integral)
        _latency_cdf(trace, ax_cdf, xlim=xlim)
        for ax in (ax_hist, ax_cdf):
            ax.set_xlim(*xlim)
            _mark_percentiles(ax, lat, deadline)
        ax_hist.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_hist.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        fig.legend(handles=ax_hist.get_legend_handles_labels()[0], loc="outside lower center",
                   ncols=3, fontsize="small", frameon=False)
        if integral:
            ax_hist.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax_cdf.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        for ax in (ax_hist, ax_cdf):
            ax.text(0.5, 0.5, "no finite latency recorded", ha="center", va="center", transform=ax.transAxes)
    for ax in (ax_hist, ax_cdf):
        ax.set_xlabel(f"latency ({_time_unit(trace)}s from input arrival to the output that reflects it)",
                      fontsize="small")
    ax_hist.set_title("Histogram")
    ax_cdf.set_title("Cumulative distribution")
    fig.suptitle(_latency_headline(trace, lat))
    return ax_hist, ax_cdf


def _latency_cdf(trace: Trace, ax, name: str | None = None, color="C0", xlim=None):
    lat = np.sort(_latencies(trace))
    if not lat.size:
        return None
    lo, hi = xlim if xlim is not None else (lat[0], lat[-1])
    frac = np.arange(1, lat.size + 1) / lat.size
    x = np.concatenate([[min(lo, lat[0])], lat, [max(hi, lat[-1])]])
    y = np.concatenate([[0.0], frac, [1.0]])
    line = ax.step(x, y, where="post", color=color, lw=2, label=name)[0]
    ax.set_ylim(0, 1.03)
    ax.set_ylabel("fraction of readouts")
    return line


def _mark_percentiles(ax, lat, deadline) -> None:
    p50, p99 = np.percentile(lat, [50, 99])
    if deadline is not None:
        ax.axvspan(deadline, ax.get_xlim()[1], color=MISS_COLOR, alpha=0.08, lw=0)
        ax.axvline(deadline, color=MISS_COLOR, lw=1.5, label=f"deadline = {deadline:g} (shaded: a miss)")
    ax.axvline(p50, color="C2", ls="--", lw=2, label=f"p50 = {p50:.3g}", gid="p50")
    ax.axvline(p99, color="C1", ls=":", lw=2.5, label=f"p99 = {p99:.3g}", gid="p99")


def _latencies(trace: Trace) -> np.ndarray:
    lat = trace.readouts["latency"]
    return lat[np.isfinite(lat)]


def _latency_bins(lat: np.ndarray):
    """Unit bins centred on integers when every latency is a whole number of steps, else a bin count."""
    lo, hi = float(lat.min()), float(lat.max())
    if np.all(lat == np.round(lat)) and hi - lo <= 60:
        return np.arange(lo - 0.5, hi + 1.5)
    return int(np.clip(np.sqrt(lat.size), 10, 60))


def _latency_xlim(lat: np.ndarray, deadline, integral: bool):
    lo = min(0.0, float(lat.min()))
    hi = max(float(lat.max()), deadline if deadline is not None else -math.inf)
    if integral:
        hi = max(hi, lo + 2.0)                                                # integer ticks need room for a few
    span = (hi - lo) or 1.0
    extra = 0.5 if integral else 0.0
    return lo - extra - 0.03 * span, hi + extra + 0.08 * span


def _latency_headline(trace: Trace, lat: np.ndarray) -> str:
    text = f"Readout latency over {lat.size:,} readouts"
    if trace.meta.get("deadline") is not None:
        text += (f"; {int(trace.readouts['missed'].sum()):,} missed the deadline of "
                 f"{_amount(trace.meta['deadline'], trace)}")
    return text


# ------------------------------------------------------------------ state and connectivity


def plot_state(h, module_sizes=None, labels=None, ax=None, *, trace: Trace | None = None, start: int = 0,
               sequence: int = 0):
    """Hidden state over time as a heatmap: units on y (modules delimited), steps on x.

    Parameters
    ----------
    h : array_like, shape (L, n) or (B, L, n)
        ``Result.h``: the state after each step.
    module_sizes : sequence of int, optional
        Units per module, in the state's order; draws module boundaries. Taken
        from ``trace.meta`` when a trace is given.
    labels : sequence of str, optional
        One per module (default ``M1``, ``M2``, ...).
    ax : matplotlib Axes, optional
    trace : Trace, optional
        Supplies ``module_sizes``, ``labels`` and ``start``.
    start : int
        Number of the first step (x of column 0).
    sequence : int
        Which sequence of a batch to show.

    Returns
    -------
    matplotlib Axes
        Its image holds ``h`` transposed, shape (n, L); for runs longer than the axes has
        pixel columns, every k-th step (said in the title).
    """
    h = np.asarray(h, dtype=float)
    if h.ndim == 3:
        if not 0 <= sequence < h.shape[0]:
            raise ValueError(f"sequence: got {sequence}, expected 0 <= sequence < {h.shape[0]} (the batch size)")
        h = h[sequence]
    if h.ndim != 2 or h.size == 0:
        raise ValueError(f"h: got shape {np.shape(h)}, expected (L, n) or (B, L, n) with L, n >= 1")
    if trace is not None:
        module_sizes = module_sizes if module_sizes is not None else _meta(trace, "module_sizes")
        labels = labels if labels is not None else trace.meta.get("labels")
        start = int(trace.meta.get("start", start))
    L, n = h.shape
    sizes = [n] if module_sizes is None else [int(k) for k in module_sizes]
    if sum(sizes) != n or min(sizes) < 1:
        raise ValueError(f"module_sizes: got {sizes} (sum {sum(sizes)}), expected positive sizes summing to n={n}")
    labels = list(labels) if labels is not None else [f"M{i + 1}" for i in range(len(sizes))]
    if len(labels) != len(sizes):
        raise ValueError(f"labels: got {len(labels)}, expected one per module ({len(sizes)})")
    ax = ax if ax is not None else _new_axes(figsize=(10, 5))
    k = max(1, math.ceil(L / max(1, int(_width_px(ax)))))                    # steps per column
    shown = h[::k].T                                                          # (n, ceil(L / k))
    v = float(np.nanmax(np.abs(h))) or 1.0
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="RdBu_r", vmin=-v, vmax=v,
                      extent=(start - 0.5, start - 0.5 + shown.shape[1] * k, n - 0.5, -0.5))
    bounds = np.cumsum(sizes)[:-1] - 0.5
    for b in bounds:
        ax.axhline(b, color="black", lw=0.8)
    centres = np.cumsum(sizes) - np.asarray(sizes) / 2 - 0.5
    ax.set_yticks(centres, labels)
    ax.tick_params(axis="y", labelsize=_label_size(len(sizes)), length=0)
    ax.set_xlim(start - 0.5, start + L - 0.5)
    ax.set_xlabel("step")
    ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04).set_label("h (unit value)")
    how = "" if k == 1 else f" (every {k}th step shown)"
    ax.set_title(f"Hidden state h over {L:,} steps, {n} units in {len(sizes)} modules{how}")
    return ax


def plot_connectivity(block_mask, mask=None, labels=None, module_sizes=None, fig=None):
    """Which modules feed which: ``block_mask[i, j]`` = module ``j`` feeds module ``i``; optionally
    the unit-level ``W_rec`` mask beside it.

    Parameters
    ----------
    block_mask : array_like of bool, shape (g, g)
    mask : array_like of bool, shape (n, n), optional
    labels : sequence of str, optional
        One per module (default ``M1``, ...).
    module_sizes : sequence of int, optional
        Draws module boundaries on the unit mask.
    fig : matplotlib Figure, optional

    Returns
    -------
    list of Axes
        ``[block axes]`` or ``[block axes, unit axes]``; each image holds its mask.
    """
    block = np.asarray(block_mask).astype(bool)
    if block.ndim != 2 or block.shape[0] != block.shape[1] or block.size == 0:
        raise ValueError(f"block_mask: got shape {np.shape(block_mask)}, expected a square (g, g) array")
    g = block.shape[0]
    labels = list(labels) if labels is not None else [f"M{i + 1}" for i in range(g)]
    if len(labels) != g:
        raise ValueError(f"labels: got {len(labels)}, expected one per module ({g})")
    fig = fig if fig is not None else _new_figure(figsize=(11 if mask is not None else 5.8, 5.2))
    axes = list(np.atleast_1d(fig.subplots(1, 2 if mask is not None else 1)))
    cmap = mcolors.ListedColormap(["#f2f2f2", "#1f4e79"])
    ax = axes[0]
    ax.imshow(block, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(np.arange(g), labels, rotation=45 if g > 4 else 0, ha="right" if g > 4 else "center")
    ax.set_yticks(np.arange(g), labels)
    ax.tick_params(labelsize=_label_size(g))
    _thin_labels(ax.get_xticklabels(), 30)
    _thin_labels(ax.get_yticklabels(), 30)
    if g <= 30:                                                              # cell borders
        ax.set_xticks(np.arange(g + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(g + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", lw=1.5 if g <= 12 else 0.6)
        ax.tick_params(which="minor", length=0)
    ax.set_xlabel("sender j (module read)")
    ax.set_ylabel("receiver i (module updated)")
    ax.set_title("Module connectivity\n(dark: module j feeds module i)")
    if mask is not None:
        unit = np.asarray(mask).astype(bool)
        if unit.ndim != 2 or unit.shape[0] != unit.shape[1]:
            raise ValueError(f"mask: got shape {np.shape(mask)}, expected a square (n, n) array")
        ax = axes[1]
        ax.imshow(unit, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if module_sizes is not None:
            sizes = [int(k) for k in module_sizes]
            if sum(sizes) != unit.shape[0] or len(sizes) != g:
                raise ValueError(f"module_sizes: got {sizes}, expected {g} sizes summing to n={unit.shape[0]}")
            for b in (np.cumsum(sizes)[:-1] - 0.5 if g <= 16 else []):      # module borders
                ax.axhline(b, color="#e07b00", lw=0.8)
                ax.axvline(b, color="#e07b00", lw=0.8)
            centres = np.cumsum(sizes) - np.asarray(sizes) / 2 - 0.5
            ax.set_xticks(centres, labels, rotation=45 if g > 4 else 0, ha="right" if g > 4 else "center")
            ax.set_yticks(centres, labels)
            ax.tick_params(labelsize=_label_size(g), length=0)
            _thin_labels(ax.get_xticklabels(), 30)
            _thin_labels(ax.get_yticklabels(), 30)
        ax.set_xlabel("unit read (column of W_rec)")
        ax.set_ylabel("unit updated (row of W_rec)")
        ax.set_title(f"Unit-level W_rec mask, {unit.shape[0]}x{unit.shape[1]}\n"
                     f"({int(unit.sum()):,} of {unit.size:,} weights may be non-zero)")
    return axes


# ------------------------------------------------------------------ comparison


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
    name_a, name_b = names
    has_latency = any(t.meta.get("latency_model") and _latencies(t).size for t in (trace_a, trace_b))
    rows = 3 if has_latency else 2
    height = max(_rows_height(trace_a.g), _rows_height(trace_b.g)) * 0.8
    fig = fig if fig is not None else _new_figure(figsize=(13, height + 3.2 * (rows - 1)))
    grid = fig.add_gridspec(rows, 2, height_ratios=[height] + [3.2] * (rows - 1))
    axes = {"activity_a": fig.add_subplot(grid[0, 0]), "activity_b": fig.add_subplot(grid[0, 1])}
    for key, trace, name in (("activity_a", trace_a, name_a), ("activity_b", trace_b, name_b)):
        plot_activity(trace, ax=axes[key], steps=steps)
        summary = f"{len(trace):,} activations, {_speedup(trace):.2f}x fewer MACs than dense"
        axes[key].set_title(f"{name}: activity ({summary})", fontsize="medium")
    axes["cost"] = fig.add_subplot(grid[1, :])
    differ = _dense_differs(trace_a, trace_b)
    _cost_cumulative(trace_a, axes["cost"], name_a, "C0", dense_name=name_a if differ else None, lw=3.5)
    _cost_cumulative(trace_b, axes["cost"], name_b, "C3", dense=differ, dense_name=name_b, dense_ls=":", lw=1.8)
    axes["cost"].set_xlim(*_union(_time_range(trace_a), _time_range(trace_b)))
    axes["cost"].set_title(f"Cumulative multiply-adds: {name_a} vs {name_b} vs the dense RNN")
    if has_latency:
        ax = axes["latency"] = fig.add_subplot(grid[2, :])
        both = np.concatenate([_latencies(trace_a), _latencies(trace_b)])
        xlim = _latency_xlim(both, None, integral=bool(np.all(both == np.round(both))))
        for trace, name, color, lw in ((trace_a, name_a, "C0", 3.5), (trace_b, name_b, "C3", 1.8)):
            lat = _latencies(trace)
            if lat.size:
                p50, p99 = np.percentile(lat, [50, 99])
                _latency_cdf(trace, ax, f"{name}: p50 = {p50:.3g}, p99 = {p99:.3g}", color, xlim=xlim).set_lw(lw)
                ax.axvline(p50, color=color, ls=":", lw=1.2)
                ax.axvline(p99, color=color, ls="--", lw=1.2)
        ax.set_xlim(*xlim)
        ax.set_xlabel(f"latency ({_time_unit(trace_a)}s from input arrival to the output that reflects it)")
        ax.legend(fontsize="small", loc="lower right")
        ax.set_title("Readout latency CDF (dotted: p50, dashed: p99)")
    fig.suptitle(f"Schedule comparison: {name_a} vs {name_b}")
    return axes


def _speedup(trace: Trace) -> float:
    return trace.summary()["speedup_vs_dense"]


def _dense_differs(a: Trace, b: Trace) -> bool:
    keys = ("dense_step_macs", "batch", "n_steps", "start")
    return any(a.meta.get(k) != b.meta.get(k) for k in keys)


def _union(r1, r2):
    return min(r1[0], r2[0]), max(r1[1], r2[1])


# ------------------------------------------------------------------ saving


#: The figures a saved trace can be drawn as (``clocksim plot --kind``): kind -> f(trace, steps) -> Figure.
KINDS = {
    "activity": lambda trace, steps=None: plot_activity(trace, steps=steps).figure,
    "gantt": lambda trace, steps=None: plot_gantt(trace, steps=steps).figure,
    "cost": lambda trace, steps=None: plot_cost(trace, steps=steps)[0].figure,
    "latency": lambda trace, steps=None: plot_latency(trace)[0].figure,
}


def save_figure(fig, path, dpi: int | None = None) -> None:
    """Save ``fig`` to ``path`` atomically (temporary sibling, then rename); the format follows the suffix."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))


def save_plots(trace: Trace, directory, kinds=None, dpi: int = 120) -> list[Path]:
    """Draw ``trace`` as ``<kind>.png`` files in ``directory`` (each written atomically, figures closed).

    Parameters
    ----------
    trace : Trace
    directory : path
        An existing directory.
    kinds : sequence of str, optional
        Keys of :data:`KINDS`. Default: activity and cost, plus gantt and latency
        when the run modelled timing (``meta["latency_model"]``).

    Returns
    -------
    list of Path
        The files written, in ``kinds`` order.
    """
    _check_trace(trace)
    if kinds is None:
        kinds = ["activity", "cost"] + (["gantt", "latency"] if trace.meta.get("latency_model") else [])
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"kinds: got {unknown}, expected some of {sorted(KINDS)}")
    import matplotlib.pyplot as plt
    written = []
    for kind in kinds:
        fig = KINDS[kind](trace)
        try:
            save_figure(fig, Path(directory) / f"{kind}.png", dpi=dpi)
        finally:
            plt.close(fig)
        written.append(Path(directory) / f"{kind}.png")
    return written


# ------------------------------------------------------------------ helpers


def _new_figure(figsize):
    import matplotlib.pyplot as plt  # imported on first use: `import clocksim` stays light
    return plt.figure(figsize=figsize, layout="constrained")


def _new_axes(figsize):
    return _new_figure(figsize).add_subplot()


def _check_trace(trace, name: str = "trace") -> None:
    if not isinstance(trace, Trace):
        raise TypeError(f"{name}: got {type(trace).__name__}, expected a clocksim Trace (res.trace or Trace.load)")
    for key in ("labels", "periods", "module_sizes", "n_steps"):
        _meta(trace, key, name)


def _meta(trace: Trace, key: str, name: str = "trace"):
    try:
        return trace.meta[key]
    except KeyError:
        raise ValueError(f"{name}: meta has no {key!r}, expected a trace made by clocksim.simulate") from None


def _fastest_first(trace: Trace):
    """Module indices fastest first (stable in the model's order), and each module's row."""
    order = np.argsort(np.asarray(trace.meta["periods"], dtype=float), kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return order, rank


def _module_axis(ax, trace: Trace, order) -> None:
    labels = [trace.meta["labels"][i] for i in order]
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.tick_params(axis="y", labelsize=_label_size(len(labels)), length=0)
    _thin_labels(ax.get_yticklabels(), 40)


def _thin_labels(texts, most: int) -> None:
    """Show every k-th tick label so that at most about ``most`` remain (the data keeps every tick)."""
    if len(texts) > most:
        k = math.ceil(len(texts) / most)
        for i, text in enumerate(texts):
            text.set_visible(i % k == 0)


def _module_colors(g: int) -> list:
    if g <= 10:
        return [f"C{i}" for i in range(g)]
    cmap = matplotlib.colormaps["tab20" if g <= 20 else "viridis"]
    return [cmap(i / max(g - 1, 1)) if g > 20 else cmap(i) for i in range(g)]


def _cmap(name: str, bad: str):
    return matplotlib.colormaps[name].with_extremes(bad=bad)


def _input_times(trace: Trace) -> np.ndarray:
    """Arrival time of each input sample: the readout times when there is one per step, else ``start + s``."""
    L = int(trace.meta["n_steps"])
    if trace.readouts.shape[0] == L and L > 0:
        return trace.readouts["time"].astype(float)
    return float(trace.meta.get("start", 0)) + np.arange(L, dtype=float)


def _dt(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if times.size > 1 else 1.0


def _is_synchronous(trace: Trace) -> bool:
    act = trace.activations
    return bool(np.all(act["time"] == np.round(act["time"])))


def _pad(trace: Trace) -> float:
    """Half a step for synchronous runs (steps drawn centred), 0 for asynchronous ones."""
    return 0.5 * _dt(_input_times(trace)) if _is_synchronous(trace) else 0.0


def _time_range(trace: Trace):
    times = _input_times(trace)
    pad = _pad(trace)
    return times[0] - pad, times[-1] + _dt(times) - pad


def _window(trace: Trace, steps):
    """Half-open time window ``[lo, hi)`` selected by ``steps``, and the drawing offset ``pad``."""
    times = _input_times(trace)
    pad = _pad(trace)
    if steps is None:
        return times[0], times[-1] + _dt(times), pad
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        if steps < 1:
            raise ValueError(f"steps: got {steps}, expected a number of steps >= 1 or a (t0, t1) window")
        return times[0], (times[steps] if steps < times.size else times[-1] + _dt(times)), pad
    try:
        lo, hi = (float(v) for v in steps)
    except (TypeError, ValueError):
        raise ValueError(f"steps: got {steps!r}, expected a number of steps or a (t0, t1) window") from None
    if not hi > lo:
        raise ValueError(f"steps: got window ({lo:g}, {hi:g}), expected t0 < t1")
    return lo, hi, pad


def _bins(lo: float, hi: float, n_max: int, integral: bool, periods=()):
    """Bin edges covering [lo, hi) with at most about n_max bins; whole steps per bin when integral."""
    if integral:
        k = _steps_per_bin(math.ceil((hi - lo) / n_max), periods)
        edges = lo + k * np.arange(math.ceil((hi - lo) / k) + 1)
        return edges, (f"{k}-step bin" if k > 1 else "step")
    width = _nice((hi - lo) / n_max)
    edges = lo + width * np.arange(math.ceil((hi - lo) / width) + 1)
    return edges, f"{width:g}-unit bin"


def _steps_per_bin(need: int, periods) -> int:
    """At least ``need`` steps per bin, chosen so that periodic modules fire equally often in every
    bin when possible (a divisor or multiple of the periods' least common multiple), else a round number."""
    need = max(1, int(need))
    if need == 1:
        return 1
    p = np.asarray(periods, dtype=float)
    if p.size and np.all(p == np.round(p)) and np.all(p >= 1):
        lcm = math.lcm(*(int(v) for v in p))
        if lcm <= need:
            return math.ceil(need / lcm) * lcm
        if lcm <= 1_000_000:
            return next(d for d in range(need, lcm + 1) if lcm % d == 0)
    return int(_nice(need))


def _nice(x: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= x."""
    mag = 10.0 ** math.floor(math.log10(x))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= x * (1 - 1e-12))


def _width_px(ax) -> float:
    return max(ax.get_window_extent().width, 50.0)


def _rows_height(rows: int) -> float:
    return float(np.clip(0.32 * rows + 1.8, 2.6, 12.0))


def _label_size(rows: int) -> float:
    return float(np.clip(12 - rows / 6, 6, 10))


def _time_unit(trace: Trace) -> str:
    return "step" if trace.meta.get("time_unit", "step") == "step" else "time unit"


def _amount(value: float, trace: Trace) -> str:
    """``"1 step"``, ``"1.5 steps"``, ``"2 time units"``."""
    return f"{value:g} {_time_unit(trace)}{'' if value == 1 else 's'}"


def _time_label(trace: Trace) -> str:
    if trace.meta.get("time_unit", "step") != "step":
        return "model time"
    return "step" if _is_synchronous(trace) else "model time (steps)"


def _span_text(trace: Trace, lo: float, hi: float, pad: float) -> str:
    if trace.meta.get("time_unit", "step") == "step" and pad:
        return f"{round(hi - lo):,} steps"
    return f"t = {lo:.4g} to {hi:.4g}"


def _basis(trace: Trace) -> str:
    return f"batch of {trace.batch}" if trace.batch > 1 else "one sequence"


def _eng(value: float) -> str:
    return EngFormatter(places=3 if abs(value) >= 1000 else 0)(value)


def _side_legend(ax, n: int) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize="small", frameon=False,
              ncols=1 if n <= 14 else 2)

