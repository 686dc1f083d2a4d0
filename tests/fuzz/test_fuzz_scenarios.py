"""Fuzz: mutated copies of every shipped scenario either load or end with exit 2 and one line naming the
file, never a traceback, never a folder or temporary file left behind; impossible sizes are refused fast.

Mutation classes: a value of the wrong type or range, a missing key or table, an unknown key, a huge
size (steps, batch, channels, module sizes, modules, clock rates), a non-UTF-8 or damaged encoding,
and ``--set`` overrides of the same kinds.
"""

import copy
import os
import time
import tomllib

import pytest
from fuzzlib import FUZZ, HUGE, ODD_VALUES, REFUSAL_SECONDS, SCENARIOS, check_cli, drop, dumps, leaves, put
from hypothesis import given, settings
from hypothesis import strategies as st

from clocksim.errors import ClocksimError
from clocksim.app.scenario import SCHEMA, load_scenario

SLOW = {"japanese_vowels.toml"}                      # loading its dataset takes a second or more
FAST = [p for p in SCENARIOS if p.name not in SLOW]
#: Keys whose size drives memory or work, and where they live.
SIZE_KEYS = [("input", "steps"), ("input", "batch"), ("input", "channels"), ("model", "module_sizes"),
             ("model", "modules")]


def absolute(doc: dict, source) -> dict:
    """The scenario with its file paths made absolute, so that a copy elsewhere still finds them."""
    for section, key in (("model", "params"), ("input", "path")):
        value = doc.get(section, {}).get(key)
        if isinstance(value, str) and not os.path.isabs(value):
            doc[section][key] = str(source.parent / value)
    return doc


def write(folder, source, doc) -> object:
    path = folder / source.name
    path.write_text(dumps(doc), encoding="utf-8")
    return path


def expect_clean(capsys, path, folder, overrides=()):
    """If the scenario does not load, `clocksim run` must refuse it with one line naming the file."""
    try:
        load_scenario(path, overrides)
    except ClocksimError:
        pass
    else:
        return None                       # a mutation that is still a valid scenario: nothing to check
    argv = ["run", path, "--out", folder / "out", "--quiet"] + [a for o in overrides for a in ("--set", o)]
    code, err, _ = check_cli(capsys, argv, folder, {path.name}, must_name=path)
    assert code == 2
    return err


@st.composite
def mutated(draw, sources=FAST):
    source = draw(st.sampled_from(sources))
    doc = absolute(tomllib.loads(source.read_text(encoding="utf-8")), source)
    kind = draw(st.sampled_from(["value", "missing", "extra", "section"]))
    paths = leaves(doc)
    if kind == "value":
        put(doc, draw(st.sampled_from(paths)), draw(ODD_VALUES))
    elif kind == "missing":
        drop(doc, draw(st.sampled_from(paths)))
    elif kind == "extra":
        section = draw(st.sampled_from(list(doc)))
        if isinstance(doc[section], dict):
            doc[section][draw(st.sampled_from(["typo", "period", "modules_", "seeds", "x"]))] = draw(ODD_VALUES)
        else:
            doc["unknown"] = {"a": 1}
    else:
        doc[draw(st.sampled_from(list(SCHEMA)))] = draw(ODD_VALUES)
    return source, doc


@settings(FUZZ, max_examples=90)
@given(case=mutated())
def test_mutated_scenarios_load_or_fail_cleanly(tmp_path_factory, capsys, case):
    source, doc = case
    folder = tmp_path_factory.mktemp("scenario")
    expect_clean(capsys, write(folder, source, doc), folder)


@settings(FUZZ, max_examples=4)
@given(case=mutated(sources=[p for p in SCENARIOS if p.name in SLOW]))
def test_mutated_slow_scenarios_load_or_fail_cleanly(tmp_path_factory, capsys, case):
    source, doc = case
    folder = tmp_path_factory.mktemp("scenario")
    expect_clean(capsys, write(folder, source, doc), folder)


