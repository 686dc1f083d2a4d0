"""What scenario, sweep and search files share: the one spec checker and the one range parser.

:class:`SpecChecks` is the typed getter every file format validates with: each mistake becomes
one error of the format's own class (``error_type``: ScenarioError, SweepError, SearchError)
naming the file and the key, defaults come from the format's ``schema``. :func:`parse_range`
checks a value to draw from (an array of choices, or a range ``{low, high}`` /
``{low, high, log = true}``) for a sweep's ``[random]`` and a search's ``[params]`` alike.

The helpers a sweep and a search file both need live here too: :func:`head_table` (the
tables of a file against its schema), :func:`base_scenario` (the scenario the file varies),
:func:`flatten` (TOML's nested tables to dotted keys) and :func:`absolute_paths`.
"""

from __future__ import annotations

import difflib
import inspect
import math
import os
from pathlib import Path

from .._validate import did_you_mean, read_toml
from ..errors import ClocksimError, InvalidValueError

__all__ = ["SpecChecks", "parse_range", "is_range", "head_table", "base_scenario", "flatten", "absolute_paths",
           "PATH_KEYS"]

#: Scenario keys holding file paths: made absolute before points and trials are sent to workers.
PATH_KEYS = (("model", "params"), ("input", "path"))
#: A schema entry's default meaning "must be given" (``clocksim.app.scenario.REQUIRED``).
_REQUIRED = "required"


