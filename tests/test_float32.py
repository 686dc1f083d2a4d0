"""dtype = "float32" end to end (DESIGN section 12): both engines agree bit for bit at float32, float32 is
within a measured tolerance of float64, training works at float32, bytes halve, a bad dtype is refused."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clocksim as cs
from clocksim.engine.compiled import MODULE_MAJOR, STEP_MAJOR, forward_arrays, schedule_order
from clocksim.engine.events import EventEngine
from clocksim.engine.plan import plan_for
from helpers import model_strategy, random_model

#: Measured on the models below (tanh, weights N(0, 0.5^2), 40-60 steps): the largest |y32 - y64| relative
#: to max |y64| was 9e-8 .. 3.3e-7; a float32 rounding is 6e-8, and the recurrence adds a few of them a step.
Y_TOLERANCE = 1e-4


def _models(rng):
    yield "slow-to-fast", random_model(rng, g=4, sizes=[3, 5, 2, 8], periods=[1, 2, 4, 8], connectivity="slow-to-fast",
                                       n_in=3, n_out=2)
    yield "dense", random_model(rng, g=3, periods=[1, 3, 5], connectivity="dense", n_in=2, n_out=2)
    yield "custom", random_model(rng, g=4, periods=[1, 2, 3, 7], connectivity="custom", n_in=1, n_out=1)
    yield "sigmoid", random_model(rng, g=3, periods=[1, 2, 4], activation="sigmoid", output_activation="softmax",
                                  n_in=2, n_out=3)
    yield "relu", random_model(rng, g=2, periods=[1, 3], activation="relu", output_activation="tanh", n_in=2, n_out=1)
    yield "buffered", random_model(rng, g=3, periods=[1, 2, 4], connectivity="slow-to-fast", n_in=2, n_out=1,
                                   input_mode=["latest", "mean", "max"])


def _every_engine(model, X):
    """(name, y, h) of every engine and path on input X (B, L, n_in)."""
    out = []
    for engine in ("compiled", "events", EventEngine(compute=cs.ComputeModel(cores=2)),
                   EventEngine(latency=cs.LinkLatency(0.0, {(1, 0): 0.0}) if model.g > 1 else None)):
        r = cs.simulate(model, X, engine=engine)
        out.append((str(engine), r.y, r.h))
    plan = plan_for(model)
    active = model.activity(X.shape[1])
    for order in (MODULE_MAJOR, STEP_MAJOR):
        if order == MODULE_MAJOR and schedule_order(plan) != MODULE_MAJOR:
            continue
        Z, Y = forward_arrays(plan, X, active, order=order)
        out.append((order, Y.transpose(1, 0, 2), Z[1:, :, :model.n].transpose(1, 0, 2)))
    return out


def _assert_same_bits(model, X):
    runs = _every_engine(model, X)
    name0, y0, h0 = runs[0]
    assert y0.dtype == np.float32 and h0.dtype == np.float32
    for name, y, h in runs[1:]:
        assert y.dtype == np.float32 and h.dtype == np.float32, name
        assert np.array_equal(y, y0) and np.array_equal(h, h0), f"{name} differs from {name0}"


@pytest.mark.parametrize("B", [1, 3])
def test_every_engine_gives_the_same_float32_bits(rng, B):
    for name, model in _models(rng):
        m32 = model.astype("float32")
        X = rng.normal(size=(B, 45, model.n_in))
        _assert_same_bits(m32, X)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=model_strategy(st.integers(1, 6).map(cs.Periodic), 4), B=st.integers(1, 3), L=st.integers(1, 30),
       seed=st.integers(0, 2**32 - 1))
def test_random_models_agree_bit_for_bit_at_float32(model, B, L, seed):
    X = np.random.default_rng(seed).normal(size=(B, L, model.n_in))
    _assert_same_bits(model.astype("float32"), X)


def test_float32_is_within_the_stated_tolerance_of_float64(rng):
    for name, model in _models(rng):
        X = rng.normal(size=(3, 60, model.n_in))
        r64 = cs.simulate(model, X, engine="compiled")
        r32 = cs.simulate(model.astype("float32"), X, engine="compiled")
        scale = np.abs(r64.y).max()
        err = np.abs(r32.y.astype(np.float64) - r64.y).max() / scale
        assert err < Y_TOLERANCE, (name, err)
        assert err > 0, name                      # float32 really ran (a float64 run would match exactly)
        assert np.abs(r32.h - r64.h).max() < Y_TOLERANCE * max(1.0, np.abs(r64.h).max()), name


def test_dtype_api_and_the_summary(rng):
    model = cs.ClockworkRNN(2, 1, [3, 3], [1, 2], seed=1)
    assert model.dtype == "float64"
    m32 = model.astype("float32")
    assert m32.dtype == "float32" and model.dtype == "float64"             # a copy: the original is unchanged
    assert all(p.dtype == np.float32 for p in m32.params.values())
    assert all(p.dtype == np.float64 for p in model.params.values())
    np.testing.assert_array_equal(m32.params["W_in"], model.params["W_in"].astype(np.float32))
    direct = cs.ClockworkRNN(2, 1, [3, 3], [1, 2], seed=1, dtype="float32")
    for k, v in direct.params.items():
        np.testing.assert_array_equal(v, m32.params[k])
    m32.set_params(b=np.ones(6))                                           # set_params keeps the dtype
    assert m32.params["b"].dtype == np.float32
    assert m32.astype(np.float64).dtype == "float64"
    r = cs.simulate(m32, np.ones((5, 2), dtype=np.float64))                # inputs cast at the boundary
    assert r.y.dtype == np.float32 and r.h.dtype == np.float32
    assert r.trace.summary()["dtype"] == "float32"
    assert cs.simulate(model, np.ones((5, 2))).trace.summary()["dtype"] == "float64"
    lstm = cs.LSTM(2, 1, 4, dtype="float32")
    y, h = lstm.forward(np.ones((6, 2)))
    assert lstm.dtype == "float32" and y.dtype == np.float32 and h.dtype == np.float32
    X, T = np.random.default_rng(2).normal(size=(2, 8, 2)), np.random.default_rng(3).normal(size=(2, 8, 1))
    lstm64 = cs.LSTM(2, 1, 4)
    loss32, g32 = lstm.loss_and_grad(X, T)
    loss64, g64 = lstm64.loss_and_grad(X, T)
    assert abs(loss32 - loss64) < 1e-5 * abs(loss64)
    for k in g64:
        assert g32[k].dtype == np.float32 and np.abs(g32[k] - g64[k]).max() < 1e-3 * max(np.abs(g64[k]).max(), 1e-3), k


@pytest.mark.parametrize("bad", ["float16", "double64", 3, None, np.int32])
def test_a_bad_dtype_is_refused_naming_it(bad):
    with pytest.raises(cs.errors.InvalidValueError) as info:
        cs.ClockworkRNN(1, 1, [2], [1], dtype=bad)
    text = str(info.value)
    assert "dtype" in text and "'float64' or 'float32'" in text and (repr(bad) in text or bad is None)
    with pytest.raises(cs.errors.InvalidValueError, match="dtype"):
        cs.ClockworkRNN(1, 1, [2], [1]).astype(bad)
    with pytest.raises(cs.errors.InvalidValueError, match="dtype"):
        cs.LSTM(1, 1, 2, dtype=bad)


def test_an_input_outside_float32_range_is_refused():
    m32 = cs.ClockworkRNN(1, 1, [2], [1], dtype="float32")
    with pytest.raises(cs.errors.InvalidValueError, match="float32"):
        cs.simulate(m32, np.array([[1.0], [1e39]]))


def test_float32_gradient_matches_float64_and_training_keeps_float32(rng):
    model = random_model(rng, g=3, sizes=[3, 4, 2], periods=[1, 2, 4], connectivity="slow-to-fast", n_in=2, n_out=2)
    m32 = model.astype("float32")
    X, T = rng.normal(size=(4, 25, 2)), rng.normal(size=(4, 25, 2))
    loss64, g64 = cs.loss_and_grad(model, X, T)
    loss32, g32 = cs.loss_and_grad(m32, X, T)
    assert abs(loss32 - loss64) < 1e-5 * abs(loss64)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        scale = max(np.abs(g64[k]).max(), 1e-3)
        assert np.abs(g32[k] - g64[k]).max() < 1e-3 * scale, k
    assert not np.any(g32["W_rec"][~model.mask])
    for name in ("sgd", "momentum", "nesterov", "adam"):
        cfg = cs.TrainConfig(epochs=3, batch_size=2, optimizer=name, learning_rate=1e-2)
        net = m32.copy()
        history = cs.train(net, X, T, cfg)                                 # in place
        assert net.dtype == "float32" and all(p.dtype == np.float32 for p in net.params.values()), name
        assert len(history.train_loss) == 3 and np.isfinite(history.train_loss).all(), name
        assert not np.array_equal(net.params["W_in"], m32.params["W_in"]), name


def test_optimiser_states_stay_float32():
    params = {"w": np.ones(3, np.float32)}
    grads = {"w": np.full(3, 0.5, np.float32)}
    for opt in (cs.SGD(0.1), cs.Momentum(0.1, 0.9), cs.Nesterov(0.1, 0.9), cs.Adam(0.1)):
        new = opt.step(params, grads)
        assert new["w"].dtype == np.float32, opt
        state = opt.state_dict()
        assert all(v.dtype == np.float32 for k, v in state.items() if k != "t"), opt
        opt.load_state_dict(state)
        assert all(v.dtype == np.float32 for k, v in opt.state_dict().items() if k != "t"), opt


def test_bytes_halve_at_float32(rng):
    model = random_model(rng, g=3, sizes=[3, 4, 2], periods=[1, 2, 4], connectivity="slow-to-fast", n_in=2, n_out=1)
    X = rng.normal(size=(2, 16, 2))
    s64 = cs.simulate(model, X).trace.summary()
    s32 = cs.simulate(model.astype("float32"), X).trace.summary()
    assert s32["macs"] == s64["macs"] and s32["bytes_read"] * 2 == s64["bytes_read"] > 0
    for a, b in zip(s32["per_module"], s64["per_module"]):
        assert 2 * a["bytes_read"] == b["bytes_read"] and 2 * a["bytes_written"] == b["bytes_written"]


def test_the_scenario_key(tmp_path):
    from clocksim.app.scenario import ScenarioError, load_scenario

    path = tmp_path / "s.toml"
    path.write_text('[model]\nperiods = [1, 2, 4]\nmodule_sizes = 3\ndtype = "float32"\n')
    s = load_scenario(path)
    assert s.model.dtype == "float32" and all(p.dtype == np.float32 for p in s.model.params.values())
    path.write_text('[model]\nperiods = [1, 2, 4]\nmodule_sizes = 3\n')
    assert load_scenario(path).model.dtype == "float64"
    path.write_text('[model]\nkind = "rnn"\nmodule_sizes = 4\ndtype = "float32"\n')
    assert load_scenario(path).model.dtype == "float32"
    path.write_text('[model]\nperiods = [1, 2]\ndtype = "half"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "model.dtype: got 'half', expected one of \"float64\", \"float32\"" in str(info.value)


def test_energy_follows_the_dtype(rng):
    from clocksim.sched.device import Device

    device = Device.load("horowitz-45nm")
    model = random_model(rng, g=3, sizes=[3, 4, 2], periods=[1, 2, 4], connectivity="slow-to-fast", n_in=2, n_out=1)
    X = rng.normal(size=(20, 2))
    t64 = cs.simulate(model, X, engine="events", compute=cs.ComputeModel(device=device), step=1e-3).trace
    t32 = cs.simulate(model.astype("float32"), X, engine="events", compute=cs.ComputeModel(device=device),
                      step=1e-3).trace
    e32, e64 = t32.summary()["energy"], t64.summary()["energy"]
    assert e32 == device.energy(t64, "float32")["energy"] != e64              # the run's dtype prices it
    assert t32.summary()["bytes_read"] * 2 == t64.summary()["bytes_read"]
