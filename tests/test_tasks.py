"""Tasks: the bundled pieces, the data generators and loaders (deterministic, shaped right), scoring, fit."""

import sys

import numpy as np
import pytest

import clocksim as cs
from clocksim.train.tasks import TASK_KINDS, fit, make_task, nmse, score, task_options
from clocksim.train.tasks.pieces import LENGTH, N_PIECES, load_pieces, synthesise_pieces
from clocksim.train.tasks.task import pad_sequences, stratified_split


class TestPieces:
    def test_shipped_file_is_what_the_script_makes(self):
        shipped = load_pieces()
        assert shipped.shape == (N_PIECES, LENGTH) == (5, 320)
        np.testing.assert_allclose(shipped, synthesise_pieces(), rtol=0, atol=1e-12)

    def test_scaled_like_the_paper_and_all_different(self):
        pieces = load_pieces()
        np.testing.assert_allclose(np.abs(pieces).max(axis=1), 1.0)
        np.testing.assert_allclose(pieces.mean(axis=1), 0.0, atol=1e-12)
        assert min(np.abs(a - b).max() for i, a in enumerate(pieces) for b in pieces[i + 1:]) > 0.1

    def test_several_time_scales(self):
        """Energy both in slow components (periods > 100 samples) and in fast ones (< 20 samples)."""
        spectrum = np.abs(np.fft.rfft(load_pieces(), axis=1)) ** 2           # (5, 161); bin k: period 320/k
        slow, fast = spectrum[:, 1:4].sum(axis=1), spectrum[:, 17:].sum(axis=1)
        total = spectrum[:, 1:].sum(axis=1)
        assert (slow / total > 0.05).all() and (fast / total > 1e-4).all()


class TestGeneration:
    def test_shapes_and_metric(self):
        task = make_task("generation", piece=3)
        assert task.x_train.shape == (1, 320, 0) and task.y_train.shape == (1, 320, 1)
        assert (task.n_in, task.n_out, task.loss, task.metric) == (0, 1, "mse", "nmse")
        np.testing.assert_array_equal(task.y_test[0, :, 0], load_pieces()[3])

    def test_piece_out_of_range(self):
        with pytest.raises(cs.InvalidValueError, match="piece: got 5, expected 0 to 4"):
            make_task("generation", piece=5)

    def test_nmse(self):
        t = np.sin(np.linspace(0, 7, 50))
        assert nmse(np.full(50, t.mean()), t) == pytest.approx(1.0)
        assert nmse(t, t) == 0.0
        with pytest.raises(cs.InvalidValueError, match="y: got shape"):
            nmse(t[:3], t)
        with pytest.raises(cs.InvalidValueError, match="constant"):
            nmse(t, np.ones(50))

    def test_score_of_an_untrained_model_is_its_nmse(self):
        task = make_task("generation", piece=0)
        model = cs.ClockworkRNN(0, 1, 2, [1, 2, 4], seed=1)
        y = cs.simulate(model, task.x_test, engine="compiled").y
        metrics = score(model, task)
        assert metrics["metric"] == "nmse" and metrics["value"] == pytest.approx(nmse(y, task.y_test), rel=1e-12)


class TestPadding:
    def test_end_padding_labels_the_real_last_step(self):
        seqs = [np.full((n, 2), float(n)) for n in (3, 1, 5)]
        x, y = pad_sequences(seqs, np.array([0, 1, 2]))
        assert x.shape == (3, 5, 2) and y.shape == (3, 5)
        assert [int(np.flatnonzero(row >= 0)[0]) for row in y] == [2, 0, 4]
        assert (y >= 0).sum() == 3 and x[0, 3:].sum() == 0 and (x[2] == 5).all()

    def test_front_padding_ends_together(self):
        x, y = pad_sequences([np.ones((2, 1)), np.ones((4, 1))], np.array([1, 0]), "front", length=6)
        assert x[:, :, 0].tolist() == [[0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 1, 1]] and y.tolist() == [1, 0]

    def test_bad_padding(self):
        with pytest.raises(cs.InvalidValueError, match="padding: got 'middle'"):
            pad_sequences([np.ones((2, 1))], np.array([0]), "middle")

    def test_stratified_split(self):
        labels = np.repeat(np.arange(4), 5)
        keep, held = stratified_split(labels, 0.2, np.random.default_rng(0))
        assert np.bincount(labels[held]).tolist() == [1, 1, 1, 1]
        assert sorted(keep.tolist() + held.tolist()) == list(range(20))


