"""Reproduction jobs run as scenarios through the one executor (clocksim.execute): their records are identical,
bit for bit, to the private path the reproduction had before (kept here only, as the slow twin)."""

import time

import numpy as np
import pytest

from clocksim.model.baselines import model_for_budget, size_for_budget, split_units
from clocksim.engine import simulate
from clocksim.model.cwrnn import ClockworkRNN
from clocksim.app.reproduce.plan import EXPERIMENTS, QUICK, _job
from clocksim.app.reproduce.worker import DIVERGED_NMSE, run_job
from clocksim.train.tasks import fit, make_task
from clocksim.train.loop import DivergenceError, TrainConfig

VOLATILE = ("seconds", "provenance")


def old_run_job(job: dict) -> dict:
    """The reproduction's own path before the executor: build the model, call tasks.fit, predict."""
    task = make_task(**job["task"])
    kind, periods = job["model"], list(job["periods"])
    n = size_for_budget(kind, job["budget"], n_in=task.n_in, n_out=task.n_out, periods=periods, rule=job["rule"])
    if kind == "cwrnn" and job.get("schedule") not in (None, "exponential"):
        model = ClockworkRNN(task.n_in, task.n_out, split_units(n, len(periods)), periods, seed=job["seed"])
    else:
        model = model_for_budget(kind, job["budget"], n_in=task.n_in, n_out=task.n_out, periods=periods,
                                 rule=job["rule"], seed=job["seed"])
    freeze = ("h0", "c0") if kind == "lstm" else ("h0",)
    config = TrainConfig(loss=task.loss, learning_rate=job["learning_rate"], seed=job["seed"], freeze=freeze,
                         **job["train"])
    record = dict(job, n_hidden=int(model.n), n_params=int(model.n_params), diverged=False)
    t0 = time.perf_counter()
    try:
        result = fit(model, task, config)
    except DivergenceError:
        record.update(value=float("nan"), diverged=True, epochs=None, best_loss=None)
    else:
        value = result.metrics["value"]
        blown = not np.isfinite(value) or (task.metric == "nmse" and value > DIVERGED_NMSE)
        record.update(value=float("nan") if blown else float(value), diverged=bool(blown),
                      epochs=result.metrics["epochs"], best_loss=result.history.best_loss)
        if job.get("keep_output") and not blown:
            y = (simulate(result.model, task.x_test, engine="compiled").y if isinstance(result.model, ClockworkRNN)
                 else result.model.forward(task.x_test)[0])
            record["output"] = [round(float(v), 6) for v in y[0, :, 0]]
    record["seconds"] = time.perf_counter() - t0
    return record


def small(experiment, model, *, epochs, lr=0.03, budget=None, schedule=None, periods=None, keep=False, seed=3,
          piece=None):
    spec = EXPERIMENTS[experiment]
    settings = QUICK.__class__(**{**QUICK.__dict__, "generation_epochs": epochs, "classification_epochs": epochs})
    job = _job(experiment, "main", model, budget or spec["budgets"][0], lr, seed, settings,
               piece=piece if piece is not None else (0 if spec["task"]["kind"] == "generation" else None),
               periods=periods, schedule=schedule)
    if keep:
        job["keep_output"] = True
    return job


JOBS = [
    small("generation", "rnn", epochs=8, keep=True),
    small("generation", "lstm", epochs=8, keep=True, piece=2),
    small("generation", "cwrnn", epochs=8, keep=True, budget=250),
    small("generation_adam", "lstm", epochs=5, lr=0.01),
    small("generation", "rnn", epochs=6, lr=50.0),                      # blows up: counted as diverged
    small("synthetic_words", "rnn", epochs=2),
    small("synthetic_words", "lstm", epochs=2),
    small("synthetic_words", "cwrnn", epochs=2),
    small("synthetic_words", "cwrnn", epochs=2, schedule="fibonacci", periods=(1, 2, 3, 5, 8, 13, 21)),
    small("synthetic_words", "cwrnn", epochs=2, schedule="exponential, front padding"),
    small("japanese_vowels", "cwrnn", epochs=1),
]


def _same(a, b) -> bool:
    """Equal, NaN included (a diverged run's value)."""
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def _id(job) -> str:
    return f"{job['experiment']}-{job['model']}-{job['schedule']}-lr{job['learning_rate']}"


@pytest.mark.parametrize("job", JOBS, ids=_id)
def test_a_job_through_the_executor_gives_the_old_record_exactly(job):
    new, old = run_job(job), old_run_job(job)
    assert set(new) - set(VOLATILE) == set(old) - {"seconds"}
    for key in old:
        if key not in VOLATILE:
            assert _same(new[key], old[key]), (key, new[key], old[key])
    assert ("output" in new) == (bool(job.get("keep_output")) and not new["diverged"])
    assert new["diverged"] == (job["learning_rate"] == 50.0)          # the one job meant to blow up does
