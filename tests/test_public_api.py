"""The public API refuses bad input as cleanly as the command line (issue 25 point 6, issue 31).

The surface is *enumerated*, not hand-picked: every callable in ``clocksim.__all__``, in
``clocksim.plot.__all__``, ``load_search``, the engine classes whose parameters are the options of
``simulate``, and the public methods of :class:`~clocksim.Trace`, :class:`~clocksim.AggregateTrace`,
:class:`~clocksim.ClockworkRNN`, :class:`~clocksim.LSTM` and the optimisers. For each one ``VALID``
gives one call that works; then every parameter in turn is replaced by ``None`` and by a value of
the wrong type (a string where a number is expected, an int where anything else is), and the call
must either work or raise a :class:`~clocksim.ClocksimError` whose key (or message) names that
parameter. A keyword catch-all (``**options``) is given a misspelt option, which must be refused
with a did-you-mean. A public callable missing from ``VALID`` fails the test, so a new name is
covered the day it is added.
"""

from __future__ import annotations

import inspect
import math
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import clocksim as cs
import clocksim.plot as csplot
from clocksim.engine.compiled import CompiledEngine
from clocksim.engine.events import EventEngine

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adam")
METHOD_OWNERS = ("Trace", "AggregateTrace", "ClockworkRNN", "LSTM", *OPTIMIZERS)


def _is_error(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, (BaseException, Warning))


def public_callables() -> dict[str, object]:
    """Qualified name -> callable, for the whole documented surface."""
    from clocksim.search import load_search

    found = {}
    for name in cs.__all__:
        obj = getattr(cs, name)
        if callable(obj) and not _is_error(obj) and not inspect.isabstract(obj):
            found[name] = obj
    for name in csplot.__all__:
        obj = getattr(csplot, name)
        if callable(obj):
            found.setdefault(name, obj)
    found["load_search"] = load_search
    found["CompiledEngine"] = CompiledEngine
    found["EventEngine"] = EventEngine
    for owner in METHOD_OWNERS:
        cls = getattr(cs, owner)
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") or isinstance(inspect.getattr_static(cls, name), property):
                continue
            if callable(member):
                found[f"{owner}.{name}"] = member
    return found


# --- the objects the valid calls are made of -----------------------------------------------------------