class TestSyntheticWords:
    def test_shapes_and_labels(self):
        task = make_task("synthetic_words")
        assert (task.n_in, task.n_out, task.loss, task.metric) == (13, 25, "xent", "test_error")
        N, L, C = task.x_train.shape
        assert (N, C) == (125, 13) and task.x_val.shape == (25, L, 13) and task.x_test.shape == (250, L, 13)
        for y in (task.y_train, task.y_val, task.y_test):
            assert ((y >= 0).sum(axis=1) == 1).all()                        # one label per sequence
        classes = task.y_test[task.y_test >= 0]
        assert np.bincount(classes).tolist() == [10] * 25
        last = np.argmax(task.y_test >= 0, axis=1)                          # the label sits at the last real step
        assert all((task.x_test[i, last[i] + 1:] == 0).all() and (task.x_test[i, last[i]] != 0).any()
                   for i in range(0, 250, 17))

    def test_deterministic_and_seeded(self):
        a, b = make_task("synthetic_words", seed=4), make_task("synthetic_words", seed=4)
        for name in ("x_train", "y_train", "x_val", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        c = make_task("synthetic_words", seed=5)
        assert not np.array_equal(a.x_test[:, :10], c.x_test[:, :10])

    def test_training_set_does_not_depend_on_the_test_set_size(self):
        a, b = make_task("synthetic_words", test_per_class=2), make_task("synthetic_words", test_per_class=7)
        n = min(a.x_train.shape[1], b.x_train.shape[1])
        ends_a, ends_b = np.argmax(a.y_train >= 0, axis=1), np.argmax(b.y_train >= 0, axis=1)
        np.testing.assert_array_equal(ends_a, ends_b)
        np.testing.assert_array_equal(a.x_train[:, :n], b.x_train[:, :n])

    def test_groups_share_a_suffix_and_words_differ_at_the_start(self):
        task = make_task("synthetic_words", noise=0.0, test_per_class=4, validation=0.0)
        x, y = task.x_test, task.y_test
        last = np.argmax(y >= 0, axis=1)
        label = y[np.arange(len(y)), last]
        end = np.stack([x[i, last[i] - 5:last[i] + 1].ravel() for i in range(len(y))])    # last 6 steps
        start = x[:, :4].reshape(len(y), -1)                                                 # first 4 steps
        word_end = np.stack([end[label == c].mean(0) for c in range(25)])
        word_start = np.stack([start[label == c].mean(0) for c in range(25)])
        group = np.arange(25) // 5
        same = group[:, None] == group[None, :]
        off = ~np.eye(25, dtype=bool)
        d_end = np.linalg.norm(word_end[:, None] - word_end[None], axis=-1)
        d_start = np.linalg.norm(word_start[:, None] - word_start[None], axis=-1)
        assert d_end[same & off].mean() < 0.5 * d_end[~same].mean()       # the suffix tells only the group
        assert d_start[same & off].mean() > 0.5 * d_start[~same].mean()   # the prefix tells the word

    def test_bad_options(self):
        with pytest.raises(cs.InvalidValueError, match="words_per_group: got 1"):
            make_task("synthetic_words", words_per_group=1)
        with pytest.raises(cs.InvalidValueError, match="validation: got 1"):
            make_task("synthetic_words", validation=1.0)


class TestJapaneseVowels:
    def test_the_uea_split(self):
        task = make_task("japanese_vowels", validation=0.2)
        assert (task.n_in, task.n_out) == (12, 9)
        assert task.x_train.shape[0] + task.x_val.shape[0] == 270 and task.x_test.shape[0] == 370
        assert task.x_train.shape[1] == task.x_test.shape[1] == 29
        for y in (task.y_train, task.y_val, task.y_test):
            assert ((y >= 0).sum(axis=1) == 1).all()
        assert set(task.y_test[task.y_test >= 0].tolist()) == set(range(9))
        real = task.x_train[:, :, :][np.cumsum((task.y_train >= 0)[:, ::-1], axis=1)[:, ::-1] > 0]   # real steps
        np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=0.1)                                  # standardised

    def test_front_padding(self):
        task = make_task("japanese_vowels", padding="front", validation=0.0)
        assert task.y_train.shape == (270,) and (task.x_train[:, -1] != 0).any(axis=1).all()

    def test_without_sktime_the_error_says_what_to_install(self, monkeypatch):
        from clocksim.train.tasks import japanese_vowels
        monkeypatch.setitem(sys.modules, "sktime.datasets", None)
        with pytest.raises(cs.UnsupportedError, match=r'pip install "clocksim\[datasets\]"'):
            japanese_vowels.load_japanese_vowels("train")


