"""The compiled engine: a whole sequence in one jitted loop.

The activity mask ``(L, g)`` is computed from the clocks up front; the loop in
:func:`clocksim.kernels.run_sequence` then runs, step by step, the update of each
active module (only its rows: no compute-then-mask) and copies the rows of held
modules. The readout runs afterwards over all steps. The trace is derived from
the activity mask, since every activation is instantaneous.

Works only for synchronous clocks (every firing on an integer step); use the
event engine for asynchronous clocks, latencies and compute models.
"""

from __future__ import annotations

import time

import numpy as np

from .. import kernels as K
from ..aggregate import AggregateTrace
from ..errors import InvalidValueError, UnsupportedError
from ..model import ClockworkRNN
from ..trace import Trace
from .base import TRACE_KINDS, Engine, Result, aggregate_from_mask, trace_from_mask, trace_meta
from .plan import Plan, plan_for

__all__ = ["CompiledEngine", "forward_arrays"]


class CompiledEngine(Engine):
    """Runs the whole sequence in jitted code; synchronous clocks only.

    Parameters
    ----------
    trace : {"full", "aggregate"}
        What ``Result.trace`` holds: a :class:`~clocksim.Trace` with one row per activation
        and message (default), or an :class:`~clocksim.AggregateTrace` of per-module totals
        whose ``summary()`` is the same, for runs too long to keep every row. Either is
        derived from the activity mask on first access.
    """

    name = "compiled"

    def __init__(self, *, trace: str = "full", **options):
        super().__init__(**options)
        if trace not in TRACE_KINDS:
            raise InvalidValueError(f"got {trace!r}, expected one of {', '.join(map(repr, TRACE_KINDS))}", key="trace")
        self.trace = trace

    def run(self, model: ClockworkRNN, X: np.ndarray, batched: bool) -> Result:
        if not model.synchronous:
            bad = [c.label for c in model.clocks if not c.synchronous]
            raise UnsupportedError(
                f"engine 'compiled': clocks {', '.join(bad)} fire at non-integer times; use engine='events'")
        B, L, _ = X.shape
        t0 = time.perf_counter()
        active = model.activity(L, X if any(c.input_driven for c in model.clocks) else None)
        Z, Y = forward_arrays(plan_for(model), X, active)
        wall = time.perf_counter() - t0
        h = Z[1:, :, :model.n].transpose(1, 0, 2)    # (B, L, n) view
        y = Y.transpose(1, 0, 2)                     # (B, L, n_out) view
        if not batched:
            h, y = h[0], y[0]
        meta = trace_meta(model, B, L, self.name, wall_time=wall)

        def build_trace() -> Trace | AggregateTrace:
            if self.trace == "aggregate":
                return aggregate_from_mask(model, active, B, meta)
            return trace_from_mask(model, active, B, meta)

        return Result(y=y, h=h, trace=build_trace, engine=self.name, wall_time=wall)


def forward_arrays(plan: Plan, X: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernels over a validated batch.

    Parameters
    ----------
    plan : Plan
    X : ndarray, shape (B, L, n_in)
    active : bool ndarray, shape (L, g)

    Returns
    -------
    Z : ndarray, shape (L+1, B, n + n_in)
        ``Z[s+1, :, :n]`` is the state after step s, ``Z[0, :, :n]`` is h0.
    Y : ndarray, shape (L, B, n_out)
        Outputs.
    """
    B, L, n_in = X.shape
    n, m = plan.n, plan.m
    Z = np.empty((L + 1, B, m))
    Z[0, :, :n] = plan.h0
    Z[:L, :, n:] = X.transpose(1, 0, 2)
    Z[L, :, n:] = 0.0
    scratch = np.empty(max(plan.c_max, 1) * B)
    K.run_sequence(Z.reshape(-1), L, B, m, np.ascontiguousarray(active), plan.table, plan.gidx, plan.wflat,
                   plan.b, plan.act, scratch)
    Y = np.empty((L, B, plan.W_out.shape[0]))
    K.readout(Z.reshape(-1), L, B, m, n, plan.W_out.reshape(-1), plan.b_out, plan.out_act, Y.reshape(-1))
    return Z, Y
