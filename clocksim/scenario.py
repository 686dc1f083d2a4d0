"""TOML scenarios -> validated objects (model, inputs, engine options, outputs).

A scenario is data, read with :mod:`tomllib` (never executed). Every key is
declared once in :data:`SCHEMA` (type, default, meaning); the validator and
``docs/scenarios.md`` are both checked against it, so they cannot drift apart.
Every mistake becomes a :class:`ScenarioError` whose one-line message names the
file, the key, the value and what was expected. Paths inside a scenario resolve
relative to the scenario file.
"""

from __future__ import annotations

import difflib
import inspect
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import clocks as C
from . import cost
from .errors import ClocksimError, InvalidValueError
from .model import CONNECTIVITIES, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, ClockworkRNN
from .optim import OPTIMIZERS
from .train import TrainConfig

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "SCHEMA", "Key", "apply_override"]

FAMILIES = {"exponential": C.exponential_periods, "fibonacci": C.fibonacci_periods,
            "linear": C.linear_periods, "prime": C.prime_periods}
INPUT_KINDS = ("sine", "square", "noise", "step", "silence", "file")
ARRIVALS = ("regular", "jittered")
PLOTS = ("activity", "cost", "latency", "gantt", "state", "connectivity")


class ScenarioError(InvalidValueError):
    """A scenario file (or an override) is malformed; the message names file, key, value, expectation."""


@dataclass(frozen=True)
class Key:
    """One scenario key: its TOML type, default and meaning (the single source for docs and checks)."""

    type: str          # human-readable TOML type, as in docs/scenarios.md
    default: object    # None: optional with no default; REQUIRED: must be given
    doc: str


REQUIRED = "required"

