"""Job records and the metrics derived from them, in one place (DESIGN section 10).

The scheduler only decides; the engine records every job (:data:`JOB_DTYPE`) and every stretch of
time a job held a core (:data:`SEGMENT_DTYPE`: a preempted job has several). Response times,
preemptions, migrations, deadline misses and utilisation are computed here, after the run, from those
records — the simulation and the analysis report the same quantity by the same name.
"""

from __future__ import annotations

import numpy as np

__all__ = ["JOB_DTYPE", "SEGMENT_DTYPE", "job_records", "schedule_summary", "response_stats"]

#: One row per job: ``module`` (g for the readout), the input ``sample`` it latched (or reads out),
#: release, absolute deadline, first start, finish, work (execution time at speed 1), preemptions,
#: migrations and the core it finished on.
JOB_DTYPE = np.dtype([("module", "<i2"), ("sample", "<i8"), ("release", "<f8"), ("deadline", "<f8"),
                      ("start", "<f8"), ("finish", "<f8"), ("work", "<f8"), ("preemptions", "<i4"),
                      ("migrations", "<i4"), ("core", "<i2")])
#: One row per stretch of a job on a core: ``overhead`` is the part of it spent on the context switch and
#: migration charged at its start.
SEGMENT_DTYPE = np.dtype([("job", "<i8"), ("module", "<i2"), ("core", "<i2"), ("start", "<f8"), ("end", "<f8"),
                          ("overhead", "<f8")])


def job_records(jobs) -> tuple[np.ndarray, np.ndarray]:
    """Records of finished :class:`~clocksim.sched.scheduler.Job` objects, ordered by (release, module)."""
    rec = np.array([(j.module, j.sample, j.release, j.deadline, j.start, j.finish, j.work, j.preemptions,
                     j.migrations, j.last_core) for j in jobs], dtype=JOB_DTYPE)
    order = np.lexsort((rec["sample"], rec["module"], rec["release"]))      # stable, as sorted() by that key
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    segs = np.array([(k, j.module, c, a, b, o) for k, j in enumerate(jobs) for c, a, b, o in j.segments],
                    dtype=SEGMENT_DTYPE)
    if segs.size:
        segs["job"] = rank[segs["job"]]
        segs = segs[np.argsort(segs["job"], kind="stable")]
    return rec[order], segs


def response_stats(values: np.ndarray) -> dict:
    """``{p50, p99, max, n}`` of response times (None without any)."""
    values = values[np.isfinite(values)]
    if not values.size:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "max": float(values.max()), "n": int(values.size)}


def schedule_summary(jobs: np.ndarray, segments: np.ndarray, g: int, cores: int, span: float,
                     demand: float) -> dict:
    """Run-wide and per-module scheduling metrics from the records.

    ``span`` is the length of the run (model time) the busy fractions are over; ``demand`` the task
    set's sum of C_i / T_i. Returns ``{"per_module": [...], "readout": {...} or None, "preemptions",
    "migrations", "utilisation": {"total", "per_core", "demand"}}``; a deadline miss is
    ``finish > deadline``.
    """
    response = jobs["finish"] - jobs["release"]
    per_module = []
    for i in range(g + 1):
        mine = jobs["module"] == i
        if i == g and not mine.any():
            continue
        per_module.append({"response": response_stats(response[mine]),
                           "preemptions": int(jobs["preemptions"][mine].sum()),
                           "migrations": int(jobs["migrations"][mine].sum()),
                           "deadline_misses": int(np.count_nonzero(jobs["finish"][mine] > jobs["deadline"][mine]))})
    busy = np.bincount(segments["core"].astype(np.intp), weights=segments["end"] - segments["start"],
                       minlength=cores)[:cores] if segments.size else np.zeros(cores)
    per_core = (busy / span).tolist() if span > 0 else [0.0] * cores
    return {"per_module": per_module[:g], "readout": per_module[g] if len(per_module) > g else None,
            "preemptions": int(jobs["preemptions"].sum()), "migrations": int(jobs["migrations"].sum()),
            "utilisation": {"total": float(np.mean(per_core)) if cores else 0.0, "per_core": per_core,
                            "demand": float(demand)}}
