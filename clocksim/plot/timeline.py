"""Timelines: which module ran when (activity), and where compute time went (Gantt)."""

from __future__ import annotations

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from . import _format as fmt
from .._validate import as_bool
from ..errors import InvalidValueError
from ..trace.core import Trace
from ._style import (
    MISS_COLOR,
    _amount,
    _bins,
    _check_axes,
    _check_trace,
    _fastest_first,
    _label_size,
    _module_axis,
    _module_colors,
    _new_axes,
    _rows_height,
    _span_text,
    _step_ticks,
    _time_label,
    _width_px,
    _window,
    sized,
)


@sized
def plot_activity(trace: Trace, ax=None, steps=None, aggregate: bool | None = None, windows: bool = False):
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
        Draw counts per time bin instead of single marks. Default: only when the
        marks do not fit in the pixels, i.e. when the busiest module fires more
        often than every :data:`MARK_PIXELS` pixel columns of the axes (a mark
        and a gap); the title says which was drawn, and why when binned.
    windows : bool, default False
        Shade, in the row of each module with a buffered ``input_mode``, the input
        window each of its firings reads (the steps after its previous firing up to
        the firing; alternately darker and lighter, so neighbouring windows show).

    Returns
    -------
    matplotlib Axes
        Modules on y (tick labels from ``meta["labels"]``, fastest at the top),
        time on x. Marks are ``EventCollection`` s (one per module); in the
        aggregated mode an ``AxesImage`` whose data (rows in y order, shape
        ``(g, n_bins)``) are activation counts. With ``windows``, the shading is
        a ``PolyCollection`` with the label ``"input windows"``, one polygon per window.
    """
    _check_trace(trace)
    _check_axes(ax)
    aggregate, windows = as_bool("aggregate", aggregate, optional=True), as_bool("windows", windows)
    ax = ax if ax is not None else _new_axes(figsize=(10, _rows_height(trace.g)))
    lo, hi, pad = _window(trace, steps)
    order, rank = _fastest_first(trace)
    act = trace.activations
    act = act[(act["time"] >= lo) & (act["time"] < hi)]
    row = rank[act["module"]]                                                # (A,) y position
    width_px = _width_px(ax)
    if aggregate is None:
        aggregate = _wants_bins(trace, width_px, steps)
    if aggregate:
        how = _activity_bins(ax, trace, act, row, (lo, hi, pad), width_px, steps)
    else:
        how = _activity_marks(ax, trace, act, row, order, lo, hi, width_px)
    if windows:
        _shade_windows(ax, trace, rank, lo, hi, pad)
    _module_axis(ax, trace, order)
    if pad:
        _step_ticks(ax.xaxis, lo - pad, hi - pad, trace.meta["periods"])
    ax.set_xlim(lo - pad, hi - pad)
    ax.set_ylim(trace.g - 0.5, -0.5)
    ax.set_xlabel(_time_label(trace))
    if not aggregate:
        ax.grid(axis="x", color="0.92", lw=0.8)
        ax.set_axisbelow(True)
    ax.set_title(f"Module activity over {_span_text(trace, lo, hi, pad)}: {fmt.count(act.shape[0])} activations "
                 f"({how})")
    return ax


def _activity_bins(ax, trace: Trace, act, row, window: tuple, width_px: float, steps) -> str:
    """Activations counted per time bin and module, an image with its colour bar; what the title says of it."""
    lo, hi, pad = window
    edges, label = _bins(lo, hi, max(1, int(width_px) // 2), integral=pad > 0, periods=trace.meta["periods"])
    counts = np.stack([np.histogram(act["time"][row == r], edges)[0] for r in range(trace.g)])  # (g, bins)
    per_bin = round(edges[1] - edges[0]) if pad > 0 else 1               # steps per bin (synchronous)
    top = max(int(counts.max(initial=0)), per_bin, 1)
    cmap, norm = _count_colors(top)
    image = ax.imshow(counts, aspect="auto", interpolation="nearest", norm=norm, cmap=cmap,
                      extent=(edges[0] - pad, edges[-1] - pad, trace.g - 0.5, -0.5))
    _count_colorbar(ax, image, top, label)
    for r in range(trace.g - 1):                                           # row separators
        ax.axhline(r + 0.5, color="0.75", lw=0.6)
    fits = not _wants_bins(trace, width_px, steps)
    return ("binned on request" if fits else
            f"binned: one mark each would not fit in {fmt.count(int(width_px))} pixel columns") \
        + ("; colour: activations per " + label if label != "step" else "; one column per step")


def _count_colorbar(ax, image, top: int, label: str) -> None:
    """The colour bar of activation counts: discrete ticks up to :data:`DISCRETE_COUNTS`, else a log scale."""
    discrete = top <= DISCRETE_COUNTS
    bar = ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04, extend="neither" if discrete else "min")
    bar.set_label(f"activations per {label} (white: none)" + ("" if discrete else ", log scale"),
                  fontsize="small")
    if discrete:
        bar.set_ticks(np.unique(np.linspace(0, top, min(top, 8) + 1).round()))
    else:
        bar.ax.yaxis.set_major_formatter(fmt.tick_formatter())
        bar.ax.yaxis.set_minor_formatter(NullFormatter())


def _activity_marks(ax, trace: Trace, act, row, order, lo: float, hi: float, width_px: float) -> str:
    """One mark per activation, half the spacing of a step wide; what the title says of it."""
    colors = _module_colors(trace.g)
    px_per_unit = width_px / max(hi - lo, 1e-9)                          # pixels per step (time unit)
    lw = float(np.clip(0.5 * px_per_unit * 72 / ax.figure.dpi, 0.4, 7.0))   # points: half the spacing
    ax.eventplot([act["time"][row == r] for r in range(trace.g)], lineoffsets=np.arange(trace.g),
                 linelengths=0.7, linewidths=lw, colors=[colors[i] for i in order])
    return "one mark per activation"


def _shade_windows(ax, trace: Trace, rank: np.ndarray, lo: float, hi: float, pad: float) -> PolyCollection:
    """Shade each buffered module's input windows ``(previous firing, firing]`` in its row."""
    modes = trace.meta.get("input_mode") or ["latest"] * trace.g
    buffered = [i for i, mode in enumerate(modes) if mode != "latest"]
    if not buffered:
        raise InvalidValueError("got True, but no module of this run buffers its input (every input_mode is "
                                "'latest'); expected a run with a buffered input_mode", key="windows")
    first = float(trace.meta.get("start", 0)) - 1.0                # the first window opens at the first step
    act = trace.activations
    verts, shades = [], []
    for i in buffered:
        times = np.sort(act["time"][act["module"] == i])           # (A_i,)
        opens = np.concatenate([[first], times[:-1]])              # previous firing (or before the first step)
        keep = (times >= lo) & (opens < hi)
        y = rank[i]
        for k in np.flatnonzero(keep):
            a, b = opens[k] + 1.0 - pad, times[k] + 1.0 - pad       # steps opens+1 .. time, drawn as cells
            verts.append([(a, y - 0.45), (b, y - 0.45), (b, y + 0.45), (a, y + 0.45)])
            shades.append(0.80 if k % 2 else 0.88)
    coll = PolyCollection(verts, facecolors=[(s, s, 0.95) for s in shades], edgecolors="none", zorder=0,
                          label="input windows")
    ax.add_collection(coll)
    return coll


