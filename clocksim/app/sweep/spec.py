"""The sweep file format: tables and keys, points with content-hash ids, validation of every point."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..._validate import as_path, read_toml
from ...errors import ClocksimError, InvalidValueError
from ...limits import POINTS_ENV, check_count
from ..kinds import pipeline
from ..scenario import REQUIRED, Key, leading_comment, parse_scenario, set_key
from ..specfile import PATH_KEYS, SpecChecks, absolute_paths, base_scenario, flatten, head_table, parse_range  # noqa: F401
from ...trace.summary import metric_columns

__all__ = ["Sweep", "Point", "SweepError", "load_sweep", "parse_sweep", "point_id", "SWEEP_SCHEMA"]


class SweepError(InvalidValueError):
    """A sweep file is malformed or a point's scenario is invalid; one line naming file, key, value, expectation."""


# ---------------------------------------------------------------------- the file format
SWEEP_SCHEMA: dict[str, dict[str, Key]] = {
    "sweep": {
        "scenario": Key("string", REQUIRED, "Path of the base scenario, relative to the sweep file."),
        "name": Key("string", None, "Short name shown in progress and figures (default: the file name)."),
        "description": Key("string", None, "What the sweep asks (default: the file's first comment lines)."),
        "seeds": Key("array of integers", None, "Replicate every point once per seed, written into `seed_keys`."),
        "repeats": Key("integer", None, "Instead of `seeds`: seeds 0, 1, ..., repeats - 1."),
        "seed_keys": Key("array of strings", ["model.seed", "input.seed"],
                         "Scenario keys that take a replicate's seed."),
        "metrics": Key("array of strings", None, "Summary keys to record, dots as underscores (`latency_p99`, "
                                                 "`accuracy_value`; see docs/traces.md). Default: every numeric "
                                                 "key the points' summaries have."),
    },
    "fixed": {"<key.path>": Key("any", None, "A value set on every point (like `clocksim run --set`).")},
    "grid": {"<key.path>": Key("array", None, "The values of one swept key; points are the cartesian product.")},
    "random": {
        "samples": Key("integer", REQUIRED, "Number of random draws (each crossed with every grid point)."),
        "seed": Key("integer", 0, "Seed of the draws: the same seed draws the same points."),
        "<key.path>": Key("array or table", None, "Choices to draw from uniformly, or a range {low, high} "
                                                  "(integers when both bounds are integers), "
                                                  "{low, high, log = true} for a log-uniform draw."),
    },
    "plots": {
        "pareto_x": Key("string", "macs", "Metric on the x axis of pareto.png (a cost: smaller is better)."),
        "pareto_y": Key("string", None, "Metric on the y axis of pareto.png (default: the first of accuracy_value, "
                                        "latency_p99, deadline_misses recorded)."),
        "heatmap": Key("array of two strings", None, "Two grid keys for heatmap.png, x then y (default: the "
                                                     "first two grid keys)."),
        "heatmap_metric": Key("string", None, "Metric shown in heatmap.png (default: pareto_y)."),
    },
}

PARETO_Y_DEFAULTS = ("accuracy_value", "latency_p99", "deadline_misses")
#: Columns of a results row that are not parameters or metrics.
ROW_FIELDS = ("status", "error", "wall_time")


@dataclass(frozen=True)
class Point:
    """One point of a sweep.

    Attributes
    ----------
    id : str
        12 hex digits: hash of the scenario the point runs.
    params : dict
        Swept key -> value (grid keys, then random keys, in file order).
    seed : int or None
        The replicate seed (None when the sweep has no seeds).
    overrides : dict
        Every scenario key the point sets: fixed, swept and seed keys.
    """

    id: str
    params: dict
    seed: int | None
    overrides: dict

    def describe(self) -> str:
        """``key=value, ...`` (the parameters and the seed), for messages and labels."""
        items = [f"{k}={_show(v)}" for k, v in self.params.items()]
        if self.seed is not None:
            items.append(f"seed={self.seed}")
        return ", ".join(items) or "the base scenario"


