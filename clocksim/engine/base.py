"""What every engine shares: input validation, the result type, trace metadata."""

from __future__ import annotations

import abc
import os
import sys
import threading
import time
from contextlib import contextmanager
from functools import partial

import numpy as np
from numba.core import event as numba_event

from .. import cost
from .._validate import as_int, check_options, keyword_names
from ..sched.units import as_step
from ..trace.aggregate import AggregateTrace
from ..errors import ClocksimError, InvalidValueError
from ..model.cwrnn import ClockworkRNN
from ..trace.core import INSTANT_DTYPE, MESSAGE_DTYPE, READOUT_DTYPE, Trace, expand_instant
from .stream import KEEP_KINDS, GrowingRecords, Source

__all__ = ["Engine", "Result", "trace_meta", "check_observed", "CostMismatchError", "MaskTracer",
           "trace_from_mask", "aggregate_from_mask", "TRACE_KINDS", "DerivedReadouts", "DerivedMessages"]

#: What a run records: ``"full"`` (a :class:`Trace`, one row per activation and message) or
#: ``"aggregate"`` (an :class:`AggregateTrace` of per-module totals, for long runs).
TRACE_KINDS = ("full", "aggregate")


class Result:
    """Outputs of :func:`clocksim.simulate`.

    Attributes
    ----------
    y : ndarray, shape (L, n_out) or (B, L, n_out); (n_out,) / (B, n_out); or None
        Output after each step (``keep="all"`` or ``"outputs"``), after the last step
        only (``keep="last"``), or None (``keep="none"``).
    h : ndarray, shape (L, n) or (B, L, n); (n,) / (B, n); or None
        Hidden state after each step (held values included) with ``keep="all"``, after
        the last step with ``keep="last"``, else None. May be a strided view into the
        engine's work array; ``np.ascontiguousarray`` it if needed.
    trace : Trace or AggregateTrace
        Activations, messages and readouts of the run (or their per-module totals with
        ``trace="aggregate"``). An engine may build it lazily (the compiled engine
        derives it from the activity mask on first use).
    engine : str
        Name of the engine that ran.
    wall_time : float
        Seconds spent in the engine (excluding input validation).
    """

    def __init__(self, y: np.ndarray, h: np.ndarray, trace, engine: str, wall_time: float = 0.0):
        self.y = y
        self.h = h
        self.engine = engine
        self.wall_time = wall_time
        self._trace = trace

    @property
    def trace(self) -> Trace:
        """The run's :class:`Trace` (built on first access when the engine defers it)."""
        if callable(self._trace):
            self._trace = self._trace()
        return self._trace

    def __repr__(self) -> str:
        def shape(a):
            return "None" if a is None else str(tuple(a.shape))
        return f"Result(engine={self.engine!r}, y={shape(self.y)}, h={shape(self.h)})"


class Engine(abc.ABC):
    """An engine runs a model over an input batch. Register new ones in ``clocksim.engine.ENGINES``.

    Options every engine takes:

    trace : {"full", "aggregate"}
        What ``Result.trace`` holds: a :class:`~clocksim.Trace` with one row per activation
        and message (default), or an :class:`~clocksim.AggregateTrace` of per-module totals
        whose ``summary()`` is the same, built chunk by chunk in memory that does not grow
        with the number of activations.
    keep : {"all", "outputs", "last", "none"}
        What the run keeps of ``y`` and ``h`` (see :func:`clocksim.simulate`).
    trace_dir : str or path, optional
        Write the full trace's rows to this new folder in parts as the run produces them
        (see :class:`~clocksim.engine.stream.TraceParts`; read it back with
        :func:`~clocksim.engine.stream.read_trace_parts`), holding none of them: ``Result.trace``
        is then the run's :class:`~clocksim.AggregateTrace`, whose summary is the same.
    chunk : int, optional
        Steps per chunk. The run reads its input and keeps its work arrays one chunk at a
        time, carrying its state across; results do not depend on it. Default: the whole
        run for ``keep="all"`` with an in-memory array, else about 8 MB of work array (so a
        memory-mapped or computed input is never read whole).
    """

    name: str = ""

    def __init__(self, *, trace: str = "full", keep: str = "all", chunk: int | None = None, trace_dir=None,
                 step=None, **options):
        check_options(options, type(self).option_names(), where=f"engine {self.name!r}")
        if trace not in TRACE_KINDS:
            raise InvalidValueError(f"got {trace!r}, expected one of {', '.join(map(repr, TRACE_KINDS))}", key="trace")
        if keep not in KEEP_KINDS:
            raise InvalidValueError(f"got {keep!r}, expected one of {', '.join(map(repr, KEEP_KINDS))}", key="keep")
        self.trace, self.keep = trace, keep
        self.chunk = None if chunk is None else as_int("chunk", chunk, minimum=1)
        if trace_dir is not None and not isinstance(trace_dir, (str, os.PathLike)):
            raise InvalidValueError(f"got {trace_dir!r}, expected a folder path", key="trace_dir")
        self.trace_dir = trace_dir
        self.step = as_step(step)           # seconds per input step (DESIGN section 10), or None

    @classmethod
    def option_names(cls) -> list[str]:
        """Every option this engine takes: the keyword parameters of each ``__init__`` in its class tree."""
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and klass is not object:
                names += [n for n in keyword_names(vars(klass)["__init__"]) if n not in names]
        return names

    @abc.abstractmethod
    def run(self, model: ClockworkRNN, source: Source) -> Result:
        """Run ``model`` on the validated input ``source``."""


