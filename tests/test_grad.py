"""Losses and BPTT gradients of the Clockwork RNN (clocksim.grad).

Every gradient is compared with central finite differences of the loss
(relative error <= 1e-6), on small random models of every kind; the loss itself
is compared with the naive reference CW-RNN.
"""

import numpy as np
import pytest
from gradcheck import assert_grads_match, data
from helpers import random_model, randomize
from reference import reference_model

import clocksim as cs


# ------------------------------------------------------------------ gradients vs finite differences
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("batched", [True, False])
def test_random_models_mse(seed, batched):
    """Random sizes, periods with phases, start 0 or 1, slow-to-fast / dense / custom wiring, h0."""
    rng = np.random.default_rng(100 + seed)
    model = random_model(rng)
    x, t = data(rng, model, 3 if batched else 0, int(rng.integers(1, 14)))
    assert_grads_match(model, x, t, "mse")


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("connectivity", ["slow-to-fast", "dense", "custom"])
def test_wirings_and_start(start, connectivity, rng):
    model = random_model(rng, g=4, sizes=[1, 3, 2, 4], periods=[1, 2, 3, 5], start=start,
                         connectivity=connectivity, n_in=2, n_out=2)
    x, t = data(rng, model, 2, 12)
    assert_grads_match(model, x, t, "mse")


def test_non_contiguous_reads(rng):
    """A custom mask whose modules read scattered modules (the kernels' gather path)."""
    mask = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0]], dtype=bool)
    model = randomize(cs.ClockworkRNN(2, 2, [2, 1, 3, 2], [cs.Periodic(1), cs.Periodic(2, 1), 3,
                                                            cs.Periodic(4, 2)], connectivity=mask, start=1), rng)
    x, t = data(rng, model, 3, 11)
    assert_grads_match(model, x, t, "mse")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
@pytest.mark.parametrize("output_activation", ["linear", "tanh", "sigmoid", "softmax"])
def test_activations_mse(activation, output_activation, rng):
    model = random_model(rng, g=3, periods=[1, 2, 4], n_in=2, n_out=3, activation=activation,
                         output_activation=output_activation)
    x, t = data(rng, model, 2, 9)
    assert_grads_match(model, x, t, "mse")


