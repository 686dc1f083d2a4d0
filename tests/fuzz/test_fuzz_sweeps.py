"""Fuzz: mutated copies of every shipped sweep file load or end with exit 2 and one line naming the file;
huge grids and sample counts are refused before any point is drawn; damaged encodings are named."""

import time
import tomllib

import pytest

from fuzzlib import FUZZ, HUGE, ODD_VALUES, REFUSAL_SECONDS, SWEEPS, check_cli, drop, dumps, leaves, put
from hypothesis import given, settings
from hypothesis import strategies as st

from clocksim.errors import ClocksimError
from clocksim.app.sweep import load_sweep


def base(source) -> dict:
    doc = tomllib.loads(source.read_text(encoding="utf-8"))
    doc["sweep"]["scenario"] = str((source.parent / doc["sweep"]["scenario"]).resolve())
    return doc


def expect_clean(capsys, path, folder):
    t0 = time.perf_counter()
    try:
        load_sweep(path)
    except ClocksimError:
        pass
    else:
        return None
    assert time.perf_counter() - t0 < REFUSAL_SECONDS
    code, err, _ = check_cli(capsys, ["sweep", path, "--out", folder / "out", "--dry-run"], folder, {path.name},
                             must_name=path)
    assert code == 2
    return err


@pytest.mark.slow
@settings(FUZZ, max_examples=40)
@given(source=st.sampled_from(SWEEPS), data=st.data())
def test_mutated_sweeps_load_or_fail_cleanly(tmp_path_factory, capsys, source, data):
    doc = base(source)
    kind = data.draw(st.sampled_from(["value", "missing", "extra", "scenario_key"]))
    paths = leaves(doc)
    if kind == "value":
        put(doc, data.draw(st.sampled_from(paths)), data.draw(ODD_VALUES))
    elif kind == "missing":
        drop(doc, data.draw(st.sampled_from(paths)))
    elif kind == "extra":
        table = data.draw(st.sampled_from(["sweep", "grid", "fixed", "random", "plots", "other"]))
        doc.setdefault(table, {})[data.draw(st.sampled_from(["typo", "model.typo", "x.y", "input.steps"]))] = \
            data.draw(ODD_VALUES)
    else:
        doc.setdefault("grid", {})[data.draw(st.sampled_from(["model.periods", "input.steps", "engine.compute"]))] = \
            [data.draw(ODD_VALUES), data.draw(ODD_VALUES)]
    folder = tmp_path_factory.mktemp("sweep")
    path = folder / source.name
    path.write_text(dumps(doc), encoding="utf-8")
    expect_clean(capsys, path, folder)


@settings(FUZZ, max_examples=15)
@given(source=st.sampled_from(SWEEPS), size=HUGE, where=st.sampled_from(["samples", "grid", "seeds"]))
def test_huge_sweeps_are_refused_before_drawing(tmp_path_factory, capsys, source, size, where):
    doc = base(source)
    if where == "samples":
        doc["random"] = {"samples": size, "model.seed": {"low": 0, "high": 100}}
    elif where == "grid":                    # a few long axes whose product is huge
        doc["grid"] = {"model.seed": list(range(1000)), "input.seed": list(range(1000)),
                       "engine.compute.cores": [1, 2]}
    else:
        doc["sweep"].pop("seeds", None)
        doc["sweep"]["repeats"] = size
    folder = tmp_path_factory.mktemp("huge")
    path = folder / source.name
    path.write_text(dumps(doc), encoding="utf-8")
    t0 = time.perf_counter()
    err = expect_clean(capsys, path, folder)
    assert err is not None and time.perf_counter() - t0 < 2 * REFUSAL_SECONDS


@settings(FUZZ, max_examples=10)
@given(source=st.sampled_from(SWEEPS), how=st.sampled_from(["latin-1", "utf-16", "bytes"]), at=st.floats(0, 1))
def test_damaged_sweep_encodings_name_the_file(tmp_path_factory, capsys, source, how, at):
    text = source.read_text(encoding="utf-8")
    pos = int(at * len(text))
    data = {"latin-1": (text[:pos] + "# r\u00e9sum\u00e9\n" + text[pos:]).encode("latin-1", "replace"),
            "utf-16": text.encode("utf-16"),
            "bytes": text.encode()[:pos] + b"\xc3\x28\xff" + text.encode()[pos:]}[how]
    folder = tmp_path_factory.mktemp("enc")
    path = folder / source.name
    path.write_bytes(data)
    assert expect_clean(capsys, path, folder) is not None
