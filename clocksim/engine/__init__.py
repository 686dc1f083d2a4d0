"""Engines run a :class:`~clocksim.ClockworkRNN` over inputs; pick one by name.

``ENGINES`` maps names to engine classes: adding an engine is one new class and
one entry here. Every engine obeys the same semantics (DESIGN sections 1-2) and
is tested against ``tests/reference.py`` and against the others.
"""

from __future__ import annotations

from .._validate import check_options, did_you_mean, keyword_names
from ..errors import InvalidValueError
from ..model.cwrnn import ClockworkRNN
from ..trace.tracers import tracer_class
from .base import CostMismatchError, Engine, Result, compile_notice
from .compiled import CompiledEngine
from .events import EventEngine
from .stream import Source, run_size

__all__ = ["simulate", "Result", "Engine", "ENGINES", "CostMismatchError"]

ENGINES: dict[str, type[Engine]] = {"compiled": CompiledEngine, "events": EventEngine}


def simulate(model: ClockworkRNN, x=None, engine: str | Engine = "compiled", *, n_steps: int | None = None,
             **options) -> Result:
    """Run ``model`` over an input sequence or batch.

    Parameters
    ----------
    model : ClockworkRNN
    x : array_like (L, n_in) / (B, L, n_in), np.memmap, iterator of chunks, optional
        Inputs; step ``start + s`` reads ``x[..., s, :]``. An array or memory-mapped
        file is read one chunk of steps at a time, never copied whole. An iterator
        yields chunks ``(c, n_in)`` or ``(B, c, n_in)`` (sizes may vary); the number of
        steps is then known only at its end, so ``keep="all"``/``"outputs"`` collect the
        chunks and join them, and the trace's ``n_steps`` and readouts are settled when
        the iterator is exhausted. May be omitted for a model with ``n_in = 0`` if
        ``n_steps`` is given.
    engine : {"compiled", "events"} or Engine
        Which engine runs the model. Both give the same ``y`` and ``h`` bit for bit
        on synchronous schedules.
    n_steps : int, optional
        Number of steps when ``x`` is omitted.
    **options
        Engine options (see each engine's class), e.g. ``latency=`` for the event engine.
        Every engine takes ``trace="full" | "aggregate"`` (one row per activation, or
        per-module totals in constant memory), ``keep="all" | "outputs" | "last" | "none"``
        and ``chunk=`` (steps per chunk; results do not depend on it).

    Returns
    -------
    Result
        ``trace`` and, as ``keep`` says: ``"all"`` (default) ``y`` (L, n_out) / (B, L, n_out)
        and ``h`` (L, n) / (B, L, n); ``"outputs"`` the same ``y`` and ``h=None``;
        ``"last"`` ``y`` (n_out,) / (B, n_out) and ``h`` (n,) / (B, n) of the final step only;
        ``"none"`` ``y = h = None``. With ``trace="aggregate"`` and ``keep="last"`` or
        ``"none"`` the memory of a run does not grow with its length.
    """
    source = Source(model, x, n_steps)
    if isinstance(engine, Engine):
        if options:
            raise InvalidValueError(f"got {sorted(options)} with an Engine instance; configure the instance",
                                    key="options")
        runner = engine
    else:
        if not isinstance(engine, str) or engine not in ENGINES:
            hint = did_you_mean(engine, ENGINES) if isinstance(engine, str) else ""
            raise InvalidValueError(f"got {engine!r}{hint}, expected one of {', '.join(map(repr, ENGINES))}",
                                    key="engine")
        check_options(options, ENGINES[engine].option_names(), where=f"simulate (engine {engine!r})",
                      suggest=keyword_names(simulate))
        runner = ENGINES[engine](**options)
    if source.L is not None:
        _check_size(model, source, runner)
    with compile_notice():
        return runner.run(model, source)


def _check_size(model: ClockworkRNN, source: Source, runner: Engine) -> None:
    """Refuse, before allocating, a run whose activations or held arrays exceed the limits (clocksim.limits)."""
    from ..limits import EVENTS_ENV, check_count, check_memory

    trace = tracer_class(runner.trace, runner.trace_dir).kind       # what the run holds ("aggregate" on disk)
    events, trace_bytes, arrays, _ = run_size(model, source.B, source.L, trace, runner.keep)
    check_count(events, "x", "activations the run would simulate", EVENTS_ENV)
    check_memory(trace_bytes + arrays, "keep" if arrays > trace_bytes and runner.keep != "all" else
                 ("trace" if trace_bytes > arrays else "x"),
                 f"the run of {source.L:,} steps (states and outputs kept: keep={runner.keep!r}; trace={trace!r})")
