"""Shared helpers of the plot modules: figures, module axes, colours, time windows, labels."""

from __future__ import annotations

import math

import matplotlib
import numpy as np

from . import _format as fmt
from ..errors import InvalidTypeError, InvalidValueError
from ..trace.core import Trace

#: Deadline misses: black, which no module colour uses (the module palette below has no black or red).
MISS_COLOR = "#000000"
#: Colour-blind-safe module colours (Paul Tol's "muted" then "light" schemes: 9 + 7 distinct hues, no black,
#: no pure red), enough to tell 16 modules apart; more modules take a sequential map.
MODULE_PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
                  "#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#BBCC33", "#AAAA00")
DENSE_COLOR = "0.35"


def _new_figure(figsize):
    import matplotlib.pyplot as plt  # imported on first use: `import clocksim` stays light
    return plt.figure(figsize=figsize, layout="constrained")


def _new_axes(figsize):
    return _new_figure(figsize).add_subplot()


def _check_trace(trace, name: str = "trace") -> None:
    if not isinstance(trace, Trace):
        raise InvalidTypeError(f"got {type(trace).__name__}, expected a clocksim Trace (res.trace or Trace.load)",
                               key=name)
    for key in ("labels", "periods", "module_sizes", "n_steps"):
        _meta(trace, key, name)


def _meta(trace: Trace, key: str, name: str = "trace"):
    try:
        return trace.meta[key]
    except KeyError:
        raise InvalidValueError(f"meta has no {key!r}, expected a trace made by clocksim.simulate", key=name) from None


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
    if g <= len(MODULE_PALETTE):
        return list(MODULE_PALETTE[:g])
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(i / max(g - 1, 1)) for i in range(g)]


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
            raise InvalidValueError(f"got {steps}, expected a number of steps >= 1 or a (t0, t1) window", key="steps")
        return times[0], (times[steps] if steps < times.size else times[-1] + _dt(times)), pad
    try:
        lo, hi = (float(v) for v in steps)
    except (TypeError, ValueError):
        raise InvalidValueError(f"got {steps!r}, expected a number of steps or a (t0, t1) window",
                                key="steps") from None
    if not hi > lo:
        raise InvalidValueError(f"got window ({lo:g}, {hi:g}), expected t0 < t1", key="steps")
    first, end = float(times[0]), float(times[-1] + _dt(times))
    if hi <= first or lo >= end:
        raise InvalidValueError(key="steps", value=(lo, hi),
                                expected=f"a window that overlaps the run's times [{first:g}, {end:g})")
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


def _step_ticks(axis, lo: float, hi: float, periods, most: int = 12) -> None:
    """Integer ticks on a step axis in the one number style, spaced to match the schedule when its
    periods can be seen at this scale: a divisor of the periods' least common multiple, or that times
    a power of two, giving 4 to ``most`` ticks (32, 64, 96 ... for periods 1 to 128); else round numbers."""
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    axis.set_major_formatter(fmt.tick_formatter())
    p = np.asarray(periods, dtype=float)
    span = hi - lo
    if span > 0 and p.size and np.all(p == np.round(p)) and np.all(p >= 1):
        lcm = math.lcm(*(int(v) for v in p))
        if span / 100 <= lcm <= 4 * span:                # the schedule repeats within the axis and can be seen
            spacings = sorted({d for d in range(1, lcm + 1) if lcm % d == 0}
                              | {lcm * 2 ** k for k in range(1, 1 + max(0, int(math.log2(span / lcm))))})
            fits = [d for d in spacings if 4 <= span / d <= most]
            if fits:
                axis.set_major_locator(MultipleLocator(fits[0]))
                return
    axis.set_major_locator(MaxNLocator(integer=True))


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
    """``"1 step"``, ``"1.5 steps"``, ``"2 time units"``; ``"0.02 s (2 steps)"`` when the run has a real step."""
    text = f"{value:g} {_time_unit(trace)}{'' if value == 1 else 's'}"
    step = trace.meta.get("step")
    return f"{value * step:g} s ({text})" if step else text


def _seconds_per_unit(trace: Trace) -> tuple[float, str]:
    """Factor and unit name in which a figure shows times: seconds when the run set ``step``, else its own unit."""
    step = trace.meta.get("step")
    return (float(step), "s") if step else (1.0, _time_unit(trace) + "s")


def _time_label(trace: Trace) -> str:
    if trace.meta.get("time_unit", "step") != "step":
        return "model time"
    return "step" if _is_synchronous(trace) else "model time (steps)"


def _span_text(trace: Trace, lo: float, hi: float, pad: float) -> str:
    if trace.meta.get("time_unit", "step") == "step" and pad:
        return f"{fmt.count(round(hi - lo))} steps"
    return f"t = {fmt.value(lo)} to {fmt.value(hi)}"


def _basis(trace: Trace) -> str:
    return f"batch of {trace.batch}" if trace.batch > 1 else "one sequence"


def _eng(value: float) -> str:
    """A count or measured value in the one number style of :mod:`clocksim._format`."""
    return fmt.number(value)


def _side_legend(ax, n: int) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize="small", frameon=False,
              ncols=1 if n <= 14 else 2)
