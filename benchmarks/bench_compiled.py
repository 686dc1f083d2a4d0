"""Compiled engine vs a numpy dense+mask CW-RNN (issue 2), one thread, same run.

Two numpy baselines, both dense+mask (every step one full ``h @ W_rec.T`` with
the masked matrix, tanh, then ``np.where`` to keep the rows of inactive modules):

* ``numpy_dense_mask`` — what a careful numpy user would write: the input
  projection and the readout for all steps at once (one GEMM each). The
  speed-up targets are checked against this, the stronger baseline.
* ``numpy_dense_mask_per_step`` — the literal per-step recurrence, input
  projection and readout inside the loop, as in most public CW-RNN code.

and the honest peer at batch sizes where BLAS dominates:

* ``numpy_active_rows`` — a careful numpy user who updates only the active modules' rows:
  the input projection of all steps in one GEMM, then per step one GEMM per active module
  over the columns it reads (contiguous under slow-to-fast wiring), tanh on its rows only,
  and the readout of all steps in one GEMM.

All produce the same outputs (checked to 1e-10 first); times are CPU times of this process
(``CLOCK``). The hardware reference is one dense GEMM on one core, ``(B*L, n + n_in) @ (n + n_in, n)``
(a dense RNN's step products for the whole run in one call): the fraction of its multiply-add
rate the compiled engine reaches on useful multiply-adds (``summary()["macs"]``) is reported as ``gemm_fraction``.

Targets (issue 16): compiled >= 75 % of the GEMM rate at B=32 (8 x 64 units, n_in=32, L=512),
>= 1.3x faster than ``numpy_active_rows`` at B=32 and >= 30x at B=1.

Ceiling analysis (``ceiling_*`` columns): the parts of the engine's step loop timed alone, in the
same run, by :func:`loop_part` replaying the loop with the kernels it calls: the bare sequence of
per-module products (same shapes, same order, no bias, no activation, no copies), the bias and activation
pass alone and the held-row copies alone. The products' rate on the activations' multiply-adds, as
a fraction of the dense GEMM rate, bounds what the engine can reach with those products. Also
timed alone: allocating an array of the size of the work array a run returns and writing it once
(``ceiling_work_array``), the cost of first touching that memory, which the engine pays in its loop.

Run: python benchmarks/bench_compiled.py
"""

import time

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np
from numba import njit

import clocksim as cs
from clocksim.kernels import core as K
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


def numpy_active_rows(model, X):
    p = model.params
    B, L, _ = X.shape
    U = X @ p["W_in"].T + p["b"]                                   # (B, L, n)
    active = model.activity(L)                                      # (L, g)
    blocks = []                                                     # per module: rows, read columns, W block^T
    for i in range(model.g):
        r0, r1 = model.offsets[i], model.offsets[i + 1]
        reads = [j for j in model.inputs_of(i)]
        c0, c1 = model.offsets[min(reads)], model.offsets[max(reads) + 1]   # contiguous under slow-to-fast
        blocks.append((r0, r1, c0, c1, np.ascontiguousarray(p["W_rec"][r0:r1, c0:c1].T)))
    h = np.broadcast_to(p["h0"], (B, model.n)).copy()
    H = np.empty((B, L, model.n))
    for t in range(L):
        new = h.copy()
        for i in np.flatnonzero(active[t]):
            r0, r1, c0, c1, WT = blocks[i]
            new[:, r0:r1] = np.tanh(h[:, c0:c1] @ WT + U[:, t, r0:r1])
        h = new
        H[:, t] = h
    return H @ p["W_out"].T + p["b_out"], H


PRODUCTS, ACTIVATION, COPIES = 0, 1, 2
# Every contender is single-threaded: timed in this process's CPU time, which leaves out the time it
# waits for a core while other jobs run (on a shared 2-core machine wall-time ratios moved by 1.5x
# from run to run). Memory stalls and cache contention still count.
CLOCK = time.process_time


@njit(cache=True)
def loop_part(Z, out, L, B, m, active, plan, wflat, b, act, part):
    """One part of ``kernels.run_sequence``'s work alone (contiguous reads only), reading the work
    array ``Z`` of a run and writing into ``out`` (of its size), so that the values stay those of the run.

    The modules are taken in runs of consecutive active or held modules, as the engine takes them.
    PRODUCTS: each active module's product, as the engine calls it; ACTIVATION: the bias and
    activation pass over a run's rows; COPIES: the copies of a run of held modules' rows.
    """
    g = active.shape[1]
    row = B * m
    for s in range(L):
        prev = s * row
        cur = prev + row
        i = 0
        while i < g:
            j = i + 1
            while j < g and active[s, j] == active[s, i]:
                j += 1
            r0, r1 = plan[i, K.P_R0], plan[j - 1, K.P_R1]
            if active[s, i] and part == PRODUCTS:
                for u in range(i, j):
                    lo = plan[u, K.P_LO]
                    K.gemm_rows(B, plan[u, K.P_R1] - plan[u, K.P_R0], plan[u, K.P_HI] - lo, Z, prev + lo, m, wflat,
                                plan[u, K.P_W0], out, cur + plan[u, K.P_R0], m)
            elif active[s, i] and part == ACTIVATION:
                for q in range(B):
                    K.bias_activate(out[cur + q * m + r0: cur + q * m + r1], b[r0:r1], act)
            elif not active[s, i] and part == COPIES:
                for q in range(B):
                    K.copy_into(out[cur + q * m + r0: cur + q * m + r1], Z[prev + q * m + r0: prev + q * m + r1])
            i = j


