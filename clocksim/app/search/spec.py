"""The search file format: a base scenario, a space, objectives, constraints, the sampler."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..._validate import as_path, read_toml
from ...errors import ClocksimError, InvalidTypeError, InvalidValueError
from ..scenario import REQUIRED, Key, apply_override, leading_comment, parse_scenario
from ..specfile import SpecChecks, absolute_paths, base_scenario, head_table
from .space import Space, parse_space

__all__ = ["SearchSpec", "SearchError", "Objective", "Constraint", "load_search", "parse_search", "SEARCH_SCHEMA",
           "SAMPLERS", "metric_value", "toml_value", "toml_key"]


class SearchError(InvalidValueError):
    """A search file is malformed, or its space yields invalid scenarios; one line naming file, key and value."""


SAMPLERS = ("tpe", "nsga2", "random")
DIRECTIONS = {"min": "minimize", "max": "maximize"}

SEARCH_SCHEMA: dict[str, dict[str, Key]] = {
    "search": {
        "scenario": Key("string", REQUIRED, "Path of the base scenario, relative to the search file."),
        "name": Key("string", None, "Name of the study (default: the file name)."),
        "description": Key("string", None, "What the search asks (default: the file's first comment lines)."),
        "trials": Key("integer", 50, "Trials to run in all (`--trials` overrides it); a resumed search runs "
                                     "only the missing ones."),
        "sampler": Key("string", "tpe", "tpe (Optuna's TPE), nsga2 (NSGA-II) or random (the baseline)."),
        "seed": Key("integer", 0, "Seed of the sampler: the same seed proposes the same trials (serially)."),
        "startup_trials": Key("integer", 10, "TPE: trials drawn at random before its model proposes (Optuna's "
                                             "n_startup_trials)."),
        "population": Key("integer", 20, "NSGA-II: trials a generation (population size); generations = "
                                         "trials / population."),
        "constraints": Key("array of strings", [], "Conditions a trial must meet to be on the front, each "
                                                   "`metric <= number`, `metric >= number` or `metric == number`."),
        "prune": Key("boolean or string", False, "true: stop training trials whose validation loss is worse than the "
                                                 "median of earlier trials at the same epoch (one objective, [task] "
                                                 "scenarios). \"analysis\": skip, before it is simulated, a trial "
                                                 "the schedulability analysis proves unschedulable (an exact bound "
                                                 "over a deadline, or demand over the cores; docs/analysis.md)."),
        "prune_warmup": Key("integer", 5, "Epochs a trial trains before it can be pruned."),
    },
    "objectives": {
        "metric": Key("string", REQUIRED, "A summary metric by dotted path: macs, latency.p99, deadline_misses, "
                                          "inputs_dropped, accuracy.value (validation error of a [task]) ..."),
        "direction": Key("string", "min", "min or max."),
    },
    "params": {"<key.path>": Key("array or table", None, "Any scenario key: an array of choices, or a range "
                                                         "{low, high} (integers when both are), {log = true}.")},
    "periods": {
        "modules": Key("integer or table", None, "Number of modules g, or a range {low, high} (default: the base "
                                                 "scenario's)."),
        "low": Key("number", 1, "Smallest period."),
        "high": Key("number", REQUIRED, "Largest period."),
        "log": Key("boolean", True, "Draw periods log-uniformly."),
        "real": Key("boolean", False, "Draw real periods: each module then gets a `jittered` clock with "
                                      "`jitter = 0` (exact continuous-time period; needs the event engine)."),
    },
    "phases": {"modules": Key("array of integers", None, "Modules (0-based) whose phase is searched "
                                                         "(default: every module with period > 1)."),
               "encoding": Key("string", "direct", "direct (a phase per module) or ranked (a rank per module in "
                                                   "clocksim.stagger_phases's order: 0 is its placement)")},
    "sizes": {
        "budget": Key("integer", REQUIRED, "Trainable parameters the model may have: module sizes are scaled to "
                                           "the largest that fit."),
        "min": Key("integer", 1, "Smallest module size."),
    },
    "priority": {"rules": Key("boolean", True, "Also try the named rules (fastest-first, slowest-first, fifo), "
                                               "not only orders of the modules.")},
}
CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==)\s*([-+0-9.eE]+|inf)\s*$")


@dataclass(frozen=True)
class Objective:
    metric: str          # dotted path into a run's summary
    direction: str       # "minimize" or "maximize"


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str              # "<=", ">=" or "=="
    bound: float

    def violation(self, value: float) -> float:
        """Optuna's convention: <= 0 when met, else how far from it."""
        if self.op == "<=":
            return value - self.bound
        if self.op == ">=":
            return self.bound - value
        return abs(value - self.bound)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


