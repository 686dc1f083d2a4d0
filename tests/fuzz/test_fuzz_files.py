"""Fuzz: every file format clocksim reads, damaged. Each reader either reads the file or raises a
ClocksimError naming the file; no other exception, no pickle, no allocation from a crafted header,
and the command line answers with exit 2 and one line.

Formats: trace.npz (Trace.load, `clocksim plot`), checkpoint.npz (train(resume=...)), params.npz
(a scenario's model.params), results.csv (a sweep's log), trace CSV (Trace.read_csv), input .npy /
.csv (a scenario's input.path). Damage classes: truncation, flipped or inserted bytes, random or
empty files, entries dropped or renamed, object (pickled) entries, wrong dtypes and shapes, crafted
.npy headers declaring huge shapes, JSON metadata with missing keys, wrong types, out-of-range
modules and NaN times.
"""

import io
import json
import time
import zipfile

import numpy as np
import pytest
from fuzzlib import FUZZ, REFUSAL_SECONDS, check_cli, dumps
from hypothesis import given, settings
from hypothesis import strategies as st

import clocksim as cs
from clocksim.errors import ClocksimError
from clocksim.trace.files import write_npz
from clocksim.app.scenario import load_scenario
from clocksim.app.sweep.results import ResultsLog


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One valid file of every format."""
    d = tmp_path_factory.mktemp("valid")
    rng = np.random.default_rng(0)
    model = cs.ClockworkRNN(2, 1, [3, 2, 2], [1, 2, 4], seed=0)
    x = rng.normal(size=(24, 2))
    trace = cs.simulate(model, x, engine="events", compute=cs.cost.ComputeModel(1, 20.0)).trace
    out = {"trace": trace.save(d / "trace.npz")}
    trace.to_csv(d / "trace.csv")
    out["trace_csv"] = d / "trace.csv"
    X = rng.normal(size=(6, 10, 2))
    cs.train(model.copy(), X, 0.3 * np.cumsum(X[..., :1], axis=1), epochs=2, checkpoint=d / "checkpoint.npz")
    out["checkpoint"] = d / "checkpoint.npz"
    out["params"] = write_npz(d / "params.npz", dict(model.params))
    np.save(d / "x.npy", x)
    out["npy"] = d / "x.npy"
    np.savetxt(d / "x.csv", x, delimiter=",")
    out["csv"] = d / "x.csv"
    columns = ["id", "model.seed", "status", "error", "wall_time", "macs"]
    with ResultsLog(d / "results.csv", columns, ["wall_time", "macs"]) as log:
        for i in range(3):
            log.append({"id": f"{i:012x}", "model.seed": i, "status": "ok", "error": None, "wall_time": 0.1,
                        "macs": 100 + i})
    out["results"] = d / "results.csv"
    out["model"], out["x"], out["X"] = model, x, X
    return out


def damage(data: bytes, how: str, at: float, junk: bytes) -> bytes:
    pos = int(at * len(data))
    if how == "cut":
        return data[:pos]
    if how == "flip":
        return data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:] if pos < len(data) else data + b"\x00"
    if how == "insert":
        return data[:pos] + junk + data[pos:]
    if how == "random":
        return junk * 8
    return b""


DAMAGE = dict(how=st.sampled_from(["cut", "flip", "insert", "random", "empty"]), at=st.floats(0, 0.999),
              junk=st.binary(min_size=1, max_size=24))


def npy(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def huge_header(shape=(10**6, 10**6), dtype="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 32


def rebuilt(path, out, change) -> None:
    """``path``'s members, changed by ``change(members)`` (name -> .npy bytes), written to ``out``."""
    with zipfile.ZipFile(path) as zf:
        members = {n[:-4]: zf.read(n) for n in zf.namelist()}
    change(members)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)


@st.composite
def npz_edits(draw, names):
    """A structural change to an .npz: drop, rename, pickle, retype, reshape or inflate a member."""
    kind = draw(st.sampled_from(["drop", "rename", "object", "dtype", "shape", "huge", "extra"]))
    name = draw(st.sampled_from(sorted(names)))

    def change(members):
        if kind == "drop":
            members.pop(name)
        elif kind == "rename":
            members[name + "_"] = members.pop(name)
        elif kind == "object":
            members[name] = npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)
        elif kind == "dtype":
            members[name] = npy(np.array(["text"] * 3))
        elif kind == "shape":
            members[name] = npy(np.zeros((2, 3, 4)))
        elif kind == "huge":
            members[name] = huge_header()
        else:
            members["extra"] = npy(np.zeros(2))
    return kind, name, change


