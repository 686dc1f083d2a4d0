"""Engines run a :class:`~clocksim.ClockworkRNN` over inputs; pick one by name.

``ENGINES`` maps names to engine classes: adding an engine is one new class and
one entry here. Every engine obeys the same semantics (DESIGN sections 1-2) and
is tested against ``tests/reference.py`` and against the others.
"""

from __future__ import annotations

from ..errors import InvalidValueError
from ..model import ClockworkRNN
from .base import Engine, Result, prepare_input
from .compiled import CompiledEngine
from .events import EventEngine

__all__ = ["simulate", "Result", "Engine", "ENGINES"]

ENGINES: dict[str, type[Engine]] = {"compiled": CompiledEngine, "events": EventEngine}


def simulate(model: ClockworkRNN, x=None, engine: str | Engine = "compiled", *, n_steps: int | None = None,
             **options) -> Result:
    """Run ``model`` over an input sequence or batch.

    Parameters
    ----------
    model : ClockworkRNN
    x : array_like, shape (L, n_in) or (B, L, n_in), optional
        Inputs; step ``start + s`` reads ``x[..., s, :]``. May be omitted for a
        model with ``n_in = 0`` if ``n_steps`` is given.
    engine : {"compiled", "events"} or Engine
        Which engine runs the model. Both give the same ``y`` and ``h`` bit for bit
        on synchronous schedules.
    n_steps : int, optional
        Number of steps when ``x`` is omitted.
    **options
        Engine options (see each engine's class), e.g. ``latency=`` for the event engine.

    Returns
    -------
    Result
        ``y`` (L, n_out) / (B, L, n_out), ``h`` (L, n) / (B, L, n) and ``trace``.
    """
    X, batched = prepare_input(model, x, n_steps)
    if isinstance(engine, Engine):
        if options:
            raise InvalidValueError(f"got {sorted(options)} with an Engine instance; configure the instance",
                                    key="options")
        runner = engine
    else:
        if not isinstance(engine, str) or engine not in ENGINES:
            raise InvalidValueError(f"got {engine!r}, expected one of {', '.join(map(repr, ENGINES))}", key="engine")
        runner = ENGINES[engine](**options)
    return runner.run(model, X, batched)
