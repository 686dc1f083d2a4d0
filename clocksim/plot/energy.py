"""Energy of a run on its device: stacked bars per module (compute, then each memory level) and for the whole
run (compute, memory levels, static) (DESIGN section 11). Reads only the summary's ``energy`` keys."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidTypeError, InvalidValueError
from ..trace.aggregate import AggregateTrace
from ..trace.core import Trace
from ._style import _check_figure, _fastest_first, _new_figure

#: Prefixes of joules, largest first.
_UNITS = ((1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ"))
COMPUTE_COLOR = "#4c72b0"
STATIC_COLOR = "0.55"
#: Colours of the memory levels, smallest level first (colour-blind-safe Okabe-Ito tones).
LEVEL_COLORS = ("#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#f0e442")


def _unit(value: float) -> tuple[float, str]:
    for scale, name in _UNITS:
        if value >= scale:
            return scale, name
    return _UNITS[-1]


def plot_energy(trace: Trace | AggregateTrace, fig=None):
    """Energy on the run's device: per module, stacked by compute and memory level (left), and the whole
    run, stacked by compute, memory level and static energy (right).

    The static energy (``static_power_w`` times the run's real time) often dwarfs the work of the
    modules, so it gets the right panel, the whole run, and does not flatten the per-module bars.

    Parameters
    ----------
    trace : Trace or AggregateTrace
        Of a run with a device (``summary()["energy"]`` present).
    fig : matplotlib Figure, optional
        Two axes are added to it (a new figure when omitted).

    Returns
    -------
    (Axes, Axes)
        Per module: one bar per module (fastest first) and ``readout`` (its multiply-adds: ``compute_j``
        less the modules' compute). Whole run: one bar whose parts are ``compute_j``, each level of
        ``memory_j`` and ``static_j`` (absent without a ``step``); it adds up to ``energy.total_j``.
    """
    if not isinstance(trace, (Trace, AggregateTrace)):
        raise InvalidTypeError(f"got {type(trace).__name__}, expected a clocksim Trace", key="trace")
    _check_figure(fig)
    summary = trace.summary()
    if "energy" not in summary:
        raise InvalidValueError("the run has no device, so no energy: set ComputeModel(device=...) or "
                                "[engine.compute] device", key="trace")
    energy, per_module = summary["energy"], summary["per_module"]
    levels = list(energy["memory_j"])
    colors = {lv: LEVEL_COLORS[k % len(LEVEL_COLORS)] for k, lv in enumerate(levels)}
    order, _ = _fastest_first(trace)
    labels = [trace.meta["labels"][i] for i in order] + ["readout"]
    compute = np.array([per_module[i]["energy"]["compute_j"] for i in order]
                       + [energy["compute_j"] - sum(m["energy"]["compute_j"] for m in per_module)])
    memory = {lv: np.array([per_module[i]["energy"]["memory_j"][lv] for i in order] + [0.0]) for lv in levels}
    fig = fig if fig is not None else _new_figure(figsize=(max(7.5, 0.6 * len(labels) + 4.5), 4.8))
    ax, ax_run = fig.subplots(1, 2, width_ratios=[max(len(labels), 3), 1.6])
    _module_panel(ax, labels, compute, memory, colors, energy, summary["batch"])
    _run_panel(ax_run, energy, colors)
    return ax, ax_run


def _module_panel(ax, labels: list[str], compute: np.ndarray, memory: dict, colors: dict, energy: dict,
                  batch: int) -> None:
    """One bar per module and the readout: compute, then each memory level stacked on it."""
    scale, unit = _unit(max(float((compute + sum(memory.values())).max()), 1e-300))
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    ax.bar(x, compute / scale, color=COMPUTE_COLOR, label="compute")
    bottom += compute / scale
    for lv in memory:
        if memory[lv].any():
            ax.bar(x, memory[lv] / scale, bottom=bottom, color=colors[lv], label=f"memory: {lv}")
            bottom += memory[lv] / scale
    tilt = len(labels) > 8
    ax.set_xticks(x, labels, rotation=45 if tilt else 0, ha="right" if tilt else "center")
    ax.set_ylabel(f"energy ({unit})")
    basis = f"batch of {batch}" if batch > 1 else "one sequence"
    ax.set_title(f"Per module on {energy['device']} ({energy['dtype']}, {basis})", fontsize="medium")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _run_panel(ax_run, energy: dict, colors: dict) -> None:
    """The whole run as one bar (compute, memory levels, static energy), its total and the figure's legend."""
    static = energy["static_j"]
    parts = [("compute", energy["compute_j"], COMPUTE_COLOR)]
    parts += [(f"memory: {lv}", energy["memory_j"][lv], colors[lv]) for lv in colors if energy["memory_j"][lv]]
    if static is not None:
        parts.append(("static", static, STATIC_COLOR))
    scale_run, unit_run = _unit(max(energy["total_j"], 1e-300))
    base = 0.0
    for name, value, color in parts:
        ax_run.bar([0], [value / scale_run], bottom=[base], color=color, label=name, width=0.6)
        base += value / scale_run
    ax_run.set_xticks([0], ["whole run"])
    ax_run.set_xlim(-0.6, 0.6)
    ax_run.set_ylabel(f"energy ({unit_run})")
    per_step = energy["per_step_j"]
    ax_run.set_title(f"{energy['total_j'] / scale_run:.3g} {unit_run}"
                     + ("" if per_step is None else
                        f"\n{per_step / _unit(per_step)[0]:.3g} {_unit(per_step)[1]} per step")
                     + ("" if static is not None else "\nno step: no static energy"), fontsize="medium")
    ax_run.figure.legend(*ax_run.get_legend_handles_labels(), loc="outside right upper", fontsize="small",
                         frameon=False)
    ax_run.grid(axis="y", alpha=0.3)
    ax_run.set_axisbelow(True)