class World:
    """Small valid inputs, built once per module (a model, inputs, a trace with timing, files)."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "out").mkdir()
        self.model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2], seed=0)
        self.x = np.linspace(-1.0, 1.0, 8).reshape(8, 1)
        self.target = np.zeros((8, 1))
        res = cs.simulate(self.model, self.x, engine="events", compute=cs.ComputeModel(cores=1, throughput=8.0),
                          deadline=1.5)
        self.result = res
        self.trace = res.trace
        self.agg = cs.simulate(self.model, self.x, trace="aggregate").trace
        self.lstm = cs.LSTM(1, 1, 2, seed=0)
        self.trace_npz = self.trace.save(folder / "trace.npz")
        self.trace_csv = self.trace.to_csv(folder / "trace.csv")
        self.trace_parquet = self.trace.to_parquet(folder / "trace.parquet") if not _missing("pyarrow") else None
        self.table = {"macs": [3.0, 2.0, 1.0], "latency_p99": [1.0, 2.0, 3.0], "status": ["ok"] * 3,
                      "model.family": ["a", "b", "a"], "seed": [0, 0, 1]}
        scenario = folder / "tiny.toml"
        scenario.write_text('[model]\nmodule_sizes = [2, 2]\nperiods = [1, 2]\n[input]\nkind = "sine"\n'
                            'steps = 8\nchannels = 1\n[engine]\nname = "compiled"\n', encoding="utf-8")
        self.sweep_path = folder / "sweep.toml"
        self.sweep_path.write_text('[sweep]\nscenario = "tiny.toml"\n[grid]\nmodel.seed = [0, 1]\n',
                                   encoding="utf-8")
        self.search_path = folder / "search.toml"
        self.search_path.write_text('[search]\nscenario = "tiny.toml"\ntrials = 2\nsampler = "random"\n[[objectives]]\n'
                                    'metric = "macs"\n[periods]\nmodules = 2\nlow = 1\nhigh = 4\n', encoding="utf-8")
        self.sweep = cs.load_sweep(self.sweep_path)
        self.params = {k: v.copy() for k, v in self.model.params.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def out(self, name: str) -> Path:
        return self.folder / "out" / name


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return World(tmp_path_factory.mktemp("public_api"))


def _optimizer(name):
    return lambda w: (getattr(cs, name)(0.1), {})


# Each entry: world -> (callable to call, {parameter: valid value}). Methods are called bound.
VALID = {
    "Periodic": lambda w: (cs.Periodic, {"period": 4, "phase": 1}),
    "Explicit": lambda w: (cs.Explicit, {"times": [0.0, 2.0], "period": 4.0}),
    "Jittered": lambda w: (cs.Jittered, {"period": 2.0, "jitter": 0.5, "phase": 0.0, "seed": 1}),
    "Poisson": lambda w: (cs.Poisson, {"rate": 0.5, "seed": 1}),
    "OnInput": lambda w: (cs.OnInput, {"threshold": 0.1, "channels": [0], "period": 1.0}),
    "activity_mask": lambda w: (cs.activity_mask, {"clocks": [cs.Periodic(1), cs.Periodic(2)], "n_steps": 6,
                                                   "start": 1, "x": None}),
    "exponential_periods": lambda w: (cs.exponential_periods, {"g": 4, "base": 2}),
    "fibonacci_periods": lambda w: (cs.fibonacci_periods, {"g": 4}),
    "linear_periods": lambda w: (cs.linear_periods, {"g": 4, "step": 2, "first": 1}),
    "prime_periods": lambda w: (cs.prime_periods, {"g": 4}),
    "stagger_phases": lambda w: (cs.stagger_phases, {"periods": [1, 2, 4], "weights": [1.0, 2.0, 3.0],
                                                     "horizon": 8, "ranks": [0, 0, 1]}),
    "ClockworkRNN": lambda w: (cs.ClockworkRNN, {"n_in": 1, "n_out": 1, "module_sizes": [2, 2], "clocks": [1, 2],
                                                 "connectivity": "slow-to-fast", "activation": "tanh",
                                                 "output_activation": "linear", "start": 0, "seed": 0,
                                                 "input_mode": "latest"}),
    "simulate": lambda w: (cs.simulate, {"model": w.model, "x": w.x, "engine": "compiled", "n_steps": None}),
    "Result": lambda w: (cs.Result, {"y": np.zeros((2, 1)), "h": np.zeros((2, 4)), "trace": w.trace,
                                     "engine": "compiled", "wall_time": 0.0}),
    "CompiledEngine": lambda w: (CompiledEngine, {"trace": "full", "keep": "all", "chunk": 4, "trace_dir": None}),
    "EventEngine": lambda w: (EventEngine, {"latency": 0.5, "compute": cs.ComputeModel(), "deadline": 2.0,
                                            "times": None, "order": None, "progress": None}),
    "ComputeModel": lambda w: (cs.ComputeModel, {"cores": 2, "throughput": 10.0, "overhead": 0.1,
                                                 "priority": "fastest-first"}),
    "LinkLatency": lambda w: (cs.LinkLatency, {"default": 0.5, "links": {(0, 1): 1.0}, "seed": 0}),
    "Fixed": lambda w: (cs.Fixed, {"value": 1.0}),
    "Uniform": lambda w: (cs.Uniform, {"low": 0.0, "high": 1.0}),
    "Exponential": lambda w: (cs.Exponential, {"mean": 1.0, "minimum": 0.0}),
    "Trace": lambda w: (cs.Trace, {"activations": w.trace.activations, "messages": None, "readouts": None,
                                   "meta": dict(w.trace.meta), "expand": None}),
    "AggregateTrace": lambda w: (cs.AggregateTrace, {"meta": dict(w.trace.meta)}),
    "plot_activity": lambda w: (cs.plot_activity, {"trace": w.trace, "ax": None, "steps": None,
                                                   "aggregate": None, "windows": False}),
    "plot_gantt": lambda w: (cs.plot_gantt, {"trace": w.trace, "ax": None, "steps": None}),
    "plot_cost": lambda w: (cs.plot_cost, {"trace": w.trace, "fig": None, "steps": None}),
    "plot_latency": lambda w: (cs.plot_latency, {"trace": w.trace, "fig": None, "steps": None}),
    "plot_staleness": lambda w: (cs.plot_staleness, {"trace": w.trace, "ax": None}),
    "plot_state": lambda w: (cs.plot_state, {"h": w.result.h, "module_sizes": [2, 2], "labels": None, "ax": None,
                                             "trace": None, "start": 0, "sequence": 0}),
    "plot_connectivity": lambda w: (cs.plot_connectivity, {"block_mask": w.model.block_mask, "mask": w.model.mask,
                                                           "labels": None, "module_sizes": [2, 2], "fig": None}),
    "plot_compare": lambda w: (cs.plot_compare, {"trace_a": w.trace, "trace_b": w.trace, "fig": None,
                                                 "names": ("A", "B"), "steps": None}),
    "plot_pareto": lambda w: (cs.plot_pareto, {"table": w.table, "x": "macs", "y": "latency_p99", "by": None,
                                               "maximize_y": None, "ax": None}),
    "plot_heatmap": lambda w: (cs.plot_heatmap, {"table": w.table, "x": "model.family", "y": "seed",
                                                 "value": "macs", "by": None, "ax": None, "cmap": "viridis"}),
    "save_figure": lambda w: (csplot.save_figure, {"fig": cs.plot_state(w.result.h).figure,
                                                   "path": w.out("fig.png"), "dpi": 40}),
    "save_plots": lambda w: (csplot.save_plots, {"trace": w.trace, "directory": w.out(""),
                                                 "kinds": ["activity"], "dpi": 40}),
    "Sweep": lambda w: (cs.Sweep, {name: getattr(w.sweep, name) for name in
                                   inspect.signature(cs.Sweep).parameters}),
    "load_sweep": lambda w: (cs.load_sweep, {"path": w.sweep_path}),
    "run_sweep": lambda w: (cs.run_sweep, {"sweep": w.sweep, "out_dir": w.out("sweep"), "scheduler": "serial",
                                           "workers": None, "force": True, "retry_errors": False,
                                           "progress": False, "figures": False}),
    "search": lambda w: (cs.search, {"spec": w.search_path, "out_dir": w.out("search")}),
    "load_search": lambda w: (public_callables()["load_search"], {"path": w.search_path}),
    "loss_and_grad": lambda w: (cs.loss_and_grad, {"model": w.model, "x": w.x, "target": w.target, "loss": "mse"}),
    "evaluate": lambda w: (cs.evaluate, {"model": w.model, "x": w.x, "target": w.target, "loss": "mse"}),
    "train": lambda w: (cs.train, {"model": w.model.copy(), "x": w.x, "target": w.target,
                                   "config": cs.TrainConfig(epochs=1), "validation": None, "rng": None,
                                   "checkpoint": None, "checkpoint_every": 1, "resume": None, "progress": False,
                                   "on_epoch": None, "fingerprint": None}),
    "TrainConfig": lambda w: (cs.TrainConfig, {"epochs": 2, "learning_rate": 0.01, "loss": "mse"}),
    "History": lambda w: (cs.History, {}),
    "SGD": lambda w: (cs.SGD, {"learning_rate": 0.1}),
    "Momentum": lambda w: (cs.Momentum, {"learning_rate": 0.1, "momentum": 0.9}),
    "Nesterov": lambda w: (cs.Nesterov, {"learning_rate": 0.1, "momentum": 0.9}),
    "Adam": lambda w: (cs.Adam, {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    "LSTM": lambda w: (cs.LSTM, {"n_in": 1, "n_out": 1, "n_hidden": 2, "output_activation": "linear",
                                 "forget_bias": 5.0, "seed": 0}),
    "simple_rnn": lambda w: (cs.simple_rnn, {"n_in": 1, "n_out": 1, "n_hidden": 3, "activation": "tanh",
                                             "output_activation": "linear", "seed": 0}),
    "budget_params": lambda w: (cs.budget_params, {"kind": "cwrnn", "n_hidden": 8, "n_in": 1, "n_out": 1,
                                                   "periods": (1, 2), "connectivity": "slow-to-fast"}),
    "size_for_budget": lambda w: (cs.size_for_budget, {"kind": "cwrnn", "budget": 100, "n_in": 1, "n_out": 1,
                                                       "periods": (1, 2), "connectivity": "slow-to-fast",
                                                       "rule": "paper"}),
    "model_for_budget": lambda w: (cs.model_for_budget, {"kind": "cwrnn", "budget": 100, "n_in": 1, "n_out": 1,
                                                         "periods": (1, 2), "connectivity": "slow-to-fast",
                                                         "rule": "paper", "seed": 0}),
    # methods (called bound; ``self`` is not a parameter of the call)
    "Trace.aggregate": lambda w: (w.trace.aggregate, {}),
    "Trace.load": lambda w: (cs.Trace.load, {"path": w.trace_npz}),
    "Trace.read_csv": lambda w: (cs.Trace.read_csv, {"path": w.trace_csv, "messages": None, "readouts": None,
                                                     "meta": None}),
    "Trace.read_parquet": lambda w: (cs.Trace.read_parquet, {"path": w.trace_parquet, "messages": None,
                                                             "readouts": None, "meta": None}),
    "Trace.save": lambda w: (w.trace.save, {"path": w.out("t.npz"), "fingerprint": None}),
    "Trace.step_macs": lambda w: (w.trace.step_macs, {}),
    "Trace.summary": lambda w: (w.trace.summary, {}),
    "Trace.to_chrome": lambda w: (w.trace.to_chrome, {"path": w.out("t.json"), "us_per_step": 1000.0,
                                                      "zero_width": 0.5}),
    "Trace.to_csv": lambda w: (w.trace.to_csv, {"path": w.out("t.csv"), "table": "activations"}),
    "Trace.to_pandas": lambda w: (w.trace.to_pandas, {"table": "activations"}),
    "Trace.to_parquet": lambda w: (w.trace.to_parquet, {"path": w.out("t.parquet"), "table": "activations"}),
    "AggregateTrace.add": lambda w: (cs.AggregateTrace(dict(w.trace.meta)).add,
                                     {"activations": w.trace.activations, "messages": None, "readouts": None}),
    "AggregateTrace.merge": lambda w: (w.agg.merge, {"other": w.agg}),
    "AggregateTrace.summary": lambda w: (w.agg.summary, {}),
    "ClockworkRNN.activity": lambda w: (w.model.activity, {"n_steps": 6, "x": None}),
    "ClockworkRNN.copy": lambda w: (w.model.copy, {}),
    "ClockworkRNN.inputs_of": lambda w: (w.model.inputs_of, {"i": 0}),
    "ClockworkRNN.module_label": lambda w: (w.model.module_label, {"i": 1}),
    "ClockworkRNN.param_shapes": lambda w: (w.model.param_shapes, {}),
    "ClockworkRNN.receivers_of": lambda w: (w.model.receivers_of, {"j": 1}),
    "ClockworkRNN.rows": lambda w: (w.model.rows, {"i": 1}),
    "ClockworkRNN.set_params": lambda w: (w.model.copy().set_params, {"b": np.zeros(4)}),
    "LSTM.copy": lambda w: (w.lstm.copy, {}),
    "LSTM.evaluate": lambda w: (w.lstm.evaluate, {"x": w.x, "target": w.target, "loss": "mse"}),
    "LSTM.forward": lambda w: (w.lstm.forward, {"x": w.x, "n_steps": None}),
    "LSTM.loss_and_grad": lambda w: (w.lstm.loss_and_grad, {"x": w.x, "target": w.target, "loss": "mse"}),
    "LSTM.param_shapes": lambda w: (w.lstm.param_shapes, {}),
    "LSTM.set_params": lambda w: (w.lstm.copy().set_params, {"b": np.zeros(8)}),
}
for _name in OPTIMIZERS:
    VALID[f"{_name}.evaluation_point"] = (lambda n: lambda w: (getattr(cs, n)(0.1).evaluation_point,
                                                               {"params": w.params}))(_name)
    VALID[f"{_name}.hyperparameters"] = (lambda n: lambda w: (getattr(cs, n)(0.1).hyperparameters, {}))(_name)
    VALID[f"{_name}.state_dict"] = (lambda n: lambda w: (getattr(cs, n)(0.1).state_dict, {}))(_name)
    VALID[f"{_name}.load_state_dict"] = (lambda n: lambda w: (getattr(cs, n)(0.1).load_state_dict,
                                                              {"state": getattr(cs, n)(0.1).state_dict()}))(_name)
    VALID[f"{_name}.step"] = (lambda n: lambda w: (getattr(cs, n)(0.1).step,
                                                   {"params": w.params, "grads": w.grads}))(_name)

#: Optional dependencies a valid call may need; without them the call is refused with a ClocksimError
#: naming the extra, which counts as "works" only when the module is really missing.
OPTIONAL = {"search": "optuna", "Trace.to_parquet": "pyarrow", "Trace.read_parquet": "pyarrow",
            "Trace.to_pandas": "pandas"}


#: Every callable taking ``**options``: a misspelt option and the suggestion it must get.
MISSPELT = {
    "simulate": ("engnie", "engine"),
    "search": ("trails", "trials"),
    "CompiledEngine": ("kepe", "keep"),
    "EventEngine": ("deadlin", "deadline"),
    "train": ("epohcs", "epochs"),
    "model_for_budget": ("output_activaton", "output_activation"),
    "ClockworkRNN.set_params": ("W_recc", "W_rec"),
    "LSTM.set_params": ("W_outt", "W_out"),
}


def _wrong_type(valid):
    """A value of the wrong kind: a string where a number is expected, an int where anything else is."""
    if isinstance(valid, (bool, int, float, np.number)) and not isinstance(valid, np.ndarray):
        return "1"
    return 3


def _cases():
    cases = []
    for name, func in sorted(public_callables().items()):
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            continue
        params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                continue
            if p.kind is p.VAR_KEYWORD:
                cases.append(pytest.param(name, p.name, "misspelt", id=f"{name}-**{p.name}-misspelt"))
                continue
            for kind in ("None", "wrong type"):
                cases.append(pytest.param(name, p.name, kind, id=f"{name}-{p.name}-{kind}"))
    return cases


CASES = _cases()


def test_every_public_callable_has_a_valid_call():
    assert sorted(set(public_callables()) - set(VALID)) == []
    assert sorted(set(VALID) - set(public_callables())) == []


def test_every_keyword_catch_all_is_tried_with_a_misspelling():
    assert sorted(name for name, _, kind in (c.values for c in CASES) if kind == "misspelt") == sorted(MISSPELT)


def test_the_enumeration_covers_the_documented_surface():
    names = public_callables()
    for needed in ("exponential_periods", "activity_mask", "model_for_budget", "Adam", "plot_gantt",
                   "load_sweep", "load_search", "Trace.to_csv", "Trace.load", "simulate", "EventEngine"):
        assert needed in names
    print(f"{len(names)} public callables, {len(CASES)} cases")
    assert len(names) >= 90 and len(CASES) >= 400


def _missing(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is None


def _call(world, name, replace=None, extra=None):
    import matplotlib.pyplot as plt

    func, kwargs = VALID[name](world)
    kwargs = dict(kwargs)
    if replace is not None:
        kwargs[replace[0]] = replace[1]
    kwargs.update(extra or {})
    try:
        return func(**kwargs)
    finally:
        plt.close("all")


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_valid_call_works(world, name):
    if name in OPTIONAL and _missing(OPTIONAL[name]):
        with pytest.raises(cs.ClocksimError, match=OPTIONAL[name]):
            _call(world, name)
        return
    _call(world, name)


def _names(err: cs.ClocksimError, param: str) -> bool:
    key = err.key or ""
    return param in key.replace("-", "_").split(".")[0].split("[")[0] or param in key or param in str(err)


@pytest.mark.parametrize("name,param,kind", CASES)
def test_bad_argument_is_refused_naming_it_or_works(world, name, param, kind):
    func, kwargs = VALID[name](world)
    if kind == "misspelt":
        typo, meant = MISSPELT[name]
        with pytest.raises(cs.ClocksimError, match=rf"{typo}.*did you mean {meant!r}"):
            _call(world, name, extra={typo: 1})
        return
    value = None if kind == "None" else _wrong_type(kwargs.get(param, inspect.signature(func).parameters[param].default))
    t0 = time.perf_counter()
    try:
        _call(world, name, replace=(param, value))
    except cs.ClocksimError as err:
        if name in OPTIONAL and _missing(OPTIONAL[name]) and OPTIONAL[name] in str(err):
            return
        assert _names(err, param), f"{name}({param}={value!r}) raised {type(err).__name__} not naming it: {err}"
    except Exception as err:          # noqa: BLE001 - the point: anything else is a failure
        pytest.fail(f"{name}({param}={value!r}) raised {type(err).__name__}: {err}")
    assert time.perf_counter() - t0 < 30
