"""Shared benchmark helpers: one thread, warm-up, interleaved repeats, ratios.

Import this module before numpy: it pins BLAS and numba to one thread.
Timings on a shared machine are noisy, so every comparison interleaves the
contenders (A, B, A, B, ...) and reports the ratio of medians along with the
ratio of minima.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from clocksim.app.provenance import provenance  # noqa: E402


def time_interleaved(funcs: dict, repeats: int = 7, warmup: int = 1, clock=time.perf_counter) -> dict:
    """Run each callable ``warmup`` times, then ``repeats`` rounds in turn; seconds per call.

    The rounds alternate the order (forward, then backward): a contender run right after another that
    touches the same data finds it in cache, so a fixed order favours whoever follows a relative: in
    bench_modmajor the module-major forward (B = 1, g8x16) always ran right after a numpy peer, which made it
    1.14x as long as in a loop of its own, and the step-major one right after it.

    ``clock``: wall time by default; ``time.process_time`` counts only the CPU time of this
    process, so that time spent descheduled while other jobs run on a shared machine is left
    out (for single-threaded contenders).
    """
    for f in funcs.values():
        for _ in range(warmup):
            f()
    samples = {name: [] for name in funcs}
    order = list(funcs.items())
    for r in range(repeats):
        for name, f in (order if r % 2 == 0 else order[::-1]):
            t0 = clock()
            f()
            samples[name].append(clock() - t0)
    return {name: {"median": float(np.median(v)), "min": float(np.min(v)), "samples": v}
            for name, v in samples.items()}


def ratio(times: dict, slow: str, fast: str) -> dict:
    return {"median": times[slow]["median"] / times[fast]["median"],
            "min": times[slow]["min"] / times[fast]["min"]}


RESULTS = Path(__file__).resolve().parents[1] / "results" / "benchmarks"


def report(name: str, payload: dict) -> Path:
    """Print the results as JSON; write them, with provenance (one thread), to results/benchmarks/NAME.json."""
    from clocksim.trace.core import atomic_write

    doc = {"benchmark": name, **payload, "threads": 1, "provenance": provenance(sys.argv)}
    text = json.dumps(doc, indent=2, default=float)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    atomic_write(path, lambda f: f.write((text + "\n").encode("utf-8")))
    return path