def trace_meta(model: ClockworkRNN, batch: int, n_steps: int, engine: str, **extra) -> dict:
    """Plain-data description of a run, stored in its :class:`Trace`."""
    meta = {
        "engine": engine,
        "n": model.n, "n_in": model.n_in, "n_out": model.n_out,
        "module_sizes": list(model.module_sizes),
        "labels": [model.module_label(i) for i in range(model.g)],
        "periods": list(model.periods),
        "clocks": [c.to_dict() for c in model.clocks],
        "connectivity": model.connectivity,
        "block_mask": model.block_mask.astype(int).tolist(),
        "start": model.start,
        "input_mode": list(model.input_mode),
        "dtype": model.dtype,                                   # bytes and energy follow it (cost.dtype_itemsize)
        "batch": int(batch),
        "n_steps": int(n_steps),
        "activation_macs": cost.activation_macs(model.module_sizes, model.block_mask, model.n_in).tolist(),
        "readout_macs": cost.readout_macs(model.n, model.n_out),
        "dense_step_macs": cost.dense_step_macs(model.n, model.n_in, model.n_out),
        "time_unit": "step",
        "latency_model": False,
    }
    meta.update(extra)
    return meta


class CostMismatchError(ClocksimError):
    """An engine's kernels executed other work than the schedule calls for (e.g. computing idle modules)."""


def check_observed(engine: str, model: ClockworkRNN, batch: int, observed: np.ndarray,
                   activations: np.ndarray) -> dict:
    """Check the work the kernels report against the schedule's analytic cost; return it as trace metadata.

    Parameters
    ----------
    observed : int64 ndarray, shape (g, 2)
        Per module, the updates the kernels executed and the multiply-adds they ran, counted
        inside the jitted loops where the work happens.
    activations : int64 ndarray, shape (g,)
        Activations of each module that the trace records.

    Raises
    ------
    CostMismatchError
        When a module executed more (or fewer) updates or multiply-adds than its activations
        cost by :func:`clocksim.cost.activation_macs` — the trace would misstate the run's cost.
    """
    per = cost.activation_macs(model.module_sizes, model.block_mask, model.n_in) * batch      # (g,)
    expected = per * activations
    for i in range(model.g):
        if observed[i, 0] != activations[i] or observed[i, 1] != expected[i]:
            raise CostMismatchError(
                f"engine {engine!r}: module {i} ({model.module_label(i)}) executed {int(observed[i, 0])} updates "
                f"and {int(observed[i, 1])} multiply-adds, but the trace records {int(activations[i])} activations "
                f"of {int(per[i])} multiply-adds ({int(expected[i])}); the kernel does work the trace does not count")
    return {"observed_updates": observed[:, 0].tolist(), "observed_macs": observed[:, 1].tolist()}


#: Seconds of kernel compilation after which a run says that it is compiling.
COMPILE_NOTICE_AFTER = 1.0


class _CompileNotice(numba_event.Listener):
    """Prints "compiling kernels (first run only)..." once compilation has taken COMPILE_NOTICE_AFTER seconds.

    Numba signals a compilation only on a cache miss (a kernel loaded from the on-disk cache, as in
    every later process, says nothing), so the notice appears on a fresh install and after an upgrade.
    """

    said = False                            # once per process

    def __init__(self):
        self.depth, self.spent, self.t0, self.timer = 0, 0.0, 0.0, None

    def on_start(self, event) -> None:
        self.depth += 1
        if self.depth == 1 and not _CompileNotice.said:
            self.t0 = time.perf_counter()
            self.timer = threading.Timer(max(COMPILE_NOTICE_AFTER - self.spent, 0.0), self._say)
            self.timer.daemon = True
            self.timer.start()

    def on_end(self, event) -> None:
        self.depth -= 1
        if self.depth == 0 and self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.spent += time.perf_counter() - self.t0

    @staticmethod
    def _say() -> None:
        if not _CompileNotice.said:
            _CompileNotice.said = True
            print("clocksim: compiling kernels (first run only)...", file=sys.stderr, flush=True)


