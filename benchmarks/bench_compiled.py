"""Compiled engine vs a numpy dense+mask CW-RNN (issue 2), one thread, same run.

Two numpy baselines, both dense+mask (every step one full ``h @ W_rec.T`` with
the masked matrix, tanh, then ``np.where`` to keep the rows of inactive modules):

* ``numpy_dense_mask`` — what a careful numpy user would write: the input
  projection and the readout for all steps at once (one GEMM each). The
  speed-up targets are checked against this, the stronger baseline.
* ``numpy_dense_mask_per_step`` — the literal per-step recurrence, input
  projection and readout inside the loop, as in most public CW-RNN code.

All produce the same outputs (checked to 1e-10 first).

Run: python benchmarks/bench_compiled.py
"""

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np

import clocksim as cs
from clocksim.engine.compiled import forward_arrays
from clocksim.engine.plan import plan_for

CONFIGS = [
    # name, g, k, n_in, n_out, B, L, required speed-up
    ("g8x64 B32 L512", 8, 64, 32, 4, 32, 512, 3.5),
    ("g8x16 B1 L4096", 8, 16, 4, 4, 1, 4096, 10.0),
]


def numpy_dense_mask(model, X):
    p = model.params
    B, L, _ = X.shape
    U = X @ p["W_in"].T + p["b"]                                   # (B, L, n)
    unit_active = np.repeat(model.activity(L), model.module_sizes, axis=1)  # (L, n)
    WT = np.ascontiguousarray(p["W_rec"].T)
    h = np.broadcast_to(p["h0"], (B, model.n)).copy()
    H = np.empty((B, L, model.n))
    for t in range(L):
        h = np.where(unit_active[t], np.tanh(h @ WT + U[:, t]), h)
        H[:, t] = h
    return H @ p["W_out"].T + p["b_out"], H


def numpy_dense_mask_per_step(model, X):
    p = model.params
    B, L, _ = X.shape
    unit_active = np.repeat(model.activity(L), model.module_sizes, axis=1)  # (L, n)
    WT, W_inT, W_outT = p["W_rec"].T.copy(), p["W_in"].T.copy(), p["W_out"].T.copy()
    h = np.broadcast_to(p["h0"], (B, model.n)).copy()
    H = np.empty((B, L, model.n))
    Y = np.empty((B, L, model.n_out))
    for t in range(L):
        h = np.where(unit_active[t], np.tanh(h @ WT + X[:, t] @ W_inT + p["b"]), h)
        H[:, t] = h
        Y[:, t] = h @ W_outT + p["b_out"]
    return Y, H


def main():
    results = []
    for name, g, k, n_in, n_out, B, L, required in CONFIGS:
        model = cs.ClockworkRNN(n_in, n_out, [k] * g, cs.exponential_periods(g), seed=0)
        X = np.random.default_rng(1).normal(size=(B, L, n_in))
        plan, active = plan_for(model), model.activity(L)
        y_ref, h_ref = numpy_dense_mask(model, X)
        y_ps, h_ps = numpy_dense_mask_per_step(model, X)
        res = cs.simulate(model, X)
        err = max(np.abs(res.h - h_ref).max(), np.abs(res.y - y_ref).max(),
                  np.abs(res.h - h_ps).max(), np.abs(res.y - y_ps).max())
        assert err < 1e-10, err
        times = _common.time_interleaved({
            "numpy_dense_mask": lambda: numpy_dense_mask(model, X),
            "numpy_dense_mask_per_step": lambda: numpy_dense_mask_per_step(model, X),
            "compiled": lambda: forward_arrays(plan, X, active),
            "compiled_simulate": lambda: cs.simulate(model, X),
        }, repeats=9)
        s = res.trace.summary()
        op_ratio = s["dense_macs"] / s["macs"]
        r = _common.ratio(times, "numpy_dense_mask", "compiled")
        results.append({
            "config": name, "max_abs_diff": float(err),
            "numpy_ms": times["numpy_dense_mask"]["median"] * 1e3,
            "compiled_ms": times["compiled"]["median"] * 1e3,
            "simulate_ms": times["compiled_simulate"]["median"] * 1e3,
            "speedup_median": r["median"], "speedup_min": r["min"],
            "speedup_with_trace": _common.ratio(times, "numpy_dense_mask", "compiled_simulate")["median"],
            "speedup_vs_per_step_numpy": _common.ratio(times, "numpy_dense_mask_per_step", "compiled")["median"],
            "operation_count_ratio": op_ratio, "required": required,
            "meets_target": r["median"] >= required,
        })
    _common.report("compiled_vs_numpy_dense_mask", {"results": results})


if __name__ == "__main__":
    main()
