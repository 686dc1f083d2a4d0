"""Sweeps: one base scenario, many points (a grid x random samples x seeds), run anywhere.

A sweep file is data, read with :mod:`tomllib` (never executed). It names a base
scenario and the scenario keys to vary, with the dotted key paths of
``clocksim run --set``. Every key of the file is declared once in
:data:`SWEEP_SCHEMA`; every mistake is a :class:`SweepError` whose one-line
message names the sweep file, the key, the value and what was expected.

Points. The points are the cartesian product of the ``[grid]`` values, crossed
with ``[random] samples`` seeded draws (the same draws for every grid point) and
with the replicate seeds (written into ``seed_keys``). A point is the base
scenario with its overrides applied: a pure function of that data. Its ``id``
is a short hash of the canonical JSON of the whole scenario it runs (base and
overrides, paths made absolute), so identical points share an id (and are
merged), and a re-run recognises the points it already finished.
Every point's scenario is validated when the sweep is loaded, before anything
runs.

A point is run exactly as ``clocksim run`` runs its scenario
(:func:`clocksim.execute.execute`: trained first when it has ``[task]`` and
``[train]``); its row holds the summary keys the sweep records
(:mod:`clocksim.sweep.points`).

Running (:func:`run_sweep`) happens in this process (``"serial"``) or through
``dask.distributed`` (an optional extra, see :mod:`clocksim.sweep.schedulers`): a local
cluster of processes or threads, or an existing scheduler's address. Rows are
appended to ``results.csv`` as points finish (:mod:`clocksim.sweep.results`); at the end
come ``results.parquet`` and the figures. The output folder is a growing results
store, not an atomic folder like ``clocksim run``'s: what finished before a crash
must survive it, so each file is written safely instead (whole, fsynced lines
for the CSV; temporary file and rename for the rest).
"""

from .points import run_point
from .results import ResultsError, ResultsLog
from .run import SweepResult, run_sweep, sweep_record
from .schedulers import SchedulerError, check_scheduler, execute
from .spec import SWEEP_SCHEMA, Point, Sweep, SweepError, load_sweep, parse_sweep, point_id

__all__ = ["Sweep", "Point", "SweepError", "SWEEP_SCHEMA", "load_sweep", "parse_sweep", "point_id",
           "run_sweep", "SweepResult", "sweep_record", "run_point",
           "ResultsLog", "ResultsError", "SchedulerError", "check_scheduler", "execute"]
