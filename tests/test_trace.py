"""Trace: summaries and files."""

import pickle

import numpy as np
import pytest

import clocksim as cs
from clocksim.engine.compiled import schedule_order
from clocksim.engine.plan import plan_for


@pytest.fixture
def trace(rng):
    model = cs.ClockworkRNN(2, 1, [3, 2, 4], [1, 2, 5], start=1)
    return cs.simulate(model, rng.normal(size=(2, 40, 2)), engine="events").trace


def test_summary_totals_are_sums_over_the_trace(trace):
    s = trace.summary()
    act = trace.activations
    assert s["activations"] == act.shape[0] == sum(m["activations"] for m in s["per_module"])
    assert s["macs"] == act["macs"].sum() + s["readout_macs"]
    assert [m["macs"] for m in s["per_module"]] == [int(act["macs"][act["module"] == i].sum()) for i in range(3)]
    assert s["speedup_vs_dense"] == pytest.approx(s["dense_macs"] / s["macs"])
    assert s["count_basis"] == "per batch" and s["batch"] == 2


def test_npz_roundtrip_is_exact(trace, tmp_path):
    path = trace.save(tmp_path / "run")
    assert path.name == "run.npz"
    back = cs.Trace.load(path)
    for name in ("activations", "messages", "readouts"):
        a, b = getattr(back, name), getattr(trace, name)
        assert a.dtype == b.dtype
        for field in a.dtype.names:
            np.testing.assert_array_equal(a[field], b[field])
    assert back.meta == {k: v for k, v in trace.meta.items() if k != "wall_time"}   # wall time is not saved
    assert back.summary() == trace.summary()


