"""Module-major evaluation against its honest peers, in one run (issue 30).

Prints (and writes ``results/benchmarks/modmajor.json``), per shape:

* the machine's load average when the run starts and ends; with ``os.getloadavg()[0] > 0.5`` the run
  refuses to report unless ``--force``, and then every result carries ``"busy_machine": true``;
* the one-core dense GEMM rate measured next to the contenders (``(B*L, n + n_in) @ (n + n_in, n)``,
  interleaved with them) and each clocksim contender's fraction of it, on useful multiply-adds;
* the strongest numpy peers: per-step active rows with *contiguous* blocks (the input projection of
  all steps in one GEMM laid out ``(L, B, n)``, so a step's rows are contiguous; then per step one
  GEMM per active module over the columns it reads), and a module-major numpy version of the same
  idea (slowest module first: the input and slower-module part of all its firings in one GEMM, then
  only its diagonal block step by step);
* PyTorch, when installed (one thread): dense+mask and a per-module loop, forward and BPTT;
* clocksim's compiled engine in both orders (``forward_arrays(..., order=...)``; the same bits) and
  its BPTT in both orders (``cs.loss_and_grad(..., order=...)``: step-major ``backward_sequence`` and
  module-major ``backward_module_major``; ``bptt_vs`` gives every BPTT contender's time over the
  module-major one's), at float64 and at float32 (``model.astype("float32")``,
  DESIGN section 12: ``float32_speedup`` is each float64 time over its float32 twin's; the float32 outputs
  are checked against float64 within :data:`F32_TOLERANCE` relative);
* the per-kernel breakdown of the module-major loop: its parts replayed alone by :func:`mm_part`
  (the rest-of-reads products, the diagonal products, bias and activation, held-row copies, the
  input copy, the readout).

Times are CPU times of this process (``time.process_time``; every contender is single-threaded), the
median of interleaved repeats. Shapes: B=32, g=8x64, n_in=32, L=512 and B=1, g=8x16, n_in=4, L=4096.

Run: python benchmarks/bench_modmajor.py [--force] [--repeats N]
"""

import argparse
import os
import sys
import time

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np
from bench_compiled import dense_gemm, numpy_dense_mask_per_step
from numba import njit

import clocksim as cs
from clocksim.engine.compiled import MODULE_MAJOR, STEP_MAJOR, forward_arrays, schedule_order
from clocksim.engine.plan import plan_for
from clocksim.kernels import core as K
from clocksim.kernels import modmajor as MM

CLOCK = time.process_time
QUIET = 0.5                      # 1-minute load average above which the run is labelled busy
SHAPES = [
    # name, g, k, n_in, n_out, B, L
    ("g8x64 B32 L512", 8, 64, 32, 4, 32, 512),
    ("g8x16 B1 L4096", 8, 16, 4, 4, 1, 4096),
]
TARGETS = {"g8x64 B32 L512": {"vs_strongest_numpy": 1.4, "gemm_fraction": 0.60, "bptt_vs_torch_per_module": 2.0,
                              "float32_speedup": 1.6},
           "g8x16 B1 L4096": {"vs_per_step_numpy": 30.0, "float32_speedup": 1.6}}
F32_TOLERANCE = 1e-4             # max |y32 - y64| / max |y64| (tests/test_float32.py states the same bound)


# ------------------------------------------------------------------ numpy peers
def _blocks(model):
    p = model.params
    out = []
    for i in range(model.g):
        r0, r1 = int(model.offsets[i]), int(model.offsets[i + 1])
        reads = model.inputs_of(i)
        c0, c1 = int(model.offsets[min(reads)]), int(model.offsets[max(reads) + 1])   # contiguous: slow-to-fast
        out.append((r0, r1, c0, c1, np.ascontiguousarray(p["W_rec"][r0:r1, c0:c1].T)))
    return out


