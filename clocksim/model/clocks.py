"""Clocks: when each module of a Clockwork RNN runs.

A *clock* decides at which times a module is *active*. Time is model time: the
s-th input sample is step ``t = start + s`` (``start`` belongs to the model).

* Synchronous clocks fire only on integer steps. :class:`Periodic` is the
  paper's clock: active at step ``t`` iff ``(t - phase) mod period == 0``
  (mathematical modulo, so it also holds for ``t < phase``).
* :class:`Explicit` fires at listed times; integer times make it synchronous,
  real-valued times make it asynchronous (event engine only).
* :class:`Jittered` fires near ``phase + k * period``, each firing displaced by a
  bounded, seeded amount that never accumulates (no drift).
* :class:`Poisson` fires at the events of a seeded Poisson process.
* :class:`OnInput` is event-triggered: it fires when an input sample arrives
  whose value changed since the module last fired (a sensor that reports only
  on change). Its times depend on the input, so engines resolve it per run.

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

from .._validate import as_float, as_int, as_int_list, as_real_array, as_sequence
from ..errors import InvalidValueError, ShapeError, UnsupportedError
from ..limits import check_memory

__all__ = [
    "Clock",
    "Periodic",
    "Explicit",
    "Jittered",
    "Poisson",
    "OnInput",
    "resolve_clocks",
    "stagger_phases",
    "as_clock",
    "activity_mask",
    "check_fastest_first",
    "exponential_periods",
    "fibonacci_periods",
    "linear_periods",
    "prime_periods",
    "PERIOD_FAMILIES",
    "CLOCK_KINDS",
]


#: Largest step number or period: times are float64, exact for integers up to 2**53.
MAX_STEP = 2**53


class Clock(abc.ABC):
    """A schedule of firing times for one module.

    Subclasses implement :meth:`firing_times`, :attr:`nominal_period` and
    :attr:`synchronous`; synchronous clocks may override :meth:`firing_steps`
    with a closed form.
    """

    #: ``True`` when every firing is an integer step (the compiled engine needs this).
    synchronous: bool = True
    #: ``True`` when the firing times depend on the input (see :meth:`for_input`).
    input_driven: bool = False

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

    def for_input(self, x: np.ndarray, times: np.ndarray) -> "Clock":
        """The clock to use for one run with inputs ``x`` (B, L, n_in) arriving at ``times`` (L,).

        Clocks that do not depend on the input return themselves.
        """
        return self

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

    Examples
    --------
    >>> Periodic(4, phase=1).firing_steps(start=0, n_steps=12).tolist()
    [1, 5, 9]
    >>> Periodic(2).fires(start=1, n_steps=4).tolist()      # steps 1, 2, 3, 4
    [False, True, False, True]
    """

    synchronous = True

    def __init__(self, period: int, phase: int = 0):
        self.period = as_int("period", period, minimum=1)
        if self.period > MAX_STEP:
            raise InvalidValueError(key="period", value=self.period,
                                    expected="at most 2**53 (steps and times are exact float64 numbers)")
        self.phase = as_int("phase", phase)
        if not 0 <= self.phase < self.period:
            raise InvalidValueError(
                f"got {self.phase} for period {self.period}, expected 0 <= phase < {self.period}", key="phase"
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
            raise InvalidValueError(f"got {times!r}, expected a 1-D list of numbers", key="times")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise InvalidValueError(f"got {times!r}, expected finite numbers", key="times")
        if arr.size and arr[0] < 0:
            raise InvalidValueError(f"got {arr[0]:g} as the first time, expected times >= 0", key="times")
        if arr.size > 1 and not (np.diff(arr) > 0).all():
            i = int(np.argmin(np.diff(arr) > 0))
            raise InvalidValueError(
                f"got {arr[i]:g} followed by {arr[i + 1]:g}, expected strictly increasing times", key="times"
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


class Jittered(Clock):
    """Fires near ``phase + k * period``; firing k is displaced by ``jitter * (u_k - 0.5)``.

    The displacements ``u_k ~ U[0, 1)`` are independent and seeded per firing (a
    firing's time does not depend on which window is asked for), so the clock
    never drifts from its nominal grid and, since ``jitter < period``, firings
    keep their order.

    Parameters
    ----------
    period : float
        Nominal time between firings, > 0.
    jitter : float
        Width of the displacement window, ``0 <= jitter < period``.
    phase : float, default 0
        Nominal time of firing 0, ``0 <= phase < period``.
    seed : int, default 0
    """

    synchronous = False
    _BLOCK = 1024

    def __init__(self, period: float, jitter: float, phase: float = 0.0, seed: int = 0):
        self.period = as_float("period", period, minimum=0.0, strict_minimum=True)
        self.jitter = as_float("jitter", jitter, minimum=0.0)
        if self.jitter >= self.period:
            raise InvalidValueError(
                f"got {self.jitter:g} for period {self.period:g}, expected 0 <= jitter < period "
                "(a wider window would let firings swap order)", key="jitter")
        self.phase = as_float("phase", phase, minimum=0.0)
        if self.phase >= self.period:
            raise InvalidValueError(
                f"got {self.phase:g} for period {self.period:g}, expected 0 <= phase < period", key="phase")
        self.seed = as_int("seed", seed, minimum=0)

    @property
    def nominal_period(self) -> float:
        return self.period

    @property
    def label(self) -> str:
        if self.jitter == 0:                     # an exact continuous-time period (a search's real periods)
            return f"T={self.period:g}" if self.phase == 0 else f"T={self.period:g}+{self.phase:g}"
        return f"T={self.period:g}\u00b1{self.jitter / 2:g}"

    def _offsets(self, k0: int, k1: int) -> np.ndarray:
        """Displacements of firings k0..k1-1, drawn block by block from generators seeded (seed, block)."""
        out = np.empty(max(k1 - k0, 0))
        b0, b1 = k0 // self._BLOCK, (k1 - 1) // self._BLOCK if k1 > k0 else k0 // self._BLOCK - 1
        for blk in range(b0, b1 + 1):
            u = np.random.default_rng([self.seed, blk]).random(self._BLOCK)
            lo, hi = max(k0, blk * self._BLOCK), min(k1, (blk + 1) * self._BLOCK)
            out[lo - k0:hi - k0] = self.jitter * (u[lo - blk * self._BLOCK:hi - blk * self._BLOCK] - 0.5)
        return out

    def firing_times(self, t0: float, t1: float) -> np.ndarray:
        half = self.jitter / 2
        k0 = max(0, math.floor((t0 - half - self.phase) / self.period))
        k1 = max(k0, math.ceil((t1 + half - self.phase) / self.period) + 1)
        t = self.phase + self.period * np.arange(k0, k1) + self._offsets(k0, k1)
        return t[(t >= t0) & (t < t1) & (t >= 0)]

    def to_dict(self) -> dict:
        return {"kind": "jittered", "period": self.period, "jitter": self.jitter, "phase": self.phase,
                "seed": self.seed}

    def __repr__(self):
        return f"Jittered({self.period:g}, jitter={self.jitter:g}, phase={self.phase:g}, seed={self.seed})"


class Poisson(Clock):
    """Fires at the events of a Poisson process of ``rate`` firings per unit time, from time 0.

    With ``min_gap > 0`` every gap is ``min_gap`` plus an exponential one of mean ``1 / rate`` (a
    sensor that cannot report more often than that: a sporadic source, which schedulability analysis
    can bound; without it any number of firings can fall in any interval).

    The process is generated once from ``seed`` (gaps ~ min_gap + Exponential(1 / rate)),
    in blocks of a fixed number of gaps, each block's times summed from the last
    time of the block before: so every window sees the same firings, bit for bit,
    whichever windows were asked for earlier.
    """

    synchronous = False
    _BLOCK = 4096

    def __init__(self, rate: float, seed: int = 0, min_gap: float = 0.0):
        self.rate = as_float("rate", rate, minimum=0.0, strict_minimum=True)
        self.seed = as_int("seed", seed, minimum=0)
        self.min_gap = as_float("min_gap", min_gap, minimum=0.0)
        self._times = np.zeros(0)
        self._rng = np.random.default_rng(self.seed)

    @property
    def nominal_period(self) -> float:
        return self.min_gap + 1.0 / self.rate

    @property
    def label(self) -> str:
        return f"Poisson {self.rate:g}/step" + (f", gap >= {self.min_gap:g}" if self.min_gap else "")

    def firing_times(self, t0: float, t1: float) -> np.ndarray:
        if self._times.size == 0 or self._times[-1] < t1:
            blocks = [self._times]
            last = self._times[-1] if self._times.size else 0.0
            while last < t1:
                block = last + np.cumsum(self.min_gap + self._rng.exponential(1.0 / self.rate, self._BLOCK))
                blocks.append(block)
                last = block[-1]
            self._times = np.concatenate(blocks)
        lo, hi = np.searchsorted(self._times, [t0, t1], side="left")
        return self._times[lo:hi].copy()

    def to_dict(self) -> dict:
        out = {"kind": "poisson", "rate": self.rate, "seed": self.seed}
        if self.min_gap:
            out["min_gap"] = self.min_gap
        return out

    def __repr__(self):
        return f"Poisson({self.rate:g}, seed={self.seed}" + (f", min_gap={self.min_gap:g})" if self.min_gap else ")")


class OnInput(Clock):
    """Event-triggered: fires at an input sample whose value changed since the module last fired.

    A sample "changed" when any input channel (of any sequence in the batch —
    the batch shares one schedule) differs from its value at the previous
    firing by more than ``threshold``; the first sample always fires. With
    ``threshold=0`` the module runs exactly when a sensor that reports only on
    change delivers something new. Resolved per run by :meth:`for_input`.

    Parameters
    ----------
    threshold : float, default 0
        Smallest change that counts (absolute, per channel), >= 0.
    channels : sequence of int, optional
        Input channels watched; default all.
    period : float, optional
        Nominal period used to order modules (default 1: as fast as the input).
    """

    synchronous = True
    input_driven = True

    def __init__(self, threshold: float = 0.0, channels: Sequence[int] | None = None, period: float = 1.0):
        self.threshold = as_float("threshold", threshold, minimum=0.0)
        self.channels = None if channels is None else as_int_list("channels", channels, minimum=0,
                                                                  what="a list of input channel numbers")
        self._period = as_float("period", period, minimum=0.0, strict_minimum=True)

    @property
    def nominal_period(self) -> float:
        return self._period

    @property
    def label(self) -> str:
        return "on change" if self.threshold == 0 else f"on change >{self.threshold:g}"

    def firing_times(self, t0: float, t1: float) -> np.ndarray:
        raise UnsupportedError("clock 'on change': its firings depend on the input; engines resolve it with "
                               "for_input(x, times), and model.activity needs x=")

    def for_input(self, x: np.ndarray, times: np.ndarray) -> Explicit:
        fire, _ = self.changes(x)
        return Explicit(np.asarray(times, dtype=np.float64)[fire], period=self._period)

    def changes(self, x: np.ndarray, last: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Which samples of ``x`` (B, L, n_in) fire, and the watched values at the last firing.

        ``last`` (B, k) carries the watched values at the previous firing from an earlier chunk
        of the same run (None at the start: the first sample fires), so a run read in chunks
        fires exactly where the whole run would.
        """
        x = np.asarray(x, dtype=np.float64)                       # (B, L, n_in)
        if self.channels is not None:
            if self.channels and max(self.channels) >= x.shape[2]:
                raise InvalidValueError(
                    f"got channel {max(self.channels)}, but the input has {x.shape[2]} channels", key="channels")
            x = x[:, :, self.channels]
        L = x.shape[1]
        fire = np.zeros(L, dtype=bool)
        for s in range(L):
            if last is None or np.any(np.abs(x[:, s] - last) > self.threshold):
                fire[s] = True
                last = x[:, s]
        return fire, last

    def to_dict(self) -> dict:
        return {"kind": "on_input", "threshold": self.threshold, "channels": self.channels, "period": self._period}

    def __repr__(self):
        return f"OnInput(threshold={self.threshold:g})"


#: Clock classes by the ``kind`` name used in scenario files; a new clock is one more entry.
CLOCK_KINDS: dict[str, type[Clock]] = {"periodic": Periodic, "explicit": Explicit, "jittered": Jittered,
                                       "poisson": Poisson, "on_input": OnInput}


def resolve_clocks(clocks: Sequence[Clock], x: np.ndarray, times: np.ndarray) -> list[Clock]:
    """The concrete clocks of one run: input-driven clocks become :class:`Explicit` ones."""
    return [c.for_input(x, times) for c in clocks]


def as_clock(value, name: str = "clock") -> Clock:
    """Turn an int period or a :class:`Clock` into a :class:`Clock`."""
    if isinstance(value, Clock):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidValueError(
            f"got {value!r} ({type(value).__name__}), expected a positive integer period or a Clock", key=name
        )
    try:
        return Periodic(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"got {value!r}, expected a positive integer period", key=name) from exc


def activity_mask(clocks: Sequence[Clock], n_steps: int, start: int = 0, x: np.ndarray | None = None) -> np.ndarray:
    """Boolean ``(n_steps, g)`` mask: ``[s, i]`` says whether module ``i`` runs at step ``start + s``.

    ``x`` (B, n_steps, n_in) is needed when a clock depends on the input (:class:`OnInput`).
    """
    clocks = as_sequence("clocks", clocks, "a list of Clock objects (clocksim.Periodic, ...)")
    for i, clock in enumerate(clocks):
        if not isinstance(clock, Clock):
            raise InvalidValueError(f"got {clock!r} ({type(clock).__name__}), expected a Clock (e.g. "
                                    "clocksim.Periodic(4)); ClockworkRNN(..., clocks=[1, 2, 4]) turns periods "
                                    "into clocks", key=f"clocks[{i}]")
    n_steps = as_int("n_steps", n_steps, minimum=0)
    start = as_int("start", start)
    check_memory(float(n_steps) * max(len(clocks), 1), "n_steps",
                 f"an activity mask of {n_steps:,} steps x {len(clocks)} modules (1 byte each)")
    if x is not None:
        x = as_real_array("x", x, ndim=(2, 3))
        x = x[None] if x.ndim == 2 else x                                   # (B, n_steps, n_in)
        if x.shape[1] != n_steps:
            raise ShapeError(f"got {x.shape[1]} steps, expected n_steps={n_steps} ((B, n_steps, n_in) inputs)",
                             key="x")
        clocks = resolve_clocks(clocks, x, start + np.arange(n_steps, dtype=np.float64))
    out = np.empty((n_steps, len(clocks)), dtype=bool)
    for i, clock in enumerate(clocks):
        out[:, i] = clock.fires(start, n_steps)
    return out


def check_fastest_first(clocks: Sequence[Clock], name: str = "clocks", remedy: str = "") -> None:
    """Raise :class:`InvalidValueError` unless the clocks' nominal periods are non-decreasing.

    ``"slow-to-fast"`` wiring needs modules fastest first; a schedule in another order
    is refused, never silently reordered. ``name`` is the argument named in the
    message and ``remedy`` what the caller can do instead.
    """
    for i in range(1, len(clocks)):
        if clocks[i].nominal_period < clocks[i - 1].nominal_period:
            raise InvalidValueError(
                f"module {i} ({clocks[i].label}) is faster than module {i - 1} ({clocks[i - 1].label}); "
                "'slow-to-fast' wiring needs modules fastest first (non-decreasing periods)"
                + (f": {remedy}" if remedy else ""), key=name)


# ---------------------------------------------------------------- period families


def exponential_periods(g: int, base: int = 2) -> list[int]:
    """``[1, base, base**2, ...]``: the paper's schedule (``T_i = base**(i)``, fastest first).

    >>> exponential_periods(8)
    [1, 2, 4, 8, 16, 32, 64, 128]
    """
    g = as_int("g", g, minimum=1)
    base = as_int("base", base, minimum=2)
    _check_slowest(g, (g - 1) * math.log2(base), f"base**(g - 1) = {base}**{g - 1}")
    return [base**i for i in range(g)]


def fibonacci_periods(g: int) -> list[int]:
    """``[1, 2, 3, 5, 8, ...]``: distinct Fibonacci numbers, fastest first.

    >>> fibonacci_periods(6)
    [1, 2, 3, 5, 8, 13]
    """
    g = as_int("g", g, minimum=1)
    phi = (1 + math.sqrt(5)) / 2                    # F(n) = round(phi**n / sqrt(5)) (Binet)
    _check_slowest(g, (g + 1) * math.log2(phi) - math.log2(5) / 2, f"the Fibonacci number F({g + 1})")
    out = [1, 2]
    while len(out) < g:
        out.append(out[-1] + out[-2])
    return out[:g]


def linear_periods(g: int, step: int = 1, first: int = 1) -> list[int]:
    """``[first, first + step, first + 2*step, ...]``: an arithmetic series of periods.

    >>> linear_periods(4, step=3)
    [1, 4, 7, 10]
    """
    g = as_int("g", g, minimum=1)
    step = as_int("step", step, minimum=1)
    first = as_int("first", first, minimum=1)
    _check_slowest(g, math.log2(first + (g - 1) * step), f"first + (g - 1) * step = {first + (g - 1) * step}")
    return [first + i * step for i in range(g)]


def prime_periods(g: int) -> list[int]:
    """``[1, 2, 3, 5, 7, 11, ...]``: 1 followed by the first ``g - 1`` primes.

    Co-prime periods almost never fire together, which spreads load over time.

    >>> prime_periods(5)
    [1, 2, 3, 5, 7]
    """
    g = as_int("g", g, minimum=1)
    _check_slowest(g, 0.0, "")
    if g == 1:
        return [1]
    n = g - 1                                       # primes wanted; the n-th prime is below this bound (Rosser)
    bound = 16 if n < 6 else int(n * (math.log(n) + math.log(math.log(n)))) + 2
    check_memory(bound, "g", f"the sieve for the first {n:,} primes")
    sieve = np.ones(bound, dtype=bool)              # sieve of Eratosthenes: sieve[k] says k is prime
    sieve[:2] = False
    for p in range(2, math.isqrt(bound - 1) + 1):
        if sieve[p]:
            sieve[p * p::p] = False
    return [1] + np.flatnonzero(sieve)[:n].tolist()


def _check_slowest(g: int, log2_slowest: float, slowest: str) -> None:
    """Refuse, before building it, a period family whose list would not fit in memory or whose slowest
    period would exceed :data:`MAX_STEP` (no clock takes it): ``exponential_periods(10**9)`` is refused
    at once instead of computing a billion ever larger integers."""
    if log2_slowest > math.log2(MAX_STEP):
        raise InvalidValueError(f"got {g:,}: the slowest period, {slowest}, would exceed 2**53, the longest "
                                "period a clock takes; use fewer modules", key="g")
    check_memory(40.0 * g, "g", f"a list of {g:,} periods")     # a Python int and its list slot


# ---------------------------------------------------------------- phase staggering


def stagger_phases(periods: Sequence[int], weights: Sequence[float] | None = None,
                   horizon: int | None = None, ranks: Sequence[int] | None = None) -> list[int]:
    """Phases that spread the modules' firings over time (the paper's interleaved offsets).

    Aligned phases make every module fire together at multiples of the slowest
    period, a burst that queues on limited cores. This greedy placement puts the
    most expensive modules first, each at the phase that minimises the peak
    (then the sum of squares) of the per-step load so far.

    Parameters
    ----------
    periods : sequence of int, shape (g,)
        Integer periods.
    weights : sequence of float, shape (g,), optional
        Cost of one activation of each module (e.g. its multiply-adds); default 1.
    horizon : int, optional
        Steps over which load is balanced; default the least common multiple of
        the periods, capped at 100 000.
    ranks : sequence of int, shape (g,), optional
        Module ``i`` takes the phase of rank ``ranks[i]`` (``0 <= ranks[i] < periods[i]``)
        in its order of phases, best first, instead of the best (rank 0, the default).
        Every assignment of phases has exactly one ranks vector, so the ranks are
        coordinates of the whole phase space ordered by this placement (the schedule
        search's ``[phases] encoding = "ranked"``).

    Returns
    -------
    list of int
        One phase per module, ``0 <= phase < period``.

    Examples
    --------
    >>> stagger_phases([1, 2, 4, 8])        # every step runs M1 and exactly one other module
    [0, 0, 1, 3]
    """
    periods = as_int_list("periods", periods, minimum=1, what="a list of integer periods")
    g = len(periods)
    w = np.ones(g) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (g,) or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidValueError(f"got {weights!r}, expected {g} finite non-negative numbers", key="weights")
    if horizon is None:
        horizon = min(math.lcm(*periods), 100_000)
    horizon = as_int("horizon", horizon, minimum=1)
    ranks = [0] * g if ranks is None else as_sequence("ranks", ranks, "a list of integer ranks")
    if len(ranks) != g:
        raise InvalidValueError(f"got {len(ranks)} ranks for {g} modules", key="ranks")
    ranks = [as_int(f"ranks[{i}]", r, minimum=0) for i, r in enumerate(ranks)]
    for i, (r, p) in enumerate(zip(ranks, periods)):
        if r >= p:
            raise InvalidValueError(f"got {r}, expected a rank below the period {p}", key=f"ranks[{i}]")
    load = np.zeros(horizon)
    phases = [0] * g
    for i in sorted(range(g), key=lambda i: (-w[i] / periods[i], -periods[i], i)):
        ranked = []
        for phase in range(periods[i]):
            trial = load.copy()
            trial[phase::periods[i]] += w[i]
            ranked.append(((trial.max(), float(np.square(trial).sum()), phase), phase, trial))
        _, phases[i], load = sorted(ranked, key=lambda c: c[0])[ranks[i]]
    return phases


#: Period families by name (a scenario's ``model.family``, ``clocksim explain --family``): name -> f(g, ...).
PERIOD_FAMILIES = {"exponential": exponential_periods, "fibonacci": fibonacci_periods,
                   "linear": linear_periods, "prime": prime_periods}
