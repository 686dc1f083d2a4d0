"""Analytic cost of Clockwork RNN computation (DESIGN section 5). A leaf module.

What one activation costs
    One activation of module ``i`` costs ``k_i * (sum of k_j over the modules j it
    reads + n_in)`` multiply-adds (its block-row of ``W_rec``: the *recurrent*
    part, and of ``W_in``: the *input* part), plus ``k_i`` bias adds and ``k_i``
    evaluations of the activation function ``f_H``, counted separately
    (:func:`update_cost`). It reads its weight block and bias once, whatever the
    batch size, and the state and input it reads once per sequence.
What one activation moves (DESIGN section 11)
    In bytes of the run's dtype (:func:`dtype_itemsize`; float32 exactly half of float64):
    ``weights`` (its ``W_rec`` block row, ``W_in`` rows and bias, read once per activation),
    ``state_read`` (the states of the modules it reads and the input, per sequence),
    ``state_written`` (its own ``k_i`` units, per sequence) and ``messages`` (its ``k_i`` units
    to each other module it feeds, per sequence): :meth:`UpdateCost.traffic`.
    :func:`footprint` is what the whole model holds in memory (weights; states, input and inboxes).
What a schedule costs
    :func:`schedule_cost` adds up the activations of a whole schedule, given as an
    activity mask ``(L, g)`` or as firing counts (:func:`periodic_firings` counts
    the firings of periodic clocks in closed form, without building a mask), plus
    one readout ``W_out @ h`` per step (``n_out * n`` multiply-adds).
    :func:`step_macs` gives the multiply-adds of each step. A run's
    ``trace.summary()["macs"]`` equals ``schedule_cost(...).macs`` for its schedule.
The dense comparison
    ``dense_macs`` is the paper's baseline: a simple RNN of the same ``n``, ``n_in``
    and ``n_out`` (a full ``n x n`` recurrent matrix) running every step:
    ``L * (n * (n + n_in) + n_out * n)`` per sequence.
    :func:`paper_speedup_bounds` gives the paper's lower bounds on the saving
    (``g/2`` for the recurrent part, ``g/4`` for the whole network); see its
    docstring for the derivation and the conditions under which they hold.

What input buffering costs
    A module with a buffered ``input_mode`` folds every input sample into its window's
    accumulator: ``n_in`` additions (``"mean"``, ``"sum"``) or comparisons (``"max"``) per
    sample, whether or not it fires; a ``"mean"`` module also divides its ``n_in`` sums at
    each firing. It holds one ``n_in`` accumulator (and a sample count) per sequence.
    :func:`buffer_cost` counts this work apart from the update: it is never part of ``macs``.

Counts are per sequence unless a ``batch`` is given, which multiplies every
multiply-add, bias add and activation-function count by ``B`` (not the number of
activations, and not the weight bytes, which a batched update reads once).

Everything here takes plain numbers and arrays, so it serves traces loaded from
disk as well as live models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validate import as_int
from ..errors import InvalidValueError, ShapeError


def _structure(module_sizes, block_mask, n_in) -> tuple[np.ndarray, np.ndarray, int]:
    """Validated ``ks`` (g,) int64, ``mask`` (g, g) bool and ``n_in``."""
    ks = np.asarray(module_sizes)
    if ks.ndim != 1 or ks.size == 0 or ks.dtype.kind not in "iu":
        raise ShapeError(f"got {module_sizes!r}, expected a non-empty list of integers", key="module_sizes")
    if (ks < 1).any():
        raise InvalidValueError(f"got {ks.tolist()}, expected sizes >= 1", key="module_sizes")
    g = ks.size
    mask = np.asarray(block_mask)
    if mask.shape != (g, g):
        raise ShapeError(f"got shape {mask.shape}, expected ({g}, {g}) for {g} modules", key="block_mask")
    return ks.astype(np.int64), mask.astype(bool), as_int("n_in", n_in, minimum=0)


@dataclass(frozen=True)
class UpdateCost:
    """What one activation of each module costs, per sequence. Every field is int64 ``(g,)``.

    Attributes
    ----------
    recurrent_macs : ndarray, shape (g,)
        ``k_i * sum of k_j`` over the modules ``j`` that feed ``i`` (its block-row of ``W_rec``).
    input_macs : ndarray, shape (g,)
        ``k_i * n_in`` (its rows of ``W_in``).
    bias_adds : ndarray, shape (g,)
        ``k_i``.
    fn_evals : ndarray, shape (g,)
        ``k_i`` evaluations of the activation function ``f_H``.
    weight_bytes : ndarray, shape (g,)
        Bytes of weights read: its ``W_rec`` block-row, ``W_in`` rows and bias (``itemsize`` each).
        Read once per activation, whatever the batch size.
    state_bytes : ndarray, shape (g,)
        Bytes of state and input read per sequence: the units of the modules it reads plus ``x``.
    state_written_bytes : ndarray, shape (g,)
        Bytes of state written per sequence: its own ``k_i`` units.
    message_bytes : ndarray, shape (g,)
        Bytes of the messages it sends per sequence: its ``k_i`` units to each other module it
        feeds (``fan_out_i`` of them; a module's own state is not a message), written into their inboxes.
    """

    recurrent_macs: np.ndarray
    input_macs: np.ndarray
    bias_adds: np.ndarray
    fn_evals: np.ndarray
    weight_bytes: np.ndarray
    state_bytes: np.ndarray
    state_written_bytes: np.ndarray
    message_bytes: np.ndarray

    @property
    def macs(self) -> np.ndarray:
        """Multiply-adds of one activation, per sequence: recurrent plus input, int64 ``(g,)``."""
        return self.recurrent_macs + self.input_macs

    def bytes_read(self, batch: int = 1) -> np.ndarray:
        """Bytes one activation over ``batch`` sequences reads: weights once, state per sequence."""
        return self.weight_bytes + as_int("batch", batch, minimum=1) * self.state_bytes

    def bytes_written(self, batch: int = 1) -> np.ndarray:
        """Bytes one activation over ``batch`` sequences writes: its state and its messages, per sequence."""
        return as_int("batch", batch, minimum=1) * (self.state_written_bytes + self.message_bytes)

    def traffic(self, batch: int = 1) -> dict[str, np.ndarray]:
        """Bytes one activation over ``batch`` sequences moves, by category (each int64 ``(g,)``):
        ``weights`` (read once), ``state_read`` (states and input), ``state_written``, ``messages``
        (written). ``weights + state_read`` is :meth:`bytes_read`, the other two :meth:`bytes_written`."""
        B = as_int("batch", batch, minimum=1)
        return {"weights": self.weight_bytes, "state_read": B * self.state_bytes,
                "state_written": B * self.state_written_bytes, "messages": B * self.message_bytes}


#: Value types a run or a device profile may name, with their bytes per value (DESIGN section 12).
DTYPE_ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "int32": 4, "int8": 1}


def dtype_name(dtype, key: str = "dtype") -> str:
    """The name (a key of :data:`DTYPE_ITEMSIZE`) of ``dtype``: a name, or a numpy dtype or scalar type."""
    if not isinstance(dtype, str):
        try:
            dtype = np.dtype(dtype).name
        except TypeError:
            pass
    if not isinstance(dtype, str) or dtype not in DTYPE_ITEMSIZE:
        raise InvalidValueError(key=key, value=dtype, expected="one of " + ", ".join(map(repr, DTYPE_ITEMSIZE)))
    return dtype


def dtype_itemsize(dtype, key: str = "dtype") -> int:
    """Bytes per value of ``dtype`` (:func:`dtype_name`): the one place a dtype becomes a byte count."""
    return DTYPE_ITEMSIZE[dtype_name(dtype, key)]


def update_cost(module_sizes: Sequence[int], block_mask: np.ndarray, n_in: int, itemsize: int = 8) -> UpdateCost:
    """Cost of one activation of each module (see :class:`UpdateCost`).

    Parameters
    ----------
    module_sizes : sequence of int, length g
        ``k_i``.
    block_mask : bool array_like, shape (g, g)
        ``block_mask[i, j]``: module ``j`` feeds module ``i``.
    n_in : int
    itemsize : int
        Bytes per weight or state value (8 for float64).
    """
    ks, mask, n_in = _structure(module_sizes, block_mask, n_in)
    itemsize = as_int("itemsize", itemsize, minimum=1)
    read_units = mask.astype(np.int64) @ ks                                   # (g,) state units read
    fan_out = mask.sum(axis=0).astype(np.int64) - np.diagonal(mask).astype(np.int64)   # (g,) other readers
    return UpdateCost(
        recurrent_macs=ks * read_units,
        input_macs=ks * n_in,
        bias_adds=ks.copy(),
        fn_evals=ks.copy(),
        weight_bytes=itemsize * (ks * (read_units + n_in) + ks),
        state_bytes=itemsize * (read_units + n_in),
        state_written_bytes=itemsize * ks,
        message_bytes=itemsize * ks * fan_out,
    )


def footprint(module_sizes: Sequence[int], block_mask: np.ndarray, n_in: int, n_out: int,
              itemsize: int = 8, batch: int = 1) -> dict[str, int]:
    """Bytes the model holds in memory: ``{"weights": ..., "states": ...}``.

    ``weights``: every module's weight block and bias (``W_rec`` blocks it reads, ``W_in`` rows, ``b``;
    the masked-out blocks are not stored) plus the readout ``W_out`` and ``b_out``. ``states``: per
    sequence of the ``batch``, the state ``h`` (``n``), the input ``x`` (``n_in``) and every module's
    inbox of messages (the units of the other modules it reads).
    """
    cost = update_cost(module_sizes, block_mask, n_in, itemsize)
    n = int(cost.bias_adds.sum())
    n_out = as_int("n_out", n_out, minimum=0)
    B = as_int("batch", batch, minimum=1)
    weights = int(cost.weight_bytes.sum()) + itemsize * (n_out * n + n_out)
    states = B * (itemsize * (n + int(n_in)) + int(cost.message_bytes.sum()))
    return {"weights": weights, "states": states}


def activation_macs(module_sizes: Sequence[int], block_mask: np.ndarray, n_in: int) -> np.ndarray:
    """Multiply-adds of one activation of each module, per sequence: int64 ``(g,)``."""
    return update_cost(module_sizes, block_mask, n_in).macs


def activation_bytes(module_sizes: Sequence[int], block_mask: np.ndarray, n_in: int,
                     itemsize: int = 8, batch: int = 1) -> np.ndarray:
    """Bytes one activation of each module reads: its weight block and bias (once) plus the state and
    input it reads (once per sequence of the ``batch``). Weights dominate. int64 ``(g,)``."""
    return update_cost(module_sizes, block_mask, n_in, itemsize).bytes_read(batch)


def buffer_cost(input_modes: Sequence[str], n_in: int, n_steps: int, activations, batch: int = 1
                ) -> tuple[np.ndarray, int]:
    """Work and memory of the input buffers (a buffered ``input_mode``), apart from the update.

    Parameters
    ----------
    input_modes : sequence of str, shape (g,)
        Each module's input mode; ``"latest"`` buffers nothing.
    n_in : int
    n_steps : int
        Input samples of each sequence.
    activations : int array_like, shape (g,)
        Firings of each module (a ``"mean"`` module divides at each).
    batch : int

    Returns
    -------
    ops : int64 ndarray, shape (g,)
        Per module: ``batch * n_in * n_steps`` additions or comparisons, plus
        ``batch * n_in`` divisions per firing of a ``"mean"`` module; 0 for ``"latest"``.
    floats : int
        Accumulator memory of all buffered modules, in floats: ``batch * n_in`` each.
    """
    modes = list(input_modes)
    acts = np.asarray(activations, dtype=np.int64)
    buffered = np.array([m != "latest" for m in modes], dtype=np.int64)
    mean = np.array([m == "mean" for m in modes], dtype=np.int64)
    per = int(batch) * int(n_in)
    ops = per * (buffered * int(n_steps) + mean * acts)
    return ops.astype(np.int64), per * int(buffered.sum())


def readout_macs(n: int, n_out: int) -> int:
    """Multiply-adds of one readout ``W_out @ h`` per sequence."""
    return int(n) * int(n_out)


def readout_bytes(n: int, n_out: int, itemsize: int = 8, batch: int = 1) -> int:
    """Bytes one readout ``y = W_out @ h + b_out`` over ``batch`` sequences moves: ``W_out`` and ``b_out``
    read once, ``h`` read and ``y`` written per sequence."""
    n, n_out = int(n), int(n_out)
    return int(itemsize) * (n_out * n + n_out + int(batch) * (n + n_out))


def dense_step_macs(n: int, n_in: int, n_out: int) -> int:
    """Multiply-adds of one step of a simple RNN with a full ``n x n`` recurrent matrix."""
    return int(n) * (int(n) + int(n_in)) + int(n_out) * int(n)


def lstm_step_macs(n: int, n_in: int, n_out: int) -> int:
    """Multiply-adds of one step of an LSTM of ``n`` cells (:class:`clocksim.LSTM`, no peepholes), per sequence:
    the four gates ``W_rec @ h + W_in @ x`` (``4n * (n + n_in)``) and the readout (``n_out * n``); the
    element-wise products of the cell update are not multiply-adds of a matrix and are not counted."""
    return 4 * int(n) * (int(n) + int(n_in)) + readout_macs(n, n_out)


def dense_macs(n: int, n_in: int, n_out: int, n_steps: int, batch: int = 1) -> int:
    """The paper's baseline: a dense simple RNN running every one of ``n_steps`` steps."""
    return dense_step_macs(n, n_in, n_out) * int(n_steps) * int(batch)




