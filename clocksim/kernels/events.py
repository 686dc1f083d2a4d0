"""Jitted bookkeeping of the event engine: activations, publishing, message delivery, readout.

Pure functions of arrays (no clocksim imports beyond the shared kernels). The
event engine keeps its whole numeric state in three flat arenas, so that one
activation is one jitted call with few arguments (the arenas travel as the address of a table of their
addresses and extents: :func:`arena_table`, :func:`bind`); the values are in an arena of the model's dtype,
times in a float64 one:

``V`` (the model's dtype, float64 or float32: DESIGN section 12) — per module an *inbox* ``(B, c_i)``
holding, in the order the module reads them, the last received state of every
module it reads, then the input; a window of the inputs ``x`` ``(W, B, n_x)`` (the samples, then the
window reductions of buffered modules: ``Plan.n_x``); the packed weights
and biases; ``nxt`` and ``pub`` ``(B, n)``: computed and published states; and the readout
states of the current chunk ``(c+1, B, m)``.

``S`` (float64) — the arrival times ``ts`` of the input window (samples ``I[H_XBASE] ...``,
``I[H_XN]`` of them); when each module last published and when each inbox slot's
content was sent; and the records the trace is built from (activations ``(cap, 8)``,
messages ``(cap, 5)``).

``I`` (int64) — a header of section offsets and counters, the kernel plan, a
module table, and per sender the list of (receiver, column in the receiver's inbox).

Times are model time. End-to-end latency is derived after the run from the
activation records (see ``clocksim.engine.base.readouts_from_activations``).
"""

import ctypes
import functools

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.dispatcher import Dispatcher
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array

from ..errors import InvalidTypeError, KernelBoundsError
from .core import (
    _JIT,
    P_G0,
    P_G1,
    P_HI,
    P_LO,
    P_R0,
    P_R1,
    PLAN_COLUMNS,
    PLAN_FAULTS,
    copy_inlined,
    gather_reads,
    inlined,
    inner,
    module_update,
    plan_row_fault,
    python_twin,
)

# ---- header slots of I. First the layout: LAYOUT slots fixed when the arenas are built, checked against the
# arenas' extents and sealed by :func:`seal` (every entry point then checks only that they are unchanged)
H_G, H_N, H_NIN, H_B, H_M, H_L = 0, 1, 2, 3, 4, 5
H_ACT = 6                     # hidden activation code
H_PLAN, H_MOD, H_DPTR, H_DLIST, H_SPTR, H_SLIST, H_DIRTY = 7, 8, 9, 10, 11, 12, 13
H_NXT, H_PUB, H_RECV, H_PUBT = 14, 15, 16, 17
H_X, H_TS, H_W, H_WLEN, H_BIAS, H_ACTREC, H_MSGREC, H_Z = 18, 19, 20, 21, 22, 23, 24, 25
H_COUNT = 26                          # section (g, 2): updates executed and their multiply-adds, per module
H_XW = 27                             # input columns per sample and sequence (Plan.n_x)
H_GIDX = 28                           # section: the plan's gather lists (modules with non-contiguous reads)
H_ZROWS, H_ACTCAP, H_MSGCAP = 29, 30, 31  # extents: rows of z (c + 1); activation and message records held
H_PSEAL = 32                          # section (g, PLAN_COLUMNS): the plan as :func:`seal` checked it
LAYOUT = 33
# H_L holds the input window's capacity in samples (the x and ts sections)
# then what changes during a run (checked at each call): counters, the input window, the error flag
H_NACT, H_NMSG, H_NDIRTY = 33, 34, 35
H_XBASE, H_XN, H_ERR = 36, 37, 38   # input window: index of its first sample, samples held; error flag
H_ZBASE = 39                          # window index of the current chunk's first sample (row 0 of z)
# then the seal: the layout as :func:`seal` checked it, and the extents of I, S and V it was checked against
H_SEAL = 40
SEAL_LEN = LAYOUT + 3
HEADER = H_SEAL + SEAL_LEN
# ---- module table columns
M_INBOX, M_C, M_CH, M_MACS, M_X0 = 0, 1, 2, 3, 4    # M_X0: first input column the module reads
MOD_COLUMNS = 5
# ---- activation record columns (float64 rows)
A_MODULE, A_TIME, A_START, A_END, A_MACS, A_STALE, A_LAG, A_CORE = range(8)
ACT_COLUMNS = 8
# ---- message record columns (MSG_SEQ: which of the sender's activations sent it, counted from 0)
MSG_SENDER, MSG_RECEIVER, MSG_SEND, MSG_ARRIVE, MSG_SEQ = range(5)
MSG_COLUMNS = 5


def _plan_py(I, g):
    """:func:`_plan` with the JIT off."""
    return I[I[H_PLAN]: I[H_PLAN] + g * PLAN_COLUMNS].reshape((g, PLAN_COLUMNS))


