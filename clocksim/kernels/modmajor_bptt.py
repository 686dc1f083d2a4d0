"""Module-major BPTT of a triangular (slow-to-fast) model: fastest module first (issue 30).

The reverse of :mod:`clocksim.kernels.modmajor`. With slow-to-fast wiring module ``i`` is read only by
itself and by *faster* modules (lower index), so once every faster module's pre-activation errors are known
at all their firing times, module ``i``'s state errors are too, but for its own diagonal recurrence. The
kernel takes the modules fastest first; for module ``i`` it

1. runs its own diagonal recurrence step by step in reverse (:func:`_module_errors`): the error of its state
   at row ``t`` of ``Z`` is what the readout and the faster readers put there (already summed into the
   error array ``E``) plus what flows back from its next firing; a held step carries it unchanged to the
   previous firing, as in :func:`~clocksim.kernels.core.backward_sequence`. At a firing it becomes the
   pre-activation error ``D = e * f'(h)``, stored in place of ``e`` in ``E``, and ``D @ W_ii`` (its own
   diagonal block) flows on to its previous state;
2. then, over all its firing times at once (runs of equally spaced firings: one GEMM each,
   :func:`_module_products`), spreads ``D`` over the slower modules' state columns it read (into ``E``, for
   the slower modules still to come) and accumulates its row block of the weight gradient,
   ``gW[rows, lo:hi] += D.T @ Z[reads]``; the bias gradient is the sum of ``D``.

The readout's error of every state is one GEMM up front (``E = dA @ W_out``). The same gradients as
``backward_sequence`` (same arguments, same dense ``W``): the sums are taken in another order (errors summed
per module before the products, the products over many firings at once), so they agree to rounding (1e-12
relative in the tests), not bit for bit. Input columns receive no error (no gradient of ``x`` is formed).
Written dtype-agnostic: the scratch takes the dtype of ``Z``.
"""

import numpy as np
from numba import njit

from ..errors import InternalError, KernelBoundsError
from .core import _JIT, P_HI, P_LO, P_R0, P_R1, act_derivative, diagonal_split, gemm_acc, inner
from .modmajor import block_steps

__all__ = ["backward_module_major", "block_steps"]

#: Below this many sequences the diagonal block's product at each firing is a plain loop, not a BLAS call.
SMALL_BATCH = 4


@inner
def _check_rows(kernel, plan, g, n, m):
    """Raise unless the modules own ascending rows within ``n`` and read contiguous columns within ``m`` that
    start at their own rows or after them (a triangular plan: nothing reads a slower module's reader)."""
    if plan.shape[0] < g or plan.shape[1] <= P_HI:
        raise KernelBoundsError(kernel, "plan", g * (P_HI + 1), plan.shape[0] * plan.shape[1])
    last = 0
    for i in range(g):
        r0 = plan[i, P_R0]
        r1 = plan[i, P_R1]
        lo = plan[i, P_LO]
        hi = plan[i, P_HI]
        if r0 < last or r1 < r0 or r1 > n:
            raise KernelBoundsError(kernel, "plan", r1, n)
        if lo < 0 or hi < lo or hi > m:
            raise KernelBoundsError(kernel, "plan", hi, m)
        if hi > lo and not (lo >= r1 or (lo == r0 and hi >= r1)):
            raise InternalError("module-major BPTT: a module reads a faster module or part of its own rows; "
                                "the plan is not triangular")
        last = r1


@inner
def _firing_runs(active, i, t0, t1, B, runs):
    """Module ``i``'s firings in steps ``t0 .. t1-1`` as runs ``(first step, count, gap)`` into ``runs``; returns
    how many. One sequence: runs of equally spaced firings (their rows are ``gap`` rows apart, one stride).
    Several sequences: runs of consecutive firings (gap 1: their ``B`` rows each follow each other).
    """
    nr = 0
    for s in range(t0, t1):
        if not active[s, i]:
            continue
        if nr > 0:
            first = runs[nr - 1, 0]
            count = runs[nr - 1, 1]
            gap = runs[nr - 1, 2]
            step = s - (first + (count - 1) * gap)
            if (count == 1 and (B == 1 or step == 1)) or (count > 1 and step == gap):
                runs[nr - 1, 1] = count + 1
                runs[nr - 1, 2] = step
                continue
        runs[nr, 0] = s
        runs[nr, 1] = 1
        runs[nr, 2] = 1
        nr += 1
    return nr


