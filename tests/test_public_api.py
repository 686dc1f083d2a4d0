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
        self.device = cs.Device.load("cortex-m7-like")
        self.device_trace = cs.simulate(self.model, self.x, engine="events", step=1e-3,
                                        compute=cs.ComputeModel(device=self.device)).trace
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
    "Device": lambda w: (cs.Device, {name: getattr(w.device, name) for name in
                                     inspect.signature(cs.Device).parameters}),
    "analyze": lambda w: (cs.analyze, {"model": w.model, "compute": cs.ComputeModel(cores=1, throughput=8.0),
                                       "deadline": 1.5, "step": None, "batch": 1}),
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
    "plot_energy": lambda w: (cs.plot_energy, {"trace": w.device_trace, "fig": None}),
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
    "save_figures": lambda w: (csplot.save_figures, {"fig": cs.plot_state(w.result.h).figure,
                                                     "path_or_stem": w.out("fig.png"), "formats": None, "dpi": 40,
                                                     "close": True}),
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
    "Trace.binned_macs": lambda w: (w.trace.binned_macs, {"edges": [0.0, 4.0, 8.0]}),
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
    "ClockworkRNN.astype": lambda w: (w.model.astype, {"dtype": "float32"}),
    "ClockworkRNN.inputs_of": lambda w: (w.model.inputs_of, {"i": 0}),
    "ClockworkRNN.module_label": lambda w: (w.model.module_label, {"i": 1}),
    "ClockworkRNN.param_shapes": lambda w: (w.model.param_shapes, {}),
    "ClockworkRNN.receivers_of": lambda w: (w.model.receivers_of, {"j": 1}),
    "ClockworkRNN.rows": lambda w: (w.model.rows, {"i": 1}),
    "ClockworkRNN.set_params": lambda w: (w.model.copy().set_params, {"b": np.zeros(4)}),
    "LSTM.copy": lambda w: (w.lstm.copy, {}),
    "LSTM.astype": lambda w: (w.lstm.astype, {"dtype": "float32"}),
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
    "ComputeModel": ("core", "cores"),
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
    """The error's key is the parameter, or an entry of it (``periods[2]``, ``grads['W_in']``)."""
    key = err.key or ""
    return key == param or key.startswith((param + "[", param + "."))


@pytest.mark.parametrize("name,param,kind", CASES)
def test_bad_argument_is_refused_naming_it_or_works(world, name, param, kind):
    func, kwargs = VALID[name](world)
    if kind == "misspelt":
        typo, meant = MISSPELT[name]
        with pytest.raises(cs.ClocksimError, match=rf"{typo}.*did you mean {meant!r}"):
            _call(world, name, extra={typo: 1})
        return
    default = inspect.signature(func).parameters[param].default
    value = None if kind == "None" else _wrong_type(kwargs.get(param, default))
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


# --- absurd sizes: refused by an estimate, before anything is allocated ------------------------------------

@pytest.mark.parametrize("call,key,error", [
    (lambda: cs.exponential_periods(10**9), "g", cs.InvalidValueError),
    (lambda: cs.fibonacci_periods(10**9), "g", cs.InvalidValueError),
    (lambda: cs.linear_periods(10**9), "g", cs.ResourceLimitError),
    (lambda: cs.prime_periods(10**9), "g", cs.ResourceLimitError),
    (lambda: cs.model_for_budget("cwrnn", 10**15), "budget", cs.ResourceLimitError),
    (lambda: cs.model_for_budget("lstm", 10**15), "budget", cs.ResourceLimitError),
    (lambda: cs.model_for_budget("cwrnn", 1e15), "budget", cs.InvalidValueError),       # not an integer
    (lambda: cs.activity_mask([cs.Periodic(1), cs.Periodic(2)], 10**12), "n_steps", cs.ResourceLimitError),
    (lambda: cs.ClockworkRNN(1, 1, [2, 2], [1, 2]).activity(10**12), "n_steps", cs.ResourceLimitError),
])
def test_absurd_sizes_are_refused_within_a_second(call, key, error, monkeypatch):
    monkeypatch.setenv("CLOCKSIM_MAX_MEMORY", "8G")           # the same verdict on any machine
    t0 = time.perf_counter()
    with pytest.raises(error) as info:
        call()
    assert info.value.key == key and time.perf_counter() - t0 < 1.0


def test_families_accept_every_length_whose_periods_a_clock_takes():
    assert cs.exponential_periods(54)[-1] == 2**53 and cs.fibonacci_periods(77)[-1] <= 2**53
    for family, g in ((cs.exponential_periods, 55), (cs.fibonacci_periods, 78)):
        with pytest.raises(cs.InvalidValueError, match=r"g: got \d+: the slowest period"):
            family(g)
    cs.Periodic(cs.fibonacci_periods(77)[-1])                # the longest accepted family still makes clocks


def _primes_by_trial_division(g):
    out, candidate = [1], 2
    while len(out) < g:
        if all(candidate % p for p in out[1:] if p * p <= candidate):
            out.append(candidate)
        candidate += 1
    return out


def test_prime_periods_sieve_equals_trial_division():
    for g in list(range(1, 40)) + [100, 777]:
        assert cs.prime_periods(g) == _primes_by_trial_division(g)


