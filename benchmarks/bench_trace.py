"""Trace exports and memory (issue 5): seconds for a million activations, bytes per activation.

Trace: the compiled engine's trace of the paper's schedule (g=8 modules of 4 units, periods
1..128, start 0) over enough steps for ~1 million activations, derived from the activity mask
exactly as ``simulate(..., engine="compiled").trace`` derives it. A second copy gives every
activation a compute time (``end = start + 0.25``) so the Chrome export also runs its
positive-duration path.

Reported:
- seconds for ``to_chrome`` on both copies, interleaved with a naive baseline that builds one
  dict per activation (X events only, so the baseline does less work) and calls ``json.dumps``;
- seconds for CSV write/read, ``.npz`` save/load, Parquet write/read and ``to_pandas``;
- bytes per activation: each table, the whole trace, the peak of Python-tracked memory while the
  trace is built (tracemalloc, numpy arrays included), and an ``AggregateTrace``'s bytes;
- with ``--big``: the same memory figures for a 10-million-activation trace.

Run: python benchmarks/bench_trace.py [--big]
"""

import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np

import clocksim as cs
from clocksim.engine.base import aggregate_from_mask, trace_from_mask, trace_meta

G, K = 8, 4


def paper_trace(n_activations: int, aggregate: bool = False):
    model = cs.ClockworkRNN(1, 1, [K] * G, cs.exponential_periods(G), start=0)
    L = int(np.ceil(n_activations / sum(1 / 2**i for i in range(G))))
    active = model.activity(L)
    meta = trace_meta(model, 1, L, "compiled")
    tracemalloc.start()
    tracemalloc.reset_peak()
    base_mem = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    tr = (aggregate_from_mask if aggregate else trace_from_mask)(model, active, 1, meta)
    build = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base_mem
    tracemalloc.stop()
    return tr, build, peak


def naive_chrome(trace, path):
    """The obvious implementation: a dict per event, then json.dumps."""
    labels = trace.meta["labels"]
    act = trace.activations
    events = [{"ph": "X", "pid": 1, "tid": m + 1, "name": labels[m], "cat": "activation", "ts": s * 1000.0,
               "dur": max((e - s) * 1000.0, 500.0), "args": {"time": t, "macs": c, "staleness": st, "lag": lg,
                                                             "core": co}}
              for m, t, s, e, c, st, lg, co in zip(act["module"].tolist(), act["time"].tolist(),
                                                   act["start"].tolist(), act["end"].tolist(), act["macs"].tolist(),
                                                   act["staleness"].tolist(), act["lag"].tolist(),
                                                   act["core"].tolist())]
    Path(path).write_text(json.dumps({"traceEvents": events}))


def seconds(f, repeats=3):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return {"median": float(np.median(out)), "min": float(np.min(out))}


def memory(trace, build_seconds, peak, agg_bytes) -> dict:
    A = len(trace)
    return {
        "activations": A,
        "bytes_per_activation": {
            "activations_table": trace.activations.nbytes / A,
            "messages_table": trace.messages.nbytes / A,
            "readouts_table": trace.readouts.nbytes / A,
            "whole_trace": trace.nbytes / A,
            "peak_while_building": peak / A,
        },
        "whole_trace_MB": trace.nbytes / 1e6,
        "peak_while_building_MB": peak / 1e6,
        "aggregate_bytes": agg_bytes,
        "build_seconds": build_seconds,
    }


def main():
    tr, build, peak = paper_trace(1_000_000)
    agg, _, agg_peak = paper_trace(1_000_000, aggregate=True)
    assert agg.summary() == tr.summary()
    timed = cs.Trace(tr.activations.copy(), tr.messages, tr.readouts, tr.meta)
    timed.activations["end"] += 0.25
    out = {"config": {"g": G, "k": K, "periods": cs.exponential_periods(G), "n_steps": tr.meta["n_steps"],
                      "activations": len(tr)}}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        chrome = _common.time_interleaved({
            "to_chrome (zero durations)": lambda: tr.to_chrome(d / "a.json"),
            "to_chrome (with durations)": lambda: timed.to_chrome(d / "b.json"),
            "naive dicts + json.dumps": lambda: naive_chrome(tr, d / "c.json"),
        }, repeats=3, warmup=0)
        with open(d / "a.json") as f:
            doc = json.load(f)
        assert sum(1 for e in doc["traceEvents"] if e["ph"] == "X") == len(tr)
        out["chrome_json_MB"] = (d / "a.json").stat().st_size / 1e6
        out["seconds"] = {name: {"median": v["median"], "min": v["min"]} for name, v in chrome.items()}
        out["naive_over_to_chrome"] = _common.ratio(chrome, "naive dicts + json.dumps", "to_chrome (zero durations)")
        csv_path = d / "t.csv"
        out["seconds"]["to_csv"] = seconds(lambda: tr.to_csv(csv_path))
        out["seconds"]["read_csv"] = seconds(lambda: cs.Trace.read_csv(csv_path))
        out["seconds"]["save npz"] = seconds(lambda: tr.save(d / "t.npz"))
        out["seconds"]["load npz"] = seconds(lambda: cs.Trace.load(d / "t.npz"))
        out["seconds"]["to_parquet"] = seconds(lambda: tr.to_parquet(d / "t.parquet"))
        out["seconds"]["read_parquet"] = seconds(lambda: cs.Trace.read_parquet(d / "t.parquet"))
        out["seconds"]["to_pandas"] = seconds(lambda: tr.to_pandas())
        out["file_MB"] = {p: (d / p).stat().st_size / 1e6 for p in ("t.csv", "t.npz", "t.parquet")}
        back = cs.Trace.read_csv(csv_path)
        assert back.activations.tobytes() == tr.activations.tobytes()
    out["memory_1M"] = memory(tr, build, peak, agg.nbytes)
    out["memory_1M"]["aggregate_peak_while_building_MB"] = agg_peak / 1e6
    if "--big" in sys.argv:
        del tr, timed, agg
        big, build, peak = paper_trace(10_000_000)
        s = big.summary()
        out["memory_10M"] = memory(big, build, peak, big.aggregate().nbytes)
        del big
        agg, _, agg_peak = paper_trace(10_000_000, aggregate=True)
        assert agg.summary() == s
        out["memory_10M"]["aggregate_peak_while_building_MB"] = agg_peak / 1e6
    _common.report("trace exports and memory", out)


if __name__ == "__main__":
    main()
