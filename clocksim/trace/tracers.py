"""Tracers: what a run records, behind one interface (DESIGN section 4).

An engine hands its records to a :class:`Tracer` a chunk at a time (:meth:`Tracer.add`, structured
arrays of the dtypes in :mod:`clocksim.trace.core`) and asks it for the run's trace at the end
(:meth:`Tracer.finish`); it knows no trace mode. ``TRACERS`` maps each value of the engines'
``trace=`` option to its tracer; with ``trace_dir=`` the run's rows go to disk (:class:`PartsTracer`).
:func:`make_tracer` is the one place that picks and validates. A new tracer is one subclass of
:class:`Tracer` plus one entry in ``TRACERS`` (see docs/architecture.md).

Where a tracer *holds the rows* (:attr:`Tracer.holds_rows`, the full trace), an engine hands it only
compact activation rows (INSTANT_DTYPE / TIMED_DTYPE / ACTIVATION_DTYPE) and says, with
:meth:`Tracer.derive`, how the messages and readouts follow from them when the trace is read; a
tracer that holds none (aggregate, on disk) is handed every table as it is produced and ignores
``derive``.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from .. import cost
from ..errors import InvalidValueError
from ..model.cwrnn import ClockworkRNN
from .aggregate import AggregateTrace
from .core import INSTANT_DTYPE, MESSAGE_DTYPE, READOUT_DTYPE, Trace
from .files import TraceParts

__all__ = ["Tracer", "FullTracer", "AggregateTracer", "PartsTracer", "TRACERS", "ON_DISK", "TRACE_KINDS",
           "tracer_class", "make_tracer", "trace_meta", "GrowingRecords"]


class Tracer:
    """Receives a run's records chunk by chunk and gives its trace at the end.

    Class attributes an engine may ask (facts, not modes):

    holds_rows : bool
        The tracer keeps the activation rows it is handed; the engine then hands only compact rows
        and calls :meth:`derive` before :meth:`finish`. Otherwise every table is handed as produced.
    lazy : bool
        :meth:`finish` may wait until the trace is first read (False when it writes files that must
        be whole when the run returns).
    kind : str
        What :meth:`finish` returns: ``"full"`` (a :class:`Trace`) or ``"aggregate"`` (an
        :class:`AggregateTrace`), as the ``trace=`` option and the size estimate name it.
    needs_meta : bool
        Whether it is built with the run's description before the run (:func:`make_tracer` passes
        ``meta=None`` otherwise: describing a run costs about 0.1 ms, a short run a few ms).
    """

    holds_rows = False
    lazy = True
    kind = "aggregate"
    needs_meta = True

    def __init__(self, meta: dict):
        self.meta = meta                    # the run's description before it ran (trace_meta, 0 steps)

    def add(self, activations: np.ndarray | None = None, messages: np.ndarray | None = None,
            readouts: np.ndarray | None = None) -> None:
        """Fold in a chunk of records (any table may be omitted)."""
        raise NotImplementedError

    def derive(self, messages=None, readouts=None, **extra) -> None:
        """How the trace's messages and readouts follow from the rows held (a tracer that holds none ignores it).

        ``messages``: a callable ``(rows, before)`` as :class:`Trace` takes; ``readouts``: a callable of the
        rows held that gives the readouts (an array or a callable :class:`Trace` takes); ``extra``: further
        keywords of :class:`Trace` (``expand``, ``jobs``, ``segments``)."""

    def take(self, trace: Trace) -> None:
        """Take a whole trace the engine built itself (its rows were final only at the end of the run)."""
        self.add(activations=trace.activations, messages=trace.messages, readouts=trace.readouts)

    def finish(self, meta: dict) -> Trace | AggregateTrace:
        """The run's trace, described by ``meta`` (the final :func:`trace_meta`)."""
        raise NotImplementedError

    def abort(self) -> None:
        """The run failed: drop what was written."""


