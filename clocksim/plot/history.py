"""The optimisation-history figure of a search (the front is :func:`clocksim.plot_pareto`)."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidValueError

__all__ = ["plot_history"]


def plot_history(rows: list[dict], metric: str, direction: str = "minimize", ax=None):
    """Each complete trial's ``metric`` against its number, and the best feasible value so far.

    Parameters
    ----------
    rows : list of dict
        The trials table (``number``, ``state``, ``feasible`` and the metric).
    metric : str
    direction : {"minimize", "maximize"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The best-so-far line has gid ``"best-so-far"``.
    """
    import matplotlib.pyplot as plt

    done = [r for r in rows if r["state"] == "COMPLETE" and isinstance(r.get(metric), (int, float))]
    if not done:
        raise InvalidValueError(f"no complete trial with a number in {metric!r}", key="rows")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    number = np.array([r["number"] for r in done])                                  # (N,)
    value = np.array([r[metric] for r in done], dtype=float)                        # (N,)
    feasible = np.array([bool(r["feasible"]) for r in done])                        # (N,)
    ax.scatter(number[feasible], value[feasible], s=14, color="#1f77b4", label="feasible trial")
    if (~feasible).any():
        ax.scatter(number[~feasible], value[~feasible], s=14, marker="x", color="#7f7f7f",
                   label="violates a constraint")
    if feasible.any():
        best = np.where(feasible, value, np.inf if direction == "minimize" else -np.inf)
        best = np.minimum.accumulate(best) if direction == "minimize" else np.maximum.accumulate(best)
        ok = np.isfinite(best)
        ax.step(number[ok], best[ok], where="post", color="#d62728", gid="best-so-far", label="best so far")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.legend(frameon=False, fontsize="small")
    return ax