def numpy_rows_contiguous(model, X):
    """Per step, one GEMM per active module over the columns it reads; every array a step touches is contiguous."""
    p = model.params
    B, L, _ = X.shape
    U = np.ascontiguousarray((X @ p["W_in"].T + p["b"]).transpose(1, 0, 2))     # (L, B, n): U[t] contiguous
    active = model.activity(L)
    blocks = _blocks(model)
    H = np.empty((L, B, model.n))
    prev = np.broadcast_to(p["h0"], (B, model.n))
    for t in range(L):
        cur = H[t]
        cur[...] = prev
        for i in np.flatnonzero(active[t]):
            r0, r1, c0, c1, WT = blocks[i]
            cur[:, r0:r1] = np.tanh(prev[:, c0:c1] @ WT + U[t, :, r0:r1])
        prev = cur
    return (H @ p["W_out"].T + p["b_out"]).transpose(1, 0, 2), H.transpose(1, 0, 2)


def numpy_module_major(model, X):
    """Slowest module first: the input and slower-module part of all its firings in one GEMM, then its
    diagonal block firing by firing (slow-to-fast wiring)."""
    p = model.params
    B, L, _ = X.shape
    n = model.n
    U = np.ascontiguousarray((X @ p["W_in"].T + p["b"]).transpose(1, 0, 2))     # (L, B, n)
    active = model.activity(L)
    H = np.empty((L + 1, B, n))                                                 # H[s + 1]: state after step s
    H[0] = p["h0"]
    for i in range(model.g - 1, -1, -1):
        r0, r1 = int(model.offsets[i]), int(model.offsets[i + 1])
        W_ii = np.ascontiguousarray(p["W_rec"][r0:r1, r0:r1].T)
        W_off = np.ascontiguousarray(p["W_rec"][r0:r1, r1:n].T)
        fires = np.flatnonzero(active[:, i])
        P = U[fires, :, r0:r1]
        if r1 < n:
            P = P + H[fires, :, r1:n] @ W_off                                   # (F, B, k): one GEMM
        last = 0
        for f, s in enumerate(fires):
            H[last + 1:s + 1, :, r0:r1] = H[last, :, r0:r1]
            H[s + 1, :, r0:r1] = np.tanh(P[f] + H[s, :, r0:r1] @ W_ii)
            last = s + 1
        H[last + 1:, :, r0:r1] = H[last, :, r0:r1]
    H = H[1:]
    return (H @ p["W_out"].T + p["b_out"]).transpose(1, 0, 2), H.transpose(1, 0, 2)


# ------------------------------------------------------------------ PyTorch peers
def torch_peers(model, X, target):
    """Forward and BPTT callables of a dense+mask and a per-module-loop PyTorch CW-RNN, or {} without torch."""
    try:
        import torch
    except ImportError:
        return {}, None
    torch.set_num_threads(1)
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in model.params.items()}
    x = torch.tensor(X, dtype=torch.float64)
    tgt = torch.tensor(target, dtype=torch.float64)
    B, L, _ = X.shape
    active = model.activity(L)
    unit = torch.tensor(np.repeat(active, model.module_sizes, axis=1))          # (L, n) bool
    mask = torch.tensor(model.mask, dtype=torch.float64)
    blocks = _blocks(model)
    fires = [np.flatnonzero(active[t]).tolist() for t in range(L)]

    def params(grad):
        return {k: v.clone().requires_grad_(grad) for k, v in p.items()}

    # The input projection of all steps is one tensor, read a step at a time through ``unbind`` (one backward
    # node): indexing it per step (``U[:, t]``) makes autograd write a zero tensor of U's full size for every
    # index in the backward pass, which made these BPTT peers quadratic in L (80 s at B=32, L=512).
    def dense_mask(q):
        W = q["W_rec"] * mask
        U = (x @ q["W_in"].T + q["b"]).unbind(1)
        h = q["h0"].expand(B, -1)
        hs = []
        for t in range(L):
            h = torch.where(unit[t], torch.tanh(h @ W.T + U[t]), h)
            hs.append(h)
        H = torch.stack(hs, 1)
        return H @ q["W_out"].T + q["b_out"]

    def per_module(q):
        U = [u.split(model.module_sizes, 1) for u in (x @ q["W_in"].T + q["b"]).unbind(1)]   # [t][i]: (B, k_i)
        Wb = [q["W_rec"][r0:r1, c0:c1].T for r0, r1, c0, c1, _ in blocks]
        h = [q["h0"][r0:r1].expand(B, -1) for r0, r1, *_ in blocks]
        hs = []
        for t in range(L):
            prev = torch.cat(h, 1)
            for i in fires[t]:
                r0, r1, c0, c1, _ = blocks[i]
                h[i] = torch.tanh(prev[:, c0:c1] @ Wb[i] + U[t][i])
            hs.append(torch.cat(h, 1))
        H = torch.stack(hs, 1)
        return H @ q["W_out"].T + q["b_out"]

    def fwd(f):
        def run():
            with torch.no_grad():
                return f(params(False))
        return run

    def bptt(f):
        def run():
            q = params(True)
            loss = ((f(q) - tgt) ** 2).mean()
            loss.backward()
            return loss
        return run

    peers = {"torch_dense_mask": fwd(dense_mask), "torch_per_module": fwd(per_module),
             "torch_dense_mask_bptt": bptt(dense_mask), "torch_per_module_bptt": bptt(per_module)}
    with torch.no_grad():
        y = per_module(params(False)).numpy()
    return peers, (torch.__version__, y)