@inner
def _module_errors(i, Z, E, t0, t1, B, m, n, active, plan, W, act, gb, acc):
    """Module ``i``'s reverse diagonal recurrence over steps ``t1-1 .. t0``: ``D`` at every firing into its
    columns of the block's ``E`` (local row ``s+1-t0`` for step ``s``), its bias gradient into ``gb``; ``acc``
    carries the error of its state from one block to the one before."""
    r0 = plan[i, P_R0]
    k = plan[i, P_R1] - r0
    d = diagonal_split(plan, i)
    row = B * m
    for t in range(t1, t0, -1):
        base = (t - t0) * B * n + r0
        for q in range(B):
            for a in range(k):
                acc[q * k + a] += E[base + q * n + a]
        if active[t - 1, i]:
            for q in range(B):
                for a in range(k):
                    v = acc[q * k + a] * act_derivative(Z[t * row + q * m + r0 + a], act)
                    E[base + q * n + a] = v
                    gb[r0 + a] += v
            if d > 0:                                    # acc = D @ W_ii: the error of its previous state
                _diagonal_back(B, k, E, base, n, W, r0 * m + r0, m, acc)
            else:
                acc[:B * k] = acc.dtype.type(0)


@inner
def _diagonal_back(B, k, D, d_off, ldd, W, w_off, ldw, acc):
    """``acc[B x k] = D[B x k] @ W[k x k]`` (rows ``ldd`` and ``ldw`` apart): BLAS for a batch; for a few
    sequences plain loops, since a BLAS call costs more than these few multiply-adds."""
    if B >= SMALL_BATCH:
        gemm_acc(False, False, B, k, k, D, d_off, ldd, W, w_off, ldw, 0.0, acc, 0, k)
        return
    for q in range(B):
        out = acc[q * k:(q + 1) * k]
        out[:] = acc.dtype.type(0)
        for a in range(k):
            v = D[d_off + q * ldd + a]
            w = W[w_off + a * ldw: w_off + a * ldw + k]
            for c in range(k):
                out[c] += v * w[c]


@inner
def _module_products(i, Z, E, t0, B, m, n, plan, W, gW, runs, nr):
    """For each run of module ``i``'s firings, one GEMM spreads its ``D`` over the slower modules' state
    columns it read (into ``E``) and one accumulates its weight gradient ``gW[rows, lo:hi] += D.T @ reads``."""
    r0 = plan[i, P_R0]
    k = plan[i, P_R1] - r0
    lo = plan[i, P_LO]
    hi = plan[i, P_HI]
    c0 = lo + diagonal_split(plan, i)                   # the first column read that is not its own
    ns = min(hi, n) - c0                                 # state columns of slower modules it read
    for j in range(nr):
        s = runs[j, 0]
        rows = runs[j, 1] * B
        lde = runs[j, 2] * n if B == 1 else n            # one sequence: rows `gap` steps apart
        ldz = runs[j, 2] * m if B == 1 else m
        dof = (s + 1 - t0) * B * n + r0                  # D of the firing at step s sits in row s + 1
        if ns > 0:
            gemm_acc(False, False, rows, ns, k, E, dof, lde, W, r0 * m + c0, m, 1.0, E, (s - t0) * B * n + c0, lde)
        if hi > lo:
            gemm_acc(True, False, k, hi - lo, rows, E, dof, lde, Z, s * B * m + lo, ldz, 1.0, gW, r0 * m + lo, m)