def periodic_firings(periods: Sequence[int], n_steps: int, *, start: int = 0,
                     phases: Sequence[int] | None = None) -> np.ndarray:
    """How often each periodic clock fires in steps ``start .. start + n_steps - 1``: int64 ``(g,)``.

    Closed form, no mask: module ``i`` fires at ``t`` iff ``(t - phase_i) mod T_i == 0``, so it
    fires ``floor((start + L - 1 - phase) / T) - floor((start - 1 - phase) / T)`` times.
    """
    T = np.asarray(periods)
    if T.ndim != 1 or T.dtype.kind not in "iu" or (T < 1).any():
        raise InvalidValueError(f"got {periods!r}, expected a list of integers >= 1", key="periods")
    T = T.astype(np.int64)
    ph = np.zeros_like(T) if phases is None else np.asarray(phases, dtype=np.int64)
    if ph.shape != T.shape:
        raise ShapeError(f"got shape {ph.shape}, expected {T.shape}: one phase per period", key="phases")
    L = as_int("n_steps", n_steps, minimum=0)
    start = as_int("start", start)
    return (start + L - 1 - ph) // T - (start - 1 - ph) // T


def binned_macs(n_bins: int, g: int, bins: np.ndarray, module: np.ndarray, macs: np.ndarray,
                readout_bins: np.ndarray | None = None, readout_macs: int = 0) -> np.ndarray:
    """Multiply-adds per bin (a step, or an input's window) and per module: the one place they are summed.

    Parameters
    ----------
    n_bins, g : int
    bins : int ndarray, shape (A,)
        The bin of each activation (``0 <= bins < n_bins``).
    module : int ndarray, shape (A,)
    macs : int ndarray, shape (A,)
        Multiply-adds of each activation (whole batch).
    readout_bins : int ndarray, shape (R,), optional
        The bin of each readout; each costs ``readout_macs`` (whole batch).

    Returns
    -------
    int64 ndarray, shape (g + 1, n_bins)
        Rows 0..g-1 the modules' activations, row g the readouts; exact integer sums.
    """
    out = np.zeros((g + 1, n_bins), dtype=np.int64)
    np.add.at(out, (np.asarray(module, dtype=np.intp), np.asarray(bins, dtype=np.intp)),
              np.asarray(macs, dtype=np.int64))
    if readout_bins is not None:
        out[g] = np.bincount(np.asarray(readout_bins, dtype=np.intp), minlength=n_bins)[:n_bins] * int(readout_macs)
    return out


