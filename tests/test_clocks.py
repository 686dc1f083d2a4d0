import numpy as np
import pytest

import clocksim as cs
from clocksim.model.clocks import as_clock


class TestPeriodic:
    def test_fires_on_multiples_of_period_from_zero(self):
        assert cs.Periodic(3).firing_steps(0, 10).tolist() == [0, 3, 6, 9]

    def test_phase_shifts_firings(self):
        assert cs.Periodic(4, phase=1).firing_steps(0, 12).tolist() == [1, 5, 9]

    def test_start_one_convention(self):
        # with start = 1 the window is steps 1..8; period 2 first fires at step 2
        assert cs.Periodic(2).firing_steps(1, 8).tolist() == [2, 4, 6, 8]
        assert cs.Periodic(1).firing_steps(1, 3).tolist() == [1, 2, 3]

    def test_mathematical_modulo_before_phase(self):
        # (t - phase) mod T with t < phase: step 0 - 3 = -3, -3 mod 5 = 2 -> not active; step -2? never negative
        clock = cs.Periodic(5, phase=3)
        assert clock.firing_steps(0, 10).tolist() == [3, 8]
        assert clock.fires(0, 10).tolist() == [t in (3, 8) for t in range(10)]

    def test_fires_agrees_with_firing_steps(self):
        for period in range(1, 9):
            for phase in range(period):
                c = cs.Periodic(period, phase)
                for start in (0, 1, 5):
                    mask = c.fires(start, 40)
                    assert (np.flatnonzero(mask) + start).tolist() == c.firing_steps(start, 40).tolist()

    def test_firing_times_are_float_steps(self):
        np.testing.assert_array_equal(cs.Periodic(2, 1).firing_times(0.5, 7.0), [1.0, 3.0, 5.0])

    def test_label_and_repr(self):
        assert cs.Periodic(4).label == "T=4"
        assert cs.Periodic(4, 1).label == "T=4+1"
        assert repr(cs.Periodic(4, 1)) == "Periodic(4, phase=1)"

    def test_an_exact_continuous_period_is_labelled_as_one(self):
        assert cs.Jittered(2.5, 0.0).label == "T=2.5" and cs.Jittered(2.5, 0.0, phase=1.25).label == "T=2.5+1.25"
        assert cs.Jittered(2.5, 0.5).label == "T=2.5\u00b10.25"

    @pytest.mark.parametrize("period", [0, -3])
    def test_non_positive_period_rejected(self, period):
        with pytest.raises(cs.InvalidValueError, match=rf"period: got {period}, expected an integer >= 1"):
            cs.Periodic(period)

    @pytest.mark.parametrize("period", [2.5, 4.0, "4", True])
    def test_non_integer_period_rejected(self, period):
        with pytest.raises(cs.InvalidValueError, match="period: got .* expected an integer >= 1"):
            cs.Periodic(period)

    @pytest.mark.parametrize("phase", [-1, 4, 7])
    def test_phase_outside_period_rejected(self, phase):
        with pytest.raises(cs.InvalidValueError, match=r"phase: got .* expected 0 <= phase < 4"):
            cs.Periodic(4, phase)

    def test_errors_are_clocksim_and_value_errors(self):
        with pytest.raises(cs.ClocksimError):
            cs.Periodic(0)
        with pytest.raises(ValueError):
            cs.Periodic(0)


class TestExplicit:
    def test_integer_times_are_synchronous(self):
        c = cs.Explicit([0, 3, 4, 10])
        assert c.synchronous
        assert c.firing_steps(1, 10).tolist() == [3, 4, 10]
        assert c.nominal_period == pytest.approx(10 / 3)

    def test_real_times_are_asynchronous(self):
        c = cs.Explicit([0.5, 1.25])
        assert not c.synchronous
        with pytest.raises(cs.UnsupportedError, match="non-integer times"):
            c.firing_steps(0, 5)
        np.testing.assert_array_equal(c.firing_times(0, 1), [0.5])

    @pytest.mark.parametrize("times,msg", [
        ([3, 1], "strictly increasing"),
        ([1, 1], "strictly increasing"),
        ([-1, 2], "expected times >= 0"),
        ([0, np.nan], "finite"),
        ([[1, 2]], "1-D list"),
        (["a"], "1-D list"),
    ])
    def test_bad_times_rejected(self, times, msg):
        with pytest.raises(cs.InvalidValueError, match=msg):
            cs.Explicit(times)


class TestFamilies:
    def test_exponential(self):
        assert cs.exponential_periods(8) == [1, 2, 4, 8, 16, 32, 64, 128]
        assert cs.exponential_periods(3, base=3) == [1, 3, 9]

    def test_fibonacci(self):
        assert cs.fibonacci_periods(7) == [1, 2, 3, 5, 8, 13, 21]
        assert cs.fibonacci_periods(1) == [1]

    def test_linear(self):
        assert cs.linear_periods(4) == [1, 2, 3, 4]
        assert cs.linear_periods(3, step=5, first=2) == [2, 7, 12]

    def test_primes(self):
        assert cs.prime_periods(7) == [1, 2, 3, 5, 7, 11, 13]

    @pytest.mark.parametrize("fn", [cs.exponential_periods, cs.fibonacci_periods, cs.linear_periods,
                                    cs.prime_periods])
    def test_g_must_be_positive(self, fn):
        with pytest.raises(cs.InvalidValueError, match="g: got 0"):
            fn(0)

    def test_base_must_be_at_least_two(self):
        with pytest.raises(cs.InvalidValueError, match="base: got 1"):
            cs.exponential_periods(3, base=1)


def test_activity_mask_columns_are_clocks():
    clocks = [cs.Periodic(1), cs.Periodic(3, 2), cs.Explicit([1, 4])]
    mask = cs.activity_mask(clocks, 6, start=1)
    assert mask.shape == (6, 3)
    assert mask[:, 0].all()
    assert (np.flatnonzero(mask[:, 1]) + 1).tolist() == [2, 5]
    assert (np.flatnonzero(mask[:, 2]) + 1).tolist() == [1, 4]


def test_as_clock_rejects_floats_and_strings():
    with pytest.raises(cs.InvalidValueError, match=r"clock: got 2.5 \(float\)"):
        as_clock(2.5)
    with pytest.raises(cs.InvalidValueError, match="expected a positive integer period"):
        as_clock(0)
