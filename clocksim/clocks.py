"""Clocks: when each module of a Clockwork RNN runs.

A *clock* decides at which times a module is *active*. Time is model time: the
s-th input sample is step ``t = start + s`` (``start`` belongs to the model).

* Synchronous clocks fire only on integer steps. :class:`Periodic` is the
  paper's clock: active at step ``t`` iff ``(t - phase) mod period == 0``
  (mathematical modulo, so it also holds for ``t < phase``).
* :class:`Explicit` fires at listed times; integer times make it synchronous,
  real-valued times make it asynchronous (event engine only).

Clocks answer two questions, both on absolute model time:

``firing_steps(start, n_steps)``
    sorted int64 steps in ``[start, start + n_steps)`` (synchronous clocks).
``firing_times(t0, t1)``
    sorted float64 times in ``[t0, t1)`` (every clock).

Period families (:func:`exponential_periods`, :func:`fibonacci_periods`,
:func:`linear_periods`, :func:`prime_periods`) return plain lists of ints, which
:class:`~clocksim.ClockworkRNN` turns into :class:`Periodic` clocks.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence

import numpy as np

from ._validate import as_float, as_int
from .errors import InvalidValueError, UnsupportedError

__all__ = [
    "Clock",
    "Periodic",
    "Explicit",
    "as_clock",
    "activity_mask",
    "exponential_periods",
    "fibonacci_periods",
    "linear_periods",
    "prime_periods",
    "CLOCK_KINDS",
]


class Clock(abc.ABC):
    """A schedule of firing times for one module.

    Subclasses implement :meth:`firing_times`, :attr:`nominal_period` and
    :attr:`synchronous`; synchronous clocks may override :meth:`firing_steps`
    with a closed form.
    """

    #: ``True`` when every firing is an integer step (the compiled engine needs this).
    synchronous: bool = True

    @property
    @abc.abstractmethod
    def nominal_period(self) -> float:
        """Typical time between firings; orders modules fastest first."""

    @abc.abstractmethod
    def firing_times(self, t0: float, t1: float) -> np.ndarray:
        """Sorted float64 firing times in ``[t0, t1)``."""

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """Short human-readable description, e.g. ``"T=4"``, used in tables and plots."""

    def firing_steps(self, start: int, n_steps: int) -> np.ndarray:
        """Sorted int64 steps in ``[start, start + n_steps)`` at which the clock fires."""
        self._require_synchronous()
        times = self.firing_times(start, start + n_steps)
        return times.astype(np.int64)

    def fires(self, start: int, n_steps: int) -> np.ndarray:
        """Boolean ``(n_steps,)`` array: entry ``s`` says whether step ``start + s`` fires."""
        out = np.zeros(n_steps, dtype=bool)
        out[self.firing_steps(start, n_steps) - start] = True
        return out

    def _require_synchronous(self) -> None:
        if not self.synchronous:
            raise UnsupportedError(
                f"clock {self.label}: fires at non-integer times, so it has no step schedule; "
                "use engine='events' for asynchronous clocks"
            )

    def to_dict(self) -> dict:
        """Plain-data description (kind and arguments), as used in scenario files and traces."""
        raise NotImplementedError


class Periodic(Clock):
    """Fires at every step ``t`` with ``(t - phase) mod period == 0``.

    Parameters
    ----------
    period : int
        Steps between firings, a positive integer (any, not only powers of two).
    phase : int, default 0
        Offset in ``[0, period)``; the clock fires at ``phase, phase + period, ...``
        (and, going back, at ``phase - period, ...``).
    """

    synchronous = True

    def __init__(self, period: int, phase: int = 0):
        self.period = as_int("period", period, minimum=1)
        self.phase = as_int("phase", phase)
        if not 0 <= self.phase < self.period:
            raise InvalidValueError(
                f"phase: got {self.phase} for period {self.period}, expected 0 <= phase < {self.period}"
            )

    @property
    def nominal_period(self) -> float:
        return float(self.period)

    @property
    def label(self) -> str:
        return f"T={self.period}" if self.phase == 0 else f"T={self.period}+{self.phase}"

    def first_step(self, start: int) -> int:
        """First firing step ``>= start``."""
        return start + (self.phase - start) % self.period

    def firing_steps(self, start: int, n_steps: int) -> np.ndarray:
        return np.arange(self.first_step(start), start + n_steps, self.period, dtype=np.int64)

    def firing_times(self, t0: float, t1: float) -> np.ndarray:
        first = math.ceil(t0)
        return self.firing_steps(first, max(0, math.ceil(t1) - first)).astype(np.float64)

    def fires(self, start: int, n_steps: int) -> np.ndarray:
        out = np.zeros(n_steps, dtype=bool)
        out[self.first_step(start) - start::self.period] = True
        return out

    def to_dict(self) -> dict:
        return {"kind": "periodic", "period": self.period, "phase": self.phase}

    def __eq__(self, other):
        return isinstance(other, Periodic) and (self.period, self.phase) == (other.period, other.phase)

    def __hash__(self):
        return hash(("periodic", self.period, self.phase))

    def __repr__(self):
        return f"Periodic({self.period})" if self.phase == 0 else f"Periodic({self.period}, phase={self.phase})"


class Explicit(Clock):
    """Fires at the listed times.

    Parameters
    ----------
    times : sequence of float, shape (m,)
        Strictly increasing, finite, non-negative model times. If every time is
        an integer the clock is synchronous (runs on both engines); otherwise it
        is asynchronous (event engine only).
    period : float, optional
        Nominal period used to order modules; defaults to the mean gap between
        firings (infinite for fewer than two firings).
    """

    def __init__(self, times: Sequence[float], period: float | None = None):
        arr = np.asarray(times)
        if arr.dtype == bool or arr.dtype.kind not in "iuf" or arr.ndim != 1:
            raise InvalidValueError(f"times: got {times!r}, expected a 1-D list of numbers")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise InvalidValueError(f"times: got {times!r}, expected finite numbers")
        if arr.size and arr[0] < 0:
            raise InvalidValueError(f"times: got {arr[0]:g} as the first time, expected times >= 0")
        if arr.size > 1 and not (np.diff(arr) > 0).all():
            i = int(np.argmin(np.diff(arr) > 0))
            raise InvalidValueError(
                f"times: got {arr[i]:g} followed by {arr[i + 1]:g}, expected strictly increasing times"
            )
        self.times = arr
        self.times.setflags(write=False)
        self.synchronous = bool(np.all(arr == np.round(arr)))
        if period is not None:
            self._period = as_float("period", period, minimum=0.0, strict_minimum=True)
        elif arr.size > 1:
            self._period = float((arr[-1] - arr[0]) / (arr.size - 1))
        else:
            self._period = math.inf

    @property
    def nominal_period(self) -> float:
        return self._period

    @property
    def label(self) -> str:
        return f"explicit ({self.times.size} times)"

    def firing_times(self, t0: float, t1: float) -> np.ndarray:
        lo, hi = np.searchsorted(self.times, [t0, t1], side="left")
        return self.times[lo:hi].copy()

    def to_dict(self) -> dict:
        times = [int(t) for t in self.times] if self.synchronous else self.times.tolist()
        return {"kind": "explicit", "times": times, "period": self._period}

    def __eq__(self, other):
        return isinstance(other, Explicit) and np.array_equal(self.times, other.times)

    def __hash__(self):
        return hash(("explicit", self.times.tobytes()))

    def __repr__(self):
        return f"Explicit({self.times.tolist()!r})"


#: Clock classes by the ``kind`` name used in scenario files; a new clock is one more entry.
CLOCK_KINDS: dict[str, type[Clock]] = {"periodic": Periodic, "explicit": Explicit}


def as_clock(value, name: str = "clock") -> Clock:
    """Turn an int period or a :class:`Clock` into a :class:`Clock`."""
    if isinstance(value, Clock):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidValueError(
            f"{name}: got {value!r} ({type(value).__name__}), expected a positive integer period or a Clock"
        )
    try:
        return Periodic(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"{name}: got {value!r}, expected a positive integer period") from exc


def activity_mask(clocks: Sequence[Clock], n_steps: int, start: int = 0) -> np.ndarray:
    """Boolean ``(n_steps, g)`` mask: ``[s, i]`` says whether module ``i`` runs at step ``start + s``."""
    n_steps = as_int("n_steps", n_steps, minimum=0)
    start = as_int("start", start)
    out = np.empty((n_steps, len(clocks)), dtype=bool)
    for i, clock in enumerate(clocks):
        out[:, i] = clock.fires(start, n_steps)
    return out


# ---------------------------------------------------------------- period families


def exponential_periods(g: int, base: int = 2) -> list[int]:
    """``[1, base, base**2, ...]``: the paper's schedule (``T_i = base**(i)``, fastest first)."""
    g = as_int("g", g, minimum=1)
    base = as_int("base", base, minimum=2)
    return [base**i for i in range(g)]


def fibonacci_periods(g: int) -> list[int]:
    """``[1, 2, 3, 5, 8, ...]``: distinct Fibonacci numbers, fastest first."""
    g = as_int("g", g, minimum=1)
    out = [1, 2]
    while len(out) < g:
        out.append(out[-1] + out[-2])
    return out[:g]


def linear_periods(g: int, step: int = 1, first: int = 1) -> list[int]:
    """``[first, first + step, first + 2*step, ...]``: an arithmetic series of periods."""
    g = as_int("g", g, minimum=1)
    step = as_int("step", step, minimum=1)
    first = as_int("first", first, minimum=1)
    return [first + i * step for i in range(g)]


def prime_periods(g: int) -> list[int]:
    """``[1, 2, 3, 5, 7, 11, ...]``: 1 followed by the first ``g - 1`` primes.

    Co-prime periods almost never fire together, which spreads load over time.
    """
    g = as_int("g", g, minimum=1)
    out = [1]
    candidate = 2
    while len(out) < g:
        if all(candidate % p for p in out[1:] if p * p <= candidate):
            out.append(candidate)
        candidate += 1
    return out
