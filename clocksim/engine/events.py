"""The event engine: every module is a SimPy process with its own clock.

A module process sleeps until its clock's next firing, runs the shared jitted
update on its own rows (all batch rows in one call) from its *inbox* — the
latest messages it has received from the modules it reads, plus the input —
and then publishes its new state, which sends it as a message to every module
that reads it (the faster ones under slow-to-fast wiring).

Synchronous runs without a timing model deliver every message instantly, so they
send none: a module reads the published state where the readout keeps it (the
compiled engine's work-array rows), and the trace derives the messages from the
activations. An activation then costs the same however many modules read it.

Order inside one instant of model time is explicit (SimPy orders events at the
same time by priority, then by the order they were scheduled; clocksim uses
priority slots so that nothing depends on scheduling order)::

    WINDOW_END(-1) asynchronous runs read the output of step s here, at the arrival of
                   sample s+1 (one step after the last sample), before anything else happens
    DELIVER   (0)  delayed messages arrive
    COMPUTE   (1)  modules that fire now wake up (env.timeout) and, without a compute
                   model, compute from their inboxes
    ARBITRATE (2)  with a compute model: the activations requested in this instant are
                   queued for the cores in priority order (so who asked first never matters)
    PUBLISH   (3)  new states are published and sent (the two-phase tick); synchronous
                   runs read the output right after
    LATE_READ (4)  with a scheduled compute model (below): a job dispatched in the instant its own
                   module's previous job finished reads its inputs here, after that job's publish

Compute models. Round two's model (``ComputeModel.legacy``: only cores, throughput, overhead and a
priority rule, non-preemptive, ``readout=False``) runs as then, each module a process queueing on a
``simpy.PriorityResource`` (a core freed at t goes to a job that already waited, before the jobs
released at t): results bit for bit as in round two. Every other compute model runs its jobs through
:class:`clocksim.sched.scheduler.Scheduler`, driven by callbacks: a firing releases a job in the
COMPUTE slot (a module's jobs run one after the other: one released while the previous runs waits
for it), a job finishing frees its core in the COMPUTE slot, and in the ARBITRATE slot of every
instant where something was released or finished the scheduler decides who runs (preemptions
included), all releases and finishes of the instant known. A job reads its inputs when it first
starts (ARBITRATE, or LATE_READ as above) and publishes in the PUBLISH slot of the instant it
finishes; a preempted job resumes with its remaining work. With ``readout=True`` each input step's
readout is a job too, released when the last job that latched the step's sample finishes (at the
sample's arrival when none latched it), ahead of every module job.

So a module that fires at step ``t`` reads what was published up to ``t - 1``
and all results of ``t`` publish together: the synchronous semantics, whatever
order the processes were started in.

Timing models (``latency=``, ``compute=``) make messages take time and updates
queue for cores, so modules can read stale state; the trace records how stale.
With zero latency and integer clocks the run equals the compiled engine's bit
for bit: the same kernels run on the same values in the same order.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_right
from functools import partial

import numpy as np
import simpy

from .. import cost
from ..kernels import core as K
from .._validate import as_int_list, as_real_array
from ..trace.aggregate import AggregateTrace
from ..model.clocks import resolve_clocks
from ..cost import Delay, LinkLatency, as_delay
from ..sched.compute import ComputeModel
from ..errors import InvalidValueError, ShapeError, UnsupportedError
from ..sched.records import job_records, schedule_summary
from ..sched.scheduler import Job, Scheduler
from ..sched.units import in_steps, parse_time
from ..model.cwrnn import ClockworkRNN
from ..trace.core import ACTIVATION_DTYPE, INSTANT_DTYPE, MESSAGE_DTYPE, TIMED_DTYPE, Trace, expand_instant, expand_timed
from ..trace.tracers import FullTracer, GrowingRecords, Tracer
from ..kernels import events as EK
from .base import (
    DerivedMessages,
    DerivedReadouts,
    Engine,
    Result,
    _latch,
    _readouts,
    check_observed,
    messages_from_activations,
    trace_meta,
)
from .buffer import InputBuffer
from .plan import Plan, plan_for
from .stream import Keeper, Source, chunk_steps

__all__ = ["EventEngine", "WINDOW_END", "DELIVER", "COMPUTE", "ARBITRATE", "PUBLISH"]

WINDOW_END, DELIVER, COMPUTE, ARBITRATE, PUBLISH, LATE_READ = -1, 0, 1, 2, 3, 4
CHUNK = 1 << 16     # records held before they are folded into an aggregate trace


class Slot(simpy.events.Event):
    """A timeout in an explicit priority slot (SimPy's Timeout always uses priority 1).

    Without a delay it is not scheduled; :meth:`again` schedules it, and schedules it anew once
    SimPy has processed it: a process or callback chain that waits on one event after another
    reuses one object instead of making an event per wake-up.
    """

    __slots__ = ()

    def __init__(self, env: simpy.Environment, delay: float | None = None, priority: int = COMPUTE):
        self.env = env
        self._value = None
        self._ok = True
        if delay is None:
            self.callbacks = None               # as a processed event: nothing waits on it
        else:
            self.callbacks = []
            env.schedule(self, priority, delay)

    def again(self, delay: float, priority: int) -> "Slot":
        """Schedule this (processed or never scheduled) event ``delay`` from now in ``priority``."""
        self.callbacks = []
        self.env.schedule(self, priority, delay)
        return self


class _ClockProcess(simpy.Process):
    """A module's clock on the synchronous path: a SimPy process whose generator waits only on its own
    :class:`Slot`, which never fails.

    SimPy's ``Process._resume`` handles failed events, interrupts and yields of anything (a try block per
    resume and a check of what was yielded); this one resumes the generator and waits on the Slot it yields,
    and hands anything else (a failed event: an interrupt) to SimPy's. One resume per activation: it cut the
    synchronous run's Python work by about 230 instructions per activation (callgrind, events g8x2 L2000).
    """

    __slots__ = ()

    def _resume(self, event) -> None:
        if not event._ok:
            return super()._resume(event)
        env = self.env
        env._active_proc = self
        try:
            event = self._generator.send(None)
        except StopIteration as stop:
            event = None
            self._ok, self._value = True, (stop.args[0] if stop.args else None)
            env.schedule(self)
        else:
            event.callbacks.append(self._resume)
        self._target = event
        env._active_proc = None


class _CoreArbiter:
    """Queues the compute requests of one instant on a ``simpy.PriorityResource`` in a fixed order.

    A request made straight from a process would be granted if a core happened to be
    free, so the winner would be whichever process SimPy resumed first. Instead the
    requests of an instant are collected and issued together in the ARBITRATE slot,
    ordered by (priority, firing time, module index).
    """

    def __init__(self, env: simpy.Environment, cores: int):
        self.env = env
        self.pool = simpy.PriorityResource(env, capacity=cores)
        self.free = list(range(cores))       # core ids, lowest first
        self.pending: list = []
        self.scheduled = False

    def submit(self, priority: int, fire_t: float, module: int) -> simpy.Event:
        """An event whose value is the pool request (yield it, then yield the request)."""
        ev = self.env.event()
        heapq.heappush(self.pending, (priority, fire_t, module, ev))
        if not self.scheduled:
            self.scheduled = True
            Slot(self.env, 0.0, ARBITRATE).callbacks.append(self._issue)
        return ev

    def _issue(self, _event) -> None:
        self.scheduled = False
        while self.pending:
            priority, _, _, ev = heapq.heappop(self.pending)
            ev.succeed(self.pool.request(priority=priority))


class EventEngine(Engine):
    """Runs each module as a SimPy process (see the module docstring).

    Parameters
    ----------
    latency : float, Delay or LinkLatency, optional
        Message delay on every link (model time); default none.
    compute : ComputeModel, optional
        Updates take ``overhead + macs / throughput`` on a pool of ``cores``; default: instantaneous.
    deadline : float, optional
        A readout whose end-to-end latency exceeds it counts as a miss.
    times : array_like, shape (L,), optional
        Arrival times of the input samples (strictly increasing); default ``start + s``.
        The output of step s is the state published by the arrival of sample s+1 (one step
        after the last sample for the last one): with zero costs exactly the synchronous output.
    order : sequence of int, optional
        Order in which the module processes are started (a permutation of the modules).
        Results do not depend on it; tests use it to prove so.
    progress : callable, optional
        Called as ``progress(k)`` when k more steps have been read out (about every 1% of the run).
    **options
        ``trace``, ``keep`` and ``chunk``, as for every engine (:class:`~clocksim.engine.Engine`):
        records are folded into the trace chunk by chunk, and the input is held three chunks at a
        time (see :class:`_Simulation`).
    """

    name = "events"

    def __init__(self, *, latency=None, compute: ComputeModel | None = None, deadline: float | None = None,
                 times=None, order=None, progress=None, **options):
        super().__init__(**options)
        if progress is not None and not callable(progress):
            raise InvalidValueError(f"got {progress!r}, expected a callable taking a step count", key="progress")
        self.progress = progress
        if latency is None or isinstance(latency, LinkLatency):
            self.latency = latency
        elif isinstance(latency, (Delay, int, float)) and not isinstance(latency, bool):
            self.latency = LinkLatency(as_delay(latency, "latency"))
        else:
            raise InvalidValueError(f"got {latency!r}, expected a delay >= 0, a Delay or a LinkLatency", key="latency")
        if compute is not None and not isinstance(compute, ComputeModel):
            raise InvalidValueError(f"got {compute!r}, expected a ComputeModel", key="compute")
        self.compute = compute
        self.deadline = None if deadline is None else in_steps("deadline", parse_time("deadline", deadline), self.step)
        self.times = None if times is None else as_real_array("times", times, ndim=1)
        if self.times is not None and self.times.size:
            if self.times.size > 1 and not (np.diff(self.times) > 0).all():
                raise InvalidValueError("expected strictly increasing arrival times", key="times")
            if self.times[0] < 0:
                raise InvalidValueError(f"got {self.times[0]:g} as the first time, expected times >= 0", key="times")
        self.order = None if order is None else as_int_list("order", order, what="a list of module numbers")

    @property
    def timing_model(self) -> bool:
        """Whether latency, compute, a deadline or input arrival times are modelled (:func:`cost.has_timing_model`)."""
        return cost.has_timing_model(self.latency, self.compute, self.deadline, self.times)

    def run(self, model: ClockworkRNN, source: Source) -> Result:
        if self.times is not None and source.L is not None and self.times.shape != (source.L,):
            raise ShapeError(f"got shape {self.times.shape}, expected ({source.L},): one arrival time "
                             "per input step", key="times")
        order = self._process_order(model.g)
        if self.latency is not None:
            self.latency.check(model.g)
        t0 = time.perf_counter()
        tracer = self.tracer(model, source.B, latency_model=self.timing_model)
        try:
            sim = _Simulation(model, plan_for(model), source, self, tracer)
            sim.run(order)
        except BaseException:
            tracer.abort()
            raise
        wall = time.perf_counter() - t0
        y, h = sim.keeper.result(source.batched)
        extra = {"wall_time": wall, "latency_model": self.timing_model}
        if self.latency is not None:
            extra["latency"] = self.latency.to_dict()
        if self.compute is not None:
            extra["compute"] = self.compute.to_dict()
            if callable(getattr(self.compute.device, "to_dict", None)):      # a Device: the summary's energy
                extra["device"] = self.compute.device.to_dict()
        if self.deadline is not None:
            extra["deadline"] = self.deadline
        if self.times is not None:
            extra["time_unit"] = "model time"
        if self.step is not None:
            extra["step"] = self.step
        if sim.tasks is not None:
            extra["schedule"] = sim.schedule
        observed = sim.I[sim.I[EK.H_COUNT]: sim.I[EK.H_COUNT] + 2 * model.g].reshape(model.g, 2)
        extra.update(check_observed(self.name, model, source.B, observed, sim.recorded))
        meta = trace_meta(model, source.B, sim.n_steps, self.name, **extra)
        trace = sim.trace(meta)
        return Result(y=y, h=h, trace=trace, engine=self.name, wall_time=wall)

    def _process_order(self, g: int) -> list[int]:
        if self.order is None:
            return list(range(g))
        if sorted(self.order) != list(range(g)):
            raise InvalidValueError(f"got {self.order}, expected a permutation of 0..{g - 1}", key="order")
        return self.order


def _chunk_size(model: ClockworkRNN, plan: Plan, source: Source, engine: EventEngine) -> int:
    """Steps per chunk of an event run: the whole input for input-driven clocks (refused when it streams)."""
    B, L = source.B, source.L
    c = engine.chunk
    if any(clock.input_driven for clock in model.clocks):
        if L is None or (c is not None and c < L):
            bad = [clock.label for clock in model.clocks if clock.input_driven]
            raise UnsupportedError(
                f"engine 'events': clocks {', '.join(bad)} depend on the whole input; pass x as an array "
                "and no chunk= (the compiled engine streams them)")
        c = L
    if c is None:
        c = L if engine.keep == "all" and source.in_memory else chunk_steps(B, plan.m)
    return c


class _Simulation:
    """One run: the arenas, the SimPy environment and the processes.

    The input is read a chunk of ``c`` steps at a time. The arena holds a window of at most
    three chunks of input (the previous one, for activations still queued for a core; the
    current one; the next one, read ahead so that the end of the run is known in time) and
    the readout states of the current chunk. The readout process drives the chunks: after the
    readout of a chunk's last step it reads that chunk's outputs, folds the records held so
    far into the trace, and slides the window. The SimPy environment, and with it every pending
    firing, queued activation and message in flight, lives on across chunks, so the run does
    not depend on the chunk size.
    """

    def __init__(self, model: ClockworkRNN, plan: Plan, source: Source, engine: EventEngine, tracer: Tracer):
        self.model, self.plan, self.engine, self.source = model, plan, engine, source
        # The readout weights as writable copies: the kernels then see the same array types as in
        # the activations (arena views), so the shared products compile once per run, not twice.
        self.W_out, self.b_out = plan.W_out.ravel().copy(), plan.b_out.copy()       # (n_out * n,), (n_out,)
        self.B = source.B
        self.c = _chunk_size(model, plan, source, engine)
        self.chunks = source.chunks(self.c)
        self.keeper = Keeper(engine.keep, source.B, source.L)
        macs = cost.activation_macs(model.module_sizes, model.block_mask, model.n_in) * source.B
        self._timing(macs)
        self._recording(tracer)
        self._open_window()
        self._build_arenas(macs)
        self._write_window()

    def _timing(self, macs: np.ndarray) -> None:
        """What the run models of time: the compute model (a scheduled one's task set), latency, the deadline."""
        model, engine = self.model, self.engine
        compute = engine.compute
        self.tasks = None                   # a scheduled compute model's task set (see the module docstring)
        if compute is not None and not compute.legacy:
            self.tasks = compute.task_set(model, self.B, engine.step)
            self.duration = self.tasks.wcet.copy()
        else:
            self.duration = compute.duration(macs) if compute is not None else np.zeros(model.g)
        self.zero_latency = engine.latency is None or engine.latency.is_zero
        self.fast = (self.zero_latency and engine.compute is None and model.synchronous
                     and engine.times is None)
        self.deadline = np.inf if engine.deadline is None else engine.deadline

    def _recording(self, tracer: Tracer) -> None:
        """Where the records go: the run's tracer, and what is kept here for a tracer that holds the rows."""
        model = self.model
        self.tracer = tracer
        # a scheduled compute model fixes each activation's end when its job finishes, so its rows are held
        # whole: by a FullTracer when the run's tracer holds none, which then takes the finished trace
        # (trace="aggregate" then costs memory per activation)
        self.rows_tracer = tracer if tracer.holds_rows or self.tasks is None else FullTracer()
        # a tracer that holds the rows gets compact rows (the rest is derived when read, see trace()):
        # INSTANT_DTYPE rows on the fast path, else TIMED_DTYPE rows and, with link latency, the
        # arrival time of each message, by sender, sending activation and receiver
        self.compact = self.rows_tracer.holds_rows
        self.rows_dtype = INSTANT_DTYPE if self.fast else ACTIVATION_DTYPE if self.tasks is not None else TIMED_DTYPE
        self.arrive, self.arrived = None, 0
        if self.compact and not self.zero_latency:
            fan_out = [[r for r in model.receivers_of(j) if r != j] for j in range(model.g)]
            self.arrive = [GrowingRecords(np.float64, (len(f),)) for f in fan_out]
            self.arrive_slot = np.zeros((model.g, model.g), dtype=np.int64)    # [sender, receiver] -> column
            for j, f in enumerate(fan_out):
                self.arrive_slot[j, f] = np.arange(len(f))
        self.recorded = np.zeros(model.g, dtype=np.int64)             # activations in the trace, per module

    def _open_window(self) -> None:
        """Read the first two chunks of input; the clocks, and the readouts' first and last publishes."""
        c, L, model = self.c, self.source.L, self.model
        self.window: list[tuple[int, np.ndarray, np.ndarray]] = []   # (first sample, X (B, c, n_in), ts (c,))
        self.cur = 0                                                    # the current chunk in the window
        self.n_steps = 0                                                # samples read so far
        self.end = np.inf                                               # end of the run, once known
        self.buffer = InputBuffer(self.plan, self.B)                    # buffered inputs' open windows
        self.buffered_upto = 0                                          # samples whose reductions are computed
        self._read_chunk()
        self._read_chunk()
        first = self.window[0]
        self.t_first = float(first[2][0])                   # firings in the input's windows [ts[0], end)
        self.t_init = float(first[2][0] - 1.0)              # h0 counts as sent then
        if c == L:                                          # one chunk: input-driven clocks see the whole input
            self.clocks = resolve_clocks(model.clocks, first[1], first[2])
        else:
            self.clocks = list(model.clocks)
        self.first = np.full(min(3 * c, L if L is not None else 3 * c), np.inf)  # earliest publish, per sample
        self.last = np.full(self.first.shape[0], -np.inf)                        # latest publish, per sample

    # ------------------------------------------------------------------ input window
    def _read_chunk(self) -> None:
        """Read the next chunk into the window, or learn that the input has ended."""
        if self.end < np.inf:
            return
        X = next(self.chunks, None)
        lo = self.n_steps
        if X is None:
            last = self.window[-1][2][-1]
            self.end = float(last + 1.0)
            times = self.engine.times
            if times is not None and times.size != lo:
                raise ShapeError(f"got shape {times.shape}, expected ({lo},): one arrival time per input step",
                                 key="times")
            return
        c = X.shape[1]
        times = self.engine.times
        if times is None:
            ts = self.model.start + np.arange(lo, lo + c, dtype=np.float64)
        else:
            if times.size < lo + c:
                raise ShapeError(f"got shape {times.shape}, but x has more than {times.size} steps; "
                                 "expected one arrival time per input step", key="times")
            ts = times[lo:lo + c]
        self.window.append((lo, X, ts))
        self.n_steps = lo + c

    def _latches(self, lo: int, ts: np.ndarray) -> np.ndarray:
        """``(c, g)`` bool: some firing of module i latches sample ``lo + s`` (fires in ``[ts[s], ts[s+1])``)."""
        times = self.engine.times
        after = times[lo + ts.size] if times is not None and lo + ts.size < times.size else ts[-1] + 1.0
        out = np.zeros((ts.size, self.model.g), dtype=bool)
        for i, _ in self.plan.buffered:
            fired = self.clocks[i].firing_times(max(ts[0], self.t_first), min(after, self.end))    # (F,)
            out[np.searchsorted(ts, fired, side="right") - 1, i] = True
        return out

    def _write_window(self) -> None:
        """Copy the window's inputs and arrival times into the arena.

        Chunks new to the window first get the reductions of buffered modules' windows
        (:class:`InputBuffer`), from the samples that each module's firings latch.
        """
        if self.plan.buffered:
            for k, (lo, X, ts) in enumerate(self.window):
                if lo >= self.buffered_upto:
                    self.window[k] = (lo, self.buffer.inputs(X, self._latches(lo, ts)), ts)     # (B, c, n_x)
                    self.buffered_upto = lo + ts.size
        S, V, I, B, n_x = self.S, self.V, self.I, self.B, self.plan.n_x
        pos = 0
        for _, X, ts in self.window:
            c = ts.shape[0]
            S[self.off["ts"] + pos: self.off["ts"] + pos + c] = ts
            xs = V[self.off["x"] + pos * B * n_x: self.off["x"] + (pos + c) * B * n_x]
            xs.reshape(c, B, n_x)[:] = X.transpose(1, 0, 2)
            pos += c
        I[EK.H_XBASE] = self.window[0][0]
        I[EK.H_XN] = pos
        I[EK.H_ZBASE] = sum(ts.shape[0] for _, _, ts in self.window[:self.cur])

    def _end_chunk(self) -> None:
        """After the readout of the current chunk's last step: its outputs, its records, the next chunk."""
        if self.I[EK.H_ERR]:
            raise UnsupportedError(
                f"engine 'events': an activation waited for a core longer than a chunk of {self.c} steps, so its "
                "input left the window; pass a larger chunk=")
        plan, model, B = self.plan, self.model, self.B
        c = self.window[self.cur][2].shape[0]
        z = self.view["z"]
        Y = np.empty((c, B, model.n_out), plan.dtype)
        K.readout(z, c, B, plan.m, model.n, self.W_out, self.b_out, plan.out_act, Y.reshape(-1))
        Z = z.reshape(-1, B, plan.m)
        self.keeper.add(Z[1:c + 1, :, :model.n], Y)
        self.flush()
        if self.cur + 1 < len(self.window):          # more to come: slide the window
            Z[0] = Z[c]
            if self.cur == 1:
                self._finish_readouts(1)
                self.window.pop(0)
            self.cur = 1
            self._read_chunk()
            self._write_window()
            if self.tasks is not None:
                self._count_latches()

    def _finish_readouts(self, k: int) -> None:
        """The readouts of the window's first k chunks are final: record them and drop them from ``first``."""
        if self.compact:
            return                          # derived from the activations when read (see trace())
        m = sum(ts.shape[0] for _, _, ts in self.window[:k])
        ts = np.concatenate([ts for _, _, ts in self.window[:k]])
        ro = _readouts(self.first[:m], ts, self.deadline, self.last[:m])
        self.first[:-m] = self.first[m:].copy()
        self.first[-m:] = np.inf
        self.last[:-m] = self.last[m:].copy()
        self.last[-m:] = -np.inf
        self.tracer.add(readouts=ro)

    def trace(self, meta: dict) -> Trace | AggregateTrace:
        """The run's trace once it has ended."""
        if self.tasks is not None:
            return self._scheduled_trace(meta)
        macs = cost.activation_macs(self.model.module_sizes, self.model.block_mask, self.model.n_in) * self.B
        if self.fast:                       # as the compiled engine's trace (messages already in arrival order)
            expand = partial(expand_instant, macs=macs)
            msg = partial(messages_from_activations, self.model)
        else:
            expand = partial(expand_timed, macs=macs, durations=np.asarray(self.duration, dtype=np.float64))
            msg = DerivedMessages(self.model, self._arrivals(check=True))
        times = self.engine.times
        start = self.model.start if times is None else 0
        self.tracer.derive(messages=msg, readouts=partial(DerivedReadouts, expand=expand, start=start,
                                                          steps=self.n_steps, times=times, deadline=self.deadline),
                           expand=expand)                      # ignored by a tracer that holds no rows
        return self.tracer.finish(meta)

    def _arrivals(self, check: bool = False) -> list[np.ndarray] | None:
        """The arrival times of each sender's messages (see DerivedMessages), when link latency was recorded."""
        if self.arrive is None:
            return None
        arrive = [a.array(int(self.recorded[j])) for j, a in enumerate(self.arrive)]
        if check and self.arrived != sum(a.size for a in arrive):
            raise RuntimeError(f"engine 'events': {self.arrived} messages arrived, but the activations "
                               f"sent {sum(a.size for a in arrive)}")
        return arrive

    def _scheduled_trace(self, meta: dict):
        """The trace of a run with a scheduled compute model: activation ends from the jobs' finishes."""
        jobs, segments = self.job_table, self.segment_table
        rows = self.rows_tracer.rows()
        mine = jobs[jobs["module"] < self.model.g]
        order = np.lexsort((mine["release"], mine["module"]))
        rorder = np.lexsort((rows["time"], rows["module"]))
        if rorder.size != order.size:
            raise RuntimeError(f"engine 'events': {rows.shape[0]} activations but {order.size} module jobs")
        rows["end"][rorder] = mine["finish"][order]
        times = self.engine.times
        start = self.model.start if times is None else 0
        complete = np.asarray(self.complete, dtype=np.float64)[:self.n_steps] if self.tasks.readout_wcet is not None \
            else None
        self.rows_tracer.derive(messages=DerivedMessages(self.model, self._arrivals()),
                                readouts=partial(DerivedReadouts, expand=_as_is, start=start, steps=self.n_steps,
                                                 times=times, deadline=self.deadline, complete=complete),
                                jobs=jobs, segments=segments)
        self.tracer.take(self.rows_tracer.finish(meta))     # the rows are final only now: taken whole
        return self.tracer.finish(meta)

    # ------------------------------------------------------------------ layout
    def _build_arenas(self, macs: np.ndarray) -> None:
        """Lay out the float arena S and the int arena I (see event_kernels' docstring)."""
        model, plan, B = self.model, self.plan, self.B
        # inbox i: plan.reads[i] = senders' units, then x; cols[i, j]: where sender j's units start in it
        # (numpy over the (g, g) mask, not loops: setting up a run of many modules must not cost O(g^2) in Python)
        mask = model.block_mask                                                          # (g, g) [receiver, sender]
        sizes = np.asarray(model.module_sizes, dtype=np.int64)
        cols = np.cumsum(mask * sizes, axis=1) - mask * sizes                            # (g, g)
        width = np.array([len(r) for r in plan.reads], dtype=np.int64)                   # (g,)
        inbox_off = (np.cumsum(B * width) - B * width).tolist()
        # records are folded in once CHUNK are held (checked before each activation and publish of the
        # general path, and every check_every readouts): room for check_every synchronous ticks more
        g = model.g
        self.check_every = max(1, min(64, CHUNK // (g * g)))
        self.cap_msg = 0 if self.fast else CHUNK + self.check_every * g * g   # the fast path sends none
        cap_act = CHUNK + self.check_every * g
        S, V, view, off = self._value_arenas(int(B * width.sum()), inbox_off, cap_act)
        I = self._int_arena(cols, width, inbox_off, macs)
        header = {EK.H_G: g, EK.H_N: model.n, EK.H_NIN: model.n_in, EK.H_B: B, EK.H_M: plan.m,
                  EK.H_L: self.first.shape[0], EK.H_ACT: plan.act, EK.H_WLEN: plan.wflat.size, EK.H_XW: plan.n_x,
                  EK.H_ZROWS: self.c + 1, EK.H_ACTCAP: cap_act, EK.H_MSGCAP: self.cap_msg}  # extents the kernels check
        for slot, name in ((EK.H_NXT, "nxt"), (EK.H_PUB, "pub"), (EK.H_RECV, "recv"), (EK.H_PUBT, "pubt"),
                           (EK.H_X, "x"), (EK.H_TS, "ts"), (EK.H_W, "w"), (EK.H_BIAS, "bias"),
                           (EK.H_ACTREC, "act"), (EK.H_MSGREC, "msg"), (EK.H_Z, "z")):
            header[slot] = off[name]
        for slot, value in header.items():
            I[slot] = value
        EK.seal(S, V, I)                                # the layout checked against the arenas once
        self.S, self.V, self.I, self.view, self.cols, self.off = S, V, I, view, cols, off

    def _value_arenas(self, n_inbox: int, inbox_off: list[int], cap_act: int) -> tuple[np.ndarray, np.ndarray, dict, dict]:
        """The time arena S (float64), the value arena V (the model's dtype), their sections as views and
        the sections' offsets (each within its own arena); every module starts holding h0."""
        model, plan, B, c = self.model, self.plan, self.B, self.c
        g, n, m = model.g, model.n, plan.m
        W = self.first.shape[0]
        values = {"inbox": n_inbox, "x": W * B * plan.n_x, "w": plan.wflat.size, "bias": n,   # V: the model's dtype
                  "nxt": B * n, "pub": B * n, "z": (c + 1) * B * m}
        times = {"ts": W, "recv": g * g, "pubt": g,                                            # S: float64
                 "act": EK.ACT_COLUMNS * cap_act, "msg": EK.MSG_COLUMNS * self.cap_msg}
        off, view = {}, {}
        S, V = np.empty(sum(times.values())), np.zeros(sum(values.values()), plan.dtype)
        S[:times["ts"] + times["recv"] + times["pubt"]] = 0.0    # the rest (the records) is written before it is read
        for arena, sections in ((S, times), (V, values)):
            total = 0
            for name, size in sections.items():
                off[name], total = total, total + size
                view[name] = arena[off[name]:off[name] + size]
        view["w"][:] = plan.wflat
        view["bias"][:] = plan.b
        h0 = np.broadcast_to(plan.h0, (B, n))
        view["nxt"][:] = h0.ravel()
        view["pub"][:] = h0.ravel()
        for i in range(0 if self.fast else g):      # everyone holds h0, sent at t_init (the fast path reads z)
            rows = plan.reads[i][plan.reads[i] < n]
            box = V[inbox_off[i]:inbox_off[i] + B * len(plan.reads[i])].reshape(B, -1)
            box[:, :rows.size] = h0[:, rows]
        view["recv"][:] = view["pubt"][:] = self.t_init
        view["z"].reshape(c + 1, B, m)[0, :, :n] = h0
        return S, V, view, off

    def _int_arena(self, cols: np.ndarray, width: np.ndarray, inbox_off: list[int], macs: np.ndarray) -> np.ndarray:
        """The int arena I: the header (filled in by the caller) and the tables the kernels index."""
        model, plan = self.model, self.plan
        g, mask = model.g, model.block_mask
        # deliveries: per sender j, (receiver, column) pairs; per receiver, its senders other than itself
        send, recv = np.nonzero(mask.T)                                                  # sender-major
        dlist = np.stack([recv, cols[recv, send]], axis=1)
        dptr = np.concatenate([[0], np.cumsum(mask.sum(axis=0))])
        others = mask & ~np.eye(g, dtype=bool)
        slist = np.nonzero(others)[1]                                                    # receiver-major
        sptr = np.concatenate([[0], np.cumsum(others.sum(axis=1))])
        x0 = np.zeros(g, dtype=np.int64)                                                 # first input column read
        for j, _ in plan.buffered:
            x0[j] = plan.x_offset(j)
        mod = np.stack([inbox_off, width, width - model.n_in, macs, x0], axis=1)         # (g, MOD_COLUMNS)
        parts = {EK.H_PLAN: plan.table, EK.H_MOD: mod, EK.H_DPTR: dptr, EK.H_DLIST: dlist,
                 EK.H_SPTR: sptr, EK.H_SLIST: slist, EK.H_DIRTY: np.zeros(g), EK.H_COUNT: np.zeros(2 * g),
                 EK.H_GIDX: plan.gidx, EK.H_PSEAL: np.zeros_like(plan.table)}
        parts = {slot: np.ravel(np.asarray(arr, dtype=np.int64)) for slot, arr in parts.items()}
        I = np.zeros(EK.HEADER + sum(a.size for a in parts.values()), dtype=np.int64)
        pos = EK.HEADER
        for slot, arr in parts.items():
            I[slot] = pos
            I[pos:pos + arr.size] = arr
            pos += arr.size
        return I

    # ------------------------------------------------------------------ processes
    def run(self, order: list[int]) -> None:
        env = simpy.Environment()
        self.env = env
        self._bind_kernels()
        if self.fast:
            for i in order:
                _ClockProcess(env, self._module_sync(env, i))
        elif self.tasks is not None:
            self._start_jobs(env, order)
        else:
            compute = self.engine.compute
            self.arbiter = _CoreArbiter(env, compute.cores) if compute is not None else None
            self.prio = compute.priorities(self.model.periods) if compute is not None else [0] * self.model.g
            self.link_rng = {}
            for i in order:
                env.process(self._module_general(env, i))
        self._drive(env, self._readout())
        env.run()
        if self.tasks is not None:
            self.job_table, self.segment_table, self.schedule = self._schedule_records()
        if self.I[EK.H_ERR]:
            raise UnsupportedError(
                f"engine 'events': an activation waited for a core longer than a chunk of {self.c} steps, so its "
                "input left the window; pass a larger chunk=")
        self.flush()
        self._finish_readouts(len(self.window))

    def _bind_kernels(self) -> None:
        """The event kernels on this run's arenas (:func:`clocksim.kernels.events.bind`), each compiled (or loaded
        from its cache) once for the types its calls pass: a call then skips numba's dispatch on its types,
        which for the arenas' scalar-type argument runs in Python (2.2x the instructions of a latency run)."""
        S, V, I = self.S, self.V, self.I
        self.tick = EK.bind(EK.tick_at, S, V, I, 0, 0.0)
        if self.fast:
            self.activate_sync = EK.bind(EK.activate_sync_at, S, V, I, 0, 0.0)
        else:
            self.activate = EK.bind(EK.activate_at, S, V, I, 0, 0.0, 0.0, 0.0, 0)
            self.publish = EK.bind(EK.publish_at, S, V, I, 0, 0.0, True)
            self.deliver = EK.bind(EK.deliver_at, S, V, I, 0, 0, 0, 0, V[:0], 0.0, 0.0)

    def _firings(self, i):
        """Module i's firing times in ``[t_first, end)``, drawn from its clock a window at a time (lists).

        While the end of the input is unknown a window may reach past it; the processes stop at
        the first firing at or after ``end``. Yields ``(times, b)``, ``b`` the window's end: a
        process whose window is empty (an explicit clock past its last firing, a slow period)
        waits until ``b``, so that simulated time moves on and the end of the run becomes known.
        """
        clock, a, span = self.clocks[i], self.t_first, float(self.c)
        while a < self.end:
            b = min(a + span, self.end)
            yield clock.firing_times(a, b).tolist(), b
            a = b

    def _module_sync(self, env, i):
        """Synchronous fast path: compute at each firing; the readout tick publishes."""
        wake = Slot(env).again                  # one event, rescheduled at each firing (as a Timeout: COMPUTE = 1)
        activate = self.activate_sync
        prev = 0.0
        for window, b in self._firings(i):
            if not window:
                if b > prev:
                    yield wake(b - prev, COMPUTE)
                    prev = b
                continue
            for t in window:
                yield wake(t - prev, COMPUTE)
                if t >= self.end:
                    return
                prev = t
                activate(i, t)

    @staticmethod
    def _drive(env, instants) -> None:
        """Run a generator that yields ``(delay, slot)`` and acts when resumed that much later in
        that slot, as one :class:`Slot` scheduled again each time with a callback (a SimPy process
        without the process: the readout wakes once per step, and a process resume and a new event
        cost more than the step's own work)."""
        again = Slot(env).again

        def wake(_event):
            for delay, slot in instants:
                again(delay, slot).callbacks.append(wake)
                return
        wake(None)

    def _readout(self):
        """The output of step s: in the synchronous tick, or at the end of the step's window
        (instants for :meth:`_drive`).

        Drives the chunks: after the readout of a chunk's last step, :meth:`_end_chunk`.
        """
        I, tick = self.I, self.tick
        report = self.engine.progress
        every = max(1, (self.source.L or self.c) // 100)
        prev = 0.0
        done = 0
        while True:
            ts = self.window[self.cur][2]
            last = self.cur + 1 == len(self.window)
            if self.fast:
                times, slot = ts.tolist(), PUBLISH
            else:
                after = ts[-1] + 1.0 if last else self.window[self.cur + 1][2][0]
                times, slot = np.append(ts[1:], after).tolist(), WINDOW_END
            for s, t in enumerate(times):
                yield t - prev, slot
                tick(s, t)                       # asynchronous runs have no dirty list: the readout alone
                prev = t
                if s % self.check_every == 0 and (I[EK.H_NACT] >= CHUNK or I[EK.H_NMSG] >= CHUNK):
                    self.flush()
                done += 1
                if report is not None and done % every == 0:
                    report(every)
            self._end_chunk()
            if last:
                return

    def _module_general(self, env, i):
        """Any clock, latency and compute model: each activation queues, computes, then publishes."""
        I, activate, publish = self.I, self.activate, self.publish
        dur = float(self.duration[i])
        arbiter = self.arbiter
        for window, b in self._firings(i):
            if not window:
                if env.now < b:
                    yield env.timeout(b - env.now)
                continue
            for t in window:
                if env.now < t:
                    yield env.timeout(t - env.now)
                if t >= self.end:
                    return
                core = -1
                if arbiter is not None:
                    req = yield arbiter.submit(self.prio[i], t, i)
                    yield req
                    core = heapq.heappop(arbiter.free)
                start = env.now
                if I[EK.H_NACT] >= CHUNK:
                    self.flush()
                activate(i, t, start, start + dur, core)
                if dur > 0.0:
                    yield env.timeout(dur)
                if arbiter is not None:                 # the core is free at the end of the compute ...
                    heapq.heappush(arbiter.free, core)
                    arbiter.pool.release(req)
                yield Slot(env, 0.0, PUBLISH)           # ... and the result publishes in that instant's publish phase
                if I[EK.H_NMSG] >= CHUNK:
                    self.flush()
                publish(i, env.now, self.zero_latency)
                if not self.zero_latency:
                    self._send_delayed(env, i)

    # ------------------------------------------------------------------ scheduled compute model
    def _start_jobs(self, env, order: list[int]) -> None:
        """Set up the scheduler and drive every module's firings (see the module docstring)."""
        tasks, compute, g = self.tasks, self.engine.compute, self.model.g
        self.g_jobs = g                                 # module index of the readout job
        self.policy = compute.policy_for(tasks)
        self.sched = Scheduler(self.policy, tasks.cores, preemptive=tasks.preemptive, partition=tasks.partition,
                               readout_core=tasks.readout_core, speeds=tasks.speeds,
                               context_switch=tasks.context_switch, migration=tasks.migration)
        self.variation = compute.variation
        self.link_rng = {}
        self.vary = None if self.variation.kind == "nominal" else [self.variation.generator(i) for i in range(g + 1)]
        self.wcet = self.tasks.wcet.tolist()
        self.rel_deadline = self.tasks.deadlines.tolist()
        self.done: list[Job] = []
        self.busy_module = [False] * g
        self.backlog: list[list[Job]] = [[] for _ in range(g)]
        self.published_at = [-np.inf] * g
        self.publishing: list[int] = []                 # modules whose jobs finished now, to publish in PUBLISH
        self.dispatch_at = None                         # the instant a dispatch is scheduled for
        self.dispatch_slot, self.publish_slot = Slot(env), Slot(env)
        self.outstanding: list[int] = []                # per sample: jobs that latch it, not yet finished
        self.counted = 0                                # samples whose latching firings are counted
        self.complete = []                              # per sample: the readout job's finish
        self.ts_view = self.view["ts"]
        self.ts_cached = ((-1, -1), [])                 # (first sample, count) of the input window, its times
        self.count_latches = tasks.readout_wcet is not None
        if tasks.readout_wcet is not None:
            self._count_latches()
        for i in order:
            self._drive(env, self._fire_instants(i))

    def _count_latches(self) -> None:
        """Count, for the samples of chunks new to the window, the firings that latch each (the readout
        job of a sample is released when they have all finished); a sample no firing latches gets its
        readout job at its arrival."""
        if self.tasks.readout_wcet is None:
            return
        times = self.engine.times
        for lo, _, ts in self.window:
            if lo + ts.size <= self.counted:
                continue
            after = times[lo + ts.size] if times is not None and lo + ts.size < times.size else ts[-1] + 1.0
            counts = np.zeros(ts.size, dtype=np.int64)
            for i in range(self.model.g):
                fired = self.clocks[i].firing_times(max(ts[0], self.t_first), after)      # (F,)
                counts += np.bincount(np.searchsorted(ts, fired, side="right") - 1, minlength=ts.size)[:ts.size]
            self.outstanding += counts.tolist()
            self.complete += [np.nan] * ts.size
            for s in np.flatnonzero(counts == 0).tolist():
                ev = Slot(self.env, float(ts[s]) - self.env.now, COMPUTE)
                ev.callbacks.append(partial(self._release_readout, lo + s))
            self.counted = lo + ts.size

    def _fire_instants(self, i):
        """Module i's firings as instants for :meth:`_drive`: each releases a job."""
        prev = 0.0
        for window, b in self._firings(i):
            if not window:
                if b > prev:
                    yield b - prev, COMPUTE
                    prev = b
                continue
            for t in window:
                yield t - prev, COMPUTE
                if t >= self.end:
                    return
                prev = t
                self._fire(i, t)

    def _fire(self, i: int, t: float) -> None:
        work = self.wcet[i]
        if self.vary is not None:
            work *= float(self.variation.fractions(self.vary[i], 1)[0])
        deadline = t + self.rel_deadline[i]
        sample = -1                                     # the sample it latches: needed for the readout job
        if self.count_latches:
            sample = self._latched_sample(t)
        job = Job(i, t, deadline, work, self.policy.key(i, t, deadline), sample)
        if self.busy_module[i]:
            self.backlog[i].append(job)
        else:
            self.busy_module[i] = True
            self._release(job)

    def _latched_sample(self, t: float) -> int:
        """The input sample a firing at ``t`` latches: the last one arrived by ``t``."""
        window = (int(self.I[EK.H_XBASE]), int(self.I[EK.H_XN]))
        if self.ts_cached[0] != window:
            self.ts_cached = (window, self.ts_view[:window[1]].tolist())
        return window[0] + bisect_right(self.ts_cached[1], t) - 1

    def _release(self, job: Job) -> None:
        self.sched.release(job)
        if self.dispatch_at != self.env.now:
            self._ask_dispatch()

    def _ask_dispatch(self) -> None:
        """The scheduler decides in this instant's ARBITRATE slot (one slot object, processed before it is reused)."""
        self.dispatch_at = self.env.now
        self.dispatch_slot.again(0.0, ARBITRATE).callbacks.append(self._dispatch)

    def _release_readout(self, sample: int, _event=None) -> None:
        t = self.env.now
        work = self.tasks.readout_wcet
        if self.vary is not None:
            work *= float(self.variation.fractions(self.vary[self.g_jobs], 1)[0])
        self._release(Job(self.g_jobs, t, np.inf, work, self.policy.key(self.g_jobs, t, np.inf), sample))

    def _dispatch(self, _event) -> None:
        self.dispatch_at = None
        env = self.env
        now = env.now
        finish, g, published_at = self._finish, self.g_jobs, self.published_at
        for job in self.sched.dispatch(now):
            if job.data is None and job.module < g:                   # first start: read the inputs
                job.data = True
                if published_at[job.module] == now:                   # after the previous job's publish
                    Slot(env, 0.0, LATE_READ).callbacks.append(partial(self._read_late, job))
                    continue
                self._activate(job, now)
            Slot(env, job.finish_at - now, COMPUTE).callbacks.append(partial(finish, job, job.token))

    def _activate(self, job: Job, now: float) -> None:
        if self.I[EK.H_NACT] >= CHUNK:
            self.flush()
        self.activate(job.module, job.release, now, job.finish_at, job.core)

    def _read_late(self, job: Job, _event) -> None:
        now = self.env.now
        self._activate(job, now)
        if job.core >= 0:                               # still running (not preempted within the instant)
            Slot(self.env, job.finish_at - now, COMPUTE).callbacks.append(partial(self._finish, job, job.token))

    def _finish(self, job: Job, token: int, _event) -> None:
        if token != job.token or job.core < 0:          # preempted since: a stale timer
            return
        env = self.env
        now = env.now
        self.sched.complete(job, now)
        self.done.append(job)
        i = job.module
        if i == self.g_jobs:
            self.complete[job.sample] = now
        else:
            self.published_at[i] = now
            if not self.publishing:                     # one PUBLISH slot per instant, in the order of the finishes
                self.publish_slot.again(0.0, PUBLISH).callbacks.append(self._publish_finished)
            self.publishing.append(i)
            if self.count_latches and job.sample >= 0:
                self.outstanding[job.sample] -= 1
                if self.outstanding[job.sample] == 0:
                    self._release_readout(job.sample)
            if self.backlog[i]:
                self._release(self.backlog[i].pop(0))
            else:
                self.busy_module[i] = False
        if self.dispatch_at != now and any(self.sched.ready):      # nothing ready: a release in this instant asks
            self._ask_dispatch()

    def _publish_finished(self, _event) -> None:
        """Publish the modules whose jobs finished in this instant, in the order they finished."""
        finished, self.publishing = self.publishing, []
        for i in finished:
            self._publish(i)

    def _publish(self, i: int) -> None:
        if self.I[EK.H_NMSG] >= CHUNK:
            self.flush()
        self.publish(i, self.env.now, self.zero_latency)
        if not self.zero_latency:
            self._send_delayed(self.env, i)

    def _schedule_records(self):
        """Job records, the activations' ends from them, and the schedule summary (after the run)."""
        jobs, segments = job_records(self.done)
        tasks = self.tasks
        t_end = max(self.end, float(jobs["finish"].max()) if jobs.size else self.end)
        summary = schedule_summary(jobs, segments, self.model.g, tasks.cores, t_end - self.t_first, tasks.demand)
        return jobs, segments, summary

    def _send_delayed(self, env, j):
        """Schedule the messages of module j's new state on links with latency."""
        I, B, n = self.I, self.B, self.model.n
        payload = self.view["pub"].reshape(B, n)[:, self.model.rows(j)].copy().ravel()
        seq = int(I[I[EK.H_COUNT] + 2 * j]) - 1         # the activation that computed this state
        now = env.now
        latency = self.engine.latency
        for r in self.model.receivers_of(j):
            if r == j:
                continue
            rng = self.link_rng.get((j, r))
            if rng is None:
                rng = self.link_rng[(j, r)] = latency.generator(j, r)
            delay = float(latency.delay(j, r).sample(rng, 1)[0])
            col = int(self.cols[r, j])
            if delay == 0.0:
                self.deliver(j, r, col, seq, payload, now, now)
                continue
            ev = Slot(env, delay, DELIVER)
            ev.callbacks.append(lambda _ev, j=j, r=r, col=col: self._deliver_later(j, r, col, seq, payload, now))

    def _deliver_later(self, j, r, col, seq, payload, send_t) -> None:
        if self.I[EK.H_NMSG] >= self.cap_msg:
            self.flush()
        self.deliver(j, r, col, seq, payload, send_t, self.env.now)

    def flush(self) -> None:
        """Fold the records held so far into the trace (the compact rows of a full trace held in memory, or
        every table, handed to a tracer that holds no rows) and start the buffers again."""
        if self.compact:
            self._flush_compact()
            return
        rows = self.activations()
        if not self.fast:
            msgs = self.messages()
        else:
            msgs = messages_from_activations(self.model, rows)     # the fast path sends none: derived
        self.recorded += np.bincount(rows["module"], minlength=self.model.g)
        ts = self.view["ts"][:int(self.I[EK.H_XN])]
        _latch(self.first, rows, ts, 0, self.last)
        self.tracer.add(activations=rows, messages=msgs)
        self.I[EK.H_NACT] = 0
        self.I[EK.H_NMSG] = 0

    def _flush_compact(self) -> None:
        """Append the records held so far to the compact rows of a full in-memory trace."""
        rows = self.activations(self.rows_dtype)
        self.recorded += np.bincount(rows["module"], minlength=self.model.g)
        self.rows_tracer.add(activations=rows)
        if self.arrive is not None:
            Mq = self.view["msg"].reshape(-1, EK.MSG_COLUMNS)[:int(self.I[EK.H_NMSG])]
            sender = Mq[:, EK.MSG_SENDER].astype(np.int64)
            receiver = Mq[:, EK.MSG_RECEIVER].astype(np.int64)
            seq = Mq[:, EK.MSG_SEQ].astype(np.int64)
            for j in np.unique(sender).tolist():
                mine = sender == j
                dst = self.arrive[j].reserve(int(self.I[self.I[EK.H_COUNT] + 2 * j]))
                dst[seq[mine], self.arrive_slot[j, receiver[mine]]] = Mq[mine, EK.MSG_ARRIVE]
                del dst             # no view left in this frame, should a profiler keep it (GrowingRecords._remap)
            self.arrived += Mq.shape[0]
        self.I[EK.H_NACT] = 0
        self.I[EK.H_NMSG] = 0

    # ------------------------------------------------------------------ results
    def activations(self, dtype: np.dtype = ACTIVATION_DTYPE) -> np.ndarray:
        """The activation records held, ordered by firing time then module, as records of ``dtype``
        (ACTIVATION_DTYPE or one of the compact dtypes, whose fields are a subset)."""
        A = self.view["act"].reshape(-1, EK.ACT_COLUMNS)[:int(self.I[EK.H_NACT])]
        A = A[np.lexsort((A[:, EK.A_MODULE], A[:, EK.A_TIME]))]
        rec = np.zeros(A.shape[0], dtype=dtype)
        for name, col in (("module", EK.A_MODULE), ("time", EK.A_TIME), ("start", EK.A_START), ("end", EK.A_END),
                          ("macs", EK.A_MACS), ("staleness", EK.A_STALE), ("lag", EK.A_LAG), ("core", EK.A_CORE)):
            if name in dtype.names:
                rec[name] = A[:, col]
        return rec

    def messages(self) -> np.ndarray:
        Mq = self.view["msg"].reshape(-1, EK.MSG_COLUMNS)[:int(self.I[EK.H_NMSG])]
        Mq = Mq[np.lexsort((Mq[:, EK.MSG_RECEIVER], Mq[:, EK.MSG_SENDER], Mq[:, EK.MSG_SEND],
                            Mq[:, EK.MSG_ARRIVE]))]
        rec = np.zeros(Mq.shape[0], dtype=MESSAGE_DTYPE)
        rec["sender"], rec["receiver"] = Mq[:, EK.MSG_SENDER], Mq[:, EK.MSG_RECEIVER]
        rec["send"], rec["arrive"] = Mq[:, EK.MSG_SEND], Mq[:, EK.MSG_ARRIVE]
        return rec



def _as_is(rows: np.ndarray) -> np.ndarray:
    """Rows that are already ACTIVATION_DTYPE records (a scheduled run's), expanded as they are."""
    return rows
