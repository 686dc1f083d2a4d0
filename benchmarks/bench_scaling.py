"""Scaling of the compiled engine with units per module and batch, against one-core dense GEMM (issue 16).

For each size the compiled forward (``forward_arrays``, the engine's kernels without the trace) is
timed interleaved with one dense GEMM ``(B*L, n + n_in) @ (n + n_in, n)`` of the same model size,
and reported as seconds per step and as the fraction of the GEMM's multiply-add rate it reaches on
useful multiply-adds (``summary()["macs"]``). Model: 8 modules, periods 1..128, n_in = 32, L = 512.
Times are CPU times of this process, as in ``bench_compiled.py``.

Run: python benchmarks/bench_scaling.py
"""

import _common
import numpy as np
from bench_compiled import CLOCK, dense_gemm

import clocksim as cs
from clocksim.engine.compiled import forward_arrays
from clocksim.engine.plan import plan_for

G, N_IN, N_OUT, L = 8, 32, 4, 512


def measure(k: int, B: int) -> dict:
    model = cs.ClockworkRNN(N_IN, N_OUT, [k] * G, cs.exponential_periods(G), seed=0)
    X = np.random.default_rng(1).normal(size=(B, L, N_IN))
    plan, active = plan_for(model), model.activity(L)
    macs = cs.simulate(model, X, trace="aggregate").trace.summary()["macs"]
    gemm, gemm_macs = dense_gemm(B, L, model.n, N_IN)
    times = _common.time_interleaved({"compiled": lambda: forward_arrays(plan, X, active), "dense_gemm": gemm},
                                     repeats=5, clock=CLOCK)
    rate = macs / times["compiled"]["median"]
    gemm_rate = gemm_macs / times["dense_gemm"]["median"]
    return {"units": k, "batch": B, "useful_macs": macs, "us_per_step": times["compiled"]["median"] / L * 1e6,
            "compiled_gmacs_per_s": rate / 1e9, "gemm_gmacs_per_s": gemm_rate / 1e9, "gemm_fraction": rate / gemm_rate}


def main():
    units = [measure(k, 32) for k in (8, 16, 32, 64, 128)]
    batch = [measure(64, B) for B in (1, 4, 16, 32, 64)]
    _common.report("compiled_scaling", {"modules": G, "n_in": N_IN, "steps": L, "units": units, "batch": batch,
                                        "clock": "process_time"})


if __name__ == "__main__":
    main()
