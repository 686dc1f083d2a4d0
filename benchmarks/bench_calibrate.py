"""Does a calibrated ``host`` profile predict a real run? (issue 29; target: within 25 %.)

1. ``clocksim calibrate`` (:func:`clocksim.app.calibrate.calibrate`) measures this machine's activation
   kernel and fits the ``host`` profile, in this run, pinned to one core.
2. For three models, the prediction is the sum over the schedule's activations of the profile's
   execution time of its module (``Device.execution_times``: ``dispatch_s + max(macs / macs_per_s,
   bytes / bytes_per_s)``), i.e. the busy time a one-core simulation with ``device = host`` charges.
3. The real run: the compiled kernels execute the same jobs (the same activity mask) in the simulated
   order (step by step, fastest module first), one thread, pinned to the same core
   (``os.sched_setaffinity``); CPU time of the process (``time.process_time``), the fastest of several runs.

Prints ``predicted / measured`` per model and the load average (the machine is shared, so the figures
are noisy; both sides are CPU time of this process, measured in this run).

    python benchmarks/bench_calibrate.py [--quick]
"""

import _common  # noqa: F401  (one thread: must come before numpy)

import os
import sys
import time

import numpy as np

import clocksim as cs
from clocksim.app.calibrate import calibrate

MODELS = {
    "g=4 x 32, T=1..8, n_in=16": dict(n_in=16, n_out=4, sizes=[32] * 4, periods=[1, 2, 4, 8], L=8192),
    "g=8 x 64, T=1..128, n_in=32": dict(n_in=32, n_out=8, sizes=[64] * 8, periods=cs.exponential_periods(8), L=4096),
    "g=3 x 256, T=1,3,9, n_in=64": dict(n_in=64, n_out=8, sizes=[256] * 3, periods=[1, 3, 9], L=2048),
}
TARGET = 0.25


def pin() -> int:
    """Pin this process (and so its one numba/BLAS thread) to one core; return it."""
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def measured_run(model, x, repeats: int) -> float:
    cs.simulate(model, x[:16], engine="compiled", trace="aggregate", keep="none")        # compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        cs.simulate(model, x, engine="compiled", trace="aggregate", keep="none")
        best = min(best, time.process_time() - t0)
    return best


def main(quick: bool = False) -> dict:
    cpu = pin()
    load_before = os.getloadavg()
    host = calibrate(repeats=3 if quick else 5)
    rows = {}
    for name, spec in MODELS.items():
        L = spec["L"] // (4 if quick else 1)
        model = cs.ClockworkRNN(spec["n_in"], spec["n_out"], spec["sizes"], spec["periods"], seed=0)
        x = np.random.default_rng(0).normal(size=(L, spec["n_in"]))
        summary = cs.simulate(model, x, engine="compiled", trace="aggregate", keep="none").trace.summary()
        acts = np.array([m["activations"] for m in summary["per_module"]])
        per = host.execution_times(model, "float64")                                   # (g,) seconds
        predicted = float(acts @ per)
        measured = measured_run(model, x, 3 if quick else 5)
        rows[name] = {"steps": L, "activations": int(acts.sum()), "predicted_s": predicted, "measured_s": measured,
                      "ratio_predicted_over_measured": predicted / measured,
                      "within_target": abs(predicted / measured - 1) <= TARGET,
                      "placement": host.placement(model, "float64")}
    return {"cpu": cpu, "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
            "host": {"dispatch_s": host.dispatch_s, "macs_per_s": host.dtypes["float64"].macs_per_s,
                     "memory": {m.name: m.bytes_per_s for m in host.memory}},
            "target": f"predicted within {TARGET:.0%} of measured", "models": rows,
            "meets_target": all(r["within_target"] for r in rows.values())}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    result = main(quick)
    _common.report("bench_calibrate" + ("_quick" if quick else ""), result)
