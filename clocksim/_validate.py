"""Boundary checks shared by the public constructors (private).

Each helper takes the *name* of what it checks (an argument, or a scenario key)
so that the error says which input was wrong, what it was and what was expected.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import operator
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import ClocksimError, InvalidTypeError, InvalidValueError, ShapeError


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


# --- names: unknown options get a did-you-mean, the one way (API keywords, scenario and sweep keys) --

def did_you_mean(word: str, options: Iterable[str], *, prefix: str | None = None) -> str:
    """``" (did you mean 'x'?)"`` for the option closest to ``word`` (difflib), or ``""`` if none is close.

    With ``prefix`` the suggestion is written as a dotted key, unquoted: ``prefix="model."`` gives
    ``" (did you mean model.family?)"``.
    """
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)" if prefix is None else f" (did you mean {prefix}{close[0]}?)"


def check_options(given: Iterable[str], known: Iterable[str], *, what: str = "option", where: str = "",
                  key: str | None = None, suggest: Iterable[str] = (),
                  error: type[ClocksimError] = InvalidValueError) -> None:
    """Refuse the names in ``given`` that are not in ``known``, each with a did-you-mean.

    ``given`` is usually a ``**options`` dict; ``where`` says whose options they are (``"engine
    'compiled'"``), ``key`` the argument the error is about (default: the first unknown name) and
    ``suggest`` further names a misspelling may have meant without being accepted here (the
    function's own parameters: ``simulate(..., engnie=...)`` -> ``'engine'``). This is the check
    behind every keyword catch-all of the public API; a class that takes keywords explicitly can
    be given one with ``**options`` and::

        check_options(options, keyword_names(type(self)), where=type(self).__name__)
    """
    known = list(known)
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    close_to = known + [name for name in suggest if name not in known]
    listed = ", ".join(known) if known else "none"
    of = f" of {where}" if where else ""
    if key is None and len(unknown) == 1:       # the key is the name itself: do not say it twice
        raise error(f"unknown {what}{of}{did_you_mean(unknown[0], close_to)}; expected one of {listed}",
                    key=unknown[0])
    hints = ", ".join(f"{name!r}{did_you_mean(name, close_to)}" for name in unknown)
    raise error(f"unknown {what}{'s' if len(unknown) > 1 else ''}{of} {hints}; expected one of {listed}",
                key=unknown[0] if key is None else key)


def keyword_names(func) -> list[str]:
    """The parameters of ``func`` (a function or class) that can be passed by keyword, in order."""
    return list(_keyword_names(func))


@functools.lru_cache(maxsize=512)
def _keyword_names(func) -> tuple[str, ...]:
    """:func:`keyword_names`, once per function (``inspect.signature`` was a tenth of a short run's set-up)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in inspect.signature(func).parameters.values() if p.kind in kinds and p.name != "self")


# --- kinds of argument -----------------------------------------------------------------------------------

def _kind(value) -> str:
    return "None" if value is None else f"{value!r} ({type(value).__name__})"


def as_path(name: str, value) -> Path:
    """``value`` (a str or ``os.PathLike``) as a Path; None, numbers and other objects are refused by name."""
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bool):
        path = Path(value)
        if str(value) == "":
            raise InvalidValueError("got an empty string, expected a file or folder path", key=name)
        return path
    raise InvalidTypeError(f"got {_kind(value)}, expected a file or folder path (str or pathlib.Path)", key=name)


def as_mapping(name: str, value, what: str = "a dict") -> Mapping:
    """``value`` if it is a mapping (a dict); anything else is refused by name."""
    if not isinstance(value, Mapping):
        raise InvalidTypeError(f"got {_kind(value)}, expected {what}", key=name)
    return value


def as_instance(name: str, value, cls, what: str | None = None):
    """``value`` if it is an instance of ``cls`` (a class or tuple of classes), else an error naming ``name``."""
    if not isinstance(value, cls):
        if what is None:
            classes = cls if isinstance(cls, tuple) else (cls,)
            what = " or ".join(f"a {c.__name__}" for c in classes)
        raise InvalidTypeError(f"got {_kind(value)}, expected {what}", key=name)
    return value


def as_sequence(name: str, value, what: str = "a list") -> list:
    """``value`` (a list, tuple, range or 1-D array; not a string or a mapping) as a list."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidTypeError(f"got {_kind(value)}, expected {what}", key=name)
    return list(value)


def as_int_list(name: str, value, *, minimum: int | None = None, what: str = "a list of integers") -> list[int]:
    """A sequence of ints (each checked by :func:`as_int`, named ``name[i]``)."""
    return [as_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(as_sequence(name, value, what))]


def as_str(name: str, value, options: Sequence[str] | None = None) -> str:
    """``value`` if it is a string (one of ``options`` when given, with a did-you-mean)."""
    if not isinstance(value, str):
        expected = "a string" if options is None else "one of " + ", ".join(map(repr, options))
        raise InvalidTypeError(f"got {_kind(value)}, expected {expected}", key=name)
    if options is not None and value not in options:
        raise InvalidValueError(f"got {value!r}{did_you_mean(value, options)}, expected one of "
                                f"{', '.join(map(repr, options))}", key=name)
    return value


def as_bool(name: str, value, *, optional: bool = False) -> bool | None:
    """``value`` if it is True or False (or None when ``optional``); 1, "yes" and the like are refused."""
    if value is None and optional:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"got {_kind(value)}, expected True or False{' or None' if optional else ''}",
                               key=name)
    return bool(value)


def as_callable(name: str, value, what: str = "a callable"):
    if not callable(value):
        raise InvalidTypeError(f"got {_kind(value)}, expected {what}", key=name)
    return value


def as_rng(name: str, value) -> np.random.Generator | None:
    """``value`` if it is None or a ``numpy.random.Generator``."""
    if value is not None and not isinstance(value, np.random.Generator):
        raise InvalidTypeError(f"got {_kind(value)}, expected a numpy.random.Generator "
                               "(numpy.random.default_rng(seed)) or None", key=name)
    return value
