"""clocksim: Clockwork RNNs whose modules are clocked, simulated processes.

See ``docs/concepts.md`` for what a clock rate is and ``docs/api.md`` for this list.

Importing clocksim loads almost nothing: each public name is imported from its module on
first use (PEP 562), so ``import clocksim`` stays fast and numba, SimPy, matplotlib, pandas,
Dask and tqdm are loaded only by the runs, plots and sweeps that need them.
"""

import importlib.abc
import importlib.util
import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING

from .errors import (
    ClocksimError,
    ClocksimWarning,
    FileFormatError,
    InvalidTypeError,
    InvalidValueError,
    ResourceLimitError,
    ShapeError,
    UnsupportedError,
)

if TYPE_CHECKING:                      # what the names below resolve to, for type checkers and the API docs
    from . import cost  # noqa: F401  (the module: cs.cost.activation_macs, ...)
    from .app import search  # noqa: F401  (a callable package: cs.search(...))
    from .trace.aggregate import AggregateTrace
    from .model.baselines import budget_params, model_for_budget, simple_rnn, size_for_budget
    from .model.clocks import (
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
    from .cost import Exponential, Fixed, LinkLatency, Uniform
    from .sched.compute import ComputeModel
    from .sched.analyze import analyze
    from .sched.device import Device
    from .engine import ENGINES, Result, simulate
    from .train.grad import evaluate, loss_and_grad
    from .model.lstm import LSTM
    from .model.cwrnn import ClockworkRNN
    from .train.optim import SGD, Adam, Momentum, Nesterov
    from .plot import (
        plot_activity,
        plot_compare,
        plot_connectivity,
        plot_cost,
        plot_energy,
        plot_gantt,
        plot_heatmap,
        plot_latency,
        plot_pareto,
        plot_staleness,
        plot_state,
    )
    from .app.sweep import Sweep, load_sweep, run_sweep
    from .trace.core import Trace
    from .train.loop import DivergenceError, History, TrainConfig, train

__version__ = "0.1.0"

#: Where each public name lives (module relative to this package).
_WHERE = {
    ".model.clocks": ["Clock", "Periodic", "Explicit", "Jittered", "Poisson", "OnInput", "activity_mask",
                      "exponential_periods", "fibonacci_periods", "linear_periods", "prime_periods",
                      "stagger_phases"],
    ".model.cwrnn": ["ClockworkRNN"],
    ".engine": ["simulate", "Result", "ENGINES"],
    ".cost": ["ComputeModel", "LinkLatency", "Fixed", "Uniform", "Exponential"],
    ".sched.device": ["Device"],
    ".trace.core": ["Trace"],
    ".trace.aggregate": ["AggregateTrace"],
    ".plot": ["plot_activity", "plot_gantt", "plot_cost", "plot_energy", "plot_latency", "plot_staleness", "plot_state",
              "plot_connectivity", "plot_compare", "plot_pareto", "plot_heatmap"],
    ".app.sweep": ["Sweep", "load_sweep", "run_sweep"],
    ".train.grad": ["loss_and_grad", "evaluate"],
    ".train.loop": ["train", "TrainConfig", "History", "DivergenceError"],
    ".train.optim": ["SGD", "Momentum", "Nesterov", "Adam"],
    ".model.lstm": ["LSTM"],
    ".sched.analyze": ["analyze"],
    ".model.baselines": ["simple_rnn", "budget_params", "count_params", "size_for_budget", "model_for_budget"],
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
_SUBMODULES = {"cost", "search"}          # listed by dir(); any submodule loads on access (cs.cost.activation_macs)

#: Where the modules of the flat layout before DESIGN section 4 went: ``import clocksim.execute``,
#: ``from clocksim.scenario import load_scenario`` and every other old path (submodules included:
#: ``clocksim.sweep.points``) give the module at its new place, the same object, so there is one
#: module per file whichever name imports it. No file is left at an old path.
_MOVED = {
    "clocks": "model.clocks", "lstm": "model.lstm", "params": "model.params", "baselines": "model.baselines",
    "lstm_kernels": "kernels.lstm", "engine.event_kernels": "kernels.events",
    "aggregate": "trace.aggregate", "summary": "trace.summary", "npzfile": "trace.files", "export": "trace.export",
    "grad": "train.grad", "optim": "train.optim", "checkpoint": "train.checkpoint", "tasks": "train.tasks",
    "scenario": "app.scenario", "execute": "app.execute", "runner": "app.outputs", "cli": "app.cli",
    "explain": "app.explain", "sweep": "app.sweep", "search": "app.search", "reproduce": "app.reproduce",
    "folders": "app.folders", "provenance": "app.provenance", "_format": "plot._format",
}

__all__ = [
    "Clock", "Periodic", "Explicit", "Jittered", "Poisson", "OnInput", "activity_mask",
    "exponential_periods", "fibonacci_periods", "linear_periods", "prime_periods", "stagger_phases",
    "ClockworkRNN",
    "simulate", "Result", "ENGINES",
    "ComputeModel", "LinkLatency", "Fixed", "Uniform", "Exponential", "Device",
    "Trace", "AggregateTrace",
    "plot_activity", "plot_gantt", "plot_cost", "plot_energy", "plot_latency", "plot_staleness", "plot_state", "plot_connectivity",
    "plot_compare",
    "Sweep", "load_sweep", "run_sweep", "plot_pareto", "plot_heatmap", "search",
    "ClocksimError", "InvalidValueError", "InvalidTypeError", "ShapeError", "FileFormatError", "ResourceLimitError",
    "UnsupportedError", "ClocksimWarning",
    "loss_and_grad", "evaluate",
    "train", "TrainConfig", "History", "DivergenceError", "SGD", "Momentum", "Nesterov", "Adam",
    "LSTM", "simple_rnn", "budget_params", "size_for_budget", "model_for_budget",
    "analyze",
]


def __getattr__(name: str):
    if name in _MODULE_OF:
        value = getattr(import_module(_MODULE_OF[name], __name__), name)
    else:                            # a submodule: cs.cost, cs.engine, ...
        try:
            value = import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'clocksim' has no attribute {name!r}") from None
    globals()[name] = value          # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


class _Package(types.ModuleType):
    """Keeps ``clocksim.train`` the function when the submodule of the same name is first imported."""

    def __setattr__(self, name, value):
        if name in _MODULE_OF and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path of ``_MOVED`` (or a submodule of one) to the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, rest = fullname.partition(".")
        if head != __name__:
            return None
        for old, new in _MOVED.items():
            if rest == old or rest.startswith(old + "."):
                return importlib.util.spec_from_loader(fullname, self, origin=f"{__name__}.{new}{rest[len(old):]}")
        return None

    def create_module(self, spec):
        module = import_module(spec.origin)
        spec.loader_state = module.__spec__          # the import system sets __spec__ to this alias's spec ...
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state    # ... and here the module gets its own back


sys.meta_path.insert(0, _MovedModules())
