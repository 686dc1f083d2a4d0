"""Parameter storage shared by every trainable model (ClockworkRNN, LSTM).

A model keeps its parameters as read-only arrays of its ``dtype`` (``"float64"``, the default and the
exact reference, or ``"float32"``: DESIGN section 12) in a dict; ``set_params``
validates names, shapes and values at the boundary; ``_assign`` stores arrays that
are already known to be valid (training updates) and bumps ``version``, which
engines use to know when their packed copies are stale.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validate import as_real_array, check_options, did_you_mean
from ..errors import InvalidValueError, ShapeError

__all__ = ["ParameterSet", "weight_count", "params_from_state_dict", "STATE_DICT_NAMES", "DTYPES", "as_dtype"]

#: The dtypes a model computes in (DESIGN section 12): float64 is the exact reference.
DTYPES = ("float64", "float32")


def as_dtype(value, key: str = "dtype") -> str:
    """``value`` (``"float32"``, ``np.float32``, ``np.dtype("float32")``, ...) as a name in :data:`DTYPES`;
    anything else is refused, naming ``key``, the value and what is expected."""
    try:
        name = np.dtype(value).name if not isinstance(value, bool) and value is not None else None
    except (TypeError, ValueError):
        name = None
    if name not in DTYPES:
        raise InvalidValueError(key=key, value=value, expected=" or ".join(repr(d) for d in DTYPES))
    return name


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
    #: What the parameters, the engines' work arrays, the outputs and the gradients are held in (:data:`DTYPES`).
    dtype: str = "float64"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:   # pragma: no cover - defined by each model
        raise NotImplementedError

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameters as read-only arrays of the model's ``dtype``, by name (see the model's docstring)."""
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
            arr = np.array(arr, dtype=self.dtype, copy=True, order="C")
            arr.setflags(write=False)
            self._params[name] = arr
        self.version += 1

    def astype(self, dtype):
        """An independent copy of the model computing in ``dtype`` (:data:`DTYPES`), its parameters cast
        (float64 to float32 rounds each value once; float32 to float64 is exact)."""
        other = self.copy()
        other.dtype = as_dtype(dtype)
        other._assign(self._params)
        return other

    def copy(self):
        """An independent model with the same structure and parameters."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._params = dict(self._params)  # arrays are read-only, so sharing them is safe
        return other


#: clocksim parameter -> the names PyTorch CW-RNN state dicts usually give it (matched after any leading
#: module path such as ``rnn.`` or ``module.cell.`` is dropped). Every entry that maps to ``b`` is summed:
#: PyTorch's RNN cells keep two biases, ``bias_ih`` and ``bias_hh``, that add up to clocksim's one ``b``.
STATE_DICT_NAMES = {
    "W_in": ("W_in", "w_in", "W_I", "Wi", "weight_ih", "weight_ih_l0", "input.weight", "input_weight",
             "in_proj.weight", "i2h.weight"),
    "W_rec": ("W_rec", "w_rec", "W_H", "Wh", "W_hh", "weight_hh", "weight_hh_l0", "recurrent.weight",
              "recurrent_weight", "hidden.weight", "h2h.weight"),
    "b": ("b", "b_h", "bias", "bias_h", "bias_ih", "bias_hh", "bias_ih_l0", "bias_hh_l0", "input.bias",
          "recurrent.bias", "hidden.bias", "i2h.bias", "h2h.bias", "in_proj.bias"),
    "W_out": ("W_out", "w_out", "W_O", "Wo", "weight_ho", "output.weight", "out.weight", "fc.weight",
              "readout.weight", "linear.weight", "decoder.weight", "h2o.weight"),
    "b_out": ("b_out", "bias_out", "bias_o", "output.bias", "out.bias", "fc.bias", "readout.bias", "linear.bias",
              "decoder.bias", "h2o.bias"),
    "h0": ("h0", "h_0", "initial_state", "init_state", "hidden0", "h_init"),
}

#: Entries a CW-RNN state dict often carries that are not parameters (the clock periods, the connectivity
#: mask, bookkeeping); skipped. clocksim takes the periods from the model and builds the mask itself.
SKIPPED_NAMES = ("periods", "clock_periods", "clocks", "mask", "W_mask", "rec_mask", "recurrent_mask",
                 "connectivity", "num_batches_tracked")

_ALIASES = {alias: name for name, aliases in STATE_DICT_NAMES.items() for alias in aliases}


def params_from_state_dict(state_dict: Mapping, *, transpose: bool = False, ignore=()) -> dict[str, np.ndarray]:
    """Map a PyTorch CW-RNN ``state_dict`` to clocksim's parameter names, for ``model.set_params(**params)``.

    Parameters
    ----------
    state_dict : mapping of str to array-like
        ``module.state_dict()``: tensors (converted with ``.detach().cpu().numpy()``; torch itself is not
        imported) or arrays. Names are matched by :data:`STATE_DICT_NAMES`, after any leading module
        path (``rnn.``, ``module.cell.``) is dropped; entries of :data:`SKIPPED_NAMES` (periods, masks)
        are skipped.
    transpose : bool, default False
        The state dict stores weights as ``(inputs, outputs)`` (for ``x @ W``) rather than PyTorch's and
        clocksim's ``(outputs, inputs)``: transpose ``W_in``, ``W_rec`` and ``W_out``.
    ignore : sequence of str
        Further entries to skip (full names as in ``state_dict``).

    Returns
    -------
    dict of str to ndarray
        Some of ``W_in`` (n, n_in), ``W_rec`` (n, n), ``b`` (n,), ``W_out`` (n_out, n), ``b_out``
        (n_out,), ``h0`` (n,), float64; ``b`` is the sum of every bias of the hidden units.
        ``set_params`` then checks the shapes against the model and that ``W_rec`` is zero outside
        its connectivity mask.

    Raises
    ------
    InvalidValueError
        For a name it does not know (naming it, with the nearest known name) or two entries for
        the same weight.
    """
    if not isinstance(state_dict, Mapping):
        raise InvalidValueError(f"got {type(state_dict).__name__}, expected a mapping of names to arrays "
                                "(module.state_dict())", key="state_dict")
    ignore = set(ignore)
    out: dict[str, np.ndarray] = {}
    source: dict[str, str] = {}
    for key, value in state_dict.items():
        if key in ignore:
            continue
        name = _name_of(key)
        if name is None:
            continue
        arr = _array(key, value)
        if transpose and name != "b" and name != "b_out" and name != "h0":
            arr = arr.T
        if name == "b" and "b" in out:
            if out["b"].shape != arr.shape:
                raise ShapeError(f"{key!r} has shape {arr.shape}, but {source['b']!r} has {out['b'].shape}; "
                                 "expected biases of the same hidden units", key="state_dict")
            out["b"] = out["b"] + arr
            source["b"] += f" + {key}"
            continue
        if name in out:
            raise InvalidValueError(f"both {source[name]!r} and {key!r} give {name}; expected one (pass "
                                    "ignore=[...] to skip the other)", key="state_dict")
        out[name], source[name] = arr, str(key)
    return out


def _name_of(key) -> str | None:
    """clocksim's parameter name for the state-dict entry ``key``; None for an entry to skip (periods, masks);
    an unknown name is refused, naming the nearest known one."""
    name = _match(str(key))
    if name is None and not _leaf_path(str(key)) & set(SKIPPED_NAMES):
        hint = did_you_mean(str(key).rsplit(".", 1)[-1], _ALIASES)
        raise InvalidValueError(
            f"unknown entry {key!r}{hint}; expected names like {', '.join(a[0] for a in STATE_DICT_NAMES.values())}"
            " or the PyTorch ones (weight_ih, weight_hh, bias_ih, bias_hh, fc.weight, ...); pass "
            f"ignore=[{key!r}] to skip it", key="state_dict")
    return name



def _leaf_path(key: str) -> set[str]:
    """Every dotted tail of ``key``: ``rnn.cell.weight`` -> {``rnn.cell.weight``, ``cell.weight``, ``weight``}."""
    parts = key.split(".")
    return {".".join(parts[i:]) for i in range(len(parts))}


def _match(key: str) -> str | None:
    """The clocksim name of a state-dict entry: its longest dotted tail that is a known alias."""
    parts = key.split(".")
    for i in range(len(parts)):
        tail = ".".join(parts[i:])
        if tail in _ALIASES:
            return _ALIASES[tail]
    return None


def _array(key, value) -> np.ndarray:
    if hasattr(value, "detach"):                                      # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return as_real_array(f"state_dict[{key!r}]", value)
