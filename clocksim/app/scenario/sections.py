"""Parsers of the [model], [input], [engine] and [output] sections."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ...model import clocks as C
from ... import cost
from ...model.baselines import BUDGET_RULES, MODEL_KINDS, simple_rnn, size_for_budget, split_units
from ...engine.base import TRACE_KINDS
from ...engine.stream import KEEP_KINDS, run_size
from ...errors import ClocksimError
from ...sched.device import Device, as_device, bundled_devices
from ...limits import EVENTS_ENV, check_count, check_memory
from ...sched.units import as_step, in_steps, parse_time
from ...errors import InvalidValueError
from ...model.lstm import LSTM
from ...model.params import DTYPES
from ...plot.files import check_formats, check_size
from ...model.cwrnn import CONNECTIVITIES, HIDDEN_ACTIVATIONS, INPUT_MODES, OUTPUT_ACTIVATIONS, ClockworkRNN, param_bytes
from ...trace.files import Entry, open_npy, read_npz
from .checks import Checks
from .schema import ARRIVALS, INPUT_KINDS, PLOTS
from .signals import Signal

#: The [model] keys of the models that are not Clockwork RNNs with several modules.
BASELINE_KEYS = {"rnn": ("kind", "module_sizes", "budget", "rule", "n_out", "activation", "output_activation", "dtype",
                         "seed", "params"),
                 "lstm": ("kind", "module_sizes", "budget", "rule", "n_out", "output_activation", "seed", "params",
                          "dtype")}


def model_section(ctx: "Checks", m: dict, n_in: int, n_out: int | None = None) -> ClockworkRNN | LSTM:
    """The scenario's model: a Clockwork RNN (``kind = "cwrnn"``), a simple RNN or an LSTM."""
    kind = ctx.choice(m, "model.kind", MODEL_KINDS)
    if "budget" in m and "module_sizes" in m:
        ctx.fail("model.budget", m["budget"], "either `budget` or `module_sizes`, not both")
    if "rule" in m and "budget" not in m:
        ctx.fail("model.rule", m["rule"], "a `budget` too (the rule sizes the model to it)")
    outputs = ctx.int(m, "model.n_out", minimum=1, default=n_out)
    if n_out is not None and outputs != n_out:
        ctx.fail("model.n_out", outputs, f"{n_out}, the task's number of outputs (or leave it out)")
    if kind != "cwrnn":
        return _baseline(ctx, kind, m, n_in, outputs)
    if "periods" in m and "clocks" in m:
        ctx.error("model", "got both `periods` and `clocks`, expected one of them")
    schedule = "clocks" if "clocks" in m else "periods" if "periods" in m else None
    for key in FAMILY_KEYS:                  # never run with the file's periods while a family was asked for
        if schedule and key in m:
            ctx.error(f"model.{key}", f"got {m[key]!r} beside model.{schedule}, which gives the schedule itself; "
                      f"expected one of them (remove model.{schedule} to use model.{key}, or leave model.{key} out)")
    sizes = ctx.get(m, "model.module_sizes")
    if "clocks" in m:
        g_key, g = "model.clocks", len(m["clocks"]) if isinstance(m["clocks"], list) else 1
    elif "periods" in m:
        g_key, g = "model.periods", len(m["periods"]) if isinstance(m["periods"], list) else 1
    else:
        g_key = "model.modules"
        g = ctx.int(m, "model.modules", minimum=1, default=len(sizes) if isinstance(sizes, list) else 8)
    n_units = sum(k for k in sizes if isinstance(k, int)) if isinstance(sizes, list) else (
        sizes * g if isinstance(sizes, int) and not isinstance(sizes, bool) else g)
    ctx.call("model.module_sizes" if n_units > g else g_key, check_memory,
             param_bytes(n_in, n_out or 1, max(n_units, g), g), None, "the model's parameters and masks")
    if "clocks" in m:
        clocks = _clocks(ctx, m["clocks"])
    else:
        if "periods" in m:
            periods = ctx.int_list(m, "model.periods", minimum=1)
        else:
            family = ctx.choice(m, "model.family", list(C.PERIOD_FAMILIES))
            kw = {"base": ctx.int(m, "model.base", minimum=2)} if family == "exponential" else (
                {"step": ctx.int(m, "model.step", minimum=1)} if family == "linear" else {})
            periods = ctx.call("model.family", C.PERIOD_FAMILIES[family], g, **kw)
        g = len(periods)
        sizes_list = _unit_sizes(ctx, m, sizes, g, n_in, outputs)
        connectivity = _connectivity(ctx, m, g)
        phases = _phases(ctx, m.get("phases", "aligned"), periods, sizes_list, connectivity, n_in)
        clocks = []
        for i, (p, ph) in enumerate(zip(periods, phases)):
            clocks.append(ctx.call(f"model.periods[{i}]", C.Periodic, p, ph))
    if "budget" in m and "clocks" in m:
        ctx.fail("model.budget", m["budget"], "`periods` or `family` with a budget, not `clocks`")
    sizes_list = _unit_sizes(ctx, m, sizes, g, n_in, outputs)
    connectivity = _connectivity(ctx, m, g)
    input_mode = _input_mode(ctx, m, g)
    model = ctx.call("model", ClockworkRNN, n_in, outputs, sizes_list, clocks,
                     connectivity=connectivity, activation=ctx.choice(m, "model.activation", HIDDEN_ACTIVATIONS),
                     output_activation=ctx.choice(m, "model.output_activation", OUTPUT_ACTIVATIONS),
                     start=ctx.int(m, "model.start", minimum=0), seed=ctx.int(m, "model.seed", minimum=0),
                     input_mode=input_mode, dtype=ctx.choice(m, "model.dtype", DTYPES))
    return _load_params(ctx, m, model)


