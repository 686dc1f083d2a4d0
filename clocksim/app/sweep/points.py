"""What one point of a sweep computes, and the function a worker runs.

A *point* is a scenario (parsed TOML, every override applied, file paths
absolute). It is run exactly as ``clocksim run`` runs it, by
:func:`clocksim.execute.execute` (trained first when it has a ``[task]`` and a
``[train]`` table), and its results row holds the summary keys the sweep
records (:func:`clocksim.summary.metric_columns`: ``latency.p99`` is the column
``latency_p99``). So a point's row is what ``summary.json`` of
``clocksim run --set ...`` with the same keys says.

:func:`run_point` is the function sent to workers: a pure function of its task
(same task, same metrics; only ``wall_time`` varies), which turns any exception
into a result row, so a failing point never stops a sweep.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..execute import execute
from ..scenario import parse_scenario
from ...trace.summary import metric_row

__all__ = ["run_point", "compute_point", "one_line_error"]


def compute_point(raw: dict, path: Path, metrics) -> dict:
    """Run the scenario ``raw`` (``path``: the base scenario file, for messages) with
    :func:`clocksim.execute.execute`; return the cells ``metrics`` of its row (None when absent)."""
    return metric_row(execute(parse_scenario(raw, path)).summary, metrics)


def run_point(task: dict) -> dict:
    """Compute one point (what a worker runs); returns its results row and never raises an ``Exception``.

    Parameters
    ----------
    task : dict
        ``id``, ``scenario`` (the point's scenario as parsed TOML, paths absolute),
        ``path`` (the base scenario file) and ``metrics`` (the columns to record).

    Returns
    -------
    dict
        ``id``, ``status`` (``"ok"`` or ``"error"``), ``error`` (``"Type: message"`` on one
        line; ``""`` when ok), ``wall_time`` (seconds, in the worker) and every metric
        (None when the point failed or its summary has no such key).
    """
    t0 = time.perf_counter()
    metrics: dict = {}
    try:
        metrics = compute_point(task["scenario"], Path(task["path"]), task["metrics"])
        status, error = "ok", ""
    except Exception as exc:          # a failing point is a result, not the end of the sweep
        status, error = "error", one_line_error(exc)
    row = {"id": task["id"], "status": status, "error": error, "wall_time": time.perf_counter() - t0}
    for name in task["metrics"]:
        value = metrics.get(name)
        row[name] = value.item() if isinstance(value, np.generic) else value
    return row


def one_line_error(exc: BaseException, limit: int = 500) -> str:
    """``Type: message`` on one line (whitespace collapsed), at most ``limit`` characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
