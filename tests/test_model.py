import numpy as np
import pytest

import clocksim as cs


def seed_model(start):
    return cs.ClockworkRNN(1, 1, [1] * 8, cs.exponential_periods(8), start=start)


class TestWorkedExample:
    """The "what does clock rate mean?" example: periods 1..128."""

    def test_start_one(self):
        act = seed_model(start=1).activity(128)    # row s is step 1 + s
        step = lambda t: np.flatnonzero(act[t - 1]).tolist()  # noqa: E731
        assert step(1) == [0]                       # M1 only
        assert step(2) == [0, 1]                    # M1 and M2
        assert step(6) == [0, 1]                    # 6 = 2 * 3: M1, M2
        assert step(8) == [0, 1, 2, 3]
        assert step(128) == list(range(8))          # all eight

    def test_start_zero(self):
        act = seed_model(start=0).activity(129)
        assert act[0].all()                         # step 0: every module
        assert np.flatnonzero(act[1]).tolist() == [0]
        assert act[128].all()


class TestConnectivity:
    def test_slow_to_fast_direction(self):
        # block_mask[i, j]: module j feeds module i; slow modules (larger j) feed fast ones (smaller i)
        m = cs.ClockworkRNN(1, 1, [2, 3, 1], [1, 2, 4])
        expected = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1]], dtype=bool)
        np.testing.assert_array_equal(m.block_mask, expected)
        assert m.inputs_of(0) == [0, 1, 2]          # the fastest module reads everything
        assert m.inputs_of(2) == [2]                # the slowest reads only itself
        assert m.receivers_of(2) == [0, 1, 2]

    def test_unit_mask_is_block_upper_triangular(self):
        m = cs.ClockworkRNN(1, 1, [2, 3], [1, 2])
        assert m.mask.shape == (5, 5)
        assert not m.mask[2:, :2].any()            # slow rows never read fast columns
        assert m.mask[:2, 2:].all()                 # fast rows read slow columns
        np.testing.assert_array_equal(m.params["W_rec"][2:, :2], 0.0)

    def test_dense_and_custom(self):
        assert cs.ClockworkRNN(1, 1, [2, 2], [1, 2], connectivity="dense").mask.all()
        custom = np.array([[0, 1], [1, 0]])
        m = cs.ClockworkRNN(1, 1, [2, 2], [1, 2], connectivity=custom)
        assert m.connectivity == "custom"
        np.testing.assert_array_equal(m.block_mask, custom.astype(bool))

    def test_out_of_order_periods_rejected_for_slow_to_fast(self):
        with pytest.raises(cs.InvalidValueError, match=r"module 1 \(T=2\) is faster than module 0 \(T=4\)"):
            cs.ClockworkRNN(1, 1, [2, 2], [4, 2])

    def test_out_of_order_allowed_for_dense_and_rows_follow_user_order(self):
        m = cs.ClockworkRNN(1, 1, [2, 3], [4, 2], connectivity="dense")
        assert [c.period for c in m.clocks] == [4, 2]
        assert m.rows(0) == slice(0, 2)

    def test_bad_custom_mask_shape(self):
        with pytest.raises(cs.ShapeError, match=r"connectivity: got an array of shape \(3, 3\), expected \(2, 2\)"):
            cs.ClockworkRNN(1, 1, [2, 2], [1, 2], connectivity=np.ones((3, 3), bool))

    def test_unknown_connectivity_name(self):
        with pytest.raises(cs.InvalidValueError, match="connectivity: got 'fast-to-slow'"):
            cs.ClockworkRNN(1, 1, [2, 2], [1, 2], connectivity="fast-to-slow")