@dataclass
class Sweep:
    """A validated sweep: its points (each one's scenario already checked) and what to record."""

    path: Path
    name: str
    description: str
    scenario_path: Path                  # absolute
    grid_keys: list[str]
    random_keys: list[str]
    seeds: list[int] | None
    metrics: list[str]
    plots: dict
    points: list[Point]
    duplicates: int = 0                  # points merged because they were identical
    base: dict = field(default_factory=dict, repr=False)   # the base scenario as parsed TOML, paths absolute

    @property
    def keys(self) -> list[str]:
        """The swept keys: grid keys, then random keys."""
        return self.grid_keys + self.random_keys

    @property
    def columns(self) -> list[str]:
        """Columns of the results table: id, swept keys, seed, status, error, wall_time, metrics."""
        return ["id", *self.keys, *(["seed"] if self.seeds is not None else []), *ROW_FIELDS, *self.metrics]

    def scenario(self, point: Point) -> dict:
        """The scenario ``point`` runs, as parsed TOML (the base with the point's overrides)."""
        raw = copy.deepcopy(self.base)
        for key, value in point.overrides.items():
            set_key(raw, key, value)
        absolute_paths(raw, self.scenario_path.parent, self.path.parent, point.overrides)
        return raw

    def task(self, point: Point) -> dict:
        """What a worker needs to compute ``point`` (plain data): see :func:`run_point`."""
        return {"id": point.id, "scenario": self.scenario(point), "path": str(self.scenario_path),
                "metrics": list(self.metrics)}

    def params_row(self, point: Point) -> dict:
        """The id, parameter and seed cells of ``point``'s results row."""
        row = {"id": point.id, **point.params}
        if self.seeds is not None:
            row["seed"] = point.seed
        return row


def load_sweep(path) -> Sweep:
    """Read a sweep file and validate it and every point's scenario (raises :class:`SweepError`)."""
    path = as_path("path", path)
    raw, text = read_toml(path, SweepError, "sweep")
    return parse_sweep(raw, path, leading_comment(text))


def parse_sweep(raw: dict, path: Path, comment: str = "") -> Sweep:
    """Validate a sweep given as parsed TOML; ``path`` is where relative paths start from."""
    path = Path(path).absolute()
    chk = SweepChecks(path)
    head = head_table(chk, raw, SWEEP_SCHEMA, "sweep")
    scenario_path, base = base_scenario(chk, head)
    seeds = _seeds(chk, head)
    seed_keys = []
    if seeds is None and "seed_keys" in head:
        chk.fail("sweep.seed_keys", head["seed_keys"], "`seeds` or `repeats` beside it (it says where they go)")
    if seeds is not None:
        seed_keys = chk.strings(head, "sweep.seed_keys", SWEEP_SCHEMA["sweep"]["seed_keys"].default)
    fixed = flatten("fixed", raw.get("fixed", {}))
    grid = flatten("grid", raw.get("grid", {}))
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            chk.fail(f"grid.{key}", values, "a non-empty array of values")
    samples, draws = _random(chk, raw.get("random", {}))
    owners: dict[str, str] = {}
    places = [(f"fixed.{k}", k) for k in fixed] + [(f"grid.{k}", k) for k in grid] + \
        [(f"random.{k}", k) for k in draws] + [(f"sweep.seed_keys[{i}]", k) for i, k in enumerate(seed_keys)]
    for where, key in places:
        chk.scenario_key(where, key)
        clash = next((k for k in owners if k == key or k.startswith(key + ".") or key.startswith(k + ".")), None)
        if clash is not None:
            chk.fail(where, key, f"a key set in one place only (also set by {owners[clash]})")
        owners[key] = where
    grid_keys, random_keys = list(grid), list(draws)
    sweep = Sweep(path=path, name=chk.string(head, "sweep.name") or path.stem,
                  description=chk.string(head, "sweep.description") or comment, scenario_path=scenario_path,
                  grid_keys=grid_keys, random_keys=random_keys, seeds=seeds, metrics=[], plots={}, points=[],
                  base=base)
    n_grid = math.prod(len(v) for v in grid.values())
    n_points = n_grid * (samples if draws else 1) * (len(seeds) if seeds is not None else 1)
    driver = ("random.samples" if draws and samples >= n_grid else
              f"grid.{max(grid, key=lambda k: len(grid[k]))}" if grid else "sweep.seeds")
    try:
        check_count(n_points, driver, "points in the sweep", POINTS_ENV)
    except ClocksimError as exc:
        raise exc.located(file=path) from None
    samples_list = _draw(draws, samples, chk.int(raw.get("random", {}), "random.seed", minimum=0, default=0))
    present = _add_points(chk, sweep, fixed, grid, draws, samples_list, seeds, seed_keys, n_points)
    sweep.metrics = _metrics(chk, head, present or {"always"})
    sweep.plots = _plots(chk, raw.get("plots", {}), sweep.metrics, grid_keys)
    return sweep


