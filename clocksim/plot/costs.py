"""Cost per step and cumulative cost against the dense RNN; end-to-end latency."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.ticker import EngFormatter, MaxNLocator, StrMethodFormatter

from ..errors import InvalidValueError
from ..trace import Trace
from ._style import (
    DENSE_COLOR,
    MISS_COLOR,
    _amount,
    _basis,
    _check_trace,
    _dt,
    _eng,
    _fastest_first,
    _input_times,
    _meta,
    _module_colors,
    _new_figure,
    _pad,
    _side_legend,
    _steps_per_bin,
    _time_label,
    _time_unit,
    _width_px,
    _window,
)


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
        raise InvalidValueError(f"the window [{lo:g}, {hi:g}) holds no input step of this run "
                         f"({edges[0]:g} to {edges[-2]:g})", key="steps")
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
