"""The event engine's preemptive scheduling against SimSo (a SimPy-based real-time scheduling simulator).

The same random task sets — integer periods and execution times, implicit deadlines, synchronous
release at 0, utilisation at most 1 — run in clocksim's event engine (each task a module of one unit:
``execution`` = C_i, ``readout=False``, one core, preemptive; ``priority="rate-monotonic"`` against
SimSo's ``RM_mono``, ``policy="edf"`` against ``EDF_mono``) and in SimSo 0.8 (which needs SimPy
2.3.1, so it runs in its own virtual environment, ``--simso``, default ``/work/peers/simso/bin/python``).

Compared: the worst response time per task over the jobs that finish by the horizon H (twice the
hyperperiod); up to H both simulators see the same releases, so those jobs must agree exactly. RM
sets draw distinct periods: with equal periods RM leaves the order open (clocksim: lower module index
first, always; SimSo's ``RM_mono``: whichever job entered its ready list first). EDF ties are broken
the same way in clocksim (equal absolute deadlines: lower module index) but by ready-list order in
SimSo; sets where that matters are reported as disagreements, with the tie named.

Run: python benchmarks/peer_simso.py [--sets 100] [--seed 0] [--simso PATH]
"""

import _common  # noqa: F401  (pins threads before numpy loads)

import argparse
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

import clocksim as cs
from clocksim.sched.policies import EarliestDeadlineFirst
from clocksim.sched.scheduler import run_task_set

SIMSO_SIDE = r'''
import json, sys
from simso.core import Model
from simso.configuration import Configuration

out = []
for spec in json.load(open(sys.argv[1])):
    c = Configuration()
    c.duration = spec["horizon"] * c.cycles_per_ms
    for i, (T, C) in enumerate(zip(spec["periods"], spec["wcets"])):
        c.add_task(name=f"T{i}", identifier=i + 1, period=T, activation_date=0, wcet=C, deadline=T,
                   abort_on_miss=False)          # clocksim never aborts a job past its deadline
    c.add_processor(name="CPU 1", identifier=1)
    c.scheduler_info.clas = spec["scheduler"]
    c.check_all()
    m = Model(c)
    m.run_model()
    worst = []
    for task in m.results.tasks:
        done = [j.response_time for j in task.jobs if j.end_date is not None]
        worst.append(max(done) if done else None)
    out.append(worst)
json.dump(out, sys.stdout)
'''


def task_sets(n: int, rng: np.random.Generator, distinct: bool):
    menu = [2, 3, 4, 5, 6, 8, 10, 12, 15, 20]
    sets = []
    while len(sets) < n:
        g = int(rng.integers(2, 6))
        periods = list(rng.choice(menu, size=g, replace=not distinct))
        wcets = [int(rng.integers(1, max(2, T // 2 + 1))) for T in periods]
        if sum(C / T for C, T in zip(wcets, periods)) <= 1.0:
            sets.append(([int(T) for T in periods], wcets))
    return sets


def clocksim_worst(periods, wcets, policy: str, horizon: int):
    model = cs.ClockworkRNN(1, 1, [1] * len(periods), periods, connectivity="dense", start=0)
    compute = cs.ComputeModel(cores=1, preemptive=True, policy=policy, priority="rate-monotonic",
                              execution=wcets, readout=False)
    jobs = cs.simulate(model, np.zeros((horizon, 1)), engine="events", compute=compute).trace.jobs
    worst = []
    for i in range(len(periods)):
        mine = jobs[(jobs["module"] == i) & (jobs["finish"] <= horizon)]
        worst.append(float((mine["finish"] - mine["release"]).max()) if mine.size else None)
    return worst



class _EDFOlderFirst(EarliestDeadlineFirst):
    """EDF with SimSo's tie rule as we read ``EDF_mono`` (``min`` over its ready list, which holds jobs in the
    order they were released): equal absolute deadlines go to the job released first, then the lower task."""

    def key(self, module, release, deadline):
        return (1, deadline, release, module)


def tie_explains(case, theirs) -> bool:
    """Whether the clocksim scheduler, with SimSo's EDF tie rule instead of its own, gives SimSo's worst responses."""
    periods, wcets, horizon = case["periods"], case["wcets"], case["horizon"]
    tasks = cs.ComputeModel(preemptive=True, policy="edf", execution=wcets, readout=False).task_set(
        cs.ClockworkRNN(1, 1, [1] * len(periods), periods, connectivity="dense", start=0))
    jobs = run_task_set(tasks, _EDFOlderFirst(tasks.g, tasks.ranks), horizon)
    worst = []
    for i in range(len(periods)):
        r = [j.finish - j.release for j in jobs if j.module == i and j.finish <= horizon]
        worst.append(max(r) if r else None)
    return all(abs(a - b) < 1e-9 for a, b in zip(worst, theirs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--simso", default="/work/peers/simso/bin/python")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = []
    for scheduler, policy, distinct in (("simso.schedulers.RM_mono", "fixed-priority", True),
                                        ("simso.schedulers.EDF_mono", "edf", False)):
        for periods, wcets in task_sets(args.sets, rng, distinct):
            horizon = 2 * math.lcm(*periods)
            cases.append({"scheduler": scheduler, "policy": policy, "periods": periods, "wcets": wcets,
                          "horizon": horizon})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cases, f)
    side = Path(f.name).with_suffix(".py")
    side.write_text(SIMSO_SIDE)
    try:
        peer = json.loads(subprocess.run([args.simso, str(side), f.name], check=True, capture_output=True,
                                         text=True).stdout)
    finally:
        os.unlink(f.name)
        side.unlink()
    results = {}
    disagreements = []
    for case, theirs in zip(cases, peer):
        ours = clocksim_worst(case["periods"], case["wcets"], case["policy"], case["horizon"])
        same = all((a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)
                   for a, b in zip(ours, theirs))
        r = results.setdefault(case["scheduler"].rsplit(".", 1)[1], {"sets": 0, "agree": 0})
        r["sets"] += 1
        r["agree"] += same
        if not same:
            disagreements.append({**case, "clocksim": ours, "simso": theirs,
                                  "explained_by_edf_tie_rule": case["policy"] == "edf" and tie_explains(case, theirs)})
    for r in results.values():
        r["disagree"] = r["sets"] - r["agree"]
    results["disagreements_explained_by_edf_tie_rule"] = sum(d["explained_by_edf_tie_rule"] for d in disagreements)
    _common.report("peer_simso", {"results": results, "disagreements": disagreements,
                                  "loadavg": os.getloadavg(), "seed": args.seed})


if __name__ == "__main__":
    main()
