"""The event engine with a preemptive compute model vs today's non-preemptive one, same runs (issue 27).

The event runs of ``bench_events.py`` (2 units per module, periods 1..128 for 8 modules; and 32
modules, periods 1..128 repeated) on 2 cores whose throughput keeps them about 60 % busy, so jobs
queue and preempt. Contenders, interleaved in one run:

- ``non_preemptive``: round two's keys and ``readout=False`` (the pool of cores on a SimPy
  ``PriorityResource``; results bit for bit as before);
- ``preemptive``: the same keys with ``preemptive=True`` (the scheduler of ``clocksim.sched``);
- ``preemptive_readout``: and the readout as a job (the default), one more job per step.

Target: ``preemptive`` within 1.5x of ``non_preemptive``. Prints ``os.getloadavg()``: on a shared
machine the ratio, not the seconds, is the figure.

Run: python benchmarks/bench_sched.py
"""

import _common  # noqa: F401  (pins threads before numpy loads)
import os

import numpy as np

import clocksim as cs


def measure(G: int, L: int, periods) -> dict:
    model = cs.ClockworkRNN(1, 1, [2] * G, periods, seed=0)
    X = np.random.default_rng(0).normal(size=(L, 1))
    macs = cs.cost.activation_macs(model.module_sizes, model.block_mask, model.n_in)
    demand = float(sum(m / T for m, T in zip(macs, periods)))
    throughput = demand / (2 * 0.6)                       # 2 cores, 60 % busy
    models = {
        "non_preemptive": cs.ComputeModel(cores=2, throughput=throughput, readout=False),
        "preemptive": cs.ComputeModel(cores=2, throughput=throughput, readout=False, preemptive=True),
        "preemptive_readout": cs.ComputeModel(cores=2, throughput=throughput, preemptive=True),
    }
    runs = {name: cs.simulate(model, X, engine="events", compute=c) for name, c in models.items()}
    pre = runs["preemptive"].trace.summary()["preemptions"]
    times = _common.time_interleaved({name: (lambda c=c: cs.simulate(model, X, engine="events", compute=c))
                                      for name, c in models.items()}, repeats=5)
    return {"modules": G, "steps": L, "activations": len(runs["preemptive"].trace), "preemptions": pre,
            "seconds": {k: v["median"] for k, v in times.items()},
            "ratio_preemptive_vs_non_preemptive": _common.ratio(times, "preemptive", "non_preemptive"),
            "ratio_preemptive_readout_vs_non_preemptive": _common.ratio(times, "preemptive_readout", "non_preemptive")}


def main():
    load_before = os.getloadavg()
    runs = [measure(8, 20000, cs.exponential_periods(8)),
            measure(32, 5000, sorted(2 ** (i % 8) for i in range(32)))]
    worst = max(r["ratio_preemptive_vs_non_preemptive"]["median"] for r in runs)
    _common.report("sched_overhead", {"runs": runs, "required": 1.5, "worst_ratio_median": worst,
                                      "meets_target": worst <= 1.5, "loadavg_before": load_before,
                                      "loadavg_after": os.getloadavg()})


if __name__ == "__main__":
    main()