def work_array(X, m):
    """A new array of the size of a run's work array, written once: the cost of its first touch."""
    B, L, _ = X.shape
    Z = np.empty((L + 1, B, m))
    Z.fill(0.0)
    return Z


def dense_gemm(B, L, n, n_in):
    """One dense GEMM of a dense RNN's whole-run step products and its multiply-add count."""
    rng = np.random.default_rng(2)
    A, W = rng.normal(size=(B * L, n + n_in)), rng.normal(size=(n + n_in, n))
    return (lambda: A @ W), B * L * (n + n_in) * n


def main():
    results = []
    for name, g, k, n_in, n_out, B, L, required in CONFIGS:
        model = cs.ClockworkRNN(n_in, n_out, [k] * g, cs.exponential_periods(g), seed=0)
        X = np.random.default_rng(1).normal(size=(B, L, n_in))
        plan, active = plan_for(model), model.activity(L)
        y_ref, h_ref = numpy_dense_mask(model, X)
        y_ps, h_ps = numpy_dense_mask_per_step(model, X)
        y_ar, h_ar = numpy_active_rows(model, X)
        res = cs.simulate(model, X)
        err = max(np.abs(res.h - h_ref).max(), np.abs(res.y - y_ref).max(),
                  np.abs(res.h - h_ps).max(), np.abs(res.y - y_ps).max(),
                  np.abs(res.h - h_ar).max(), np.abs(res.y - y_ar).max())
        assert err < 1e-10, err
        gemm, gemm_macs = dense_gemm(B, L, model.n, n_in)
        assert (plan.table[:, K.P_LO] >= 0).all()                      # loop_part replays contiguous reads
        counts = np.zeros((model.g, 2), dtype=np.int64)
        Z = forward_arrays(plan, X, active, counts=counts)[0].reshape(-1)
        act_macs = int(counts[:, 1].sum())                              # the activations' multiply-adds
        out = Z.copy()

        def part(p):
            return lambda: loop_part(Z, out, L, B, plan.m, np.ascontiguousarray(active), plan.table, plan.wflat,
                                     plan.b, plan.act, p)
        times = _common.time_interleaved({
            "numpy_dense_mask": lambda: numpy_dense_mask(model, X),
            "numpy_dense_mask_per_step": lambda: numpy_dense_mask_per_step(model, X),
            "numpy_active_rows": lambda: numpy_active_rows(model, X),
            "dense_gemm": gemm,
            "compiled": lambda: forward_arrays(plan, X, active),
            "compiled_simulate": lambda: cs.simulate(model, X),
            "ceiling_products": part(PRODUCTS),
            "ceiling_activation": part(ACTIVATION),
            "ceiling_copies": part(COPIES),
            "ceiling_work_array": lambda: work_array(X, plan.m),
        }, repeats=9, clock=CLOCK)
        s = res.trace.summary()
        gemm_rate = gemm_macs / times["dense_gemm"]["median"]
        compiled_rate = s["macs"] / times["compiled"]["median"]
        vs_rows = _common.ratio(times, "numpy_active_rows", "compiled")["median"]
        rows_target = 1.3 if B > 1 else 30.0
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
            "active_rows_ms": times["numpy_active_rows"]["median"] * 1e3,
            "speedup_vs_active_rows": vs_rows, "speedup_vs_active_rows_target": rows_target,
            "meets_active_rows_target": vs_rows >= rows_target,
            "gemm_gmacs_per_s": gemm_rate / 1e9, "compiled_useful_gmacs_per_s": compiled_rate / 1e9,
            "gemm_fraction": compiled_rate / gemm_rate, "gemm_fraction_target": 0.75 if B > 1 else None,
            # the same from the fastest of the repeats (least disturbed by other jobs on a shared machine)
            "gemm_fraction_min": s["macs"] / times["compiled"]["min"] / (gemm_macs / times["dense_gemm"]["min"]),
            "speedup_vs_active_rows_min": _common.ratio(times, "numpy_active_rows", "compiled")["min"],
            "activation_macs": act_macs,
            "ceiling_products_ms": times["ceiling_products"]["median"] * 1e3,
            "ceiling_products_gemm_fraction": act_macs / times["ceiling_products"]["median"] / gemm_rate,
            "ceiling_products_gemm_fraction_min":
                act_macs / times["ceiling_products"]["min"] / (gemm_macs / times["dense_gemm"]["min"]),
            "ceiling_activation_ms": times["ceiling_activation"]["median"] * 1e3,
            "ceiling_copies_ms": times["ceiling_copies"]["median"] * 1e3,
            "ceiling_work_array_ms": times["ceiling_work_array"]["median"] * 1e3,
            "ceiling_share_of_compiled": {
                key: times[f"ceiling_{key}"]["median"] / times["compiled"]["median"]
                for key in ("products", "activation", "copies", "work_array")},
        })
    _common.report("compiled_vs_numpy_dense_mask", {"results": results, "clock": "process_time"})


if __name__ == "__main__":
    main()
