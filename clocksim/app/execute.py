"""Run a scenario end to end: the one path every caller takes.

:func:`execute` builds nothing new: it takes a validated :class:`~clocksim.scenario.Scenario`,
trains its model when the scenario has a ``[task]`` (and scores it on the task's test set),
simulates the model (the trained one if trained) on the scenario's input with its engine, and
summarises the trace. ``clocksim run`` (which then writes the folder), ``clocksim compare``,
sweep points and the Python API all call it, so they measure the same thing: callers differ in
what they do with the :class:`Run`, never in how it is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..engine import Result
from ..errors import InvalidTypeError, InvalidValueError
from .folders import check_signals
from .kinds import pipeline, simulate_scenario as _simulate  # noqa: F401  (the figures' tests import it)
from .scenario import Scenario, fingerprint
from ..train.tasks import Fit, fit

__all__ = ["Run", "execute"]


@dataclass
class Run:
    """What :func:`execute` returns.

    Attributes
    ----------
    scenario : Scenario
        The scenario as run (overrides applied).
    result : Result or None
        The engine's result (``y``, ``h``, ``trace``) of the simulated model: the trained
        one when the scenario has a ``[task]`` with a ``[train]`` table. Shaped as
        :func:`clocksim.simulate` shapes them: ``y`` (L, n_out) and ``h`` (L, n) for one sequence,
        (B, L, n_out) / (B, L, n) when the scenario's input is a batch (``input.batch`` set, a
        (B, L, n_in) input file, or a task's test set; :attr:`Scenario.batched`). None for an LSTM
        (``model.kind = "lstm"``), which is not a clocked model: it is trained and scored, never
        simulated, so it has no trace (:func:`clocksim.app.kinds.pipeline` says how each model kind runs).
    summary : dict
        ``result.trace.summary()`` plus ``"scenario"`` (its name) and, when the scenario has a
        ``[task]``, ``"accuracy"`` (:attr:`clocksim.tasks.Fit.metrics`): what ``summary.json`` holds.
        For an LSTM, in place of the trace's keys: ``"n_params"`` and ``"step_macs"`` (multiply-adds
        of one step, :func:`clocksim.cost.lstm_step_macs`).
    fit : clocksim.tasks.Fit or None
        The training and scoring, when the scenario has a ``[task]``.
    """

    scenario: Scenario
    result: Result | None
    summary: dict
    fit: Fit | None = None


def execute(scenario: Scenario, *, progress: bool = False, checkpoint=None, resume: bool = False,
            on_epoch=None) -> Run:
    """Run ``scenario``: train if it says so, simulate, summarise.

    Parameters
    ----------
    scenario : Scenario
        From :func:`clocksim.scenario.load_scenario` or ``parse_scenario``.
    progress : bool
        Show progress bars (training epochs, simulated steps) on a terminal.
    checkpoint : path, optional
        With ``[train]``: the training checkpoint, written every ``train.checkpoint_every``
        epochs and at the end. Nothing is written when None.
    resume : bool
        Continue the training from ``checkpoint`` (which must exist and belong to this
        scenario's ``[model]`` and ``[task]``: :func:`clocksim.scenario.fingerprint`).
    on_epoch : callable, optional
        ``on_epoch(epoch, history)`` after every training epoch (see :func:`clocksim.train`);
        an exception it raises stops the training and propagates (a search prunes trials so).

    Returns
    -------
    Run
    """
    if not isinstance(scenario, Scenario):
        raise InvalidTypeError(f"got {type(scenario).__name__}, expected a Scenario "
                               "(clocksim.scenario.load_scenario or parse_scenario)", key="scenario")
    if resume:
        if scenario.train is None:
            raise InvalidValueError("the scenario has no [train] table, so there is no training to resume",
                                    key="--resume")
        if checkpoint is None or not Path(checkpoint).is_file():
            raise InvalidValueError(f"{checkpoint} does not exist; run without --resume to start training",
                                    key="--resume")
    fitted = None
    if scenario.task is not None:
        def after_epoch(epoch, history):
            check_signals()                  # a SIGTERM swallowed while an epoch compiled still ends the training
            if on_epoch is not None:
                on_epoch(epoch, history)
        fitted = fit(scenario.model, scenario.task, scenario.train,
                     checkpoint=None if scenario.train is None else checkpoint,
                     resume=checkpoint if resume else None, checkpoint_every=scenario.checkpoint_every,
                     progress=None if progress else False, on_epoch=after_epoch,
                     fingerprint=None if checkpoint is None else fingerprint(scenario))
    model = scenario.model if fitted is None else fitted.model
    result, summary = pipeline(model).run(scenario, model, progress)     # simulated, or (an LSTM) only described
    summary["scenario"] = scenario.name
    if fitted is not None:
        summary["accuracy"] = fitted.metrics
    return Run(scenario, result, summary, fitted)

