"""Writes tests/data/legacy_compute.npz: event-engine runs with today's (round two) compute model.

Run once from a checkout of main before the real-time scheduling work (PYTHONPATH=<main>), so that
tests/test_sched.py can check that a non-preemptive compute model with today's keys and
``readout=False`` still gives these results bit for bit. Not imported by the suite.
"""
import sys
from pathlib import Path

import numpy as np

import clocksim as cs

CASES = [
    dict(periods=[1, 2, 4, 8], sizes=[3, 3, 2, 2], compute=dict(cores=1, throughput=60.0), deadline=0.5, latency=None),
    dict(periods=[1, 2, 4, 8], sizes=[3, 3, 2, 2], compute=dict(cores=2, throughput=80.0, overhead=0.1,
                                                                  priority="slowest-first"), deadline=None, latency=1.5),
    dict(periods=[1, 3, 5], sizes=[4, 2, 2], compute=dict(cores=1, throughput=50.0, priority="fifo"),
         deadline=1.0, latency=None),
    dict(periods=[1, 2, 3, 4, 6], sizes=[2, 2, 2, 2, 2], compute=dict(cores=2, throughput=30.0, overhead=0.05,
                                                                        priority=[3, 1, 0, 2, 4]), deadline=None, latency=None),
]


def run(case):
    model = cs.ClockworkRNN(2, 2, case["sizes"], case["periods"], seed=1)
    x = np.random.default_rng(0).normal(size=(40, 2))
    kw = dict(compute=cs.ComputeModel(**case["compute"]))
    if case["deadline"] is not None:
        kw["deadline"] = case["deadline"]
    if case["latency"] is not None:
        kw["latency"] = cs.LinkLatency(cs.Exponential(case["latency"]), seed=3)
    return cs.simulate(model, x, engine="events", **kw)


if __name__ == "__main__":
    out = {}
    for k, case in enumerate(CASES):
        res = run(case)
        a = res.trace.activations
        out[f"{k}_y"] = res.y
        out[f"{k}_h"] = res.h
        for f in ("module", "time", "start", "end", "core", "staleness"):
            out[f"{k}_act_{f}"] = a[f]
        out[f"{k}_latency"] = res.trace.readouts["latency"]
        out[f"{k}_msg_arrive"] = res.trace.messages["arrive"]
    np.savez(Path(sys.argv[1]), **out)
