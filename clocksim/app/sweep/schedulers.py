"""Where the points of a sweep run: in this process, or on ``dask.distributed`` workers.

:func:`execute` takes the points' tasks (plain data, see
:func:`clocksim.sweep.points.run_point`) and yields one results row per point *as
points finish*, in whatever order they finish:

- ``"serial"``: one after the other in this process (no dask needed);
- ``"processes"`` (the default of ``clocksim sweep``): a local
  ``dask.distributed.LocalCluster`` of single-threaded worker processes, one per
  core available to this process unless ``workers`` says otherwise;
- ``"threads"``: a local cluster of one process with ``workers`` threads (the
  simulation holds the GIL, so this is for debugging rather than speed);
- ``"tcp://HOST:PORT"`` (any ``SCHEME://...`` address): the points go to a running
  dask scheduler, whose workers must have the same clocksim version installed and
  see the files the scenarios name (checked before submitting: see ``docs/sweeps.md``);
- a ``distributed.Client`` you already hold (Python API only).

Identity. Each point is submitted under the key ``clocksim-point-<id>``, where the
id hashes the point's whole scenario: identical points are one task
(``Client.map`` would otherwise derive keys from the arguments, ``pure=True``),
and distinct points never collide, even beside other sweeps on a shared cluster.
A point whose worker dies (or that cannot be run at all) comes back as an error
row; leaving early (an exception, Ctrl-C) cancels the points not yet finished.

``dask[distributed]`` is an optional extra (``pip install 'clocksim[sweep]'``);
without it only ``"serial"`` works, and asking for another scheduler says so.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ...errors import InvalidValueError
from .points import one_line_error, run_point

__all__ = ["execute", "check_scheduler", "default_workers", "SCHEDULERS", "SchedulerError"]

#: Scheduler names; anything of the form SCHEME://HOST:PORT is the address of a running dask scheduler.
SCHEDULERS = ("processes", "threads", "serial")
ADDRESS = re.compile(r"^[a-z][a-z0-9+]*://\S+$")
EXTRA = "pip install 'clocksim[sweep]'"


class SchedulerError(InvalidValueError):
    """A scheduler cannot be used: unknown name, dask missing, unreachable address, mismatched workers."""


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:     # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_scheduler(scheduler, workers: int | None = None, *, installed: bool = True) -> None:
    """Raise :class:`SchedulerError` unless ``scheduler`` (and ``workers``) can be used here.

    ``installed=False`` checks the names only, not that dask.distributed is installed
    (``clocksim sweep --dry-run`` runs nothing, so it does not need Dask).
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SchedulerError(f"got {workers!r}, expected an integer >= 1", key="--workers")
    if not isinstance(scheduler, str):
        if type(scheduler).__name__ != "Client":
            raise SchedulerError(f"got {type(scheduler).__name__}, expected a scheduler name, an address "
                                 "or a distributed.Client", key="scheduler")
        return
    address = ADDRESS.match(scheduler) is not None
    if scheduler not in SCHEDULERS and not address:
        raise SchedulerError(f"got {scheduler!r}, expected {', '.join(SCHEDULERS)} or the address of a "
                             "dask scheduler like tcp://HOST:8786", key="--scheduler")
    if address and workers is not None:
        raise SchedulerError(f"got {workers} with --scheduler {scheduler}, expected no --workers (the "
                             "cluster's workers are started with `dask worker`)", key="--workers")
    if scheduler != "serial" and installed:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise SchedulerError(f"--scheduler {scheduler}: needs dask.distributed, which is not installed; "
                                 f"install the extra ({EXTRA}) or pass --scheduler serial") from None


def execute(tasks: list[dict], scheduler="processes", workers: int | None = None, fn=run_point) -> Iterator[dict]:
    """Run ``tasks``; yield each one's row as it finishes.

    ``fn(task) -> row`` computes one task (default :func:`~clocksim.sweep.points.run_point`; a search
    trial is :func:`clocksim.search.trial.run_trial`): an importable function of plain data, with an
    ``id`` in both task and row, that turns its own failures into rows.
    """
    check_scheduler(scheduler, workers)
    if not tasks:
        return
    if scheduler == "serial":
        for task in tasks:
            yield fn(task)
        return
    with _client(scheduler, workers) as client:
        yield from _rows(client, tasks, fn)


def _rows(client, tasks: list[dict], fn) -> Iterator[dict]:
    from distributed import as_completed

    futures = client.map(fn, tasks, key=[f"clocksim-point-{t['id']}" for t in tasks])
    ids = {f.key: t["id"] for f, t in zip(futures, tasks)}
    try:
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:        # the worker died, or the task never ran
                row = {"id": ids[future.key], "status": "error", "error": one_line_error(exc), "wall_time": None}
            future.release()
            yield row
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)


@contextmanager
def _client(scheduler, workers: int | None):
    import dask
    from distributed import Client, LocalCluster

    if not isinstance(scheduler, str):          # a Client the caller holds (and closes)
        yield scheduler
        return
    if scheduler in ("processes", "threads"):
        processes = scheduler == "processes"
        n = workers or default_workers()
        # dashboard_address=":0": the scheduler's HTTP endpoint on a free port (8787 may be taken).
        # Dask starts worker processes with MALLOC_TRIM_THRESHOLD_=65536 (memory back to the OS early, for
        # long-lived workers holding large data); a point allocates many small arrays, and with it they ran
        # 15% slower here: leave glibc's adaptive default. BLAS stays at one thread per worker.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(n_workers=n if processes else 1, threads_per_worker=1 if processes else n,
                                   processes=processes, dashboard_address=":0", silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"--scheduler {scheduler}: cannot connect ({one_line_error(exc)}); is "
                             "`dask scheduler` running there, and is the port reachable?") from None
    with client:
        _check_workers(client, scheduler)
        yield client


def _check_workers(client, scheduler: str) -> None:
    """Every connected worker must import the same clocksim version as this process."""
    from ... import __version__

    try:
        versions = client.run(_clocksim_version)
    except Exception as exc:
        raise SchedulerError(f"--scheduler {scheduler}: a worker cannot import clocksim ({one_line_error(exc)}); "
                             "install the same clocksim version on every worker") from None
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        worker, version = next(iter(wrong.items()))
        raise SchedulerError(f"--scheduler {scheduler}: worker {worker} runs clocksim {version}, expected "
                             f"{__version__} (the version here); install the same version on every worker")


def _clocksim_version() -> str:
    from ... import __version__
    return __version__