SCHEMA: dict[str, dict[str, Key]] = {
    "scenario": {
        "name": Key("string", None, "Short name shown in reports and comparisons (default: the file name)."),
        "description": Key("string", None, "What the scenario shows (default: the file's first comment lines)."),
    },
    "model": {
        "modules": Key("integer", None, "Number of modules g, when neither `periods` nor `clocks` fixes it "
                                        "(with `family`; default 8)."),
        "module_sizes": Key("integer or array of integers", 8, "Units per module, fastest first; one integer "
                                                              "gives every module that size."),
        "periods": Key("array of integers", None, "Clock period of each module, fastest first (any positive "
                                                  "integers)."),
        "family": Key("string", "exponential", "Period family when `periods` and `clocks` are absent: "
                                               "exponential, fibonacci, linear or prime."),
        "base": Key("integer", 2, "Base of the exponential family (periods 1, base, base^2, ...)."),
        "step": Key("integer", 1, "Step of the linear family (periods 1, 1+step, ...)."),
        "phases": Key("array of integers or string", "aligned",
                      "Phase of each periodic clock, or \"aligned\" (all 0) or \"staggered\" "
                      "(clocksim.stagger_phases, weighted by each module's multiply-adds)."),
        "clocks": Key("array of tables", None, "One clock per module with a `kind` (periodic, explicit, jittered, "
                                               "poisson, on_input) and that clock's arguments, instead "
                                               "of `periods`/`family`/`phases`."),
        "connectivity": Key("string or array of arrays of booleans", "slow-to-fast",
                            "\"slow-to-fast\" (the paper), \"dense\", or a g x g mask: row i, column j true "
                            "when module j feeds module i."),
        "activation": Key("string", "tanh", "Hidden activation: tanh, sigmoid, relu or linear."),
        "output_activation": Key("string", "linear", "Output activation: linear, tanh, sigmoid or softmax."),
        "n_out": Key("integer", 1, "Output size."),
        "start": Key("integer", 0, "Number of the first step (0 or 1 are the conventions in use)."),
        "seed": Key("integer", 0, "Seed of the paper's initialisation."),
        "params": Key("string", None, "Path of an .npz file with trained parameters (W_in, W_rec, b, W_out, "
                                      "b_out, h0), relative to the scenario."),
    },
    "input": {
        "kind": Key("string", "sine", "Input generator: sine, square, noise, step, silence, or file."),
        "steps": Key("integer", 256, "Number of input steps L (for `file`: at most the file's length; with a "
                                     "[task]: keep the first `steps` steps of its test sequences)."),
        "batch": Key("integer", 1, "Number of sequences B run together (with a [task]: simulate its first `batch` "
                                   "test sequences; default all)."),
        "channels": Key("integer", 1, "Input size n_in (0: a generator with no input; ignored for `file`)."),
        "amplitude": Key("float", 1.0, "Amplitude of sine, square and step inputs."),
        "period": Key("float", 32.0, "Period in steps of sine and square inputs."),
        "std": Key("float", 1.0, "Standard deviation of the input when kind = \"noise\"."),
        "noise": Key("float", 0.0, "Standard deviation of Gaussian noise added to sine, square or step inputs."),
        "at": Key("integer", None, "Step at which a step input switches on (default: half way)."),
        "seed": Key("integer", 0, "Seed of noise, of random phases across the batch and of jittered arrivals."),
        "path": Key("string", None, "For kind = \"file\": a .npy or .csv file of shape (L, n_in) or (B, L, n_in) "
                                    "(.csv: (L, n_in)), relative to the scenario."),
        "arrival": Key("string", "regular", "When samples arrive: regular (at start + s) or jittered "
                                            "(start + s + U(-jitter/2, jitter/2); event engine only)."),
        "jitter": Key("float", 0.0, "Width of the arrival jitter window (0 <= jitter < 1)."),
    },
    "engine": {
        "name": Key("string", "events", "Engine: events (SimPy processes, traces timing) or compiled."),
        "deadline": Key("float", None, "An input whose end-to-end latency exceeds this (model time) is a miss."),
        "latency": Key("float or table", None, "Message delay on every link: a number, or a table with `kind` "
                                               "(fixed, uniform, exponential) and its arguments."),
        "latency_seed": Key("integer", 0, "Seed of random link delays (each link has its own stream)."),
        "links": Key("array of tables", None, "Per-link delays: tables with `sender`, `receiver` (0-based "
                                              "module indices) and `delay` (number or table)."),
        "compute": Key("table", None, "Compute model: `cores` (1), `throughput` (multiply-adds per step per "
                                      "core), `overhead` (per activation), `priority` (fastest-first, "
                                      "slowest-first, fifo or a list)."),
    },
    "task": {
        "kind": Key("string", None, "What to learn (required in a [task] table): generation (the paper's section "
                                    "4.1: no input, reproduce a bundled 320-sample piece), japanese_vowels (name "
                                    "the speaker of an utterance; needs `pip install 'clocksim[datasets]'`) or "
                                    "synthetic_words (the paper's section 4.2 design: 25 words in 5 groups sharing "
                                    "a suffix). The task fixes the model's n_in and n_out, and its test sequences "
                                    "are the input that is simulated."),
        "piece": Key("integer", 0, "generation: which bundled piece, 0 to 4."),
        "padding": Key("string", "end", "japanese_vowels, synthetic_words: \"end\" (every sequence starts at "
                                        "step 0 with the clocks, zeros follow, labelled at its own last step) "
                                        "or \"front\" (zeros first, labelled at the last step)."),
        "validation": Key("float", 0.2, "japanese_vowels, synthetic_words: fraction of each class's training "
                                        "sequences held out for early stopping (`train.patience`)."),
        "seed": Key("integer", 0, "japanese_vowels, synthetic_words: seed of the data (synthetic words) and of "
                                  "the validation split."),
        "groups": Key("integer", 5, "synthetic_words: groups of words sharing a suffix."),
        "words_per_group": Key("integer", 5, "synthetic_words: words per group (classes = groups x words)."),
        "channels": Key("integer", 13, "synthetic_words: feature channels per step (the model's n_in)."),
        "prefix_length": Key("integer", 12, "synthetic_words: nominal steps of the word's deciding prefix."),
        "suffix_length": Key("integer", 48, "synthetic_words: nominal steps of the group's shared suffix."),
        "train_per_class": Key("integer", 6, "synthetic_words: training examples per word (validation included)."),
        "test_per_class": Key("integer", 10, "synthetic_words: test examples per word."),
        "noise": Key("float", 0.3, "synthetic_words: standard deviation of the white noise on every step."),
    },
    "train": {
        "optimizer": Key("string", "nesterov", "nesterov (the paper's SGD with Nesterov momentum), momentum, sgd or "
                                               "adam. The loss is the task's: mse for generation, softmax "
                                               "cross-entropy at the labelled last step for classification."),
        "learning_rate": Key("float", 1e-3, "Step size (on the mean loss over the labelled steps and sequences)."),
        "momentum": Key("float", 0.9, "Momentum of nesterov and momentum (the paper: 0.95 for generation)."),
        "epochs": Key("integer", 100, "Maximum number of passes over the training sequences."),
        "batch_size": Key("integer", None, "Sequences per minibatch (default: all of them, full-batch)."),
        "shuffle": Key("boolean", True, "Permute the training sequences every epoch."),
        "patience": Key("integer", None, "Stop after this many epochs without improvement of the validation loss "
                                         "(the training loss without a validation set); end with the best "
                                         "epoch's weights. Default: never stop early."),
        "min_delta": Key("float", 0.0, "An epoch improves only if it lowers the best loss by more than this."),
        "input_noise": Key("float", 0.0, "Standard deviation of Gaussian noise added to each minibatch's inputs."),
        "clip_norm": Key("float", None, "Rescale gradients whose global norm exceeds this (default: no clipping)."),
        "freeze": Key("array of strings", [], "Parameters left untrained, e.g. [\"h0\"] keeps the initial state "
                                              "at zero as in the paper."),
        "beta1": Key("float", 0.9, "adam: decay of the first-moment estimate."),
        "beta2": Key("float", 0.999, "adam: decay of the second-moment estimate."),
        "seed": Key("integer", 0, "Seed of the shuffling and the input noise."),
        "checkpoint_every": Key("integer", 10, "Write `checkpoint.npz` into the output folder every this many "
                                               "epochs and at the end (`clocksim run --resume` continues from it)."),
    },
    "output": {
        "plots": Key("array of strings", None, "Figures to write: activity, cost, latency, gantt, state, "
                                               "connectivity (default: activity and cost, plus latency and "
                                               "gantt when a timing model is on)."),
        "csv": Key("boolean", True, "Write trace.csv (one row per activation)."),
        "chrome": Key("boolean", True, "Write trace.json (Chrome trace events; open in ui.perfetto.dev)."),
    },
}


