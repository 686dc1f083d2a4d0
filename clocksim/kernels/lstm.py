"""Pure @njit kernels of the LSTM baseline: forward and backward (no clocksim imports but kernels).

Layout follows :mod:`clocksim.kernels`: a work array ``Z`` of shape
``(L+1, B, m)``, ``m = n + n_in``, row ``(s, q)`` = ``[h(s-1) | x(s)]``, so one
step over the batch is one GEMM with the packed weights ``W = [W_rec | W_in]``
of shape ``(4n, m)``. Gates are stored in the order ``[i, f, g, o]`` (input,
forget, cell candidate, output)::

    a = W @ [h(s-1) | x(s)] + b                 # (4n,)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_g)
    c(s) = f * c(s-1) + i * g
    h(s) = o * tanh(c(s))

The forward pass keeps what the backward pass needs: the gate values ``A``
``(L, B, 4n)``, the cells ``C`` ``(L+1, B, n)`` (``C[0] = c0``) and
``tanh(c)`` ``(L, B, n)``. The readout and its gradient are the shared
:func:`clocksim.kernels.readout` / :func:`clocksim.kernels.readout_backward`.
"""

import numpy as np
from numba import njit

from ..errors import KernelBoundsError
from .core import _JIT, gemm_acc, gemm_rows, readout_error, tanh_scalar


@njit(inline="always", **_JIT)
def _sigmoid(v):
    return 0.5 + 0.5 * tanh_scalar(0.5 * v)


@njit(inline="always", **_JIT)
def _check_lstm(kernel, Z, L, B, m, n, W, A, C, TC):
    """The checks both LSTM kernels make of the arrays they share (inlined: ``kernel`` is a constant)."""
    if L < 0 or B < 1 or n > m:
        raise KernelBoundsError(kernel, "m", n, m)
    if Z.shape[0] < (L + 1) * B * m:
        raise KernelBoundsError(kernel, "Z", (L + 1) * B * m, Z.shape[0])
    if W.shape[0] < 4 * n * m:
        raise KernelBoundsError(kernel, "W", 4 * n * m, W.shape[0])
    if A.shape[0] < L * B * 4 * n:
        raise KernelBoundsError(kernel, "A", L * B * 4 * n, A.shape[0])
    if C.shape[0] < (L + 1) * B * n:
        raise KernelBoundsError(kernel, "C", (L + 1) * B * n, C.shape[0])
    if TC.shape[0] < L * B * n:
        raise KernelBoundsError(kernel, "TC", L * B * n, TC.shape[0])


@njit(**_JIT)
def lstm_forward(Z, L, B, m, n, W, b, A, C, TC):
    """Whole-sequence LSTM forward pass.

    Z : flat (L+1)*B*m; row 0 holds [h0 | x(0)], rows s hold x(s) in columns n:; h is written
    W : flat (4n * m), C-ordered (4n, m); b : (4n,)
    A : flat L*B*4n, gate values; C : flat (L+1)*B*n, cells (C[0] = c0 given); TC : flat L*B*n, tanh(c)
    """
    n4 = 4 * n
    _check_lstm("lstm_forward", Z, L, B, m, n, W, A, C, TC)
    if b.shape[0] < n4:
        raise KernelBoundsError("lstm_forward", "b", n4, b.shape[0])
    for s in range(L):
        a_off = s * B * n4
        gemm_rows(B, n4, m, Z, s * B * m, m, W, 0, A, a_off, n4)       # (B, 4n) pre-activations
        for q in range(B):
            ga = a_off + q * n4
            cp = s * B * n + q * n                                      # c(s-1)
            cc = cp + B * n                                             # c(s)
            tc = s * B * n + q * n
            hz = (s + 1) * B * m + q * m                                # h(s) in Z row s+1
            for a in range(n):
                i = _sigmoid(A[ga + a] + b[a])
                f = _sigmoid(A[ga + n + a] + b[n + a])
                g = tanh_scalar(A[ga + 2 * n + a] + b[2 * n + a])
                o = _sigmoid(A[ga + 3 * n + a] + b[3 * n + a])
                A[ga + a] = i
                A[ga + n + a] = f
                A[ga + 2 * n + a] = g
                A[ga + 3 * n + a] = o
                c = f * C[cp + a] + i * g
                C[cc + a] = c
                t = tanh_scalar(c)
                TC[tc + a] = t
                Z[hz + a] = o * t


