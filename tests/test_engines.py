"""Every engine against the naive reference (tests/reference.py), and input validation."""

import numpy as np
import pytest
from helpers import random_model, randomize
from reference import reference_model

import clocksim as cs

TOL = 1e-10


def check_against_reference(model, X, engine):
    res = cs.simulate(model, X, engine=engine)
    y_ref, h_ref = reference_model(model, X)
    assert res.y.shape == y_ref.shape and res.h.shape == h_ref.shape
    np.testing.assert_allclose(res.h, h_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.y, y_ref, rtol=0, atol=TOL)
    return res


@pytest.mark.parametrize("periods", [[1, 2, 4, 8], [1, 3, 5, 7], [2, 3, 3, 10], [1, 1, 1, 1]])
@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("connectivity", ["slow-to-fast", "dense", "custom"])
@pytest.mark.parametrize("batched", [False, True])
def test_matches_reference(engine, periods, start, connectivity, batched, rng):
    model = random_model(rng, g=4, sizes=[3, 1, 4, 2], periods=periods, start=start,
                         connectivity=connectivity, n_in=2, n_out=3)
    X = rng.normal(size=(3, 30, 2) if batched else (30, 2))
    check_against_reference(model, X, engine)


@pytest.mark.parametrize("seed", range(25))
def test_random_models_match_reference(engine, seed):
    rng = np.random.default_rng(seed)
    model = random_model(rng)
    B = int(rng.integers(1, 4))
    X = rng.normal(size=(B, int(rng.integers(1, 40)), model.n_in))
    check_against_reference(model, X if B > 1 else X[0], engine)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
@pytest.mark.parametrize("output_activation", ["linear", "tanh", "sigmoid", "softmax"])
def test_activations_match_reference(engine, activation, output_activation, rng):
    model = random_model(rng, g=3, periods=[1, 2, 3], activation=activation,
                         output_activation=output_activation, n_out=3)
    check_against_reference(model, rng.normal(size=(2, 12, model.n_in)), engine)


def test_non_contiguous_reads_use_gather(engine, rng):
    # module 0 reads modules 0 and 2 but not 1: rows it reads are not one contiguous range
    mask = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 0]], dtype=bool)
    model = random_model(rng, g=3, sizes=[2, 3, 2], periods=[1, 2, 3], connectivity=mask, n_in=2, n_out=1)
    from clocksim.engine.plan import plan_for
    assert plan_for(model).table[0, 2] == -1 and plan_for(model).table[2, 2] == -1
    check_against_reference(model, rng.normal(size=(2, 20, 2)), engine)


def test_no_input_generator(engine, rng):
    model = randomize(cs.ClockworkRNN(0, 1, [3, 3, 3], [1, 2, 4]), rng)
    res = check_against_reference(model, np.zeros((25, 0)), engine)
    res2 = cs.simulate(model, n_steps=25, engine=engine)
    np.testing.assert_array_equal(res.y, res2.y)


def test_module_reading_nothing(engine, rng):
    mask = np.zeros((2, 2), dtype=bool)
    model = randomize(cs.ClockworkRNN(0, 1, [2, 2], [1, 2], connectivity=mask), rng)
    res = check_against_reference(model, np.zeros((6, 0)), engine)
    # with no inputs at all an active module computes f(b), a constant
    np.testing.assert_allclose(res.h[0, :2], np.tanh(model.params["b"][:2]), atol=1e-15)


def test_plain_rnn(engine, rng):
    model = randomize(cs.ClockworkRNN(3, 2, [6], [1]), rng)
    check_against_reference(model, rng.normal(size=(40, 3)), engine)


def test_single_step_single_unit(engine, rng):
    model = randomize(cs.ClockworkRNN(1, 1, [1], [1]), rng)
    check_against_reference(model, rng.normal(size=(1, 1)), engine)