@inner
def _check_extents(kernel, Z, L, B, m, n, active, W, W_out, dA, gW, gb, gh0, block):
    """Raise unless every array is at least as large as the sizes say (KernelBoundsError)."""
    n_out = W_out.shape[0] // max(n, 1)
    if L < 1 or B < 1 or n > m:
        raise KernelBoundsError(kernel, "m", n, m)
    if Z.shape[0] < (L + 1) * B * m:
        raise KernelBoundsError(kernel, "Z", (L + 1) * B * m, Z.shape[0])
    if active.shape[0] < L:
        raise KernelBoundsError(kernel, "active", L, active.shape[0])
    if W.shape[0] < n * m:
        raise KernelBoundsError(kernel, "W", n * m, W.shape[0])
    if gW.shape[0] < n * m:
        raise KernelBoundsError(kernel, "gW", n * m, gW.shape[0])
    if gb.shape[0] < n:
        raise KernelBoundsError(kernel, "gb", n, gb.shape[0])
    if gh0.shape[0] < n:
        raise KernelBoundsError(kernel, "gh0", n, gh0.shape[0])
    if dA.shape[0] < L * B * n_out:
        raise KernelBoundsError(kernel, "dA", L * B * n_out, dA.shape[0])
    if block < 1:
        raise KernelBoundsError(kernel, "block", 1, block)


@inner
def _block_errors(E, t0, t1, B, n, W_out, dA):
    """The block's error rows: local row ``t1-t0`` already holds what later steps spread into row ``t1``;
    rows ``0 .. t1-t0-1`` start at zero; rows ``1 .. t1-t0`` get their states' errors from the readout."""
    c = t1 - t0
    n_out = W_out.shape[0] // max(n, 1)
    E[:c * B * n] = E.dtype.type(0)
    gemm_acc(False, False, c * B, n, n_out, dA, t0 * B * n_out, n_out, W_out, 0, n, 1.0, E, B * n, n)


@njit(**_JIT)
def backward_module_major(Z, L, B, m, n, active, plan, W, act, W_out, dA, gW, gb, gh0, block):
    """Whole-sequence BPTT of a triangular plan, fastest module first over blocks of ``block`` steps from the
    end (see the module docstring): the arguments and results of :func:`~clocksim.kernels.core.backward_sequence`
    plus ``block`` (:func:`clocksim.kernels.modmajor.block_steps`), but ``gW`` is exactly zero outside each
    module's read columns; equal to its results to rounding (the sums are taken in another order).
    """
    kernel = "backward_module_major"
    g = active.shape[1]
    _check_extents(kernel, Z, L, B, m, n, active, W, W_out, dA, gW, gb, gh0, block)
    _check_rows(kernel, plan, g, n, m)
    zero = Z.dtype.type(0)
    kmax = 0
    for i in range(g):
        kmax = max(kmax, plan[i, P_R1] - plan[i, P_R0])
    block = min(block, L)
    E = np.empty((block + 1) * B * n, dtype=Z.dtype)     # E[t - t0, q, :]: error of the state in row t of Z
    acc = np.zeros((g, B * kmax), dtype=Z.dtype)         # per module: the error of its state, carried back
    runs = np.empty((block, 3), dtype=np.int64)
    gW[:n * m] = zero
    gb[:n] = zero
    t1 = L
    while t1 > 0:                                        # blocks from the end
        t0 = max(0, t1 - block)
        top = (t1 - t0) * B * n
        if t1 == L:
            E[top: top + B * n] = zero                   # nothing spreads into row L
        else:
            E[top: top + B * n] = E[:B * n]              # what the later block spread into row t1
        _block_errors(E, t0, t1, B, n, W_out, dA)
        for i in range(g):                               # fastest first
            _module_errors(i, Z, E, t0, t1, B, m, n, active, plan, W, act, gb, acc[i])
            _module_products(i, Z, E, t0, B, m, n, plan, W, gW, runs, _firing_runs(active, i, t0, t1, B, runs))
        t1 = t0
    gh0[:n] = zero
    for i in range(g):                                   # h0: its own part carried back and its readers at step 0
        r0 = plan[i, P_R0]
        k = plan[i, P_R1] - r0
        for a in range(k):
            for q in range(B):
                gh0[r0 + a] += acc[i, q * k + a] + E[q * n + r0 + a]
