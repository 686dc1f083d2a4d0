"""Module-major evaluation of a triangular (slow-to-fast) model: slowest module first (issue 30).

With slow-to-fast wiring module ``i`` reads only itself and slower modules, so the slower modules'
states of a whole stretch of steps can be computed before module ``i`` runs at all. The kernels here
take the modules slowest first over a block of steps (the work array ``Z`` and plan of
:mod:`clocksim.kernels.core`). For module ``i`` they compute

1. ``P``: the product over the slower modules' states and the input (everything it reads except its own
   block) for *all* its firings in the block, written into its rows of ``Z``: no firing of the block waits
   for another, and the module's weights stay in cache across them;
2. then, firing after firing, ``P + D`` with ``D`` the product over its own previous state
   (:func:`~clocksim.kernels.core.gemm_rows_acc`), the bias and the activation; held steps copy the row.

That is exactly the split every engine uses for such a module (:func:`~clocksim.kernels.core.diagonal_split`),
each part summed in :func:`~clocksim.kernels.core.gemm_rows`'s fixed order, so the module-major order gives
the bits of the step-major loop (:func:`~clocksim.kernels.core.run_sequence`) and of the event engine.
After the fastest module the block's outputs are read out (the same order as one readout of all steps).
"""

from numba import njit

from ..errors import InternalError, KernelBoundsError
from .core import (
    TILE_Q,
    _tile_main,
    _tile_main_add,
    _JIT,
    P_HI,
    P_LO,
    P_R0,
    P_R1,
    P_W0,
    PLAN_COLUMNS,
    bias_activate,
    copy_into,
    diagonal_split,
    gemm_rows,
    python_twin,
    gemm_rows_acc,
    inner,
    operand_itemsize,
    readout,
)

#: Steps per block: the block's rows of the work array are about this many values (2 MB), so the slower
#: modules' states a module reads are still in cache (L2/L3) when it runs; at least MIN_BLOCK steps.
BLOCK_DOUBLES = 1 << 18
MIN_BLOCK = 4