def test_held_state_is_bit_identical(engine, rng):
    model = random_model(rng, g=3, periods=[1, 3, 7], phases=False, start=0, n_in=2)
    res = cs.simulate(model, rng.normal(size=(50, 2)), engine=engine)
    act = model.activity(50)
    for i in range(model.g):
        rows = model.rows(i)
        for s in range(1, 50):
            if not act[s, i]:
                assert np.array_equal(res.h[s, rows], res.h[s - 1, rows])


def test_slow_module_ignores_fast_module(engine, rng):
    """Causality under slow-to-fast wiring: a slow module never sees a fast one."""
    model = random_model(rng, g=3, periods=[1, 2, 4], connectivity="slow-to-fast", n_in=1)
    X = rng.normal(size=(40, 1))
    base = cs.simulate(model, X, engine=engine)
    W = np.array(model.params["W_rec"])
    W[model.rows(0), :] *= 3.0              # change only the fastest module's weights
    model.set_params(W_rec=W)
    changed = cs.simulate(model, X, engine=engine)
    slow = slice(model.rows(1).start, model.n)
    np.testing.assert_array_equal(base.h[:, slow], changed.h[:, slow])
    assert not np.array_equal(base.h[:, model.rows(0)], changed.h[:, model.rows(0)])


def test_batch_rows_are_independent(engine, rng):
    model = random_model(rng, g=3, periods=[1, 2, 5], n_in=2)
    X = rng.normal(size=(4, 15, 2))
    res = cs.simulate(model, X, engine=engine)
    one = cs.simulate(model, X[2], engine=engine)
    np.testing.assert_allclose(res.h[2], one.h, rtol=0, atol=1e-13)


class TestInputValidation:
    def model(self):
        return cs.ClockworkRNN(2, 1, [2, 2], [1, 2])

    @pytest.mark.parametrize("x,err,msg", [
        (np.zeros((5, 3)), cs.ShapeError, r"x: got shape \(5, 3\), expected \(L, 2\) or \(B, L, 2\)"),
        (np.zeros(5), cs.ShapeError, r"x: got shape \(5,\), expected a 2-D or 3-D array"),
        (np.zeros((0, 2)), cs.ShapeError, "expected at least one step"),
        (np.array([[1.0, np.nan]]), cs.InvalidValueError, r"x: contains nan at index \(0, 1\)"),
        (np.array([[1.0, np.inf]]), cs.InvalidValueError, "x: contains inf"),
        (np.array([["a", "b"]]), cs.ShapeError, "x: got an array of dtype <U1"),
        (np.ones((3, 2), dtype=bool), cs.ShapeError, "x: got an array of dtype bool"),
        (None, cs.InvalidValueError, "x: got None, but the model has n_in=2"),
    ])
    def test_bad_x(self, engine, x, err, msg):
        with pytest.raises(err, match=msg):
            cs.simulate(self.model(), x, engine=engine)

    def test_unknown_engine(self):
        with pytest.raises(cs.InvalidValueError, match="engine: got 'gpu', expected one of 'compiled'"):
            cs.simulate(self.model(), np.zeros((3, 2)), engine="gpu")

    def test_unknown_option(self, engine):
        with pytest.raises(cs.InvalidValueError, match="unknown option"):
            cs.simulate(self.model(), np.zeros((3, 2)), engine=engine, turbo=True)

    def test_n_steps_disagreeing_with_x(self):
        with pytest.raises(cs.InvalidValueError, match="n_steps: got 4, but x has 3 steps"):
            cs.simulate(self.model(), np.zeros((3, 2)), n_steps=4)

    def test_integer_input_accepted(self, engine):
        res = cs.simulate(self.model(), np.ones((3, 2), dtype=int), engine=engine)
        assert res.y.shape == (3, 1)

    def test_not_a_model(self):
        with pytest.raises(cs.InvalidValueError, match="model: got dict"):
            cs.simulate({}, np.zeros((3, 2)))


def test_compiled_rejects_asynchronous_clocks():
    model = cs.ClockworkRNN(1, 1, [2], [cs.Explicit([0.5, 1.5])], connectivity="dense")
    with pytest.raises(cs.UnsupportedError, match="use engine='events'"):
        cs.simulate(model, np.zeros((3, 1)), engine="compiled")