@python_twin(_plan_py)
@intrinsic
def _plan(typingctx, I, g):
    """The kernel plan held in ``I``: a ``(g, PLAN_COLUMNS)`` view of ``I`` from ``I[H_PLAN]``.

    What ``I[I[H_PLAN]: I[H_PLAN] + g * PLAN_COLUMNS].reshape((g, PLAN_COLUMNS))`` gives, without numba's reshape,
    which compiles a helper function of its own into each kernel using it (0.2 s of a cold start).
    """
    if I != types.Array(types.int64, 1, "C") or not isinstance(g, types.Integer):
        return None                                   # not the integer arena: a typing error
    table = types.Array(types.int64, 2, "C")

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        start = builder.load(builder.gep(src.data, [intp(H_PLAN)]))          # I[H_PLAN]
        out = context.make_array(table)(context, builder)
        populate_array(out, data=builder.gep(src.data, [start]), shape=[args[1], intp(PLAN_COLUMNS)],
                       strides=[intp(8 * PLAN_COLUMNS), intp(8)], itemsize=intp(8),
                       meminfo=src.meminfo, parent=src.parent)
        return impl_ret_borrowed(context, builder, table, out._getvalue())

    return table(I, g), codegen


# ---- the arenas by address. The entry points (``*_at``) take the three arenas as the address of a table of
# their addresses and extents (:func:`arena_table`), and rebuild them inside the kernel (:func:`_arena_at`),
# rather than as numpy arrays: numba unboxes an array argument into a fresh reference-counted MemInfo (a malloc,
# and a free under the GIL on return), and every slice it hands an inner kernel is an atomic increment and
# decrement of that count; an array rebuilt from its address has no MemInfo, so those are skipped, and a call
# passes two arguments for the arenas instead of three arrays. The table is built only by :func:`arena_table`,
# which reads it off real arrays after checking their kind; :func:`bind` keeps the arrays and the table alive
# with the call. Every entry point then checks the extents it is handed as before (:func:`arena_fault`).
def _arena_at_py(addr, n, dtype):
    """:func:`_arena_at` with the JIT off: a numpy view of the ``n`` values at ``addr``."""
    dtype = np.dtype(dtype)
    return np.frombuffer((ctypes.c_char * (int(n) * dtype.itemsize)).from_address(int(addr)), dtype=dtype)


@python_twin(_arena_at_py)
@intrinsic
def _arena_at(typingctx, addr, n, dtype):
    """The 1-d C array of ``n`` values of ``dtype`` (a numpy scalar type) at ``addr``, owned by the caller."""
    if not (isinstance(addr, types.Integer) and isinstance(n, types.Integer) and isinstance(dtype, types.NumberClass)):
        return None
    arr = types.Array(dtype.instance_type, 1, "C")

    def codegen(context, builder, sig, args):
        out = context.make_array(arr)(context, builder)
        item = context.get_abi_sizeof(context.get_data_type(arr.dtype))
        intp = context.get_value_type(types.intp)
        data = builder.inttoptr(args[0], context.get_data_type(arr.dtype).as_pointer())
        populate_array(out, data=data, shape=[context.cast(builder, args[1], sig.args[1], types.intp)],
                       strides=[intp(item)], itemsize=intp(item), meminfo=None)
        return out._getvalue()
    return arr(addr, n, dtype), codegen


#: Slots of an arena table (:func:`arena_table`): the address and the extent of S, V and I.
TABLE = 6


@inlined
def _arenas(table, vtype):
    """S, V and I rebuilt from the arena table at address ``table`` (:func:`arena_table`); V of ``vtype``."""
    T = _arena_at(table, TABLE, np.int64)
    return _arena_at(T[0], T[1], np.float64), _arena_at(T[2], T[3], vtype), _arena_at(T[4], T[5], np.int64)


#: The dtypes each arena may have, by name.
_ARENA_KINDS = (("S", (np.float64,)), ("V", (np.float64, np.float32)), ("I", (np.int64,)))


def arena_table(S, V, I) -> tuple[np.ndarray, type]:
    """The arena table of S, V and I and V's scalar type: the first two arguments of every ``*_at`` entry point
    (the table by its address). The table is a read-only int64 array of the address and the extent of S, then
    V, then I (:data:`TABLE` slots); no kernel writes it, so the extents a kernel checks against are read off the
    arrays themselves.

    Each arena must be a writable, C-contiguous 1-d numpy array of its kind (S float64, V float64 or float32,
    I int64); anything else is refused here (InvalidTypeError, a TypeError), before an address is taken.
    """
    out = []
    for (name, kinds), a in zip(_ARENA_KINDS, (S, V, I)):
        if not (isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.type in kinds and a.flags.c_contiguous
                and a.flags.writeable):
            got = f"{type(a).__name__} {getattr(a, 'dtype', '')} {getattr(a, 'shape', '')}".strip()
            raise InvalidTypeError(f"got {got}, expected a writable C-contiguous 1-d array of "
                                   f"{' or '.join(np.dtype(k).name for k in kinds)}", key=f"arena {name}")
        out += [a.__array_interface__["data"][0], a.shape[0]]
    table = np.array(out, dtype=np.int64)
    table.flags.writeable = False
    return table, V.dtype.type