@pytest.mark.parametrize("labels", ["every", "last", "partial"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("output_activation", ["linear", "softmax", "tanh"])
def test_xent(labels, batched, output_activation, rng):
    """Cross-entropy on the logits, whatever the output activation; per step, last step, -1 labels."""
    model = random_model(rng, g=3, periods=[1, 2, 3], n_in=2, n_out=3, output_activation=output_activation)
    x, t = data(rng, model, 3 if batched else 0, 10, "xent", labels)
    assert_grads_match(model, x, t, "xent")


def test_generator_without_input(rng):
    """The paper's sequence generation: no input, one linear output (x may be None)."""
    model = randomize(cs.ClockworkRNN(0, 1, [2, 2, 1, 1], [1, 2, 4, 8], start=1), rng)
    t = rng.normal(size=(20, 1))
    value, grads = assert_grads_match(model, None, t, "mse")
    v2, g2 = cs.loss_and_grad(model, np.zeros((20, 0)), t)
    assert value == v2 and all(np.array_equal(grads[k], g2[k]) for k in grads)


# ------------------------------------------------------------------ semantics of the backward pass
def test_zero_outside_mask_even_when_forced(rng):
    model = random_model(rng, g=4, periods=[1, 2, 4, 8], connectivity="slow-to-fast", n_in=1, n_out=2)
    x, t = data(rng, model, 4, 30)
    _, grads = cs.loss_and_grad(model, x, t)
    assert np.all(grads["W_rec"][~model.mask] == 0.0)
    assert np.any(grads["W_rec"][model.mask] != 0.0)


def test_module_that_never_runs_gets_no_weight_gradient(rng):
    """Only active modules pass error to their weights; a held module's error flows back to h0."""
    model = randomize(cs.ClockworkRNN(1, 1, [2, 3], [1, 50], start=1), rng)   # module 1 never fires in 10 steps
    x, t = data(rng, model, 2, 10)
    _, grads = cs.loss_and_grad(model, x, t)
    rows = model.rows(1)
    assert np.all(grads["W_rec"][rows] == 0.0) and np.all(grads["W_in"][rows] == 0.0)
    assert np.all(grads["b"][rows] == 0.0)
    assert np.all(grads["h0"][rows] != 0.0)


def test_batch_is_the_mean_of_its_sequences(rng):
    model = random_model(rng, g=3, periods=[1, 2, 3], n_in=2, n_out=2)
    x, t = data(rng, model, 4, 8)
    value, grads = cs.loss_and_grad(model, x, t)
    singles = [cs.loss_and_grad(model, x[q], t[q]) for q in range(4)]
    assert value == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(grads[k], np.mean([s[1][k] for s in singles], axis=0), rtol=1e-12, atol=1e-15)


def test_grads_are_fresh_arrays(rng):
    model = random_model(rng, n_in=1)
    x, t = data(rng, model, 2, 5)
    _, g1 = cs.loss_and_grad(model, x, t)
    for k, v in g1.items():
        assert v.flags.writeable and not np.shares_memory(v, model.params[k])


# ------------------------------------------------------------------ loss values vs the naive reference
@pytest.mark.parametrize("output_activation", ["linear", "tanh", "softmax"])
def test_mse_is_the_mean_over_all_elements(output_activation, rng):
    model = random_model(rng, n_out=3, output_activation=output_activation)
    x, t = data(rng, model, 3, 7)
    y, _ = reference_model(model, x)
    assert cs.loss_and_grad(model, x, t)[0] == pytest.approx(np.mean((y - t) ** 2), rel=1e-12)
    assert cs.evaluate(model, x, t) == {"loss": pytest.approx(np.mean((y - t) ** 2), rel=1e-12)}


@pytest.mark.parametrize("labels", ["every", "last", "partial"])
def test_xent_is_the_mean_over_labelled_steps(labels, rng):
    model = random_model(rng, n_out=4, output_activation="softmax")
    x, t = data(rng, model, 3, 6, "xent", labels)
    probs, _ = reference_model(model, x)                                       # softmax outputs (B, L, 4)
    lab = t if labels != "last" else np.concatenate([np.full((3, 5), -1), t[:, None]], axis=1)
    picked = [np.log(probs[q, s, lab[q, s]]) for q in range(3) for s in range(6) if lab[q, s] >= 0]
    expected = -np.mean(picked)
    assert cs.loss_and_grad(model, x, t, "xent")[0] == pytest.approx(expected, rel=1e-12)
    hits = [np.argmax(probs[q, s]) == lab[q, s] for q in range(3) for s in range(6) if lab[q, s] >= 0]
    metrics = cs.evaluate(model, x, t, "xent")
    assert metrics["loss"] == pytest.approx(expected, rel=1e-12)
    assert metrics["accuracy"] == pytest.approx(np.mean(hits))


def test_xent_ignores_the_output_activation(rng):
    """Cross-entropy reads the logits W_out h + b_out, whatever output_activation is."""
    models = [randomize(cs.ClockworkRNN(2, 3, [2, 3], [1, 2], output_activation=a, seed=1), np.random.default_rng(7))
              for a in ("linear", "tanh")]
    x, t = data(rng, models[0], 2, 5, "xent")
    (v0, g0), (v1, g1) = (cs.loss_and_grad(m, x, t, "xent") for m in models)
    assert v0 == v1 and all(np.array_equal(g0[k], g1[k]) for k in g0)
    logits = reference_model(models[0], x)[0]                                   # linear outputs = logits
    lse = np.log(np.exp(logits).sum(-1))
    expected = -np.mean(np.take_along_axis(logits, t[..., None], -1)[..., 0] - lse)
    assert cs.evaluate(models[1], x, t, "xent")["loss"] == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------ validation
def test_bad_loss_name(rng):
    model = random_model(rng, n_in=1)
    with pytest.raises(cs.InvalidValueError, match="loss: got 'l2', expected one of 'mse', 'xent'"):
        cs.loss_and_grad(model, np.zeros((3, 1)), np.zeros((3, model.n_out)), loss="l2")


def test_mse_target_shape(rng):
    model = random_model(rng, n_in=1, n_out=2)
    with pytest.raises(cs.ShapeError, match=r"target: got shape \(3, 1\), expected \(3, 2\)"):
        cs.loss_and_grad(model, np.zeros((3, 1)), np.zeros((3, 1)))
    with pytest.raises(cs.ShapeError, match=r"expected \(2, 3, 2\)"):
        cs.loss_and_grad(model, np.zeros((2, 3, 1)), np.zeros((3, 2)))
    with pytest.raises(cs.InvalidValueError, match="target: contains nan"):
        cs.loss_and_grad(model, np.zeros((3, 1)), np.full((3, 2), np.nan))


def test_xent_target_validation(rng):
    model = random_model(rng, n_in=1, n_out=3)
    x = np.zeros((2, 4, 1))
    with pytest.raises(cs.ShapeError, match="dtype float64, expected integer class labels"):
        cs.loss_and_grad(model, x, np.zeros((2, 4)), "xent")
    with pytest.raises(cs.ShapeError, match=r"expected \(2, 4\) \(a label per step\) or \(2,\)"):
        cs.loss_and_grad(model, x, np.zeros((4, 2), dtype=int), "xent")
    with pytest.raises(cs.InvalidValueError, match=r"label 3 at index \(1, 2\) is outside \[0, 3\)"):
        cs.loss_and_grad(model, x, np.array([[0, 1, 2, 0], [0, 1, 3, 0]]), "xent")
    with pytest.raises(cs.InvalidValueError, match="label -2"):
        cs.loss_and_grad(model, x, np.array([-2, 0]), "xent")
    with pytest.raises(cs.InvalidValueError, match="every label is -1"):
        cs.loss_and_grad(model, x, np.full((2, 4), -1), "xent")


def test_xent_with_one_class_warns(rng):
    model = random_model(rng, n_in=1, n_out=1)
    with pytest.warns(cs.ClocksimWarning, match="n_out=1"):
        value, grads = cs.loss_and_grad(model, np.zeros((3, 1)), np.zeros(3, dtype=int), "xent")
    assert value == 0.0 and np.all(grads["W_out"] == 0.0)


def test_input_validation(rng):
    model = random_model(rng, n_in=2, n_out=1)
    with pytest.raises(cs.InvalidValueError, match="x: got None, but the model has n_in=2"):
        cs.loss_and_grad(model, None, np.zeros((3, 1)))
    with pytest.raises(cs.ShapeError, match=r"x: got shape \(3, 1\), expected \(L, 2\)"):
        cs.loss_and_grad(model, np.zeros((3, 1)), np.zeros((3, 1)))
    gen = random_model(rng, n_in=0, n_out=2)
    with pytest.raises(cs.InvalidValueError, match=r"pass x of shape \(L, 0\)"):
        cs.loss_and_grad(gen, None, np.int64(1), "xent")      # a last-step label: L unknown
    with pytest.raises(cs.InvalidValueError, match="expected a ClockworkRNN or a model with a loss_and_grad"):
        cs.loss_and_grad(object(), np.zeros((3, 1)), np.zeros((3, 1)))


def test_asynchronous_clocks_are_refused(rng):
    model = cs.ClockworkRNN(1, 1, [2, 2], [cs.Periodic(1), cs.Explicit([0.5, 2.25])])
    with pytest.raises(cs.UnsupportedError, match="synchronous clocks"):
        cs.loss_and_grad(model, np.zeros((4, 1)), np.zeros((4, 1)))
