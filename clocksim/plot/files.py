"""Saving figures atomically, and the set of figures a run folder gets."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidValueError
from ..trace.core import Trace, atomic_write
from .._validate import as_float, as_path, as_sequence
from ._style import _check_figure, _check_trace
from .costs import plot_cost, plot_latency, plot_staleness
from .energy import plot_energy
from .timeline import plot_activity, plot_gantt

#: The figures a saved trace can be drawn as (``clocksim plot --kind``): kind -> f(trace, steps) -> Figure.
KINDS = {
    "activity": lambda trace, steps=None: plot_activity(trace, steps=steps).figure,
    "gantt": lambda trace, steps=None: plot_gantt(trace, steps=steps).figure,
    "cost": lambda trace, steps=None: plot_cost(trace, steps=steps)[0].figure,
    "latency": lambda trace, steps=None: plot_latency(trace, steps=steps)[0].figure,
    "staleness": lambda trace, steps=None: plot_staleness(trace).figure,
    "energy": lambda trace, steps=None: plot_energy(trace)[0].figure,
}


def save_figure(fig, path, dpi: int | None = None) -> None:
    """Save ``fig`` to ``path`` atomically (temporary sibling, then rename); the format follows the suffix."""
    _check_figure(fig, required=True)
    path = as_path("path", path)
    dpi = None if dpi is None else as_float("dpi", dpi, minimum=0.0, strict_minimum=True)
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
        when the run modelled timing (``meta["latency_model"]``), plus staleness
        when messages took time to arrive, plus energy when the run has a device.

    Returns
    -------
    list of Path
        The files written, in ``kinds`` order.
    """
    _check_trace(trace)
    directory = as_path("directory", directory)
    kinds = None if kinds is None else as_sequence("kinds", kinds, f"a list of figure kinds ({', '.join(KINDS)})")
    dpi = as_float("dpi", dpi, minimum=0.0, strict_minimum=True)
    if kinds is None:
        kinds = ["activity", "cost"] + (["gantt", "latency"] if trace.meta.get("latency_model") else []) \
            + (["staleness"] if (trace.messages["arrive"] > trace.messages["send"]).any() else []) \
            + (["energy"] if trace.meta.get("device") is not None else [])
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InvalidValueError(f"got {unknown}, expected some of {sorted(KINDS)}", key="kinds")
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
