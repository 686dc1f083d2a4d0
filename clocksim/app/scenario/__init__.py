"""TOML scenarios -> validated objects (model, inputs, engine options, outputs).

A scenario is data, read with :mod:`tomllib` (never executed). Every key is
declared once in :data:`SCHEMA` (type, default, meaning); the validator and
``docs/scenarios.md`` are both checked against it, so they cannot drift apart.
Every mistake becomes a :class:`ScenarioError` whose one-line message names the
file, the key, the value and what was expected. Paths inside a scenario resolve
relative to the scenario file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..._validate import read_toml
from ...cost import has_timing_model
from ...model.lstm import LSTM
from ...model.cwrnn import ClockworkRNN
from ...train.loop import TrainConfig
from .checks import Checks, leading_comment
from .schema import REQUIRED, SCHEMA, Key, ScenarioError, schema_markdown
from .sections import check_run_size, engine_section, input_section, model_section, output_section
from .training import task_input, task_section, train_section

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "SCHEMA", "Key", "REQUIRED",
           "apply_override", "set_key", "schema_markdown", "leading_comment", "fingerprint", "digest"]


@dataclass
class Scenario:
    """A validated scenario, ready to run."""

    path: Path | None
    name: str
    description: str
    model: ClockworkRNN | LSTM          # an LSTM only with a [task]: trained, never simulated
    x: np.ndarray                  # (B, L, n_in)
    times: np.ndarray | None       # (L,) arrival times, or None for regular
    engine: str
    engine_options: dict
    output: dict
    raw: dict = field(default_factory=dict)
    task: object = None                     # clocksim.tasks.Task, from a [task] table
    train: TrainConfig | None = None        # from a [train] table
    checkpoint_every: int = 10
    overrides: tuple[str, ...] = ()         # the "key.path=value" strings applied to the file (``--set``)
    batched: bool = True                    # x is a batch (input.batch, a (B, L, n_in) file, a task), else one
                                            # sequence: results then have no batch axis, as simulate's for (L, n_in)

    @property
    def timing_model(self) -> bool:
        """Whether the run models time (:func:`clocksim.cost.has_timing_model`)."""
        o = self.engine_options
        return has_timing_model(o.get("latency"), o.get("compute"), o.get("deadline"), o.get("times"))


def load_scenario(path, overrides=()) -> Scenario:
    """Read and validate a scenario file; ``overrides`` are ``"key.path=value"`` strings."""
    path = Path(path)
    raw, text = read_toml(path, ScenarioError, "scenario")
    if not raw:
        raise ScenarioError("empty scenario, expected at least a [model] table", file=path)
    for item in overrides:
        apply_override(raw, item, path)
    scenario = parse_scenario(raw, path, leading_comment(text))
    scenario.overrides = tuple("=".join(part.strip() for part in item.split("=", 1)) for item in overrides)
    return scenario


def apply_override(raw: dict, item: str, path=None) -> None:
    """Apply ``key.path=value`` (value in TOML syntax; a bare word is a string) to ``raw`` in place."""
    if "=" not in item:
        raise ScenarioError(key="--set", value=item, expected="key.path=value", file=path)
    key, text = (s.strip() for s in item.split("=", 1))
    parts = key.split(".")
    if len(parts) < 2 or parts[0] not in SCHEMA or not all(parts):
        raise ScenarioError(key="--set", value=key, expected=f"section.key with a section among {', '.join(SCHEMA)}",
                            file=path)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    set_key(raw, key, value, option="--set ", file=path)


#: Keys an override replaces: a model's clocks are given by ``clocks`` or by ``periods`` / ``family`` and
#: their phases, never both, so setting one removes the other's keys from the table it is set in.
REPLACES = {"model.clocks": ("periods", "family", "base", "step", "phases"),
            "model.periods": ("clocks", "family", "base", "step")}


def set_key(raw: dict, key: str, value, *, option: str = "", file=None) -> None:
    """Set the dotted ``key`` (``engine.compute.cores``) of the parsed scenario ``raw`` to a copy of ``value``.

    The one implementation of a dotted-key override: ``--set``, sweep points and searches use it.
    Tables on the way are created; a non-table on the way is a :class:`ScenarioError` whose key is
    ``option + key`` (e.g. ``--set model.x.y``) and whose file is ``file``. Setting a key of
    :data:`REPLACES` removes the keys it replaces (``model.clocks`` replaces ``model.periods``).
    """
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError(f"{part} is not a table, cannot set a key inside it", key=f"{option}{key}", file=file)
    for replaced in REPLACES.get(key, ()):
        node.pop(replaced, None)
    node[parts[-1]] = copy.deepcopy(value)


def parse_scenario(raw: dict, path: Path | None = None, comment: str = "") -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML)."""
    ctx = Checks(path)
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
    task = task_section(ctx, raw["task"]) if "task" in raw else None
    if "train" in raw and task is None:
        ctx.fail("train", raw["train"], "a [task] table too (what to train on)")
    if task is None:
        x, times, batched = input_section(ctx, raw.get("input", {}), raw["model"])
    else:
        x, times, batched = task_input(ctx, raw.get("input", {}), task), None, True     # a task's test set
    model = model_section(ctx, raw["model"], n_in=x.shape[2], n_out=None if task is None else task.n_out)
    if not model.simulated:
        _untraced(ctx, raw, task, model.kind)
    engine_name, options = engine_section(ctx, raw.get("engine", {}), model)
    if times is not None:
        if engine_name != "events":
            ctx.fail("input.arrival", "jittered", "regular arrivals with engine.name = \"compiled\"")
        options["times"] = times + model.start
    output = output_section(ctx, raw.get("output", {}), options)
    if model.simulated:
        check_run_size(ctx, model, x, output, from_clocks="clocks" in raw["model"])
    else:
        output.update(plots=[], csv=False, chrome=False)
    if "train" in raw:
        config, every = train_section(ctx, raw["train"], task, model)
    else:
        config, every = None, SCHEMA["train"]["checkpoint_every"].default
    return Scenario(path, name, description, model, x, options.get("times"), engine_name, options, output, raw,
                    task=task, train=config, checkpoint_every=every, batched=batched)