def bind(kernel, S, V, I, *example):
    """``kernel`` (an ``*_at`` entry point) with the arenas S, V and I bound: ``bind(tick_at, S, V, I, 0, 0.0)(s, t)``.

    With ``example`` arguments (of the types the calls will pass), the kernel is compiled (or loaded from
    its cache) for those types once, and each call skips numba's type dispatch (which, for the scalar-type
    argument, runs in Python). The call holds the arrays and their table, so the memory its addresses point
    into lives as long as it does."""
    table, vtype = arena_table(S, V, I)
    head = (table.__array_interface__["data"][0], vtype)
    if example and isinstance(kernel, Dispatcher):
        kernel = kernel.compile(tuple(numba.typeof(a) for a in head + example))
    call = functools.partial(kernel, *head)
    call.arenas, call.table = (S, V, I), table
    return call


def _array_form(kernel):
    """``kernel`` (an ``*_at`` entry point) as a function of its own arguments, then S, V and I: what tests
    and a bounds-checked session call (:func:`arena_table` checks the arrays at each call)."""
    def call(*args):
        *own, S, V, I = args
        table, vtype = arena_table(S, V, I)
        return kernel(table.__array_interface__["data"][0], vtype, *own)
    call.__name__ = call.__qualname__ = kernel.__name__.removesuffix("_at")
    call.__doc__ = f"``{kernel.__name__}`` on the arenas S, V and I: ``{call.__name__}(..., S, V, I)``."
    return call


# ---- bounds checks (see clocksim.kernels.core). The engine builds the arenas, then :func:`seal` checks their
# whole layout (every section the header names, every module's plan row, inbox and deliveries) against the
# arenas' real extents once and keeps a copy of it with those extents. Every entry point then checks, once
# per call, that the arenas are those extents and the layout is the sealed one (a comparison of LAYOUT + 3
# slots, no arithmetic), the counters and the window (which change), and what the call itself indexes.
#: What :func:`arena_fault` and :func:`layout_fault` name, by their code.
ARENA_FAULTS = ("", "I", "module", "S", "x window", "records", "V", "layout", "seal")


def _slots_differ(width):
    """An intrinsic ``differ(I, a, b)``: nonzero when ``I[a:a + width]`` and ``I[b:b + width]`` differ (the
    caller checks that both lie within ``I``). Two vector loads, a xor and an or-reduction: a few instructions where
    numba's loop over the slots took nine per slot (a wraparound test on each index keeps LLVM from
    vectorizing it)."""
    def differ_py(I, a, b):
        return int(np.any(I[a:a + width] != I[b:b + width]))

    @python_twin(differ_py)
    @intrinsic
    def differ(typingctx, I, a, b):
        if I != types.Array(types.int64, 1, "C") or not isinstance(a, types.Integer) or not isinstance(b, types.Integer):
            return None
        sig = types.int64(I, a, b)

        def codegen(context, builder, sig, args):
            data = context.make_array(sig.args[0])(context, builder, args[0]).data
            i64 = ir.IntType(64)
            vec = ir.VectorType(i64, width)
            x = [builder.load(builder.bitcast(builder.gep(data, [context.cast(builder, v, t, types.int64)]),
                                              vec.as_pointer()), align=8) for v, t in zip(args[1:], sig.args[1:])]
            reduce_or = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [vec]),
                                                       f"llvm.vector.reduce.or.v{width}i64")
            return builder.call(reduce_or, [builder.xor(*x)])
        return sig, codegen
    return differ


#: Whether the layout differs from its sealed copy: ``layout_changed(I, 0, H_SEAL)``.
layout_changed = _slots_differ(LAYOUT)
#: Whether a plan row differs from its sealed copy: ``plan_row_changed(I, I[H_PLAN] + i * PLAN_COLUMNS, ...)``.
plan_row_changed = _slots_differ(PLAN_COLUMNS)


@inlined
def arena_fault(i, S, V, I):
    """Whether the arenas are the ones whose layout :func:`seal` checked, with that layout unchanged, ``i``
    is a module, the input window holds no more samples than it has room for, and the record counts are
    within their capacities.

    Returns ``(code, needed, got)``: code 0 when it fits, else the index into ARENA_FAULTS.
    """
    if I.shape[0] < HEADER:
        return 1, HEADER, I.shape[0]
    changed = ((I[H_SEAL + LAYOUT] ^ I.shape[0]) | (I[H_SEAL + LAYOUT + 1] ^ S.shape[0])
               | (I[H_SEAL + LAYOUT + 2] ^ V.shape[0]) | layout_changed(I, np.int64(0), np.int64(H_SEAL)))
    if changed != 0:
        return seal_mismatch(S, V, I)
    g = I[H_G]
    if i < 0 or i >= g:
        return 2, i + 1, g
    if I[H_XN] > I[H_L] or I[H_XN] < 0:
        return 4, I[H_XN], I[H_L]
    if I[H_NACT] > I[H_ACTCAP] or I[H_NMSG] > I[H_MSGCAP] or I[H_NDIRTY] > g:
        return 5, max(I[H_NACT], I[H_NMSG], I[H_NDIRTY]), min(I[H_ACTCAP], I[H_MSGCAP], g)
    if I[H_NACT] < 0 or I[H_NMSG] < 0 or I[H_NDIRTY] < 0:
        return 5, 0, min(I[H_NACT], I[H_NMSG], I[H_NDIRTY])
    return 0, 0, 0