# ------------------------------------------------------------------ per-kernel breakdown
REST, DIAGONAL, ACTIVATION, COPIES, INPUTS, READOUT = range(6)
PART_NAMES = ("rest_products", "diagonal_products", "bias_activation", "held_copies", "input_copy", "readout")


@njit(cache=True)
def mm_part(Z, L, B, m, active, plan, wflat, b, act, W_out, b_out, out_act, Y, X, block, part):
    """One part of :func:`clocksim.kernels.modmajor.run_module_major`'s loop alone (same shapes, order and
    blocks): ``part`` one of REST, DIAGONAL, ACTIVATION, COPIES, INPUTS, READOUT."""
    g = active.shape[1]
    n = b.shape[0]
    n_out = b_out.shape[0]
    row = B * m
    nx = m - n
    if part == INPUTS:
        for s in range(L):
            for q in range(B):
                K.copy_into(Z[s * row + q * m + n: s * row + (q + 1) * m], X[(q * L + s) * nx: (q * L + s + 1) * nx])
        return
    for t0 in range(0, L, block):
        t1 = min(L, t0 + block)
        for i in range(g - 1, -1, -1):
            r0 = plan[i, K.P_R0]
            r1 = plan[i, K.P_R1]
            k = r1 - r0
            lo = plan[i, K.P_LO]
            d = K.diagonal_split(plan, i)
            c = plan[i, K.P_HI] - lo - d
            w0 = plan[i, K.P_W0]
            for s in range(t0, t1):
                prev = s * row
                cur = prev + row
                if active[s, i]:
                    if part == REST:
                        K.gemm_rows(B, k, c, Z, prev + lo + d, m, wflat, w0 + k * d, Z, cur + r0, m)
                    elif part == DIAGONAL:
                        K.gemm_rows_acc(B, k, d, Z, prev + r0, m, wflat, w0, Z, cur + r0, m)
                    elif part == ACTIVATION:
                        for q in range(B):
                            K.bias_activate(Z[cur + q * m + r0: cur + q * m + r1], b[r0:r1], act)
                elif part == COPIES:
                    for q in range(B):
                        K.copy_into(Z[cur + q * m + r0: cur + q * m + r1], Z[prev + q * m + r0: prev + q * m + r1])
        if part == READOUT:
            K.readout(Z[t0 * row:], t1 - t0, B, m, n, W_out, b_out, out_act, Y[t0 * B * n_out: t1 * B * n_out])


# ------------------------------------------------------------------ float32
def float32_contenders(model, X, target):
    """The clocksim contenders at float32 (both orders where the plan admits module-major, and BPTT), after
    checking that both orders give the same float32 bits and are within F32_TOLERANCE of float64."""
    m32 = model.astype("float32")
    plan, active = plan_for(m32), m32.activity(X.shape[1])
    X32 = X.astype(np.float32)
    Zm, Ym = forward_arrays(plan, X32, active, order=MODULE_MAJOR)
    Zs, Ys = forward_arrays(plan, X32, active, order=STEP_MAJOR)
    assert Ym.dtype == np.float32 and np.array_equal(Zm, Zs) and np.array_equal(Ym, Ys)
    _, Y64 = forward_arrays(plan_for(model), X, active, order=STEP_MAJOR)
    rel = float(np.abs(Ym - Y64).max() / np.abs(Y64).max())
    assert rel < F32_TOLERANCE, rel
    funcs = {"clocksim_module_major_f32": lambda: forward_arrays(plan, X32, active, order=MODULE_MAJOR),
             "clocksim_step_major_f32": lambda: forward_arrays(plan, X32, active, order=STEP_MAJOR),
             "clocksim_bptt_step_major_f32": lambda: cs.loss_and_grad(m32, X32, target, "mse", order=STEP_MAJOR),
             "clocksim_bptt_module_major_f32": lambda: cs.loss_and_grad(m32, X32, target, "mse", order=MODULE_MAJOR)}
    return funcs, rel


