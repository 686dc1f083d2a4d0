"""Module-major BPTT (clocksim.kernels.modmajor_bptt, issue 30): a triangular model's backward pass runs
fastest module first; its gradients equal the step-major ones (backward_sequence) to 1e-12 relative (the
sums are taken in another order), finite differences of the loss and of the naive reference's loss."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_grads_match, data
from helpers import model_strategy, random_model, randomize
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_model
from test_modmajor import explicit, periodic, upper_triangular

import clocksim as cs
from clocksim.engine.compiled import MODULE_MAJOR, STEP_MAJOR, forward_arrays
from clocksim.engine.plan import plan_for
from clocksim.errors import InternalError, KernelBoundsError
from clocksim.kernels import core as K
from clocksim.kernels import modmajor as MM
from clocksim.kernels import modmajor_bptt as MB
from clocksim.train.grad import _dense_weights, bptt_order

REL = 1e-12


def assert_close_grads(got, want, rel=REL):
    """Every gradient within ``rel`` of the other's largest entry (relative, by key)."""
    assert set(got) == set(want)
    for key in want:
        scale = max(float(np.abs(want[key]).max(initial=0.0)), 1e-300)
        err = float(np.abs(got[key] - want[key]).max(initial=0.0))
        assert err <= rel * scale, (key, err / scale)


def both_orders(model, x, t, loss="mse"):
    info_s, info_m = {}, {}
    vs, gs = cs.loss_and_grad(model, x, t, loss, order=STEP_MAJOR, info=info_s)
    vm, gm = cs.loss_and_grad(model, x, t, loss, order=MODULE_MAJOR, info=info_m)
    assert info_s == {"schedule_order": STEP_MAJOR, "bptt_order": STEP_MAJOR}
    assert info_m == {"schedule_order": MODULE_MAJOR, "bptt_order": MODULE_MAJOR}
    assert vs == vm                                       # the forward passes: the same bits
    return gs, gm


def raw_grads(model, X, dA, block):
    """gW, gb, gh0 of one kernel call: ``block`` steps per block, or None for backward_sequence."""
    plan = plan_for(model)
    B, L, _ = X.shape
    active = np.ascontiguousarray(model.activity(L))
    Z, _ = forward_arrays(plan, X, active)
    n, m = plan.n, plan.m
    gW, gb, gh0 = np.empty(n * m), np.empty(n), np.empty(n)
    args = (Z.reshape(-1), L, B, m, n, active, plan.table, _dense_weights(model, plan).reshape(-1), plan.act,
            plan.W_out.reshape(-1), dA.reshape(-1), gW, gb, gh0)
    if block is None:
        K.backward_sequence(*args)
    else:
        MB.backward_module_major(*args, block)
    return {"gW": gW.reshape(n, m)[:, :n] * model.mask, "gb": gb, "gh0": gh0}


