"""Memory of long runs (issue 16): peak RSS against run length, and bytes per activation of a full trace.

Each measurement runs in a fresh subprocess (so peaks do not mix) that builds the quickstart model
(4 modules x 8 units, periods 1, 2, 4, 8, one sine input), warms the JIT up on a short run, then
simulates ``L`` steps from an iterator of input chunks with ``trace="aggregate"`` and
``keep="last"`` and reports its peak resident set (``ru_maxrss``) and the resident set after the
warm-up (imports and compiled code). Targets: the peak is flat in the run length (within 10 %)
from 1e6 to 1e8 steps on the compiled engine and from 1e5 to 1e7 activations on the event engine,
and below 300 MB.

A full in-memory trace is measured the same way (``trace="full"``, ``keep="none"``) on the compiled
engine and on the event engine, synchronous and with a timing model (link latency 0.25 on every
link; or a compute model, 2 cores): bytes of trace per activation (``Trace.nbytes``, at the longer
length) and the growth of the peak RSS per activation between the two lengths. Target: at most 40
bytes per activation.

Run: python benchmarks/bench_memory.py [--quick]     (--quick: the two shorter lengths only)
"""

import json
import subprocess
import sys
from pathlib import Path

import _common

CHILD = r"""
import json, resource, sys, time
import numpy as np
import clocksim as cs

engine, L, trace, keep, timing = sys.argv[1], int(float(sys.argv[2])), sys.argv[3], sys.argv[4], sys.argv[5]
model = cs.ClockworkRNN(1, 1, [8, 8, 8, 8], [1, 2, 4, 8], seed=0)
opts = {"none": {}, "latency": {"latency": 0.25},
        "compute": {"compute": cs.ComputeModel(cores=2, throughput=4000.0)}}[timing]

def sine(n, chunk=1 << 16):
    for lo in range(0, n, chunk):
        yield np.sin(2 * np.pi * np.arange(lo, min(n, lo + chunk)) / 16.0)[:, None]

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

cs.simulate(model, sine(5000), engine=engine, trace=trace, keep=keep, **opts).trace.summary()   # JIT warm-up
base = rss_mb()
t0 = time.perf_counter()
res = cs.simulate(model, sine(L), engine=engine, trace=trace, keep=keep, **opts)
summary = res.trace.summary()
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"engine": engine, "steps": L, "trace": trace, "keep": keep, "timing": timing,
       "activations": summary["activations"],
       "peak_rss_mb": peak, "rss_after_warmup_mb": base, "seconds": wall,
       "trace_bytes": int(res.trace.nbytes)}
print(json.dumps(out))
"""


def measure(engine: str, steps: float, trace: str = "aggregate", keep: str = "last", timing: str = "none") -> dict:
    root = Path(__file__).resolve().parents[1]
    env = dict(__import__("os").environ, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", CHILD, engine, str(steps), trace, keep, timing],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def flatness(rows: list[dict]) -> dict:
    peaks = [r["peak_rss_mb"] for r in rows]
    return {"peak_rss_mb": peaks, "max_over_min": max(peaks) / min(peaks), "target_max_over_min": 1.10,
            "max_peak_mb": max(peaks), "target_max_peak_mb": 300.0,
            "flat": max(peaks) / min(peaks) <= 1.10, "below_300_mb": max(peaks) < 300.0}


def full_trace(engine: str, timing: str) -> dict:
    """A full trace in memory at 1e5 and 1e6 steps: bytes held per activation, peak RSS growth per activation."""
    runs = [measure(engine, L, trace="full", keep="none", timing=timing) for L in (1e5, 1e6)]
    grow = (runs[1]["peak_rss_mb"] - runs[0]["peak_rss_mb"]) * 2**20 / (runs[1]["activations"] - runs[0]["activations"])
    per = runs[1]["trace_bytes"] / runs[1]["activations"]
    return {"runs": runs, "trace_bytes_per_activation": per, "peak_rss_growth_bytes_per_activation": grow,
            "target_bytes_per_activation": 40, "meets_target": per <= 40}


def main(quick: bool = False) -> dict:
    compiled_steps = [1e6, 1e7] if quick else [1e6, 1e7, 1e8]
    events_steps = [1e5 / 1.875, 1e6 / 1.875] if quick else [1e5 / 1.875, 1e6 / 1.875, 1e7 / 1.875]
    compiled = [measure("compiled", L) for L in compiled_steps]
    events = [measure("events", round(L)) for L in events_steps]        # 1.875 activations per step
    full = {f"{engine}_{timing}": full_trace(engine, timing)
            for engine, timing in (("compiled", "none"), ("events", "none"), ("events", "latency"),
                                   ("events", "compute"))}
    payload = {
        "compiled_aggregate_last": {"runs": compiled, **flatness(compiled)},
        "events_aggregate_last": {"runs": events, **flatness(events)},
        "full_trace": full,
    }
    _common.report("memory", payload)
    return payload


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
