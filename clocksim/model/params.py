"""Parameter storage shared by every trainable model (ClockworkRNN, LSTM).

A model keeps its parameters as read-only float64 arrays in a dict; ``set_params``
validates names, shapes and values at the boundary; ``_assign`` stores arrays that
are already known to be valid (training updates) and bumps ``version``, which
engines use to know when their packed copies are stale.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_real_array, check_options
from ..errors import ShapeError

__all__ = ["ParameterSet", "weight_count"]


def weight_count(n: int, n_in: int, n_out: int, recurrent: int, gates: int = 1) -> int:
    """Trainable weights and biases as the paper counts them (``model.n_params``): the one formula.

    ``gates`` blocks of input weights, recurrent weights (``recurrent`` entries: the mask's
    count for a CW-RNN, ``n * n`` for a dense one) and biases, plus the readout ``W_out``,
    ``b_out``. The initial state (``h0``, ``c0``) is not counted, nor are clock periods (see
    :func:`clocksim.budget_params`, the paper's Table 1 budget, which adds them).
    """
    return int(gates) * (int(n) * int(n_in) + int(recurrent) + int(n)) + int(n_out) * (int(n) + 1)


class ParameterSet:
    """Mixin: ``params``, ``set_params``, ``copy`` over ``param_shapes()`` (defined by the model)."""

    _params: dict[str, np.ndarray]
    version: int

    def param_shapes(self) -> dict[str, tuple[int, ...]]:   # pragma: no cover - defined by each model
        raise NotImplementedError

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameters as read-only float64 arrays, by name (see the model's docstring)."""
        return dict(self._params)

    def set_params(self, **arrays) -> None:
        """Replace some or all parameters (validated: names, shapes, finite values, and the
        model's own constraints such as zeros outside a connectivity mask)."""
        shapes = self.param_shapes()
        new = {}
        check_options(arrays, shapes, what="parameter", key="set_params")
        for name, value in arrays.items():
            arr = as_real_array(name, value)
            if arr.shape != shapes[name]:
                raise ShapeError(f"got shape {arr.shape}, expected {shapes[name]}", key=name)
            new[name] = arr
        self._check_params(new)
        self._assign(new)

    def _check_params(self, new: dict[str, np.ndarray]) -> None:
        """Model-specific checks of validated arrays (none by default)."""

    def _assign(self, arrays: dict[str, np.ndarray]) -> None:
        """Store arrays that are already validated (training updates use this directly)."""
        if not hasattr(self, "_params"):
            self._params, self.version = {}, 0
        for name, arr in arrays.items():
            arr = np.array(arr, dtype=np.float64, copy=True, order="C")
            arr.setflags(write=False)
            self._params[name] = arr
        self.version += 1

    def copy(self):
        """An independent model with the same structure and parameters."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._params = dict(self._params)  # arrays are read-only, so sharing them is safe
        return other
