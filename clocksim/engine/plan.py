"""A model's parameters packed for the kernels (see ``clocksim.kernels`` for the layout).

Both engines run from the same :class:`Plan`, so they call the kernels with
identical arrays. A model with buffered inputs (``input_mode``) has a wider input:
the samples, then one block of ``n_in`` columns per buffered module holding its
window's reduction (:class:`~clocksim.engine.buffer.InputBuffer`); a buffered
module's reads point at its own block, so the update kernels are unchanged.
Plans are cached on the model and rebuilt when its parameters change (``model.version``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import core as K
from ..model.cwrnn import ClockworkRNN

__all__ = ["Plan", "plan_for", "ACTIVATION_CODES", "BUFFER_CODES"]

BUFFER_CODES = {"mean": K.BUF_MEAN, "sum": K.BUF_SUM, "max": K.BUF_MAX}

ACTIVATION_CODES = {
    "linear": K.ACT_LINEAR,
    "tanh": K.ACT_TANH,
    "sigmoid": K.ACT_SIGMOID,
    "relu": K.ACT_RELU,
    "softmax": K.ACT_SOFTMAX,
}


@dataclass(frozen=True)
class Plan:
    """Packed, kernel-ready view of a model's structure and parameters."""

    n: int
    n_in: int
    g: int
    table: np.ndarray     # (g, 7) int64, columns kernels.P_*
    gidx: np.ndarray      # (G,) int64, gather lists of modules with non-contiguous reads
    wflat: np.ndarray     # (W,) of the model's dtype (like every array below), packed [W_rec | W_in] blocks (split ones: kernels.core.diagonal_split)
    b: np.ndarray         # (n,)
    W_out: np.ndarray     # (n_out, n)
    b_out: np.ndarray     # (n_out,)
    h0: np.ndarray        # (n,)
    act: int
    out_act: int
    reads: tuple          # per module: int64 rows of z it reads (h rows, then input rows)
    buffered: tuple = ()  # (module, kernels.BUF_* code) of each buffered module, in order

    @property
    def dtype(self) -> np.dtype:
        """What the model computes in (its parameters' dtype): the work arrays are allocated with it."""
        return self.b.dtype

    @property
    def n_x(self) -> int:
        """Input columns of the work array: the samples, then one block per buffered module."""
        return self.n_in * (1 + len(self.buffered))

    @property
    def m(self) -> int:
        """Rows of the work array: hidden units then input columns."""
        return self.n + self.n_x

    def x_offset(self, i: int) -> int:
        """First input column (counted from ``n``) that module ``i`` reads."""
        for b, (j, _) in enumerate(self.buffered):
            if j == i:
                return self.n_in * (b + 1)
        return 0

    @property
    def c_max(self) -> int:
        """Largest number of rows any module reads (size of the gather buffer)."""
        return max((len(r) for r in self.reads), default=0)


def plan_for(model: ClockworkRNN) -> Plan:
    """The model's plan, built once per parameter version."""
    cached = model.__dict__.get("_plan_cache")
    if cached is not None and cached[0] == model.version:
        return cached[1]
    plan = _build(model)
    model.__dict__["_plan_cache"] = (model.version, plan)
    return plan


def _build(model: ClockworkRNN) -> Plan:
    p = model.params
    n, n_in, g = model.n, model.n_in, model.g
    combined = np.hstack([p["W_rec"], p["W_in"]])          # (n, n + n_in)
    buffered = tuple((i, BUFFER_CODES[model.input_mode[i]]) for i in model.buffered)
    x_block = {i: n + n_in * (b + 1) for b, (i, _) in enumerate(buffered)}   # first column of each block
    table = np.zeros((g, K.PLAN_COLUMNS), dtype=np.int64)
    blocks, gidx, reads = [], [], []
    w0 = 0
    for i in range(g):
        r0, r1 = int(model.offsets[i]), int(model.offsets[i + 1])
        h_rows = [np.arange(model.offsets[j], model.offsets[j + 1], dtype=np.int64) for j in model.inputs_of(i)]
        x0 = x_block.get(i, n)
        rows = np.concatenate(h_rows + [np.arange(x0, x0 + n_in, dtype=np.int64)])
        reads.append(rows)
        weight_cols = np.concatenate(h_rows + [np.arange(n, n + n_in, dtype=np.int64)])
        block = np.ascontiguousarray(combined[r0:r1][:, weight_cols])  # (k_i, c_i)
        if rows.size and rows[0] == r0 and np.array_equal(rows, np.arange(r0, r0 + rows.size)):
            d = r1 - r0                                        # K.diagonal_split: the diagonal block, then the rest
            blocks.append(np.concatenate([block[:, :d].ravel(), block[:, d:].ravel()]))
        else:
            blocks.append(block.ravel())
        table[i, K.P_R0], table[i, K.P_R1], table[i, K.P_W0] = r0, r1, w0
        w0 += block.size
        if rows.size == 0:
            table[i, K.P_LO] = table[i, K.P_HI] = 0
        elif np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size)):
            table[i, K.P_LO], table[i, K.P_HI] = rows[0], rows[0] + rows.size
        else:
            start = sum(len(x) for x in gidx)
            table[i, K.P_LO] = -1
            table[i, K.P_G0], table[i, K.P_G1] = start, start + rows.size
            gidx.append(rows)
    return Plan(
        n=n, n_in=n_in, g=g, table=table,
        gidx=np.concatenate(gidx) if gidx else np.zeros(0, dtype=np.int64),
        wflat=np.concatenate(blocks) if blocks else np.zeros(0, p["b"].dtype),
        b=p["b"], W_out=p["W_out"], b_out=p["b_out"], h0=p["h0"],
        act=ACTIVATION_CODES[model.activation], out_act=ACTIVATION_CODES[model.output_activation],
        reads=tuple(reads), buffered=buffered,
    )
