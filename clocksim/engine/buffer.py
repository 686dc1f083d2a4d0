"""Input buffering: the window reductions that buffered modules read, chunk by chunk.

A module with a buffered ``input_mode`` reads, when it fires at step ``t``, the
elementwise reduction of the input samples of its *window*: the steps after its
previous firing up to and including ``t`` (its first firing: from the run's first
step). :class:`InputBuffer` computes these reductions for a chunk of steps from the
samples and the chunk's activity with :func:`clocksim.kernels.buffer_window`, and
carries each open window to the next chunk, so a chunked run equals a whole one.
Both engines give the result to the update kernels as extra input columns (see
:class:`~clocksim.engine.plan.Plan`), so they read identical values.
"""

from __future__ import annotations

import numpy as np

from ..kernels import core as K
from .plan import Plan

__all__ = ["InputBuffer"]


class InputBuffer:
    """The open window of every buffered module of a plan, for a batch of ``B`` sequences.

    Memory: one ``(B, n_in)`` accumulator and one count per buffered module.
    """

    def __init__(self, plan: Plan, B: int):
        self.plan = plan
        nb = len(plan.buffered)
        self.acc = np.zeros((nb, B, plan.n_in), plan.dtype)      # (nb, B, n_in) running sum or max, model's dtype
        self.count = np.zeros((nb, 1), dtype=np.int64)           # samples in each open window

    def inputs(self, X: np.ndarray, active: np.ndarray) -> np.ndarray:
        """The plan's input columns for a chunk.

        Parameters
        ----------
        X : ndarray, shape (B, c, n_in)
            The chunk's samples.
        active : bool ndarray, shape (c, g)
            The chunk's activity: a firing at step s latches sample s and closes the window there.

        Returns
        -------
        ndarray, shape (B, c, plan.n_x)
            ``X``, then for each buffered module the reduction of its window up to each step.
        """
        plan = self.plan
        if not plan.buffered:
            return X
        B, c, n_in = X.shape
        out = np.empty((B, c, plan.n_x), plan.dtype)              # (B, c, n_x)
        out[:, :, :n_in] = X
        X = np.ascontiguousarray(X, plan.dtype)
        for b, (i, code) in enumerate(plan.buffered):                # each writes its own block of columns
            K.buffer_window(X, np.ascontiguousarray(active[:, i]), code, self.acc[b], self.count[b],
                            out[:, :, n_in * (b + 1):n_in * (b + 2)])
        return out