def test_size_for_budget_bisection_equals_the_linear_search():
    from clocksim.model.baselines import budget_params

    def linear(kind, budget, rule, **kw):
        smallest = len(kw.get("periods", (1,))) if kind == "cwrnn" else 1
        n = smallest
        while budget_params(kind, n, **kw) < budget:
            n += 1
        if rule == "ceil":
            return n
        below = n if budget_params(kind, n, **kw) == budget else n - 1
        if rule == "floor" or below == n or below < smallest:
            return below if below >= smallest else n
        return below if budget - budget_params(kind, below, **kw) <= budget_params(kind, n, **kw) - budget else n

    rng = np.random.default_rng(0)
    for budget in [100, 250, 500, 1000, *rng.integers(50, 20000, 30).tolist()]:
        for kind in ("rnn", "lstm", "cwrnn"):
            for rule in ("ceil", "nearest"):
                kw = {"n_in": 2, "n_out": 1, "periods": (1, 2, 4)}
                assert cs.size_for_budget(kind, budget, rule=rule, **kw) == linear(kind, budget, rule, **kw)
    t0 = time.perf_counter()
    n = cs.size_for_budget("cwrnn", 10**15)
    assert budget_params("cwrnn", n) >= 10**15 * 0.999 and time.perf_counter() - t0 < 1.0


# --- finite inputs that overflow ------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m, x, t: cs.loss_and_grad(m, x, t),
    lambda m, x, t: cs.evaluate(m, x, t),
    lambda m, x, t: cs.train(m, x, t, epochs=1, progress=False),
    lambda m, x, t: cs.LSTM(1, 1, 2).loss_and_grad(x, t),
], ids=["loss_and_grad", "evaluate", "train", "LSTM.loss_and_grad"])
def test_targets_whose_squares_overflow_are_refused_naming_target(call):
    model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2], seed=0)
    x = np.zeros((4, 1))
    target = np.zeros((4, 1))
    target[2, 0] = 1e308
    with pytest.raises(cs.InvalidValueError, match=r"target: holds 1e\+308 at index \(2, 0\).*overflows") as info:
        call(model, x, target)
    assert info.value.key == "target"


def test_large_targets_that_fit_give_finite_losses_and_gradients():
    model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2], seed=0)
    value, grads = cs.loss_and_grad(model, np.zeros((4, 1)), np.full((4, 1), 1e150))
    assert np.isfinite(value) and all(np.isfinite(g).all() for g in grads.values())
    value, grads = cs.loss_and_grad(model, np.full((4, 1), 1e308), np.zeros((4, 1)))     # inputs saturate tanh
    assert np.isfinite(value) and all(np.isfinite(g).all() for g in grads.values())


# --- did you mean: one helper for the API's keywords and the files' keys ------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda m: cs.simulate(m, np.zeros((3, 1)), engnie="events"), r"engnie: unknown option of simulate .*"
                                                                   r"\(did you mean 'engine'\?\)"),
    (lambda m: cs.simulate(m, np.zeros((3, 1)), engine="event"), r"engine: got 'event' \(did you mean 'events'\?\)"),
    (lambda m: cs.simulate(m, np.zeros((3, 1)), engine="events", deadlin=1.0), r"deadlin: .*did you mean 'deadline'"),
    (lambda m: cs.simulate(m, np.zeros((3, 1)), kepe="last"), r"kepe: .*did you mean 'keep'"),
    (lambda m: cs.train(m, np.zeros((3, 1)), np.zeros((3, 1)), lerning_rate=0.1),
     r"train: unknown option .*'lerning_rate' \(did you mean 'learning_rate'"),
    (lambda m: cs.train(m, np.zeros((3, 1)), np.zeros((3, 1)), validaton=None), r"did you mean 'validation'"),
    (lambda m: m.set_params(W_recc=np.zeros((4, 4))), r"set_params: unknown parameter 'W_recc' \(did you mean 'W_rec'"),
    (lambda m: cs.model_for_budget("rnn", 100, activaton="relu"), r"activaton: .*did you mean 'activation'"),
    (lambda m: cs.TrainConfig.from_dict({"epoch": 3}), r"config: unknown key 'epoch' \(did you mean 'epochs'"),
    (lambda m: cs.plot_heatmap({"a": [1], "b": [2], "v": [3.0]}, "a", "b", "v", cmap="virdis"),
     r"cmap: got 'virdis' \(did you mean 'viridis'"),
])
def test_misspelt_options_get_a_did_you_mean(call, message):
    model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2], seed=0)
    with pytest.raises(cs.InvalidValueError, match=message):
        call(model)


def test_check_options_is_the_helper_a_keyword_class_uses():
    """How a class taking ``**options`` (ComputeModel in clocksim/sched/, say) gives a did-you-mean."""
    from clocksim._validate import check_options, did_you_mean, keyword_names

    known = keyword_names(cs.ComputeModel)
    assert known[:3] == ["cores", "throughput", "overhead"]
    with pytest.raises(cs.InvalidValueError, match=r"^core: unknown option of ComputeModel \(did you mean "
                                                   r"'cores'\?\); expected one of cores, throughput") as info:
        check_options({"core": 2}, known, where="ComputeModel")
    assert info.value.key == "core"
    with pytest.raises(cs.InvalidValueError, match=r"^k: unknown options 'core' \(did you mean 'cores'\?\), 'zzz';"):
        check_options({"core": 2, "zzz": 1, "cores": 1}, known, key="k")
    check_options({"cores": 2}, known)
    assert did_you_mean("thruput", known) == " (did you mean 'throughput'?)" and did_you_mean("zzz", known) == ""


def test_scenario_and_sweep_keys_share_the_helper():
    """No second did-you-mean: the scenario and sweep checks call _validate.did_you_mean."""
    import ast

    package = Path(cs.__file__).parent
    users = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                   if any(isinstance(n, ast.Attribute) and n.attr == "get_close_matches"
                          for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))))
    assert users == ["_validate.py"]
