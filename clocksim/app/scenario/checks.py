"""Typed getters that turn every mistake into a one-line ScenarioError naming file and key."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

from ..._validate import did_you_mean
from ...errors import ClocksimError
from .schema import SCHEMA, ScenarioError


class Checks:
    """Typed getters that raise ScenarioError naming the file and key."""

    def __init__(self, path: Path | None):
        self.path = path

    def fail(self, key: str, value, expected: str):
        raise ScenarioError(key=key, value=value, expected=expected, file=self.path)

    def error(self, key: str, reason: str):
        """A ScenarioError about ``key`` that is not of the form got/expected."""
        raise ScenarioError(reason, key=key, file=self.path)

    def unknown(self, key: str, options: list[str]):
        leaf = key.rsplit(".", 1)[-1]
        raise ScenarioError(f"unknown key{did_you_mean(leaf, options)}; expected one of {', '.join(options)}", key=key, file=self.path)

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
            raise self.located(exc, key) from None

    def located(self, exc: ClocksimError, key: str) -> ScenarioError:
        """``exc`` (which names an argument) as a ScenarioError about ``key`` in this file."""
        err = exc.located(key=key, file=self.path)
        if not isinstance(err, ScenarioError):
            err = ScenarioError(err.reason, key=err.key, file=err.file, expected=err.expected,
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


def leading_comment(text: str) -> str:
    """The comment lines at the top of a file, joined: the scenario's own description."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped.lstrip("#").strip())
        elif stripped:
            break
    return " ".join(line for line in lines if line)
