"""One reproduction job -> one record, and a process pool that runs many (results independent of its size)."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import lru_cache

import numpy as np
from tqdm.auto import tqdm

from ..baselines import model_for_budget, size_for_budget, split_units
from ..errors import InvalidValueError
from ..model import ClockworkRNN
from ..tasks import fit, make_task
from ..train import DivergenceError, TrainConfig

__all__ = ["run_job", "run_jobs", "build_model", "DIVERGED_NMSE"]

#: A generation run whose NMSE exceeds this (10x worse than outputting the target's mean) has blown up:
#: it is counted as diverged and left out of the mean and standard deviation.
DIVERGED_NMSE = 10.0
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@lru_cache(maxsize=16)
def _task(items: tuple):
    return make_task(**dict(items))


def build_model(job: dict, task):
    """The job's untrained model, sized to its parameter budget (seeded by ``job["seed"]``)."""
    kind, periods = job["model"], list(job["periods"])
    n = size_for_budget(kind, job["budget"], n_in=task.n_in, n_out=task.n_out, periods=periods, rule=job["rule"])
    if kind == "cwrnn" and job.get("schedule") not in (None, "exponential"):
        # same sizes (so the same parameters) as the exponential CW-RNN; only the periods differ
        return ClockworkRNN(task.n_in, task.n_out, split_units(n, len(periods)), periods, seed=job["seed"])
    return model_for_budget(kind, job["budget"], n_in=task.n_in, n_out=task.n_out, periods=periods,
                            rule=job["rule"], seed=job["seed"])


def predict(model, x: np.ndarray) -> np.ndarray:
    """Outputs of any trained model, shape (B, L, n_out)."""
    if isinstance(model, ClockworkRNN):
        from ..engine import simulate
        return simulate(model, x, engine="compiled").y
    return model.forward(x)[0]


def run_job(job: dict) -> dict:
    """Train and score one job; the record adds ``value`` (NaN when diverged), ``diverged``, sizes and timings."""
    task = _task(tuple(sorted(job["task"].items())))
    model = build_model(job, task)
    freeze = ("h0", "c0") if job["model"] == "lstm" else ("h0",)
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
            record["output"] = [round(float(v), 6) for v in predict(result.model, task.x_test)[0, :, 0]]
    record["seconds"] = time.perf_counter() - t0
    return record


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
