"""Analytic cost: one activation, a whole schedule, the dense comparison and the paper's bounds."""

from fractions import Fraction

import numpy as np
import pytest
from helpers import random_model

import clocksim as cs
from clocksim import cost


def small_model(**kw):
    return cs.ClockworkRNN(2, 3, [3, 2, 4], [1, 2, 5], **kw)


# ------------------------------------------------------------------ one activation
def test_update_cost_by_hand():
    """sizes 3, 2, 4, slow-to-fast: M1 reads all 9 units, M2 reads 6, M3 reads 4; n_in = 2."""
    model = small_model()
    c = cost.update_cost(model.module_sizes, model.block_mask, model.n_in)
    assert c.recurrent_macs.tolist() == [3 * 9, 2 * 6, 4 * 4]
    assert c.input_macs.tolist() == [3 * 2, 2 * 2, 4 * 2]
    assert c.macs.tolist() == [33, 16, 24]
    assert c.bias_adds.tolist() == c.fn_evals.tolist() == [3, 2, 4]
    # weights: block-row of W_rec, rows of W_in, bias; state: units read + x, per sequence
    assert c.weight_bytes.tolist() == [8 * (3 * 11 + 3), 8 * (2 * 8 + 2), 8 * (4 * 6 + 4)]
    assert c.state_bytes.tolist() == [8 * 11, 8 * 8, 8 * 6]
    # a batch reads the weights once and the state once per sequence
    assert c.bytes_read(5).tolist() == (c.weight_bytes + 5 * c.state_bytes).tolist()
    assert cost.activation_bytes(model.module_sizes, model.block_mask, 2, batch=5).tolist() == c.bytes_read(5).tolist()
    assert cost.activation_macs(model.module_sizes, model.block_mask, 2).tolist() == [33, 16, 24]


def test_update_cost_follows_the_mask():
    model = small_model(connectivity="dense")
    c = cost.update_cost(model.module_sizes, model.block_mask, model.n_in)
    assert c.recurrent_macs.tolist() == [3 * 9, 2 * 9, 4 * 9]
    custom = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)     # M2 reads M1; nobody reads M3
    c = cost.update_cost([3, 2, 4], custom, 0)
    assert c.recurrent_macs.tolist() == [9, 2 * 5, 16]


def test_update_cost_rejects_bad_structure():
    with pytest.raises(cs.ShapeError, match=r"block_mask: got shape \(2, 2\), expected \(3, 3\)"):
        cost.update_cost([1, 2, 3], np.ones((2, 2), bool), 1)
    with pytest.raises(cs.InvalidValueError, match="module_sizes"):
        cost.update_cost([1, 0], np.ones((2, 2), bool), 1)
    with pytest.raises(cs.InvalidValueError, match="n_in"):
        cost.update_cost([1, 2], np.ones((2, 2), bool), -1)


# ------------------------------------------------------------------ a schedule
@pytest.mark.parametrize("seed", range(20))
def test_periodic_firings_match_the_mask(seed):
    rng = np.random.default_rng(seed)
    periods = sorted(int(p) for p in rng.integers(1, 13, 5))
    phases = [int(rng.integers(0, p)) for p in periods]
    start, L = int(rng.integers(-3, 4)), int(rng.integers(0, 80))
    clocks = [cs.Periodic(p, ph) for p, ph in zip(periods, phases)]
    mask = cs.activity_mask(clocks, L, start)
    np.testing.assert_array_equal(cost.periodic_firings(periods, L, start=start, phases=phases), mask.sum(axis=0))


def test_the_start_convention_changes_the_counts():
    """Periods 1, 2, 4, 8 over 8 steps: start 0 fires every module at step 0, start 1 only M1 at step 1."""
    assert cost.periodic_firings([1, 2, 4, 8], 8, start=0).tolist() == [8, 4, 2, 1]
    assert cost.periodic_firings([1, 2, 4, 8], 8, start=1).tolist() == [8, 4, 2, 1]
    assert cost.periodic_firings([1, 2, 4, 8], 7, start=0).tolist() == [7, 4, 2, 1]
    assert cost.periodic_firings([1, 2, 4, 8], 7, start=1).tolist() == [7, 3, 1, 0]


