"""Both engines against the naive twin (tests/reference.py) on random models, periodic and integer Explicit
clocks: outputs, states, and the activations and multiply-adds the trace counts."""

import numpy as np
import pytest
from helpers import ENGINE_NAMES, model_strategy
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_counts, reference_model

import clocksim as cs

SETTINGS = settings(deadline=None, max_examples=40)


@st.composite
def clocks(draw):
    if draw(st.booleans()):
        period = draw(st.integers(1, 9))
        return cs.Periodic(period, draw(st.integers(0, period - 1)))
    times = draw(st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True))
    return cs.Explicit(sorted(times))


def models():
    return model_strategy(clocks(), 4)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@SETTINGS
@given(model=models(), n_steps=st.integers(1, 35), batch=st.integers(1, 3), seed=st.integers(0, 1000))
def test_engines_match_the_reference_and_its_counts(engine, model, n_steps, batch, seed):
    X = np.random.default_rng(seed).normal(size=(batch, n_steps, model.n_in))
    res = cs.simulate(model, X, engine=engine)
    y_ref, h_ref = reference_model(model, X)
    np.testing.assert_allclose(res.y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.h, h_ref, rtol=1e-12, atol=1e-12)
    counts, summary = reference_counts(model, n_steps, batch), res.trace.summary()
    assert [m["activations"] for m in summary["per_module"]] == counts["activations"]
    assert summary["activations"] == sum(counts["activations"])
    for key in ("activation_macs", "readout_macs", "macs", "dense_macs"):
        assert summary[key] == counts[key], key


@settings(deadline=None, max_examples=30)
@given(model=models(), n_steps=st.integers(1, 35), batch=st.integers(1, 3), seed=st.integers(0, 1000))
def test_the_two_engines_agree_bit_for_bit(model, n_steps, batch, seed):
    X = np.random.default_rng(seed).normal(size=(batch, n_steps, model.n_in))
    a, b = (cs.simulate(model, X, engine=name) for name in ("compiled", "events"))
    assert np.array_equal(a.y, b.y) and np.array_equal(a.h, b.h)
    assert a.trace.summary()["macs"] == b.trace.summary()["macs"]