def expect_clean(fn, path):
    """``fn()`` reads the file or raises a ClocksimError naming it, quickly."""
    t0 = time.perf_counter()
    try:
        fn()
    except ClocksimError as exc:
        assert exc.file is not None and str(path) in str(exc), str(exc)
        assert "\n" not in str(exc)
        ok = False
    else:
        ok = True
    assert time.perf_counter() - t0 < REFUSAL_SECONDS
    return ok


# ---------------------------------------------------------------------- trace.npz
@settings(FUZZ, max_examples=30)
@given(**DAMAGE)
def test_damaged_trace_files(files, tmp_path_factory, capsys, how, at, junk):
    d = tmp_path_factory.mktemp("trace")
    path = d / "trace.npz"
    path.write_bytes(damage(files["trace"].read_bytes(), how, at, junk))
    if expect_clean(lambda: cs.Trace.load(path), path):
        return                                             # still a readable trace (e.g. a flipped time)
    check_cli(capsys, ["plot", path, "--out", d / "a.png"], d, {"trace.npz"}, must_name=path)


@settings(FUZZ, max_examples=25)
@given(edit=npz_edits(["activations", "messages", "readouts", "meta", "format"]))
def test_crafted_trace_entries(files, tmp_path_factory, capsys, edit):
    kind, name, change = edit
    d = tmp_path_factory.mktemp("trace")
    path = d / "trace.npz"
    rebuilt(files["trace"], path, change)
    loaded = expect_clean(lambda: cs.Trace.load(path), path)
    assert loaded == (kind == "drop" and name in {"messages", "readouts", "format"})   # optional entries only
    code, _, _ = check_cli(capsys, ["plot", path, "--out", d / "a.png"], d, {"trace.npz"}, must_name=path)
    assert code == 0 or not (d / "a.png").exists()


@settings(FUZZ, max_examples=25)
@given(field=st.sampled_from(["module_sizes", "labels", "periods", "n_steps", "batch", "start", "activation_macs",
                              "readout_macs"]),
       value=st.sampled_from([None, -1, 99, "x", [], [1], [1, 2, 3, 4, 5], [-1, 0, 2], 1e300, {"a": 1}]),
       table=st.sampled_from(["none", "module", "time", "sender"]))
def test_crafted_trace_contents(files, tmp_path_factory, capsys, field, value, table):
    trace = cs.Trace.load(files["trace"])
    meta = dict(trace.meta)
    if value is None:
        meta.pop(field, None)
    else:
        meta[field] = value
    act, msg = trace.activations.copy(), trace.messages.copy()
    if table == "module":
        act["module"][0] = 99
    elif table == "time":
        act["time"][-1] = np.nan
    elif table == "sender" and msg.size:
        msg["sender"][0] = -3
    d = tmp_path_factory.mktemp("trace")
    path = d / "trace.npz"
    write_npz(path, {"activations": act, "messages": msg, "readouts": trace.readouts,
                     "meta": np.array(json.dumps(meta))})
    if expect_clean(lambda: cs.Trace.load(path), path):
        assert table == "none"                           # out-of-range modules and NaN times never load
    check_cli(capsys, ["plot", path, "--out", d / "a.png"], d, {"trace.npz"}, must_name=path)


# ---------------------------------------------------------------------- checkpoint.npz
def resume(files, path):
    model = files["model"].copy()
    X = files["X"]
    cs.train(model, X, 0.3 * np.cumsum(X[..., :1], axis=1), epochs=3, resume=path)


@settings(FUZZ, max_examples=25)
@given(**DAMAGE)
def test_damaged_checkpoints(files, tmp_path_factory, how, at, junk):
    path = tmp_path_factory.mktemp("ck") / "checkpoint.npz"
    path.write_bytes(damage(files["checkpoint"].read_bytes(), how, at, junk))
    expect_clean(lambda: resume(files, path), path)


@settings(FUZZ, max_examples=25)
@given(edit=npz_edits(["meta", "params/W_rec", "params/b", "params/h0", "optimizer/velocity/W_in",
                       "optimizer/velocity/b_out"]))
def test_crafted_checkpoint_entries(files, tmp_path_factory, edit):
    kind, name, change = edit
    path = tmp_path_factory.mktemp("ck") / "checkpoint.npz"
    rebuilt(files["checkpoint"], path, change)
    assert not expect_clean(lambda: resume(files, path), path), f"{kind} {name}: incomplete checkpoint resumed"


@settings(FUZZ, max_examples=20)
@given(key=st.sampled_from(["format", "version", "model", "config", "optimizer", "rng", "history", "bad_epochs"]),
       value=st.sampled_from([None, 99, "x", [], {}, -1, True]))
