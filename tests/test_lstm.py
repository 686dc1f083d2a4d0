"""The LSTM baseline: forward pass vs a naive numpy LSTM, gradients vs finite differences, init, interface."""

import numpy as np
import pytest
from gradcheck import assert_grads_match, data

import clocksim as cs


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def naive_lstm(params, x, output_activation="linear"):
    """One sequence x (L, n_in), written from the equations in clocksim/model/lstm.py's docstring."""
    n = params["h0"].shape[0]
    h, c = params["h0"].copy(), params["c0"].copy()
    ys, hs = [], []
    for s in range(x.shape[0]):
        a = params["W_rec"] @ h + params["W_in"] @ x[s] + params["b"]
        i, f, g, o = sigmoid(a[:n]), sigmoid(a[n:2 * n]), np.tanh(a[2 * n:3 * n]), sigmoid(a[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        z = params["W_out"] @ h + params["b_out"]
        ys.append({"linear": z, "tanh": np.tanh(z), "sigmoid": sigmoid(z),
                   "softmax": np.exp(z - z.max()) / np.exp(z - z.max()).sum()}[output_activation])
        hs.append(h)
    return np.array(ys), np.array(hs)


def random_lstm(rng, n_in=None, n_out=None, n=None, output_activation="linear"):
    model = cs.LSTM(n_in if n_in is not None else int(rng.integers(0, 3)),
                    n_out if n_out is not None else int(rng.integers(1, 4)),
                    n if n is not None else int(rng.integers(1, 5)), output_activation=output_activation,
                    seed=int(rng.integers(0, 100)))
    model.set_params(**{k: rng.normal(0.0, 0.5, v.shape) for k, v in model.params.items()})
    return model


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("output_activation", ["linear", "tanh", "sigmoid", "softmax"])
def test_forward_matches_naive_lstm(output_activation, rng):
    model = random_lstm(rng, n_in=2, n_out=3, n=4, output_activation=output_activation)
    x = rng.normal(size=(3, 17, 2))
    y, h = model.forward(x)
    for q in range(3):
        y_ref, h_ref = naive_lstm(model.params, x[q], output_activation)
        np.testing.assert_allclose(y[q], y_ref, rtol=0, atol=1e-13)
        np.testing.assert_allclose(h[q], h_ref, rtol=0, atol=1e-13)
    y1, h1 = model.forward(x[1])
    np.testing.assert_allclose(y1, y[1], rtol=0, atol=1e-14)     # B = 1 runs GEMV, B > 1 GEMM


def test_forward_without_input(rng):
    model = random_lstm(rng, n_in=0, n_out=1, n=3)
    y, h = model.forward(None, n_steps=12)
    y_ref, h_ref = naive_lstm(model.params, np.zeros((12, 0)))
    assert y.shape == (12, 1) and h.shape == (12, 3)
    np.testing.assert_allclose(y, y_ref, atol=1e-13)


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("batched", [True, False])
def test_gradients_mse(seed, batched):
    rng = np.random.default_rng(300 + seed)
    model = random_lstm(rng, output_activation=["linear", "tanh", "sigmoid", "softmax"][seed % 4])
    x, t = data(rng, model, 2 if batched else 0, int(rng.integers(1, 12)))
    assert_grads_match(model, x, t, "mse")


@pytest.mark.parametrize("labels", ["every", "last", "partial"])
@pytest.mark.parametrize("batched", [True, False])
def test_gradients_xent(labels, batched, rng):
    model = random_lstm(rng, n_in=2, n_out=3, n=3)
    x, t = data(rng, model, 3 if batched else 0, 9, "xent", labels)
    assert_grads_match(model, x, t, "xent")


def test_gradients_generator_without_input(rng):
    model = random_lstm(rng, n_in=0, n_out=1, n=3)
    assert_grads_match(model, None, rng.normal(size=(15, 1)), "mse")


def test_loss_and_evaluate_agree(rng):
    model = random_lstm(rng, n_in=1, n_out=3, n=2)
    x, t = data(rng, model, 2, 6, "xent")
    value, _ = cs.loss_and_grad(model, x, t, "xent")
    metrics = cs.evaluate(model, x, t, "xent")
    y, _ = model.forward(x)                                    # accuracy by hand: labelled steps whose argmax hits
    labelled = t >= 0
    assert metrics["loss"] == value and metrics["accuracy"] == np.mean(np.argmax(y, axis=-1)[labelled] == t[labelled])
    x, t = data(rng, model, 2, 6)
    y, _ = model.forward(x)
    assert cs.evaluate(model, x, t)["loss"] == pytest.approx(np.mean((y - t) ** 2), rel=1e-13)


# ------------------------------------------------------------------ initialisation and parameters
def test_paper_initialisation():
    model = cs.LSTM(3, 2, 30, seed=4)
    p, n = model.params, 30
    assert np.all(p["b"][n:2 * n] == 5.0)                       # forget gate starts open
    assert np.all(p["b"][:n] == 0.0) and np.all(p["b"][2 * n:] == 0.0)
    assert np.all(p["h0"] == 0.0) and np.all(p["c0"] == 0.0) and np.all(p["b_out"] == 0.0)
    weights = np.concatenate([p["W_in"].ravel(), p["W_rec"].ravel(), p["W_out"].ravel()])
    assert abs(weights.std() - 0.1) < 0.005 and abs(weights.mean()) < 0.005
    again = cs.LSTM(3, 2, 30, seed=4)
    assert all(np.array_equal(p[k], again.params[k]) for k in p)
    assert cs.LSTM(3, 2, 30, forget_bias=1.0).params["b"][n] == 1.0


def test_parameter_shapes_and_count():
    model = cs.LSTM(3, 2, 5)
    assert {k: v.shape for k, v in model.params.items()} == model.param_shapes() == {
        "W_in": (20, 3), "W_rec": (20, 5), "b": (20,), "W_out": (2, 5), "b_out": (2,), "h0": (5,), "c0": (5,)}
    assert model.n_params == 20 * 3 + 20 * 5 + 20 + 2 * 5 + 2


def test_set_params_validates():
    model = cs.LSTM(1, 1, 2)
    with pytest.raises(cs.ShapeError, match=r"W_rec: got shape \(2, 2\), expected \(8, 2\)"):
        model.set_params(W_rec=np.zeros((2, 2)))
    with pytest.raises(cs.InvalidValueError, match="unknown parameter 'W_hh'"):
        model.set_params(W_hh=np.zeros((8, 2)))
    with pytest.raises(cs.InvalidValueError, match="b: contains nan"):
        model.set_params(b=np.full(8, np.nan))
    version = model.version
    model.set_params(b=np.ones(8))
    assert model.version == version + 1 and np.all(model.params["b"] == 1.0)
    with pytest.raises(ValueError):
        model.params["b"][0] = 2.0                                 # read-only


def test_copy_is_independent(rng):
    model = random_lstm(rng, n_in=1, n_out=1, n=2)
    other = model.copy()
    other.set_params(W_rec=np.zeros((8, 2)))
    assert np.any(model.params["W_rec"] != 0.0)
    x = rng.normal(size=(5, 1))
    assert not np.array_equal(model.forward(x)[0], other.forward(x)[0])


def test_constructor_validation():
    with pytest.raises(cs.InvalidValueError, match="n_hidden: got 0"):
        cs.LSTM(1, 1, 0)
    with pytest.raises(cs.InvalidValueError, match="output_activation: got 'relu'"):
        cs.LSTM(1, 1, 2, output_activation="relu")
    with pytest.raises(cs.ShapeError, match=r"x: got shape \(4, 2\)"):
        cs.LSTM(1, 1, 2).forward(np.zeros((4, 2)))


# ------------------------------------------------------------------ training interface
def test_trains_with_the_same_interface():
    steps = np.arange(48)
    target = (0.6 * np.sin(2 * np.pi * steps / 12))[:, None]
    model = cs.LSTM(0, 1, 4, seed=0)
    before = cs.evaluate(model, None, target)["loss"]
    history = cs.train(model, None, target, epochs=300, optimizer="adam", learning_rate=0.1)
    assert history.train_loss[-1] < 0.05 * before
    assert cs.evaluate(model, None, target)["loss"] < 0.05 * before