@dataclass
class Scenario:
    """A validated scenario, ready to run."""

    path: Path | None
    name: str
    description: str
    model: ClockworkRNN
    x: np.ndarray                  # (B, L, n_in)
    times: np.ndarray | None       # (L,) arrival times, or None for regular
    engine: str
    engine_options: dict
    output: dict
    raw: dict = field(default_factory=dict)
    task: object = None                     # clocksim.tasks.Task, from a [task] table
    train: TrainConfig | None = None        # from a [train] table
    checkpoint_every: int = 10

    @property
    def timing_model(self) -> bool:
        o = self.engine_options
        return any(o.get(k) is not None for k in ("latency", "compute", "deadline")) or self.times is not None


def load_scenario(path, overrides=()) -> Scenario:
    """Read and validate a scenario file; ``overrides`` are ``"key.path=value"`` strings."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    if not raw:
        raise ScenarioError(f"{path}: empty scenario, expected at least a [model] table")
    for item in overrides:
        apply_override(raw, item, path)
    return parse_scenario(raw, path, _leading_comment(text))


def apply_override(raw: dict, item: str, path=None) -> None:
    """Apply ``key.path=value`` (value in TOML syntax; a bare word is a string) to ``raw`` in place."""
    where = f"{path}: " if path else ""
    if "=" not in item:
        raise ScenarioError(f"{where}--set {item!r}: expected key.path=value")
    key, text = (s.strip() for s in item.split("=", 1))
    parts = key.split(".")
    if len(parts) < 2 or parts[0] not in SCHEMA or not all(parts):
        raise ScenarioError(f"{where}--set {key}: expected section.key with a section among {', '.join(SCHEMA)}")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError(f"{where}--set {key}: {part} is not a table")
    node[parts[-1]] = value


def parse_scenario(raw: dict, path: Path | None = None, comment: str = "") -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML)."""
    ctx = _Ctx(path)
    for section, value in raw.items():
        if section not in SCHEMA:
            ctx.unknown(section, list(SCHEMA))
        if not isinstance(value, dict):
            ctx.fail(section, value, "a table ([" + section + "])")
        for key in value:
            if key not in SCHEMA[section]:
                ctx.unknown(f"{section}.{key}", list(SCHEMA[section]))
    if "model" not in raw:
        ctx.fail("model", None, "a [model] table")
    meta = raw.get("scenario", {})
    name = ctx.string(meta, "scenario.name") or (path.stem if path else "scenario")
    description = ctx.string(meta, "scenario.description") or comment
    task = _task(ctx, raw["task"]) if "task" in raw else None
    if "train" in raw and task is None:
        ctx.fail("train", raw["train"], "a [task] table too (what to train on)")
    if task is None:
        x, times = _input(ctx, raw.get("input", {}), raw["model"])
    else:
        x, times = _task_input(ctx, raw.get("input", {}), task), None
    model = _model(ctx, raw["model"], n_in=x.shape[2], n_out=None if task is None else task.n_out)
    engine_name, options = _engine(ctx, raw.get("engine", {}), model)
    if times is not None:
        if engine_name != "events":
            ctx.fail("input.arrival", "jittered", "regular arrivals with engine.name = \"compiled\"")
        options["times"] = times + model.start
    output = _output(ctx, raw.get("output", {}), options)
    if "train" in raw:
        config, every = _train(ctx, raw["train"], task, model)
    else:
        config, every = None, SCHEMA["train"]["checkpoint_every"].default
    return Scenario(path, name, description, model, x, options.get("times"), engine_name, options, output, raw,
                    task=task, train=config, checkpoint_every=every)