#: Up to this many activations per bin, each count gets its own colour (a discrete colour bar).
DISCRETE_COUNTS = 16


def _count_colors(top: int):
    """Colour map and norm for activation counts 0..top: 0 is white (as on the colour bar), more is darker;
    one colour per count up to :data:`DISCRETE_COUNTS`, else a log scale (0 white, the bar's lower end)."""
    blues = matplotlib.colormaps["Blues"]
    if top <= DISCRETE_COUNTS:
        cmap = mcolors.ListedColormap(["white", *blues(np.linspace(0.3 if top > 1 else 0.85, 1.0, top))])
        return cmap, mcolors.BoundaryNorm(np.arange(-0.5, top + 1), cmap.N)
    cmap = mcolors.LinearSegmentedColormap.from_list("counts", blues(np.linspace(0.3, 1.0, 8)))
    return cmap.with_extremes(under="white"), mcolors.LogNorm(0.999, top)      # 0 falls under: white


#: Pixel columns one activation mark needs to stay a separate mark: one for the mark, one for the gap.
MARK_PIXELS = 2


def _wants_bins(trace: Trace, width_px: float, steps=None) -> bool:
    """Whether the activity of ``trace`` is drawn binned on axes ``width_px`` wide: only when the marks do
    not fit, i.e. the busiest module fires more often than every :data:`MARK_PIXELS` pixel columns."""
    lo, hi, _ = _window(trace, steps)
    act = trace.activations
    inside = act["module"][(act["time"] >= lo) & (act["time"] < hi)]
    return bool(inside.size) and int(np.bincount(inside).max()) > width_px / MARK_PIXELS




