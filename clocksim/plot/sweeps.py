"""Figures of a sweep's results table: a Pareto front and a heatmap over two swept keys.

They read a results table — a mapping of column name to values (a dict of lists,
a ``pandas.DataFrame``), a list of row dicts, or a ``pyarrow.Table`` — never a
sweep or a scenario, so they draw ``results.parquet`` read back as well as a
table in memory. Rows whose ``status`` column is not ``"ok"`` are left out.
Like :mod:`clocksim.plot`, every function draws into the axes it is given (or a
new figure), never calls ``plt.show()``, and returns the axes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator, NullFormatter

from . import _format as fmt
from .._validate import as_bool, as_sequence, did_you_mean
from ..errors import InvalidTypeError, InvalidValueError
from ..trace.summary import non_dominated
from ._style import _check_axes, _new_axes, _new_figure, sized

__all__ = ["plot_pareto", "plot_heatmap", "pareto_front", "METRIC_LABELS", "HIGHER_IS_BETTER"]

#: Axis labels of the metrics a sweep records.
METRIC_LABELS = {
    "activations": "activations", "macs": "multiply-adds", "dense_macs": "multiply-adds of a dense RNN",
    "speedup_vs_dense": "speed-up over a dense RNN", "messages": "messages",
    "latency_p50": "latency p50 over the inputs read (steps)",
    "latency_p99": "latency p99 over the inputs read (steps)",
    "latency_max": "latency max over the inputs read (steps)", "inputs_dropped": "inputs dropped (never read)",
    "deadline_misses": "deadline misses (dropped inputs included)", "staleness_p99": "staleness p99 (steps)",
    "accuracy_value": "task metric (NMSE or test error)", "accuracy_test_loss": "test loss",
    "accuracy_train_loss": "training loss", "loss": "loss", "error": "error rate", "accuracy": "accuracy",
    "wall_time": "wall time (s)",
}
#: Metrics where more is better (the Pareto front maximises them); every other metric is minimised.
HIGHER_IS_BETTER = frozenset({"speedup_vs_dense", "inputs_read", "accuracy", "accuracy_test_accuracy"})
FRONT_COLOR = "#d62728"
#: Where a front point's number goes (points from the marker), tried in turn until it clears the others.
LABEL_OFFSETS = [(16, 14), (16, -14), (-16, 14), (-16, -14), (26, 0), (-26, 0), (0, 22), (0, -22), (28, 24),
                 (28, -24)]


def pareto_front(x, y) -> np.ndarray:
    """Which points are non-dominated when both ``x`` and ``y`` are minimised.

    A point is dominated when another is no worse in both and better in one;
    equal points are all on the front (:func:`clocksim.trace.summary.non_dominated`, the one
    definition, which the search's front uses too).

    Parameters
    ----------
    x, y : array_like of float, shape (N,)

    Returns
    -------
    bool ndarray, shape (N,)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidValueError(f"got shapes {x.shape} and {y.shape}, expected two 1-D arrays of one length",
                                key="x, y")
    return non_dominated(np.column_stack((x, y)))


@sized
def plot_pareto(table, x: str = "macs", y: str = "latency_p99", *, by: Sequence[str] | None = None,
                maximize_y: bool | None = None, ax=None):
    """Cost against quality: every configuration, with the non-dominated ones highlighted and connected.

    Parameters
    ----------
    table : results table (see the module docstring)
    x : str
        A cost column, minimised (e.g. ``macs`` or ``latency_p99``).
    y : str
        A quality column (e.g. ``loss``), minimised unless ``maximize_y``.
    by : sequence of str, optional
        Columns that identify a configuration (the swept keys). Rows that agree on
        them (replicates over seeds) are averaged into one point and also drawn
        faintly; front points are labelled with the values of those that vary.
        Default: every row is its own configuration. The first of them with 2 to 8
        non-numeric values (e.g. ``model.family``) colours the points, one colour and
        marker per value, so that clusters can be told apart.
    maximize_y : bool, optional
        Default: True for the metrics in :data:`HIGHER_IS_BETTER`.

    Returns
    -------
    matplotlib Axes
        The front is the line with gid ``"pareto-front"`` (points in x order).
    """
    cols = _columns(table)
    by, maximize_y = _pareto_arguments(cols, x, y, by, maximize_y, ax)
    rows = [r for r in _rows(cols) if _finite(r[x]) and _finite(r[y])]
    if not rows:
        raise InvalidValueError(f"no finished rows with numbers in both {x!r} and {y!r}", key="table")
    maximize_y = (y in HIGHER_IS_BETTER) if maximize_y is None else maximize_y
    members, gx, gy = _configurations(rows, x, y, by)
    on = pareto_front(gx, -gy if maximize_y else gy)
    if ax is None:
        ax = _new_axes((9.0, 5.0))
    replicated = max(len(g) for g in members) > 1
    family = _draw_configurations(ax, rows, members, gx, gy, on, x, y, by, replicated)
    order = np.flatnonzero(on)[np.lexsort((gy[on], gx[on]))]
    ax.step(gx[order], gy[order], where="post", color=FRONT_COLOR, lw=1.5, zorder=3, gid="pareto-front")
    ax.scatter(gx[order], gy[order], s=22 if family else 48, color=FRONT_COLOR, zorder=4, gid="pareto-points",
               label="Pareto front (non-dominated)")
    _log_scales(ax, np.concatenate([gx, [float(r[x]) for r in rows]]),
                np.concatenate([gy, [float(r[y]) for r in rows]]))
    ax.margins(0.08)
    ax.autoscale_view()
    _label_front(ax, [members[i][0] for i in order], gx[order], gy[order], [c for c in by if
                 len({_hashable(r[c]) for r in rows}) > 1])
    _pareto_labels(ax, x, y, maximize_y)
    n_runs = max(len(g) for g in members)
    ax.set_title(f"Pareto front: {int(on.sum())} of {len(members)} configurations non-dominated"
                 + (f" (each the mean of up to {n_runs} runs)" if replicated else ""), fontsize=10)
    ax.grid(True, which="major", color="0.92", zorder=0)
    ax.legend(fontsize=8, loc="best")
    return ax


def _pareto_arguments(cols: dict, x: str, y: str, by, maximize_y, ax) -> tuple[list[str], bool | None]:
    """Check :func:`plot_pareto`'s arguments against the table's columns; ``by`` as a list, ``maximize_y``."""
    for name in (x, y):
        if name not in cols:
            raise InvalidValueError(f"got {name!r}, expected a column of the table ({', '.join(cols)})",
                                    key="x" if name == x else "y")
    by = [] if by is None else as_sequence("by", by, "a list of column names")
    _check_axes(ax)
    maximize_y = as_bool("maximize_y", maximize_y, optional=True)
    for name in by:
        if name not in cols:
            raise InvalidValueError(f"got {name!r}, expected columns of the table ({', '.join(cols)})", key="by")
    return by, maximize_y


def _configurations(rows: list[dict], x: str, y: str, by: list[str]):
    """Rows grouped by their values of ``by`` (each row alone without it); the groups and their mean x and y."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(_hashable(r[c]) for c in by) if by else len(groups), []).append(r)
    members = list(groups.values())
    gx = np.array([np.mean([float(r[x]) for r in g]) for g in members])
    gy = np.array([np.mean([float(r[y]) for r in g]) for g in members])
    return members, gx, gy


def _draw_configurations(ax, rows, members, gx, gy, on, x: str, y: str, by: list[str], replicated: bool):
    """The single runs (when replicated) and the dominated configurations, one colour per family if any;
    the family key (:func:`_family_key`) or None."""
    if replicated:
        ax.scatter([float(r[x]) for r in rows], [float(r[y]) for r in rows], s=10, color="0.7", zorder=1,
                   label="single runs")
    family = _family_key(by, rows)
    if family is None:
        ax.scatter(gx[~on], gy[~on], s=36, facecolors="none", edgecolors="C0", zorder=2,
                   label="dominated configurations" + (" (means)" if replicated else ""))
        return None
    kinds = _categories([r[family] for r in rows])          # clusters told apart: a colour and marker per value
    which = np.array([kinds.index(_hashable(g[0][family])) for g in members])
    short = _short_names([family])[family]
    for k, kind in enumerate(kinds):
        pick = which == k
        ax.scatter(gx[pick], gy[pick], s=44, marker=FAMILY_MARKERS[k % len(FAMILY_MARKERS)],
                   facecolors="none", edgecolors=f"C{k % 10}", linewidths=1.4, zorder=2,
                   label=f"{short} = {_show(_unhash(kind))}")
    return family


def _log_scales(ax, xs: np.ndarray, ys: np.ndarray) -> None:
    """A log scale on each axis whose positive values lie orders of magnitude apart."""
    for axis, values in ((ax.xaxis, xs), (ax.yaxis, ys)):
        if values.min() > 0 and values.max() / values.min() > 30:
            (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
            axis.set_major_formatter(fmt.tick_formatter())


def _pareto_labels(ax, x: str, y: str, maximize_y: bool) -> None:
    """Axis labels saying which way is better; count ticks that leave long numbers room."""
    ax.set_xlabel(METRIC_LABELS.get(x, x) + " (lower is better)")
    ax.set_ylabel(METRIC_LABELS.get(y, y) + (" (higher is better)" if maximize_y else " (lower is better)"))
    if x in ("macs", "dense_macs", "activations", "messages"):
        if ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))             # long counts like 15,750,000 need room
        ax.xaxis.set_major_formatter(fmt.tick_formatter())


#: Markers of the values of the key that colours a Pareto plot's clusters.
FAMILY_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _family_key(by: list[str], rows: list[dict]) -> str | None:
    """The swept key that names the clusters of a Pareto plot: the first with 2 to 8 non-numeric values."""
    for key in by:
        values = {_hashable(r[key]) for r in rows}
        if 2 <= len(values) <= len(FAMILY_MARKERS) and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return key
    return None


def _label_front(ax, rows: list[dict], fx: np.ndarray, fy: np.ndarray, keys: list[str], most: int = 12) -> None:
    """Number the front's points (coinciding ones share a number) and list what each is beside the axes."""
    clusters: list[list[int]] = []
    for k in range(len(rows)):
        if clusters and fx[k] == fx[clusters[-1][0]] and fy[k] == fy[clusters[-1][0]]:
            clusters[-1].append(k)
        else:
            clusters.append([k])
    short = _short_names(keys)
    lines, placed = [], []                           # label centres placed so far, in points
    to_points = 72.0 / ax.figure.dpi
    for number, members in enumerate(clusters, start=1):
        k = members[0]
        px, py = ax.transData.transform((fx[k], fy[k])) * to_points
        offset = next((o for o in LABEL_OFFSETS if all(abs(px + o[0] - qx) > 9 or abs(py + o[1] - qy) > 8
                                                          for qx, qy in placed)), LABEL_OFFSETS[0])
        placed.append((px + offset[0], py + offset[1]))
        ax.annotate(str(number), (fx[k], fy[k]), xytext=offset, textcoords="offset points", fontsize=8,
                    fontweight="bold", color=FRONT_COLOR, zorder=5, ha="center", va="center",
                    arrowprops={"arrowstyle": "-", "color": FRONT_COLOR, "lw": 0.8, "shrinkA": 1, "shrinkB": 4})
        parts = []
        for c in keys:
            values = list(dict.fromkeys(_show(rows[m][c]) for m in members))
            parts.append(f"{short[c]}={'/'.join(values)}")
        lines.append(f"{number}. " + (", ".join(parts) or "the base scenario"))
    if not keys:
        return
    if len(lines) > most:
        lines = lines[:most] + [f"... and {len(lines) - most} more"]
    ax.text(1.02, 1.0, "Pareto front\n" + "\n".join(lines), transform=ax.transAxes, va="top", ha="left",
            fontsize=8, linespacing=1.5)


@sized
def plot_heatmap(table, x: str, y: str, value: str, *, by: Sequence[str] | None = None, ax=None,
                 cmap: str = "viridis"):
    """Mean of ``value`` for every pair of values of two swept keys (over seeds), one panel per value of a third.

    Parameters
    ----------
    table : results table (see the module docstring)
    x, y : str
        The two key columns: x across, y down. Numeric values are sorted, others
        keep their order of first appearance.
    value : str
        The metric column averaged in each cell (finished rows with a number only);
        cells with none are grey and say "n/a".
    by : sequence of str, optional
        Every swept key. A key other than ``x`` and ``y`` that takes several values
        is not averaged over silently: with one such key (up to :data:`MAX_FACETS`
        values) there is one panel per value (a new figure; not with ``ax``), with
        more a ``ValueError`` names them. Default: no other key is checked.
    cmap : str
        Matplotlib colormap.

    Returns
    -------
    matplotlib Axes
        ``ax.images[0].get_array()`` holds the means, shape (len(y values), len(x values)).
        With panels, the first panel's Axes; each panel of ``ax.figure`` holds its own image,
        all on one colour scale.
    """
    import matplotlib

    cols = _columns(table)
    by = _heatmap_arguments(cols, x, y, value, by, ax, cmap)
    rows = list(_rows(cols))
    others, facets = _facets(rows, cols, by, x, y, value, ax)
    xs, ys = _categories([r[x] for r in rows]), _categories([r[y] for r in rows])
    means, counts = _facet_means(rows, others, facets, x, y, value, xs, ys)
    every = np.concatenate([m[np.isfinite(m)] for m in means])
    norm = _norm(every)
    colors = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
    if ax is None:
        width = max(4.5, 1.1 * len(xs) + 2.6)
        fig = _new_figure((width * len(facets) - 1.6 * (len(facets) - 1), max(3.0, 0.55 * len(ys) + 1.8)))
        axes = fig.subplots(1, len(facets), sharey=True, squeeze=False)[0]
    else:
        axes = [ax]
    for panel, v, mean in zip(axes, facets, means):
        image = _heatmap_panel(panel, mean, norm, colors, xs, ys)
        panel.set_xlabel(x)
        if panel is axes[0]:
            panel.set_ylabel(y)
        if v is not None:
            panel.set_title(f"{others[0]} = {_show(_unhash(v))}", fontsize=10)
    _heatmap_colorbar(axes, image, norm, value)
    _heatmap_title(axes, counts, value, others if facets != [None] else [])
    return axes[0]


def _heatmap_arguments(cols: dict, x: str, y: str, value: str, by, ax, cmap) -> list[str]:
    """Check :func:`plot_heatmap`'s arguments against the table's columns; ``by`` as a list."""
    import matplotlib

    for arg, name in (("x", x), ("y", y), ("value", value)):
        if name not in cols:
            raise InvalidValueError(f"got {name!r}, expected a column of the table ({', '.join(cols)})", key=arg)
    if x == y:
        raise InvalidValueError(f"got {x!r} twice, expected two different columns", key="x, y")
    by = [] if by is None else as_sequence("by", by, "a list of column names")
    _check_axes(ax)
    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        hint = did_you_mean(cmap, matplotlib.colormaps) if isinstance(cmap, str) else ""
        raise InvalidValueError(f"got {cmap!r}{hint}, expected the name of a matplotlib colormap such as "
                                "'viridis'", key="cmap")
    return by


def _facets(rows: list[dict], cols: dict, by: list[str], x: str, y: str, value: str, ax) -> tuple[list[str], list]:
    """The keys of ``by`` besides x and y that vary, and the panels: one per value of the first ([None]: one)."""
    others = [k for k in by if k not in (x, y) and k in cols
              and len({_hashable(r[k]) for r in rows if _finite(r[value])}) > 1]
    if not others:
        return others, [None]
    values = _categories([r[others[0]] for r in rows if _finite(r[value])])
    if len(others) > 1 or len(values) > MAX_FACETS or ax is not None:
        why = (f"{len(values)} values, more than {MAX_FACETS} panels" if len(values) > MAX_FACETS else
               "panels need a new figure, not ax" if len(others) == 1 else f"so does {others[1]!r}")
        raise InvalidValueError(f"{others[0]!r} also varies ({why}); each cell would average over it: fix it "
                                "(a [fixed] key), make it x or y, or draw a table with one value of it", key="by")
    return others, values


def _facet_means(rows: list[dict], others: list[str], facets: list, x: str, y: str, value: str, xs: list, ys: list):
    """Each panel's cell means and counts (:func:`_cell_means`); refuses a table with no number in ``value``."""
    means, counts = [], []
    for v in facets:
        sub = rows if v is None else [r for r in rows if _hashable(r[others[0]]) == v]
        mean, count = _cell_means(sub, x, y, value, xs, ys)
        means.append(mean)
        counts.append(count)
    if not any(c.any() for c in counts):
        raise InvalidValueError(f"no finished rows with a number in {value!r}", key="table")
    return means, counts


def _heatmap_title(axes, counts: list, value: str, others: list[str]) -> None:
    """What the cells are (mean of how many runs); with panels (``others``), the figure's title."""
    per = np.concatenate([c[c > 0] for c in counts])
    runs = f"{per.min()}" if per.min() == per.max() else f"{per.min()}-{per.max()}"
    head = f"{METRIC_LABELS.get(value, value)}: mean of {runs} runs per cell"
    if not others:
        axes[0].set_title(head, fontsize=10)
    else:
        axes[0].figure.suptitle(f"{head}, one panel per {others[0]}", fontsize=10)


def _heatmap_colorbar(axes, image, norm, value: str) -> None:
    """One colour bar for every panel, with log ticks when the scale is logarithmic."""
    bar = axes[0].figure.colorbar(image, ax=list(axes))
    bar.set_label(METRIC_LABELS.get(value, value) + ("" if type(norm).__name__ == "Normalize" else " (log scale)"))
    if type(norm).__name__ != "Normalize":
        bar.set_ticks(_log_ticks(norm.vmin, norm.vmax))
        bar.ax.yaxis.set_major_formatter(fmt.tick_formatter())
        bar.ax.yaxis.set_minor_formatter(NullFormatter())


#: A heatmap draws at most this many panels (values of a third swept key).
MAX_FACETS = 6


def _cell_means(rows: list[dict], x: str, y: str, value: str, xs: list, ys: list):
    """Mean of ``value`` per (y, x) cell (NaN where none) and the number of rows in each."""
    total = np.zeros((len(ys), len(xs)))
    count = np.zeros((len(ys), len(xs)), dtype=int)
    for r in rows:
        if _finite(r[value]):
            i, j = ys.index(_hashable(r[y])), xs.index(_hashable(r[x]))
            total[i, j] += float(r[value])
            count[i, j] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan), count