def step_macs(active: np.ndarray, activation_macs: np.ndarray, readout_macs: int = 0,
              batch: int = 1) -> np.ndarray:
    """Multiply-adds of each step: the activations of that step plus one readout. int64 ``(L,)``.

    Parameters
    ----------
    active : bool ndarray, shape (L, g)
        Activity mask; row ``s`` is step ``start + s``.
    activation_macs : int ndarray, shape (g,)
        Per activation, per sequence (:func:`activation_macs`).
    readout_macs : int
        Per readout, per sequence (:func:`readout_macs`); one readout per step.
    batch : int
    """
    active = np.asarray(active, dtype=bool)
    per = np.asarray(activation_macs, dtype=np.int64)
    if active.ndim != 2 or active.shape[1] != per.size:
        raise ShapeError(f"got shape {active.shape}, expected (L, {per.size})", key="active")
    B = as_int("batch", batch, minimum=1)
    L, g = active.shape
    step, module = np.nonzero(active)
    return binned_macs(L, g, step, module, per[module] * B, np.arange(L), int(readout_macs) * B).sum(axis=0)


@dataclass(frozen=True)
class ScheduleCost:
    """Analytic totals of a schedule (per batch of ``batch`` sequences; per sequence when it is 1).

    Attributes
    ----------
    update : UpdateCost
        Cost of one activation of each module, per sequence.
    firings : ndarray, shape (g,)
        Activations of each module (not multiplied by the batch).
    n_steps : int
        Steps; one readout per step.
    readout_macs_each : int
        Multiply-adds of one readout per sequence (``n_out * n``).
    dense_step_macs : int
        Multiply-adds of one step of the dense simple RNN, per sequence.
    n : int
    batch : int
    """

    update: UpdateCost
    firings: np.ndarray
    n_steps: int
    readout_macs_each: int
    dense_step_macs: int
    n: int
    batch: int = 1

    @property
    def activations(self) -> int:
        return int(self.firings.sum())

    @property
    def module_macs(self) -> np.ndarray:
        """Multiply-adds of each module over the schedule, int64 ``(g,)``."""
        return self.firings * self.update.macs * self.batch

    @property
    def recurrent_macs(self) -> int:
        return int((self.firings * self.update.recurrent_macs).sum()) * self.batch

    @property
    def input_macs(self) -> int:
        return int((self.firings * self.update.input_macs).sum()) * self.batch

    @property
    def activation_macs(self) -> int:
        """Multiply-adds of all activations (recurrent plus input)."""
        return self.recurrent_macs + self.input_macs

    @property
    def readout_macs(self) -> int:
        return self.readout_macs_each * self.n_steps * self.batch

    @property
    def macs(self) -> int:
        """Activations' plus readouts' multiply-adds: what ``trace.summary()["macs"]`` reports."""
        return self.activation_macs + self.readout_macs

    @property
    def bias_adds(self) -> int:
        return int((self.firings * self.update.bias_adds).sum()) * self.batch

    @property
    def fn_evals(self) -> int:
        return int((self.firings * self.update.fn_evals).sum()) * self.batch

    @property
    def bytes_read(self) -> int:
        return int((self.firings * self.update.bytes_read(self.batch)).sum())

    @property
    def bytes_written(self) -> int:
        return int((self.firings * self.update.bytes_written(self.batch)).sum())

    @property
    def dense_macs(self) -> int:
        return self.dense_step_macs * self.n_steps * self.batch

    @property
    def dense_recurrent_macs(self) -> int:
        """The dense RNN's ``n x n`` recurrent products over the schedule."""
        return self.n * self.n * self.n_steps * self.batch

    @property
    def speedup_vs_dense(self) -> float:
        """``dense_macs / macs``: the whole network."""
        return self.dense_macs / self.macs if self.macs else math.inf

    @property
    def recurrent_speedup(self) -> float:
        """Dense recurrent multiply-adds over this schedule's recurrent multiply-adds."""
        return self.dense_recurrent_macs / self.recurrent_macs if self.recurrent_macs else math.inf