@sized
def plot_gantt(trace: Trace, ax=None, steps=None):
    """Compute timeline: each job's wait and its stretches on the cores, deadline misses marked.

    Rows are cores when the run had a compute model (``activations["core"] >= 0``),
    else modules (fastest at the top). Each activation draws a pale bar from its
    firing to the start of its compute (queue wait) in the lower part of its row
    and a solid bar, coloured by module, over its compute. With a scheduled compute
    model (a trace with job records) a preempted job draws one solid bar per stretch
    it held a core, joined by a thin line across the time it was preempted, and the
    readout jobs draw in grey. A bottom row marks every readout; those that missed
    the deadline get a black cross (a colour no module uses; see the legend) and a
    band across the chart.

    Parameters
    ----------
    trace : Trace
    ax : matplotlib Axes, optional
    steps : int or (float, float), optional
        As in :func:`plot_activity`: the jobs that *overlap* the window (fire before its end and
        finish after its start) are drawn, whole, so no bar is dropped at its edges.

    Returns
    -------
    matplotlib Axes
        Its artists with ``gid`` ``"queue wait"`` and ``"compute"`` are
        ``PolyCollection`` s: one wait rectangle per drawn activation (job) ``[time, start]``
        and one compute rectangle per activation ``[start, end]`` (per stretch ``[start, end]``
        of a job on a core, in job order, when the trace has job records); the line with
        ``gid`` ``"deadline misses"`` marks the missed readouts.
    """
    _check_trace(trace)
    _check_axes(ax)
    if getattr(trace, "segments", None) is not None:
        return _gantt_jobs(trace, ax, steps)
    act_all = trace.activations
    lo, hi, pad = _window(trace, steps)
    act = act_all[(act_all["time"] < hi) & (np.maximum(act_all["end"], act_all["time"]) >= lo)]
    by_core = bool((act_all["core"] >= 0).any())
    order, rank = _fastest_first(trace)
    if by_core:
        n_cores = int(trace.meta.get("compute", {}).get("cores", int(act_all["core"].max()) + 1))
        row, names = act["core"].astype(int), [f"core {c}" for c in range(n_cores)]
    else:
        row, names = rank[act["module"]], [trace.meta["labels"][i] for i in order]
    n_rows = len(names) + 1                                                  # + readouts
    ax = ax if ax is not None else _new_axes(figsize=(11, _rows_height(n_rows)))
    instantaneous = _gantt_bars(ax, trace, act, row)
    right = max(hi - pad, float(act["end"].max(initial=lo)))
    missed, ro = _gantt_readouts(ax, trace, lo, hi, len(names))
    ax.set_yticks(np.arange(n_rows), names + ["readouts"])
    ax.tick_params(axis="y", labelsize=_label_size(n_rows))
    _gantt_axis(ax, trace, lo, right, pad, n_rows)
    _gantt_legend(ax, trace, act["module"], order, missed)
    what = "per core" if by_core else "per module"
    head = (f"Compute timeline {what}: updates are instantaneous (no compute model), one tick each" if instantaneous
            else f"Compute timeline {what}: queue wait (pale, below) and compute (solid)")
    ax.set_title(f"{head}\n{_miss_text(trace, ro)}")
    return ax


