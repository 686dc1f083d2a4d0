"""The event engine: every module is a SimPy process with its own clock.

A module process sleeps until its clock's next firing, runs the shared jitted
update on its own rows (all batch rows in one call) from its *inbox* — the
latest messages it has received from the modules it reads, plus the input —
and then publishes its new state, which sends it as a message to every module
that reads it (the faster ones under slow-to-fast wiring).

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

import numpy as np
import simpy

from .. import cost
from .. import kernels as K
from .._validate import as_float, as_real_array
from ..aggregate import AggregateTrace
from ..clocks import resolve_clocks
from ..cost import ComputeModel, Delay, LinkLatency, as_delay
from ..errors import InvalidValueError, ShapeError
from ..model import ClockworkRNN
from ..trace import ACTIVATION_DTYPE, MESSAGE_DTYPE, Trace
from . import event_kernels as EK
from .base import TRACE_KINDS, Engine, Result, _latch, _readouts, readouts_from_activations, trace_meta
from .plan import Plan, plan_for

__all__ = ["EventEngine", "WINDOW_END", "DELIVER", "COMPUTE", "ARBITRATE", "PUBLISH"]

WINDOW_END, DELIVER, COMPUTE, ARBITRATE, PUBLISH = -1, 0, 1, 2, 3
CHUNK = 1 << 16     # records held before they are folded into an aggregate trace


class Slot(simpy.events.Event):
    """A timeout in an explicit priority slot (SimPy's Timeout always uses priority 1)."""

    __slots__ = ()

    def __init__(self, env: simpy.Environment, delay: float, priority: int):
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)


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
    trace : {"full", "aggregate"}
        ``Result.trace`` holds one row per activation (a :class:`~clocksim.Trace`), or only
        per-module totals (an :class:`~clocksim.AggregateTrace`) for long runs: records are then
        folded in chunks, so memory does not grow with the number of activations.
    """

    name = "events"

    def __init__(self, *, latency=None, compute: ComputeModel | None = None, deadline: float | None = None,
                 times=None, order=None, progress=None, trace: str = "full", **options):
        super().__init__(**options)
        if trace not in TRACE_KINDS:
            raise InvalidValueError(f"got {trace!r}, expected one of {', '.join(map(repr, TRACE_KINDS))}", key="trace")
        self.trace = trace
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
        self.deadline = None if deadline is None else as_float("deadline", deadline, minimum=0.0)
        self.times = None if times is None else as_real_array("times", times, ndim=1)
        self.order = None if order is None else [int(i) for i in order]

    @property
    def timing_model(self) -> bool:
        """True when latency, compute or a deadline is modelled."""
        return (self.latency is not None and not self.latency.is_zero) or self.compute is not None \
            or self.deadline is not None

    def run(self, model: ClockworkRNN, X: np.ndarray, batched: bool) -> Result:
        B, L, n_in = X.shape
        ts = self._input_times(model, L)
        order = self._process_order(model.g)
        if self.latency is not None:
            self.latency.check(model.g)
        t0 = time.perf_counter()
        sim = _Simulation(model, plan_for(model), X, ts, self)
        sim.run(order)
        wall = time.perf_counter() - t0
        h = sim.Z[1:, :, :model.n].transpose(1, 0, 2)       # (B, L, n) view into the arena
        y = sim.Y.transpose(1, 0, 2)                         # (B, L, n_out) view
        if not batched:
            h, y = h[0], y[0]
        extra = {"wall_time": wall, "latency_model": self.timing_model}
        if self.latency is not None:
            extra["latency"] = self.latency.to_dict()
        if self.compute is not None:
            extra["compute"] = self.compute.to_dict()
        if self.deadline is not None:
            extra["deadline"] = self.deadline
        if self.times is not None:
            extra["time_unit"] = "model time"
        meta = trace_meta(model, B, L, self.name, **extra)
        if sim.aggregate is not None:
            sim.flush()
            sim.aggregate.meta.update(meta)
            trace = sim.aggregate.add(readouts=_readouts(sim.first, ts, sim.deadline))
        else:
            act = sim.activations()
            trace = Trace(act, sim.messages(), readouts_from_activations(act, ts, sim.deadline), meta)
        return Result(y=y, h=h, trace=trace, engine=self.name, wall_time=wall)

    def _input_times(self, model: ClockworkRNN, L: int) -> np.ndarray:
        if self.times is None:
            return model.start + np.arange(L, dtype=np.float64)
        ts = self.times
        if ts.shape != (L,):
            raise ShapeError(f"got shape {ts.shape}, expected ({L},): one arrival time per input step", key="times")
        if L > 1 and not (np.diff(ts) > 0).all():
            raise InvalidValueError("expected strictly increasing arrival times", key="times")
        if ts[0] < 0:
            raise InvalidValueError(f"got {ts[0]:g} as the first time, expected times >= 0", key="times")
        return ts

    def _process_order(self, g: int) -> list[int]:
        if self.order is None:
            return list(range(g))
        if sorted(self.order) != list(range(g)):
            raise InvalidValueError(f"got {self.order}, expected a permutation of 0..{g - 1}", key="order")
        return self.order


class _Simulation:
    """One run: the arenas, the SimPy environment and the processes."""

    def __init__(self, model: ClockworkRNN, plan: Plan, X: np.ndarray, ts: np.ndarray, engine: EventEngine):
        self.model, self.plan, self.engine = model, plan, engine
        B, L, _ = X.shape
        self.B, self.L, self.ts = B, L, ts
        lo, hi = ts[0], ts[-1] + 1.0                 # firings in the input's windows [ts[0], ts[-1] + 1)
        clocks = resolve_clocks(model.clocks, X, ts)
        self.fires = [np.asarray(c.firing_times(lo, hi), dtype=np.float64) for c in clocks]
        self.t_init = float(ts[0] - 1.0)                                      # h0 counts as sent then
        macs = cost.activation_macs(model.module_sizes, model.block_mask, model.n_in) * B
        self.duration = engine.compute.duration(macs) if engine.compute is not None else np.zeros(model.g)
        self.zero_latency = engine.latency is None or engine.latency.is_zero
        self.fast = (self.zero_latency and engine.compute is None and model.synchronous
                     and engine.times is None)
        self.deadline = np.inf if engine.deadline is None else engine.deadline
        self.aggregate = None
        if engine.trace == "aggregate":
            self.aggregate = AggregateTrace(trace_meta(model, B, L, EventEngine.name))
            self.first = np.full(L, np.inf)          # earliest publish reflecting each input sample
        self._build_arenas(X, macs)

    # ------------------------------------------------------------------ layout
    def _build_arenas(self, X: np.ndarray, macs: np.ndarray) -> None:
        """Lay out the float arena S and the int arena I (see event_kernels' docstring)."""
        model, plan, B, L = self.model, self.plan, self.B, self.L
        g, n, m = model.g, model.n, plan.m
        inbox_off, cols, n_inbox = [], [], 0                 # inbox i: plan.reads[i] = senders' units, then x
        for i in range(g):
            inbox_off.append(n_inbox)
            n_inbox += B * len(plan.reads[i])
            col, place = 0, {}
            for j in model.inputs_of(i):
                place[j] = col
                col += model.module_sizes[j]
            cols.append(place)
        fan_out = [sum(1 for r in model.receivers_of(j) if r != j) for j in range(g)]
        n_act = sum(f.size for f in self.fires)
        n_msg = sum(f.size * fan_out[j] for j, f in enumerate(self.fires))
        if self.aggregate is not None:
            # records are flushed at readouts once CHUNK are held: room for one more step window's worth
            ends = np.append(self.ts[1:], self.ts[-1] + 1.0)
            per_window = max((np.bincount(np.searchsorted(ends, f, side="right"), minlength=L + 1).max()
                              if f.size else 0) for f in self.fires) * g
            self.cap_act = min(n_act, CHUNK + per_window)
            self.cap_msg = min(n_msg, CHUNK + per_window * max(fan_out + [1]))
            n_act, n_msg = self.cap_act, self.cap_msg
        sections = {"inbox": n_inbox, "x": L * B * model.n_in, "ts": L, "w": plan.wflat.size, "bias": n,
                    "nxt": B * n, "pub": B * n, "recv": g * g, "pubt": g,
                    "act": 8 * n_act, "msg": 4 * n_msg, "z": (L + 1) * B * m}
        off, total = {}, 0
        for name, size in sections.items():
            off[name], total = total, total + size
        S = np.zeros(total)
        view = {name: S[off[name]:off[name] + size] for name, size in sections.items()}
        view["x"][:] = X.transpose(1, 0, 2).ravel()                         # (L, B, n_in)
        view["ts"][:] = self.ts
        view["w"][:] = plan.wflat
        view["bias"][:] = plan.b
        h0 = np.broadcast_to(plan.h0, (B, n))
        view["nxt"][:] = h0.ravel()
        view["pub"][:] = h0.ravel()
        for i in range(g):                                                   # everyone holds h0, sent at t_init
            rows = plan.reads[i][plan.reads[i] < n]
            box = S[inbox_off[i]:inbox_off[i] + B * len(plan.reads[i])].reshape(B, -1)
            box[:, :rows.size] = h0[:, rows]
        view["recv"][:] = view["pubt"][:] = self.t_init
        view["z"].reshape(L + 1, B, m)[0, :, :n] = h0

        dptr, dlist, sptr, slist = [0], [], [0], []   # deliveries (receiver, column); senders other than self
        for j in range(g):
            for r in model.receivers_of(j):
                dlist += [r, cols[r][j]]
            dptr.append(len(dlist) // 2)
        for i in range(g):
            slist += [j for j in model.inputs_of(i) if j != i]
            sptr.append(len(slist))
        mod = np.array([(inbox_off[i], len(plan.reads[i]), len(plan.reads[i]) - model.n_in, macs[i])
                        for i in range(g)], dtype=np.int64)
        parts = {EK.H_PLAN: plan.table, EK.H_MOD: mod, EK.H_DPTR: dptr, EK.H_DLIST: dlist,
                 EK.H_SPTR: sptr, EK.H_SLIST: slist, EK.H_DIRTY: np.zeros(g)}
        parts = {slot: np.ravel(np.asarray(arr, dtype=np.int64)) for slot, arr in parts.items()}
        I = np.zeros(EK.HEADER + sum(a.size for a in parts.values()), dtype=np.int64)
        pos = EK.HEADER
        for slot, arr in parts.items():
            I[slot] = pos
            I[pos:pos + arr.size] = arr
            pos += arr.size
        header = {EK.H_G: g, EK.H_N: n, EK.H_NIN: model.n_in, EK.H_B: B, EK.H_M: m, EK.H_L: L, EK.H_ACT: plan.act,
                  EK.H_WLEN: plan.wflat.size}
        for slot, name in ((EK.H_NXT, "nxt"), (EK.H_PUB, "pub"), (EK.H_RECV, "recv"), (EK.H_PUBT, "pubt"),
                           (EK.H_X, "x"), (EK.H_TS, "ts"), (EK.H_W, "w"), (EK.H_BIAS, "bias"),
                           (EK.H_ACTREC, "act"), (EK.H_MSGREC, "msg"), (EK.H_Z, "z")):
            header[slot] = off[name]
        for slot, value in header.items():
            I[slot] = value
        self.S, self.I, self.view, self.cols = S, I, view, cols

    # ------------------------------------------------------------------ processes
    def run(self, order: list[int]) -> None:
        env = simpy.Environment()
        self.env = env
        if self.fast:
            for i in order:
                env.process(self._module_sync(env, i))
        else:
            compute = self.engine.compute
            self.arbiter = _CoreArbiter(env, compute.cores) if compute is not None else None
            self.prio = compute.priorities(self.model.periods) if compute is not None else [0] * self.model.g
            self.link_rng = {}
            for i in order:
                env.process(self._module_general(env, i))
        env.process(self._readout(env))
        env.run()
        model, plan = self.model, self.plan
        self.Z = self.view["z"].reshape(self.L + 1, self.B, plan.m)
        self.Y = np.empty((self.L, self.B, model.n_out))
        K.readout(self.view["z"], self.L, self.B, plan.m, model.n, plan.W_out.reshape(-1), plan.b_out,
                  plan.out_act, self.Y.reshape(-1))

    def _module_sync(self, env, i):
        """Synchronous fast path: compute at each firing; the readout tick publishes."""
        timeout, activate, S, I = env.timeout, EK.activate_sync, self.S, self.I
        prev = 0.0
        for t in self.fires[i].tolist():
            yield timeout(t - prev)
            prev = t
            activate(i, t, S, I)

    def _readout(self, env):
        """The output of step s: in the synchronous tick, or at the end of the step's window."""
        S, I = self.S, self.I
        report = self.engine.progress
        every = max(1, self.L // 100)
        prev = 0.0
        if self.fast:
            times, slot = self.ts.tolist(), PUBLISH
        else:
            times, slot = np.append(self.ts[1:], self.ts[-1] + 1.0).tolist(), WINDOW_END
        for s, t in enumerate(times):
            yield Slot(env, t - prev, slot)
            if self.fast:
                EK.tick(s, t, S, I)
            else:
                EK.snapshot(s, S, I)
            prev = t
            if self.aggregate is not None and (I[EK.H_NACT] >= CHUNK or I[EK.H_NMSG] >= CHUNK):
                self.flush()
            if report is not None and (s + 1) % every == 0:
                report(every)

    def _module_general(self, env, i):
        """Any clock, latency and compute model: each activation queues, computes, then publishes."""
        S, I = self.S, self.I
        dur = float(self.duration[i])
        arbiter = self.arbiter
        for t in self.fires[i].tolist():
            if env.now < t:
                yield env.timeout(t - env.now)
            core = -1
            if arbiter is not None:
                req = yield arbiter.submit(self.prio[i], t, i)
                yield req
                core = heapq.heappop(arbiter.free)
            start = env.now
            EK.activate(i, t, start, start + dur, core, S, I)
            if dur > 0.0:
                yield env.timeout(dur)
            if arbiter is not None:                 # the core is free at the end of the compute ...
                heapq.heappush(arbiter.free, core)
                arbiter.pool.release(req)
            yield Slot(env, 0.0, PUBLISH)           # ... and the result publishes in that instant's publish phase
            EK.publish(i, env.now, self.zero_latency, S, I)
            if not self.zero_latency:
                self._send_delayed(env, i)

    def _send_delayed(self, env, j):
        """Schedule the messages of module j's new state on links with latency."""
        S, I, B, n = self.S, self.I, self.B, self.model.n
        payload = self.view["pub"].reshape(B, n)[:, self.model.rows(j)].copy().ravel()
        now = env.now
        latency = self.engine.latency
        for r in self.model.receivers_of(j):
            if r == j:
                continue
            rng = self.link_rng.get((j, r))
            if rng is None:
                rng = self.link_rng[(j, r)] = latency.generator(j, r)
            delay = float(latency.delay(j, r).sample(rng, 1)[0])
            col = self.cols[r][j]
            if delay == 0.0:
                EK.deliver(j, r, col, payload, now, now, S, I)
                continue
            ev = Slot(env, delay, DELIVER)
            ev.callbacks.append(lambda _ev, j=j, r=r, col=col: self._deliver_later(j, r, col, payload, now))

    def _deliver_later(self, j, r, col, payload, send_t) -> None:
        if self.aggregate is not None and self.I[EK.H_NMSG] >= self.cap_msg:
            self.flush()
        EK.deliver(j, r, col, payload, send_t, self.env.now, self.S, self.I)

    def flush(self) -> None:
        """Aggregate mode: fold the records held so far into the totals and start the buffers again."""
        rows = self.activations()
        self.aggregate.add(activations=rows, messages=self.messages())
        _latch(self.first, rows, self.ts)
        self.I[EK.H_NACT] = 0
        self.I[EK.H_NMSG] = 0

    # ------------------------------------------------------------------ results
    def activations(self) -> np.ndarray:
        A = self.view["act"].reshape(-1, 8)[:int(self.I[EK.H_NACT])]
        A = A[np.lexsort((A[:, EK.A_MODULE], A[:, EK.A_TIME]))]
        rec = np.zeros(A.shape[0], dtype=ACTIVATION_DTYPE)
        for name, col in (("module", EK.A_MODULE), ("time", EK.A_TIME), ("start", EK.A_START), ("end", EK.A_END),
                          ("macs", EK.A_MACS), ("staleness", EK.A_STALE), ("lag", EK.A_LAG), ("core", EK.A_CORE)):
            rec[name] = A[:, col]
        return rec

    def messages(self) -> np.ndarray:
        Mq = self.view["msg"].reshape(-1, 4)[:int(self.I[EK.H_NMSG])]
        Mq = Mq[np.lexsort((Mq[:, EK.MSG_RECEIVER], Mq[:, EK.MSG_SENDER], Mq[:, EK.MSG_SEND],
                            Mq[:, EK.MSG_ARRIVE]))]
        rec = np.zeros(Mq.shape[0], dtype=MESSAGE_DTYPE)
        rec["sender"], rec["receiver"] = Mq[:, EK.MSG_SENDER], Mq[:, EK.MSG_RECEIVER]
        rec["send"], rec["arrive"] = Mq[:, EK.MSG_SEND], Mq[:, EK.MSG_ARRIVE]
        return rec

