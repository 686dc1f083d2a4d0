"""The compiled engine: a sequence in one jitted loop per chunk of steps.

The activity mask ``(c, g)`` of a chunk is computed from the clocks; the loop in
:func:`clocksim.kernels.run_sequence` then runs, step by step, the update of each
active module (only its rows: no compute-then-mask) and copies the rows of held
modules; the readout of each step follows it. A triangular (slow-to-fast) model runs
module-major instead, slowest module first (:mod:`clocksim.kernels.modmajor`, same bits;
:func:`schedule_order`, reported as ``summary()["schedule_order"]``). The trace is derived from
the activity mask, since every activation is instantaneous.

Works only for synchronous clocks (every firing on an integer step); use the
event engine for asynchronous clocks, latencies and compute models.
"""

from __future__ import annotations

import time

import numpy as np

from ..kernels import core as K
from ..kernels import modmajor as MM
from ..trace.aggregate import AggregateTrace
from ..errors import InvalidValueError, UnsupportedError
from ..model.cwrnn import ClockworkRNN
from ..trace.core import Trace
from .base import Engine, MaskTracer, Result, check_observed, trace_meta
from .buffer import InputBuffer
from .plan import Plan, plan_for
from .stream import Keeper, Source, chunk_steps

__all__ = ["CompiledEngine", "forward_arrays", "schedule_order", "MODULE_MAJOR", "STEP_MAJOR"]

MODULE_MAJOR, STEP_MAJOR = "module-major", "step-major"


class CompiledEngine(Engine):
    """Runs the sequence in jitted code, a chunk of steps at a time; synchronous clocks only.

    Takes the options every engine takes (``trace``, ``keep``, ``chunk``: see
    :class:`~clocksim.engine.Engine`). Each chunk starts from the state the previous one
    ended with, so the result does not depend on the chunking. The trace is derived from
    the activity of each chunk; with one chunk, on first access.
    """

    name = "compiled"

    def run(self, model: ClockworkRNN, source: Source) -> Result:
        if not model.synchronous:
            bad = [c.label for c in model.clocks if not c.synchronous]
            raise UnsupportedError(
                f"engine 'compiled': clocks {', '.join(bad)} fire at non-integer times; use engine='events'")
        B = source.B
        plan = plan_for(model)
        chunk = self.chunk
        if chunk is None:
            chunk = source.L if self.keep == "all" and source.in_memory else chunk_steps(B, plan.m)
        keeper = Keeper(self.keep, B, source.L)
        tracer = MaskTracer(model, B, self.tracer(model, B))
        observed = np.zeros((model.g, 2), dtype=np.int64)   # updates and multiply-adds the kernel executed
        scheduled = np.zeros(model.g, dtype=np.int64)      # activations the clocks call for
        watched = [None] * model.g                  # input-driven clocks: watched values at the last firing
        buffer = InputBuffer(plan, B)               # buffered inputs: open windows carried across chunks
        pending = None                              # the last chunk's activity, folded into the trace lazily
        h = None
        L = 0
        t0 = time.perf_counter()
        try:
            for X in source.chunks(chunk):          # (B, c, n_in)
                active = _activity(model, L, X, watched)                     # (c, g)
                Z, Y = forward_arrays(plan, X, active, h, observed, buffer)
                scheduled += active.sum(axis=0)
                keeper.add(Z[1:, :, :model.n], Y)
                h = Z[-1, :, :model.n]
                if pending is not None:
                    tracer.add(pending)
                pending = active
                L += X.shape[1]
            wall = time.perf_counter() - t0
            y, h = keeper.result(source.batched)
            meta = trace_meta(model, B, L, self.name, wall_time=wall, schedule_order=schedule_order(plan, B),
                              **({"step": self.step} if self.step else {}),
                              **check_observed(self.name, model, B, observed, scheduled))

            def build_trace() -> Trace | AggregateTrace:
                if pending is not None:
                    tracer.add(pending)
                return tracer.finish(meta)

            trace = build_trace if tracer.lazy else build_trace()   # files a run writes are whole when it returns
        except BaseException:
            tracer.abort()
            raise
        return Result(y=y, h=h, trace=trace, engine=self.name, wall_time=wall)


def _activity(model: ClockworkRNN, lo: int, X: np.ndarray, watched: list) -> np.ndarray:
    """Activity ``(c, g)`` of the steps ``start + lo ...`` of chunk ``X`` (B, c, n_in).

    Input-driven clocks carry their watched values across chunks in ``watched``.
    """
    c = X.shape[1]
    out = np.empty((c, model.g), dtype=bool)
    for i, clock in enumerate(model.clocks):
        if clock.input_driven:
            out[:, i], watched[i] = clock.changes(X, watched[i])
        else:
            out[:, i] = clock.fires(model.start + lo, c)
    return out