def _gantt_bars(ax, trace: Trace, act, row) -> bool:
    """Each activation's pale wait bar and solid compute bar in its row (ticks when no compute took time);
    whether every update was instantaneous."""
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
    return instantaneous


def _gantt_jobs(trace: Trace, ax, steps):
    """The Gantt chart of a run with job records: rows are cores, a preempted job is several bars."""
    jobs, segs = trace.jobs, trace.segments
    g = trace.g
    lo, hi, pad = _window(trace, steps)
    keep = (jobs["release"] < hi) & (jobs["finish"] >= lo)                    # jobs overlapping the window
    index = np.flatnonzero(keep)
    shown = jobs[index]
    seg = segs[np.isin(segs["job"], index)]
    n_cores = int(trace.meta.get("compute", {}).get("cores", int(segs["core"].max(initial=0)) + 1))
    names = [f"core {c}" for c in range(n_cores)]
    n_rows = n_cores + 1
    ax = ax if ax is not None else _new_axes(figsize=(11, _rows_height(n_rows)))
    palette = np.array([mcolors.to_rgba(c) for c in _module_colors(g)] + [mcolors.to_rgba(READOUT_COLOR)])
    first = {}
    for k in range(segs.shape[0]):                                            # the core of each job's first stretch
        first.setdefault(int(segs["job"][k]), int(segs["core"][k]))
    wait_row = np.array([first.get(int(j), 0) for j in index], dtype=float)
    wait_c = palette[shown["module"]].copy()
    wait_c[:, 3] = 0.35
    waits = PolyCollection(_rects(shown["release"], shown["start"], wait_row + 0.12, 0.26), facecolors=wait_c,
                           edgecolors="none", gid="queue wait")
    computes = PolyCollection(_rects(seg["start"], seg["end"], seg["core"] - 0.38, 0.46),
                              facecolors=palette[seg["module"]], edgecolors="white", linewidths=0.3, gid="compute")
    ax.add_collection(waits)
    ax.add_collection(computes)
    # a preempted job: a thin line from where a stretch ends to where the next one starts
    links = []
    for j in index[shown["preemptions"] > 0]:
        mine = segs[segs["job"] == j]
        for a, b in zip(mine[:-1], mine[1:]):
            links.append([(a["end"], a["core"] + 0.05), (b["start"], b["core"] + 0.05)])
    if links:
        from matplotlib.collections import LineCollection
        ax.add_collection(LineCollection(links, colors="0.35", linewidths=0.8, linestyles=":", gid="preempted"))
    right = max(hi - pad, float(shown["finish"].max(initial=lo)))
    missed, ro = _gantt_readouts(ax, trace, lo, hi, n_cores)
    ax.set_yticks(np.arange(n_rows), names + ["readouts"])
    ax.tick_params(axis="y", labelsize=_label_size(n_rows))
    _gantt_axis(ax, trace, lo, right, pad, n_rows)
    order, _ = _fastest_first(trace)
    _gantt_legend(ax, trace, shown["module"], order, missed, readout=bool((shown["module"] == g).any()),
                  preempted=bool(links))
    compute = trace.meta.get("compute", {})
    n_pre = int(shown["preemptions"].sum())
    how = (f"{compute.get('policy', '?')}, {'preemptive' if compute.get('preemptive') else 'non-preemptive'}, "
           f"{fmt.count(n_pre)} preemption{'' if n_pre == 1 else 's'} in view")
    ax.set_title(f"Jobs per core ({how}): wait pale, running solid\n{_miss_text(trace, ro)}",
                 fontsize="medium")
    return ax