def schedule_cost(module_sizes: Sequence[int], block_mask: np.ndarray, n_in: int, n_out: int, *,
                  active: np.ndarray | None = None, firings: Sequence[int] | None = None,
                  n_steps: int | None = None, batch: int = 1, itemsize: int = 8) -> ScheduleCost:
    """Analytic cost of a whole schedule: give an activity mask, or firing counts and ``n_steps``.

    Parameters
    ----------
    module_sizes, block_mask, n_in :
        As for :func:`update_cost`.
    n_out : int
    active : bool array_like, shape (L, g), optional
        Activity mask (``model.activity(L)``, or any custom mask).
    firings : int array_like, shape (g,), optional
        Activations of each module, e.g. from :func:`periodic_firings` (no mask needed).
    n_steps : int, optional
        Steps (readouts); required with ``firings``, taken from the mask otherwise.
    batch : int
        Sequences; multiplies every operation count.
    itemsize : int
        Bytes per value, for the byte counts.
    """
    cost = update_cost(module_sizes, block_mask, n_in, itemsize)
    g = cost.macs.size
    if (active is None) == (firings is None):
        raise InvalidValueError("expected exactly one of active= (a mask) or firings= (counts)", key="schedule_cost")
    if active is not None:
        mask = np.asarray(active)
        if mask.ndim != 2 or mask.shape[1] != g:
            raise ShapeError(f"got shape {mask.shape}, expected (L, {g})", key="active")
        if n_steps is not None and as_int("n_steps", n_steps, minimum=0) != mask.shape[0]:
            raise InvalidValueError(f"got {n_steps}, but active has {mask.shape[0]} rows", key="n_steps")
        counts = mask.astype(bool).sum(axis=0).astype(np.int64)
        L = mask.shape[0]
    else:
        counts = np.asarray(firings)
        if counts.shape != (g,) or counts.dtype.kind not in "iu" or (counts < 0).any():
            raise ShapeError(f"got {firings!r}, expected {g} non-negative integers", key="firings")
        if n_steps is None:
            raise InvalidValueError("got None with firings=, expected the number of steps", key="n_steps")
        counts = counts.astype(np.int64)
        L = as_int("n_steps", n_steps, minimum=0)
    n = int(cost.bias_adds.sum())
    n_out = as_int("n_out", n_out, minimum=0)
    return ScheduleCost(update=cost, firings=counts, n_steps=L, readout_macs_each=readout_macs(n, n_out),
                        dense_step_macs=dense_step_macs(n, as_int("n_in", n_in, minimum=0), n_out),
                        n=n, batch=as_int("batch", batch, minimum=1))