def _input_mode(ctx, m: dict, g: int):
    """``model.input_mode``: one mode, or a list of g modes (one per module)."""
    input_mode = ctx.get(m, "model.input_mode")
    modes = input_mode if isinstance(input_mode, list) else [input_mode]
    if isinstance(input_mode, list) and len(input_mode) != g:
        ctx.fail("model.input_mode", input_mode, f"one mode or {g} modes, one per module")
    for i, mode in enumerate(modes):
        if mode not in INPUT_MODES:
            key = f"model.input_mode[{i}]" if isinstance(input_mode, list) else "model.input_mode"
            ctx.fail(key, mode, "one of " + ", ".join(f'"{o}"' for o in INPUT_MODES))
    return input_mode


def _baseline(ctx, kind: str, m: dict, n_in: int, n_out: int):
    """A simple RNN (``kind = "rnn"``) or an LSTM, of ``module_sizes`` units or sized to ``budget``."""
    for key in m:
        if key not in BASELINE_KEYS[kind]:
            ctx.fail(f"model.{key}", m[key], f"no such key with model.kind = \"{kind}\" (its keys: "
                                             f"{', '.join(BASELINE_KEYS[kind])})")
    if "budget" in m:
        n = _budget_units(ctx, kind, m, n_in, n_out, periods=(1,), connectivity="dense")
    else:
        n = ctx.int(m, "model.module_sizes", minimum=1)
    output_activation = ctx.choice(m, "model.output_activation", OUTPUT_ACTIVATIONS)
    seed = ctx.int(m, "model.seed", minimum=0)
    dtype = ctx.choice(m, "model.dtype", DTYPES)
    if kind == "rnn":
        model = ctx.call("model", simple_rnn, n_in, n_out, n, seed=seed, output_activation=output_activation,
                         activation=ctx.choice(m, "model.activation", HIDDEN_ACTIVATIONS)).astype(dtype)
    else:
        model = ctx.call("model", LSTM, n_in, n_out, n, output_activation=output_activation, seed=seed, dtype=dtype)
    return _load_params(ctx, m, model)


def _unit_sizes(ctx, m: dict, sizes, g: int, n_in: int, n_out: int) -> list[int]:
    """Units per module: ``module_sizes``, or ``budget``'s units split over the ``g`` modules."""
    if "budget" not in m:
        return _sizes(ctx, sizes, g)
    connectivity = m.get("connectivity", "slow-to-fast")
    if not isinstance(connectivity, str):
        ctx.fail("model.connectivity", "a mask", "\"slow-to-fast\" or \"dense\" with a `budget`")
    n = _budget_units(ctx, "cwrnn", m, n_in, n_out, periods=[1] * g, connectivity=connectivity)
    return split_units(n, g)


def _budget_units(ctx, kind: str, m: dict, n_in: int, n_out: int, periods, connectivity: str) -> int:
    """Hidden units of a model of ``kind`` sized to ``model.budget`` by ``model.rule`` (only the number of
    ``periods`` counts)."""
    budget = ctx.int(m, "model.budget", minimum=1)
    rule = ctx.choice(m, "model.rule", BUDGET_RULES)
    return ctx.call("model", size_for_budget, kind, budget, n_in=n_in, n_out=n_out, periods=periods,
                    connectivity=connectivity, rule=rule)