class FullTracer(Tracer):
    """Keeps every row: :meth:`finish` builds a :class:`Trace`. Activation rows (any compact dtype) are kept
    ordered by (time, module) in a :class:`GrowingRecords`; what :meth:`derive` names is derived when read."""

    holds_rows = True
    kind = "full"
    needs_meta = False

    def __init__(self, meta: dict | None = None):
        super().__init__(meta)
        self._rows: GrowingRecords | None = None          # created with the dtype of the first rows
        self._tables: dict[str, list[np.ndarray]] = {"messages": [], "readouts": []}
        self._derive: dict = {}
        self._taken: Trace | None = None

    def add(self, activations=None, messages=None, readouts=None) -> None:
        if activations is not None:
            if self._rows is None:
                self._rows = GrowingRecords(activations.dtype)
            self._rows.merge(activations)
        for name, rec in (("messages", messages), ("readouts", readouts)):
            if rec is not None:
                self._tables[name].append(rec)

    def rows(self) -> np.ndarray:
        """The activation rows held (no more may be added); an engine may complete them in place."""
        if self._rows is None:
            self._rows = GrowingRecords(INSTANT_DTYPE)    # no rows were handed: an empty table
        return self._rows.array()

    def derive(self, messages=None, readouts=None, **extra) -> None:
        self._derive = {"messages": messages, "readouts": readouts, **extra}

    def take(self, trace: Trace) -> None:
        self._taken = trace

    def finish(self, meta: dict) -> Trace:
        if self._taken is not None:
            return self._taken
        rows = self.rows()
        extra = dict(self._derive)
        messages, readouts = extra.pop("messages", None), extra.pop("readouts", None)
        if messages is None:
            messages = _joined(self._tables["messages"], MESSAGE_DTYPE)
        readouts = _joined(self._tables["readouts"], READOUT_DTYPE) if readouts is None else readouts(rows)
        return Trace(rows, messages, readouts, meta, **extra)


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


class AggregateTracer(Tracer):
    """Folds each chunk into an :class:`AggregateTrace` at once: memory ``O(g^2)``, whatever the run's length."""

    def __init__(self, meta: dict):
        super().__init__(meta)
        self.aggregate = AggregateTrace(meta)

    def add(self, activations=None, messages=None, readouts=None) -> None:
        self.aggregate.add(activations=activations, messages=messages, readouts=readouts)

    def take(self, trace: Trace) -> None:
        self.aggregate = trace.aggregate()

    def finish(self, meta: dict) -> AggregateTrace:
        self.aggregate.meta.update(meta)
        return self.aggregate


class PartsTracer(AggregateTracer):
    """Writes the rows to the new folder ``trace_dir`` in parts as they come (:class:`TraceParts`; read back
    with :func:`~clocksim.trace.files.read_trace_parts`), holding none, and keeps their aggregate."""

    lazy = False

    def __init__(self, meta: dict, trace_dir):
        super().__init__(meta)
        self.parts = TraceParts(trace_dir)

    def add(self, activations=None, messages=None, readouts=None) -> None:
        self.parts.write(activations=activations, messages=messages, readouts=readouts)
        super().add(activations=activations, messages=messages, readouts=readouts)

    def take(self, trace: Trace) -> None:
        self.parts.write(activations=trace.activations, messages=trace.messages)
        self.parts.write(readouts=trace.readouts)
        super().take(trace)

    def finish(self, meta: dict) -> AggregateTrace:
        """Write ``meta.json`` and move the folder into place (it appears whole), then the aggregate."""
        self.parts.close(meta)
        return super().finish(meta)

    def abort(self) -> None:
        self.parts.abort()


#: The values of the engines' ``trace=`` option and their tracers. A new tracer: one class, one entry.
TRACERS: dict[str, type[Tracer]] = {"full": FullTracer, "aggregate": AggregateTracer}

#: The tracer of a run given ``trace_dir=`` (its rows go to disk; ``Result.trace`` is their aggregate).
ON_DISK: type[Tracer] = PartsTracer

#: What a run may record (``trace=``), as scenario files and the engines check it.
TRACE_KINDS = tuple(TRACERS)


def tracer_class(kind, trace_dir=None) -> type[Tracer]:
    """The tracer of ``trace=kind`` (with ``trace_dir``: :data:`ON_DISK`); refuses bad values naming the option."""
    if kind not in tuple(TRACERS):
        raise InvalidValueError(f"got {kind!r}, expected one of {', '.join(map(repr, TRACERS))}", key="trace")
    if trace_dir is not None and not isinstance(trace_dir, (str, os.PathLike)):
        raise InvalidValueError(f"got {trace_dir!r}, expected a folder path", key="trace_dir")
    return TRACERS[kind] if trace_dir is None else ON_DISK