def paper_speedup_bounds(g: int) -> dict:
    """The paper's lower bounds on the saving of a CW-RNN over the dense RNN: ``{"recurrent": g/2,
    "network": g/4}``.

    They hold for ``g`` modules of ``k`` units each, periods ``T_i = 2**(i-1)`` (fastest first),
    slow-to-fast wiring, counted over whole cycles (``L`` a multiple of ``2**(g-1)``; any other
    ``L`` adds at most one activation per module), with ``n = g k``:

    * Recurrent part. Module ``i`` reads ``g - i + 1`` modules, so an activation costs
      ``k * (g - i + 1) k`` multiply-adds, and it runs every ``2**(i-1)`` steps. Per step on
      average: ``k^2 * sum_i (g - i + 1) / 2**(i-1) = k^2 (2g - 2 + 2**(1-g)) < 2 g k^2 = 2 n^2 / g``,
      against ``n^2`` for the dense RNN: at least ``g/2`` cheaper.
    * Whole network. The input part obeys the same bound (``k n_in sum_i 2**(1-i) < 2 n n_in / g``
      against ``n n_in``), so the hidden layer is at least ``g/2`` cheaper; the readout
      ``n_out n`` runs every step in both networks. With ``H = n (n + n_in)`` and
      ``O = n n_out``, the ratio is at least ``(H + O) / (2H/g + O)``, which is at least ``g/4``
      when ``(g - 4) n_out <= 2 (n + n_in)`` — e.g. whenever the output has at most ``2k`` units
      (two modules' worth), as in the paper's tasks; and always when ``g <= 4``. A wide output
      (``n_out`` comparable to ``n``) makes the readout dominate both networks and the bound fails.

    Parameters
    ----------
    g : int
        Number of modules.
    """
    g = as_int("g", g, minimum=1)
    return {"recurrent": g / 2, "network": g / 4}