@inner
def seal_mismatch(S, V, I):
    """What differs from the seal (called once :func:`arena_fault` found that something does): an arena's
    extent (``(code, sealed, got)``), or the first layout slot that changed (``(7, its sealed value, its
    value)``), or that the arenas were never sealed (``(8, 1, 0)``)."""
    if I[H_SEAL + LAYOUT] == 0:
        return 8, 1, 0                                  # never sealed
    if I[H_SEAL + LAYOUT] != I.shape[0]:
        return 1, I[H_SEAL + LAYOUT], I.shape[0]
    if I[H_SEAL + LAYOUT + 1] != S.shape[0]:
        return 3, I[H_SEAL + LAYOUT + 1], S.shape[0]
    if I[H_SEAL + LAYOUT + 2] != V.shape[0]:
        return 6, I[H_SEAL + LAYOUT + 2], V.shape[0]
    for k in range(LAYOUT):
        if I[k] != I[H_SEAL + k]:
            return 7, I[H_SEAL + k], I[k]
    return 0, 0, 0


@inner
def layout_fault(S, V, I):
    """Whether the arenas' layout fits them: every section of ``I``, ``S`` and ``V`` the header names ends
    within its arena (what :func:`seal` checks before it seals the layout).

    Returns ``(code, needed, got)``: code 0 when it fits, else the index into ARENA_FAULTS.
    """
    if I.shape[0] < HEADER:
        return 1, HEADER, I.shape[0]
    g = I[H_G]
    ni = I.shape[0]
    for k in range(LAYOUT):
        if I[k] < 0:
            return 1, 0, I[k]
    end = 0
    end = max(end, I[H_PLAN] + g * PLAN_COLUMNS)
    end = max(end, I[H_MOD] + g * MOD_COLUMNS)
    end = max(end, I[H_DPTR] + g + 1)
    end = max(end, I[H_SPTR] + g + 1)
    end = max(end, I[H_DIRTY] + g)
    end = max(end, I[H_COUNT] + 2 * g)
    end = max(end, I[H_PSEAL] + g * PLAN_COLUMNS)
    if g < 1 or end > ni:
        return 1, end, ni
    for j in range(g):
        if I[I[H_DPTR] + j] < 0 or I[I[H_DPTR] + j + 1] < I[I[H_DPTR] + j]:
            return 1, I[I[H_DPTR] + j], I[I[H_DPTR] + j + 1]
        if I[I[H_SPTR] + j] < 0 or I[I[H_SPTR] + j + 1] < I[I[H_SPTR] + j]:
            return 1, I[I[H_SPTR] + j], I[I[H_SPTR] + j + 1]
    end = max(I[H_DLIST] + 2 * I[I[H_DPTR] + g], I[H_SLIST] + I[I[H_SPTR] + g])
    if end > ni or I[H_GIDX] > ni:
        return 1, max(end, I[H_GIDX]), ni
    for p in range(I[I[H_SPTR] + g]):
        if I[I[H_SLIST] + p] < 0 or I[I[H_SLIST] + p] >= g:
            return 2, I[I[H_SLIST] + p] + 1, g
    n = I[H_N]
    B = I[H_B]
    ns = S.shape[0]
    end = I[H_TS] + I[H_L]
    end = max(end, I[H_RECV] + g * g)
    end = max(end, I[H_PUBT] + g)
    end = max(end, I[H_ACTREC] + ACT_COLUMNS * I[H_ACTCAP])
    end = max(end, I[H_MSGREC] + MSG_COLUMNS * I[H_MSGCAP])
    if end > ns:
        return 3, end, ns
    nv = V.shape[0]
    end = I[H_X] + I[H_L] * B * I[H_XW]
    end = max(end, I[H_W] + I[H_WLEN])
    end = max(end, I[H_BIAS] + n)
    end = max(end, max(I[H_NXT], I[H_PUB]) + B * n)
    end = max(end, I[H_Z] + I[H_ZROWS] * B * I[H_M])
    if end > nv:
        return 6, end, nv
    for i in range(g):
        x0 = I[I[H_MOD] + i * MOD_COLUMNS + M_X0]
        if x0 < 0 or I[H_NIN] + x0 > I[H_XW]:
            return 4, I[H_NIN] + x0, I[H_XW]
    return 0, 0, 0


@inlined
def sealed_row_fault(plan, i, I):
    """Whether module ``i``'s plan row (``i`` a module: the caller checks) is the one :func:`seal` checked: a
    comparison with its sealed copy. A changed row is named by what no longer fits (:func:`plan_row_fault`),
    or as the plan when it still fits. Returns ``(code, needed, got)`` as :func:`plan_row_fault`."""
    if plan_row_changed(I, I[H_PLAN] + i * PLAN_COLUMNS, I[H_PSEAL] + i * PLAN_COLUMNS) == 0:
        return 0, 0, 0
    code, needed, got = plan_row_fault(plan, i, I[H_N], I[H_M], I[H_WLEN], I[I[H_GIDX]:], np.int64(-1), I[H_B])
    if code == 0:
        return 1, 1, 0
    return code, needed, got