#: Colour of the readout jobs in the Gantt chart (no module uses it).
READOUT_COLOR = "0.55"


def _gantt_readouts(ax, trace: Trace, lo: float, hi: float, y: int):
    """The readouts row: a tick per readout, a cross and a band per miss. Returns (miss handle or None, rows)."""
    ro = trace.readouts
    ro = ro[(ro["time"] >= lo) & (ro["time"] < hi)]
    hit = ro[~ro["missed"]]
    ax.plot(hit["time"], np.full(hit.shape[0], y), "|", color="0.3", ms=9)
    missed = ro[ro["missed"]]
    misses = ax.plot(missed["time"], np.full(missed.shape[0], y), "x", color=MISS_COLOR, ms=8, mew=2,
                     label=f"deadline miss ({missed.shape[0]})", gid="deadline misses")[0]
    for t in missed["time"]:
        ax.axvspan(t - 0.002 * (hi - lo), t + 0.002 * (hi - lo), color=MISS_COLOR, alpha=0.12, lw=0)
    return (misses if missed.shape[0] else None), ro


def _miss_text(trace: Trace, ro) -> str:
    total_missed = int(trace.readouts["missed"].sum())
    deadline = trace.meta.get("deadline")
    whole = ro.shape[0] == trace.readouts.shape[0]
    if deadline is None:
        return "no deadline set"
    return (f"{fmt.count(int(ro['missed'].sum()))} of {fmt.count(ro.shape[0])} readouts "
            + ("" if whole else "in this window ") + f"missed the deadline of {_amount(deadline, trace)} (black x)"
            + ("" if whole else f"; {fmt.count(total_missed)} of {fmt.count(trace.readouts.shape[0])} in the "
                                "whole run"))


def _gantt_axis(ax, trace: Trace, lo: float, right: float, pad: float, n_rows: int) -> None:
    """x range from the window's start to the last drawn finish; ticks that read at any span (in seconds
    when the run has a real ``step``)."""
    ax.set_xlim(lo - pad, right + 0.01 * (right - lo))
    ax.set_ylim(n_rows - 0.5, -0.5)
    step = trace.meta.get("step")
    if step:
        from matplotlib.ticker import FuncFormatter, MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(nbins=10))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _seconds(v * step)))
        ax.set_xlabel("time (s)")
        return
    ax.set_xlabel(_time_label(trace))
    if pad:
        _step_ticks(ax.xaxis, lo - pad, right, trace.meta["periods"])


def _seconds(value: float) -> str:
    """A tick label in seconds with the unit that keeps it short (``12.5 ms``, ``1.28 s``)."""
    a = abs(value)
    if a == 0:
        return "0"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if a >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value * 1e9:.4g} ns"


def _rects(x0, x1, y0, height) -> np.ndarray:
    """(N, 4, 2) rectangles from x0 to x1, bottom y0 (array), height."""
    y0 = np.asarray(y0, dtype=float)
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    return np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1),
                     np.stack([x1, y0 + height], -1), np.stack([x0, y0 + height], -1)], axis=1)


def _gantt_legend(ax, trace, modules, order, misses, readout: bool = False, preempted: bool = False) -> None:
    shown = [i for i in order if (modules == i).any()]
    colors = _module_colors(trace.g)
    handles = [Patch(color=colors[i], label=trace.meta["labels"][i]) for i in shown[:16]]
    if readout:
        handles.append(Patch(color=READOUT_COLOR, label="readout job"))
    handles.append(Patch(color="0.6", alpha=0.5, label="wait"))
    if preempted:
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], color="0.35", lw=0.8, ls=":", label="preempted"))
    if misses is not None:
        handles.append(misses)
    # At most six entries a column: the legend then fits beside the axes at every size, print sizes
    # (whose figures are resized after drawing) included.
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize="small", frameon=False,
              ncols=-(-len(handles) // 6))
