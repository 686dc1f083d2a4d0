"""How much a request may ask for: estimates checked *before* anything is allocated.

A scenario with ``input.steps = 1e12``, a model of a million units or an ``.npz``
whose header declares a huge shape would otherwise run for seconds and then
fail inside numpy. Instead the size is estimated from the request and refused
at once with a :class:`~clocksim.errors.ResourceLimitError` that gives the
estimate, the key that drives it and the limit.

Limits (environment variables raise or lower them):

``CLOCKSIM_MAX_MEMORY``
    bytes one run, file or sweep may hold (suffixes k, M, G, T accepted, e.g. ``64G``);
    default: the memory available now (``MemAvailable`` in ``/proc/meminfo``;
    4 GiB where that cannot be read).
``CLOCKSIM_MAX_EVENTS``
    activations one run may simulate; default 10**9.
``CLOCKSIM_MAX_POINTS``
    points one sweep may hold; default 10**5.
"""

from __future__ import annotations

import os
import re

from .errors import ResourceLimitError

__all__ = ["MEMORY_ENV", "EVENTS_ENV", "POINTS_ENV", "memory_limit", "check_memory", "check_count",
           "format_bytes"]

MEMORY_ENV = "CLOCKSIM_MAX_MEMORY"
EVENTS_ENV = "CLOCKSIM_MAX_EVENTS"
POINTS_ENV = "CLOCKSIM_MAX_POINTS"
DEFAULTS = {EVENTS_ENV: 10**9, POINTS_ENV: 10**5}
_FALLBACK_MEMORY = 4 * 2**30
_SUFFIX = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def format_bytes(n: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def _setting(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgtKMGT]?)[bB]?", text)
    if not m:
        raise ResourceLimitError(key=name, value=text, expected="a number of bytes such as 8000000000 or 8G")
    return int(float(m.group(1)) * _SUFFIX[m.group(2).lower()])


def memory_limit() -> tuple[int, str]:
    """``(bytes, where the number comes from)``."""
    set_ = _setting(MEMORY_ENV)
    if set_ is not None:
        return set_, f"{MEMORY_ENV}={os.environ[MEMORY_ENV].strip()}"
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "the memory available now (MemAvailable)"
    except (OSError, ValueError, IndexError):
        pass
    return _FALLBACK_MEMORY, "a default of 4 GB (no /proc/meminfo)"


def check_memory(nbytes: float, key: str, what: str) -> None:
    """Refuse a request estimated to need ``nbytes`` for ``what`` when that exceeds the memory limit;
    ``key`` is the argument or scenario key that drives the size."""
    limit, source = memory_limit()
    if nbytes > limit:
        raise ResourceLimitError(
            f"{what} would need about {format_bytes(nbytes)}, more than the limit of {format_bytes(limit)} "
            f"({source}); make it smaller, or set {MEMORY_ENV} to raise the limit", key=key)


def check_count(count: float, key: str, what: str, env: str) -> None:
    """Refuse ``count`` things (activations, sweep points) above the limit set by ``env``."""
    limit = _setting(env)
    limit = DEFAULTS[env] if limit is None else limit
    if count > limit:
        raise ResourceLimitError(f"{what}: about {count:.3g}, more than the limit of {limit:.3g}; make it "
                                 f"smaller, or set {env} to raise the limit", key=key)