# ---------------------------------------------------------------------- sections
def _model(ctx: "_Ctx", m: dict, n_in: int, n_out: int | None = None) -> ClockworkRNN:
    if "periods" in m and "clocks" in m:
        where = f"{ctx.path}: " if ctx.path else ""
        raise ScenarioError(f"{where}model: got both `periods` and `clocks`, expected one of them")
    sizes = ctx.get(m, "model.module_sizes")
    if "clocks" in m:
        clocks = _clocks(ctx, m["clocks"])
        g = len(clocks)
    else:
        if "periods" in m:
            periods = ctx.int_list(m, "model.periods", minimum=1)
        else:
            family = ctx.choice(m, "model.family", list(FAMILIES))
            g = ctx.int(m, "model.modules", minimum=1, default=len(sizes) if isinstance(sizes, list) else 8)
            kw = {"base": ctx.int(m, "model.base", minimum=2)} if family == "exponential" else (
                {"step": ctx.int(m, "model.step", minimum=1)} if family == "linear" else {})
            periods = FAMILIES[family](g, **kw)
        g = len(periods)
        sizes_list = _sizes(ctx, sizes, g)
        phases = _phases(ctx, m.get("phases", "aligned"), periods, sizes_list, m, n_in)
        clocks = []
        for i, (p, ph) in enumerate(zip(periods, phases)):
            clocks.append(ctx.call(f"model.periods[{i}]", C.Periodic, p, ph))
    sizes_list = _sizes(ctx, sizes, g)
    connectivity = m.get("connectivity", "slow-to-fast")
    if isinstance(connectivity, str):
        if connectivity not in CONNECTIVITIES:
            ctx.fail("model.connectivity", connectivity, "\"slow-to-fast\", \"dense\" or a g x g array of booleans")
    else:
        arr = np.asarray(connectivity, dtype=object)
        if arr.shape != (g, g) or not all(isinstance(v, bool) for v in arr.ravel()):
            ctx.fail("model.connectivity", connectivity, f"a {g} x {g} array of booleans")
        connectivity = arr.astype(bool)
    outputs = ctx.int(m, "model.n_out", minimum=1, default=n_out)
    if n_out is not None and outputs != n_out:
        ctx.fail("model.n_out", outputs, f"{n_out}, the task's number of outputs (or leave it out)")
    model = ctx.call("model", ClockworkRNN, n_in, outputs, sizes_list, clocks,
                     connectivity=connectivity, activation=ctx.choice(m, "model.activation", HIDDEN_ACTIVATIONS),
                     output_activation=ctx.choice(m, "model.output_activation", OUTPUT_ACTIVATIONS),
                     start=ctx.int(m, "model.start", minimum=0), seed=ctx.int(m, "model.seed", minimum=0))
    if "params" in m:
        file = ctx.file(m, "model.params", (".npz",))
        try:
            with np.load(file, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            ctx.fail("model.params", str(file), f"a readable .npz of parameters ({exc})")
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


def _phases(ctx, phases, periods, sizes, m, n_in) -> list[int]:
    if phases == "aligned":
        return [0] * len(periods)
    if phases == "staggered":
        connectivity = m.get("connectivity", "slow-to-fast")
        g = len(periods)
        mask = (np.triu(np.ones((g, g), bool)) if connectivity == "slow-to-fast" else
                np.ones((g, g), bool) if connectivity == "dense" else np.asarray(connectivity, dtype=bool))
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


def _input(ctx, inp: dict, model_raw: dict) -> tuple[np.ndarray, np.ndarray | None]:
    kind = ctx.choice(inp, "input.kind", INPUT_KINDS)
    seed = ctx.int(inp, "input.seed", minimum=0)
    rng = np.random.default_rng(seed)
    B = ctx.int(inp, "input.batch", minimum=1)
    if kind == "file":
        file = ctx.file(inp, "input.path", (".npy", ".csv"))
        try:
            data = (np.load(file, allow_pickle=False) if file.suffix == ".npy"
                    else np.loadtxt(file, delimiter=",", ndmin=2))
        except (OSError, ValueError) as exc:
            ctx.fail("input.path", str(file), f"a readable numeric .npy/.csv file ({exc})")
        data = np.asarray(data)
        if data.dtype.kind not in "iuf" or data.ndim not in (2, 3):
            ctx.fail("input.path", str(file), f"numbers shaped (L, n_in) or (B, L, n_in), got {data.dtype} "
                                              f"{data.shape}")
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
    else:
        L = ctx.int(inp, "input.steps", minimum=1)
        n_in = ctx.int(inp, "input.channels", minimum=0)
        amp = ctx.float(inp, "input.amplitude")
        t = np.arange(L, dtype=np.float64)
        shape = (B, L, n_in)
        if kind == "silence":
            x = np.zeros(shape)
        elif kind == "noise":
            x = rng.normal(0.0, ctx.float(inp, "input.std", minimum=0.0), shape)
        else:
            offset = rng.uniform(0, 2 * np.pi, (B, 1, n_in)) if B > 1 or n_in > 1 else np.zeros((B, 1, n_in))
            if kind in ("sine", "square"):
                period = ctx.float(inp, "input.period", minimum=0.0, strict=True)
                wave = np.sin(2 * np.pi * t[None, :, None] / period + offset)
                x = amp * (wave if kind == "sine" else np.sign(wave) + (wave == 0))
            else:
                at = ctx.int(inp, "input.at", minimum=0, default=L // 2)
                x = np.broadcast_to(amp * (t >= at)[None, :, None], shape).copy()
            x = x + rng.normal(0.0, ctx.float(inp, "input.noise", minimum=0.0), shape)
    arrival = ctx.choice(inp, "input.arrival", ARRIVALS)
    times = None
    if arrival == "jittered":
        jitter = ctx.float(inp, "input.jitter", minimum=0.0)
        if jitter >= 1.0:
            ctx.fail("input.jitter", jitter, "a width below 1 step (arrivals must keep their order)")
        L = x.shape[1]
        times = np.arange(L) + jitter * (np.random.default_rng([seed, 1]).random(L) - 0.5)
        times = np.maximum(times, 0.0)
    return x, times


def _task(ctx, t: dict):
    from . import tasks  # on first use: sktime is imported only when needed

    kind = ctx.choice(t, "task.kind", list(tasks.TASK_KINDS))
    accepted = tasks.task_options(kind)
    options = {}
    for key, value in t.items():
        if key == "kind":
            continue
        if key not in accepted:
            ctx.fail(f"task.{key}", value, f"no such option for kind = \"{kind}\" (its options: "
                                            f"{', '.join(accepted) or 'none'})")
        expected = SCHEMA["task"][key].type
        if expected == "integer":
            options[key] = ctx.int(t, f"task.{key}", minimum=0)
        elif expected == "float":
            options[key] = ctx.float(t, f"task.{key}", minimum=0.0)
        else:
            options[key] = ctx.string(t, f"task.{key}")
    return ctx.call("task", tasks.make_task, kind, **options)


def _task_input(ctx, inp: dict, task) -> np.ndarray:
    """The task's test inputs (B, L, n_in), trimmed by input.batch / input.steps; other input keys are refused."""
    for key in inp:
        if key not in ("steps", "batch"):
            ctx.fail(f"input.{key}", inp[key], "no such key with a [task] (its test sequences are the input; only "
                                               "input.steps and input.batch trim them)")
    x = task.x_test
    if "batch" in inp:
        x = x[:ctx.int(inp, "input.batch", minimum=1)]
    if "steps" in inp:
        x = x[:, :ctx.int(inp, "input.steps", minimum=1)]
    return np.ascontiguousarray(x)


def _train(ctx, t: dict, task, model: ClockworkRNN) -> tuple[TrainConfig, int]:
    values: dict = {"loss": task.loss}
    values["optimizer"] = ctx.choice(t, "train.optimizer", list(OPTIMIZERS))
    for key in ("learning_rate", "momentum", "min_delta", "input_noise", "beta1", "beta2"):
        values[key] = ctx.float(t, f"train.{key}", minimum=0.0, strict=key == "learning_rate")
    for key in ("epochs", "seed"):
        values[key] = ctx.int(t, f"train.{key}", minimum=0)
    for key in ("batch_size", "patience"):
        if key in t:
            values[key] = ctx.int(t, f"train.{key}", minimum=1)
    if "clip_norm" in t:
        values["clip_norm"] = ctx.float(t, "train.clip_norm", minimum=0.0, strict=True)
    values["shuffle"] = ctx.bool(t, "train.shuffle")
    freeze = ctx.get(t, "train.freeze")
    if not isinstance(freeze, list) or not all(isinstance(k, str) for k in freeze):
        ctx.fail("train.freeze", freeze, "an array of parameter names such as [\"h0\"]")
    for i, name in enumerate(freeze):
        if name not in model.params:
            ctx.fail(f"train.freeze[{i}]", name, "one of " + ", ".join(model.params))
    values["freeze"] = tuple(freeze)
    config = ctx.call("train", TrainConfig, **values)
    return config, ctx.int(t, "train.checkpoint_every", minimum=1)


def _engine(ctx, e: dict, model: ClockworkRNN) -> tuple[str, dict]:
    name = ctx.choice(e, "engine.name", ("events", "compiled"))
    options: dict = {}
    timing = [k for k in ("deadline", "latency", "links", "compute") if k in e]
    if name == "compiled" and timing:
        ctx.fail(f"engine.{timing[0]}", e[timing[0]], "no timing keys with engine.name = \"compiled\" "
                                                      "(use \"events\")")
    if "deadline" in e:
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
        options["compute"] = ctx.construct("engine.compute", cost.ComputeModel, spec)
    return name, options


def _delay(ctx, where: str, value) -> cost.Delay:
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind not in cost.DELAY_KINDS:
            ctx.fail(f"{where}.kind", kind, "one of " + ", ".join(cost.DELAY_KINDS))
        return ctx.construct(where, cost.DELAY_KINDS[kind], {k: v for k, v in value.items() if k != "kind"})
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.fail(where, value, "a delay >= 0 or a table with a `kind`")
    return ctx.call(where, cost.Fixed, value)


def _output(ctx, o: dict, options: dict) -> dict:
    timing = any(options.get(k) is not None for k in ("latency", "compute", "deadline", "times"))
    default = ["activity", "cost"] + (["latency", "gantt"] if timing else [])
    plots = o.get("plots", default)
    if not isinstance(plots, list) or not all(isinstance(p, str) for p in plots):
        ctx.fail("output.plots", plots, "an array of strings")
    for i, p in enumerate(plots):
        if p not in PLOTS:
            ctx.fail(f"output.plots[{i}]", p, "one of " + ", ".join(PLOTS))
    if "activity" not in plots:
        plots = ["activity"] + plots          # activity.png is always written
    return {"plots": list(dict.fromkeys(plots)), "csv": ctx.bool(o, "output.csv"),
            "chrome": ctx.bool(o, "output.chrome")}


# ---------------------------------------------------------------------- checks
class _Ctx:
    """Typed getters that raise ScenarioError naming the file and key."""

    def __init__(self, path: Path | None):
        self.path = path

    def fail(self, key: str, value, expected: str):
        where = f"{self.path}: " if self.path else ""
        shown = "nothing" if value is None else repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise ScenarioError(f"{where}{key}: got {shown}, expected {expected}")

    def unknown(self, key: str, options: list[str]):
        where = f"{self.path}: " if self.path else ""
        leaf = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(leaf, options, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(f"{where}{key}: unknown key{hint}; expected one of {', '.join(options)}")

    def _default(self, key: str):
        section, name = key.split(".")[0], key.split(".")[-1].split("[")[0]
        return SCHEMA[section][name].default if name in SCHEMA.get(section, {}) else None

    def get(self, table: dict, key: str):
        return table.get(key.rsplit(".", 1)[-1], self._default(key))

    def int(self, table: dict, key: str, minimum: int | None = None, default=None):
        value = table.get(key.rsplit(".", 1)[-1], self._default(key) if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, value, "an integer" + (f" >= {minimum}" if minimum is not None else ""))
        if minimum is not None and value < minimum:
            self.fail(key, value, f"an integer >= {minimum}")
        return value

    def float(self, table: dict, key: str, minimum: float | None = None, strict: bool = False) -> float:
        value = self.get(table, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, value, "a number")
        if not math.isfinite(value):
            self.fail(key, value, "a finite number")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.fail(key, value, f"a number {'>' if strict else '>='} {minimum:g}")
        return float(value)

    def bool(self, table: dict, key: str) -> bool:
        value = self.get(table, key)
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
        return value

    def string(self, table: dict, key: str):
        value = self.get(table, key)
        if value is not None and not isinstance(value, str):
            self.fail(key, value, "a string")
        return value

    def choice(self, table: dict, key: str, options) -> str:
        value = self.get(table, key)
        if value not in options:
            self.fail(key, value, "one of " + ", ".join(f'"{o}"' for o in options))
        return value

    def int_list(self, table: dict, key: str, minimum: int | None = None) -> list[int]:
        value = self.get(table, key)
        if not isinstance(value, list) or not value:
            self.fail(key, value, "a non-empty array of integers")
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, int) or (minimum is not None and v < minimum):
                self.fail(f"{key}[{i}]", v, "an integer" + (f" >= {minimum}" if minimum is not None else ""))
        return value

    def file(self, table: dict, key: str, suffixes) -> Path:
        value = self.string(table, key)
        if value is None:
            self.fail(key, None, "a file path")
        file = Path(value)
        if not file.is_absolute() and self.path is not None:
            file = self.path.parent / file
        if file.suffix not in suffixes:
            self.fail(key, value, "a file ending in " + " or ".join(suffixes))
        if not file.is_file():
            self.fail(key, value, f"an existing file (looked for {file})")
        return file

    def call(self, key: str, fn, *args, **kwargs):
        """Call a constructor; its own errors (which name the argument) get the key prefixed."""
        try:
            return fn(*args, **kwargs)
        except ClocksimError as exc:
            where = f"{self.path}: " if self.path else ""
            msg = str(exc)
            head = msg.split(":", 1)[0]
            joined = f"{key}.{msg}" if head.isidentifier() else f"{key}: {msg}"
            raise ScenarioError(f"{where}{joined}") from None

    def construct(self, key: str, cls, args: dict):
        """Build ``cls(**args)`` after checking the argument names against its signature."""
        params = [p for p in inspect.signature(cls).parameters if p != "self"]
        for name, value in args.items():
            if name not in params:
                self.unknown(f"{key}.{name}", params)
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(f"{key}.{name}", value, "a finite number")
        return self.call(key, cls, **args)


def _leading_comment(text: str) -> str:
    """The comment lines at the top of a file, joined: the scenario's own description."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped.lstrip("#").strip())
        elif stripped:
            break
    return " ".join(line for line in lines if line)


# ---------------------------------------------------------------------- docs
def schema_markdown() -> str:
    """The key tables of ``docs/scenarios.md``, generated from :data:`SCHEMA` (a test keeps them equal)."""
    out = []
    for section, keys in SCHEMA.items():
        out += [f"### [{section}]", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, key in keys.items():
            default = "—" if key.default is None else f"`{_toml_value(key.default)}`"
            out.append(f"| `{name}` | {key.type} | {default} | {key.doc} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