@contextmanager
def compile_notice():
    """Within the block, say on stderr when kernel compilation takes over COMPILE_NOTICE_AFTER seconds."""
    listener = _CompileNotice()
    try:
        with numba_event.install_listener("numba:compile", listener):
            yield
    finally:
        if listener.timer is not None:
            listener.timer.cancel()


#: Steps per chunk when a trace is derived from an activity mask: bounds the temporaries.
MASK_CHUNK = 1 << 16


class MaskTracer:
    """The trace of a synchronous, instantaneous run, built from its activity a chunk of steps at a time.

    Activation rows are ordered by time, then module. Staleness follows the Trace definition:
    the initial state counts as sent at ``start - 1``; a module's own state is not a message.
    The last firing of each module is carried from chunk to chunk, so the records do not
    depend on how the run was chunked. ``kind="aggregate"`` folds each chunk into an
    :class:`AggregateTrace` at once (memory ``O(g^2)``); ``"full"`` keeps the rows.
    """

    def __init__(self, model: ClockworkRNN, batch: int, kind: str = "full", latency_model: bool = False,
                 writer=None):
        g = model.g
        self.model, self.kind, self.steps = model, kind, 0
        self.per_module = cost.activation_macs(model.module_sizes, model.block_mask, model.n_in) * batch
        self.senders = [[j for j in model.inputs_of(i) if j != i] for i in range(g)]
        self.last = np.full(g, model.start - 1, dtype=np.int64)                 # (g,) last firing so far
        self.rows = GrowingRecords(INSTANT_DTYPE)                               # the full trace's rows
        self.writer = writer                                                    # a TraceParts, or None
        self.aggregate = AggregateTrace(trace_meta(model, batch, 0, "", latency_model=latency_model)) \
            if kind == "aggregate" or writer is not None else None

    def add(self, active: np.ndarray) -> None:
        """Fold in the activity ``(C, g)`` of the next C steps."""
        for lo in range(0, active.shape[0], MASK_CHUNK):
            part = active[lo:lo + MASK_CHUNK]                                   # (C, g)
            first_step = self.model.start + self.steps
            rows = self._records(part)                                          # (A,) INSTANT_DTYPE
            if self.aggregate is None:
                self.rows.merge(rows)
                continue
            rec = expand_instant(rows, self.per_module)
            msg = messages_from_activations(self.model, rec)
            ro = np.zeros(part.shape[0], dtype=READOUT_DTYPE)
            # instantaneous activations at step t latch sample t and publish at t: latency 0, NaN if none ran
            ro["time"] = first_step + np.arange(part.shape[0])
            ro["latency"] = ro["reaction"] = np.where(part.any(axis=1), 0.0, np.nan)
            self.aggregate.add(activations=rec, messages=msg, readouts=ro)
            if self.writer is not None:
                self.writer.write(rec, msg, ro)

    def _records(self, part: np.ndarray) -> np.ndarray:
        steps = self.model.start + self.steps + np.arange(part.shape[0], dtype=np.int64)   # (C,)
        self.steps += part.shape[0]
        last_sent = np.maximum.accumulate(np.where(part, steps[:, None], self.last), axis=0)  # (C, g) last <= t
        before = np.vstack([self.last[None], last_sent[:-1]])                  # (C, g) last firing < t
        self.last = last_sent[-1]
        s_idx, mod = np.nonzero(part)
        rec = np.zeros(s_idx.size, dtype=INSTANT_DTYPE)
        rec["module"] = mod
        rec["time"] = steps[s_idx]
        for i, senders in enumerate(self.senders):
            rows = mod == i
            if senders and rows.any():
                t = steps[s_idx[rows]]
                rec["staleness"][rows] = (t[:, None] - before[s_idx[rows]][:, senders]).max(axis=1)
        return rec

    def finish(self, meta: dict) -> Trace | AggregateTrace:
        """The trace of the steps folded in so far, described by ``meta``."""
        if self.aggregate is not None:
            self.aggregate.meta.update(meta)
            return self.aggregate
        rows = self.rows.array()
        # compact rows (14 bytes each); messages and readouts follow from them, derived when read
        # (partials of module-level functions, so the trace still pickles)
        return Trace(rows, partial(messages_from_activations, self.model),
                     DerivedReadouts(rows, partial(expand_instant, macs=self.per_module), self.model.start,
                                     self.steps), meta)


