"""Property tests of schedules and the semantics every engine must keep."""

import numpy as np
import pytest
from helpers import ENGINE_NAMES, model_strategy
from hypothesis import given, settings
from hypothesis import strategies as st

import clocksim as cs

SETTINGS = settings(deadline=None, max_examples=60)


@st.composite
def periodic(draw, max_period=40):
    period = draw(st.integers(1, max_period))
    return cs.Periodic(period, draw(st.integers(0, period - 1)))


def models(connectivity=None):
    return model_strategy(periodic(12), 5, connectivity)


@SETTINGS
@given(clock=periodic(), start=st.integers(0, 50), n_steps=st.integers(0, 300))
def test_firing_count_is_len_of_range(clock, start, n_steps):
    first = start + (clock.phase - start) % clock.period
    expected = range(first, start + n_steps, clock.period)
    steps = clock.firing_steps(start, n_steps)
    assert len(steps) == len(expected)
    assert steps.tolist() == list(expected)
    assert int(clock.fires(start, n_steps).sum()) == len(expected)


@SETTINGS
@given(clock=periodic(), start=st.integers(0, 50), n_steps=st.integers(1, 200))
def test_firing_rule_is_mathematical_modulo(clock, start, n_steps):
    t = np.arange(start, start + n_steps)
    np.testing.assert_array_equal(clock.fires(start, n_steps), (t - clock.phase) % clock.period == 0)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@SETTINGS
@given(model=models(), n_steps=st.integers(1, 40), seed=st.integers(0, 1000))
def test_inactive_modules_hold_state_bit_for_bit(engine, model, n_steps, seed):
    X = np.random.default_rng(seed).normal(size=(2, n_steps, model.n_in))
    res = cs.simulate(model, X, engine=engine)
    act = model.activity(n_steps)
    h_prev = np.broadcast_to(model.params["h0"], (2, model.n))
    for s in range(n_steps):
        for i in range(model.g):
            if not act[s, i]:
                assert np.array_equal(res.h[:, s, model.rows(i)], h_prev[:, model.rows(i)])
        h_prev = res.h[:, s]


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@SETTINGS
@given(model=models(connectivity="slow-to-fast"), n_steps=st.integers(1, 40), seed=st.integers(0, 1000),
       which=st.integers(0, 10))
def test_fast_modules_never_influence_slower_ones(engine, model, n_steps, seed, which):
    """Perturb module i's initial state and its weights: modules j > i are unchanged bit for bit."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_steps, model.n_in))
    i = which % model.g
    base = cs.simulate(model, X, engine=engine)
    h0 = np.array(model.params["h0"])
    h0[model.rows(i)] += 1.0
    W_in = np.array(model.params["W_in"])
    W_in[model.rows(i)] += rng.normal(size=W_in[model.rows(i)].shape)
    other = model.copy()
    other.set_params(h0=h0, W_in=W_in)
    pert = cs.simulate(other, X, engine=engine)
    slower = slice(model.rows(i).stop, model.n)
    assert np.array_equal(base.h[:, slower], pert.h[:, slower])


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@SETTINGS
@given(model=models(), n_steps=st.integers(1, 30))
def test_trace_has_one_activation_per_firing(engine, model, n_steps):
    res = cs.simulate(model, np.zeros((n_steps, model.n_in)), engine=engine)
    act = model.activity(n_steps)
    counts = np.bincount(res.trace.activations["module"], minlength=model.g)
    np.testing.assert_array_equal(counts, act.sum(axis=0))
    s, i = np.nonzero(act)
    np.testing.assert_array_equal(res.trace.activations["time"], model.start + s)
    np.testing.assert_array_equal(res.trace.activations["module"], i)
