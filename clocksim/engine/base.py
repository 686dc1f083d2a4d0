"""What every engine shares: input validation, the result type, trace metadata."""

from __future__ import annotations

import abc

import numpy as np

from .. import cost
from .._validate import as_int, as_real_array
from ..aggregate import AggregateTrace
from ..errors import InvalidValueError, ShapeError
from ..model import ClockworkRNN
from ..trace import ACTIVATION_DTYPE, MESSAGE_DTYPE, READOUT_DTYPE, Trace

__all__ = ["Engine", "Result", "prepare_input", "trace_meta", "activations_from_mask", "trace_from_mask",
           "aggregate_from_mask", "TRACE_KINDS"]

#: What a run records: ``"full"`` (a :class:`Trace`, one row per activation and message) or
#: ``"aggregate"`` (an :class:`AggregateTrace` of per-module totals, for long runs).
TRACE_KINDS = ("full", "aggregate")


class Result:
    """Outputs of :func:`clocksim.simulate`.

    Attributes
    ----------
    y : ndarray, shape (L, n_out) or (B, L, n_out)
        Output after each step.
    h : ndarray, shape (L, n) or (B, L, n)
        Hidden state after each step (held values included). May be a strided
        view into the engine's work array; ``np.ascontiguousarray`` it if needed.
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
        return f"Result(engine={self.engine!r}, y{tuple(self.y.shape)}, h{tuple(self.h.shape)})"


class Engine(abc.ABC):
    """An engine runs a model over an input batch. Register new ones in ``clocksim.engine.ENGINES``."""

    name: str = ""

    def __init__(self, **options):
        if options:
            raise InvalidValueError(
                f"engine {self.name!r}: unknown option(s) {', '.join(sorted(options))}")

    @abc.abstractmethod
    def run(self, model: ClockworkRNN, X: np.ndarray, batched: bool) -> Result:
        """Run ``model`` on validated ``X`` of shape (B, L, n_in)."""


def prepare_input(model: ClockworkRNN, x, n_steps=None) -> tuple[np.ndarray, bool]:
    """Validate ``x`` and return it as float64 ``(B, L, n_in)`` plus whether it was batched."""
    if not isinstance(model, ClockworkRNN):
        raise InvalidValueError(f"got {type(model).__name__}, expected a ClockworkRNN", key="model")
    if x is None:
        if model.n_in != 0:
            raise InvalidValueError(
                f"got None, but the model has n_in={model.n_in}; pass an array of shape (L, {model.n_in}) "
                f"or (B, L, {model.n_in})", key="x")
        if n_steps is None:
            raise InvalidValueError("got None with x=None, expected the number of steps to run", key="n_steps")
        return np.zeros((1, as_int("n_steps", n_steps, minimum=1), 0)), False
    X = as_real_array("x", x, ndim=(2, 3))
    batched = X.ndim == 3
    if not batched:
        X = X[None]
    B, L, n_in = X.shape
    if n_in != model.n_in:
        want = f"(L, {model.n_in}) or (B, L, {model.n_in})"
        raise ShapeError(f"got shape {np.shape(x)}, expected {want} for a model with n_in={model.n_in}", key="x")
    if L < 1 or B < 1:
        raise ShapeError(f"got shape {np.shape(x)}, expected at least one step and one sequence", key="x")
    if n_steps is not None and as_int("n_steps", n_steps, minimum=1) != L:
        raise InvalidValueError(f"got {n_steps}, but x has {L} steps; omit n_steps or make them agree", key="n_steps")
    return X, batched


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


#: Steps per chunk when a trace is derived from an activity mask: bounds the temporaries.
MASK_CHUNK = 1 << 16


def _mask_chunks(model: ClockworkRNN, active: np.ndarray, batch: int):
    """Activation records of a synchronous, instantaneous run, a chunk of steps at a time.

    Rows are ordered by time, then module. Staleness follows the Trace definition:
    the initial state counts as sent at ``start - 1``; a module's own state is not a message.
    The last firing of each module before the chunk is carried over, so the records do not
    depend on the chunk size.
    """
    L, g = active.shape
    chunk = MASK_CHUNK
    per_module = cost.activation_macs(model.module_sizes, model.block_mask, model.n_in) * batch
    senders = [[j for j in model.inputs_of(i) if j != i] for i in range(g)]
    last = np.full(g, model.start - 1, dtype=np.int64)                       # (g,) last firing before the chunk
    for lo in range(0, L, chunk):
        part = active[lo:lo + chunk]                                          # (C, g)
        steps = model.start + lo + np.arange(part.shape[0], dtype=np.int64)   # (C,)
        last_sent = np.maximum.accumulate(np.where(part, steps[:, None], last), axis=0)  # (C, g) last firing <= t
        before = np.vstack([last[None], last_sent[:-1]])                      # (C, g) last firing < t
        last = last_sent[-1]
        s_idx, mod = np.nonzero(part)
        rec = np.zeros(s_idx.size, dtype=ACTIVATION_DTYPE)
        rec["module"] = mod
        rec["time"] = rec["start"] = rec["end"] = steps[s_idx]
        rec["macs"] = per_module[mod]
        for i in range(g):
            rows = mod == i
            if senders[i] and rows.any():
                t = steps[s_idx[rows]]
                rec["staleness"][rows] = (t[:, None] - before[s_idx[rows]][:, senders[i]]).max(axis=1)
        rec["core"] = -1
        yield rec


def activations_from_mask(model: ClockworkRNN, active: np.ndarray, batch: int) -> np.ndarray:
    """Activation records of a synchronous, instantaneous run with activity mask ``active`` (L, g).

    Rows are ordered by time, then module (see :func:`_mask_chunks` for staleness).
    """
    out = np.zeros(int(np.count_nonzero(active)), dtype=ACTIVATION_DTYPE)
    pos = 0
    for rec in _mask_chunks(model, active, batch):
        out[pos:pos + rec.size] = rec
        pos += rec.size
    return out


def messages_from_activations(model: ClockworkRNN, rec: np.ndarray) -> np.ndarray:
    """Messages of instantaneous delivery: each activation sends its state to every other module it feeds."""
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
    no activation read have latency NaN (the schedule skipped them) and are no miss.
    """
    first = np.full(times.shape[0], np.inf)
    for lo in range(0, activations.shape[0], MASK_CHUNK):                     # chunks bound the temporaries
        _latch(first, activations[lo:lo + MASK_CHUNK], times)
    return _readouts(first, times, deadline)


