"""Aligned vs staggered phases on 1 and 2 cores (issue 7): latency, deadline misses, output drift.

Eight modules of 16 units with periods 1..128 fire all together at every multiple of 128
when their phases are aligned. On a compute model whose cores are busy ~65% (one core) of the
time on average, that burst queues: outputs come late and miss a one-step deadline.
`stagger_phases` spreads the modules (weighted by their multiply-adds) so at most two run in
any step. Each asynchronous run is compared with the synchronous run of the same schedule
(RMS difference of the outputs): queueing makes modules read older states.

Run: python benchmarks/exp_staggering.py   (deterministic: no timing involved)
"""

import json

import numpy as np

import clocksim as cs

G, K, N_IN, N_OUT, L = 8, 16, 4, 2, 4096
UTILISATION = 0.65      # average load of ONE core
DEADLINE = 0.5          # an input must show in the output within half a step


def run(phases, cores, throughput, priority, x):
    clocks = [cs.Periodic(T, p) for T, p in zip(cs.exponential_periods(G), phases)]
    model = cs.ClockworkRNN(N_IN, N_OUT, [K] * G, clocks, seed=0)
    sync = cs.simulate(model, x, engine="compiled")
    compute = cs.ComputeModel(cores=cores, throughput=throughput, priority=priority)
    res = cs.simulate(model, x, engine="events", compute=compute, deadline=DEADLINE)
    s = res.trace.summary()
    act = res.trace.activations
    return {
        "latency_p50": s["latency"]["p50"], "latency_p99": s["latency"]["p99"], "latency_max": s["latency"]["max"],
        "deadline_misses": s["deadline_misses"], "readouts": int(res.trace.readouts.shape[0]),
        "max_queue_wait": float((act["start"] - act["time"]).max()),
        "rms_drift_vs_sync": float(np.sqrt(np.mean((res.y - sync.y) ** 2))),
        "rms_output": float(np.sqrt(np.mean(sync.y ** 2))),
    }


def main():
    periods = cs.exponential_periods(G)
    macs = cs.cost.activation_macs([K] * G, np.triu(np.ones((G, G), bool)), N_IN)
    avg = float(np.sum(macs / np.array(periods)))
    throughput = avg / UTILISATION
    staggered = cs.stagger_phases(periods, weights=macs)
    x = np.random.default_rng(0).normal(size=(L, N_IN))
    out = {"throughput_macs_per_step": throughput, "burst_steps_one_core": float(macs.sum() / throughput),
           "staggered_phases": staggered, "results": {}}
    for priority in ("fastest-first", "slowest-first"):
        for cores in (1, 2):
            for name, phases in (("aligned", [0] * G), ("staggered", staggered)):
                key = f"{name}, {cores} core{'s' if cores > 1 else ''}, {priority}"
                out["results"][key] = run(phases, cores, throughput, priority, x)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