def _heatmap_panel(ax, mean: np.ndarray, norm, colors, xs: list, ys: list):
    image = ax.imshow(np.ma.masked_invalid(mean), cmap=colors, norm=norm, aspect="auto", origin="upper")
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = mean[i, j]
            dark = np.isfinite(v) and norm.vmax > norm.vmin and float(norm(v)) < 0.5
            ax.text(j, i, fmt.value(v), ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(len(xs)), [_show(_unhash(v)) for v in xs])
    ax.set_yticks(range(len(ys)), [_show(_unhash(v)) for v in ys])
    return image


# ------------------------------------------------------------------ helpers
def _columns(table) -> dict[str, list]:
    if hasattr(table, "to_pydict"):                              # pyarrow.Table
        return table.to_pydict()
    if isinstance(table, Sequence) and not isinstance(table, str):  # list of row dicts
        names = list(dict.fromkeys(k for row in table for k in row))
        return {c: [row.get(c) for row in table] for c in names}
    if isinstance(table, Mapping) or hasattr(table, "keys"):     # dict of columns, DataFrame
        return {c: list(table[c]) for c in table.keys()}
    raise InvalidTypeError(f"got {type(table).__name__}, expected a mapping of columns, a list of rows or a "
                    "pyarrow Table", key="table")