@settings(FUZZ, max_examples=40)
@given(source=st.sampled_from(FAST), where=st.sampled_from(SIZE_KEYS), size=HUGE, by_set=st.booleans())
def test_impossible_sizes_are_refused_fast(tmp_path_factory, capsys, source, where, size, by_set):
    doc = absolute(tomllib.loads(source.read_text(encoding="utf-8")), source)
    section, key = where
    if "task" in doc and section == "input":      # a task's steps and batch select from its test set: not sizes
        section, key = "model", "module_sizes"
    value = [size] * len(doc["model"]["periods"]) if key == "module_sizes" and "periods" in doc["model"] else size
    if key == "modules":
        for other in ("periods", "clocks", "module_sizes"):
            doc["model"].pop(other, None)
    overrides = []
    if by_set:
        overrides = [f"{section}.{key}={value}"]
    else:
        doc.setdefault(section, {})[key] = value
    folder = tmp_path_factory.mktemp("size")
    path = write(folder, source, doc)
    t0 = time.perf_counter()
    err = expect_clean(capsys, path, folder, overrides)
    assert time.perf_counter() - t0 < 2 * REFUSAL_SECONDS          # load once, then the CLI: both quick
    assert err is not None, f"{section}.{key} = {size} was accepted"


@settings(FUZZ, max_examples=25)
@given(source=st.sampled_from(FAST), rate=st.sampled_from([1e9, 1e12, 1e300]), kind=st.sampled_from(["poisson",
                                                                                                    "jittered"]))
def test_clocks_that_fire_too_often_are_refused_fast(tmp_path_factory, capsys, source, rate, kind):
    doc = absolute(tomllib.loads(source.read_text(encoding="utf-8")), source)
    model = doc["model"]
    g = len(model.get("periods", model.get("clocks", [1, 2])))
    for other in ("periods", "family", "phases", "modules"):
        model.pop(other, None)
    sizes = model.get("module_sizes", 8)
    model["module_sizes"] = sizes if isinstance(sizes, int) else sizes[:g] + [8] * (g - len(sizes))
    clock = {"kind": "poisson", "rate": rate} if kind == "poisson" else {"kind": "jittered", "period": 1 / rate,
                                                                           "jitter": 0.0}
    model["clocks"] = [clock] + list(range(2, g + 1))
    doc.setdefault("engine", {})["name"] = "events"
    for key in ("deadline", "latency", "links", "compute"):
        doc["engine"].pop(key, None)
    folder = tmp_path_factory.mktemp("rate")
    t0 = time.perf_counter()
    err = expect_clean(capsys, write(folder, source, doc), folder)
    assert time.perf_counter() - t0 < 2 * REFUSAL_SECONDS
    assert err is not None


@settings(FUZZ, max_examples=40)
@given(source=st.sampled_from(SCENARIOS), how=st.sampled_from(["latin-1", "utf-16", "bytes", "nul", "cut"]),
       at=st.floats(0, 1), junk=st.binary(min_size=1, max_size=16))
def test_damaged_encodings_are_refused_naming_the_file(tmp_path_factory, capsys, source, how, at, junk):
    text = source.read_text(encoding="utf-8")
    pos = int(at * len(text))
    if how == "latin-1":
        data = (text[:pos] + "# caf\u00e9 \u00e0 la r\u00e9sum\u00e9\n" + text[pos:]).encode("latin-1", "replace")
    elif how == "utf-16":
        data = text.encode("utf-16")
    elif how == "bytes":
        data = text.encode()[:pos] + b"\xff\xfe" + junk + text.encode()[pos:]
    elif how == "nul":
        data = text.encode()[:pos] + b"\x00" + text.encode()[pos:]
    else:
        data = text.encode()[:pos]
    folder = tmp_path_factory.mktemp("enc")
    path = folder / source.name
    path.write_bytes(data)
    if how == "cut":
        expect_clean(capsys, path, folder)         # a cut file may still be a valid scenario
        return
    try:
        load_scenario(path)
    except ClocksimError as exc:
        assert exc.file == str(path)
    else:
        pytest.fail(f"{how}: damaged file accepted")
    expect_clean(capsys, path, folder)


@settings(FUZZ, max_examples=30)
@given(source=st.sampled_from(FAST), data=st.data())
def test_bad_overrides_fail_cleanly(tmp_path_factory, capsys, source, data):
    doc = absolute(tomllib.loads(source.read_text(encoding="utf-8")), source)
    section = data.draw(st.sampled_from(list(SCHEMA)))
    key = data.draw(st.sampled_from(list(SCHEMA[section]) + ["nope"]))
    text = data.draw(st.sampled_from(["-1", "0", "1e400", "nan", "[1, 2", "{kind = 'x'}", "true", "\"\"", "[[1], []]",
                                      "999999999999", "x=y"]))
    folder = tmp_path_factory.mktemp("set")
    path = write(folder, source, copy.deepcopy(doc))
    expect_clean(capsys, path, folder, [f"{section}.{key}={text}"])
