"""Baselines for the paper's comparisons and sizing to a parameter budget (Table 1).

The paper compares a simple RNN, an LSTM and a CW-RNN *at equal numbers of
parameters* (Koutník et al. 2014, Table 1). A simple RNN is a Clockwork RNN with
one module of period 1 (:func:`simple_rnn`); the LSTM is :class:`clocksim.LSTM`.

Counting convention (:func:`budget_params`)
-------------------------------------------
Two counts, two names. ``model.n_params`` is the model's trainable weights and biases
(:func:`clocksim.params.weight_count`; what training changes, less the initial state).
:func:`budget_params` is the paper's *parameter budget* of Table 1: the same weights and
biases for the model of that kind and size, plus, for a CW-RNN, one per clock period. So a
CW-RNN's budget is ``model.n_params + g``: the paper-generation model (9 modules, 40 units)
has ``n_params`` 971 and a budget of 980. Every trainable weight and bias is counted, the
initial state is not:

- RNN: ``n*n_in + n*n + n + n_out*n + n_out`` (``W_in``, ``W_rec``, ``b``, readout);
- LSTM (no peepholes): ``4n*(n_in + n + 1) + n_out*(n + 1)``;
- CW-RNN: ``W_in``, the entries of ``W_rec`` inside the connectivity mask, ``b``,
  the readout, **plus one per module for its clock period** (the paper counts
  periods as parameters). ``n`` units are split over the modules as evenly as
  possible, the fastest modules taking the extra units (the count depends only
  on the multiset of sizes, not on which modules are larger).

With the paper's sequence-generation setup (no input, one linear output, a
CW-RNN of 9 modules with periods 1, 2, ..., 256) the sizes of Table 1 are:

=========  ===  ===  ===  ====
budget     100  250  500  1000
RNN          9   15   22    31   count (n+1)^2 = 100, 256, 529, 1024
LSTM         4    7   10    15   count 85, 232, 451, 976
CW-RNN      11   19   27    40   count 100, 249, 469, 980
=========  ===  ===  ===  ====

The LSTM and CW-RNN columns are the *largest* sizes whose count does not exceed
the budget (``rule="floor"``); the RNN column is the *smallest* size whose
count reaches it (``rule="ceil"``: ``n = ceil(sqrt(budget)) - 1``). No single
rule reproduces all three columns under any standard count — at 500 the table
gives the RNN 22 units (529) although 21 units (484) fit and are nearer, but the
CW-RNN 27 units (469) although 28 units (502) are nearer — so ``rule="paper"``
(the default) applies the rule that reproduces each column. Use ``"floor"``
for a strict budget or ``"nearest"`` for the size nearest to it.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_int, as_int_list, check_options, keyword_names
from ..limits import check_memory
from .clocks import exponential_periods
from ..errors import InvalidValueError
from .lstm import LSTM
from .cwrnn import ClockworkRNN
from .params import weight_count

__all__ = ["simple_rnn", "budget_params", "size_for_budget", "model_for_budget", "split_units",
           "MODEL_KINDS", "BUDGET_RULES", "PAPER_TABLE1", "PAPER_PERIODS"]

MODEL_KINDS = ("rnn", "lstm", "cwrnn")
#: The class each scenario ``model.kind`` builds (a simple RNN is a one-module Clockwork RNN).
MODEL_CLASSES = {"rnn": ClockworkRNN, "lstm": LSTM, "cwrnn": ClockworkRNN}
BUDGET_RULES = ("paper", "floor", "ceil", "nearest")
PAPER_RULES = {"rnn": "ceil", "lstm": "floor", "cwrnn": "floor"}
PAPER_PERIODS = tuple(exponential_periods(9))          # 1, 2, 4, ..., 256
PAPER_TABLE1 = {                                       # sequence generation: hidden units per budget
    "budgets": (100, 250, 500, 1000),
    "rnn": (9, 15, 22, 31),
    "lstm": (4, 7, 10, 15),
    "cwrnn": (11, 19, 27, 40),
}


def simple_rnn(n_in: int, n_out: int, n_hidden: int, activation: str = "tanh",
               output_activation: str = "linear", seed=0) -> ClockworkRNN:
    """A simple (Elman) RNN: a :class:`~clocksim.ClockworkRNN` with one module of period 1.

    Parameters
    ----------
    n_in, n_out, n_hidden : int
    activation, output_activation : str
        As for :class:`~clocksim.ClockworkRNN`.
    seed : int or numpy.random.Generator
    """
    return ClockworkRNN(n_in, n_out, [as_int("n_hidden", n_hidden, minimum=1)], [1], connectivity="dense",
                        activation=activation, output_activation=output_activation, seed=seed)


def split_units(n: int, g: int) -> list[int]:
    """``n`` units over ``g`` modules as evenly as possible, fastest modules first taking the extra ones."""
    n, g = as_int("n", n, minimum=1), as_int("g", g, minimum=1)
    if n < g:
        raise InvalidValueError(f"got {n} units for {g} modules, expected at least one unit per module", key="n")
    return [n // g + (1 if i < n % g else 0) for i in range(g)]


def budget_params(kind: str, n_hidden: int, *, n_in: int = 0, n_out: int = 1, periods=PAPER_PERIODS,
                 connectivity: str = "slow-to-fast") -> int:
    """The paper's parameter budget of a model of ``kind`` with ``n_hidden`` units: its trainable weights
    and biases (``n_params``), plus one per clock period for a CW-RNN (see the module docstring).

    Parameters
    ----------
    kind : {"rnn", "lstm", "cwrnn"}
    n_hidden : int
    n_in, n_out : int
    periods : sequence of int, shape (g,)
        CW-RNN module periods (fastest first); ignored for the other kinds.
    connectivity : {"slow-to-fast", "dense"}
        CW-RNN wiring; ignored for the other kinds.
    """
    kind = _kind(kind)
    n = as_int("n_hidden", n_hidden, minimum=1)
    n_in, n_out = as_int("n_in", n_in, minimum=0), as_int("n_out", n_out, minimum=1)
    periods = as_int_list("periods", periods, minimum=1, what="a list of integer periods")
    if kind == "rnn":
        return weight_count(n, n_in, n_out, n * n)
    if kind == "lstm":
        return weight_count(n, n_in, n_out, n * n, gates=4)
    sizes = np.array(split_units(n, len(periods)))
    if connectivity == "slow-to-fast":
        recurrent = int((sizes.sum() ** 2 + (sizes ** 2).sum()) // 2)     # sum over j >= i of k_i * k_j
    elif connectivity == "dense":
        recurrent = n * n
    else:
        raise InvalidValueError(f"got {connectivity!r}, expected 'slow-to-fast' or 'dense'", key="connectivity")
    return weight_count(n, n_in, n_out, recurrent) + len(periods)


#: The first round's name for :func:`budget_params`, kept so that code written against it still runs.
count_params = budget_params


def size_for_budget(kind: str, budget: int, *, n_in: int = 0, n_out: int = 1, periods=PAPER_PERIODS,
                    connectivity: str = "slow-to-fast", rule: str = "paper") -> int:
    """Number of hidden units that sizes a model of ``kind`` to a parameter budget.

    Parameters
    ----------
    kind : {"rnn", "lstm", "cwrnn"}
    budget : int
        Target number of parameters (as :func:`budget_params` counts them).
    n_in, n_out, periods, connectivity
        As for :func:`budget_params`.
    rule : {"paper", "floor", "ceil", "nearest"}
        ``"floor"``: the largest size whose count does not exceed the budget;
        ``"ceil"``: the smallest whose count reaches it; ``"nearest"``: the
        nearest count (ties go to the smaller model); ``"paper"``: the rule that
        reproduces the paper's Table 1 for ``kind`` ("ceil" for the RNN, "floor"
        otherwise; see the module docstring).

    Examples
    --------
    >>> [size_for_budget("cwrnn", b) for b in (100, 250, 500, 1000)]
    [11, 19, 27, 40]
    """
    kind = _kind(kind)
    budget = as_int("budget", budget, minimum=1)
    if not isinstance(rule, str) or rule not in BUDGET_RULES:
        raise InvalidValueError(f"got {rule!r}, expected one of {', '.join(repr(r) for r in BUDGET_RULES)}", key="rule")
    rule = PAPER_RULES[kind] if rule == "paper" else rule
    periods = as_int_list("periods", periods, minimum=1, what="a list of integer periods")
    smallest = len(periods) if kind == "cwrnn" else 1

    def count(n):
        return budget_params(kind, n, n_in=n_in, n_out=n_out, periods=periods, connectivity=connectivity)

    low, high = smallest, smallest                 # counts grow with n: the smallest size reaching the budget,
    while count(high) < budget:                    # by doubling then bisection (a budget of 1e15 takes
        low, high = high + 1, 2 * high             # microseconds, not a loop of 3e7 sizes)
    while low < high:
        mid = (low + high) // 2
        low, high = (mid + 1, high) if count(mid) < budget else (low, mid)
    n = low
    if rule == "ceil":
        return n
    below = n if count(n) == budget else n - 1     # the largest size within the budget
    if below < smallest:
        if rule == "floor":
            raise InvalidValueError(
                f"got {budget}, but the smallest {kind} ({smallest} units) has {count(smallest)} "
                "parameters; raise the budget or use rule='ceil' or 'nearest'", key="budget")
        return n
    if rule == "floor" or below == n:
        return below
    return below if budget - count(below) <= count(n) - budget else n


def model_for_budget(kind: str, budget: int, *, n_in: int = 0, n_out: int = 1, periods=PAPER_PERIODS,
                     connectivity: str = "slow-to-fast", rule: str = "paper", seed=0, **options):
    """A model of ``kind`` sized by :func:`size_for_budget`.

    ``"rnn"`` gives :func:`simple_rnn`, ``"lstm"`` an :class:`~clocksim.LSTM`,
    ``"cwrnn"`` a :class:`~clocksim.ClockworkRNN` whose units are split by
    :func:`split_units` over modules with the given periods. ``options`` go to
    the model's constructor (e.g. ``output_activation``).
    """
    n = size_for_budget(kind, budget, n_in=n_in, n_out=n_out, periods=periods, connectivity=connectivity, rule=rule)
    kind = _kind(kind)
    params = budget_params(kind, n, n_in=n_in, n_out=n_out, periods=periods, connectivity=connectivity)
    check_memory(8.0 * params, "budget", f"a {kind} of {n:,} units ({params:,} parameters, float64)")
    takes = {"rnn": simple_rnn, "lstm": LSTM, "cwrnn": ClockworkRNN}[kind]
    check_options(options, [name for name in keyword_names(takes) if name not in _SIZED_BY_BUDGET],
                  where=f"model_for_budget (kind {kind!r})", suggest=keyword_names(model_for_budget))
    if kind == "rnn":
        return simple_rnn(n_in, n_out, n, seed=seed, **options)
    if kind == "lstm":
        return LSTM(n_in, n_out, n, seed=seed, **options)
    return ClockworkRNN(n_in, n_out, split_units(n, len(periods)), list(periods), connectivity=connectivity,
                        seed=seed, **options)


#: The constructor arguments model_for_budget sets itself (the others may be passed as ``options``).
_SIZED_BY_BUDGET = ("n_in", "n_out", "n_hidden", "module_sizes", "clocks", "connectivity", "seed")


def _kind(kind) -> str:
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise InvalidValueError(f"got {kind!r}, expected one of {', '.join(repr(k) for k in MODEL_KINDS)}", key="kind")
    return kind

