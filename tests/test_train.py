"""The training loop (clocksim.train): learning, minibatches and noise, early stopping, checkpoints."""

import json
import os

import numpy as np
import pytest

import clocksim as cs
from clocksim.train.checkpoint import load_checkpoint


def generation_task(L=48):
    """The paper's sequence generation in small: no input, one linear output, a sum of two sines."""
    steps = np.arange(L)
    return (0.5 * np.sin(2 * np.pi * steps / 12) + 0.3 * np.sin(2 * np.pi * steps / 31))[:, None]   # (L, 1)


def regression_data(seed=0, N=10, L=12):
    """Sequences with inputs: the target is a running sum of the input."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, L, 2))
    return x, 0.3 * np.cumsum(x[..., :1] - x[..., 1:], axis=1)             # (N, L, 2), (N, L, 1)


def small_cwrnn(seed=0, n_in=2):
    return cs.ClockworkRNN(n_in, 1, [3, 2, 2], [1, 2, 4], seed=seed)


class Recorder:
    """A minimal trainable model: loss 0.5 * |w|^2 (gradient w); records every minibatch it sees.

    ``evaluate`` returns the next value of a scripted validation curve, so early stopping
    can be tested on a known sequence of losses.
    """

    n_in, n_out = 1, 1

    def __init__(self, val_curve=()):
        self._w = np.array([1.0, -2.0])
        self.batches = []
        self.val_curve = list(val_curve)

    @property
    def params(self):
        return {"w": self._w.copy()}

    def set_params(self, **arrays):
        self._w = np.array(arrays["w"], dtype=float)

    def loss_and_grad(self, x, target, loss="mse"):
        self.batches.append(np.array(x))
        return 0.5 * float(self._w @ self._w), {"w": self._w.copy()}

    def evaluate(self, x, target, loss="mse"):
        return {"loss": self.val_curve.pop(0)}


# ------------------------------------------------------------------ learning
def test_lowers_the_loss_on_sequence_generation():
    target = generation_task()
    model = cs.ClockworkRNN(0, 1, [4, 4, 4, 4], [1, 2, 4, 8], seed=0)
    before = cs.evaluate(model, None, target)["loss"]
    history = cs.train(model, None, target, epochs=300, optimizer="nesterov", learning_rate=0.1, momentum=0.9)
    after = cs.evaluate(model, None, target)["loss"]
    assert len(history) == 300 and history.epoch == list(range(1, 301))
    assert after < 0.05 * before
    assert history.train_loss[0] == pytest.approx(before)
    assert np.all(model.params["W_rec"][~model.mask] == 0.0)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.3), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.02)])
def test_every_optimizer_learns(optimizer, lr):
    x, t = regression_data()
    model = small_cwrnn()
    before = cs.evaluate(model, x, t)["loss"]
    cs.train(model, x, t, optimizer=optimizer, learning_rate=lr, epochs=60, batch_size=5)
    assert cs.evaluate(model, x, t)["loss"] < 0.5 * before


def test_simple_rnn_learns():
    x, t = regression_data()
    model = cs.simple_rnn(2, 1, 6)
    before = cs.evaluate(model, x, t)["loss"]
    cs.train(model, x, t, epochs=100, learning_rate=0.05, momentum=0.9, batch_size=5)
    assert cs.evaluate(model, x, t)["loss"] < 0.2 * before


def test_classification_with_validation():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 10, 1))
    labels = (x[:, :, 0].sum(axis=1) > 0).astype(int)          # class of the whole sequence, read at the last step
    model = cs.ClockworkRNN(1, 2, [3, 3], [1, 2], seed=0)
    history = cs.train(model, x[:30], labels[:30], loss="xent", optimizer="adam", learning_rate=0.05, epochs=40,
                       batch_size=10, validation=(x[30:], labels[30:]))
    assert len(history.val_loss) == len(history.val_accuracy) == 40
    assert history.val_loss[-1] < history.val_loss[0]
    assert cs.evaluate(model, x[:30], labels[:30], "xent")["accuracy"] >= 0.9


def test_xent_sequence_without_any_label_is_refused():
    x = np.zeros((3, 4, 1))
    labels = np.array([[0, 1, -1, 1], [-1, -1, -1, -1], [1, 1, 1, 0]])
    with pytest.raises(cs.InvalidValueError, match="target: sequence 1 has no labelled step"):
        cs.train(cs.ClockworkRNN(1, 2, [2], [1]), x, labels, loss="xent", epochs=1)


# ------------------------------------------------------------------ minibatches, shuffling, noise
def test_minibatches_shuffling_and_noise_follow_the_generator():
    X = np.arange(10, dtype=float)[:, None, None] * np.ones((10, 3, 1))    # sequence q is filled with q
    model = Recorder()
    cs.train(model, X, np.zeros((10, 3, 1)), optimizer="sgd", learning_rate=0.1, epochs=2, batch_size=4,
             input_noise=0.5, seed=7)
    rng = np.random.default_rng(7)
    expected = []
    for _ in range(2):
        order = rng.permutation(10)
        for lo in range(0, 10, 4):
            idx = order[lo:lo + 4]
            expected.append(X[idx] + rng.normal(0.0, 0.5, X[idx].shape))
    assert [b.shape[0] for b in model.batches] == [4, 4, 2, 4, 4, 2]
    for got, want in zip(model.batches, expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(model.params["w"], np.array([1.0, -2.0]) * 0.9 ** 6, rtol=1e-14)


def test_no_shuffle_keeps_the_order():
    X = np.arange(6, dtype=float)[:, None, None] * np.ones((6, 2, 1))
    model = Recorder()
    cs.train(model, X, np.zeros((6, 2, 1)), optimizer="sgd", epochs=1, batch_size=4, shuffle=False)
    assert [b[:, 0, 0].tolist() for b in model.batches] == [[0, 1, 2, 3], [4, 5]]


def test_same_seed_same_run_different_seed_different_run():
    x, t = regression_data()
    cfg = cs.TrainConfig(learning_rate=0.05, epochs=5, batch_size=3, input_noise=0.1)
    runs = []
    for seed in (1, 1, 2):
        model = small_cwrnn()
        h = cs.train(model, x, t, cfg, seed=seed)
        runs.append((model.params, h.train_loss))
    assert all(np.array_equal(runs[0][0][k], runs[1][0][k]) for k in runs[0][0]) and runs[0][1] == runs[1][1]
    assert not np.array_equal(runs[0][0]["W_rec"], runs[2][0]["W_rec"])
    model = small_cwrnn()
    cs.train(model, x, t, cfg, rng=np.random.default_rng(1))               # a generator passed in = its seed
    assert all(np.array_equal(model.params[k], runs[0][0][k]) for k in runs[0][0])


# ------------------------------------------------------------------ optimiser plumbing
def test_nesterov_takes_the_gradient_at_the_look_ahead_point():
    model = Recorder()
    cs.train(model, np.zeros((1, 2, 1)), np.zeros((1, 2, 1)), optimizer="nesterov", learning_rate=0.1,
             momentum=0.5, epochs=3)
    theta, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(3):                                    # gradient of 0.5 |w|^2 at theta + mu v is theta + mu v
        v = 0.5 * v - 0.1 * (theta + 0.5 * v)
        theta = theta + v
    np.testing.assert_allclose(model.params["w"], theta, rtol=1e-15)


def test_clipping_bounds_the_step():
    x, t = regression_data()
    model = small_cwrnn()
    start = model.params
    h = cs.train(model, x, t, optimizer="sgd", learning_rate=0.1, epochs=1, clip_norm=1e-3)
    step = np.sqrt(sum(np.sum((model.params[k] - start[k]) ** 2) for k in start))
    assert step == pytest.approx(0.1 * 1e-3, rel=1e-9)
    assert h.clipped == [1] and h.grad_norm[0] > 1e-3


def test_freeze_keeps_parameters():
    x, t = regression_data()
    model = small_cwrnn()
    before = model.params
    cs.train(model, x, t, epochs=3, learning_rate=0.05, freeze=("h0", "b_out"))
    assert np.array_equal(model.params["h0"], before["h0"]) and np.array_equal(model.params["b_out"], before["b_out"])
    assert not np.array_equal(model.params["W_out"], before["W_out"])
    with pytest.raises(cs.InvalidValueError, match="freeze: unknown parameter"):
        cs.train(model, x, t, epochs=1, freeze=("W_hh",))


def test_mask_stays_zero_with_every_optimizer():
    x, t = regression_data()
    for optimizer in ("sgd", "momentum", "nesterov", "adam"):
        model = cs.ClockworkRNN(2, 1, [2, 2, 2], [1, 2, 4], seed=1)
        cs.train(model, x, t, optimizer=optimizer, learning_rate=0.05, epochs=3, batch_size=4)
        assert np.all(model.params["W_rec"][~model.mask] == 0.0)


# ------------------------------------------------------------------ early stopping
def test_early_stopping_after_patience_restores_the_best():
    model = Recorder(val_curve=[5.0, 4.0, 4.5, 4.2, 3.0, 2.0])
    x, t = np.zeros((1, 2, 1)), np.zeros((1, 2, 1))
    h = cs.train(model, x, t, optimizer="sgd", learning_rate=0.5, epochs=6, patience=2, validation=(x, t))
    assert h.epoch == [1, 2, 3, 4] and h.stopped_early
    assert h.val_loss == [5.0, 4.0, 4.5, 4.2] and h.best_epoch == 2 and h.best_loss == 4.0
    np.testing.assert_array_equal(model.params["w"], np.array([1.0, -2.0]) * 0.5 ** 2)   # after epoch 2


def test_min_delta_and_no_restore():
    model = Recorder(val_curve=[5.0, 4.99, 4.98, 1.0])
    x, t = np.zeros((1, 2, 1)), np.zeros((1, 2, 1))
    h = cs.train(model, x, t, optimizer="sgd", learning_rate=0.5, epochs=4, patience=2, min_delta=0.1,
                 restore_best=False, validation=(x, t))
    assert h.epoch == [1, 2, 3] and h.best_epoch == 1
    np.testing.assert_array_equal(model.params["w"], np.array([1.0, -2.0]) * 0.5 ** 3)


def test_paper_patience_on_a_real_model():
    """patience=5 (the paper): a run that stops improving stops 5 epochs after its best epoch."""
    x, t = regression_data()
    model = small_cwrnn()
    h = cs.train(model, x[:6], t[:6], epochs=50, learning_rate=1e-9, patience=5, min_delta=1.0,
                 validation=(x[6:], t[6:]))
    assert h.epoch == [1, 2, 3, 4, 5, 6] and h.best_epoch == 1 and h.stopped_early
    first = small_cwrnn()
    cs.train(first, x[:6], t[:6], epochs=1, learning_rate=1e-9)
    assert all(np.array_equal(model.params[k], first.params[k]) for k in first.params)


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("optimizer", ["nesterov", "adam", "momentum"])
def test_resume_is_exact(tmp_path, optimizer):
    x, t = regression_data(N=9)
    val = regression_data(seed=1, N=3)
    cfg = cs.TrainConfig(optimizer=optimizer, learning_rate=0.03, epochs=6, batch_size=4, input_noise=0.05,
                         clip_norm=1.0, patience=4, seed=11)
    full = small_cwrnn()
    h_full = cs.train(full, x, t, cfg, validation=val)
    ckpt = tmp_path / "run.npz"
    cs.train(small_cwrnn(), x, t, cfg, epochs=3, validation=val, checkpoint=ckpt)
    resumed = small_cwrnn(seed=5)                         # different initial weights: all come from the file
    h_res = cs.train(resumed, x, t, cfg, validation=val, resume=ckpt, checkpoint=ckpt)
    for k in full.params:
        assert np.array_equal(full.params[k], resumed.params[k]), k
    a, b = h_full.to_dict(), h_res.to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert load_checkpoint(ckpt)["meta"]["history"]["epoch"] == h_full.epoch


def test_resume_lstm_is_exact(tmp_path):
    target = generation_task(24)
    cfg = cs.TrainConfig(optimizer="nesterov", learning_rate=0.05, epochs=4, seed=2)
    full = cs.LSTM(0, 1, 3)
    cs.train(full, None, target, cfg)
    cs.train(cs.LSTM(0, 1, 3), None, target, cfg, epochs=2, checkpoint=tmp_path / "c.npz")
    resumed = cs.LSTM(0, 1, 3)
    cs.train(resumed, None, target, cfg, resume=tmp_path / "c.npz")
    assert all(np.array_equal(full.params[k], resumed.params[k]) for k in full.params)


def test_checkpoint_is_plain_data_written_atomically(tmp_path):
    x, t = regression_data()
    path = tmp_path / "ck.npz"
    cs.train(small_cwrnn(), x, t, epochs=5, checkpoint=path, checkpoint_every=2, optimizer="adam")
    assert os.listdir(tmp_path) == ["ck.npz"]                      # no temporary file left behind
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        meta = json.loads(str(data["meta"]))
    assert {"params/W_rec", "params/h0", "optimizer/t", "optimizer/m/W_rec", "optimizer/v/b"} <= keys
    assert meta["format"] == "clocksim-checkpoint" and meta["config"]["optimizer"] == "adam"
    assert meta["history"]["epoch"] == [1, 2, 3, 4, 5]
    assert meta["rng"]["bit_generator"] == "PCG64" and isinstance(meta["rng"]["state"]["state"], int)


def test_resume_refuses_a_different_configuration(tmp_path):
    x, t = regression_data()
    path = tmp_path / "ck.npz"
    cs.train(small_cwrnn(), x, t, epochs=2, learning_rate=0.01, checkpoint=path)
    with pytest.raises(cs.InvalidValueError, match=r"learning_rate \(checkpoint 0.01, now 0.1\); only epochs"):
        cs.train(small_cwrnn(), x, t, epochs=4, learning_rate=0.1, resume=path)
    with pytest.raises(cs.InvalidValueError, match="written for a ClockworkRNN, got a LSTM"):
        cs.train(cs.LSTM(2, 1, 2), x, t, epochs=4, learning_rate=0.01, resume=path)
    h = cs.train(small_cwrnn(), x, t, epochs=2, learning_rate=0.01, resume=path)   # nothing left to do
    assert len(h) == 2


def test_resume_from_a_bad_file(tmp_path):
    x, t = regression_data()
    with pytest.raises(cs.InvalidValueError, match="missing.npz: no such checkpoint file"):
        cs.train(small_cwrnn(), x, t, resume=tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(cs.InvalidValueError, match="other.npz: a: holds an unexpected entry, not part of a clocksim "
                                                   "checkpoint") as err:
        cs.train(small_cwrnn(), x, t, resume=tmp_path / "other.npz")
    assert err.value.file == str(tmp_path / "other.npz") and err.value.key == "a"


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    x, t = regression_data()
    model = cs.ClockworkRNN(2, 1, [4], [1], activation="linear", seed=0)
    path = tmp_path / "ck.npz"
    with pytest.raises(cs.DivergenceError, match=r"training diverged at epoch 2, minibatch 1 \(sequences \[.*\]\): "
                                                 r"loss is nan; lower learning_rate \(now 10\)"):
        cs.train(model, x * 100, t, optimizer="sgd", learning_rate=10.0, epochs=100, batch_size=5, checkpoint=path)
    state = load_checkpoint(path)                          # the checkpoint of epoch 1 is intact
    assert state["meta"]["history"]["epoch"] == [1]
    assert all(np.isfinite(v).all() for v in state["params"].values())
    assert os.listdir(tmp_path) == ["ck.npz"]
    assert issubclass(cs.DivergenceError, cs.ClocksimError)


# ------------------------------------------------------------------ interface
def test_progress_bar_is_silent_without_a_terminal(capsys):
    x, t = regression_data()
    cs.train(small_cwrnn(), x, t, epochs=2)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_history_is_plain_data():
    x, t = regression_data()
    h = cs.train(small_cwrnn(), x, t, epochs=3, batch_size=5, validation=regression_data(seed=2, N=2))
    data = json.loads(json.dumps(h.to_dict()))
    assert data["epoch"] == [1, 2, 3] and len(data["val_loss"]) == 3 and data["val_accuracy"] == []
    assert cs.History.from_dict(data).train_loss == h.train_loss
    assert all(g > 0 for g in h.grad_norm) and h.clipped == [0, 0, 0]


def test_unbatched_data_is_one_sequence():
    x, t = regression_data(N=1)
    a, b = small_cwrnn(), small_cwrnn()
    cs.train(a, x, t, epochs=3)
    cs.train(b, x[0], t[0], epochs=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_config_validation():
    with pytest.raises(cs.InvalidValueError, match="optimizer: got 'rmsprop'"):
        cs.TrainConfig(optimizer="rmsprop")
    with pytest.raises(cs.InvalidValueError, match="learning_rate: got 0, expected a number > 0"):
        cs.TrainConfig(learning_rate=0)
    with pytest.raises(cs.InvalidValueError, match="batch_size: got 0"):
        cs.TrainConfig(batch_size=0)
    with pytest.raises(cs.InvalidValueError, match="patience: got 0"):
        cs.TrainConfig(patience=0)
    with pytest.raises(cs.InvalidValueError, match="momentum: got 1.5"):
        cs.TrainConfig(momentum=1.5)
    with pytest.raises(cs.InvalidValueError, match="loss: got 'l1'"):
        cs.TrainConfig(loss="l1")
    x, t = regression_data()
    with pytest.raises(cs.InvalidValueError, match="train: unknown option"):
        cs.train(small_cwrnn(), x, t, epoch=3)
    with pytest.raises(cs.ShapeError, match=r"validation target: got shape \(2, 12, 2\)"):
        cs.train(small_cwrnn(), x, t, validation=(x[:2], np.zeros((2, 12, 2))))
    with pytest.raises(cs.InvalidValueError, match="expected a model with params and set_params"):
        cs.train(object(), x, t)
    assert cs.TrainConfig.from_dict(cs.TrainConfig(freeze=("h0",)).to_dict()) == cs.TrainConfig(freeze=("h0",))
    numpy_numbers = cs.TrainConfig(epochs=np.int64(3), learning_rate=np.float32(0.5), freeze=["h0"])
    assert json.loads(json.dumps(numpy_numbers.to_dict()))["epochs"] == 3 and numpy_numbers.freeze == ("h0",)