@njit(**_JIT)
def lstm_backward(Z, L, B, m, n, W, A, C, TC, W_out, dA_out, gW, gb, gh0, gc0):
    """Whole-sequence LSTM BPTT.

    W_out : flat (n_out * n); dA_out : flat L*B*n_out, dL/da of the readout of every step
    gW : flat (4n * m) overwritten with dL/dW; gb : (4n,); gh0, gc0 : (n,) summed over the batch
    """
    n4 = 4 * n
    _check_lstm("lstm_backward", Z, L, B, m, n, W, A, C, TC)
    n_out = W_out.shape[0] // max(n, 1)
    if L < 1:
        raise KernelBoundsError("lstm_backward", "L", 1, L)
    if dA_out.shape[0] < L * B * n_out:
        raise KernelBoundsError("lstm_backward", "dA_out", L * B * n_out, dA_out.shape[0])
    if gW.shape[0] < n4 * m:
        raise KernelBoundsError("lstm_backward", "gW", n4 * m, gW.shape[0])
    if gb.shape[0] < n4:
        raise KernelBoundsError("lstm_backward", "gb", n4, gb.shape[0])
    if gh0.shape[0] < n:
        raise KernelBoundsError("lstm_backward", "gh0", n, gh0.shape[0])
    if gc0.shape[0] < n:
        raise KernelBoundsError("lstm_backward", "gc0", n, gc0.shape[0])
    dh = np.zeros(B * n, Z.dtype)   # (B, n) error of h(s); every buffer in the model's dtype
    dc = np.zeros(B * n, Z.dtype)   # (B, n) error of c(s) through c(s+1)
    dA = np.empty(B * n4, Z.dtype)  # (B, 4n) error of the pre-activations
    dZ = np.empty(B * m, Z.dtype)   # (B, m) error of [h(s-1) | x(s)]
    gW[:] = 0.0
    gb[:] = 0.0
    readout_error(L - 1, B, n, n, W_out, dA_out, dh)
    for s in range(L - 1, -1, -1):
        for q in range(B):
            ga = s * B * n4 + q * n4
            cp = s * B * n + q * n
            for a in range(n):
                i = A[ga + a]
                f = A[ga + n + a]
                g = A[ga + 2 * n + a]
                o = A[ga + 3 * n + a]
                t = TC[cp + a]
                e = dh[q * n + a]
                dcs = dc[q * n + a] + e * o * (1.0 - t * t)
                d_i = dcs * g * i * (1.0 - i)
                d_f = dcs * C[cp + a] * f * (1.0 - f)
                d_g = dcs * i * (1.0 - g * g)
                d_o = e * t * o * (1.0 - o)
                dA[q * n4 + a] = d_i
                dA[q * n4 + n + a] = d_f
                dA[q * n4 + 2 * n + a] = d_g
                dA[q * n4 + 3 * n + a] = d_o
                gb[a] += d_i
                gb[n + a] += d_f
                gb[2 * n + a] += d_g
                gb[3 * n + a] += d_o
                dc[q * n + a] = dcs * f
        gemm_acc(True, False, n4, m, B, dA, 0, n4, Z, s * B * m, m, 1.0, gW, 0, m)   # dW += dA.T @ [h | x]
        gemm_acc(False, False, B, m, n4, dA, 0, n4, W, 0, m, 0.0, dZ, 0, m)        # d[h | x] = dA @ W
        if s > 0:
            readout_error(s - 1, B, n, n, W_out, dA_out, dh)
        else:
            dh[:] = 0.0
        for q in range(B):
            for a in range(n):
                dh[q * n + a] += dZ[q * m + a]
    gh0[:] = 0.0
    gc0[:] = 0.0
    for q in range(B):
        for a in range(n):
            gh0[a] += dh[q * n + a]
            gc0[a] += dc[q * n + a]
