"""How the pipeline runs, summarises and reports each model kind: one interface, one registry.

:func:`clocksim.execute.execute`, ``clocksim run``'s folder and report, the command line's one-line
summary, ``clocksim compare`` and a sweep's default metrics all ask :func:`pipeline` of the model
(its :attr:`~clocksim.model.kind.ModelKind.kind`) instead of branching on its class:

- :class:`Simulated` (every Clockwork RNN, the simple RNN included): an engine simulates it; the
  trace's summary is the run's, the folder holds the trace files and figures;
- :class:`Untraced` (the LSTM): trained and scored on a task, never simulated; its summary holds
  ``n_params`` and ``step_macs`` only.

A new model kind is one class in :mod:`clocksim.model` (with the attributes of
:class:`~clocksim.model.kind.ModelKind`) plus one entry in :data:`PIPELINES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..cost import lstm_step_macs
from ..engine import Result, simulate
from ..errors import InvalidValueError
from ..plot import _format as fmt

__all__ = ["Simulated", "Untraced", "PIPELINES", "pipeline", "simulate_scenario"]


def simulate_scenario(scenario, model, progress: bool) -> Result:
    """Run ``model`` on the scenario's input with its engine; a progress bar on a terminal."""
    options = dict(scenario.engine_options, trace=scenario.output["trace"], keep=scenario.output["keep"])
    L = scenario.x.shape[1]
    with tqdm(total=L, unit="step", desc=scenario.name, disable=None if progress else True, leave=False) as bar:
        if scenario.engine == "events":
            options["progress"] = bar.update
        res = simulate(model, scenario.x, engine=scenario.engine, **options)
        bar.update(L - bar.n)
    if not scenario.batched:              # one sequence: y (L, n_out), h (L, n), as simulate gives for (L, n_in)
        res.y = None if res.y is None else res.y[0]
        res.h = None if res.h is None else res.h[0]
    return res


class Simulated:
    """A clocked model: an engine simulates it on the scenario's input and its trace is summarised."""

    simulated = True

    def run(self, scenario, model, progress: bool) -> tuple[Result, dict]:
        """Simulate ``model`` on the scenario's input with its engine; the result and its summary."""
        res = simulate_scenario(scenario, model, progress)
        return res, res.trace.summary()

    def write(self, folder: Path, scenario, run) -> str:
        """Write the trace files and figures of ``run`` into ``folder``; the report's text."""
        from .outputs import write_traced                  # outputs imports execute, which imports this
        return write_traced(folder, scenario, run)

    def line(self, name: str, summary: dict) -> str:
        """The command line's one-line account of the run."""
        return (f"{name}: {fmt.count(summary['activations'])} activations, "
                f"{fmt.count(summary['macs'])} multiply-adds, {fmt.value(summary['speedup_vs_dense'])}x fewer "
                f"than a dense RNN; {fmt.count(summary['inputs_dropped'])} of {fmt.count(summary['inputs'])} "
                "inputs dropped")

    def cost_phrase(self, summary: dict, batch: int, steps: int) -> str:
        """What scoring cost, after "at a cost of " in the report's accuracy section."""
        per_sequence = summary["macs"] // max(batch, 1) if summary.get("count_basis") == "per batch" \
            else summary["macs"]
        return (f"{fmt.count(per_sequence)} multiply-adds per simulated sequence "
                f"({fmt.value(summary['speedup_vs_dense'])}x fewer than a dense RNN of the same size).")

    def present(self, scenario) -> set[str]:
        """When-categories (:data:`clocksim.trace.summary.WHEN`) of the trace's keys this run's summary has."""
        compute = scenario.engine_options.get("compute")
        return ({"always"} | ({"timing"} if scenario.timing_model else set())
                | ({"schedule"} if compute is not None and not compute.legacy else set())
                | ({"device"} if compute is not None and compute.device is not None else set()))


@dataclass(frozen=True)
class Untraced:
    """A model trained and scored on a task but never simulated: no trace, no figure.

    ``noun`` names it in reports ("an LSTM"); ``step_macs(model)`` is its multiply-adds of one step.
    """

    noun: str
    step_macs: Callable
    simulated = False

    def run(self, scenario, model, progress: bool) -> tuple[None, dict]:
        """No simulation: the summary says what the model is and what one step costs."""
        return None, {"n_params": int(model.n_params), "step_macs": self.step_macs(model)}

    def write(self, folder: Path, scenario, run) -> str:
        """Nothing to write beside the summary: the report's text."""
        from .outputs import untraced_report
        return untraced_report(scenario, run.summary)

    def line(self, name: str, summary: dict) -> str:
        return (f"{name}: {self.noun} of {fmt.count(summary['n_params'])} parameters, "
                f"{fmt.count(summary['step_macs'])} multiply-adds per step (not simulated: no trace)")

    def cost_phrase(self, summary: dict, batch: int, steps: int) -> str:
        return f"{fmt.count(summary['step_macs'] * steps)} multiply-adds per sequence of {fmt.count(steps)} steps."

    def present(self, scenario) -> set[str]:
        return {"untraced"}


#: ``model.kind`` -> how the pipeline runs a model of that kind.
PIPELINES = {
    "cwrnn": Simulated(),
    "lstm": Untraced("an LSTM", lambda model: lstm_step_macs(model.n, model.n_in, model.n_out)),
}


def pipeline(model) -> Simulated | Untraced:
    """The pipeline of ``model``'s kind (:data:`PIPELINES`)."""
    kind = getattr(model, "kind", None)
    if kind not in PIPELINES:
        raise InvalidValueError(f"got a {type(model).__name__} of kind {kind!r}, expected a model whose kind is one "
                                f"of {sorted(PIPELINES)}", key="model")
    return PIPELINES[kind]
