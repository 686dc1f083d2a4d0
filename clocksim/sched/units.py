"""Real units (DESIGN section 10): seconds per input step, and times and rates written with a unit.

A bare number keeps its meaning in input steps (a deadline of 1.0 is one step, a throughput is per
step); a string with a unit (``"8 ms"``, ``"250 us"``, ``"2e9/s"``) is converted with ``step``, the
seconds one input step lasts. Setting ``step`` never changes what is simulated, only how times read.
"""

from __future__ import annotations

import math
import numbers
import re

from ..errors import InvalidValueError

__all__ = ["TIME_UNITS", "Seconds", "parse_seconds", "parse_time", "parse_rate", "as_step", "in_steps", "steps_to_seconds"]

#: Seconds per unit.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TIME = re.compile(rf"^\s*({_NUMBER})\s*({'|'.join(map(re.escape, TIME_UNITS))})\s*$")
_RATE = re.compile(rf"^\s*({_NUMBER})\s*(?:[A-Za-z]*\s*)?/\s*({'|'.join(map(re.escape, TIME_UNITS))})\s*$")


class Seconds(float):
    """A time given with a unit, in seconds: converted to steps only once ``step`` is known."""

    def __repr__(self):
        return f"Seconds({float(self):g})"


def _expected_time() -> str:
    return f"a number of steps or a string with a unit ({', '.join(TIME_UNITS)}), e.g. \"10 ms\""


def parse_seconds(key: str, text: str) -> Seconds:
    """``"10 ms"`` -> ``Seconds(0.01)``; anything else raises naming ``key``."""
    m = _TIME.match(text) if isinstance(text, str) else None
    if m is None:
        raise InvalidValueError(f"got {text!r}, expected {_expected_time()}", key=key)
    value = float(m.group(1)) * TIME_UNITS[m.group(2)]
    if not math.isfinite(value) or value < 0:
        raise InvalidValueError(f"got {text!r}, expected a finite time >= 0", key=key)
    return Seconds(value)


def parse_time(key: str, value, *, minimum: float = 0.0) -> float:
    """A time: a bare number (steps, returned as float) or a string with a unit (a :class:`Seconds`)."""
    if isinstance(value, str):
        return parse_seconds(key, value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(f"got {value!r} ({type(value).__name__}), expected {_expected_time()}", key=key)
    value = float(value)
    if not math.isfinite(value) or value < minimum:
        raise InvalidValueError(f"got {value:g}, expected a finite time >= {minimum:g}", key=key)
    return value


class PerSecond(float):
    """A rate given with a unit, per second (``"2e9/s"``)."""

    def __repr__(self):
        return f"PerSecond({float(self):g})"


def parse_rate(key: str, value):
    """A rate: a bare number (per step, may be ``inf``) or a string ``"<number>/<unit>"`` (a :class:`PerSecond`)."""
    if isinstance(value, str):
        m = _RATE.match(value)
        if m is None:
            raise InvalidValueError(f"got {value!r}, expected a number per step or a rate with a unit, "
                                    "e.g. \"2e9/s\"", key=key)
        rate = float(m.group(1)) / TIME_UNITS[m.group(2)]
        if not (rate > 0) or math.isnan(rate):
            raise InvalidValueError(f"got {value!r}, expected a rate > 0", key=key)
        return PerSecond(rate)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value <= 0:
        raise InvalidValueError(f"got {value!r}, expected a number > 0 (per step) or a rate with a unit", key=key)
    return float(value)


def as_step(value, key: str = "step") -> float | None:
    """Seconds per input step: None, a number of seconds > 0, or a string with a unit (``"10 ms"``)."""
    if value is None:
        return None
    seconds = float(parse_seconds(key, value)) if isinstance(value, str) else value
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not math.isfinite(seconds) \
            or seconds <= 0:
        raise InvalidValueError(f"got {value!r}, expected seconds per input step > 0 (a number or e.g. \"10 ms\")",
                                key=key)
    return float(seconds)


def in_steps(key: str, value, step: float | None) -> float:
    """A time or rate from :func:`parse_time` / :func:`parse_rate` in steps (per step): unit-less values pass."""
    if isinstance(value, (Seconds, PerSecond)):
        if step is None:
            raise InvalidValueError(f"got {_show(value)} with a unit, but no step is set; set step (seconds per "
                                    "input step, e.g. simulate(..., step=0.01) or [engine] step = \"10 ms\") or "
                                    "give a number of steps", key=key)
        return float(value) / step if isinstance(value, Seconds) else float(value) * step
    return float(value)


def steps_to_seconds(value, step: float | None):
    """A time in input steps as seconds (``step`` seconds per step); None (no value) passes, and so does every
    value when ``step`` is None (the time stays in steps)."""
    if value is None or step is None:
        return value
    return float(value) * step


def _show(value) -> str:
    return f"{float(value):g} s" if isinstance(value, Seconds) else f"{float(value):g}/s"