def _untraced(ctx: Checks, raw: dict, task, kind: str) -> None:
    """An LSTM is trained and scored, never simulated: refuse what only a simulation could give."""
    if task is None:
        ctx.fail("model.kind", kind, "a [task] table too (an LSTM is not a clocked model: it is trained and "
                                       "scored on a task, never simulated)")
    for key, value in raw.get("engine", {}).items():
        if key != "name":
            ctx.fail(f"engine.{key}", value, f"no timing keys with model.kind = \"{kind}\" (it is never simulated)")
    out = raw.get("output", {})
    for key, empty in (("plots", []), ("csv", False), ("chrome", False)):
        if key in out and out[key] != empty:
            ctx.fail(f"output.{key}", out[key], f"{_toml(empty)} or absent with model.kind = \"{kind}\" (no trace: "
                                                "only summary.json and report.md are written)")


def _toml(value) -> str:
    return "[]" if value == [] else str(value).lower()
#: Sections whose keys decide what a training run learns (``[train]`` is compared by the training itself).
FINGERPRINT_SECTIONS = ("model", "task")


def fingerprint(scenario: Scenario, sections=FINGERPRINT_SECTIONS) -> dict:
    """The keys of the scenario's ``sections`` (default ``[model]`` and ``[task]``; defaults filled in)
    as flat plain data: what a training checkpoint belongs to. A resume with a different fingerprint
    is refused."""
    out = {}
    for section in sections:
        table = scenario.raw.get(section)
        if not isinstance(table, dict):
            continue
        for key, spec in SCHEMA[section].items():
            value = table.get(key, None if spec.default == REQUIRED else spec.default)
            out[f"{section}.{key}"] = json.loads(json.dumps(value, default=str))
    return out


def digest(scenario: Scenario) -> str:
    """16 hex digits identifying what a scenario computes (every section but [scenario] and [output]):
    the fingerprint written into its ``trace.npz``."""
    sections = [k for k in SCHEMA if k not in ("scenario", "output")]
    text = json.dumps(fingerprint(scenario, sections), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
