"""Optimisers (clocksim.optim): update rules written out by hand, state round-trips, validation."""

import numpy as np
import pytest

import clocksim as cs
from clocksim.train.optim import make_optimizer


def quadratic_grad(theta):
    """Gradient of f(theta) = 0.5 * sum(a * theta^2) with a = (1, 3)."""
    return {"w": np.array([1.0, 3.0]) * theta["w"]}


def run(opt, steps, theta=None):
    theta = theta or {"w": np.array([1.0, -2.0])}
    for _ in range(steps):
        theta = opt.step(theta, quadratic_grad(opt.evaluation_point(theta)))
    return theta


def test_sgd():
    theta = run(cs.SGD(0.1), 2)
    np.testing.assert_allclose(theta["w"], np.array([1.0, -2.0]) * (1 - 0.1 * np.array([1.0, 3.0])) ** 2)


def test_momentum():
    a, lr, mu = np.array([1.0, 3.0]), 0.1, 0.9
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(3):
        v = mu * v - lr * a * w
        w = w + v
    np.testing.assert_allclose(run(cs.Momentum(lr, mu), 3)["w"], w, rtol=1e-15)


def test_nesterov_is_sutskever_2013():
    """v <- mu v - lr grad(theta + mu v); theta <- theta + v."""
    a, lr, mu = np.array([1.0, 3.0]), 0.1, 0.9
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(4):
        v = mu * v - lr * a * (w + mu * v)
        w = w + v
    opt = cs.Nesterov(lr, mu)
    np.testing.assert_allclose(run(opt, 4)["w"], w, rtol=1e-15)
    np.testing.assert_allclose(opt.evaluation_point({"w": w})["w"], w + mu * v, rtol=1e-15)
    assert not np.allclose(run(cs.Momentum(lr, mu), 4)["w"], w)     # it is not classical momentum


def test_adam():
    a, lr, b1, b2, eps = np.array([1.0, 3.0]), 0.01, 0.9, 0.999, 1e-8
    w, m, v = np.array([1.0, -2.0]), 0.0, 0.0
    for t in range(1, 4):
        g = a * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(run(cs.Adam(lr), 3)["w"], w, rtol=1e-15)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_zero_gradient_entries_never_move(name):
    """What keeps W_rec zero outside a CW-RNN's mask: entries whose gradient is always 0 stay put."""
    opt = make_optimizer(name, 0.1)
    theta = {"w": np.array([0.0, 1.0])}
    for _ in range(5):
        theta = opt.step(theta, {"w": np.array([0.0, theta["w"][1]])})
        assert theta["w"][0] == 0.0


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_state_round_trip_continues_exactly(name):
    a = make_optimizer(name, 0.05)
    theta = run(a, 3)
    b = make_optimizer(name, 0.05)
    b.load_state_dict({k: np.array(v) for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(run(a, 3, theta)["w"], run(b, 3, theta)["w"])


def test_validation():
    with pytest.raises(cs.InvalidValueError, match="learning_rate: got -1, expected a number > 0"):
        cs.SGD(-1)
    with pytest.raises(cs.InvalidValueError, match="momentum: got 2, expected a number <= 1"):
        cs.Nesterov(0.1, momentum=2)
    with pytest.raises(cs.InvalidValueError, match="expected values below 1"):
        cs.Adam(0.1, beta1=1.0)
    with pytest.raises(cs.InvalidValueError, match="optimizer: got 'lbfgs'"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(cs.InvalidValueError, match="unexpected state entry 'm/w'"):
        cs.Momentum(0.1).load_state_dict({"m/w": np.zeros(2)})
    with pytest.raises(cs.InvalidValueError, match="no step count"):
        cs.Adam(0.1).load_state_dict({"m/w": np.zeros(2)})
    assert repr(cs.Nesterov(0.1, 0.95)) == "Nesterov(learning_rate=0.1, momentum=0.95)"


@pytest.mark.parametrize("instance, name, settings", [
    (cs.SGD(0.05), "sgd", {"learning_rate": 0.05}),
    (cs.Momentum(0.05, 0.8), "momentum", {"learning_rate": 0.05, "momentum": 0.8}),
    (cs.Nesterov(0.05, 0.95), "nesterov", {"learning_rate": 0.05, "momentum": 0.95}),
    (cs.Adam(0.02, beta1=0.8, beta2=0.99, eps=1e-6), "adam",
     {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
], ids=["sgd", "momentum", "nesterov", "adam"])
def test_train_accepts_an_optimiser_instance(instance, name, settings):
    """train(optimizer=Adam(...)) and TrainConfig(optimizer=...) mean the name with the instance's settings."""
    assert cs.TrainConfig(optimizer=instance) == cs.TrainConfig(optimizer=name, **settings)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 12, 2)), rng.normal(size=(3, 12, 1))
    runs = []
    for kwargs in ({"optimizer": instance}, {"optimizer": name, **settings}):
        model = cs.ClockworkRNN(2, 1, 2, [1, 2], seed=0)
        history = cs.train(model, x, y, epochs=3, progress=False, **kwargs)
        runs.append((history.train_loss, model.params["W_rec"]))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][0][-1] != runs[0][0][0]                    # it trained


def test_an_optimiser_instance_replaces_the_config_settings():
    config = cs.TrainConfig(optimizer=cs.Adam(0.02), learning_rate=0.5)
    assert (config.optimizer, config.learning_rate) == ("adam", 0.02)
    assert cs.TrainConfig.from_dict(config.to_dict()) == config          # still plain data for checkpoints
    with pytest.raises(cs.InvalidValueError, match=r"expected one of .* or an Optimizer"):
        cs.TrainConfig(optimizer=3)