def test_saved_trace_is_byte_reproducible(rng, tmp_path):
    """Identical runs give byte-identical trace.npz files (no wall time, no zip timestamps)."""
    model, x = cs.ClockworkRNN(2, 1, [3, 2], [1, 3], start=1), rng.normal(size=(30, 2))
    a = cs.simulate(model, x, engine="events").trace.save(tmp_path / "a.npz")
    b = cs.simulate(model, x, engine="events").trace.save(tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()


def test_save_leaves_no_temporary_files(trace, tmp_path):
    trace.save(tmp_path / "a.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_load_rejects_other_npz(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(cs.ClocksimError, match="unexpected entry") as err:
        cs.Trace.load(tmp_path / "x.npz")
    assert err.value.key == "a" and err.value.file == str(tmp_path / "x.npz")


# ------------------------------------------------------------------ record layout
def test_activation_rows_are_compact():
    """44 bytes per activation: float64 times, float32 ages (staleness, lag), int16 module and core; a readout
    25 (time, output-complete latency, missed, reaction)."""
    assert cs.trace.ACTIVATION_DTYPE.itemsize == 44
    assert cs.trace.ACTIVATION_DTYPE.names == ("module", "time", "start", "end", "macs", "staleness", "lag", "core")
    assert cs.trace.MESSAGE_DTYPE.itemsize == 20 and cs.trace.READOUT_DTYPE.itemsize == 25


def test_compiled_trace_stores_only_activations_and_derives_the_rest(rng, tmp_path):
    """Instantaneous activations: 14 bytes per activation held; the full rows, messages and readouts
    follow from them and read equal to the event engine's recorded tables (written to disk as the
    run records them)."""
    from clocksim.engine.stream import read_trace_parts

    model = cs.ClockworkRNN(2, 1, [3, 2, 4], [1, 2, 5], start=1)
    x = rng.normal(size=(2, 40, 2))
    derived, events = (cs.simulate(model, x, engine=e).trace for e in ("compiled", "events"))
    assert derived.nbytes == cs.trace.INSTANT_DTYPE.itemsize * len(derived) == 14 * len(derived)
    assert events.nbytes == derived.nbytes
    cs.simulate(model, x, engine="events", chunk=7, trace_dir=tmp_path / "parts")
    recorded = read_trace_parts(tmp_path / "parts")
    assert recorded.nbytes > recorded.activations.nbytes
    saved = cs.Trace.load(derived.save(tmp_path / "derived"))        # written whole, read back as stored rows
    for name in ("activations", "messages", "readouts"):
        for other in (recorded, saved, pickle.loads(pickle.dumps(derived))):
            a, b = getattr(derived, name), getattr(other, name)
            assert a.dtype == b.dtype and a.shape == b.shape and a.shape[0] > 0
            for field in a.dtype.names:
                np.testing.assert_array_equal(a[field], b[field], err_msg=f"{name}.{field}")
    order = schedule_order(plan_for(model), x.shape[0])
    assert derived.summary() == {**recorded.summary(), "engine": "compiled", "schedule_order": order}


@pytest.mark.parametrize("timing", ["latency", "compute", "both", "deadline"])
def test_event_trace_with_a_timing_model_stores_compact_rows(rng, tmp_path, timing):
    """A timing model: 28 bytes per activation (the end is start + compute time, the macs follow from
    the module) and, with link latency, 8 per message (its arrival); every table reads equal to the
    rows the run records (written to disk chunk by chunk), in any chunking."""
    from clocksim.engine.stream import read_trace_parts

    model = cs.ClockworkRNN(2, 1, [3, 2, 4], [cs.Jittered(1.0, 0.3, seed=2), 2, cs.Poisson(0.3, seed=3)], seed=1)
    opts = {"latency": {"latency": cs.LinkLatency(cs.Uniform(0.2, 1.7), seed=4)},
            "compute": {"compute": cs.ComputeModel(cores=1, throughput=300.0, readout=False)},   # round two's
            "both": {"latency": 0.3, "compute": cs.ComputeModel(cores=2, throughput=300.0, readout=False),
                     "deadline": 1.0},
            "deadline": {"deadline": 0.5, "times": np.cumsum(rng.uniform(0.5, 1.5, size=50))}}[timing]
    x = rng.normal(size=(2, 50, 2))
    held = cs.simulate(model, x, engine="events", **opts).trace
    per_message = 8 if timing in ("latency", "both") else 0
    times = 8 * 50 if timing == "deadline" else 0                           # given arrival times are held
    assert held.nbytes == 28 * len(held) + per_message * len(held.messages) + times
    for chunk in (None, 7, 3):
        chunked = cs.simulate(model, x, engine="events", chunk=chunk, **opts).trace
        cs.simulate(model, x, engine="events", chunk=chunk, trace_dir=tmp_path / f"{chunk}", **opts)
        recorded = read_trace_parts(tmp_path / f"{chunk}")
        for name in ("activations", "messages", "readouts"):
            a, b, c = getattr(held, name), getattr(recorded, name), getattr(chunked, name)
            assert a.dtype == b.dtype and a.shape == b.shape and a.shape[0] > 0, name
            assert a.tobytes() == b.tobytes() == c.tobytes(), name
        assert held.summary() == recorded.summary() == chunked.summary()
    assert pickle.loads(pickle.dumps(held)).messages.tobytes() == held.messages.tobytes()


def test_old_float64_records_still_load(trace, tmp_path):
    wide = np.dtype([(n, "<f8" if n in ("staleness", "lag") else t) for n, (t, _) in
                     cs.trace.ACTIVATION_DTYPE.fields.items()])
    old = np.zeros(len(trace), dtype=wide)
    for f in wide.names:
        old[f] = trace.activations[f]
    np.savez(tmp_path / "old.npz", activations=old, messages=trace.messages, readouts=trace.readouts,
             meta=np.array(__import__("json").dumps(trace.meta)))
    back = cs.Trace.load(tmp_path / "old.npz")
    assert back.activations.dtype == cs.trace.ACTIVATION_DTYPE
    np.testing.assert_array_equal(back.activations["staleness"], trace.activations["staleness"])


# ------------------------------------------------------------------ summaries
def run(engine, rng, latency=False, B=2, L=48, **model_kw):
    kw = dict(start=1) | model_kw
    model = cs.ClockworkRNN(2, 2, [3, 2, 4, 2], [1, 2, 3, 8], **kw)
    X = rng.normal(size=(B, L, 2))
    options = {}
    if latency:
        options = dict(latency=cs.LinkLatency(0.2, {(3, 0): 1.5}),
                       compute=cs.ComputeModel(cores=1, throughput=150.0, overhead=0.05, readout=False), deadline=0.9)
    return model, cs.simulate(model, X, engine=engine, **options)


def test_summary_totals_are_sums_on_both_engines(engine, rng):
    model, res = run(engine, rng)
    tr = res.trace
    s = tr.summary()
    act = tr.activations
    mods = act["module"]
    assert s["activations"] == len(tr) == sum(m["activations"] for m in s["per_module"])
    assert s["activation_macs"] == act["macs"].sum() == sum(m["macs"] for m in s["per_module"])
    assert s["readouts"] == tr.readouts.shape[0] == 48
    assert s["readout_macs"] == s["readouts"] * model.n * model.n_out * 2
    assert s["macs"] == s["activation_macs"] + s["readout_macs"]
    assert s["messages"] == tr.messages.shape[0]
    ks = np.array(model.module_sizes)
    assert s["bias_adds"] == s["fn_evals"] == int(ks[mods].sum()) * 2
    for i, m in enumerate(s["per_module"]):
        rows = act[mods == i]
        assert (m["module"], m["label"], m["size"]) == (i, model.module_label(i), model.module_sizes[i])
        assert m["period"] == int(model.periods[i])
        assert m["activations"] == rows.shape[0] and m["macs"] == rows["macs"].sum()
        if model.block_mask[i].sum() > 1:                   # it reads another module
            assert m["staleness_max"] == rows["staleness"].max()
            assert m["staleness_mean"] == pytest.approx(rows["staleness"].astype(float).mean())
        else:                                               # the slowest reads only itself: no staleness
            assert m["staleness_max"] is m["staleness_mean"] is m["staleness_p50"] is None
        assert m["busy"] == 0.0
    assert "latency" not in s and "deadline_misses" not in s


def test_summary_reports_latency_when_a_latency_model_ran(rng):
    model, res = run("events", rng, latency=True)
    tr = res.trace
    s = tr.summary()
    lat = tr.readouts["latency"][np.isfinite(tr.readouts["latency"])]
    assert s["latency"] == {"p50": np.percentile(lat, 50), "p99": np.percentile(lat, 99), "max": lat.max(),
                            "over": "inputs read", "n": lat.size}
    assert s["inputs_read"] == lat.size and s["inputs"] == s["inputs_read"] + s["inputs_dropped"]
    assert s["deadline_misses"] == tr.readouts["missed"].sum() > 0
    for i, m in enumerate(s["per_module"]):                   # staleness percentiles over each module's reads
        stale = tr.activations["staleness"][tr.activations["module"] == i].astype(float)
        if model.block_mask[i].sum() == 1:                      # reads only itself: no staleness
            assert m["staleness_p50"] is m["staleness_p99"] is None
            continue
        assert m["staleness_p50"] == pytest.approx(np.percentile(stale, 50), abs=1e-12)
        assert m["staleness_p99"] == pytest.approx(np.percentile(stale, 99), abs=1e-12)
    busy = [float((tr.activations["end"] - tr.activations["start"])[tr.activations["module"] == i].sum())
            for i in range(model.g)]
    assert [m["busy"] for m in s["per_module"]] == pytest.approx(busy)
    assert s["macs"] == tr.activations["macs"].sum() + s["readout_macs"]


def test_summary_is_plain_json(engine, rng):
    import json
    _, res = run(engine, rng)
    s = res.trace.summary()
    assert json.loads(json.dumps(s, allow_nan=False)) == s


def test_summary_needs_the_meta(trace):
    with pytest.raises(cs.InvalidValueError, match="meta: missing module_sizes"):
        cs.Trace(trace.activations).summary()


# ------------------------------------------------------------------ aggregates
def test_aggregate_summary_equals_the_trace_summary(engine, rng):
    _, res = run(engine, rng, latency=engine == "events")
    tr = res.trace
    agg = tr.aggregate()
    assert isinstance(agg, cs.AggregateTrace)
    s, act, ro = agg.summary(), tr.activations, tr.readouts       # the totals, recomputed from the rows
    assert s["activations"] == act.shape[0] and s["readouts"] == ro.shape[0]
    assert s["macs"] == int(act["macs"].sum()) + tr.meta["readout_macs"] * tr.batch * ro.shape[0]
    for m in s["per_module"]:
        mine = act[act["module"] == m["module"]]
        assert (m["activations"], m["macs"]) == (mine.shape[0], int(mine["macs"].sum()))
        assert m["busy"] == pytest.approx(float((mine["end"] - mine["start"]).sum()), rel=1e-12)
    if engine == "events":
        assert s["deadline_misses"] == int(ro["missed"].sum())
        assert s["latency"]["max"] == float(ro["latency"].max())
        assert s["queue_wait"]["max"] == float((act["start"] - act["time"]).max())
    assert agg.nbytes < 2000 + tr.readouts.nbytes


def test_aggregate_folds_chunks(rng):
    _, res = run("events", rng, latency=True)
    tr = res.trace
    agg = cs.AggregateTrace(tr.meta)
    for lo in range(0, len(tr), 7):
        agg.add(activations=tr.activations[lo:lo + 7])
    for lo in range(0, tr.messages.shape[0], 5):
        agg.add(messages=tr.messages[lo:lo + 5])
    half = tr.readouts.shape[0] // 2
    other = cs.AggregateTrace(tr.meta).add(readouts=tr.readouts[half:])
    agg.add(readouts=tr.readouts[:half]).merge(other)
    a, b = agg.summary(), tr.summary()
    for key in ("activations", "macs", "messages", "bias_adds", "bytes_read", "latency", "deadline_misses"):
        assert a[key] == b[key], key
    for ma, mb in zip(a["per_module"], b["per_module"]):
        assert ma == pytest.approx(mb)


def test_compiled_engine_can_keep_only_aggregates(rng):
    model = cs.ClockworkRNN(2, 2, [3, 2, 4, 2], [1, 2, 3, 8], start=1)
    X = rng.normal(size=(2, 300, 2))
    full = cs.simulate(model, X)
    agg = cs.simulate(model, X, trace="aggregate")
    assert isinstance(agg.trace, cs.AggregateTrace)
    assert np.array_equal(agg.y, full.y)
    assert agg.trace.summary() == full.trace.summary()
    assert agg.trace.nbytes < 1000
    with pytest.raises(cs.InvalidValueError, match="trace: got 'rows', expected one of 'full', 'aggregate'"):
        cs.simulate(model, X, trace="rows")


def test_mask_derived_records_do_not_depend_on_the_chunk_size(rng, monkeypatch):
    from clocksim.engine import base
    model, _ = run("compiled", rng, L=100)
    X = rng.normal(size=(2, 100, 2))
    whole = cs.simulate(model, X).trace
    monkeypatch.setattr(base, "MASK_CHUNK", 7)
    chunked = cs.simulate(model, X).trace
    for name in ("activations", "messages", "readouts"):
        a, b = getattr(whole, name), getattr(chunked, name)
        assert a.tobytes() == b.tobytes(), name
    assert cs.simulate(model, X, trace="aggregate").trace.summary() == whole.summary()


def test_step_macs_bin_by_step(engine, rng):
    model, res = run(engine, rng)
    steps, macs = res.trace.step_macs()
    np.testing.assert_array_equal(steps, model.start + np.arange(48))
    c = cs.cost.update_cost(model.module_sizes, model.block_mask, model.n_in)
    expected = cs.cost.step_macs(model.activity(48), c.macs, model.n * model.n_out, batch=2)
    np.testing.assert_array_equal(macs, expected)
    assert macs.sum() == res.trace.summary()["macs"]


# ------------------------------------------------------------------ Chrome trace events
def chrome(trace, tmp_path, **kw):
    import json
    path = trace.to_chrome(tmp_path / "trace.json", **kw)
    with open(path) as f:
        return json.load(f)


def tracks(doc):
    return {e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}


@pytest.mark.parametrize("engine,latency", [("compiled", False), ("events", False), ("events", True)])
def test_chrome_json_has_one_event_per_activation_on_its_track(engine, latency, rng, tmp_path):
    model, res = run(engine, rng, latency=latency)
    tr = res.trace
    doc = chrome(tr, tmp_path)
    events = doc["traceEvents"]
    xs = [e for e in events if e["ph"] == "X"]
    assert len(xs) == len(tr)
    names = tracks(doc)
    for i in range(model.g):
        assert names[i + 1] == model.module_label(i)
    procs = [e for e in events if e["ph"] == "M" and e["name"] == "process_name"]
    assert len(procs) == 1 and procs[0]["pid"] == 1
    # events come in trace order: event r is activation r, on the track named for its module
    for e, row in zip(xs, tr.activations):
        assert e["tid"] == row["module"] + 1
        assert names[e["tid"]] == model.module_label(int(row["module"])) == e["name"]
        assert e["pid"] == 1
        assert e["ts"] == row["start"] * 1000.0
        assert e["args"]["macs"] == row["macs"] and e["args"]["time"] == row["time"]
    counters = [e for e in events if e["ph"] == "C" and e["name"] == "multiply-adds"]
    assert sum(e["args"]["macs"] for e in counters) == tr.summary()["macs"]
    if latency:
        assert sum(1 for e in events if e["ph"] == "i") == tr.summary()["deadline_misses"] > 0
        known = np.isfinite(tr.readouts["latency"]).sum()
        assert sum(1 for e in events if e["ph"] == "C" and e["name"] == "readout latency") == known


def test_chrome_durations_and_the_zero_width_convention(rng, tmp_path):
    _, res = run("events", rng, latency=True)
    tr = res.trace
    xs = [e for e in chrome(tr, tmp_path, us_per_step=250.0)["traceEvents"] if e["ph"] == "X"]
    for e, row in zip(xs, tr.activations):
        assert e["dur"] == pytest.approx((row["end"] - row["start"]) * 250.0) and e["dur"] > 0
        assert "zero_duration" not in e["args"]
    # a synchronous run: every activation took no time and is drawn half a step wide
    _, res = run("compiled", rng)
    xs = [e for e in chrome(res.trace, tmp_path)["traceEvents"] if e["ph"] == "X"]
    assert all(e["dur"] == 500.0 and e["args"]["zero_duration"] is True for e in xs)
    xs = [e for e in chrome(res.trace, tmp_path, zero_width=3.0)["traceEvents"] if e["ph"] == "X"]
    m1 = [e["dur"] for e in xs if e["tid"] == 1]
    assert set(m1[:-1]) == {1000.0} and m1[-1] == 3000.0              # clipped at M1's next activation
    assert {e["dur"] for e in xs if e["tid"] == 4} == {3000.0}          # M4 (T=8) has room


def test_chrome_tracks_never_overlap(engine, rng, tmp_path):
    _, res = run(engine, rng, latency=engine == "events")
    xs = [e for e in chrome(res.trace, tmp_path, zero_width=5.0)["traceEvents"] if e["ph"] == "X"]
    for tid in {e["tid"] for e in xs}:
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in xs if e["tid"] == tid)
        assert all(end <= nxt + 1e-6 for (_, end), (nxt, _) in zip(spans, spans[1:]))


def test_chrome_json_is_strict_json_with_nan_latencies(rng, tmp_path):
    """Readouts before any module ran have NaN latency: JSON has no NaN, so they become null."""
    import json
    model = cs.ClockworkRNN(1, 1, [2], [cs.Periodic(4, 3)], start=0)
    tr = cs.simulate(model, rng.normal(size=(12, 1)), engine="events", latency=0.5).trace
    assert np.isnan(tr.readouts["latency"]).any()
    text = tr.to_chrome(tmp_path / "t.json").read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    latency = [e["args"]["steps"] for e in doc["traceEvents"] if e["ph"] == "C" and e["name"] == "readout latency"]
    assert latency == tr.readouts["latency"][np.isfinite(tr.readouts["latency"])].tolist()


def test_chrome_rejects_bad_scale(trace, tmp_path):
    with pytest.raises(cs.InvalidValueError, match="us_per_step"):
        trace.to_chrome(tmp_path / "t.json", us_per_step=0)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ CSV
def assert_same_records(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def noisy(trace, rng):
    """The trace with awkward floats: random float32 ages and float64 times, NaN and inf."""
    act = trace.activations.copy()
    act["staleness"] = rng.random(act.shape[0]).astype(np.float32) * 10.0 ** rng.integers(-8, 8, act.shape[0])
    act["lag"][::3] = np.float32(np.pi)
    act["end"] = act["start"] + rng.random(act.shape[0]) / 3.0
    ro = trace.readouts.copy()
    ro["latency"][:3] = [np.nan, np.inf, 1e-300]
    ro["missed"][::2] = True
    return cs.Trace(act, trace.messages, ro, trace.meta)


def test_csv_has_a_header_and_one_row_per_activation(trace, tmp_path):
    path = trace.to_csv(tmp_path / "trace.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "module,time,start,end,macs,staleness,lag,core"
    assert len(lines) == 1 + len(trace)
    assert lines[1].split(",")[0] == str(trace.activations["module"][0])


def test_csv_round_trip_is_exact(trace, rng, tmp_path):
    tr = noisy(trace, rng)
    paths = {t: tr.to_csv(tmp_path / f"{t}.csv", table=t) for t in ("activations", "messages", "readouts")}
    back = cs.Trace.read_csv(paths["activations"], messages=paths["messages"], readouts=paths["readouts"],
                             meta=tr.meta)
    for name in ("activations", "messages", "readouts"):
        assert_same_records(getattr(back, name), getattr(tr, name))
    assert back.summary() == tr.summary()


def test_csv_meta_from_a_json_file(trace, tmp_path):
    import json
    (tmp_path / "meta.json").write_text(json.dumps(trace.meta))
    back = cs.Trace.read_csv(trace.to_csv(tmp_path / "a.csv"), meta=tmp_path / "meta.json")
    assert back.meta == trace.meta
    assert back.summary()["activations"] == len(trace)


def test_csv_empty_table_round_trips(trace, tmp_path):
    empty = cs.Trace(trace.activations[:0], meta=trace.meta)
    back = cs.Trace.read_csv(empty.to_csv(tmp_path / "e.csv"))
    assert_same_records(back.activations, empty.activations)


def test_csv_reader_rejects_other_files(trace, tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(cs.InvalidValueError, match="is not a clocksim table"):
        cs.Trace.read_csv(tmp_path / "x.csv")
    with pytest.raises(cs.InvalidValueError, match="holds a messages table, expected activations"):
        cs.Trace.read_csv(trace.to_csv(tmp_path / "m.csv", table="messages"))
    (tmp_path / "bad.csv").write_text("module,time,start,end,macs,staleness,lag,core\n0,1.0,oops,1,2,3,4,5\n")
    with pytest.raises(cs.InvalidValueError, match="not a clocksim activations CSV"):
        cs.Trace.read_csv(tmp_path / "bad.csv")
    with pytest.raises(cs.InvalidValueError, match="table: got 'events'"):
        trace.to_csv(tmp_path / "t.csv", table="events")


# ------------------------------------------------------------------ binary, pandas, Parquet
def test_npz_round_trip_is_exact_with_awkward_values(trace, rng, tmp_path):
    tr = noisy(trace, rng)
    back = cs.Trace.load(tr.save(tmp_path / "t.npz"))
    for name in ("activations", "messages", "readouts"):
        assert_same_records(getattr(back, name), getattr(tr, name))


def test_parquet_round_trip_is_exact(trace, rng, tmp_path):
    tr = noisy(trace, rng)
    paths = {t: tr.to_parquet(tmp_path / f"{t}.parquet", table=t) for t in ("activations", "messages", "readouts")}
    back = cs.Trace.read_parquet(paths["activations"], messages=paths["messages"], readouts=paths["readouts"])
    for name in ("activations", "messages", "readouts"):
        assert_same_records(getattr(back, name), getattr(tr, name))
    assert back.meta == tr.meta                       # the meta travels inside the file
    assert back.summary() == tr.summary()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())


def test_parquet_is_readable_by_pandas(trace, tmp_path):
    import pandas as pd
    df = pd.read_parquet(trace.to_parquet(tmp_path / "a.parquet"))
    assert list(df.columns) == list(cs.trace.ACTIVATION_DTYPE.names) and len(df) == len(trace)


def test_parquet_reader_rejects_other_files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "x.parquet")
    with pytest.raises(cs.InvalidValueError, match="not a clocksim trace table"):
        cs.Trace.read_parquet(tmp_path / "x.parquet")


def test_to_pandas_columns_and_dtypes(trace):
    df = trace.to_pandas()
    assert list(df.columns) == list(cs.trace.ACTIVATION_DTYPE.names)
    assert [df[c].dtype for c in df.columns] == [trace.activations.dtype[c] for c in df.columns]
    assert len(df) == len(trace)
    np.testing.assert_array_equal(df["time"].to_numpy(), trace.activations["time"])
    assert df.attrs["meta"] == trace.meta
    ro = trace.to_pandas("readouts")
    assert list(ro.columns) == ["time", "latency", "missed", "reaction"] and ro["missed"].dtype == bool
    assert list(trace.to_pandas("messages").columns) == ["sender", "receiver", "send", "arrive"]


@pytest.mark.parametrize("method,extra", [("to_pandas", "pandas"), ("to_parquet", "parquet")])
def test_missing_optional_dependency_names_the_extra(trace, tmp_path, monkeypatch, method, extra):
    import sys
    for mod in ("pandas", "pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, mod, None)          # makes `import mod` raise ImportError
    args = () if method == "to_pandas" else (tmp_path / "t.parquet",)
    with pytest.raises(cs.UnsupportedError, match=rf"pip install 'clocksim\[{extra}\]'"):
        getattr(trace, method)(*args)


def test_chrome_counter_drops_to_zero_on_idle_steps(rng, tmp_path):
    """Inputs arrive at 0, 3 and 7; the module fires at 0 and 4: the counter returns to 0 after each busy step."""
    model = cs.ClockworkRNN(1, 1, [2], [4])
    tr = cs.simulate(model, rng.normal(size=(3, 1)), engine="events", times=[0.0, 3.0, 7.0]).trace
    doc = chrome(tr, tmp_path)
    counter = [(e["ts"], e["args"]["macs"]) for e in doc["traceEvents"] if e["ph"] == "C"
               and e["name"] == "multiply-adds"]
    act, ro = 2 * (2 + 1), 2 * 1                         # one activation: k (k + n_in); one readout: n n_out
    assert counter == [(0, act + ro), (1000, 0), (3000, ro), (4000, act), (5000, 0), (7000, ro), (8000, 0)]


def test_mask_aggregate_readouts_match_the_full_trace(rng):
    """The aggregate derives readout latencies from the mask chunk by chunk; they equal the full trace's."""
    from clocksim.engine.base import aggregate_from_mask, trace_from_mask, trace_meta
    model = cs.ClockworkRNN(1, 1, [2, 3], [cs.Periodic(3, 2), cs.Periodic(5, 1)])
    active = model.activity(40)
    meta = trace_meta(model, 1, 40, "compiled", latency_model=True)    # keep latencies to compare them
    full = trace_from_mask(model, active, 1, meta)
    agg = aggregate_from_mask(model, active, 1, meta)
    np.testing.assert_array_equal(agg.latencies, full.readouts["latency"])
    assert np.isnan(agg.latencies).any()
    assert agg.summary() == full.summary()


def test_chrome_events_follow_the_trace_event_format(rng, tmp_path):
    """The fields each phase needs (Trace Event Format): what chrome://tracing and Perfetto's JSON importer read."""
    _, res = run("events", rng, latency=True)
    doc = chrome(res.trace, tmp_path)
    assert set(doc) == {"traceEvents", "displayTimeUnit", "otherData"} and doc["displayTimeUnit"] == "ms"
    assert doc["otherData"]["us_per_step"] == 1000.0
    number = (int, float)
    for e in doc["traceEvents"]:
        assert e["ph"] in {"M", "X", "C", "i"} and e["pid"] == 1 and isinstance(e["name"], str)
        if e["ph"] == "M":
            assert e["name"] in {"process_name", "thread_name", "thread_sort_index"} and isinstance(e["args"], dict)
        elif e["ph"] == "X":
            assert isinstance(e["tid"], int) and isinstance(e["ts"], number) and isinstance(e["dur"], number)
            assert e["dur"] >= 0
        elif e["ph"] == "C":
            assert isinstance(e["ts"], number) and all(isinstance(v, number) for v in e["args"].values())
        else:
            assert e["s"] == "t" and isinstance(e["tid"], int) and isinstance(e["ts"], number)


def test_load_rejects_npy_and_garbage(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a clocksim trace .* not a zip archive"):
        cs.Trace.load(tmp_path / "x.npy")
    (tmp_path / "y.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a clocksim trace"):
        cs.Trace.load(tmp_path / "y.npz")


def test_saved_files_get_normal_permissions(tmp_path):
    import os

    from clocksim.trace.core import atomic_write
    atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o666 & ~mask


def test_run_folders_hold_byte_identical_traces_with_the_scenario_fingerprint(tmp_path):
    import zipfile
    from pathlib import Path

    from clocksim.app.cli import main
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "jittered_clocks.toml"
    for name in ("a", "b"):
        assert main(["run", str(scenario), "--out", str(tmp_path / name), "--quiet"]) == 0
    a, b = (tmp_path / n / "trace.npz" for n in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        header = __import__("json").loads(str(np.load(zf.open("format.npy"))))
    assert header["format"] == "clocksim-trace" and len(header["fingerprint"]) == 16