class DerivedReadouts:
    """The readouts of a run, derived from its stored activation rows when read (a callable for :class:`Trace`).

    Parameters
    ----------
    rows : structured ndarray, shape (A,)
        The trace's activation rows as stored (compact).
    expand : callable
        Turns a slice of ``rows`` into ACTIVATION_DTYPE rows.
    start : int
        Arrival time of the first input sample when ``times`` is None (then sample s arrives at ``start + s``).
    steps : int
        Input samples.
    times : ndarray, shape (steps,), optional
        Arrival times of the samples, when given (held: :attr:`nbytes` counts them).
    deadline : float
        As in :func:`readouts_from_activations`.
    """

    def __init__(self, rows: np.ndarray, expand, start: int, steps: int, times: np.ndarray | None = None,
                 deadline: float = np.inf, complete: np.ndarray | None = None):
        self.rows, self.expand, self.start, self.steps = rows, expand, start, steps
        self.times, self.deadline = times, deadline
        self.complete = complete            # (steps,) the readout jobs' finishes, when the readout is a job

    @property
    def nbytes(self) -> int:
        return 0 if self.times is None else int(self.times.nbytes)

    def __call__(self) -> np.ndarray:
        return np.concatenate(list(self.parts()))

    def parts(self):
        """The readouts a chunk of steps at a time (what ``Trace.aggregate`` folds in: it never holds them all)."""
        first = np.full(self.steps, np.inf)                                     # (L,)
        last = np.full(self.steps, -np.inf)                                     # (L,)
        for lo in range(0, self.rows.shape[0], MASK_CHUNK):                     # chunks bound the temporaries
            _latch(first, self.expand(self.rows[lo:lo + MASK_CHUNK]), self.times, self.start, last)
        if self.complete is not None:                                           # the readout job ends it
            last = np.where(np.isfinite(first), np.fmax(last, self.complete), last)
        yield _readouts(first[:0], np.zeros(0), self.deadline, last[:0])        # the dtype, when there are none
        for lo in range(0, self.steps, MASK_CHUNK):
            hi = min(lo + MASK_CHUNK, self.steps)
            times = self.start + np.arange(lo, hi, dtype=np.float64) if self.times is None else self.times[lo:hi]
            yield _readouts(first[lo:hi], times, self.deadline, last[lo:hi])


class DerivedMessages:
    """The messages of a run with a timing model, derived from its activations and, with link latency,
    the arrival times it stored (a callable for :class:`Trace`: see its ``messages``).

    Every activation of module j sends one message to each other module that reads j, at its end;
    only when each arrived is not implied. ``arrive[j]`` (K_j, f_j) holds the arrival times of
    the messages of j's k-th activation (in firing order) at its f_j receivers, in the order of
    :func:`messages_from_activations`; ``arrive=None``: every message arrives as it is sent. The
    rows come out sorted by arrival, send time, sender and receiver, as a recorded message table.
    """

    def __init__(self, model: ClockworkRNN, arrive: list[np.ndarray] | None = None):
        self.model, self.arrive = model, arrive

    @property
    def nbytes(self) -> int:
        return 0 if self.arrive is None else int(sum(a.nbytes for a in self.arrive))

    def __call__(self, rec: np.ndarray, before: np.ndarray) -> np.ndarray:
        out = messages_from_activations(self.model, rec)
        if self.arrive is not None:
            fan_out = np.array([a.shape[1] for a in self.arrive], dtype=np.int64)       # (g,)
            pos = np.cumsum(fan_out[rec["module"]]) - fan_out[rec["module"]]            # (A,) first message of each
            for j in np.unique(rec["module"]).tolist():
                if not fan_out[j]:
                    continue
                rows = np.flatnonzero(rec["module"] == j)                                # j's activations, in order
                k = before[j] + np.arange(rows.size)
                out["arrive"][pos[rows][:, None] + np.arange(fan_out[j])] = self.arrive[j][k]
        return out[np.lexsort((out["receiver"], out["sender"], out["send"], out["arrive"]))]


