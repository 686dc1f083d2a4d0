"""Module-major evaluation (clocksim.kernels.modmajor, issue 30): a triangular model runs slowest module
first, with the bits of the step-major loop and of the event engine, and within 1e-12 of the reference."""

import numpy as np
import pytest
from helpers import model_strategy, random_model, randomize
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_model

import clocksim as cs
from clocksim.engine.compiled import MODULE_MAJOR, STEP_MAJOR, schedule_order
from clocksim.engine.plan import plan_for
from clocksim.errors import InternalError, KernelBoundsError
from clocksim.kernels import core as K
from clocksim.kernels import modmajor as MM

TOL = 1e-12


def upper_triangular(draw_bits, g):
    """A custom mask with blocks only on or above the diagonal and no gaps in any row (triangular)."""
    mask = np.zeros((g, g), dtype=bool)
    for i in range(g):
        first = i + draw_bits[i] % (g - i + 1)            # reads modules first .. g-1 (none when first == g)
        mask[i, first:] = True
        if draw_bits[i] % 3 == 0:                          # or itself and every slower module
            mask[i, i:] = True
    return mask


periodic = st.tuples(st.integers(1, 9), st.integers(0, 8)).map(lambda tp: cs.Periodic(tp[0], tp[1] % tp[0]))
explicit = st.lists(st.integers(0, 40), min_size=0, max_size=12).map(lambda ts: cs.Explicit(sorted(set(ts))))


def raw_run(model, X, order):
    """Z, Y and counts of one forward pass over (B, L, n_in), by the chosen kernel."""
    plan = plan_for(model)
    B, L, _ = X.shape
    m, n = plan.m, plan.n
    active = np.ascontiguousarray(model.activity(L))
    Z = np.empty((L + 1) * B * m)
    Z.reshape(L + 1, B, m)[0, :, :n] = plan.h0
    Z.reshape(L + 1, B, m)[L, :, n:] = 0.0
    Y = np.empty(L * B * plan.W_out.shape[0])
    counts = np.zeros((plan.g, 2), dtype=np.int64)
    W_out = plan.W_out.ravel().copy()
    Xf = np.ascontiguousarray(X, dtype=np.float64).reshape(-1)
    if order == "step":
        K.run_sequence(Z, L, B, m, active, plan.table, plan.gidx, plan.wflat, plan.b, plan.act,
                       np.empty(max(plan.c_max, 1) * B), counts, W_out, plan.b_out, plan.out_act, Y, Xf)
    else:
        MM.run_module_major(Z, L, B, m, active, plan.table, plan.wflat, plan.b, plan.act, counts, W_out,
                            plan.b_out, plan.out_act, Y, Xf, order)
    return Z, Y, counts


@settings(deadline=None, max_examples=40)
@given(model=model_strategy(periodic | explicit, 5, connectivity="slow-to-fast"), B=st.sampled_from([0, 1, 3]),
       L=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_slow_to_fast_runs_module_major_and_matches_reference_and_events(model, B, L, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, L, model.n_in) if B else (L, model.n_in))
    assert schedule_order(plan_for(model)) == MODULE_MAJOR
    res = cs.simulate(model, X, engine="compiled")
    expected = MODULE_MAJOR if max(B, 1) <= MM.MAX_BATCH else STEP_MAJOR   # a batch runs step by step
    assert res.trace.summary()["schedule_order"] == expected
    Xb = X.reshape((max(B, 1),) + X.shape[-2:])                        # either order: the same bits
    np.testing.assert_array_equal(raw_run(model, Xb, 7)[1], raw_run(model, Xb, "step")[1])
    y_ref, h_ref = reference_model(model, X)
    np.testing.assert_allclose(res.h, h_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.y, y_ref, rtol=0, atol=TOL)
    ev = cs.simulate(model, X, engine="events")
    assert ev.trace.summary()["schedule_order"] == STEP_MAJOR
    np.testing.assert_array_equal(res.h, ev.h)
    np.testing.assert_array_equal(res.y, ev.y)
    for key in ("activations", "macs", "per_module"):
        assert res.trace.summary()[key] == ev.trace.summary()[key], key


