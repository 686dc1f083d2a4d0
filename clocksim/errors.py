"""Exceptions and warnings raised by clocksim.

Every error clocksim raises on purpose derives from :class:`ClocksimError`, so
``except cs.ClocksimError`` catches them all. Errors about a bad *value* (a
non-positive period, a wrong shape, NaN in an input) also derive from
:class:`ValueError`, so generic code that expects ``ValueError`` keeps working.

Messages name the argument (or scenario key), the value received and what was
expected, in one line, so the command line can print them verbatim.
"""

from __future__ import annotations

__all__ = [
    "ClocksimError",
    "InvalidValueError",
    "ShapeError",
    "UnsupportedError",
    "ClocksimWarning",
]


class ClocksimError(Exception):
    """Base class of every error clocksim raises on purpose."""


class InvalidValueError(ClocksimError, ValueError):
    """An argument has a value outside what it accepts (names it, says what is expected)."""


class ShapeError(InvalidValueError):
    """An array has the wrong shape or dtype."""


class UnsupportedError(ClocksimError):
    """A valid request that the chosen engine or component cannot carry out."""


class ClocksimWarning(UserWarning):
    """Legal but suspicious input, e.g. a module whose clock never fires during a run."""