@settings(deadline=None, max_examples=40)
@given(model=model_strategy(periodic | explicit, 5, connectivity="slow-to-fast"), B=st.sampled_from([0, 1, 2, 5]),
       L=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_slow_to_fast_bptt_is_module_major_and_equals_step_major(model, B, L, seed):
    """Irregular and offset clocks (Explicit, Periodic phases), start 0..3, one sequence or several."""
    rng = np.random.default_rng(seed)
    x, t = data(rng, model, B, L)
    assert bptt_order(plan_for(model)) == MODULE_MAJOR
    info = {}
    default = cs.loss_and_grad(model, x, t, info=info)[1]
    assert info["bptt_order"] == MODULE_MAJOR
    assert info["schedule_order"] == (MODULE_MAJOR if max(B, 1) <= MM.MAX_BATCH else STEP_MAJOR)
    gs, gm = both_orders(model, x, t)
    assert_close_grads(gm, gs)
    assert_close_grads(default, gs)
    assert np.all(gm["W_rec"][~model.mask] == 0.0)


@settings(deadline=None, max_examples=30)
@given(g=st.integers(1, 5), bits=st.lists(st.integers(0, 100), min_size=5, max_size=5), B=st.sampled_from([1, 2, 4]),
       L=st.integers(1, 30), block=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_kernel_equals_backward_sequence_for_any_block_and_triangular_mask(g, bits, B, L, block, seed):
    """Custom triangular masks too (modules that skip themselves or read nothing); every block length."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, g=g, connectivity=upper_triangular(bits, g), n_in=int(rng.integers(0, 4)),
                         start=int(rng.integers(0, 2)))
    assert bptt_order(plan_for(model)) == MODULE_MAJOR
    X = rng.normal(size=(B, L, model.n_in))
    dA = rng.normal(size=(L, B, model.n_out))
    assert_close_grads(raw_grads(model, X, dA, block), raw_grads(model, X, dA, None))


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("B", [0, 3])
def test_module_major_gradients_match_finite_differences(start, B, rng):
    clocks = [cs.Periodic(1), cs.Explicit([0, 1, 4, 5, 9, 10, 11]), cs.Periodic(3, 2), cs.Periodic(5, 1)]
    model = randomize(cs.ClockworkRNN(2, 2, [2, 1, 3, 2], clocks, start=start), rng)
    x, t = data(rng, model, B, 13)
    info = {}
    cs.loss_and_grad(model, x, t, info=info)
    assert info["bptt_order"] == MODULE_MAJOR
    assert_grads_match(model, x, t, "mse")
    assert_grads_match(model, x, *data(rng, model, B, 13, loss="xent")[1:], "xent")


def test_module_major_gradients_match_differences_of_the_reference_loss(rng):
    """The bias and h0 gradients against central differences of tests/reference.py's loss."""
    model = random_model(rng, g=3, sizes=[2, 3, 2], periods=[1, 2, 4], n_in=2, n_out=2, start=1,
                         connectivity="slow-to-fast")
    x, t = data(rng, model, 2, 11)

    def ref_loss(**params):
        model.set_params(**params)
        return float(np.mean((reference_model(model, x)[0] - t) ** 2))
    value, grads = cs.loss_and_grad(model, x, t, order=MODULE_MAJOR)
    base = {k: v.copy() for k, v in model.params.items()}
    assert abs(value - ref_loss()) <= 1e-12 * abs(value)
    for name in ("b", "h0"):
        num = np.empty_like(base[name])
        for j in range(num.size):
            f = []
            for hstep in (1e-5, -1e-5):
                p = base[name].copy()
                p[j] += hstep
                f.append(ref_loss(**{name: p}))
            num[j] = (f[0] - f[1]) / 2e-5
        model.set_params(**base)
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-9)


def test_dense_and_custom_masks_keep_the_step_major_bptt(rng):
    for connectivity in ("dense", np.array([[True, False], [True, True]])):
        model = randomize(cs.ClockworkRNN(2, 1, [3, 2], [1, 2], connectivity=connectivity), rng)
        info = {}
        cs.loss_and_grad(model, *data(rng, model, 3, 9), info=info)
        assert info == {"schedule_order": STEP_MAJOR, "bptt_order": STEP_MAJOR}
        with pytest.raises(cs.errors.UnsupportedError):
            cs.loss_and_grad(model, *data(rng, model, 3, 9), order=MODULE_MAJOR)


def _kernel_args(rng, **override):
    model = random_model(rng, g=3, sizes=[2, 2, 2], periods=[1, 2, 4], n_in=1, n_out=1,
                         connectivity="slow-to-fast")
    plan = plan_for(model)
    B, L, n, m = 2, 6, plan.n, plan.m
    active = np.ascontiguousarray(model.activity(L))
    Z, _ = forward_arrays(plan, rng.normal(size=(B, L, 1)), active)
    args = dict(Z=Z.reshape(-1), L=L, B=B, m=m, n=n, active=active, plan=plan.table,
                W=_dense_weights(model, plan).reshape(-1), act=plan.act, W_out=plan.W_out.reshape(-1),
                dA=rng.normal(size=L * B), gW=np.empty(n * m), gb=np.empty(n), gh0=np.empty(n), block=4)
    args.update(override)
    return args


@pytest.mark.parametrize("arg", ["Z", "dA", "gW", "W", "gb", "gh0"])
def test_kernel_refuses_too_small_arrays(arg, rng):
    args = _kernel_args(rng)
    MB.backward_module_major(**args)                        # the sizes fit: it runs
    args[arg] = args[arg][:-1]
    with pytest.raises(KernelBoundsError) as info:
        MB.backward_module_major(**args)
    assert info.value.argument == arg and info.value.kernel == "backward_module_major"
    assert info.value.needed > info.value.got


def test_kernel_refuses_bad_block_and_non_triangular_plans(rng):
    with pytest.raises(KernelBoundsError):
        MB.backward_module_major(**_kernel_args(rng, block=0))
    args = _kernel_args(rng)
    plan = args["plan"].copy()
    plan[1, K.P_LO] = 0                                     # module 1 reads module 0 (faster): not triangular
    with pytest.raises(InternalError):
        MB.backward_module_major(**dict(args, plan=plan))


def jit_off_cases():
    """Gradients of a small triangular model in both orders (run in a subprocess with the JIT off)."""
    rng = np.random.default_rng(3)
    model = random_model(rng, g=3, sizes=[2, 3, 1], periods=[1, 2, 3], n_in=2, n_out=2, start=1,
                         connectivity="slow-to-fast")
    x, t = data(rng, model, 2, 9)
    out = {}
    for order in (STEP_MAJOR, MODULE_MAJOR):
        for key, v in cs.loss_and_grad(model, x, t, order=order)[1].items():
            out[f"{order}-{key}"] = v
    return out


@pytest.mark.slow
def test_module_major_bptt_runs_with_the_jit_off(tmp_path):
    here = Path(__file__).resolve().parent
    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import clocksim.kernels.core as K; "
            "assert K.JIT_OFF; from test_modmajor_bptt import jit_off_cases; np.savez(sys.argv[2], **jit_off_cases())")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=os.pathsep.join([str(here.parent), str(here)]))
    done = subprocess.run([sys.executable, "-c", code, str(here), str(tmp_path / "off.npz")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    want = jit_off_cases()
    with np.load(tmp_path / "off.npz") as off:
        assert sorted(off.files) == sorted(want)
        for name, value in want.items():
            np.testing.assert_allclose(off[name], value, rtol=0, atol=1e-12, err_msg=name)
