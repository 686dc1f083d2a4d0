"""Boundary checks shared by the public constructors (private).

Each helper takes the *name* of what it checks (an argument, or a scenario key)
so that the error says which input was wrong, what it was and what was expected.
"""

from __future__ import annotations

import numbers
import operator
import tomllib
from pathlib import Path

import numpy as np

from .errors import ClocksimError, InvalidValueError, ShapeError


def as_int(name: str, value, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int; reject bools, floats and strings."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise InvalidValueError(f"got {value!r} ({type(value).__name__}), expected {expected}", key=name)
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise InvalidValueError(f"got {value}, expected an integer >= {minimum}", key=name)
    return value


def as_float(name: str, value, *, minimum: float | None = None, strict_minimum: bool = False,
             maximum: float | None = None) -> float:
    """Return ``value`` as a finite Python float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(f"got {value!r} ({type(value).__name__}), expected a real number", key=name)
    value = float(value)
    if not np.isfinite(value):
        raise InvalidValueError(f"got {value}, expected a finite number", key=name)
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise InvalidValueError(f"got {value:g}, expected a number > {minimum:g}", key=name)
        if not strict_minimum and value < minimum:
            raise InvalidValueError(f"got {value:g}, expected a number >= {minimum:g}", key=name)
    if maximum is not None and value > maximum:
        raise InvalidValueError(f"got {value:g}, expected a number <= {maximum:g}", key=name)
    return value


def as_array(name: str, value, dtype=None) -> np.ndarray:
    """``np.asarray(value)``, with a ragged input (nested lists of unequal lengths) refused by name."""
    try:
        return np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise ShapeError("got nested sequences of unequal lengths (a ragged array), expected a rectangular "
                             "array", key=name) from None
        raise InvalidValueError(f"cannot be read as an array ({str(exc).splitlines()[0][:100]})", key=name) \
            from None


def as_real_array(name: str, value, *, ndim: int | tuple[int, ...] | None = None,
                  shape: tuple | None = None) -> np.ndarray:
    """Return a finite float64 array; reject complex, bool, object and string data.

    ``shape`` may contain ``None`` for a free dimension.
    """
    arr = as_array(name, value)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise ShapeError(f"got an array of dtype {arr.dtype}, expected real numbers (float or int)", key=name)
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ShapeError(f"got shape {arr.shape}, expected a {want} array", key=name)
    if shape is not None:
        if arr.ndim != len(shape) or any(w is not None and w != s for w, s in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if w is None else str(w) for w in shape) + ("," if len(shape) == 1 else "") + ")"
            raise ShapeError(f"got shape {arr.shape}, expected {want}", key=name)
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = tuple(int(i) for i in bad)
        raise InvalidValueError(f"contains {arr[where]} at index {where}, expected finite numbers", key=name)
    return arr


def as_input(x, n_in: int, n_steps=None) -> tuple[np.ndarray, bool]:
    """A model's input ``x`` as float64 ``(B, L, n_in)``, and whether it was batched: the one input check.

    ``x`` is ``(L, n_in)`` or ``(B, L, n_in)`` with at least one step and one sequence, or
    None when ``n_in == 0`` (then ``n_steps`` gives L). ``n_steps``, when given beside ``x``,
    must equal its length. Engines, ``LSTM.forward`` and the gradients all call this.
    """
    if x is None:
        if n_in != 0:
            raise InvalidValueError(f"got None, but the model has n_in={n_in}; pass an array of shape "
                                    f"(L, {n_in}) or (B, L, {n_in})", key="x")
        if n_steps is None:
            raise InvalidValueError("got None with x=None, expected the number of steps to run", key="n_steps")
        return np.zeros((1, as_int("n_steps", n_steps, minimum=1), 0)), False
    X = as_real_array("x", x, ndim=(2, 3))
    batched = X.ndim == 3
    if not batched:
        X = X[None]
    if X.shape[2] != n_in:
        raise ShapeError(f"got shape {np.shape(x)}, expected (L, {n_in}) or (B, L, {n_in}) "
                         f"for a model with n_in={n_in}", key="x")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ShapeError(f"got shape {np.shape(x)}, expected at least one step and one sequence", key="x")
    if n_steps is not None and as_int("n_steps", n_steps, minimum=1) != X.shape[1]:
        raise InvalidValueError(f"got {n_steps}, but x has {X.shape[1]} steps; omit n_steps or make "
                                "them agree", key="n_steps")
    return X, batched


#: Largest TOML file read (scenarios and sweeps are a few kB; this keeps a wrong path from reading a disk image).
MAX_TOML_BYTES = 4 * 2**20


def read_toml(path, error: type[ClocksimError], what: str) -> tuple[dict, str]:
    """Read a TOML file as data: ``(parsed, text)``; a missing, undecodable or malformed file raises
    ``error`` with ``error.file`` set (``what`` names the kind of file, e.g. "scenario")."""
    path = Path(path)
    if not path.is_file():
        raise error(f"no such {what} file", file=path)
    try:
        size = path.stat().st_size
        if size > MAX_TOML_BYTES:
            raise error(f"{size:,} bytes, expected a {what} file of at most {MAX_TOML_BYTES:,} bytes", file=path)
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the {what} file ({exc.strerror or exc})", file=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the {what} file "
                    "as UTF-8", file=path) from None
    if "\x00" in text:
        raise error(f"holds NUL characters, expected a UTF-8 text {what} file", file=path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML: {exc}", file=path) from None
    except RecursionError:
        raise error("not valid TOML: nested too deeply", file=path) from None