@settings(deadline=None, max_examples=30)
@given(g=st.integers(1, 5), bits=st.lists(st.integers(0, 100), min_size=5, max_size=5), B=st.sampled_from([1, 2, 5]),
       L=st.integers(1, 30), block=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_module_major_kernel_gives_the_step_major_bits_for_any_block(g, bits, B, L, block, seed):
    """Triangular custom masks too (modules that skip themselves or read nothing); every block length."""
    rng = np.random.default_rng(seed)
    mask = upper_triangular(bits, g)
    model = random_model(rng, g=g, connectivity=mask, n_in=int(rng.integers(0, 4)))
    assert schedule_order(plan_for(model)) == MODULE_MAJOR
    X = rng.normal(size=(B, L, model.n_in))
    Zs, Ys, cs_ = raw_run(model, X, "step")
    Zm, Ym, cm = raw_run(model, X, block)
    np.testing.assert_array_equal(Zm, Zs)
    np.testing.assert_array_equal(Ym, Ys)
    np.testing.assert_array_equal(cm, cs_)
    y_ref, h_ref = reference_model(model, X)
    np.testing.assert_allclose(Ym.reshape(L, B, -1).transpose(1, 0, 2), y_ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("connectivity", ["dense", np.array([[True, False], [True, True]])])
def test_non_triangular_masks_run_step_major(connectivity, rng):
    model = randomize(cs.ClockworkRNN(2, 1, [3, 2], [1, 2], connectivity=connectivity), rng)
    assert schedule_order(plan_for(model)) == STEP_MAJOR
    X = rng.normal(size=(9, 2))
    res = cs.simulate(model, X, engine="compiled")
    assert res.trace.summary()["schedule_order"] == STEP_MAJOR
    np.testing.assert_allclose(res.y, reference_model(model, X)[0], rtol=0, atol=TOL)


def test_buffered_inputs_run_step_major(rng):
    model = randomize(cs.ClockworkRNN(2, 1, [3, 2], [1, 2], input_mode=["latest", "mean"]), rng)
    assert schedule_order(plan_for(model)) == STEP_MAJOR


def test_single_sequence_irregular_firings_take_equal_runs(rng):
    """One sequence: firings in runs of equal spacing, one product per run; uneven gaps break the runs."""
    clocks = [cs.Periodic(1), cs.Explicit([0, 2, 4, 6, 7, 8, 13, 18, 23, 24, 30]), cs.Periodic(5, 3)]
    model = randomize(cs.ClockworkRNN(3, 2, [4, 9, 3], clocks), rng)
    X = rng.normal(size=(1, 32, 3))
    for block in (1, 5, 32):
        Zs, Ys, _ = raw_run(model, X, "step")
        Zm, Ym, _ = raw_run(model, X, block)
        np.testing.assert_array_equal(Zm, Zs)
        np.testing.assert_array_equal(Ym, Ys)


def test_chunked_module_major_run_equals_the_whole(rng):
    model = random_model(rng, g=4, connectivity="slow-to-fast", n_in=2)
    X = rng.normal(size=(3, 57, 2))
    whole = cs.simulate(model, X, engine="compiled")
    for chunk in (1, 8, 20):
        part = cs.simulate(model, X, engine="compiled", chunk=chunk)
        np.testing.assert_array_equal(part.y, whole.y)
        np.testing.assert_array_equal(part.h, whole.h)


def test_split_sum_is_rest_then_diagonal(rng):
    """The documented order: u = P + D, each part in gemm_rows's order (module_update, both engines)."""
    model = randomize(cs.ClockworkRNN(5, 1, [13, 11], [1, 2]), rng)
    plan = plan_for(model)
    assert [int(K.diagonal_split(plan.table, i)) for i in range(2)] == [13, 11]
    z = rng.normal(size=plan.m) * np.exp(rng.normal(0.0, 3.0, plan.m))
    out = np.empty(13)
    K.module_update(0, z, 0, plan.m, out, 0, 13, 1, plan.table, plan.wflat, plan.b, K.ACT_NONE)
    W = np.hstack([model.params["W_rec"], model.params["W_in"]])[:13]
    P, D = np.empty(13), np.empty(13)
    K.gemm_rows(1, 13, plan.m - 13, z, 13, plan.m, np.ascontiguousarray(W[:, 13:]).ravel(), 0, P, 0, 13)
    K.gemm_rows(1, 13, 13, z, 0, plan.m, np.ascontiguousarray(W[:, :13]).ravel(), 0, D, 0, 13)
    np.testing.assert_array_equal(out, P + D)


def test_kernel_refuses_short_arrays_and_non_triangular_plans(rng):
    model = random_model(rng, g=3, connectivity="slow-to-fast", n_in=2)
    plan = plan_for(model)
    L, B = 5, 2
    m = plan.m
    args = dict(active=np.ones((L, 3), dtype=bool), counts=np.zeros((3, 2), dtype=np.int64),
                W_out=plan.W_out.ravel().copy(), Y=np.empty(L * B * model.n_out), X=np.zeros(B * L * 2))

    def call(Z, table, **kw):
        a = {**args, **kw}
        MM.run_module_major(Z, L, B, m, a["active"], table, plan.wflat, plan.b, plan.act, a["counts"], a["W_out"],
                            plan.b_out, plan.out_act, a["Y"], a["X"], 4)

    with pytest.raises(KernelBoundsError, match="argument Z"):
        call(np.zeros(L * B * m), plan.table)
    with pytest.raises(KernelBoundsError, match="argument X"):
        call(np.zeros((L + 1) * B * m), plan.table, X=np.zeros(3))
    bad = plan.table.copy()
    bad[0, K.P_W0] = plan.wflat.size
    with pytest.raises(KernelBoundsError, match="argument wflat"):
        call(np.zeros((L + 1) * B * m), bad)
    dense = plan_for(randomize(cs.ClockworkRNN(2, 1, [3, 3, 2], [1, 2, 4], connectivity="dense"), rng))
    with pytest.raises(InternalError, match="not triangular"):
        call(np.zeros((L + 1) * B * m), dense.table)


def test_forward_arrays_order_option(rng):
    from clocksim.engine.compiled import forward_arrays

    model = random_model(rng, g=3, connectivity="slow-to-fast", n_in=2)
    X = rng.normal(size=(1, 20, 2))
    plan, active = plan_for(model), model.activity(20)
    assert schedule_order(plan, 1) == MODULE_MAJOR and schedule_order(plan, 2) == STEP_MAJOR
    a = forward_arrays(plan, X, active, order=MODULE_MAJOR)
    b = forward_arrays(plan, X, active)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(cs.ClocksimError, match="order"):
        forward_arrays(plan, X, active, order="diagonal")
    dense = randomize(cs.ClockworkRNN(2, 1, [2, 2], [1, 2], connectivity="dense"), rng)
    with pytest.raises(cs.UnsupportedError, match="triangular"):
        forward_arrays(plan_for(dense), X, dense.activity(20), order=MODULE_MAJOR)


def test_block_steps_is_at_least_the_minimum():
    assert MM.block_steps(32, 544) >= MM.MIN_BLOCK
    assert MM.block_steps(1, 132) == MM.BLOCK_DOUBLES // 132


@pytest.mark.parametrize("loss", ["mse", "xent"])
def test_gradients_through_the_module_major_forward_match_finite_differences(loss, rng):
    """Training runs the forward pass through forward_arrays: with one sequence on slow-to-fast wiring that is
    the module-major kernel, whose work array BPTT reads."""
    from gradcheck import assert_grads_match, data

    model = randomize(cs.ClockworkRNN(2, 3, [2, 3, 2], [1, 2, 3], start=1), rng, scale=0.4)
    assert schedule_order(plan_for(model), 1) == MODULE_MAJOR
    x, target = data(rng, model, 1, 7, loss)
    assert_grads_match(model, x, target, loss)


_BITS_SCRIPT = """
import sys, numpy as np, clocksim as cs
from clocksim.engine.compiled import forward_arrays
from clocksim.engine.plan import plan_for
from clocksim.kernels import core as K
m = cs.ClockworkRNN(5, 3, [6, 9, 4, 7], [1, 2, 3, 7], seed=4)
X = np.random.default_rng(2).normal(size=(7, 61, 5))
plan, active = plan_for(m), m.activity(61)
Z, Y = forward_arrays(plan, X, active, order="module-major")
Zs, Ys = forward_arrays(plan, X, active, order="step-major")
assert np.array_equal(Z, Zs) and np.array_equal(Y, Ys)
np.save(sys.argv[1], Z)
print(K.TILE_Q)
"""


@pytest.mark.slow
def test_tile_shape_follows_the_core_and_never_the_bits(tmp_path):
    """The products' main tile (gemm_rows's and the module-major loop's) depends on the core (4 x 4 with
    AVX-512's 32 vector registers, 2 x 2 with AVX2's 16), the bits never: a run compiled for an AVX2 core (Haswell, in a cache of its own)
    gives the same states, bit for bit, as one compiled for this host, each order against the other."""
    import os
    import subprocess
    import sys

    haswell = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fxsr,+lzcnt,+mmx,+movbe,+popcnt,+sse,"
               "+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,-avx512f")
    runs = {}
    for name, extra in (("host", {}), ("avx2", {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": haswell})):
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / f"cache-{name}"), **extra)
        out = subprocess.run([sys.executable, "-c", _BITS_SCRIPT, str(tmp_path / f"{name}.npy")], env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        runs[name] = int(out.stdout.split()[-1])
    assert runs["avx2"] == 2 and runs["host"] == (4 if K.WIDE_REGISTERS else 2)
    np.testing.assert_array_equal(np.load(tmp_path / "host.npy"), np.load(tmp_path / "avx2.npy"))
