"""Timing models for the event engine: message delays, link latency, compute on cores.

:class:`Delay` distributions (:class:`Fixed`, :class:`Uniform`, :class:`Exponential`),
per-link message latency (:class:`LinkLatency`); the compute model
(:class:`ComputeModel`) is :mod:`clocksim.sched.compute`, re-exported here. All times are model time (one input step = 1.0).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

import numpy as np

from .._validate import as_float, as_int, as_mapping
from ..errors import InvalidValueError


def has_timing_model(latency=None, compute=None, deadline=None, times=None) -> bool:
    """Whether a run models time: the one definition (engine, scenarios, plots and summaries use it).

    True when messages take time (``latency``, a :class:`LinkLatency`, not all zero), updates
    take time on cores (``compute``), a ``deadline`` is set or the inputs arrive at given
    ``times`` rather than once per step. Such a run records end-to-end latency, so its summary
    has ``latency`` and ``deadline_misses`` and its folder the latency and Gantt figures.
    """
    return ((latency is not None and not latency.is_zero) or compute is not None or deadline is not None
            or times is not None)


class Delay(abc.ABC):
    """A distribution of non-negative delays (model time), sampled with a given generator."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` delays as float64."""

    @property
    def is_zero(self) -> bool:
        return False

    @abc.abstractmethod
    def to_dict(self) -> dict:
        """Plain-data description (kind and parameters)."""


class Fixed(Delay):
    """Always ``value``."""

    def __init__(self, value: float = 0.0):
        self.value = as_float("value", value, minimum=0.0)

    def sample(self, rng, size):
        return np.full(size, self.value)

    @property
    def is_zero(self) -> bool:
        return self.value == 0.0

    def to_dict(self):
        return {"kind": "fixed", "value": self.value}

    def __repr__(self):
        return f"Fixed({self.value:g})"


class Uniform(Delay):
    """Uniform on ``[low, high]``."""

    def __init__(self, low: float, high: float):
        self.low = as_float("low", low, minimum=0.0)
        self.high = as_float("high", high, minimum=self.low)

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    def to_dict(self):
        return {"kind": "uniform", "low": self.low, "high": self.high}

    def __repr__(self):
        return f"Uniform({self.low:g}, {self.high:g})"


class Exponential(Delay):
    """``minimum`` plus an exponential tail of mean ``mean``."""

    def __init__(self, mean: float, minimum: float = 0.0):
        self.mean = as_float("mean", mean, minimum=0.0, strict_minimum=True)
        self.minimum = as_float("minimum", minimum, minimum=0.0)

    def sample(self, rng, size):
        return self.minimum + rng.exponential(self.mean, size)

    def to_dict(self):
        return {"kind": "exponential", "mean": self.mean, "minimum": self.minimum}

    def __repr__(self):
        return f"Exponential(mean={self.mean:g}, minimum={self.minimum:g})"


#: Delay classes by the ``kind`` name used in scenario files.
DELAY_KINDS: dict[str, type[Delay]] = {"fixed": Fixed, "uniform": Uniform, "exponential": Exponential}


def as_delay(value, name: str = "delay") -> Delay:
    """A number is a :class:`Fixed` delay; a :class:`Delay` passes through."""
    if isinstance(value, Delay):
        return value
    try:
        return Fixed(value)
    except InvalidValueError as exc:
        raise InvalidValueError(f"got {value!r}, expected a delay >= 0 or a Delay", key=name) from exc


class LinkLatency:
    """Per-link message delay: a default for every link, overridden per (sender, receiver).

    Parameters
    ----------
    default : float or Delay
        Delay of every message unless overridden.
    links : mapping of (sender, receiver) -> float or Delay, optional
        Overrides for individual links (0-based module indices).
    seed : int
        Each link draws from its own generator seeded by ``(seed, sender, receiver)``, so the
        delays do not depend on the order in which messages are sent.
    """

    def __init__(self, default=0.0, links: Mapping | None = None, seed: int = 0):
        self.default = as_delay(default, "default")
        self.links = {}
        links = {} if links is None else as_mapping("links", links, "a dict (sender, receiver) -> delay")
        for key, value in links.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise InvalidValueError(f"latency links: got key {key!r}, expected a (sender, receiver) pair")
            sender, receiver = (as_int("latency link sender", key[0], minimum=0),
                                as_int("latency link receiver", key[1], minimum=0))
            self.links[(sender, receiver)] = as_delay(value, f"latency link {key}")
        self.seed = as_int("seed", seed, minimum=0)

    def delay(self, sender: int, receiver: int) -> Delay:
        return self.links.get((sender, receiver), self.default)

    @property
    def is_zero(self) -> bool:
        return self.default.is_zero and all(d.is_zero for d in self.links.values())

    def check(self, g: int) -> None:
        for sender, receiver in self.links:
            if sender >= g or receiver >= g:
                raise InvalidValueError(
                    f"latency links: got link ({sender}, {receiver}), expected module indices below {g}")

    def generator(self, sender: int, receiver: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, sender, receiver])

    def to_dict(self) -> dict:
        return {"default": self.default.to_dict(),
                "links": [{"sender": s, "receiver": r, **d.to_dict()} for (s, r), d in self.links.items()],
                "seed": self.seed}


# The compute model lives in clocksim.sched (DESIGN section 10); re-exported so that round two's
# imports (``from clocksim.cost import ComputeModel``) keep working.
from ..sched.compute import ComputeModel  # noqa: E402,F401
from ..sched.policies import PRIORITY_RULES  # noqa: E402,F401
