"""The one scenario executor: train (with a ``[task]``), simulate, summarise.

TEMPORARY (branch i17): a stand-in with the interface of the executor being
written on another branch, built from the existing pieces
(:func:`clocksim.runner.simulate_scenario`, :func:`clocksim.tasks.fit`); it is
replaced by that one on merge. Callers depend only on :class:`Run` and
:func:`execute` as declared here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Run", "execute"]


@dataclass
class Run:
    """One executed scenario: its result, its summary and (with a ``[task]``) the fit."""

    scenario: object
    result: object
    summary: dict
    fit: "object | None"


def execute(scenario, *, progress=False, checkpoint=None, resume=False, on_epoch=None) -> Run:
    """Run ``scenario``: train and score its model when it has a ``[task]``, then simulate it.

    ``summary`` is ``trace.summary()`` plus ``scenario`` (the name) and, with a task,
    ``accuracy`` (the fit's metrics: ``value`` lower is better, ``metric``). ``on_epoch(epoch,
    history)`` is called after each training epoch; an exception it raises propagates.
    """
    from .runner import simulate_scenario
    from .tasks import fit

    fitted = None
    if scenario.task is not None:
        fitted = fit(scenario.model, scenario.task, scenario.train, checkpoint=checkpoint,
                     resume=checkpoint if resume else None, checkpoint_every=scenario.checkpoint_every,
                     progress=None if progress else False, on_epoch=on_epoch)
    res = simulate_scenario(scenario, progress, model=None if fitted is None else fitted.model)
    summary = res.trace.summary()
    summary["scenario"] = scenario.name
    if fitted is not None:
        summary["accuracy"] = fitted.metrics
    return Run(scenario, res, summary, fitted)
