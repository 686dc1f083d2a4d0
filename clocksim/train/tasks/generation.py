"""Sequence generation (the paper's section 4.1): no input, one linear output, reproduce a 320-step target.

The network gets no input at all; its weights must encode the whole target,
which it produces from its initial state. Training minimises the mean squared
error over the 320 steps; the score is the NMSE (:func:`clocksim.tasks.nmse`).
The targets are the five bundled pieces of :mod:`clocksim.tasks.pieces`.
"""

from __future__ import annotations

import numpy as np

from ..._validate import as_int
from ...errors import InvalidValueError
from .pieces import LENGTH, N_PIECES, load_pieces
from .task import Task

__all__ = ["generation_task"]


def generation_task(piece: int = 0) -> Task:
    """The task of generating bundled piece ``piece`` (0 to 4).

    Returns
    -------
    Task
        ``x_train`` and ``x_test`` of shape (1, 320, 0) (no input); ``y_train``
        and ``y_test`` of shape (1, 320, 1), the same target.
    """
    piece = as_int("piece", piece, minimum=0)
    if piece >= N_PIECES:
        raise InvalidValueError(f"got {piece}, expected 0 to {N_PIECES - 1} (the bundled pieces)", key="piece")
    target = load_pieces()[piece].reshape(1, LENGTH, 1)                # (1, L, 1)
    x = np.zeros((1, LENGTH, 0))                                       # (1, L, 0): no input
    return Task(kind="generation", loss="mse", n_in=0, n_out=1, x_train=x, y_train=target, x_test=x,
                y_test=target, description=f"generate bundled piece {piece} ({LENGTH} samples, no input)",
                options={"piece": piece})
