"""What one trial computes (the function a worker runs): the scenario, through the one executor."""

from __future__ import annotations

import json
import time
from pathlib import Path

__all__ = ["run_trial", "journal_storage", "make_pruner", "proven_unschedulable"]


def run_trial(task: dict) -> dict:
    """Run one trial's scenario with :func:`clocksim.execute.execute`; never raises an ``Exception``.

    Parameters
    ----------
    task : dict
        ``id``, ``scenario`` (parsed TOML, paths absolute), ``path`` (the base scenario file)
        and ``prune`` (None, or ``storage``, ``study``, ``trial_id``, ``warmup``: report the
        validation loss after every epoch to that trial, and stop when the pruner says so);
        ``analysis`` (True: before running, prune the trial if :func:`clocksim.analyze` proves its
        schedule unschedulable, see :func:`proven_unschedulable`).

    Returns
    -------
    dict
        ``id``, ``status`` ("ok", "pruned" or "error"), ``error`` (one line), ``wall_time``
        and ``summary`` (the run's summary as JSON-safe data; None unless ok).
    """
    from ..execute import execute
    from ..scenario import parse_scenario
    from ..sweep.points import one_line_error

    t0 = time.perf_counter()
    row = {"id": task["id"], "status": "ok", "error": "", "summary": None}
    try:
        scenario = parse_scenario(task["scenario"], Path(task["path"]))
        reason = proven_unschedulable(scenario) if task.get("analysis") else ""
        if reason:
            row["status"], row["error"] = "pruned", f"proven unschedulable, not simulated: {reason}"
            row["wall_time"] = time.perf_counter() - t0
            return row
        on_epoch = _reporter(task["prune"]) if task.get("prune") else None
        run = execute(scenario, on_epoch=on_epoch)
        row["summary"] = json.loads(json.dumps(run.summary, default=_plain))
    except Exception as exc:          # a failing trial is a result, not the end of the search
        if type(exc).__name__ == "TrialPruned":
            row["status"], row["error"] = "pruned", str(exc)
        else:
            row["status"], row["error"] = "error", one_line_error(exc)
    row["wall_time"] = time.perf_counter() - t0
    return row


def proven_unschedulable(scenario) -> str:
    """Why the scenario's schedule can miss a deadline, as the analysis proves it (an exact bound over a
    module deadline or the latency deadline, or demand over the cores), or "" when it cannot prove one
    (schedulable, or only a sufficient test failed: such a trial is simulated)."""
    from ...sched.analyze import analyze

    options = scenario.engine_options
    if options.get("compute") is None:
        return ""
    result = analyze(scenario.model, options["compute"], deadline=options.get("deadline"), step=options.get("step"),
                     batch=scenario.x.shape[0])
    return result["proven_unschedulable"]


def _reporter(prune: dict):
    """``on_epoch`` that reports the validation loss to the trial and raises TrialPruned when it should stop."""
    import optuna

    study = optuna.load_study(study_name=prune["study"], storage=journal_storage(prune["storage"]),
                              pruner=make_pruner(prune["warmup"]))
    trial = optuna.trial.Trial(study, prune["trial_id"])

    def on_epoch(epoch: int, history) -> None:
        loss = history.val_loss[-1] if history.val_loss else history.train_loss[-1]
        trial.report(float(loss), epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} (validation loss {loss:.4g})")

    return on_epoch


def journal_storage(path):
    """Optuna's journal storage in the file ``path`` (appended, safe against a kill)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def make_pruner(warmup: int):
    """The median pruner: stop a trial whose loss at an epoch is worse than the median of earlier trials there."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
