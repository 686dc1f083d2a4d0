"""Shared pieces of the fuzz suite: a TOML writer, value mutations and the CLI contract check."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from helpers import without_notice
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from clocksim.app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))

#: Fuzz settings: reproducible in CI (derandomize), no deadline (the first call compiles kernels).
FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much])

#: A size refusal must arrive within this many seconds.
REFUSAL_SECONDS = 5.0


def dumps(doc: dict) -> str:
    """A small TOML writer: top-level tables, everything below them inline."""
    out = []
    for section, table in doc.items():
        if not isinstance(table, dict):
            out.append(f"{_key(section)} = {_value(table)}")
            continue
        out.append(f"[{_key(section)}]")
        out += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
        out.append("")
    return "\n".join(out) + "\n"


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return ("nan" if math.isnan(v) else "inf" if v > 0 else "-inf") if not math.isfinite(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def leaves(doc: dict, prefix=()) -> list[tuple]:
    """Key paths of every value in ``doc`` (tables included), depth first."""
    out = []
    for k, v in doc.items():
        out.append(prefix + (k,))
        if isinstance(v, dict):
            out += leaves(v, prefix + (k,))
    return out


def get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def put(doc, path, value):
    for k in path[:-1]:
        doc = doc[k]
    doc[path[-1]] = value


def drop(doc, path):
    for k in path[:-1]:
        doc = doc[k]
    del doc[path[-1]]


#: Values of the wrong type or out of range for most keys.
ODD_VALUES = st.one_of(
    st.sampled_from(["", "x", "slow-to-fast", "1", "inf", "-1", "\u00e9", "staggered", "file"]),
    st.sampled_from([-1, 0, 1, 2, 7, 10**18, -10**18, 2**63 - 1]),
    st.sampled_from([0.0, -0.5, 0.5, 1e-308, 1e308, math.inf, -math.inf, math.nan]),
    st.booleans(),
    st.sampled_from([[], [0], [1, 2], [[True]], [[1, 2], [3]], ["a", 1], [{}]]),
    st.sampled_from([{}, {"kind": "x"}, {"kind": "explicit"}, {"kind": "uniform", "low": 1.0}, {"a": 1}]),
)

#: Sizes that no machine running the tests has memory or time for.
HUGE = st.sampled_from([10**9, 10**10, 10**12, 2**62])


def check_cli(capsys, argv, folder: Path, allowed_left: set[str], must_name=None) -> tuple[int, str]:
    """Run the CLI; on failure it must exit 2 with one line and no traceback, leaving only ``allowed_left``."""
    t0 = time.perf_counter()
    code = main([str(a) for a in argv])
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    err = without_notice(err)                                  # a cold numba cache says it is compiling
    assert "Traceback" not in err and "Traceback" not in out
    assert "unsafely" not in err
    if code != 0:
        assert code == 2, err
        assert err.count("\n") == 1 and err.startswith("clocksim: error: "), err
        if must_name is not None:
            assert str(must_name) in err, err
        left = {p.name for p in folder.iterdir()}
        assert left <= allowed_left, left - allowed_left
    return code, err if code else out, elapsed
