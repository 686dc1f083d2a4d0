"""The one number style (clocksim._format) and that the command line, report and figures use it."""

import math

import pytest

from clocksim.plot import _format as fmt


@pytest.mark.parametrize("x,text", [
    (2040, "2,040"), (28096.0, "28,096"), (2.1345, "2.13"), (0.000123456, "0.000123"), (0.5, "0.5"),
    (12.0, "12"), (999.7, "1,000"), (1234567.8, "1,234,568"), (None, "n/a"), (math.nan, "n/a"), (-3.14159, "-3.14"),
])
def test_number(x, text):
    assert fmt.number(x) == text


def test_count_and_ticks():
    assert fmt.count(1234567) == "1,234,567"
    ticks = fmt.tick_formatter()
    assert ticks(20000.0, 0) == "20,000" and ticks(0.25, 0) == "0.25"


def test_comparison_table_uses_it():
    import numpy as np

    import clocksim as cs
    from clocksim.app.outputs import format_comparison
    model = cs.ClockworkRNN(1, 1, [8] * 4, [1, 2, 4, 8], seed=0)
    summary = cs.simulate(model, np.zeros((510, 1))).trace.summary()
    summary.update(activations=2040, macs=28096, dense_macs=123456, speedup_vs_dense=4.394)
    table = format_comparison(["a", "b"], [summary] * 2)
    assert "2,040" in table and "28,096" in table and "4.39" in table and "n/a" in table