def _load_params(ctx, m: dict, model):
    """``model`` with the parameters of the ``model.params`` file, if the scenario names one."""
    if "params" in m:
        file = ctx.file(m, "model.params", (".npz",))
        names = model.params
        arrays = ctx.call("model.params", read_npz, file, lambda k: Entry("fiu") if k in names else None,
                          what="parameter file")
        ctx.call("model.params", model.set_params, **arrays)
    return model


def _sizes(ctx, sizes, g: int) -> list[int]:
    if isinstance(sizes, bool) or not isinstance(sizes, (int, list)):
        ctx.fail("model.module_sizes", sizes, "an integer or an array of integers")
    if isinstance(sizes, int):
        sizes = [sizes] * g
    if len(sizes) != g:
        ctx.fail("model.module_sizes", sizes, f"{g} sizes, one per module")
    for i, k in enumerate(sizes):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            ctx.fail(f"model.module_sizes[{i}]", k, "an integer >= 1")
    return sizes


def _connectivity(ctx, m: dict, g: int):
    """``model.connectivity`` checked: a name of CONNECTIVITIES or a g x g boolean array."""
    connectivity = m.get("connectivity", "slow-to-fast")
    if isinstance(connectivity, str):
        if connectivity not in CONNECTIVITIES:
            ctx.fail("model.connectivity", connectivity, "\"slow-to-fast\", \"dense\" or a g x g array of booleans")
        return connectivity
    if not (isinstance(connectivity, list) and len(connectivity) == g
            and all(isinstance(row, list) and len(row) == g and all(isinstance(v, bool) for v in row)
                    for row in connectivity)):
        ctx.fail("model.connectivity", connectivity, f"a {g} x {g} array of booleans (one row per module)")
    return np.array(connectivity, dtype=bool)


def _phases(ctx, phases, periods, sizes, connectivity, n_in) -> list[int]:
    if phases == "aligned":
        return [0] * len(periods)
    if phases == "staggered":
        g = len(periods)
        mask = (np.triu(np.ones((g, g), bool)) if isinstance(connectivity, str) and connectivity == "slow-to-fast"
                else np.ones((g, g), bool) if isinstance(connectivity, str) else connectivity)
        return C.stagger_phases(periods, weights=cost.activation_macs(sizes, mask, n_in))
    if isinstance(phases, list):
        if len(phases) != len(periods):
            ctx.fail("model.phases", phases, f"{len(periods)} phases, one per module")
        for i, ph in enumerate(phases):
            if isinstance(ph, bool) or not isinstance(ph, int):
                ctx.fail(f"model.phases[{i}]", ph, "an integer")
        return phases
    ctx.fail("model.phases", phases, "\"aligned\", \"staggered\" or an array of integers")


def _clocks(ctx, items) -> list[C.Clock]:
    if not isinstance(items, list) or not items:
        ctx.fail("model.clocks", items, "a non-empty array of tables with a `kind`")
    out = []
    for i, spec in enumerate(items):
        where = f"model.clocks[{i}]"
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"kind": "periodic", "period": spec}
        if not isinstance(spec, dict) or "kind" not in spec:
            ctx.fail(where, spec, "a table with a `kind` (" + ", ".join(C.CLOCK_KINDS) + ")")
        kind = spec["kind"]
        if kind not in C.CLOCK_KINDS:
            ctx.fail(f"{where}.kind", kind, "one of " + ", ".join(C.CLOCK_KINDS))
        args = {k: v for k, v in spec.items() if k != "kind"}
        out.append(ctx.construct(where, C.CLOCK_KINDS[kind], args))
    return out


def input_section(ctx, inp: dict, model_raw: dict) -> tuple[np.ndarray | Signal, np.ndarray | None, bool]:
    """The input (B, L, n_in) (an array read from a file, or a :class:`Signal` computed as it is read), the
    arrival times, and whether the input is a batch: ``input.batch`` given, or a file of (B, L, n_in)
    numbers. An unbatched scenario's results are shaped like :func:`clocksim.simulate`'s for (L, n_in)."""
    batched = "batch" in inp
    kind = ctx.choice(inp, "input.kind", INPUT_KINDS)
    seed = ctx.int(inp, "input.seed", minimum=0)
    rng = np.random.default_rng(seed)
    B = ctx.int(inp, "input.batch", minimum=1)
    if kind == "file":
        x, batched = _file_input(ctx, inp, B, batched)
    else:
        x = _signal_input(ctx, inp, kind, B, rng)
    return x, _arrivals(ctx, inp, x.shape[1], seed), batched