def test_schedule_cost_from_mask_equals_from_counts():
    model = small_model(start=1)
    L = 37
    a = cost.schedule_cost(model.module_sizes, model.block_mask, 2, 3, active=model.activity(L), batch=4)
    b = cost.schedule_cost(model.module_sizes, model.block_mask, 2, 3, n_steps=L, batch=4,
                           firings=cost.periodic_firings([1, 2, 5], L, start=1))
    for name in ("activations", "macs", "recurrent_macs", "input_macs", "readout_macs", "bias_adds", "fn_evals",
                 "bytes_read", "dense_macs", "speedup_vs_dense"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.macs == a.activation_macs + a.readout_macs == a.module_macs.sum() + a.readout_macs
    assert a.readout_macs == 3 * 9 * L * 4
    assert a.dense_macs == cost.dense_macs(9, 2, 3, L, batch=4) == (9 * 11 + 27) * L * 4


def test_schedule_cost_needs_exactly_one_schedule():
    model = small_model()
    with pytest.raises(cs.InvalidValueError, match="exactly one of active"):
        cost.schedule_cost(model.module_sizes, model.block_mask, 2, 3)
    with pytest.raises(cs.InvalidValueError, match="n_steps"):
        cost.schedule_cost(model.module_sizes, model.block_mask, 2, 3, firings=[1, 1, 1])
    with pytest.raises(cs.ShapeError, match=r"active: got shape \(4, 2\), expected \(L, 3\)"):
        cost.schedule_cost(model.module_sizes, model.block_mask, 2, 3, active=np.ones((4, 2), bool))


def test_step_macs_sum_to_the_schedule():
    model = small_model()
    active = model.activity(30)
    c = cost.schedule_cost(model.module_sizes, model.block_mask, 2, 3, active=active, batch=2)
    per_step = cost.step_macs(active, c.update.macs, cost.readout_macs(9, 3), batch=2)
    assert per_step.shape == (30,) and per_step.sum() == c.macs
    assert per_step[0] == (33 + 16 + 24 + 27) * 2          # step 0: every module fires, plus the readout
    assert per_step[1] == (33 + 27) * 2


def analytic(model, L, B=1):
    return cost.schedule_cost(model.module_sizes, model.block_mask, model.n_in, model.n_out,
                              active=model.activity(L), batch=B)


@pytest.mark.parametrize("seed", range(12))
def test_run_macs_equal_the_analytic_count(engine, seed):
    """Random sizes, periods, phases, start, dense / slow-to-fast / custom masks, batch or not."""
    rng = np.random.default_rng(500 + seed)
    model = random_model(rng)
    B, L = int(rng.integers(1, 4)), int(rng.integers(1, 60))
    X = rng.normal(size=(B, L, model.n_in))
    s = cs.simulate(model, X if B > 1 else X[0], engine=engine).trace.summary()
    c = analytic(model, L, B)
    assert s["macs"] == c.macs
    assert s["activations"] == c.activations
    assert [m["macs"] for m in s["per_module"]] == c.module_macs.tolist()
    assert [m["activations"] for m in s["per_module"]] == c.firings.tolist()
    for key in ("readout_macs", "activation_macs", "bias_adds", "fn_evals", "bytes_read", "dense_macs"):
        assert s[key] == getattr(c, key), key
    assert s["speedup_vs_dense"] == c.speedup_vs_dense
    assert s["count_basis"] == ("per batch" if B > 1 else "per sequence")


def test_paper_schedule_macs_with_a_custom_mask(engine, rng):
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], dtype=bool)
    model = cs.ClockworkRNN(3, 2, [4, 3, 2, 5], [cs.Periodic(1), cs.Periodic(2, 1), cs.Periodic(4, 3), 8],
                            connectivity=mask, start=1)
    res = cs.simulate(model, rng.normal(size=(3, 64, 3)), engine=engine)
    assert res.trace.summary()["macs"] == analytic(model, 64, 3).macs


# ------------------------------------------------------------------ the paper's bounds
def exponential(g, k, n_in, n_out, L, start=0):
    periods = cs.exponential_periods(g)
    ks = [k] * g
    mask = np.triu(np.ones((g, g), dtype=bool))            # slow-to-fast: module j feeds i iff j >= i
    return cost.schedule_cost(ks, mask, n_in, n_out, n_steps=L,
                              firings=cost.periodic_firings(periods, L, start=start))


@pytest.mark.parametrize("g", [1, 2, 3, 4, 5, 6, 8, 10, 12])
@pytest.mark.parametrize("k", [1, 4, 16])
@pytest.mark.parametrize("cycles", [1, 3])
@pytest.mark.parametrize("start", [0, 1])
def test_recurrent_part_is_at_least_g_over_2_cheaper(g, k, cycles, start):
    c = exponential(g, k, n_in=5, n_out=1, L=cycles * 2 ** (g - 1), start=start)
    # the closed form of the appendix's sum: k^2 (2g - 2 + 2^(1-g)) per step against (g k)^2
    assert Fraction(c.recurrent_macs, c.n_steps) == k * k * (2 * g - 2 + Fraction(2, 2 ** g))
    assert c.recurrent_speedup == pytest.approx(g * g / (2 * g - 2 + 2.0 ** (1 - g)))
    assert c.recurrent_speedup >= cost.paper_speedup_bounds(g)["recurrent"]
    assert c.input_macs * g <= 2 * c.n * 5 * c.n_steps                   # the input part obeys the same bound


@pytest.mark.parametrize("g", [1, 2, 4, 5, 8, 10, 12])
@pytest.mark.parametrize("k", [1, 4, 16])
@pytest.mark.parametrize("n_in", [0, 1, 32])
@pytest.mark.parametrize("out", ["one", "two modules"])
def test_whole_network_is_at_least_g_over_4_cheaper(g, k, n_in, out):
    n_out = 1 if out == "one" else 2 * k
    for cycles in (1, 2):
        c = exponential(g, k, n_in, n_out, L=cycles * 2 ** (g - 1))
        assert c.speedup_vs_dense >= cost.paper_speedup_bounds(g)["network"]


def test_g_over_4_needs_a_narrow_output():
    """The bound's condition (g - 4) n_out <= 2 (n + n_in) matters: a readout as wide as the state fails it."""
    g, k = 16, 4
    c = exponential(g, k, n_in=0, n_out=g * k, L=2 ** (g - 1))
    assert (g - 4) * g * k > 2 * g * k
    assert c.speedup_vs_dense < cost.paper_speedup_bounds(g)["network"]


@pytest.mark.parametrize("g,k,L", [(3, 2, 8), (5, 3, 32), (6, 1, 64)])
def test_bounds_hold_for_a_run(engine, g, k, L, rng):
    model = cs.ClockworkRNN(2, 1, [k] * g, cs.exponential_periods(g), start=1)
    s = cs.simulate(model, rng.normal(size=(L, 2)), engine=engine).trace.summary()
    assert s["macs"] == exponential(g, k, 2, 1, L, start=1).macs
    assert s["speedup_vs_dense"] >= g / 4
