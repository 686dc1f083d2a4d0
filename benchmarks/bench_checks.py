"""What the kernels' bounds checks cost (issue 25): the benchmark shapes with the checks vs without.

The baseline is this working tree's ``clocksim`` package with the changes of the commit that added
the checks (``--checks``, default CHECKS) to the kernels and to the event engine's arena layout
taken back out (``git diff CHECKS CHECKS^ | git apply``), copied to a temporary folder as the
package ``clocksim_base``: everything else (the other engineers' work merged since) is the same in
both. The package imports itself only relatively, so both load side by side, each with its own
kernels and numba cache. Both run in this one process, interleaved at a fine grain, in the order ABBA round
after round so that a drift of the machine's load falls on both alike. A sample is as many runs of
a shape as take about 0.25 s of CPU time (``time.process_time``: time spent descheduled on a shared
machine is left out). Reported per shape: the ratio checked / base of the medians of the samples and
of their minima, beside the load average (``os.getloadavg()``) before and after.

Shapes: the compiled engine on bench_compiled's two configurations; the event engine on
bench_events' base run (8 modules of 2 units, periods 1..128, 20000 steps: the synchronous
path, one ``activate_sync`` per activation) and on the same model with a link latency of 0.5
for 5000 steps (the general path: ``activate``, ``publish``, ``deliver``). Target: under 2 % each.

Run: python benchmarks/bench_checks.py [--checks COMMIT] [--rounds 12]
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

import clocksim

ROOT = Path(__file__).resolve().parents[1]
#: The commit that added the bounds checks, and what of it the baseline takes back out.
CHECKS = "01ce19b"
CHECKED_PATHS = ["clocksim/kernels", "clocksim/engine/events.py"]
TARGET = 1.02
SAMPLE_S = 0.25


def load_base(checks: str, folder: Path):
    """This tree's ``clocksim`` without the changes of commit ``checks`` to CHECKED_PATHS, imported as
    ``clocksim_base`` from ``folder``."""
    shutil.copytree(ROOT / "clocksim", folder / "clocksim", ignore=shutil.ignore_patterns("__pycache__"))
    patch = subprocess.run(["git", "-C", str(ROOT), "diff", checks, f"{checks}^", "--", *CHECKED_PATHS],
                           check=True, capture_output=True).stdout
    (folder / "revert.patch").write_bytes(patch)
    subprocess.run(["git", "apply", "-p1", "revert.patch"], cwd=folder, check=True)
    os.rename(folder / "clocksim", folder / "clocksim_base")
    sys.path.insert(0, str(folder))
    return importlib.import_module("clocksim_base")


def shapes(cs):
    """(name, run) per benchmark shape, with the package ``cs``."""
    rng = np.random.default_rng(0)
    out = []
    for name, g, k, n_in, n_out, B, L in (("compiled g8x64 B32 L512", 8, 64, 32, 4, 32, 512),
                                          ("compiled g8x16 B1 L4096", 8, 16, 4, 4, 1, 4096)):
        m = cs.ClockworkRNN(n_in, n_out, [k] * g, cs.exponential_periods(g), seed=0)
        x = rng.normal(size=(B, L, n_in))
        out.append((name, lambda m=m, x=x: cs.simulate(m, x, engine="compiled")))
    m = cs.ClockworkRNN(1, 1, [2] * 8, cs.exponential_periods(8), seed=0)
    x = rng.normal(size=(20000, 1))
    out.append(("events g8x2 L20000", lambda: cs.simulate(m, x, engine="events")))
    out.append(("events g8x2 L5000 latency 0.5", lambda: cs.simulate(m, x[:5000], engine="events", latency=0.5)))
    return out


def sample(run, calls: int) -> float:
    t0 = time.process_time()
    for _ in range(calls):
        run()
    return (time.process_time() - t0) / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checks", default=CHECKS)
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_checks.") as tmp:
        packages = {"base": load_base(args.checks, Path(tmp)), "checked": clocksim}
        assert packages["base"].__file__ != clocksim.__file__
        assert not hasattr(importlib.import_module("clocksim_base.kernels.core"), "plan_row_fault")
        runs = {name: shapes(cs) for name, cs in packages.items()}
        result = {}
        for k, (shape, _) in enumerate(runs["checked"]):
            contenders = {name: runs[name][k][1] for name in packages}
            outs = {name: run().y for name, run in contenders.items()}          # warm-up: compile or load
            same = np.array_equal(outs["base"], outs["checked"])
            calls = max(1, int(SAMPLE_S / max(sample(contenders["base"], 1), 1e-6)))
            samples = {name: [] for name in packages}
            for r in range(args.rounds):
                for name in (("base", "checked", "checked", "base") if r % 2 == 0 else ("checked", "base", "base",
                                                                                           "checked"))[:2]:
                    samples[name].append(sample(contenders[name], calls))
            b, c = np.array(samples["base"]), np.array(samples["checked"])
            result[shape] = {"calls_per_sample": calls, "base_s": float(np.median(b)), "checked_s": float(np.median(c)),
                             "ratio_median": float(np.median(c) / np.median(b)), "ratio_min": float(c.min() / b.min()),
                             "same_outputs": bool(same), "base_samples": b.tolist(), "checked_samples": c.tolist()}
            print(f"{shape}: checked/base median {result[shape]['ratio_median']:.3f}, "
                  f"min {result[shape]['ratio_min']:.3f}, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    load_after = os.getloadavg()
    _common.report("bounds_checks", {
        "checks_commit": args.checks, "baseline": f"this tree less {args.checks}'s changes to {CHECKED_PATHS}", "rounds": args.rounds, "clock": "process_time", "sample_s": SAMPLE_S,
        "load_average_before": load_before, "load_average_after": load_after, "required": TARGET,
        "shapes": result, "meets_target": all(s["ratio_median"] < TARGET for s in result.values()),
    })


if __name__ == "__main__":
    main()