@dataclass
class SearchSpec:
    """A validated search: the base scenario, the space and what to optimise."""

    path: Path
    name: str
    description: str
    scenario_path: Path                     # absolute
    trials: int
    sampler: str
    seed: int
    objectives: list[Objective]
    constraints: list[Constraint]
    space: Space
    prune: bool | str               # True (training losses), "analysis" or False
    prune_warmup: int
    startup_trials: int = 10
    population: int = 20
    base: dict = field(default_factory=dict, repr=False)    # the base scenario as parsed TOML, paths absolute

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    def scenario(self, overrides: dict) -> dict:
        """The base scenario with ``overrides`` (scenario key -> value) applied, as parsed TOML."""
        raw = copy.deepcopy(self.base)
        for key, value in overrides.items():
            apply_override(raw, f"{key}={toml_value(value)}", self.path)
        absolute_paths(raw, self.scenario_path.parent, self.path.parent, overrides)
        return raw

    def fingerprint(self) -> str:
        """Hash of what the trials of this search mean (base scenario, space, objectives, constraints)."""
        data = {"base": self.base, "space": self.space.record(), "objectives": [o.__dict__ for o in self.objectives],
                "constraints": [str(c) for c in self.constraints], "sampler": self.sampler, "seed": self.seed,
                "sampler_options": self.sampler_options()}
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def sampler_options(self) -> dict:
        """The options of the chosen sampler (none for random sampling)."""
        return {"tpe": {"startup_trials": self.startup_trials}, "nsga2": {"population": self.population}}.get(
            self.sampler, {})

    def record(self) -> dict:
        """The search as plain data (``search.json``)."""
        return {"name": self.name, "description": self.description, "file": str(self.path),
                "scenario": str(self.scenario_path), "trials": self.trials, "sampler": self.sampler,
                "seed": self.seed, "sampler_options": self.sampler_options(),
                "objectives": [o.__dict__ for o in self.objectives],
                "constraints": [str(c) for c in self.constraints], "space": self.space.record(),
                "prune": self.prune, "prune_warmup": self.prune_warmup, "fingerprint": self.fingerprint()}


class SearchChecks(SpecChecks):
    """The spec checker (:class:`clocksim.app.specfile.SpecChecks`) of a search file."""

    error_type = SearchError
    schema = SEARCH_SCHEMA


def load_search(path) -> SearchSpec:
    """Read a search file and validate it (raises :class:`SearchError` naming the key)."""
    path = as_path("path", path)
    raw, text = read_toml(path, SearchError, "search")
    return parse_search(raw, path, leading_comment(text))