def test_crafted_checkpoint_meta(files, tmp_path_factory, key, value):
    path = tmp_path_factory.mktemp("ck") / "checkpoint.npz"

    def change(members):
        meta = json.loads(str(np.load(io.BytesIO(members["meta"]))))
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
        members["meta"] = npy(np.array(json.dumps(meta)))
    rebuilt(files["checkpoint"], path, change)
    assert not expect_clean(lambda: resume(files, path), path)


# ---------------------------------------------------------------------- params.npz, input files
def scenario_with(folder, **keys) -> object:
    doc = {"model": {"module_sizes": [3, 2, 2], "periods": [1, 2, 4]},
           "input": {"kind": "sine", "steps": 24, "channels": 2}, "engine": {"name": "compiled"}}
    for dotted, value in keys.items():
        section, key = dotted.split("__")
        doc[section][key] = value
    path = folder / "s.toml"
    path.write_text(dumps(doc))
    return path


@settings(FUZZ, max_examples=20)
@given(edit=npz_edits(["W_in", "W_rec", "b", "W_out", "b_out", "h0"]), damaged=st.booleans(), **DAMAGE)
def test_damaged_parameter_files(files, tmp_path_factory, capsys, edit, damaged, how, at, junk):
    d = tmp_path_factory.mktemp("params")
    params = d / "p.npz"
    if damaged:
        params.write_bytes(damage(files["params"].read_bytes(), how, at, junk))
    else:
        rebuilt(files["params"], params, edit[2])
    path = scenario_with(d, model__params=str(params))
    if expect_clean(lambda: load_scenario(path), params):
        return
    check_cli(capsys, ["run", path, "--out", d / "o", "--quiet"], d, {"p.npz", "s.toml"}, must_name=params)


@settings(FUZZ, max_examples=20)
@given(fmt=st.sampled_from(["npy", "csv"]), crafted=st.booleans(), **DAMAGE)
def test_damaged_input_files(files, tmp_path_factory, capsys, fmt, crafted, how, at, junk):
    d = tmp_path_factory.mktemp("input")
    data = d / f"x.{fmt}"
    if crafted and fmt == "npy":
        data.write_bytes(huge_header((10**6, 10**6, 2)))
    else:
        data.write_bytes(damage(files[fmt].read_bytes(), how, at, junk))
    path = scenario_with(d, input__kind="file", input__path=str(data))
    for key in ("steps", "channels"):
        toml = path.read_text().replace(f"{key} = 24\n", "").replace(f"{key} = 2\n", "")
        path.write_text(toml)
    t0 = time.perf_counter()
    code, _, _ = check_cli(capsys, ["run", path, "--out", d / "o", "--quiet"], d, {data.name, "s.toml"})
    assert time.perf_counter() - t0 < 20
    assert not (crafted and fmt == "npy") or code == 2


# ---------------------------------------------------------------------- results.csv, trace CSV
@settings(FUZZ, max_examples=30)
@given(line=st.integers(0, 4), how=st.sampled_from(["cut", "flip", "insert", "random", "empty", "cells", "number"]),
       at=st.floats(0, 0.999), junk=st.binary(min_size=1, max_size=24))
def test_damaged_results_logs(files, tmp_path_factory, line, how, at, junk):
    path = tmp_path_factory.mktemp("results") / "results.csv"
    lines = files["results"].read_bytes().splitlines(keepends=True)
    i = min(line, len(lines) - 1)
    if how == "cells":
        lines[i] = lines[i].rstrip(b"\n") + b",extra\n"
    elif how == "number":
        lines[i] = lines[i].replace(b",0.1,", b",fast,")
    else:
        lines[i] = damage(lines[i], how, at, junk)
    path.write_bytes(b"".join(lines))
    columns = ["id", "model.seed", "status", "error", "wall_time", "macs"]

    def read():
        with ResultsLog(path, columns, ["wall_time", "macs"]):
            pass
    expect_clean(read, path)


@settings(FUZZ, max_examples=20)
@given(**DAMAGE)
def test_damaged_trace_csv(files, tmp_path_factory, capsys, how, at, junk):
    d = tmp_path_factory.mktemp("csv")
    path = d / "trace.csv"
    path.write_bytes(damage(files["trace_csv"].read_bytes(), how, at, junk))
    expect_clean(lambda: cs.Trace.read_csv(path), path)
    check_cli(capsys, ["plot", path, "--out", d / "a.png"], d, {"trace.csv"}, must_name=path)