class SpecChecks:
    """Typed getters that raise ``error_type`` naming the file and key; defaults from ``schema``.

    A key is written ``table.name`` (``model.periods``, ``sweep.seeds``, ``model.periods[2]``);
    its default is ``schema[table][name].default`` (none for a required key or a deeper path).
    """

    error_type: type[InvalidValueError] = InvalidValueError
    #: table -> name -> Key (an object with ``default``).
    schema: dict = {}

    def __init__(self, path: Path | None):
        self.path = path

    def fail(self, key: str, value, expected: str):
        raise self.error_type(key=key, value=value, expected=expected, file=self.path)

    def error(self, key: str, reason: str):
        """An error about ``key`` that is not of the form got/expected."""
        raise self.error_type(reason, key=key, file=self.path)

    def unknown(self, key: str, options: list[str], leaf: str | None = None, what: str = "key"):
        leaf = key.rsplit(".", 1)[-1] if leaf is None else leaf
        hint = did_you_mean(leaf, options)
        listed = ", ".join(options) if options else "none"
        raise self.error_type(f"unknown {what}{hint}; expected one of {listed}", key=key, file=self.path)

    def _default(self, key: str):
        table, _, name = key.partition(".")
        spec = self.schema.get(table, {}).get(name.split("[")[0])
        return None if spec is None or spec.default == _REQUIRED else spec.default

    def get(self, table: dict, key: str):
        return table.get(key.rsplit(".", 1)[-1], self._default(key))

    def int(self, table: dict, key: str, minimum: int | None = None, default=None) -> int:
        value = table.get(key.rsplit(".", 1)[-1], self._default(key) if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            self.fail(key, value, "an integer" + (f" >= {minimum}" if minimum is not None else ""))
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

    def number(self, table: dict, key: str, default=None) -> float:
        """A finite number > 0."""
        value = table.get(key.rsplit(".", 1)[-1], self._default(key) if default is None else default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            self.fail(key, value, "a finite number > 0")
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

    def strings(self, table: dict, key: str, default) -> list[str]:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(key, value, "a non-empty array of strings")
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

    def scenario_key(self, where: str, key: str) -> None:
        """``key`` must be a dotted path into the scenario schema (section.key[.sub...])."""
        from .scenario.schema import SCHEMA

        parts = key.split(".")
        if len(parts) < 2 or not all(parts):
            self.fail(where, key, "a scenario key path section.key, e.g. model.family")
        if parts[0] not in SCHEMA:
            hint = did_you_mean(parts[0], SCHEMA)
            self.error(where, f"unknown scenario section {parts[0]!r}{hint}; expected one of {', '.join(SCHEMA)}")
        if parts[1] not in SCHEMA[parts[0]]:
            close = difflib.get_close_matches(parts[1], list(SCHEMA[parts[0]]), n=1)
            hint = f" (did you mean {parts[0]}.{close[0]}?)" if close else ""
            self.error(where, f"unknown scenario key {parts[0]}.{parts[1]}{hint}; "
                              f"expected one of {', '.join(SCHEMA[parts[0]])}")

    def call(self, key: str, fn, *args, **kwargs):
        """Call a constructor; its own errors (which name the argument) get the key prefixed."""
        try:
            return fn(*args, **kwargs)
        except ClocksimError as exc:
            raise self.located(exc, key) from None

    def located(self, exc: ClocksimError, key: str) -> InvalidValueError:
        """``exc`` (which names an argument) as an ``error_type`` about ``key`` in this file."""
        err = exc.located(key=key, file=self.path)
        if not isinstance(err, self.error_type):
            err = self.error_type(err.reason, key=err.key, file=err.file, expected=err.expected,
                                  **({"value": err.value} if err._has_value else {}))
        return err

    def construct(self, key: str, cls, args: dict):
        """Build ``cls(**args)`` after checking the argument names against its signature."""
        signature = inspect.signature(cls).parameters
        params = [p for p in signature if p != "self"]
        missing = [p for p in params if signature[p].default is inspect.Parameter.empty
                   and signature[p].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
                   and p not in args]
        if missing:
            self.fail(f"{key}.{missing[0]}", None, f"a value ({cls.__name__} needs {', '.join(missing)})")
        for name, value in args.items():
            if name not in params:
                self.unknown(f"{key}.{name}", params)
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(f"{key}.{name}", value, "a finite number")
        return self.call(key, cls, **args)


def is_range(value) -> bool:
    """A table with ``low`` and ``high``: a range to draw from (a leaf, not a nested table of keys)."""
    return isinstance(value, dict) and "low" in value and "high" in value


def parse_range(chk: SpecChecks, where: str, spec):
    """The one range parser: ``spec`` must be a non-empty array of choices or a range ``{low, high}`` of
    finite numbers with low < high, optionally ``log = true`` (then low > 0). Returns ``spec``."""
    if isinstance(spec, list):
        if not spec:
            chk.fail(where, spec, "a non-empty array of choices or a range {low, high}")
        return spec
    if not is_range(spec):
        chk.fail(where, spec, "an array of choices or a range {low, high} or {low, high, log = true}")
    for name in spec:
        if name not in ("low", "high", "log"):
            chk.unknown(f"{where}.{name}", ["low", "high", "log"])
    for name in ("low", "high"):
        v = spec[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            chk.fail(f"{where}.{name}", v, "a finite number")
    if not spec["low"] < spec["high"]:
        chk.fail(where, spec, "low < high")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        chk.fail(f"{where}.log", log, "true or false")
    if log and spec["low"] <= 0:
        chk.fail(f"{where}.low", spec["low"], "a number > 0 with log = true")
    return spec


def head_table(chk: SpecChecks, raw: dict, schema: dict, table: str, arrays=()) -> dict:
    """Check a sweep or search file's tables against ``schema`` (``arrays``: names that are arrays of
    tables) and return its head ``[table]``, its keys checked too."""
    for name, value in raw.items():
        if name not in schema:
            chk.unknown(name, list(schema))
        if name not in arrays and not isinstance(value, dict):
            chk.fail(name, value, f"a table ([{name}])")
    head = raw.get(table)
    if head is None:
        chk.fail(table, None, f"a [{table}] table with at least `scenario`")
    for key in head:
        if key not in schema[table]:
            chk.unknown(f"{table}.{key}", list(schema[table]))
    return head


def base_scenario(chk: SpecChecks, head: dict, table: str = "sweep") -> tuple[Path, dict]:
    """The base scenario named by ``<table>.scenario``: its absolute path and parsed TOML (paths absolute)."""
    name = chk.string(head, f"{table}.scenario")
    if name is None:
        chk.fail(f"{table}.scenario", None, "the path of the base scenario (.toml), relative to this file")
    file = Path(name)
    if not file.is_absolute():
        file = chk.path.parent / file
    file = Path(os.path.normpath(file.absolute()))
    if not file.is_file():
        chk.fail(f"{table}.scenario", name, f"an existing scenario file (looked for {file})")
    base, _ = read_toml(file, chk.error_type, "scenario")
    absolute_paths(base, file.parent, file.parent, {})
    return file, base


def flatten(table: str, node: dict, prefix: str = "") -> dict:
    """``{model: {family: [...]}}`` -> ``{"model.family": [...]}`` (TOML dotted keys make nested tables).

    Tables are walked down to their leaves (so ``engine.compute.cores`` sets one key of the base's compute
    table); in ``[random]`` (and a search's ``[params]``) a table with ``low`` and ``high`` is a range, a leaf.
    """
    out = {}
    for key, value in node.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and value and not (table == "random" and is_range(value)):
            out.update(flatten(table, value, full + "."))
        else:
            out[full] = value
    return out


def absolute_paths(raw: dict, scenario_dir: Path, sweep_dir: Path, overrides: dict) -> None:
    """Make relative file paths absolute: the scenario's own against its folder, the sweep's (or search's)
    against that file's folder (so points find their files from any worker's working directory)."""
    for section, key in PATH_KEYS:
        value = raw.get(section, {}).get(key) if isinstance(raw.get(section), dict) else None
        if isinstance(value, str) and not Path(value).is_absolute():
            base = sweep_dir if f"{section}.{key}" in overrides else scenario_dir
            raw[section][key] = os.path.normpath(base / value)