def parse_search(raw: dict, path, comment: str = "") -> SearchSpec:
    """Validate a search given as parsed TOML; ``path`` is where relative paths start from."""
    path = Path(path).absolute()
    chk = SearchChecks(path)
    head = head_table(chk, raw, SEARCH_SCHEMA, "search", arrays=("objectives",))
    scenario_path, base = base_scenario(chk, head, "search")
    try:
        base_parsed = parse_scenario(copy.deepcopy(base), scenario_path)
    except ClocksimError as exc:
        raise SearchError(f"the base scenario is invalid: {exc}", key="search.scenario", file=path) from None
    objectives = _objectives(chk, raw.get("objectives"))
    constraints = []
    for i, text in enumerate(head.get("constraints", [])):
        m = CONSTRAINT.match(text) if isinstance(text, str) else None
        if m is None:
            chk.fail(f"search.constraints[{i}]", text, "`metric <= number`, `metric >= number` or `metric == number`")
        constraints.append(Constraint(m.group(1), m.group(2), float(m.group(3))))
    prune = head.get("prune", False)
    if not isinstance(prune, bool) and prune != "analysis":
        chk.fail("search.prune", prune, "true, false or \"analysis\"")
    if prune == "analysis":
        if base_parsed.engine_options.get("compute") is None:
            chk.fail("search.prune", prune, "a compute model in the base scenario ([engine] compute = {cores = ...}) "
                                            "for the analysis to bound")
    elif prune and len(objectives) > 1:
        chk.fail("search.prune", prune, "false with several objectives (Optuna prunes single-objective studies only)")
    if prune is True and base_parsed.train is None:
        chk.fail("search.prune", prune, "false: the base scenario trains nothing (no [task] and [train])")
    sampler = chk.choice(head, "search.sampler", SAMPLERS)
    for key, owner in (("startup_trials", "tpe"), ("population", "nsga2")):
        if key in head and sampler != owner:
            chk.fail(f"search.{key}", head[key], f"no {key} with sampler = {sampler!r} (it is an option of {owner!r})")
    space = parse_space(chk, {k: v for k, v in raw.items() if k not in ("search", "objectives")},
                        base_parsed)
    spec = SearchSpec(path=path, name=chk.string(head, "search.name") or path.stem,
                      description=chk.string(head, "search.description") or comment, scenario_path=scenario_path,
                      trials=chk.int(head, "search.trials", minimum=1, default=50),
                      sampler=sampler,
                      seed=chk.int(head, "search.seed", minimum=0, default=0), objectives=objectives,
                      constraints=constraints, space=space, prune=prune,
                      prune_warmup=chk.int(head, "search.prune_warmup", minimum=0, default=5),
                      startup_trials=chk.int(head, "search.startup_trials", minimum=0, default=10),
                      population=chk.int(head, "search.population", minimum=2, default=20), base=base)
    _probe(spec)
    return spec


def _objectives(chk: SearchChecks, tables) -> list[Objective]:
    if tables is None:
        chk.fail("objectives", None, "at least one [[objectives]] table with a `metric`")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        chk.fail("objectives", tables, "[[objectives]] tables, each with a `metric`")
    out = []
    for i, table in enumerate(tables):
        for key in table:
            if key not in SEARCH_SCHEMA["objectives"]:
                chk.unknown(f"objectives[{i}].{key}", list(SEARCH_SCHEMA["objectives"]))
        metric = table.get("metric")
        if not isinstance(metric, str) or not re.match(r"^[A-Za-z_][\w.]*$", metric):
            chk.fail(f"objectives[{i}].metric", metric, "a summary metric by dotted path, e.g. latency.p99")
        direction = table.get("direction", "min")
        if direction not in DIRECTIONS:
            chk.fail(f"objectives[{i}].direction", direction, '"min" or "max"')
        out.append(Objective(metric, DIRECTIONS[direction]))
    if len({o.metric for o in out}) != len(out):
        chk.fail("objectives", [o.metric for o in out], "distinct metrics")
    return out


def _probe(spec: SearchSpec) -> None:
    """Draw two points of the space (its lower and upper choices) and check they are valid scenarios."""
    for which in ("low", "high"):
        overrides = spec.space.extreme(which)
        try:
            parse_scenario(spec.scenario(overrides), spec.scenario_path)
        except ClocksimError as exc:
            raise SearchError(f"the space gives an invalid scenario at its {which} end "
                              f"({', '.join(f'{k}={v}' for k, v in overrides.items())}): {exc}",
                              file=spec.path) from None


def metric_value(summary: dict, path: str):
    """The value at the dotted ``path`` of a run's summary (KeyError naming what is there when missing)."""
    node = summary
    for i, part in enumerate(path.split(".")):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(path.split(".")[:i]) or "the summary"
            keys = ", ".join(sorted(node)) if isinstance(node, dict) else "nothing (not a table)"
            raise KeyError(f"{path}: no {part!r} in {where}, which holds {keys}")
        node = node[part]
    return node


def toml_key(key) -> str:
    """A TOML key: bare when it can be, else quoted."""
    key = str(key)
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else json.dumps(key)


def toml_value(value) -> str:
    """``value`` (number, string, bool, array, table) as TOML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "item"):                    # a numpy scalar
        return toml_value(value.item())
    raise InvalidTypeError(f"cannot write {type(value).__name__} as TOML", key="value", value=value)