def schedule_order(plan: Plan, B: int | None = None) -> str:
    """The order the compiled engine evaluates a plan in (for ``B`` sequences): ``"module-major"`` when it is
    triangular and ``B <= MM.MAX_BATCH`` (one sequence; or ``B`` is None: the order the plan admits), else
    ``"step-major"``.

    Triangular: every module reads contiguous columns that start at its own rows or after them (itself and
    slower modules, then the input), as with slow-to-fast wiring (and any custom mask whose blocks are all
    on or above the diagonal without gaps). Then the slowest module's whole stretch can run first
    (:mod:`clocksim.kernels.modmajor`), with the same bits. Dense and other custom masks, and buffered
    inputs (a module's input block is then apart from its state columns), run step by step. So does a
    batch of several sequences: each firing is then a product of B rows in either order, and the
    module-major loop measured 1.03-1.4x slower (:data:`clocksim.kernels.modmajor.MAX_BATCH`;
    docs/performance.md). With one sequence, module-major turns a module's equally spaced firings into
    one matrix-matrix product: 0.64-0.97x the step-major time (1.05x on the smallest modules compiled for AVX2).
    """
    t = plan.table
    lo, hi, r0, r1 = t[:, K.P_LO], t[:, K.P_HI], t[:, K.P_R0], t[:, K.P_R1]
    ok = (lo >= 0) & ((lo == r0) | (lo >= r1) | (hi == lo))          # hi == lo: reads nothing
    if not (plan.g and bool(ok.all())) or (B is not None and B > MM.MAX_BATCH):
        return STEP_MAJOR
    return MODULE_MAJOR


def forward_arrays(plan: Plan, X: np.ndarray, active: np.ndarray, h0: np.ndarray | None = None,
                   counts: np.ndarray | None = None, buffer: InputBuffer | None = None,
                   order: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernels over a validated batch.

    Parameters
    ----------
    plan : Plan
    X : ndarray, shape (B, L, n_in)
    active : bool ndarray, shape (L, g)
    h0 : ndarray, shape (B, n) or (n,), optional
        State before the first step (default the model's ``h0``): the last state of the
        previous chunk in a chunked run.
    counts : int64 ndarray, shape (g, 2), optional
        Accumulates, per module, the updates the kernel executed and their multiply-adds.
    buffer : InputBuffer, optional
        The open input windows of buffered modules (a chunked run passes the same one for
        every chunk); default: windows that open at the first step.
    order : {"module-major", "step-major"}, optional
        The kernel to run (default :func:`schedule_order` for this batch; both give the same bits,
        benchmarks compare them). ``"module-major"`` needs a triangular plan.

    Returns
    -------
    Z : ndarray, shape (L+1, B, plan.m)
        ``Z[s+1, :, :n]`` is the state after step s, ``Z[0, :, :n]`` is h0.
    Y : ndarray, shape (L, B, n_out)
        Outputs.
    """
    B, L, n_in = X.shape
    n, m = plan.n, plan.m
    dt = plan.dtype                             # every float array in the model's dtype (DESIGN section 12)
    X = np.ascontiguousarray(X, dtype=dt)
    if plan.buffered:
        X = (InputBuffer(plan, B) if buffer is None else buffer).inputs(X, active)    # (B, L, n_x)
    Z = np.empty((L + 1, B, m), dt)             # the kernel writes the inputs of each step as it goes
    Z[0, :, :n] = plan.h0 if h0 is None else h0
    Z[L, :, n:] = 0.0
    counts = np.zeros((plan.g, 2), dtype=np.int64) if counts is None else counts
    Y = np.empty((L, B, plan.W_out.shape[0]), dt)
    W_out = plan.W_out.ravel().copy()       # (n_out * n,) writable, as wflat: the product compiles once, not twice
    X = X.reshape(-1)
    if order not in (None, MODULE_MAJOR, STEP_MAJOR):
        raise InvalidValueError(key="order", value=order, expected=f"{MODULE_MAJOR!r} or {STEP_MAJOR!r}")
    chosen = schedule_order(plan, B)
    if order == MODULE_MAJOR and schedule_order(plan) != MODULE_MAJOR:
        raise UnsupportedError("module-major evaluation needs a triangular model (every module reads itself and "
                               "slower modules only, contiguous reads)", key="order")
    if (order or chosen) == MODULE_MAJOR:
        MM.run_module_major(Z.reshape(-1), L, B, m, np.ascontiguousarray(active), plan.table, plan.wflat, plan.b,
                            plan.act, counts, W_out, plan.b_out, plan.out_act, Y.reshape(-1), X,
                            MM.block_steps(B, m))
    else:
        scratch = np.empty(max(plan.c_max, 1) * B, dt)
        K.run_sequence(Z.reshape(-1), L, B, m, np.ascontiguousarray(active), plan.table, plan.gidx, plan.wflat,
                       plan.b, plan.act, scratch, counts, W_out, plan.b_out, plan.out_act, Y.reshape(-1), X)
    return Z, Y
