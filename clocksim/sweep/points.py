"""What one point of a sweep computes: point kinds, and the function a worker runs.

A *point* is a scenario (parsed TOML, every override applied, file paths
absolute) and a *kind* naming what to compute from it. :func:`run_point` is the
function sent to workers: a pure function of its task (same task, same metrics;
only ``wall_time`` varies), which turns any exception into a result row, so a
failing point never stops a sweep.

A kind is a :class:`PointKind` in :data:`POINT_KINDS`: a function
``run(raw, path) -> {metric: number or None}`` and the names of the metrics it
returns (the columns of the results table). ``"simulate"`` runs the scenario and
reports its cost and latency. A kind that trains the model and adds ``loss`` or
``accuracy`` is one new function here and one entry in :data:`POINT_KINDS`;
workers import clocksim to find it, so kinds must live in an importable module
(a kind registered at run time in one session is unknown to worker processes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UnsupportedError
from ..scenario import parse_scenario

__all__ = ["PointKind", "POINT_KINDS", "SIMULATE_METRICS", "run_point", "simulate_point", "one_line_error"]


@dataclass(frozen=True)
class PointKind:
    """What a point computes.

    Attributes
    ----------
    run : callable
        ``run(raw, path) -> dict``: ``raw`` is the point's scenario as parsed TOML,
        ``path`` the base scenario file (for messages). Returns metric -> number or None.
    metrics : tuple of str
        The metrics ``run`` returns (missing ones are recorded as empty).
    doc : str
        One line for ``docs/sweeps.md``.
    """

    run: Callable[[dict, Path], dict]
    metrics: tuple[str, ...]
    doc: str


#: Metrics of a simulated point; the latency ones and ``deadline_misses`` are empty without a timing model.
SIMULATE_METRICS = ("activations", "macs", "dense_macs", "speedup_vs_dense", "messages",
                    "latency_p50", "latency_p99", "latency_max", "deadline_misses")


def simulate_point(raw: dict, path: Path) -> dict:
    """Parse the scenario ``raw`` and run it; return the metrics of :data:`SIMULATE_METRICS`.

    The run keeps only per-module totals (``trace="aggregate"``), so its memory does
    not grow with the number of activations; the totals are those of ``Trace.summary()``.
    """
    from ..engine import simulate

    scenario = parse_scenario(raw, path)
    res = simulate(scenario.model, scenario.x, engine=scenario.engine, trace="aggregate", **scenario.engine_options)
    summary = res.trace.summary()
    out = {k: summary[k] for k in ("activations", "macs", "dense_macs", "speedup_vs_dense", "messages")}
    if "latency" in summary:
        out.update({f"latency_{q}": summary["latency"][q] for q in ("p50", "p99", "max")})
        out["deadline_misses"] = summary["deadline_misses"]
    return out


#: Point kinds by name (a sweep file's ``[sweep] kind``); a new kind is a function and one entry here.
POINT_KINDS: dict[str, PointKind] = {
    "simulate": PointKind(simulate_point, SIMULATE_METRICS,
                          "run the scenario; record its cost (activations, multiply-adds, speed-up over a dense "
                          "RNN, messages) and, with a timing model, its latency and deadline misses"),
}


def run_point(task: dict) -> dict:
    """Compute one point (what a worker runs); returns its results row and never raises an ``Exception``.

    Parameters
    ----------
    task : dict
        ``id``, ``kind`` (a key of :data:`POINT_KINDS`), ``scenario`` (the point's
        scenario as parsed TOML, paths absolute) and ``path`` (the base scenario file).

    Returns
    -------
    dict
        ``id``, ``status`` (``"ok"`` or ``"error"``), ``error`` (``"Type: message"`` on one
        line; ``""`` when ok), ``wall_time`` (seconds, in the worker) and every metric of
        the kind (None when the point did not return it).
    """
    t0 = time.perf_counter()
    kind = POINT_KINDS.get(task["kind"])
    metrics: dict = {}
    try:
        if kind is None:
            raise UnsupportedError(f"got {task['kind']!r}, expected one of {', '.join(POINT_KINDS)} "
                                   "(does the worker run the same clocksim version?)", key="kind")
        metrics = kind.run(task["scenario"], Path(task["path"]))
        status, error = "ok", ""
    except Exception as exc:          # a failing point is a result, not the end of the sweep
        status, error = "error", one_line_error(exc)
    row = {"id": task["id"], "status": status, "error": error, "wall_time": time.perf_counter() - t0}
    for name in (kind.metrics if kind is not None else ()):
        value = metrics.get(name)
        row[name] = value.item() if isinstance(value, np.generic) else value
    return row


def one_line_error(exc: BaseException, limit: int = 500) -> str:
    """``Type: message`` on one line (whitespace collapsed), at most ``limit`` characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
