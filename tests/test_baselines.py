"""Baselines (simple RNN) and sizing models to a parameter budget as the paper's Table 1 does."""

import numpy as np
import pytest

import clocksim as cs
from clocksim.model.baselines import PAPER_PERIODS, PAPER_TABLE1, split_units

# The paper's Table 1 (Koutník et al. 2014), sequence generation: hidden units per parameter budget.
# Written here from the paper, not imported from the library, so that the library's copy is tested too.
TABLE1 = {"budgets": (100, 250, 500, 1000), "rnn": (9, 15, 22, 31), "lstm": (4, 7, 10, 15),
          "cwrnn": (11, 19, 27, 40)}


def test_simple_rnn_is_one_module_of_period_1():
    model = cs.simple_rnn(2, 3, 7, seed=1)
    assert isinstance(model, cs.ClockworkRNN)
    assert model.module_sizes == (7,) and model.periods == (1,)
    assert model.mask.all() and model.activity(5).all()
    assert model.n_params == 7 * 2 + 49 + 7 + 3 * 7 + 3


@pytest.mark.parametrize("kind", ["rnn", "lstm", "cwrnn"])
def test_reproduces_table_1(kind):
    """The paper's sequence-generation sizes: no input, one linear output, 9 modules of periods 1..256."""
    sizes = [cs.size_for_budget(kind, budget) for budget in TABLE1["budgets"]]
    assert sizes == list(TABLE1[kind])
    assert PAPER_TABLE1[kind] == TABLE1[kind] and PAPER_TABLE1["budgets"] == TABLE1["budgets"]


def test_table_1_counts():
    counts = {kind: [cs.budget_params(kind, n) for n in TABLE1[kind]] for kind in ("rnn", "lstm", "cwrnn")}
    assert counts == {"rnn": [100, 256, 529, 1024], "lstm": [85, 232, 451, 976], "cwrnn": [100, 249, 469, 980]}
    assert PAPER_PERIODS == (1, 2, 4, 8, 16, 32, 64, 128, 256)


def test_no_single_rule_reproduces_the_rnn_column():
    """Why rule='paper' exists: the RNN column rounds up, the others round down."""
    budgets = TABLE1["budgets"]
    assert [cs.size_for_budget("rnn", b, rule="floor") for b in budgets] == [9, 14, 21, 30]
    assert [cs.size_for_budget("rnn", b, rule="ceil") for b in budgets] == list(TABLE1["rnn"])
    assert [cs.size_for_budget("cwrnn", b, rule="ceil") for b in budgets] != list(TABLE1["cwrnn"])
    assert [cs.size_for_budget("cwrnn", b, rule="nearest") for b in budgets] == [11, 19, 28, 40]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "cwrnn"])
@pytest.mark.parametrize("n_in, n_out", [(0, 1), (3, 2)])
def test_count_matches_the_models(kind, n_in, n_out):
    for budget in (150, 400, 900):
        model = cs.model_for_budget(kind, budget, n_in=n_in, n_out=n_out, rule="floor")
        periods_counted = model.g if kind == "cwrnn" else 0
        assert model.n_params + periods_counted <= budget
        n = model.n
        assert cs.budget_params(kind, n, n_in=n_in, n_out=n_out) == model.n_params + periods_counted
        assert cs.budget_params(kind, n + 1, n_in=n_in, n_out=n_out) > budget


def test_model_for_budget_types_and_split():
    assert isinstance(cs.model_for_budget("lstm", 250), cs.LSTM)
    rnn = cs.model_for_budget("rnn", 250)
    assert isinstance(rnn, cs.ClockworkRNN) and rnn.g == 1 and rnn.n == 15
    cw = cs.model_for_budget("cwrnn", 250, output_activation="tanh")
    assert cw.module_sizes == (3, 2, 2, 2, 2, 2, 2, 2, 2) and cw.periods == PAPER_PERIODS
    assert cw.output_activation == "tanh" and cw.connectivity == "slow-to-fast"
    assert split_units(40, 9) == [5, 5, 5, 5, 4, 4, 4, 4, 4]


@pytest.mark.parametrize("budget", [50, 97, 100, 101, 333, 1000, 4000])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "cwrnn"])
def test_rules(kind, budget):
    count = lambda n: cs.budget_params(kind, n)  # noqa: E731
    smallest = 9 if kind == "cwrnn" else 1
    counts = {n: count(n) for n in range(smallest, 120)}
    if min(counts.values()) <= budget:
        floor = cs.size_for_budget(kind, budget, rule="floor")
        assert floor == max(n for n, c in counts.items() if c <= budget)
    ceil = cs.size_for_budget(kind, budget, rule="ceil")
    assert ceil == min(n for n, c in counts.items() if c >= budget)
    nearest = cs.size_for_budget(kind, budget, rule="nearest")
    assert nearest == min(counts, key=lambda n: (abs(counts[n] - budget), n))


def test_dense_cwrnn_count():
    model = cs.ClockworkRNN(1, 1, split_units(12, 3), [1, 2, 4], connectivity="dense")
    assert cs.budget_params("cwrnn", 12, n_in=1, periods=[1, 2, 4], connectivity="dense") == model.n_params + 3


def test_validation():
    with pytest.raises(cs.InvalidValueError, match="kind: got 'gru'"):
        cs.size_for_budget("gru", 100)
    with pytest.raises(cs.InvalidValueError, match="rule: got 'round'"):
        cs.size_for_budget("rnn", 100, rule="round")
    with pytest.raises(cs.InvalidValueError, match=r"budget: got 50, but the smallest cwrnn \(9 units\) has 73"):
        cs.size_for_budget("cwrnn", 50, rule="floor")
    with pytest.raises(cs.InvalidValueError, match="budget: got 0"):
        cs.size_for_budget("rnn", 0)
    with pytest.raises(cs.InvalidValueError, match="n: got 3 units for 9 modules"):
        split_units(3, 9)
    with pytest.raises(cs.InvalidValueError, match="connectivity: got 'custom'"):
        cs.budget_params("cwrnn", 12, connectivity="custom")
    assert np.isscalar(cs.budget_params("lstm", 3))