class TestMakeTaskAndFit:
    def test_registry_and_options(self):
        assert set(TASK_KINDS) == {"generation", "japanese_vowels", "synthetic_words"}
        assert task_options("generation") == {"piece": 0}
        with pytest.raises(cs.InvalidValueError, match="noise: not an option of task kind 'generation'"):
            make_task("generation", noise=0.1)
        with pytest.raises(cs.InvalidValueError, match="kind: got 'speech'"):
            make_task("speech")

    def test_fit_trains_a_copy_and_lowers_the_nmse(self):
        task = make_task("generation", piece=1)
        model = cs.ClockworkRNN(0, 1, 3, [1, 2, 4, 8, 16, 32, 64, 128, 256], seed=0)
        before = model.params["W_rec"].copy()
        config = cs.TrainConfig(optimizer="nesterov", learning_rate=0.1, momentum=0.95, epochs=150, freeze=("h0",))
        result = fit(model, task, config)
        np.testing.assert_array_equal(model.params["W_rec"], before)              # the model passed in is untouched
        assert result.metrics["nmse"] < 0.7 * score(model, task)["nmse"]
        assert result.metrics["epochs"] == 150 and result.metrics["n_params"] == model.n_params
        assert result.model.params["h0"].tolist() == [0.0] * 27

    def test_fit_refuses_a_model_of_the_wrong_shape(self):
        with pytest.raises(cs.InvalidValueError, match="expected n_in=0, n_out=1 for the generation task"):
            fit(cs.ClockworkRNN(2, 1, 2, [1, 2]), make_task("generation"))


def test_fit_scores_the_validation_set_apart_from_the_test_set():
    """accuracy.validation_value (what a search may select on) is the error on the validation sequences,
    written out here by hand; the test error stays the test set's."""
    import clocksim as cs
    from clocksim.train.tasks import fit, make_task
    task = make_task("synthetic_words", seed=0)
    model = cs.ClockworkRNN(task.n_in, task.n_out, [4] * 3, [1, 2, 4], seed=0)
    metrics = fit(model, task).metrics
    def error(x, labels):                                             # over the labelled steps (label >= 0)
        y = cs.simulate(model, x).y                                   # (B, L, classes)
        seen = labels >= 0
        return np.mean(np.argmax(y, axis=2)[seen] != labels[seen])
    assert metrics["validation_value"] == pytest.approx(error(task.x_val, task.y_val), abs=1e-12)
    assert metrics["value"] == pytest.approx(error(task.x_test, task.y_test), abs=1e-12)