def _latch(first: np.ndarray, activations: np.ndarray, times: np.ndarray) -> None:
    """Fold a chunk of activations into ``first`` (L,): the earliest publish that reflects each sample."""
    sample = np.searchsorted(times, activations["time"], side="right") - 1      # (A,)
    ok = sample >= 0
    np.minimum.at(first, sample[ok], activations["end"][ok])


def _readouts(first: np.ndarray, times: np.ndarray, deadline: float) -> np.ndarray:
    out = np.zeros(times.shape[0], dtype=READOUT_DTYPE)
    out["time"] = times
    out["latency"] = np.where(np.isfinite(first), first - times, np.nan)
    out["missed"] = out["latency"] > deadline
    return out


def trace_from_mask(model: ClockworkRNN, active: np.ndarray, batch: int, meta: dict) -> Trace:
    """The full :class:`Trace` of a synchronous, instantaneous run with activity mask ``active`` (L, g)."""
    rec = activations_from_mask(model, active, batch)
    times = model.start + np.arange(active.shape[0], dtype=np.float64)
    return Trace(rec, messages_from_activations(model, rec), readouts_from_activations(rec, times), meta)


def aggregate_from_mask(model: ClockworkRNN, active: np.ndarray, batch: int, meta: dict) -> AggregateTrace:
    """The per-module totals of the same run (its summary equals the full trace's), without ever
    holding more than one chunk of its records: memory ``O(g^2 + L)``, not ``O(activations)``."""
    agg = AggregateTrace(meta)
    for rec in _mask_chunks(model, active, batch):
        agg.add(activations=rec, messages=messages_from_activations(model, rec))
    for lo in range(0, active.shape[0], MASK_CHUNK):
        # instantaneous activations at step t latch sample t and publish at t: latency 0, or NaN if none ran
        part = active[lo:lo + MASK_CHUNK]                                     # (C, g)
        ro = np.zeros(part.shape[0], dtype=READOUT_DTYPE)
        ro["time"] = model.start + lo + np.arange(part.shape[0])
        ro["latency"] = np.where(part.any(axis=1), 0.0, np.nan)
        agg.add(readouts=ro)
    return agg
