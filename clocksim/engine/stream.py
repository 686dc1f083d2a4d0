"""Streaming runs: the input read a chunk of steps at a time, and what a run keeps.

Both engines run a sequence in chunks of steps and carry their state across chunk
boundaries (the compiled engine its last hidden state; the event engine its whole
SimPy environment: pending firings, queued activations and messages in flight), so a
chunked run equals a whole one bit for bit. :class:`Source` turns ``x`` — an array, a
``np.memmap`` or an iterator of chunks — into chunks ``(B, c, n_in)`` of the model's dtype without
ever copying it whole; :class:`Keeper` keeps of the states and outputs only what
``keep`` asks for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from .._validate import as_array, as_int
from ..errors import InvalidValueError, ShapeError
from ..model.cwrnn import ClockworkRNN
from ..trace.files import PART_ORDER, TraceParts, read_trace_parts  # noqa: F401 - the trace files' writer and reader
from ..trace.tracers import GrowingRecords, tracer_class  # noqa: F401 - GrowingRecords re-exported (it lives with the tracers)

__all__ = ["KEEP_KINDS", "Source", "Keeper", "chunk_steps", "TraceParts", "read_trace_parts", "run_size",
           "GrowingRecords"]

#: What a run keeps of its states ``h`` and outputs ``y`` (see :func:`clocksim.simulate`).
KEEP_KINDS = ("all", "outputs", "last", "none")

#: Bytes of work array a chunk may take when the caller does not choose a chunk size.
CHUNK_BYTES = 1 << 23


#: What ``next`` returns for an exhausted iterator (an iterator may yield None: a bad chunk, refused).
_END = object()


#: Bytes per row of a full trace held in memory (clocksim.trace: activations 44, messages 20, readouts 17).
ACTIVATION_BYTES, MESSAGE_BYTES, READOUT_BYTES = 44, 20, 17


def run_size(model: ClockworkRNN, B: int, L: int, trace: str, keep: str) -> tuple[float, float, float, list]:
    """What a run of ``L`` steps on a batch of ``B`` would hold, estimated before it starts.

    The one estimate behind the size checks of scenarios and of :func:`clocksim.simulate`. Each clock's
    firings come from its nominal period (a Poisson rate of 1e12 counts as such). A full trace held in
    memory grows with the activations and messages; ``keep="all"`` / ``"outputs"`` with the steps; an
    aggregate trace and ``keep="last"`` / ``"none"`` stay bounded (the input is read a chunk at a time).

    Returns
    -------
    (activations, trace_bytes, array_bytes, firings)
        ``firings`` per module, for naming the clock that drives the count.
    """
    firings = [L / c.nominal_period if c.nominal_period > 0 else math.inf for c in model.clocks]
    readers = (model.block_mask & ~np.eye(model.g, dtype=bool)).sum(axis=0).tolist()     # (g,) per sender
    events = math.fsum(firings)
    trace_bytes = 0.0
    if tracer_class(trace).holds_rows:
        trace_bytes = (events * ACTIVATION_BYTES + math.fsum(f * r for f, r in zip(firings, readers)) * MESSAGE_BYTES
                       + L * READOUT_BYTES)
    kept = {"all": model.n + model.n_out, "outputs": model.n_out}.get(keep, 0)
    item = np.dtype(model.dtype).itemsize                                               # y and h in the model's dtype
    arrays = item * B * L * kept + 2 * item * B * (model.n + model.n_out) + 2 * CHUNK_BYTES   # kept, last, work chunks
    return events, trace_bytes, arrays, firings


def chunk_steps(B: int, width: int) -> int:
    """Default steps per chunk: a work array of ``(c, B, width)`` float64 of about CHUNK_BYTES (at float32 the
    same steps, half the bytes: chunk boundaries do not depend on the dtype)."""
    return max(256, CHUNK_BYTES // (8 * max(1, B * width)))


class Source:
    """The validated input of one run, read in chunks.

    Parameters
    ----------
    model : ClockworkRNN
    x : array_like (L, n_in) / (B, L, n_in), np.memmap, iterator of such chunks, or None
        An array — or anything array-like that slices along the steps (``shape``,
        ``dtype``, ``ndim``, ``[:, lo:hi]``): a memory-mapped file, a scenario's
        synthetic :class:`~clocksim.scenario.signals.Signal` — is read chunk by chunk; only
        a slice is ever converted to float64. An iterator yields chunks ``(c, n_in)`` or
        ``(B, c, n_in)`` (all of one kind and batch size; sizes may vary); the run's
        length ``L`` is then known only when it is exhausted.
    n_steps : int, optional
        Number of steps when ``x`` is None (a model without inputs), or a check of ``L``.

    Attributes
    ----------
    B : int
    L : int or None
        Steps, None while unknown (an iterator).
    batched : bool
    in_memory : bool
        True when ``x`` is an ordinary in-memory array (not a memory-mapped file, an
        array-like computed as it is read, or an iterator): engines may then take it in one chunk.
    """

    def __init__(self, model: ClockworkRNN, x, n_steps=None):
        if not isinstance(model, ClockworkRNN):
            raise InvalidValueError(f"got {type(model).__name__}, expected a ClockworkRNN", key="model")
        self.n_in = model.n_in
        self.dtype = np.dtype(model.dtype)          # inputs are cast to the model's dtype at this boundary
        self.n_steps = None if n_steps is None else as_int("n_steps", n_steps, minimum=1)
        self._iter = None
        self._first = None
        self.in_memory = x is None or (isinstance(x, (np.ndarray, list, tuple)) and not isinstance(x, np.memmap))
        if x is None:
            if model.n_in != 0:
                raise InvalidValueError(
                    f"got None, but the model has n_in={model.n_in}; pass an array of shape (L, {model.n_in}) "
                    f"or (B, L, {model.n_in})", key="x")
            if self.n_steps is None:
                raise InvalidValueError("got None with x=None, expected the number of steps to run", key="n_steps")
            self._array = np.zeros((self.n_steps, 0), self.dtype)
            self.batched, self.B, self.L = False, 1, self.n_steps
            return
        sliceable = all(hasattr(x, a) for a in ("shape", "dtype", "ndim", "__getitem__"))   # ndarray, memmap, ...
        if not sliceable and (isinstance(x, Iterator) or (isinstance(x, Iterable)
                                                          and not isinstance(x, (list, tuple)))):
            self._iter = iter(x)
            first = next(self._iter, None)
            if first is None:
                raise ShapeError("the iterator yielded no chunk, expected at least one step", key="x")
            self._first = self._check_chunk(first, 0, None)
            self.batched = np.ndim(first) == 3
            self.B, self.L = self._first.shape[0], None
            return
        arr = x if sliceable else as_array("x", x)
        if arr.dtype == bool or arr.dtype.kind not in "iuf":
            raise ShapeError(f"got an array of dtype {arr.dtype}, expected real numbers (float or int)", key="x")
        if arr.ndim not in (2, 3):
            raise ShapeError(f"got shape {tuple(arr.shape)}, expected a 2-D or 3-D array", key="x")
        self.batched = arr.ndim == 3
        self._array = arr
        B, L, n_in = tuple(arr.shape) if self.batched else (1, *arr.shape)
        if n_in != model.n_in:
            raise ShapeError(f"got shape {arr.shape}, expected (L, {model.n_in}) or (B, L, {model.n_in}) "
                             f"for a model with n_in={model.n_in}", key="x")
        if L < 1 or B < 1:
            raise ShapeError(f"got shape {arr.shape}, expected at least one step and one sequence", key="x")
        if self.n_steps is not None and self.n_steps != L:
            raise InvalidValueError(f"got {n_steps}, but x has {L} steps; omit n_steps or make them agree",
                                    key="n_steps")
        self.B, self.L = B, L

    def _check_chunk(self, chunk, lo: int, batched: bool | None) -> np.ndarray:
        """A (B, c, n_in) chunk of the model's dtype whose first step is step ``lo`` of the run; checks values."""
        arr = as_array("x", chunk)
        if arr.dtype == bool or arr.dtype.kind not in "iuf":
            raise ShapeError(f"chunk at step {lo}: got dtype {arr.dtype}, expected real numbers", key="x")
        want = (2, 3) if batched is None else ((3,) if batched else (2,))
        if arr.ndim not in want or arr.shape[-1] != self.n_in or arr.shape[-2] < 1:
            shape = "(c, n_in) or (B, c, n_in)" if batched is None else ("(B, c, n_in)" if batched else "(c, n_in)")
            raise ShapeError(f"chunk at step {lo}: got shape {arr.shape}, expected {shape} with "
                             f"n_in={self.n_in} and c >= 1, like the first chunk", key="x")
        with np.errstate(over="ignore"):            # a value beyond float32's range becomes inf: refused below
            arr = arr.astype(self.dtype, copy=False)
        if arr.ndim == 2:
            arr = arr[None]
        if batched is not None and arr.shape[0] != self.B:
            raise ShapeError(f"chunk at step {lo}: got batch {arr.shape[0]}, expected {self.B} like the first chunk",
                             key="x")
        if not np.isfinite(arr).all():
            q, s, j = (int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            if self._iter is not None:
                where = f"step {lo + s} (sequence {q}, input {j})"
            else:                                   # an index into the array the caller passed
                where = f"index {(q, lo + s, j) if self.batched else (lo + s, j)}"
            within = "" if self.dtype == np.float64 else f" within {self.dtype.name}'s range (the model's dtype)"
            raise InvalidValueError(f"contains {arr[q, s, j]} at {where}, expected finite numbers{within}", key="x")
        return arr

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """Chunks ``(B, c, n_in)`` (the model's dtype) of ``size`` steps (the last may be shorter)."""
        if self._iter is None:
            for lo in range(0, self.L, size):
                part = self._array[:, lo:lo + size] if self.batched else self._array[lo:lo + size]
                yield self._check_chunk(part, lo, self.batched)
            return
        # Every chunk the iterator yields, the first included, is cut to ``size`` steps: engines size
        # their arenas by the chunk size they ask for (the first chunk was once passed on whole).
        parts, held, lo = [], 0, 0
        part = self._first
        while part is not None:
            parts.append(part)
            held += part.shape[1]
            while held >= size:
                buf = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
                yield buf[:, :size]
                lo += size
                held -= size
                parts = [buf[:, size:]] if held else []
            raw = next(self._iter, _END)
            part = None if raw is _END else self._check_chunk(raw, lo + held, self.batched)
        if held:
            yield np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
            lo += held
        self.L = lo
        if self.n_steps is not None and self.n_steps != lo:
            raise InvalidValueError(f"got {self.n_steps}, but x yielded {lo} steps; omit n_steps or "
                                    "make them agree", key="n_steps")


class Keeper:
    """Collects a run's states and outputs chunk by chunk, as much as ``keep`` asks.

    ``"all"``: ``y`` (B, L, n_out) and ``h`` (B, L, n); ``"outputs"``: ``y`` only;
    ``"last"``: ``y`` (B, n_out) and ``h`` (B, n) after the final step; ``"none"``: nothing.
    A run of one chunk returns views of the engine's arrays (no copy).
    """

    def __init__(self, keep: str, B: int, L: int | None):
        self.keep, self.B, self.L = keep, B, L
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._out: tuple[np.ndarray, np.ndarray] | None = None
        self._pos = 0

    def add(self, h: np.ndarray, y: np.ndarray) -> None:
        """One chunk: ``h`` (c, B, n) and ``y`` (c, B, n_out), step-major (may be views of work arrays)."""
        keep = self.keep
        if keep == "none":
            return
        if keep == "last":
            self._parts = [(h[-1].copy(), y[-1].copy())]
            return
        h = h if keep == "all" else None
        if self._pos == 0 and self.L is not None and y.shape[0] == self.L:
            self._parts = [(h, y)]                                   # the whole run in one chunk: keep views
        elif self.L is not None:
            if self._out is None:
                n_out = y.shape[2]
                self._out = (None if h is None else np.empty((self.B, self.L, h.shape[2]), h.dtype),
                             np.empty((self.B, self.L, n_out), y.dtype))
            c = y.shape[0]
            if h is not None:
                self._out[0][:, self._pos:self._pos + c] = h.transpose(1, 0, 2)
            self._out[1][:, self._pos:self._pos + c] = y.transpose(1, 0, 2)
        else:
            self._parts.append((None if h is None else h.transpose(1, 0, 2).copy(), y.transpose(1, 0, 2).copy()))
        self._pos += y.shape[0]

    def result(self, batched: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(y, h)`` as kept, without the batch axis when the input had none."""
        keep = self.keep
        if keep == "none":
            return None, None
        if keep == "last":
            h, y = self._parts[0]                                   # (B, n), (B, n_out)
        elif self._out is not None:
            h, y = self._out
        elif self.L is not None:                                    # one chunk, step-major views
            h, y = self._parts[0]
            h, y = (None if keep != "all" else h.transpose(1, 0, 2)), y.transpose(1, 0, 2)
        else:
            h = None if keep != "all" else np.concatenate([p[0] for p in self._parts], axis=1)
            y = np.concatenate([p[1] for p in self._parts], axis=1)
        if not batched:
            h = None if h is None else h[0]
            y = y[0]
        return y, h