def block_steps(B: int, m: int) -> int:
    """Steps per block of the module-major loop for ``B`` sequences of row width ``m``."""
    return max(MIN_BLOCK, BLOCK_DOUBLES // max(1, B * m))


@inner
def _check_plan(kernel, plan, g, n, m, wlen):
    """Raise unless every module's rows, reads and weight block fit, and it reads nothing faster than itself."""
    if plan.shape[0] < g or plan.shape[1] < PLAN_COLUMNS:
        raise KernelBoundsError(kernel, "plan", g * PLAN_COLUMNS, plan.shape[0] * plan.shape[1])
    for i in range(g):
        r0 = plan[i, P_R0]
        r1 = plan[i, P_R1]
        if r0 < 0 or r1 < r0 or r1 > n:
            raise KernelBoundsError(kernel, "b", r1, n)
        lo = plan[i, P_LO]
        hi = plan[i, P_HI]
        if lo < 0 or (lo != r0 and lo < r1 and hi > lo):
            raise InternalError("module-major kernel: a module reads a faster module or non-contiguous "
                                "columns; the plan is not triangular")
        if hi < lo or hi > m:
            raise KernelBoundsError(kernel, "plan", hi, m)
        w0 = plan[i, P_W0]
        if w0 < 0 or w0 + (r1 - r0) * (hi - lo) > wlen:
            raise KernelBoundsError(kernel, "wflat", w0 + (r1 - r0) * (hi - lo), wlen)


# ------------------------------------------------------------------ products
# The module-major loop's products use gemm_rows's main tile (TILE_Q x TILE_R, by the core's register
# file: :data:`~clocksim.kernels.core.WIDE_REGISTERS`) on every pair of row groups, never its row-at-a-time
# path: the rows of one product are a module's firings, and a group of them shares each load of W. Every
# element is summed in gemm_rows's one order (the tile does not change it), so the bits are gemm_rows's.
#: The compiled engine's forward pass runs module-major for at most this many sequences
#: (clocksim.engine.compiled.schedule_order), step-major for more. With one sequence the equally spaced
#: firings of a module are one matrix-matrix product (:func:`_module_rest`); with several, each firing is
#: already a product of B rows, and the module-major loop only walks the work array less locally. Module-major
#: over step-major time, forward_arrays on an Intel Xeon (AVX-512, 2 MB L2), fused tiles, median of 3:
#:
#: =================  ==============  =====  =====  =====  =====
#: shape              compiled for    B=1    B=2    B=8    B=32
#: =================  ==============  =====  =====  =====  =====
#: g8x16 L4096        this core       0.89   1.15   1.05   1.40
#: g8x64 L512         this core       0.64   1.03   1.13   1.18
#: g8x16 L4096        Haswell (AVX2)  1.05   1.10   1.10   1.37
#: g8x64 L512         Haswell (AVX2)  0.85   1.03   1.15   1.03
#: =================  ==============  =====  =====  =====  =====
#:
#: With the caches flushed before each call (B=1): 0.97 (g8x16), 0.72 (g8x32, L2048), 0.69 (g8x64).
#: benchmarks/bench_modmajor.py, interleaving its peers in alternating order, measured 0.92 at g8x16 B=1 (2.45
#: against 2.66 ms): module-major wins where a product over many firings pays, and loses a little on tiny
#: modules compiled for AVX2.
MAX_BATCH = 1


def _products_py(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, add):
    """:func:`products` with the JIT off: the tiles' bits are gemm_rows's, so its twin computes them."""
    (gemm_rows_acc if add else gemm_rows)(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc)


@python_twin(_products_py)
@inner
def products(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, add):
    """``C[M x N] = A[M x K] @ W[N x K].T`` (``add``: ``C + ...``), row-major on flat arrays with leading
    dimensions: the bits of :func:`~clocksim.kernels.core.gemm_rows` (``gemm_rows_acc``) in its main tiles.

    ``TILE_Q`` rows of ``A`` in turn, each group against every group of ``TILE_Q`` rows of ``W`` (which stay
    in cache for the next group); the rows and columns left over go to ``gemm_rows``.
    """
    if K == 0 or M == 0 or N == 0:
        if add:
            gemm_rows_acc(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc)
        else:
            gemm_rows(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc)
        return
    z = operand_itemsize(A, W, C)                # bytes per value: 8 (float64) or 4 (float32), one dtype
    wp = W.ctypes.data + z * w_off
    ap = A.ctypes.data + z * a_off
    cp = C.ctypes.data + z * c_off
    m2 = M - M % TILE_Q                          # TILE_Q == TILE_R: a square tile
    n2 = N - N % TILE_Q
    for q in range(0, m2, TILE_Q):
        for a in range(0, n2, TILE_Q):
            if add:
                _tile_main_add(C, wp + z * a * K, ap + z * q * lda, lda, cp + z * (q * ldc + a), ldc, K)
            else:
                _tile_main(C, wp + z * a * K, ap + z * q * lda, lda, cp + z * (q * ldc + a), ldc, K)
    if n2 < N:                                   # the last rows of W, for the tiled rows of A
        if add:
            gemm_rows_acc(m2, N - n2, K, A, a_off, lda, W, w_off + n2 * K, C, c_off + n2, ldc)
        else:
            gemm_rows(m2, N - n2, K, A, a_off, lda, W, w_off + n2 * K, C, c_off + n2, ldc)
    if m2 < M:                                   # the last rows of A
        if add:
            gemm_rows_acc(M - m2, N, K, A, a_off + m2 * lda, lda, W, w_off, C, c_off + m2 * ldc, ldc)
        else:
            gemm_rows(M - m2, N, K, A, a_off + m2 * lda, lda, W, w_off, C, c_off + m2 * ldc, ldc)


@inner
def _module_rest(i, t0, t1, Z, B, m, active, plan, wflat):
    """``P`` (see the module docstring) of module ``i`` for its firings in steps ``t0 .. t1-1``, into its rows.

    With several sequences, one product of ``B`` rows per firing, one firing after another while the
    module's weights stay in cache. With one sequence, one product per run of equally spaced firings
    (their rows of ``Z`` are ``gap * m`` apart): matrix-matrix rather than matrix-vector.
    """
    row = B * m
    r0 = plan[i, P_R0]
    k = plan[i, P_R1] - r0
    lo = plan[i, P_LO]
    d = diagonal_split(plan, i)
    c = plan[i, P_HI] - lo - d
    w = plan[i, P_W0] + k * d
    if B > 1:
        for s in range(t0, t1):
            if active[s, i]:
                products(B, k, c, Z, s * row + lo + d, m, wflat, w, Z, (s + 1) * row + r0, m, False)
        return
    s = t0                                   # one sequence: runs of equally spaced firings, one product each
    first = -1
    gap = 0
    count = 0
    while s < t1:
        if active[s, i]:
            if count == 0:
                first = s
                count = 1
            elif count == 1:
                gap = s - first
                count = 2
            elif s - (first + (count - 1) * gap) == gap:
                count += 1
            else:
                products(count, k, c, Z, first * m + lo + d, gap * m, wflat, w, Z, (first + 1) * m + r0, gap * m,
                         False)
                first = s
                count = 1
        s += 1
    if count:
        products(count, k, c, Z, first * m + lo + d, max(gap, 1) * m, wflat, w, Z, (first + 1) * m + r0,
                 max(gap, 1) * m, False)


@njit(**_JIT)
def run_module_major(Z, L, B, m, active, plan, wflat, b, act, counts, W_out, b_out, out_act, Y, X, block):
    """Whole-sequence forward pass in module-major order; the arguments and results of
    :func:`~clocksim.kernels.core.run_sequence` (no gather scratch: a triangular plan reads contiguous
    columns), plus ``block``, the steps per block (:func:`block_steps`). Same bits as ``run_sequence``.
    """
    g = active.shape[1]
    n = b.shape[0]
    n_out = b_out.shape[0]
    row = B * m
    nx = m - n
    kernel = "run_module_major"
    if L < 0 or B < 0 or m < n:
        raise KernelBoundsError(kernel, "m", n, m)
    if Z.shape[0] < (L + 1) * row:
        raise KernelBoundsError(kernel, "Z", (L + 1) * row, Z.shape[0])
    if active.shape[0] < L:
        raise KernelBoundsError(kernel, "active", L, active.shape[0])
    if counts.shape[0] < g or counts.shape[1] < 2:
        raise KernelBoundsError(kernel, "counts", 2 * g, counts.shape[0] * counts.shape[1])
    if W_out.shape[0] < n_out * n:
        raise KernelBoundsError(kernel, "W_out", n_out * n, W_out.shape[0])
    if Y.shape[0] < L * B * n_out:
        raise KernelBoundsError(kernel, "Y", L * B * n_out, Y.shape[0])
    if X.shape[0] < B * L * nx:
        raise KernelBoundsError(kernel, "X", B * L * nx, X.shape[0])
    if block < 1:
        raise KernelBoundsError(kernel, "block", 1, block)
    _check_plan(kernel, plan, g, n, m, wflat.shape[0])
    for s in range(L):                                   # the inputs of every step
        for q in range(B):
            copy_into(Z[s * row + q * m + n: s * row + (q + 1) * m], X[(q * L + s) * nx: (q * L + s + 1) * nx])
    for t0 in range(0, L, block):
        t1 = min(L, t0 + block)
        for i in range(g - 1, -1, -1):                   # slowest first
            r0 = plan[i, P_R0]
            r1 = plan[i, P_R1]
            k = r1 - r0
            d = diagonal_split(plan, i)
            w0 = plan[i, P_W0]
            macs = B * k * (plan[i, P_HI] - plan[i, P_LO])
            bias = b[r0:r1]
            _module_rest(i, t0, t1, Z, B, m, active, plan, wflat)
            for s in range(t0, t1):                      # the sequential part: its own block, bias, activation
                prev = s * row
                cur = prev + row
                if active[s, i]:
                    products(B, k, d, Z, prev + r0, m, wflat, w0, Z, cur + r0, m, True)
                    for q in range(B):
                        bias_activate(Z[cur + q * m + r0: cur + q * m + r1], bias, act)
                    counts[i, 0] += 1
                    counts[i, 1] += macs
                else:
                    for q in range(B):
                        copy_into(Z[cur + q * m + r0: cur + q * m + r1], Z[prev + q * m + r0: prev + q * m + r1])
        readout(Z[t0 * row:], t1 - t0, B, m, n, W_out, b_out, out_act, Y[t0 * B * n_out: t1 * B * n_out])
