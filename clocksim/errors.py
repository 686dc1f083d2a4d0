"""Exceptions and warnings raised by clocksim.

Every error clocksim raises on purpose derives from :class:`ClocksimError`, so
``except cs.ClocksimError`` catches them all. Errors about a bad *value* (a
non-positive period, a wrong shape, NaN in an input) also derive from
:class:`ValueError`, so generic code that expects ``ValueError`` keeps working.

An error carries what it is about as attributes, not only as text:

``key``
    the argument or scenario key (``"model.periods[2]"``, ``"x"``, ``"--out"``);
``value`` / ``expected``
    the value received and what was expected (when the error is of that form);
``file``
    the file the key was read from (a scenario, sweep, trace, checkpoint ...);
``reason``
    the rest of the message.

``str(err)`` is built from them — ``file: key: reason`` — in one line, so the
command line prints it verbatim. A caller that knows more (the file a value came
from, the table an argument sits in) adds it with :meth:`ClocksimError.located`
instead of editing the text.
"""

from __future__ import annotations

import copy

__all__ = [
    "ClocksimError",
    "InvalidValueError",
    "ShapeError",
    "InvalidTypeError",
    "UnsupportedError",
    "FileFormatError",
    "ResourceLimitError",
    "InternalError",
    "KernelBoundsError",
    "ClocksimWarning",
]


class _Unset:
    """The default of ``value``: no value given (None is a value)."""

    def __repr__(self) -> str:
        return "unset"


_UNSET = _Unset()


def show_value(value, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (``nothing`` for None)."""
    shown = "nothing" if value is None else repr(value)
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


class ClocksimError(Exception):
    """Base class of every error clocksim raises on purpose.

    Parameters
    ----------
    reason : str
        What went wrong (without the key or file; those are attributes).
    key : str, optional
        The argument or scenario key the error is about.
    value, expected : optional
        The value received and a description of what was expected; with no
        ``reason`` the message is ``got <value>, expected <expected>``.
    file : str or Path, optional
        The file the offending input was read from.
    """

    def __init__(self, reason: str = "", *, key: str | None = None, value=_UNSET, expected: str | None = None,
                 file=None):
        super().__init__(reason)
        self.reason = reason
        self.key = None if key is None else str(key)
        self.value = None if value is _UNSET else value
        self._has_value = value is not _UNSET
        self.expected = expected
        self.file = None if file is None else str(file)

    def __reduce__(self):             # keep the attributes across processes (sweep workers)
        return _rebuild, (type(self), self.__dict__.copy())

    @property
    def detail(self) -> str:
        """The message without file and key."""
        if self.reason:
            return self.reason
        if self.expected is not None:
            got = f"got {show_value(self.value)}, " if self._has_value else ""
            return f"{got}expected {self.expected}"
        return show_value(self.value) if self._has_value else ""

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.key, self.detail) if p]
        return " ".join(": ".join(parts).split())          # one line, whatever the parts hold

    def located(self, *, file=None, key: str | None = None) -> "ClocksimError":
        """A copy of this error placed further out: ``key`` becomes the parent of the error's own key
        (``model`` + ``periods[0]`` -> ``model.periods[0]``) and ``file`` is set if none is known yet."""
        new = copy.copy(self)
        new.__traceback__ = None
        if key:
            new.key = key if not self.key else key + ("" if self.key.startswith("[") else ".") + self.key
        if file is not None and self.file is None:
            new.file = str(file)
        return new


def _rebuild(cls, state: dict) -> ClocksimError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("reason", ""))
    err.__dict__.update(state)
    return err


class InvalidValueError(ClocksimError, ValueError):
    """An argument has a value outside what it accepts (names it, says what is expected)."""


class ShapeError(InvalidValueError):
    """An array has the wrong shape or dtype."""


class InvalidTypeError(ClocksimError, TypeError):
    """An argument is of the wrong kind altogether (a dict where a Trace is expected)."""


class UnsupportedError(ClocksimError):
    """A valid request that the chosen engine or component cannot carry out."""


class FileFormatError(InvalidValueError):
    """A file clocksim reads is not what it should be: undecodable text, not an .npz, an entry
    missing or of the wrong dtype or shape, another format version, another scenario's fingerprint."""


class ResourceLimitError(InvalidValueError):
    """A request would need more memory (or events) than the limit; says how much, which key drives
    it, and how to raise the limit."""


class InternalError(ClocksimError, RuntimeError):
    """Something inside clocksim broke an invariant it relies on: a bug in clocksim, not in the input."""


class KernelBoundsError(InternalError):
    """A native kernel was handed sizes or offsets that do not fit the arrays it was given.

    Every jitted entry point checks them once per call, before touching memory, and raises this
    instead of reading or writing out of bounds. Positional arguments (numba raises it from compiled
    code so): the kernel, the argument, the extent it needs and the one it got.
    """

    def __init__(self, kernel: str = "", argument: str = "", expected: int = 0, got: int = 0):
        super().__init__(f"kernel {kernel}: argument {argument} needs an extent of at least {expected}, "
                         f"got {got} (an internal error of clocksim; please report it)", key=argument)
        self.kernel, self.argument, self.needed, self.got = kernel, argument, int(expected), int(got)
        self.args = (kernel, argument, self.needed, self.got)     # ``type(err)(*err.args)`` rebuilds it (SimPy does)


class ClocksimWarning(UserWarning):
    """Legal but suspicious input, e.g. a module whose clock never fires during a run."""