def _add_points(chk: "SweepChecks", sweep: Sweep, fixed: dict, grid: dict, draws: dict, samples_list: list[dict],
                seeds, seed_keys: list[str], n_points: int) -> set[str]:
    """Append the points of the grid x draws x seeds to ``sweep`` (identical scenarios merged, counted in
    ``sweep.duplicates``), validating their scenarios; returns the summary keys their runs will have."""
    grid_keys = list(grid)
    present: set[str] = set()            # which summary keys the points' runs will have
    check_all = n_points <= FULL_CHECK_POINTS
    checked: set = set()
    seen: set[str] = set()
    for combo in itertools.product(*grid.values()):
        for sample in samples_list:
            params = {**dict(zip(grid_keys, combo)), **sample}
            for seed in (seeds if seeds is not None else [None]):
                overrides = {**fixed, **params, **{k: seed for k in seed_keys}}
                point = Point("", params, seed, overrides)
                try:
                    scenario = sweep.scenario(point)
                except ClocksimError as exc:       # a key inside a non-table (clocksim.scenario.set_key)
                    raise SweepError(f"point {len(sweep.points) + 1} ({point.describe()}): {exc}",
                                     file=chk.path) from None
                point = Point(point_id(scenario), params, seed, overrides)
                if point.id in seen:
                    sweep.duplicates += 1
                    continue
                seen.add(point.id)
                values = {(k, "range" if isinstance(draws.get(k), dict) else json.dumps(v, sort_keys=True, default=str))
                          for k, v in point.params.items()} | {("seed", point.seed)}
                if check_all or not values <= checked:
                    present |= _check_point(chk, point, scenario, sweep.scenario_path, len(sweep.points))
                    checked |= values
                sweep.points.append(point)
    return present


#: Up to this many points every point's scenario is validated when the sweep is loaded; beyond it, one point
#: per distinct value of each swept key (linear, not one parse per combination): a point whose *combination*
#: of values is invalid is then reported in its row's error column when it runs.
FULL_CHECK_POINTS = 256


def point_id(scenario: dict) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON of the scenario (``[scenario]`` excluded: a name or
    description changes no result)."""
    data = {"scenario": {k: v for k, v in scenario.items() if k != "scenario"}}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _check_point(chk: "SweepChecks", point: Point, scenario: dict, scenario_path: Path, index: int) -> set[str]:
    """Validate the point's scenario; return when its summary keys are present (see :data:`clocksim.summary.WHEN`)."""
    try:
        parsed = parse_scenario(scenario, scenario_path)
    except ClocksimError as exc:
        raise SweepError(f"point {index + 1} ({point.describe()}): {exc}", file=chk.path) from None
    traced = pipeline(parsed.model).present(parsed)           # the trace's keys, or an LSTM's own
    return traced | ({"task"} if parsed.task else set()) | ({"trained"} if parsed.train else set())


def _metrics(chk: "SweepChecks", head: dict, present: set[str]) -> list[str]:
    if "metrics" not in head:
        return list(metric_columns(tuple(present)))
    available = list(metric_columns())
    names = chk.strings(head, "sweep.metrics", None)
    for i, name in enumerate(names):
        if name not in available:
            chk.unknown(f"sweep.metrics[{i}] = {name!r}", list(available), leaf=name, what="metric")
    return list(dict.fromkeys(names))