def _rows(cols: dict[str, list]):
    """Finished rows as dicts (status "ok", or every row when the table has no status column)."""
    n = len(next(iter(cols.values()))) if cols else 0
    for i in range(n):
        row = {c: v[i] for c, v in cols.items()}
        if row.get("status", "ok") == "ok":
            yield row


def _norm(values: np.ndarray):
    """Linear colours, or logarithmic ones when the values span orders of magnitude (symmetric-log with zeros)."""
    import matplotlib.colors as mcolors

    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi > 0:
        positive = values[values > 0]
        if lo > 0 and hi / lo > 30:
            return mcolors.LogNorm(lo, hi)
        if lo == 0 and hi / positive.min() > 30:
            return mcolors.SymLogNorm(linthresh=float(positive.min()), vmin=0.0, vmax=hi, base=10)
    return mcolors.Normalize(lo, hi)


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 times powers of ten between ``lo`` and ``hi`` (0 included when ``lo`` is 0)."""
    start = math.floor(math.log10(max(lo, hi * 1e-6) if lo > 0 else hi * 1e-3))
    ticks = [m * 10.0 ** e for e in range(start, math.ceil(math.log10(hi)) + 1) for m in (1, 2, 5)]
    return ([0.0] if lo == 0 else []) + [t for t in ticks if lo <= t <= hi]


def _finite(v) -> bool:
    return v is not None and not isinstance(v, (bool, str)) and math.isfinite(float(v))


def _hashable(v):
    return ("json", json.dumps(v, sort_keys=True)) if isinstance(v, (list, dict)) else v


def _unhash(v):
    return json.loads(v[1]) if isinstance(v, tuple) and len(v) == 2 and v[0] == "json" else v


def _categories(values: list) -> list:
    keys = list(dict.fromkeys(_hashable(v) for v in values))
    if all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in keys):
        keys.sort()
    return keys


def _show(v) -> str:
    if isinstance(v, float):
        return fmt.value(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _short_names(columns: list[str]) -> dict[str, str]:
    """The last part of each dotted key, unless two keys share it."""
    last = [c.rsplit(".", 1)[-1] for c in columns]
    return {c: (s if last.count(s) == 1 else c) for c, s in zip(columns, last)}