def messages_from_activations(model: ClockworkRNN, rec: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """Messages of instantaneous delivery: each activation sends its state to every other module it feeds.

    ``before`` (the activations of each module in the rows before ``rec``, see :class:`Trace`) does not
    matter here: each activation's messages follow from it alone.
    """
    receivers = [np.array([i for i in model.receivers_of(j) if i != j], dtype=np.int16) for j in range(model.g)]
    fan_out = np.array([r.size for r in receivers], dtype=np.int64)
    table = np.concatenate(receivers)                                         # receivers, module by module
    first = np.concatenate([[0], np.cumsum(fan_out)[:-1]])                    # (g,) start of each module's list
    out = np.zeros(int(np.bincount(rec["module"], minlength=model.g) @ fan_out), dtype=MESSAGE_DTYPE)
    pos = 0
    for lo in range(0, rec.shape[0], MASK_CHUNK):                             # chunks bound the temporaries
        part = rec[lo:lo + MASK_CHUNK]
        counts = fan_out[part["module"]]
        m = int(counts.sum())
        dst = out[pos:pos + m]
        dst["sender"] = np.repeat(part["module"], counts)
        dst["send"] = dst["arrive"] = np.repeat(part["end"], counts)
        within = np.arange(m) - np.repeat(np.cumsum(counts) - counts, counts)
        dst["receiver"] = table[np.repeat(first[part["module"]], counts) + within]
        pos += m
    return out


def readouts_from_activations(activations: np.ndarray, times: np.ndarray, deadline: float = np.inf) -> np.ndarray:
    """One readout per input sample, at its arrival time, with its end-to-end latency.

    The latency of sample s is the time from its arrival until the published state first
    reflects it: the earliest end (publish time) of an activation whose firing latched
    sample s (the newest sample at or before the firing), minus the arrival time. Samples
    no activation read have latency NaN (the schedule dropped them); with a deadline each
    is a miss (no output ever reflects it).
    """
    first = np.full(times.shape[0], np.inf)
    last = np.full(times.shape[0], -np.inf)
    for lo in range(0, activations.shape[0], MASK_CHUNK):                     # chunks bound the temporaries
        _latch(first, activations[lo:lo + MASK_CHUNK], times, 0, last)
    return _readouts(first, times, deadline, last)


def _latch(first: np.ndarray, activations: np.ndarray, times: np.ndarray | None, start: int = 0,
           last: np.ndarray | None = None) -> None:
    """Fold a chunk of activations into ``first`` (L,): the earliest publish that reflects each sample,
    and into ``last`` (L,), when given, the latest publish of an activation that latched it (the output is
    complete then: DESIGN section 10).

    ``times`` (L,): the samples' arrival times, ascending; None for ``start + s`` (then the newest
    sample at or before ``t`` is ``floor(t) - start``, exactly what a search of those times finds).
    """
    if times is None:
        sample = np.clip(np.floor(activations["time"]) - start, -1, first.shape[0] - 1).astype(np.int64)  # (A,)
    else:
        sample = np.searchsorted(times, activations["time"], side="right") - 1  # (A,)
    ok = sample >= 0
    np.minimum.at(first, sample[ok], activations["end"][ok])
    if last is not None:
        np.maximum.at(last, sample[ok], activations["end"][ok])


def _readouts(first: np.ndarray, times: np.ndarray, deadline: float, last: np.ndarray | None = None) -> np.ndarray:
    """Readout records: ``reaction`` from the first publish (``first``), ``latency`` output-complete from the last
    (``last``; without it the first), ``missed`` on ``latency``; NaN for a sample nothing latched."""
    out = np.zeros(times.shape[0], dtype=READOUT_DTYPE)
    out["time"] = times
    out["reaction"] = np.where(np.isfinite(first), first - times, np.nan)
    if last is None:
        out["latency"] = out["reaction"]
    else:
        out["latency"] = np.where(np.isfinite(first), last - times, np.nan)
    with np.errstate(invalid="ignore"):
        out["missed"] = np.where(np.isnan(out["latency"]), np.isfinite(deadline), out["latency"] > deadline)
    return out


def trace_from_mask(model: ClockworkRNN, active: np.ndarray, batch: int, meta: dict) -> Trace:
    """The full :class:`Trace` of a synchronous, instantaneous run with activity mask ``active`` (L, g)."""
    tracer = MaskTracer(model, batch, "full")
    tracer.add(active)
    return tracer.finish(meta)


def aggregate_from_mask(model: ClockworkRNN, active: np.ndarray, batch: int, meta: dict) -> AggregateTrace:
    """The per-module totals of the same run (its summary equals the full trace's), without ever
    holding more than one chunk of its records: memory ``O(g^2)``, not ``O(activations)``."""
    tracer = MaskTracer(model, batch, "aggregate", bool(meta.get("latency_model")))
    tracer.add(active)
    return tracer.finish(meta)