def _seeds(chk: "SweepChecks", head: dict) -> list[int] | None:
    if "seeds" in head and "repeats" in head:
        chk.fail("sweep.repeats", head["repeats"], "either `seeds` or `repeats`, not both")
    if "repeats" in head:
        repeats = chk.int(head, "sweep.repeats", minimum=1)
        try:
            check_count(repeats, "sweep.repeats", "points in the sweep", POINTS_ENV)
        except ClocksimError as exc:
            raise exc.located(file=chk.path) from None
        return list(range(repeats))
    if "seeds" not in head:
        return None
    seeds = head["seeds"]
    if not isinstance(seeds, list) or not seeds:
        chk.fail("sweep.seeds", seeds, "a non-empty array of integers >= 0")
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            chk.fail(f"sweep.seeds[{i}]", s, "an integer >= 0")
    if len(set(seeds)) != len(seeds):
        chk.fail("sweep.seeds", seeds, "distinct seeds")
    return seeds


def _random(chk: "SweepChecks", table: dict) -> tuple[int, dict]:
    keys = {k: v for k, v in table.items() if k not in ("samples", "seed")}
    draws = flatten("random", keys)
    if not draws:
        if table:
            chk.fail("random", table, "at least one key to draw, e.g. model.seed = {low = 0, high = 100}")
        return 0, {}
    samples = chk.int(table, "random.samples", minimum=1)
    for key, spec in draws.items():
        parse_range(chk, f"random.{key}", spec)
    return samples, draws


def _draw(draws: dict, samples: int, seed: int) -> list[dict]:
    """``samples`` dicts of drawn values (one empty dict when nothing is drawn); a pure function of the seed."""
    if not draws:
        return [{}]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(samples):
        sample = {}
        for key, spec in draws.items():
            if isinstance(spec, list):
                sample[key] = spec[int(rng.integers(len(spec)))]
                continue
            lo, hi, log = spec["low"], spec["high"], spec.get("log", False)
            integral = isinstance(lo, int) and isinstance(hi, int)
            if integral and not log:
                sample[key] = int(rng.integers(lo, hi, endpoint=True))
            elif integral:             # log-uniform integers: floor of a log-uniform draw over [lo, hi + 1)
                sample[key] = min(hi, int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))))
            elif log:
                sample[key] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            else:
                sample[key] = float(rng.uniform(lo, hi))
        out.append(sample)
    return out


def _plots(chk: "SweepChecks", table: dict, metrics: list[str], grid_keys: list[str]) -> dict:
    for key in table:
        if key not in SWEEP_SCHEMA["plots"]:
            chk.unknown(f"plots.{key}", list(SWEEP_SCHEMA["plots"]))
    out = {}
    for key in ("pareto_x", "pareto_y", "heatmap_metric"):
        if key in table:
            name = chk.string(table, f"plots.{key}")
            if name not in metrics:
                chk.unknown(f"plots.{key} = {name!r}", metrics, leaf=name, what="recorded metric")
            out[key] = name
    out.setdefault("pareto_x", "macs" if "macs" in metrics else None)
    out.setdefault("pareto_y", next((m for m in PARETO_Y_DEFAULTS if m in metrics), None))
    if "heatmap" in table:
        keys = chk.strings(table, "plots.heatmap", None)
        if len(keys) != 2 or keys[0] == keys[1]:
            chk.fail("plots.heatmap", keys, "two different grid keys (x, y)")
        for i, key in enumerate(keys):
            if key not in grid_keys:
                chk.unknown(f"plots.heatmap[{i}] = {key!r}", grid_keys, leaf=key, what="grid key")
        out["heatmap"] = keys
    else:
        out["heatmap"] = grid_keys[:2] if len(grid_keys) >= 2 else None
    out.setdefault("heatmap_metric", out["pareto_y"])
    return out


def _show(value) -> str:
    return json.dumps(value, separators=(", ", "=")) if isinstance(value, (dict, list, str)) else str(value)


class SweepChecks(SpecChecks):
    """The spec checker (:class:`clocksim.app.specfile.SpecChecks`) of a sweep file."""

    error_type = SweepError
    schema = SWEEP_SCHEMA
