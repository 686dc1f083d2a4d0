"""One reproduction job -> one record, and a process pool that runs many (results independent of its size)."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from tqdm.auto import tqdm

from ...errors import InvalidValueError
from ...model.baselines import MODEL_CLASSES
from ..execute import execute
from ..provenance import provenance
from ..scenario import parse_scenario
from ...train.loop import DivergenceError

__all__ = ["run_job", "run_jobs", "job_scenario", "DIVERGED_NMSE"]

#: A generation run whose NMSE exceeds this (10x worse than outputting the target's mean) has blown up:
#: it is counted as diverged and left out of the mean and standard deviation.
DIVERGED_NMSE = 10.0
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def job_scenario(job: dict) -> dict:
    """The scenario (parsed TOML) of a job: its model sized to the budget, its task and its training.

    The model is seeded by ``job["seed"]``, and so are the shuffling and input noise (``train.seed``); the
    initial state is held at zero (``train.freeze``). The trained model is simulated on one test sequence
    with the compiled engine and a constant-memory trace (the job's ``output`` comes from it); a job
    without ``"train"`` only scores the untrained model.
    """
    model = {"kind": job["model"], "budget": job["budget"], "rule": job["rule"], "seed": job["seed"]}
    if job["model"] == "cwrnn":
        model["periods"] = list(job["periods"])
    scenario = {"scenario": {"name": f"{job.get('experiment', 'job')}-{job['model']}-{job['budget']}",
                             "description": "a reproduction job"},
                "model": model, "task": dict(job["task"]), "input": {"batch": 1},
                "engine": {"name": "compiled"},
                "output": {"trace": "aggregate", "keep": "outputs" if job.get("keep_output") else "none"}}
    if "train" in job:
        scenario["train"] = dict(job["train"], learning_rate=job["learning_rate"], seed=job["seed"],
                                 freeze=list(MODEL_CLASSES[job["model"]].initial_state))
    return scenario


def run_job(job: dict) -> dict:
    """Train and score one job through :func:`clocksim.execute.execute`; the record adds ``value`` (NaN when
    diverged), ``diverged``, sizes, timings and the worker's ``provenance`` (:func:`clocksim.provenance.provenance`
    without the command)."""
    scenario = parse_scenario(job_scenario(job))
    record = dict(job, n_hidden=int(scenario.model.n), n_params=int(scenario.model.n_params), diverged=False)
    t0 = time.perf_counter()
    try:
        run = execute(scenario)
    except DivergenceError:
        record.update(value=float("nan"), diverged=True, epochs=None, best_loss=None)
    else:
        value = run.fit.metrics["value"]
        blown = not np.isfinite(value) or (scenario.task.metric == "nmse" and value > DIVERGED_NMSE)
        record.update(value=float("nan") if blown else float(value), diverged=bool(blown),
                      epochs=run.fit.metrics["epochs"], best_loss=run.fit.history.best_loss)
        if job.get("keep_output") and not blown:
            record["output"] = [round(float(v), 6) for v in _outputs(run)[0, :, 0]]
    record["seconds"] = time.perf_counter() - t0
    record["provenance"] = {k: v for k, v in provenance().items() if k != "command"}   # the worker's
    return record


def _outputs(run) -> np.ndarray:
    """The trained model's outputs on the run's input, (B, L, n_out): the executor's simulation, or for an
    LSTM (which is not simulated) its forward pass."""
    if not run.fit.model.simulated:
        return run.fit.model.forward(run.scenario.x)[0]
    y = run.result.y
    return y if run.scenario.batched else y[None]


def _pin_threads() -> None:
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"


def run_jobs(jobs: list[dict], workers: int = 1, progress: bool = True, desc: str = "jobs") -> list[dict]:
    """Run ``jobs`` in ``workers`` fresh processes (spawned, one BLAS/numba thread each); records in job order.

    Every job is computed the same way whatever ``workers`` is (each in a
    worker process with one thread), so the records only differ in their
    ``seconds``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidValueError(f"got {workers!r}, expected an integer >= 1", key="--jobs")
    if not jobs:
        return []
    saved = {var: os.environ.get(var) for var in THREAD_VARIABLES}
    _pin_threads()                         # inherited by the spawned workers before they import numpy
    try:
        records: list = [None] * len(jobs)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_pin_threads) as pool:
            futures = {pool.submit(run_job, job): i for i, job in enumerate(jobs)}
            with tqdm(total=len(jobs), desc=desc, unit="run", disable=None if progress else True,
                      leave=False) as bar:
                for future in as_completed(futures):
                    records[futures[future]] = future.result()
                    bar.update(1)
        return records
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