def _file_input(ctx, inp: dict, B, batched: bool) -> tuple[np.ndarray, bool]:
    """``input.kind = "file"``: the (B, L, n_in) numbers of ``input.path`` (a .npy or .csv file), checked;
    whether they are a batch."""
    file = ctx.file(inp, "input.path", (".npy", ".csv"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)          # "input contained no data": checked below
            data = (ctx.call("input.path", open_npy, file, "input") if file.suffix == ".npy"
                    else np.loadtxt(file, delimiter=",", ndmin=2, encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        ctx.fail("input.path", str(file), f"a readable numeric .npy/.csv file ({reason})")
    if data.size == 0:
        ctx.fail("input.path", str(file), "a file holding at least one step of input")
    if data.dtype.kind not in "iuf" or data.ndim not in (2, 3):
        ctx.fail("input.path", str(file), f"numbers shaped (L, n_in) or (B, L, n_in), got {data.dtype} "
                                          f"{data.shape}")
    ctx.call("input.path", check_memory, 2 * 8 * data.size, None, f"the input file's {data.shape} numbers")
    batched = batched or data.ndim == 3
    x = data.astype(np.float64).reshape((1,) * (3 - data.ndim) + data.shape)
    if not np.isfinite(x).all():
        ctx.fail("input.path", str(file), "finite numbers (found NaN or inf)")
    if "steps" in inp:
        L = ctx.int(inp, "input.steps", minimum=1)
        if L > x.shape[1]:
            ctx.fail("input.steps", L, f"at most the file's {x.shape[1]} steps")
        x = x[:, :L]
    if "batch" in inp and B != x.shape[0]:
        ctx.fail("input.batch", B, f"the file's batch size {x.shape[0]} (or leave it out)")
    return x, batched


def _signal_input(ctx, inp: dict, kind: str, B, rng) -> Signal:
    """A computed input (noise, silence, a wave or an impulse), checked to fit in memory and stay finite."""
    L = ctx.int(inp, "input.steps", minimum=1)
    n_in = ctx.int(inp, "input.channels", minimum=0)
    block = min(L, Signal.BLOCK)               # a Signal holds one block of steps (and draws its noise)
    sizes = {"input.steps": block, "input.batch": B, "input.channels": n_in}
    ctx.call(max(sizes, key=sizes.get), check_memory, 3 * 8 * B * block * max(n_in, 1), None,
             f"the input's blocks ({B} x {block} x {n_in} numbers, and their generation)")
    amp = ctx.float(inp, "input.amplitude")
    if kind == "noise":
        x = Signal(kind, (B, L, n_in), rng, std=ctx.float(inp, "input.std", minimum=0.0))
    elif kind == "silence":
        x = Signal(kind, (B, L, n_in), rng)
    else:
        wave = ({"period": ctx.float(inp, "input.period", minimum=0.0, strict=True)} if kind in ("sine", "square")
                else {"at": ctx.int(inp, "input.at", minimum=0, default=L // 2)})
        noise = ctx.float(inp, "input.noise", minimum=0.0)
        if kind in ("sine", "square") and not np.isfinite(2 * np.pi * L / wave["period"]):
            ctx.fail("input.period", inp.get("period"), "a value that gives finite input numbers")
        with np.errstate(over="ignore"):           # the largest value the input can take, noise at 40 sigma
            if not np.isfinite(abs(amp) + 40 * noise):
                ctx.fail("input.amplitude", amp, "a value that gives finite input numbers")
        x = Signal(kind, (B, L, n_in), rng, amplitude=amp, noise=noise, **wave)
    return x


def _arrivals(ctx, inp: dict, L: int, seed) -> np.ndarray | None:
    """The input's arrival times: None for regular arrivals, else each step jittered by ``input.jitter``."""
    arrival = ctx.choice(inp, "input.arrival", ARRIVALS)
    times = None
    if arrival == "jittered":
        jitter = ctx.float(inp, "input.jitter", minimum=0.0)
        if jitter >= 1.0:
            ctx.fail("input.jitter", jitter, "a width below 1 step (arrivals must keep their order)")
        ctx.call("input.steps", check_memory, 3 * 8 * L, None, f"the {L} jittered arrival times")
        times = np.arange(L) + jitter * (np.random.default_rng([seed, 1]).random(L) - 0.5)
        times = np.maximum(times, 0.0)
    return times


def engine_section(ctx, e: dict, model: ClockworkRNN) -> tuple[str, dict]:
    name = ctx.choice(e, "engine.name", ("events", "compiled"))
    options: dict = {}
    timing = [k for k in ("deadline", "latency", "links", "compute") if k in e]
    if name == "compiled" and timing:
        ctx.fail(f"engine.{timing[0]}", e[timing[0]], "no timing keys with engine.name = \"compiled\" "
                                                      "(use \"events\")")
    step = ctx.call("engine", as_step, e["step"], "step") if "step" in e else None
    if step is not None:
        options["step"] = step
    if "deadline" in e:
        if isinstance(e["deadline"], str):             # "8 ms": converted with step
            deadline = ctx.call("engine", lambda v: in_steps("deadline", parse_time("deadline", v), step),
                                e["deadline"])
            if not deadline > 0:
                ctx.fail("engine.deadline", e["deadline"], "a deadline > 0")
            options["deadline"] = deadline
        else:
            options["deadline"] = ctx.float(e, "engine.deadline", minimum=0.0, strict=True)
    if "latency" in e or "links" in e:
        default = _delay(ctx, "engine.latency", e.get("latency", 0.0))
        links = {}
        if "links" in e:
            if not isinstance(e["links"], list):
                ctx.fail("engine.links", e["links"], "an array of tables {sender, receiver, delay}")
            for i, link in enumerate(e["links"]):
                where = f"engine.links[{i}]"
                if not isinstance(link, dict) or set(link) != {"sender", "receiver", "delay"}:
                    ctx.fail(where, link, "a table with exactly sender, receiver and delay")
                pair = (ctx.int(link, f"{where}.sender", minimum=0, default=link["sender"]),
                        ctx.int(link, f"{where}.receiver", minimum=0, default=link["receiver"]))
                if max(pair) >= model.g:
                    ctx.fail(where, link, f"module indices below {model.g}")
                links[pair] = _delay(ctx, f"{where}.delay", link["delay"])
        options["latency"] = ctx.call("engine.latency", cost.LinkLatency, default, links,
                                      ctx.int(e, "engine.latency_seed", minimum=0))
    if "compute" in e:
        spec = e["compute"]
        if not isinstance(spec, dict):
            ctx.fail("engine.compute", spec, "a table with cores, throughput, overhead, priority")
        spec = dict(spec)
        if spec.get("throughput") == "inf":
            spec["throughput"] = math.inf
        if "device" in spec:
            spec["device"] = _device(ctx, spec["device"])
        compute = ctx.construct("engine.compute", cost.ComputeModel, spec)
        with np.errstate(over="ignore", divide="ignore"):
            tasks = ctx.call("engine.compute", compute.task_set, model, 1, step)      # lengths, units, priorities
        if compute.cores > MAX_CORES:
            ctx.fail("engine.compute.cores", compute.cores, f"at most {MAX_CORES} (each core is simulated)")
        if not float(compute.overhead) < 2.0 ** 40:
            ctx.fail("engine.compute.overhead", compute.overhead, "an overhead below 2**40 steps")
        longest = float(max(tasks.wcet.max(), tasks.readout_wcet or 0.0))
        if not longest < 2.0 ** 40:
            ctx.fail("engine.compute.throughput", spec.get("throughput"),
                     f"a throughput at which an activation takes a representable time (the largest would take "
                     f"{longest:.3g} steps)")
        options["compute"] = compute
    return name, options


def _device(ctx, value) -> Device:
    """``[engine.compute] device``: a bundled profile's name or a device file (relative to the scenario)."""
    if not isinstance(value, str):
        ctx.fail("engine.compute.device", value, "a bundled device name (" + ", ".join(bundled_devices())
                 + ") or a path to a device .toml file")
    try:
        return as_device(value, None if ctx.path is None else Path(ctx.path).parent)
    except ClocksimError as exc:
        if exc.file is not None:            # a bad profile: its own file and key say where
            raise
        raise ctx.located(exc, "engine.compute") from None

#: The keys that make the periods from a family; refused beside ``periods`` or ``clocks``.
FAMILY_KEYS = ("family", "base", "step")

#: Most compute cores a scenario may simulate.
MAX_CORES = 65536


def _delay(ctx, where: str, value) -> cost.Delay:
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind not in cost.DELAY_KINDS:
            ctx.fail(f"{where}.kind", kind, "one of " + ", ".join(cost.DELAY_KINDS))
        return ctx.construct(where, cost.DELAY_KINDS[kind], {k: v for k, v in value.items() if k != "kind"})
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        ctx.fail(where, value, "a delay >= 0 or a table with a `kind`")     # the number is the key's own value
    return ctx.call(where, cost.Fixed, value)


def output_section(ctx, o: dict, options: dict) -> dict:
    trace = ctx.choice(o, "output.trace", TRACE_KINDS)
    keep = ctx.choice(o, "output.keep", KEEP_KINDS)
    full = trace == "full"
    timing = cost.has_timing_model(options.get("latency"), options.get("compute"), options.get("deadline"),
                                   options.get("times"))
    delayed = options.get("latency") is not None and not options["latency"].is_zero
    device = getattr(options.get("compute"), "device", None) is not None
    default = (["activity", "cost"] + (["latency", "gantt"] if timing else []) + (["staleness"] if delayed else [])
               + (["energy"] if device else []) if full else [])
    plots = o.get("plots", default)
    if not isinstance(plots, list) or not all(isinstance(p, str) for p in plots):
        ctx.fail("output.plots", plots, "an array of strings")
    for i, p in enumerate(plots):
        if p not in PLOTS:
            ctx.fail(f"output.plots[{i}]", p, "one of " + ", ".join(PLOTS))
        if not full and p != "connectivity":
            ctx.fail(f"output.plots[{i}]", p, "only \"connectivity\" with output.trace = \"aggregate\" (the "
                                              "other figures draw one row per activation)")
        if p == "energy" and not device:
            ctx.fail(f"output.plots[{i}]", p, "no energy figure without a device ([engine.compute] device)")
        if p == "state" and keep != "all":
            ctx.fail(f"output.plots[{i}]", p, "no state figure with output.keep other than \"all\"")
    if full and "activity" not in plots:
        plots = ["activity"] + plots          # activity.png is always written with a full trace
    figures = _figure_formats(ctx, o)
    size = o.get("figure_size")
    if size is not None:
        try:
            check_size(size, "output.figure_size")
        except InvalidValueError as exc:
            raise ctx.located(exc, "") from None
    files = {}
    for key in ("csv", "chrome"):
        files[key] = ctx.bool(o, f"output.{key}")
        if not full and key in o and files[key]:
            ctx.fail(f"output.{key}", True, "false or absent with output.trace = \"aggregate\" (no rows to write)")
    return {"plots": list(dict.fromkeys(plots)), "csv": files["csv"] and full, "chrome": files["chrome"] and full,
            "trace": trace, "keep": keep, "figures": figures, "figure_size": size}


def _figure_formats(ctx, o: dict) -> list[str]:
    """``output.figures``: the formats every figure is written in (did-you-mean for a misspelt one)."""
    value = o.get("figures", ["png"])
    if not isinstance(value, list):
        ctx.fail("output.figures", value, "an array of formats, e.g. [\"png\", \"pdf\"]")
    try:
        return check_formats(value, "output.figures")
    except InvalidValueError as exc:
        raise ctx.located(exc, "") from None


def check_run_size(ctx, model: ClockworkRNN, x, output: dict, from_clocks: bool) -> None:
    """Refuse a run whose activations or memory exceed the limits, before it starts.

    The number of firings of each clock over the run is estimated from its nominal period, so a
    Poisson rate of 1e12 or a jittered period of 1e-9 is refused at once, naming its key. The
    memory counted is what the run holds (``output.trace`` and ``output.keep``): a full trace
    grows with the activations and ``keep = "all"`` with the steps, while an aggregate trace and
    ``keep = "last"`` stay bounded whatever the length (the input is read a chunk at a time).
    """
    B, L = x.shape[0], x.shape[1]
    events, trace, arrays, firings = run_size(model, B, L, output["trace"], output["keep"])
    busiest = int(np.argmax(firings))
    key = f"model.clocks[{busiest}]" if from_clocks and firings[busiest] > L else "input.steps"
    ctx.call(key, check_count, events, None, "activations the run would simulate", EVENTS_ENV)
    ctx.call(key if trace > arrays else max({"input.steps": L, "input.batch": B}.items(), key=lambda kv: kv[1])[0],
             check_memory, trace + arrays, None, "the run (states and outputs kept, and trace)")