class TestParameters:
    def test_shapes_and_dtype(self):
        m = cs.ClockworkRNN(3, 2, [4, 5], [1, 2])
        shapes = {k: v.shape for k, v in m.params.items()}
        assert shapes == {"W_in": (9, 3), "W_rec": (9, 9), "b": (9,), "W_out": (2, 9), "b_out": (2,), "h0": (9,)}
        assert all(v.dtype == np.float64 for v in m.params.values())

    def test_paper_initialisation(self):
        m = cs.ClockworkRNN(20, 10, [50] * 4, [1, 2, 4, 8], seed=3)
        p = m.params
        inside = p["W_rec"][m.mask]
        assert abs(inside.std() - 0.1) < 0.005 and abs(inside.mean()) < 0.005
        assert abs(p["W_in"].std() - 0.1) < 0.01
        assert not p["b"].any() and not p["b_out"].any() and not p["h0"].any()

    def test_seeded(self):
        a = cs.ClockworkRNN(2, 1, [3, 3], [1, 2], seed=7).params
        b = cs.ClockworkRNN(2, 1, [3, 3], [1, 2], seed=7).params
        c = cs.ClockworkRNN(2, 1, [3, 3], [1, 2], seed=8).params
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert not np.array_equal(a["W_rec"], c["W_rec"])

    def test_params_are_read_only(self):
        m = cs.ClockworkRNN(1, 1, [2], [1])
        with pytest.raises(ValueError):
            m.params["W_rec"][0, 0] = 1.0

    def test_set_params_roundtrip_and_version(self):
        m = cs.ClockworkRNN(1, 1, [2, 2], [1, 2])
        v = m.version
        m.set_params(b=[1, 2, 3, 4])
        assert m.params["b"].tolist() == [1, 2, 3, 4] and m.version == v + 1

    def test_set_params_rejects_entries_outside_mask(self):
        m = cs.ClockworkRNN(1, 1, [2, 2], [1, 2])
        W = np.array(m.params["W_rec"])
        W[3, 0] = 0.5   # module 0 (fast) feeding module 1 (slow)
        with pytest.raises(cs.InvalidValueError, match=r"W_rec: non-zero entry 0.5 at \(3, 0\) means module 0 \(T=1\) "
                                                        r"feeds module 1 \(T=2\)"):
            m.set_params(W_rec=W)

    @pytest.mark.parametrize("name,value,msg", [
        ("W_in", np.zeros((4, 2)), r"W_in: got shape \(4, 2\), expected \(4, 1\)"),
        ("b", np.zeros(3), r"b: got shape \(3,\), expected \(4,\)"),
        ("h0", np.array(["a"] * 4), "h0: got an array of dtype <U1, expected real numbers"),
        ("b_out", np.array([1 + 1j]), "b_out: got an array of dtype complex128"),
        ("W_out", np.full((1, 4), np.nan), r"W_out: contains nan at index \(0, 0\), expected finite numbers"),
        ("b", [0, 0, np.inf, 0], r"b: contains inf at index \(2,\)"),
        ("W_hidden", np.zeros(1), "set_params: unknown parameter 'W_hidden'"),
    ])
    def test_set_params_validation(self, name, value, msg):
        m = cs.ClockworkRNN(1, 1, [2, 2], [1, 2])
        with pytest.raises(cs.ClocksimError, match=msg):
            m.set_params(**{name: value})

    def test_n_params_counts_masked_recurrent_weights(self):
        m = cs.ClockworkRNN(2, 1, [3, 3], [1, 2])
        assert m.n_params == 6 * 2 + 27 + 6 + 6 + 1


class TestValidation:
    @pytest.mark.parametrize("kwargs,msg", [
        (dict(module_sizes=[2, 0]), r"module_sizes\[1\]: got 0, expected an integer >= 1"),
        (dict(module_sizes=[2]), "got 1 sizes for 2 clocks"),
        (dict(clocks=[1, 0]), r"clocks\[1\]: got 0, expected a positive integer period"),
        (dict(clocks=[]), "clocks: got .* expected a non-empty list"),
        (dict(clocks=[1, 2.5]), r"clocks\[1\]: got 2.5 \(float\)"),
        (dict(n_in=-1), "n_in: got -1, expected an integer >= 0"),
        (dict(n_out=0), "n_out: got 0, expected an integer >= 1"),
        (dict(activation="gelu"), "activation: got 'gelu', expected one of"),
        (dict(output_activation="relu"), "output_activation: got 'relu'"),
        (dict(start=-1), "start: got -1"),
        (dict(start=0.5), r"start: got 0.5 \(float\)"),
    ])
    def test_bad_arguments(self, kwargs, msg):
        args = dict(n_in=1, n_out=1, module_sizes=[2, 2], clocks=[1, 2])
        args.update(kwargs)
        with pytest.raises(cs.InvalidValueError, match=msg):
            cs.ClockworkRNN(**args)

    def test_int_module_size_broadcasts(self):
        assert cs.ClockworkRNN(1, 1, 3, [1, 2, 4]).module_sizes == (3, 3, 3)

    def test_plain_rnn_is_one_module_period_one(self):
        m = cs.ClockworkRNN(2, 1, [5], [1])
        assert m.g == 1 and m.mask.all() and m.activity(4).all()


def test_copy_is_independent():
    m = cs.ClockworkRNN(1, 1, [2], [1])
    c = m.copy()
    c.set_params(b=[1.0, 1.0])
    assert not m.params["b"].any()
