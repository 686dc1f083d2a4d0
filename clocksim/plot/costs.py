"""Cost per step and cumulative cost against the dense RNN; end-to-end latency."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from . import _format as fmt
from ..errors import InvalidValueError
from ..trace.core import Trace
from ._style import (
    _seconds_per_unit,
    DENSE_COLOR,
    MISS_COLOR,
    _amount,
    _basis,
    _check_axes,
    _check_figure,
    _check_trace,
    _dt,
    _eng,
    _fastest_first,
    _input_times,
    _meta,
    _module_colors,
    _new_figure,
    _pad,
    _narrow,
    _side_legend,
    _under_legend,
    _steps_per_bin,
    _time_label,
    _time_unit,
    _width_px,
    _window,
    sized,
)


@sized
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
    _check_figure(fig)
    fig = fig if fig is not None else _new_figure(figsize=(10, 6.5))
    ax_step, ax_cum = fig.subplots(2, 1)
    _cost_per_step(trace, ax_step, steps)
    _cost_cumulative(trace, ax_cum)
    return ax_step, ax_cum


def _step_costs(trace: Trace):
    """Bin edges (one bin per input step, (L+1,)) and costs per bin: (g + 1, L), module rows then readout."""
    times = _input_times(trace)
    edges = np.append(times, times[-1] + _dt(times))
    out = trace.binned_macs(edges)
    return edges, out.astype(float)


def _cost_per_step(trace: Trace, ax, steps=None) -> None:
    edges, cost = _step_costs(trace)                                          # (L+1,), (g+1, L)
    lo, hi, pad = _window(trace, steps)
    keep = (edges[:-1] >= lo) & (edges[:-1] < hi)
    if not keep.any():
        raise InvalidValueError(f"the window [{lo:g}, {hi:g}) holds no input step of this run "
                         f"({edges[0]:g} to {edges[-2]:g})", key="steps")
    edges_w = np.append(edges[:-1][keep], edges[1:][keep][-1:])
    cost = cost[:, keep]
    groups = _module_groups(trace)
    n_bins = max(1, int(_width_px(ax)) // 3)
    if len(groups) < trace.g:                                                 # grouped: smooth, readable layers
        n_bins = min(n_bins, GROUPED_BINS)
    k = _steps_per_bin(math.ceil(cost.shape[1] / n_bins), trace.meta["periods"])  # steps per bin
    if k > 1:                                                                 # mean per step over k-step bins
        n = math.ceil(cost.shape[1] / k)
        padded = np.zeros((cost.shape[0], n * k))
        padded[:, :cost.shape[1]] = cost
        sizes = np.minimum(k, cost.shape[1] - k * np.arange(n))
        cost = padded.reshape(cost.shape[0], n, k).sum(axis=2) / sizes
        edges_w = np.append(edges_w[:-1][::k], edges_w[-1])
    colors = _module_colors(len(groups))
    base = np.zeros(cost.shape[1])
    layers = [(label, cost[members].sum(axis=0), colors[i]) for i, (label, members) in enumerate(groups)]
    layers.append(("readout", cost[-1], "0.75"))
    for label, values, color in layers:
        ax.stairs(base + values, edges_w - pad, baseline=base, fill=True, color=color, label=label)
        base = base + values
    dense = float(_meta(trace, "dense_step_macs")) * trace.batch
    ax.axhline(dense, color=DENSE_COLOR, ls="--", lw=1.2, label=f"dense RNN\n({_eng(dense)} per step)")
    ax.set_xlim(lo - pad, hi - pad)
    ax.set_ylim(0, max(dense, base.max(initial=0)) * 1.08)
    ax.yaxis.set_major_formatter(fmt.tick_formatter())
    ax.set_ylabel("multiply-adds per step")
    ax.set_xlabel(_time_label(trace))
    per = "" if k == 1 else f" (mean over {k}-step bins)"
    by = "by module" if len(groups) == trace.g else "by module group"
    ax.set_title(f"Multiply-adds per step{per} {by} vs the dense RNN ({_basis(trace)})")
    _side_legend(ax, len(layers) + 1)


#: More modules than this are stacked in at most ``COST_GROUPS`` groups of similar periods (thin layers
#: in many colours cannot be read).
COST_MODULES_SHOWN = 6
COST_GROUPS = 4
#: Grouped per-step cost is averaged over at most this many bins.
GROUPED_BINS = 64


def _module_groups(trace: Trace) -> list[tuple[str, list[int]]]:
    """Layers of the per-step cost: each module fastest first, or, past :data:`COST_MODULES_SHOWN` modules,
    consecutive groups whose periods fall in the same of ``COST_GROUPS`` equal slices of log(period)."""
    order, _ = _fastest_first(trace)
    labels = trace.meta["labels"]
    if trace.g <= COST_MODULES_SHOWN:
        return [(labels[i], [int(i)]) for i in order]
    logp = np.log(np.maximum(np.asarray(trace.meta["periods"], dtype=float), 1e-12))[order]
    span = max(float(logp[-1] - logp[0]), 1e-12)
    slot = np.minimum((COST_GROUPS * (logp - logp[0]) / span).astype(int), COST_GROUPS - 1)
    groups = []
    for k in np.unique(slot):
        members = [int(i) for i in order[slot == k]]
        first, last = labels[members[0]].split(" ", 1), labels[members[-1]].split(" ", 1)
        name = (labels[members[0]] if len(members) == 1 else
                f"{first[0]}-{last[0]} ({first[-1]} to {last[-1].removeprefix('T=')})")
        groups.append((name, members))
    return groups


def _cost_cumulative(trace: Trace, ax, name: str | None = None, color="C0", dense: bool = True,
                     dense_name: str | None = None, dense_ls="--", lw: float = 2.0):
    edges, cost = _step_costs(trace)
    total = np.concatenate([[0.0], np.cumsum(cost.sum(axis=0))])             # (L+1,)
    dense_total = float(_meta(trace, "dense_step_macs")) * trace.batch * np.arange(edges.size)
    pad = _pad(trace)
    speedup = dense_total[-1] / total[-1] if total[-1] else math.inf
    label = f"{name + ': ' if name else ''}CW-RNN ({_eng(total[-1])}, {fmt.value(speedup)}x fewer)"
    line = ax.plot(edges - pad, total, color=color, lw=lw, label=label)[0]
    if dense:
        ax.plot(edges - pad, dense_total, color=DENSE_COLOR, ls=dense_ls, lw=1.2,
                label=f"{dense_name + ': ' if dense_name else ''}dense RNN ({_eng(dense_total[-1])})")
    ax.set_xlim(edges[0] - pad, edges[-1] - pad)
    ax.relim()
    ax.autoscale(axis="y")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(fmt.tick_formatter())
    ax.set_ylabel("cumulative multiply-adds")
    ax.set_xlabel(_time_label(trace))
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(f"Cumulative multiply-adds vs the dense RNN ({_basis(trace)})")
    return line




@sized
def plot_latency(trace: Trace, fig=None, steps=None):
    """Latency distribution: output-complete latency and reaction, histogram and CDF; deadline and misses.

    ``latency`` (``trace.readouts["latency"]``) is output-complete: from an input's arrival until
    every activation that latched it has published (and the readout job after them has finished);
    ``reaction`` the first published state that reflects it (DESIGN section 10). Both are drawn in
    full (the axis covers the largest of either and the deadline, so no bar hides past it), the
    deadline as a vertical line, p50 and p99 of the latency marked, the misses counted in the title.
    An input no module ever read (*dropped*) has none (NaN): the percentiles are over the inputs
    read, as in ``summary()``, while the CDF is over all inputs, so it levels off below 1 at the
    fraction read. Times are in seconds when the run set ``step``. A run without a timing model
    (``meta["latency_model"]`` false) has no latency to show and is refused.

    Parameters
    ----------
    trace : Trace
    fig : matplotlib Figure, optional
    steps : int or (float, float), optional
        Only the readouts in this window, as in :func:`plot_activity`; default the whole run.

    Returns
    -------
    (Axes, Axes)
        Histogram, CDF. The histogram's first container holds the latency bars, its second the
        reaction's; each axes has vertical lines at p50 and p99 of the latency (``gid`` ``"p50"`` /
        ``"p99"``) and, when the run had one, the deadline (``gid`` ``"deadline"``).
    """
    _check_trace(trace)
    _check_figure(fig)
    if not trace.meta.get("latency_model"):
        raise InvalidValueError("the run had no timing model (no compute model, link latency or deadline), "
                                "so every output reflects its input at once and there is no latency to plot; "
                                "run with engine.compute, engine.latency or engine.deadline set", key="trace")
    lo, hi, _ = _window(trace, steps)
    whole = steps is None
    factor, unit = _seconds_per_unit(trace)
    if unit == "s" and np.nanmax(np.append(trace.readouts["latency"], 0.0)) * factor < 1.0:
        factor, unit = factor * 1e3, "ms"                                     # short latencies read in ms
    lat = _latencies(trace, None if whole else (lo, hi)) * factor
    rea = _latencies(trace, None if whole else (lo, hi), "reaction") * factor
    fig = fig if fig is not None else _new_figure(figsize=(10, 4.2))
    ax_hist, ax_cdf = fig.subplots(1, 2)
    deadline = trace.meta.get("deadline")
    deadline = None if deadline is None else deadline * factor
    if lat.size:
        _latency_panels(fig, ax_hist, ax_cdf, trace, lat, rea, deadline, factor, None if whole else (lo, hi))
    else:
        for ax in (ax_hist, ax_cdf):
            ax.text(0.5, 0.5, "no finite latency recorded", ha="center", va="center", transform=ax.transAxes)
    for ax in (ax_hist, ax_cdf):
        ax.set_xlabel(f"{unit} from input arrival to the output (complete: bars; first: outline)", fontsize="small")
    ax_hist.set_title("Histogram")
    ax_cdf.set_title("Cumulative distribution")
    fig.suptitle(_latency_headline(trace, lat, None if whole else (lo, hi)))
    return ax_hist, ax_cdf


def _latency_panels(fig, ax_hist, ax_cdf, trace: Trace, lat: np.ndarray, rea: np.ndarray, deadline, factor: float,
                    window) -> None:
    """Histogram and CDF of the latency and the reaction (``lat``, ``rea``: finite, in display units), their
    percentiles and the deadline, and the figure's legend; ``window`` the readouts' (lo, hi) or None (all)."""
    both = np.concatenate([lat, rea])
    bins = _latency_bins(both) if factor == 1.0 else int(np.clip(np.sqrt(lat.size), 10, 60))
    integral = not isinstance(bins, int)
    if not integral:
        top = max(float(both.max()), deadline if deadline is not None else -math.inf)
        bins = np.linspace(min(0.0, float(both.min())), top * 1.0001 + 1e-12, bins + 1)
    ax_hist.hist(lat, bins=bins, color="C0", rwidth=0.7 if integral else 0.95, label="output-complete latency")
    ax_hist.hist(rea, bins=bins, histtype="step", color="0.25", lw=1.5, label="reaction (first output)")
    ax_hist.set_ylabel("readouts")
    xlim = _latency_xlim(both, deadline, integral)
    ro = trace.readouts
    total = None if window is None else int(((ro["time"] >= window[0]) & (ro["time"] < window[1])).sum())
    _latency_cdf(trace, ax_cdf, name="latency", xlim=xlim, lat=lat, total=total)
    _latency_cdf(trace, ax_cdf, name="reaction", color="0.25", xlim=xlim, lat=rea, total=total, dropped=False)
    for ax in (ax_hist, ax_cdf):
        ax.set_xlim(*xlim)
        _mark_percentiles(ax, lat, deadline)
    ax_hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_hist.yaxis.set_major_formatter(fmt.tick_formatter())
    handles = ax_hist.get_legend_handles_labels()[0] + [h for h, lbl in zip(*ax_cdf.get_legend_handles_labels())
                                                        if "dropped" in lbl]
    ncols = 3 if fig.get_figwidth() >= 9 else 1            # a print-sized figure stacks the entries
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, fontsize="small", frameon=False)
    if integral:
        ax_hist.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_cdf.xaxis.set_major_locator(MaxNLocator(integer=True))


def _latency_cdf(trace: Trace, ax, name: str | None = None, color="C0", xlim=None, lat=None, total=None,
                 dropped: bool = True):
    """The CDF of the latency over *all* inputs (``total``, default the run's): it ends at the fraction read."""
    lat = np.sort(_latencies(trace) if lat is None else lat)
    if not lat.size:
        return None
    total = trace.readouts.shape[0] if total is None else total
    lo, hi = xlim if xlim is not None else (lat[0], lat[-1])
    frac = np.arange(1, lat.size + 1) / total
    x = np.concatenate([[min(lo, lat[0])], lat, [max(hi, lat[-1])]])
    y = np.concatenate([[0.0], frac, [frac[-1]]])
    line = ax.step(x, y, where="post", color=color, lw=2, label=name)[0]
    n_dropped = total - lat.size
    if n_dropped and dropped:
        ax.axhline(1.0, color=color, ls="-.", lw=1, alpha=0.6,
                   label=f"{fmt.count(n_dropped)} of {fmt.count(total)} inputs dropped (never read): "
                         "the curve never reaches 1")
    ax.set_ylim(0, 1.03)
    ax.set_ylabel("fraction of inputs")
    return line


def _mark_percentiles(ax, lat, deadline) -> None:
    p50, p99 = np.percentile(lat, [50, 99])
    if deadline is not None:
        ax.axvspan(deadline, ax.get_xlim()[1], color=MISS_COLOR, alpha=0.06, lw=0)
        ax.axvline(deadline, color=MISS_COLOR, lw=1.5, label=f"deadline = {fmt.value(deadline)} (shaded: a miss)",
                   gid="deadline")
    ax.axvline(p50, color="C2", ls="--", lw=2, label=f"latency p50 = {fmt.value(p50)}", gid="p50")
    ax.axvline(p99, color="C1", ls=":", lw=2.5, label=f"latency p99 = {fmt.value(p99)}", gid="p99")


def _latencies(trace: Trace, window=None, field: str = "latency") -> np.ndarray:
    """Finite readout latencies (or ``field``), of the readouts whose time is in the half-open ``window`` when given."""
    ro = trace.readouts
    if window is not None:
        ro = ro[(ro["time"] >= window[0]) & (ro["time"] < window[1])]
    lat = ro[field]
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


def _latency_headline(trace: Trace, lat: np.ndarray, window=None) -> str:
    ro = trace.readouts
    where = ""
    if window is not None:
        ro = ro[(ro["time"] >= window[0]) & (ro["time"] < window[1])]
        where = f" in t = {fmt.value(window[0])} to {fmt.value(window[1])}"
    total = ro.shape[0]
    text = f"Output-complete latency and reaction over the {fmt.count(lat.size)} inputs read{where}"
    if lat.size < total:
        text += f"; {fmt.count(total - lat.size)} of {fmt.count(total)} inputs dropped (never read)"
    if trace.meta.get("deadline") is not None:
        text += (f"\n{fmt.count(ro['missed'].sum())} of {fmt.count(total)} inputs missed the deadline of "
                 f"{_amount(trace.meta['deadline'], trace)}" + (" (dropped ones included)" if lat.size < total else ""))
    return text


@sized
def plot_staleness(trace: Trace, ax=None):
    """Staleness of the state each module reads from the others: p50, p99 and max per module.

    Staleness is the age of the oldest message an activation read (read time minus send
    time, ``trace.activations["staleness"]``): on a synchronous schedule the time since a
    slower module last fired; link delays (``engine.latency``) and queueing add to it.
    Each row is a module (fastest first): a bar from p50 to p99, a tick at the max and a
    diamond at the largest lag (how long a newer state had been in flight when it read), the
    same numbers as ``summary()["per_module"]``; a module that reads no other module is
    left empty. The title gives the run-wide percentiles and, when messages took time,
    the link delays.

    Returns
    -------
    Axes
    """
    _check_trace(trace)
    _check_axes(ax)
    ax = ax if ax is not None else _new_figure(figsize=(9, 1.2 + 0.45 * trace.g)).add_subplot()
    summary = trace.summary()
    order, _ = _fastest_first(trace)
    mask = np.asarray(trace.meta["block_mask"], dtype=bool)
    colors = _module_colors(trace.g)
    labels, lagged = [], False
    for row, i in enumerate(order.tolist()):
        m = summary["per_module"][i]
        labels.append(trace.meta["labels"][i])
        if mask[i].sum() - mask[i, i] == 0 or m["staleness_p50"] is None:
            continue
        y = -row
        ax.plot([m["staleness_p50"], m["staleness_p99"]], [y, y], color=colors[i], lw=8, alpha=0.6,
                solid_capstyle="butt", label="p50 to p99" if row == 0 else None)
        ax.plot([m["staleness_p50"]], [y], "o", color="black", ms=5, label="p50" if row == 0 else None)
        ax.plot([m["staleness_max"]], [y], "|", color=MISS_COLOR, ms=16, mew=2.5, label="max" if row == 0 else None)
        if m["lag_max"]:
            ax.plot([m["lag_max"]], [y], "D", color="white", mec="black", ms=6,
                    label="largest lag (a newer state was in flight)" if not lagged else None)
            lagged = True
    ax.set_yticks(-np.arange(len(labels)), labels)
    ax.set_ylim(-len(labels) + 0.5, 0.5)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"staleness ({_time_unit(trace)}s: age of the state read from other modules)")
    whole = summary["staleness"]
    title = (f"Staleness of reads: p50 {fmt.value(whole['p50'])}, p99 {fmt.value(whole['p99'])}, "
             f"max {fmt.value(whole['max'])} over {fmt.count(whole['n'])} {whole['over']}")
    delays = trace.meta.get("latency")
    if delays:
        title += f"\nlink delays: {_delays(delays)}"
    ax.set_title(title, fontsize="medium")
    if _narrow():
        _under_legend(ax, 4)
    else:
        ax.legend(fontsize="small", loc="lower right")
    return ax


def _delays(latency: dict) -> str:
    """``LinkLatency.to_dict()`` as a short phrase."""
    def one(d: dict) -> str:
        return " ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items()
                        if k not in ("sender", "receiver") and not (k == "minimum" and v == 0.0))
    text = f"every link {one(latency.get('default', {}))}"
    for link in latency.get("links", []):
        text += f"; M{link['sender'] + 1} -> M{link['receiver'] + 1}: {one(link)}"
    return text