@inlined
def inbox_fault(r, c_read, I):
    """Whether module ``r``'s inbox holds ``c_read`` values a sequence and ends before the input window
    (the next section of V); ``(needed, got)`` extents of the inbox, equal when it fits."""
    mod = I[H_MOD] + r * MOD_COLUMNS
    c = I[mod + M_C]
    need = I[mod + M_INBOX] + I[H_B] * max(c, c_read)
    if c_read > c or I[mod + M_CH] > c or I[mod + M_INBOX] < 0:
        return need, I[mod + M_INBOX] + I[H_B] * c
    if need > I[H_X]:
        return need, I[H_X]
    return 0, 0


@inlined
def rows_fault(j, I):
    """Whether module ``j``'s rows (``r0:r1`` of its plan row) lie within the ``n`` states; ``(needed, got)``
    extents, ``needed > got`` when they do not."""
    r0 = I[I[H_PLAN] + j * PLAN_COLUMNS + P_R0]
    r1 = I[I[H_PLAN] + j * PLAN_COLUMNS + P_R1]
    n = I[H_N]
    if r0 < 0 or r1 < r0 or r1 > n:
        return max(r1, n + 1), n
    return 0, 0


@inlined
def _delivery_fault(j, ns, I):
    """Whether sender ``j``'s rows are within the states and each (receiver, column) it delivers to
    holds its ``k_j`` values within the receiver's inbox; ``(needed, got)``, equal when it fits."""
    g = I[H_G]
    needed, got = rows_fault(j, I)
    if needed > got:
        return needed, got
    r0 = I[I[H_PLAN] + j * PLAN_COLUMNS + P_R0]
    r1 = I[I[H_PLAN] + j * PLAN_COLUMNS + P_R1]
    for p in range(I[I[H_DPTR] + j], I[I[H_DPTR] + j + 1]):
        r = I[I[H_DLIST] + 2 * p]
        col = I[I[H_DLIST] + 2 * p + 1]
        if r < 0 or r >= g:
            return r + 1, g
        c = I[I[H_MOD] + r * MOD_COLUMNS + M_C]
        if col < 0 or col + r1 - r0 > c:
            return col + r1 - r0, c
        needed, got = inbox_fault(r, c, I)
        if needed > got:
            return needed, got
    return 0, 0