def make_tracer(kind, model: ClockworkRNN, batch: int, *, trace_dir=None, engine: str = "",
                latency_model: bool = False) -> Tracer:
    """The tracer of one run of ``model`` on ``batch`` sequences (see :func:`tracer_class`).

    ``latency_model``: whether the run models time (an aggregate then keeps the readouts' latencies)."""
    cls = tracer_class(kind, trace_dir)
    meta = trace_meta(model, batch, 0, engine, latency_model=latency_model) if cls.needs_meta else None
    return cls(meta) if trace_dir is None else cls(meta, trace_dir)


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


#: Records a GrowingRecords adds at least when it grows.
GROW_MIN = 1 << 16


class GrowingRecords:
    """Records appended chunk by chunk into one array that grows in place, so the whole never exists
    twice: the array lives in an anonymous memory map that grows (and is trimmed at the end) by
    moving its pages (``mremap``), never by copying them, and gives every byte back when dropped (a
    heap-allocated array reallocated while it grows leaves the old blocks resident in the heap)."""

    def __init__(self, dtype, tail: tuple = ()):
        self._dtype, self.tail = np.dtype(dtype), tuple(tail)
        self.row_bytes = self._dtype.itemsize * int(np.prod(self.tail, dtype=np.int64))
        self.map, self.cap, self.n = None, 0, 0
        self.buf = np.zeros((0,) + self.tail, dtype=self._dtype)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def reserve(self, n: int) -> np.ndarray:
        """Room for ``n`` records; returns the buffer (rows past those appended are zero). Hold no view of
        the buffer across a call: the map moves."""
        if n > self.cap:
            cap = max(n, self.cap * 9 // 8 + GROW_MIN)         # an eighth more each time: the pages move, not copy
            self._remap(cap)
        return self.buf

    def _remap(self, cap: int) -> None:
        if not cap * self.row_bytes or not hasattr(mmap, "MAP_PRIVATE"):   # nothing to hold, or no private maps
            buf, self.buf = self.buf, None
            buf.resize((cap,) + self.tail, refcheck=False)                  # realloc (zero-filled)
            self.buf = buf
        else:
            self.buf = None                                                 # release the view before the map moves
            if self.map is None:
                # private and anonymous (a shared anonymous map cannot grow): zero pages, resident once written
                self.map = mmap.mmap(-1, cap * self.row_bytes, flags=mmap.MAP_PRIVATE)
            else:
                try:
                    self.map.resize(cap * self.row_bytes)
                except BufferError:
                    # a view of the map is still alive: a caller's, against reserve's rule, or a frame that kept
                    # its locals because a sampling profiler held it (dask's worker samples its threads' frames
                    # every 10 ms; seen in a threaded sweep): a new map, the records copied; the old one lives on
                    # with its views, which nothing writes through
                    grown = mmap.mmap(-1, cap * self.row_bytes, flags=mmap.MAP_PRIVATE)
                    kept = min(self.cap, cap) * self.row_bytes
                    grown[:kept] = self.map[:kept]
                    self.map = grown
            self.buf = np.frombuffer(self.map, dtype=self._dtype).reshape((cap,) + self.tail)
        self.cap = cap

    def merge(self, rows: np.ndarray) -> None:
        """Add activation records ordered by (time, module), keeping the whole so ordered: an activation
        that queued for a core is recorded after later firings, so the rows from its firing time on
        (a short tail) are merged with the new ones, and the whole is never sorted (copied) at the end."""
        if not rows.shape[0]:
            return
        buf, n = self.reserve(self.n + rows.shape[0]), self.n
        lo = n
        if n and (buf["time"][n - 1], buf["module"][n - 1]) > (rows["time"][0], rows["module"][0]):
            lo = int(np.searchsorted(buf["time"][:n], rows["time"][0], side="left"))
            rows = np.concatenate([buf[lo:n], rows])
            rows = rows[np.lexsort((rows["module"], rows["time"]))]
        buf[lo:lo + rows.shape[0]] = rows
        self.n = lo + rows.shape[0]
        del buf                     # no view left in this frame, should a profiler keep it (see _remap)

    def array(self, n: int | None = None) -> np.ndarray:
        """The first ``n`` records (default: those appended), trimmed in place; no further appends."""
        n = self.n if n is None else n
        if n > self.cap:
            self._remap(n)
        elif n == 0:
            return np.zeros((0,) + self.tail, dtype=self._dtype)
        elif n < self.cap:
            self._remap(n)
        return self.buf