def float32_speedup(med):
    """Each float64 contender's median time over its float32 twin's."""
    return {key: med[key] / med[f"{key}_f32"] for key in ("clocksim_module_major", "clocksim_step_major",
                                                        "clocksim_bptt_step_major", "clocksim_bptt_module_major")}


# ------------------------------------------------------------------ run
def shape_run(name, g, k, n_in, n_out, B, L, repeats, busy):
    model = cs.ClockworkRNN(n_in, n_out, [k] * g, cs.exponential_periods(g), seed=0)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(B, L, n_in))
    target = rng.normal(size=(B, L, n_out))
    plan, active = plan_for(model), model.activity(L)
    res = cs.simulate(model, X)
    s = res.trace.summary()
    assert s["schedule_order"] == schedule_order(plan, B)
    pick = f"clocksim_{schedule_order(plan, B).replace('-', '_')}"           # the engine's order for this batch
    Zm, Ym = forward_arrays(plan, X, active, order=MODULE_MAJOR)
    Zs, Ys = forward_arrays(plan, X, active, order=STEP_MAJOR)
    assert np.array_equal(Zm, Zs) and np.array_equal(Ym, Ys)                  # the two orders: the same bits
    checks = {"numpy_rows_contiguous": numpy_rows_contiguous(model, X), "numpy_module_major": numpy_module_major(model, X),
              "numpy_dense_mask_per_step": numpy_dense_mask_per_step(model, X)}
    err = max(max(np.abs(res.y - y).max(), np.abs(res.h - h).max()) for y, h in checks.values())
    assert err < 1e-10, err
    peers, torch_info = torch_peers(model, X, target)
    if torch_info is not None:
        err = max(err, float(np.abs(torch_info[1] - res.y).max()))
        assert err < 1e-10, err
    gs = cs.loss_and_grad(model, X, target, "mse", order=STEP_MAJOR)[1]
    gm = cs.loss_and_grad(model, X, target, "mse", order=MODULE_MAJOR)[1]
    bptt_err = max(float(np.abs(gm[key] - gs[key]).max() / np.abs(gs[key]).max()) for key in gs)
    assert bptt_err < 1e-10, bptt_err                                         # the two BPTT orders: to rounding
    f32, f32_err = float32_contenders(model, X, target)
    gemm, gemm_macs = dense_gemm(B, L, model.n, n_in)
    m = plan.m
    block = MM.block_steps(B, m)
    Zp = Zm.reshape(-1).copy()
    Yp = Ym.reshape(-1).copy()
    Xf = np.ascontiguousarray(X).reshape(-1)
    W_out = plan.W_out.ravel().copy()
    act_c = np.ascontiguousarray(active)

    def part(pid):
        return lambda: mm_part(Zp, L, B, m, act_c, plan.table, plan.wflat, plan.b, plan.act, W_out, plan.b_out,
                               plan.out_act, Yp, Xf, block, pid)
    funcs = {
        "dense_gemm": gemm,
        "numpy_rows_contiguous": lambda: numpy_rows_contiguous(model, X),
        "numpy_module_major": lambda: numpy_module_major(model, X),
        "numpy_dense_mask_per_step": lambda: numpy_dense_mask_per_step(model, X),
        "clocksim_module_major": lambda: forward_arrays(plan, X, active, order=MODULE_MAJOR),
        "clocksim_step_major": lambda: forward_arrays(plan, X, active, order=STEP_MAJOR),
        "clocksim_bptt_step_major": lambda: cs.loss_and_grad(model, X, target, "mse", order=STEP_MAJOR),
        "clocksim_bptt_module_major": lambda: cs.loss_and_grad(model, X, target, "mse", order=MODULE_MAJOR),
        **f32,
        **peers,
        **{f"part_{nm}": part(pid) for pid, nm in enumerate(PART_NAMES)},
    }
    times = _common.time_interleaved(funcs, repeats=repeats, clock=CLOCK)
    med = {key: v["median"] for key, v in times.items()}
    gemm_rate = gemm_macs / med["dense_gemm"]
    numpy_peers = ("numpy_rows_contiguous", "numpy_module_major", "numpy_dense_mask_per_step")
    strongest = min(numpy_peers, key=lambda key: med[key])
    out = {
        "shape": name, "B": B, "g": g, "k": k, "n_in": n_in, "L": L, "busy_machine": busy,
        "max_abs_diff_vs_peers": float(err), "bptt_orders_max_rel_diff": bptt_err, "block_steps": block,
        "ms": {key: v * 1e3 for key, v in med.items()},
        "gemm_gmacs_per_s": gemm_rate / 1e9,
        "gemm_fraction": {key: s["macs"] / med[key] / gemm_rate for key in ("clocksim_module_major", "clocksim_step_major")},
        "strongest_numpy_peer": strongest,
        "module_major_vs": {key: med[key] / med["clocksim_module_major"] for key in
                            numpy_peers + ("clocksim_step_major",) + tuple(k for k in peers if not k.endswith("bptt"))},
        "engine_order": s["schedule_order"],
        "engine_vs": {key: med[key] / med[pick] for key in
                      numpy_peers + tuple(k for k in peers if not k.endswith("bptt"))},
        "parts_share_of_module_major": {nm: med[f"part_{nm}"] / med["clocksim_module_major"] for nm in PART_NAMES},
        "torch": torch_info[0] if torch_info else None,
        "float32_max_rel_diff_vs_float64": f32_err,
        "float32_speedup": float32_speedup(med),
    }
    bptt = med["clocksim_bptt_module_major"]
    out["bptt_vs"] = {"clocksim_bptt_step_major": med["clocksim_bptt_step_major"] / bptt,
                      **{key: med[key] / bptt for key in peers if key.endswith("bptt")}}
    tg = TARGETS[name]
    met = {}
    if "vs_strongest_numpy" in tg:
        met["vs_strongest_numpy"] = (out["engine_vs"][strongest], tg["vs_strongest_numpy"])
        met["gemm_fraction"] = (out["gemm_fraction"][pick], tg["gemm_fraction"])
        if peers:
            met["bptt_vs_torch_per_module"] = (out["bptt_vs"]["torch_per_module_bptt"], tg["bptt_vs_torch_per_module"])
    met["float32_speedup"] = (out["float32_speedup"][pick], tg["float32_speedup"])
    if "vs_per_step_numpy" in tg:
        met["vs_per_step_numpy"] = (out["engine_vs"]["numpy_rows_contiguous"], tg["vs_per_step_numpy"])
    out["targets"] = {key: {"measured": v, "target": t, "met": v >= t} for key, (v, t) in met.items()}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="report even when the machine is busy (labelled so)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--shapes", default="all", help="'all' or a comma-separated list of shape indices (0, 1)")
    args = ap.parse_args(argv)
    for _ in range(0 if args.force else 36):                # a load of one's own making gets 3 minutes to decay
        if os.getloadavg()[0] <= QUIET:
            break
        time.sleep(5)
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    busy = load[0] > QUIET
    if busy and not args.force:
        print(f"refusing to report: 1-minute load average {load[0]:.2f} > {QUIET} (other jobs would distort the "
              f"ratios); rerun on a quiet machine, or with --force to label the results busy", file=sys.stderr)
        return 3
    picks = range(len(SHAPES)) if args.shapes == "all" else [int(v) for v in args.shapes.split(",")]
    results = [shape_run(*SHAPES[i], args.repeats, busy) for i in picks]
    end = os.getloadavg()
    _common.report("modmajor", {"results": results, "clock": "process_time", "load_start": list(load),
                                "load_end": list(end), "busy_machine": busy or end[0] > 1.0 + QUIET})
    # at the end one runnable thread is this benchmark's own (a minute of it lifts the 1-minute average to ~0.6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
