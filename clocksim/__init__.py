"""clocksim: Clockwork RNNs whose modules are clocked, simulated processes.

See ``docs/concepts.md`` for what a clock rate is and ``docs/api.md`` for this list.
"""

from . import cost, search  # noqa: F401  (modules: cs.cost.activation_macs; cs.search(...), a callable package)
from .aggregate import AggregateTrace
from .baselines import budget_params, model_for_budget, simple_rnn, size_for_budget
from .clocks import (
                     Clock,
                     Explicit,
                     Jittered,
                     OnInput,
                     Periodic,
                     Poisson,
                     activity_mask,
                     exponential_periods,
                     fibonacci_periods,
                     linear_periods,
                     prime_periods,
                     stagger_phases,
)
from .cost import ComputeModel, Exponential, Fixed, LinkLatency, Uniform
from .engine import ENGINES, Result, simulate
from .errors import ClocksimError, ClocksimWarning, InvalidValueError, ShapeError, UnsupportedError
from .grad import evaluate, loss_and_grad
from .lstm import LSTM
from .model import ClockworkRNN
from .optim import SGD, Adam, Momentum, Nesterov
from .plot import (
                     plot_activity,
                     plot_compare,
                     plot_connectivity,
                     plot_cost,
                     plot_gantt,
                     plot_heatmap,
                     plot_latency,
                     plot_pareto,
                     plot_staleness,
                     plot_state,
)
from .sweep import Sweep, load_sweep, run_sweep
from .trace import Trace
from .train import DivergenceError, History, TrainConfig, train

__version__ = "0.1.0"


__all__ = [
    "Clock", "Periodic", "Explicit", "Jittered", "Poisson", "OnInput", "activity_mask",
    "exponential_periods", "fibonacci_periods", "linear_periods", "prime_periods", "stagger_phases",
    "ClockworkRNN",
    "simulate", "Result", "ENGINES",
    "ComputeModel", "LinkLatency", "Fixed", "Uniform", "Exponential",
    "Trace", "AggregateTrace",
    "plot_activity", "plot_gantt", "plot_cost", "plot_latency", "plot_staleness", "plot_state", "plot_connectivity",
    "plot_compare",
    "Sweep", "load_sweep", "run_sweep", "plot_pareto", "plot_heatmap", "search",
    "ClocksimError", "InvalidValueError", "ShapeError", "UnsupportedError", "ClocksimWarning",
    "loss_and_grad", "evaluate",
    "train", "TrainConfig", "History", "DivergenceError", "SGD", "Momentum", "Nesterov", "Adam",
    "LSTM", "simple_rnn", "budget_params", "size_for_budget", "model_for_budget",
]
