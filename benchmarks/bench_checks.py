"""What the kernels' bounds checks cost (issue 25): the benchmark shapes with the checks vs without.

The baseline is the source tree of the last commit without the checks (``--base``, default
BASE), exported with ``git archive`` to a temporary folder; each contender runs in its own
subprocess (its own numba cache), the two interleaved (base, checked, base, checked, ...) for
``--rounds`` rounds. A subprocess warms up (compiles or loads its kernels), then times ``--repeats``
samples of each shape (a sample: as many runs as take about 0.25 s) in CPU time of the process (``time.process_time``: time spent descheduled on a
shared machine is left out) and reports its fastest. The overhead is the ratio of the medians over
the rounds of those per-process minima, checked / base, with the load average it was measured at
(``os.getloadavg()`` before and after).

Shapes: the compiled engine on bench_compiled's two configurations; the event engine on
bench_events' base run (8 modules of 2 units, periods 1..128, 20000 steps: the synchronous
path, one ``activate_sync`` per activation) and on the same model with a link latency of 0.5
(the general path: ``activate``, ``publish``, ``deliver``). Target: under 2 % each.

Run: python benchmarks/bench_checks.py [--base COMMIT] [--rounds 5] [--repeats 3]
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The last commit of main without the bounds checks (the one the checks' branch started from).
BASE = "c227e8f"
TARGET = 1.02

WORKER = r"""
import json, sys, time
import numpy as np
import clocksim as cs

def shapes():
    rng = np.random.default_rng(0)
    for name, g, k, n_in, n_out, B, L in (("compiled g8x64 B32 L512", 8, 64, 32, 4, 32, 512),
                                          ("compiled g8x16 B1 L4096", 8, 16, 4, 4, 1, 4096)):
        m = cs.ClockworkRNN(n_in, n_out, [k] * g, cs.exponential_periods(g), seed=0)
        x = rng.normal(size=(B, L, n_in))
        yield name, lambda m=m, x=x: cs.simulate(m, x, engine="compiled")
    m = cs.ClockworkRNN(1, 1, [2] * 8, cs.exponential_periods(8), seed=0)
    x = rng.normal(size=(20000, 1))
    yield "events g8x2 L20000", lambda: cs.simulate(m, x, engine="events")
    x5 = x[:5000]
    yield "events g8x2 L5000 latency 0.5", lambda: cs.simulate(m, x5, engine="events", latency=0.5)

repeats = int(sys.argv[1])
out = {}
for name, run in shapes():
    y = run().y                                      # warm-up: compile or load the kernels
    t0 = time.process_time()
    run()
    calls = max(1, int(0.25 / max(time.process_time() - t0, 1e-6)))   # a sample of at least ~0.25 s
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(calls):
            run()
        times.append((time.process_time() - t0) / calls)
    out[name] = {"min": min(times), "calls": calls, "checksum": float(np.abs(y).sum())}
print(json.dumps(out))
"""


def export(commit: str, folder: Path) -> Path:
    """The source tree of ``commit`` (its ``clocksim`` package) in ``folder``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "clocksim"],
                          check=True, capture_output=True).stdout
    tar = folder / "base.tar"
    tar.write_bytes(data)
    with tarfile.open(tar) as t:
        t.extractall(folder / "tree", filter="data")
    return folder / "tree"


def run(tree: Path, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", WORKER, str(repeats)], env=env, cwd=str(tree),
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"worker in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=BASE)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_checks.") as tmp:
        trees = {"base": export(args.base, Path(tmp)), "checked": ROOT}
        rounds = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                rounds[name].append(run(tree, args.repeats))
    load_after = os.getloadavg()
    shapes = {}
    for shape in rounds["base"][0]:
        base = [r[shape]["min"] for r in rounds["base"]]
        checked = [r[shape]["min"] for r in rounds["checked"]]
        same = {r[shape]["checksum"] for r in rounds["base"] + rounds["checked"]}
        shapes[shape] = {"base_s": float(np.median(base)), "checked_s": float(np.median(checked)),
                         "ratio_median": float(np.median(checked) / np.median(base)),
                         "ratio_min": float(min(checked) / min(base)), "same_outputs": len(same) == 1,
                         "base_samples": base, "checked_samples": checked}
    _common.report("bounds_checks", {
        "base_commit": args.base, "rounds": args.rounds, "repeats": args.repeats, "clock": "process_time",
        "load_average_before": load_before, "load_average_after": load_after, "required": TARGET,
        "shapes": shapes, "meets_target": all(s["ratio_median"] < TARGET for s in shapes.values()),
    })


if __name__ == "__main__":
    main()