@inner
def latest_sample(ts, t):
    """Index of the newest input sample with timestamp <= t (-1 if none); ``ts`` ascending.

    A plain bisection: the same answer as ``np.searchsorted(ts, t, side="right") - 1`` at a
    fraction of its compile time (numpy's generic version types a comparison tree per dtype).
    """
    lo, hi = 0, ts.shape[0]
    while lo < hi:                     # invariant: ts[:lo] <= t < ts[hi:]
        mid = (lo + hi) // 2
        if ts[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


@njit(**_JIT)
def activate_at(table, vtype, i, fire_t, start_t, end_t, core):
    """Module ``i`` computes its next state into ``nxt`` (the arenas by address: :func:`bind`).

    The firing at ``fire_t`` latches the newest input sample at or before it; the inbox is read
    when the computation starts (``start_t``, later if the module queued for a core). The module
    records the activation; :func:`publish` makes the state visible.
    """
    S, V, I = _arenas(table, vtype)
    g = I[H_G]
    n = I[H_N]
    n_in = I[H_NIN]
    B = I[H_B]
    code, needed, got = arena_fault(i, S, V, I)
    if code != 0:
        raise KernelBoundsError("activate", ARENA_FAULTS[code], needed, got)
    code, needed, got = plan_row_fault(_plan(I, g), i, n, I[H_M], I[H_WLEN], I[I[H_GIDX]:], np.int64(-1), B)
    if code != 0:
        raise KernelBoundsError("activate", PLAN_FAULTS[code], needed, got)
    plan = _plan(I, g)
    c_read = plan[i, P_G1] - plan[i, P_G0] if plan[i, P_LO] < 0 else plan[i, P_HI] - plan[i, P_LO]
    needed, got = inbox_fault(i, c_read, I)
    if needed > got:
        raise KernelBoundsError("activate", "inbox", needed, got)
    if I[H_NACT] + 1 > I[H_ACTCAP]:
        raise KernelBoundsError("activate", "records", I[H_NACT] + 1, I[H_ACTCAP])
    x0 = I[I[H_MOD] + i * MOD_COLUMNS + M_X0]          # the module table is not sealed: its input column here
    if x0 < 0 or n_in + x0 > I[H_XW]:
        raise KernelBoundsError("activate", "x window", max(n_in + x0, I[H_XW] + 1), I[H_XW])
    mod = I[H_MOD] + i * MOD_COLUMNS
    ib = I[mod + M_INBOX]
    c = I[mod + M_C]
    ch = I[mod + M_CH]
    sample = latest_sample(S[I[H_TS]: I[H_TS] + I[H_XN]], fire_t)   # within the input window
    if sample < 0 and I[H_XBASE] > 0:
        I[H_ERR] = 1                                  # the sample has left the window (see the engine)
    if n_in > 0:
        xw = I[H_XW]
        x0 = I[H_X] + sample * B * xw + I[mod + M_X0]
        for q in range(B):
            dst = V[ib + q * c + ch: ib + q * c + c]
            if sample >= 0:
                copy_inlined(dst, V[x0 + q * xw: x0 + q * xw + n_in])
            else:
                dst[:] = 0.0
    wflat = V[I[H_W]: I[H_W] + I[H_WLEN]]
    bias = V[I[H_BIAS]: I[H_BIAS] + n]
    done = module_update(i, V, ib, c, V, I[H_NXT] + plan[i, 0], n, B, plan, wflat, bias, I[H_ACT])
    # staleness: age of the oldest message read; lag: how much newer the senders' latest states are
    recv = I[H_RECV] + i * g
    stale = 0.0
    lag = 0.0
    for p in range(I[I[H_SPTR] + i], I[I[H_SPTR] + i + 1]):
        j = I[I[H_SLIST] + p]
        rt = S[recv + j]
        stale = max(stale, start_t - rt)
        lag = max(lag, S[I[H_PUBT] + j] - rt)
    _record(i, fire_t, start_t, end_t, core, stale, lag, done, S, I)


@inlined
def _record(i, fire_t, start_t, end_t, core, stale, lag, done, S, I):
    """Count module i's update (observed cost, counted where the work happens) and write its activation record."""
    I[I[H_COUNT] + 2 * i] += 1
    I[I[H_COUNT] + 2 * i + 1] += done
    row = I[H_ACTREC] + I[H_NACT] * ACT_COLUMNS
    S[row + A_MODULE] = i
    S[row + A_TIME] = fire_t
    S[row + A_START] = start_t
    S[row + A_END] = end_t
    S[row + A_MACS] = I[I[H_MOD] + i * MOD_COLUMNS + M_MACS]
    S[row + A_STALE] = stale
    S[row + A_LAG] = lag
    S[row + A_CORE] = core
    I[H_NACT] += 1


@njit(**_JIT)
def activate_sync_at(table, vtype, i, t):
    """Module ``i`` fires, starts and ends at ``t`` (synchronous path: no latency, no compute model; the arenas
    by address: :func:`bind`).

    It reads the state published up to ``t - 1`` where the readout left it, row ``s`` of the
    readout states (``s``: the step of ``t`` in the current chunk), with the input of step
    ``s`` in that row's input columns, as the compiled engine reads its work array: no
    per-reader inbox copies and no message records (the trace derives the messages from the
    activations). The module joins the dirty list that the tick's publish phase (:func:`tick`)
    works through.
    """
    S, V, I = _arenas(table, vtype)
    code, needed, got = arena_fault(i, S, V, I)
    if code != 0:
        raise KernelBoundsError("activate_sync", ARENA_FAULTS[code], needed, got)
    g = I[H_G]
    n = I[H_N]
    xw = I[H_XW]                                                    # input columns: latest, then buffered
    B = I[H_B]
    m = I[H_M]
    plan = _plan(I, g)
    code, needed, got = sealed_row_fault(plan, i, I)
    if code != 0:
        raise KernelBoundsError("activate_sync", PLAN_FAULTS[code], needed, got)
    if n + xw > m:
        raise KernelBoundsError("activate_sync", "z", n + xw, m)
    if I[H_NACT] + 1 > I[H_ACTCAP] or I[H_NDIRTY] + 1 > g:
        raise KernelBoundsError("activate_sync", "records", max(I[H_NACT] + 1, I[H_NDIRTY] + 1),
                                min(I[H_ACTCAP], g))
    if plan[i, P_LO] < 0:
        needed, got = inbox_fault(i, plan[i, P_G1] - plan[i, P_G0], I)
        if needed > got:
            raise KernelBoundsError("activate_sync", "inbox", needed, got)
    sample = latest_sample(S[I[H_TS]: I[H_TS] + I[H_XN]], t)       # sample of step s (within the window)
    row = sample - I[H_ZBASE]                                       # the step's row of z
    if row < 0 or row + 1 > I[H_ZROWS] - 1:                          # row s is read, row s + 1 written by the tick
        raise KernelBoundsError("activate_sync", "z", row + 2, I[H_ZROWS])
    z = I[H_Z] + row * B * m
    if xw > 0:
        x0 = I[H_X] + sample * B * xw
        for q in range(B):
            copy_inlined(V[z + q * m + n: z + q * m + n + xw], V[x0 + q * xw: x0 + (q + 1) * xw])
    wflat = V[I[H_W]: I[H_W] + I[H_WLEN]]
    bias = V[I[H_BIAS]: I[H_BIAS] + n]
    out = I[H_NXT] + plan[i, P_R0]
    lo = plan[i, P_LO]
    if lo >= 0:
        done = module_update(i, V, z + lo, m, V, out, n, B, plan, wflat, bias, I[H_ACT])
    else:                                             # non-contiguous reads: gathered into the inbox
        ib = I[I[H_MOD] + i * MOD_COLUMNS + M_INBOX]
        c = plan[i, P_G1] - plan[i, P_G0]
        gather_reads(i, V, z, m, B, plan, I[I[H_GIDX]:], V[ib: ib + B * c])
        done = module_update(i, V, ib, c, V, out, n, B, plan, wflat, bias, I[H_ACT])
    # staleness: age of the oldest state read (every reader holds the senders' latest: no lag)
    stale = 0.0
    for p in range(I[I[H_SPTR] + i], I[I[H_SPTR] + i + 1]):
        stale = max(stale, t - S[I[H_PUBT] + I[I[H_SLIST] + p]])
    _record(i, t, t, t, np.int64(-1), stale, 0.0, done, S, I)      # no core (an int64: see kernels._JIT)
    I[I[H_DIRTY] + I[H_NDIRTY]] = i
    I[H_NDIRTY] += 1


@inner
def _deliver_block(j, r, col, src, s_off, s_ld, send_t, arrive_t, seq, S, V, I, record):
    """Copy sender j's state (B rows of k_j, leading dimension s_ld from s_off) into receiver r's
    inbox at column col, unless r already holds a newer version; record the message (sent by j's
    activation number ``seq``)."""
    g = I[H_G]
    if send_t < S[I[H_RECV] + r * g + j]:
        pass                                   # an older message overtaken by a newer one: keep the newer
    else:
        B = I[H_B]
        plan0 = I[H_PLAN]
        k = I[plan0 + j * PLAN_COLUMNS + P_R1] - I[plan0 + j * PLAN_COLUMNS + P_R0]
        mod = I[H_MOD] + r * MOD_COLUMNS
        ib = I[mod + M_INBOX]
        c = I[mod + M_C]
        for q in range(B):
            copy_inlined(V[ib + q * c + col: ib + q * c + col + k], src[s_off + q * s_ld: s_off + q * s_ld + k])
        S[I[H_RECV] + r * g + j] = send_t
    if record:
        row = I[H_MSGREC] + I[H_NMSG] * MSG_COLUMNS
        S[row + MSG_SENDER] = j
        S[row + MSG_RECEIVER] = r
        S[row + MSG_SEND] = send_t
        S[row + MSG_ARRIVE] = arrive_t
        S[row + MSG_SEQ] = seq
        I[H_NMSG] += 1


@njit(**_JIT)
def publish_at(table, vtype, j, now, deliver_all):
    """Module j publishes ``nxt`` -> ``pub`` at ``now`` and delivers to itself (and, if
    ``deliver_all``, to every receiver at once: zero link latency). The arenas by address: :func:`bind`."""
    S, V, I = _arenas(table, vtype)
    code, needed, got = arena_fault(j, S, V, I)
    if code != 0:
        raise KernelBoundsError("publish", ARENA_FAULTS[code], needed, got)
    needed, got = _delivery_fault(j, V.shape[0], I)
    if needed > got:
        raise KernelBoundsError("publish", "inbox", needed, got)
    if I[H_NMSG] + I[I[H_DPTR] + j + 1] - I[I[H_DPTR] + j] > I[H_MSGCAP]:
        raise KernelBoundsError("publish", "records", I[H_NMSG] + I[I[H_DPTR] + j + 1] - I[I[H_DPTR] + j],
                                I[H_MSGCAP])
    _publish_state(j, now, S, V, I)
    n = I[H_N]
    r0 = I[I[H_PLAN] + j * PLAN_COLUMNS + P_R0]
    pub = I[H_PUB]
    seq = I[I[H_COUNT] + 2 * j] - 1                  # the activation that computed this state
    for p in range(I[I[H_DPTR] + j], I[I[H_DPTR] + j + 1]):
        r = I[I[H_DLIST] + 2 * p]
        if r == j or deliver_all:
            _deliver_block(j, r, I[I[H_DLIST] + 2 * p + 1], V, pub + r0, n, now, now, seq, S, V, I, r != j)


@inlined
def _publish_state(j, now, S, V, I):
    """Module j's computed rows ``nxt`` become its published rows ``pub``, published at ``now``."""
    B = I[H_B]
    n = I[H_N]
    plan0 = I[H_PLAN]
    r0 = I[plan0 + j * PLAN_COLUMNS + P_R0]
    r1 = I[plan0 + j * PLAN_COLUMNS + P_R1]
    nxt = I[H_NXT]
    pub = I[H_PUB]
    for q in range(B):
        copy_inlined(V[pub + q * n + r0: pub + q * n + r1], V[nxt + q * n + r0: nxt + q * n + r1])
    S[I[H_PUBT] + j] = now


@njit(**_JIT)
def deliver_at(table, vtype, j, r, col, seq, payload, send_t, now):
    """A delayed message from j (its activation number ``seq``) arrives at r; payload is j's state as
    sent, flat (B, k_j). The arenas by address: :func:`bind`."""
    S, V, I = _arenas(table, vtype)
    code, needed, got = arena_fault(j, S, V, I)
    if code != 0:
        raise KernelBoundsError("deliver", ARENA_FAULTS[code], needed, got)
    code, needed, got = arena_fault(r, S, V, I)
    if code != 0:
        raise KernelBoundsError("deliver", ARENA_FAULTS[code], needed, got)
    k = I[I[H_PLAN] + j * PLAN_COLUMNS + P_R1] - I[I[H_PLAN] + j * PLAN_COLUMNS + P_R0]
    c = I[I[H_MOD] + r * MOD_COLUMNS + M_C]
    if k < 0 or col < 0 or col + k > c:
        raise KernelBoundsError("deliver", "inbox", col + k, c)
    if payload.shape[0] < I[H_B] * k:
        raise KernelBoundsError("deliver", "payload", I[H_B] * k, payload.shape[0])
    if I[H_NMSG] + 1 > I[H_MSGCAP]:
        raise KernelBoundsError("deliver", "records", I[H_NMSG] + 1, I[H_MSGCAP])
    _deliver_block(j, r, col, payload, np.int64(0), k, send_t, now, seq, S, V, I, np.bool_(True))


@njit(**_JIT)
def tick_at(table, vtype, s, now):
    """The synchronous tick's second phase: modules that computed at ``now`` publish (no message is
    sent: readers read the published state from the readout rows), then the readout at step s: the
    published state becomes row s+1 of the readout states.

    Asynchronous runs publish as they go (:func:`publish`) and leave the dirty list empty: for them
    the tick is the readout alone (one kernel for both, so each run compiles one). The arenas by address:
    :func:`bind`."""
    S, V, I = _arenas(table, vtype)
    code, needed, got = arena_fault(np.int64(0), S, V, I)
    if code != 0:
        raise KernelBoundsError("tick", ARENA_FAULTS[code], needed, got)
    if s < 0 or s + 2 > I[H_ZROWS]:
        raise KernelBoundsError("tick", "z", s + 2, I[H_ZROWS])
    d0 = I[H_DIRTY]
    for p in range(I[H_NDIRTY]):
        j = I[d0 + p]
        if j < 0 or j >= I[H_G]:
            raise KernelBoundsError("tick", "dirty", j + 1, I[H_G])
        needed, got = rows_fault(j, I)                        # the rows _publish_state copies
        if needed > got:
            raise KernelBoundsError("tick", "plan", needed, got)
    for p in range(I[H_NDIRTY]):
        _publish_state(I[d0 + p], now, S, V, I)
    I[H_NDIRTY] = 0
    n = I[H_N]
    B = I[H_B]
    m = I[H_M]
    pub = I[H_PUB]
    base = I[H_Z] + (s + 1) * B * m
    for q in range(B):
        copy_inlined(V[base + q * m: base + q * m + n], V[pub + q * n: pub + (q + 1) * n])


#: The entry points on arrays: ``activate(i, fire_t, start_t, end_t, core, S, V, I)``, ``activate_sync(i, t, S, V,
#: I)``, ``publish(j, now, deliver_all, S, V, I)``, ``deliver(j, r, col, seq, payload, send_t, now, S, V, I)``
#: and ``tick(s, now, S, V, I)``: each the ``*_at`` kernel on :func:`arena_table` of the arrays.
activate = _array_form(activate_at)
activate_sync = _array_form(activate_sync_at)
publish = _array_form(publish_at)
deliver = _array_form(deliver_at)
tick = _array_form(tick_at)


@njit(**_JIT)
def seal(S, V, I):
    """Check the arenas' whole layout against their real extents (:func:`layout_fault`, then every module's
    plan row, inbox and deliveries), then seal it: keep a copy of the layout slots and the three extents,
    which every entry point compares with what it is handed. The engine calls it once the arenas are built;
    a layout written after that is refused by the next call until it is sealed again."""
    code, needed, got = layout_fault(S, V, I)
    if code != 0:
        raise KernelBoundsError("seal", ARENA_FAULTS[code], needed, got)
    g = I[H_G]
    n = I[H_N]
    B = I[H_B]
    plan = _plan(I, g)
    for i in range(g):
        code, needed, got = plan_row_fault(plan, i, n, I[H_M], I[H_WLEN], I[I[H_GIDX]:], np.int64(-1), B)
        if code != 0:
            raise KernelBoundsError("seal", PLAN_FAULTS[code], needed, got)
        c_read = plan[i, P_G1] - plan[i, P_G0] if plan[i, P_LO] < 0 else plan[i, P_HI] - plan[i, P_LO]
        needed, got = inbox_fault(i, c_read, I)
        if needed > got:
            raise KernelBoundsError("seal", "inbox", needed, got)
        needed, got = _delivery_fault(i, V.shape[0], I)
        if needed > got:
            raise KernelBoundsError("seal", "inbox", needed, got)
    for k in range(g * PLAN_COLUMNS):
        I[I[H_PSEAL] + k] = I[I[H_PLAN] + k]
    for k in range(LAYOUT):
        I[H_SEAL + k] = I[k]
    I[H_SEAL + LAYOUT] = I.shape[0]
    I[H_SEAL + LAYOUT + 1] = S.shape[0]
    I[H_SEAL + LAYOUT + 2] = V.shape[0]
