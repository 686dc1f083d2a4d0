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
import time  # noqa: E402

import numpy as np  # noqa: E402

from clocksim.provenance import provenance  # noqa: E402


def time_interleaved(funcs: dict, repeats: int = 7, warmup: int = 1) -> dict:
    """Run each callable ``warmup`` times, then ``repeats`` rounds in turn; seconds per call."""
    for f in funcs.values():
        for _ in range(warmup):
            f()
    samples = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f()
            samples[name].append(time.perf_counter() - t0)
    return {name: {"median": float(np.median(v)), "min": float(np.min(v)), "samples": v}
            for name, v in samples.items()}


def ratio(times: dict, slow: str, fast: str) -> dict:
    return {"median": times[slow]["median"] / times[fast]["median"],
            "min": times[slow]["min"] / times[fast]["min"]}


def report(name: str, payload: dict) -> None:
    """Print the benchmark's result as JSON, with :func:`clocksim.provenance.provenance` (one thread)."""
    print(json.dumps({"benchmark": name, **payload, "threads": 1, "provenance": provenance()}, indent=2,
                     default=float))
