"""Input buffering (issue 18): what buffered inputs add to a run's wall time, both engines.

The paper-sized model of DESIGN section 7 (g = 8 modules of 64 units, n_in = 32, periods
1..128, B = 32 sequences of L = 512 steps), with ``input_mode`` "latest" everywhere (the
baseline) against "mean" and "max" for the 7 modules slower than period 1. Buffering adds one
block of n_in input columns per buffered module to the work array (here 544 -> 768 columns)
and one pass of ``kernels.buffer_window`` per buffered module over each chunk's samples; the
update kernels and their multiply-adds are unchanged. Runs keep only the last step and an
aggregate trace, so the figures are the engines' own work. Interleaved repeats, ratios of
medians and of minima against the baseline.

Run: python benchmarks/bench_buffering.py   -> results/benchmarks/buffering.json
"""

import _common
import numpy as np

import clocksim as cs

G, K, N_IN, B, L = 8, 64, 32, 32, 512


def main():
    x = np.random.default_rng(0).normal(size=(B, L, N_IN))
    models = {mode: cs.ClockworkRNN(N_IN, 4, [K] * G, cs.exponential_periods(G),
                                    input_mode=["latest"] + [mode] * (G - 1)) for mode in ("latest", "mean", "max")}
    out = {"shape": {"g": G, "k": K, "n_in": N_IN, "B": B, "L": L}, "engines": {}}
    for engine in ("compiled", "events"):
        funcs = {mode: (lambda m=m: cs.simulate(m, x, engine=engine, keep="last", trace="aggregate"))
                 for mode, m in models.items()}
        times = _common.time_interleaved(funcs, repeats=9)
        out["engines"][engine] = {"seconds": {k: v["median"] for k, v in times.items()},
                                  "vs_latest": {mode: _common.ratio(times, mode, "latest") for mode in ("mean", "max")}}
    _common.report("buffering", out)


if __name__ == "__main__":
    main()
