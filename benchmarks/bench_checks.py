"""What the kernels' bounds checks cost (issue 25): the benchmark shapes with the checks vs without.

The baseline is this working tree's ``clocksim`` package copied to a temporary folder as the
package ``clocksim_base``, with every check taken out of ``clocksim/kernels/`` by rewriting the copy's
source: each ``if ...:`` whose body raises ``KernelBoundsError`` becomes ``if False:`` (numba drops the
branch) and each call of a ``*_fault`` helper becomes constants, so neither the tests nor the extent
arithmetic they need is left. Everything else is the same in both, so the baseline stays valid as the
kernels change. The package imports itself only relatively, so both load side by side, each with its own
kernels and numba cache. Both run in this one process, interleaved at a fine grain, in the order ABBA round
after round so that a drift of the machine's load falls on both alike. A sample is as many runs of
a shape as take about 0.25 s of CPU time (``time.process_time``: time spent descheduled on a shared
machine is left out). Reported per shape: the ratio checked / base of the medians of the samples and
of their minima, beside the load average (``os.getloadavg()``) before and after; the script refuses
to report (exit 3) when the load average is over 0.5 before it starts, unless ``--busy-ok``.

Shapes: the compiled engine on bench_compiled's two configurations; the event engine on
bench_events' base run (8 modules of 2 units, periods 1..128, 20000 steps: the synchronous
path, one ``activate_sync`` per activation) and on the same model with a link latency of 0.5
for 5000 steps (the general path: ``activate``, ``publish``, ``deliver``). Target: under 2 % each.

Run: python benchmarks/bench_checks.py [--rounds 12] [--busy-ok]
"""

import argparse
import gc
import importlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

import clocksim

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.02
SAMPLE_S = 0.25
QUIET_LOAD = 0.5
_FAULT_CALL = re.compile(r"^(\s*)((?:code, )?needed, got) = \w*fault\(.*\)\s*$")
_CHECK = re.compile(r"^(\s*)if .*:\s*(#.*)?$")


def strip_checks(source: str) -> tuple[str, int]:
    """``source`` with every bounds check made dead code; the number of checks removed."""
    lines = source.splitlines()
    removed = 0
    for k, line in enumerate(lines):
        fault = _FAULT_CALL.match(line)
        if fault:
            lines[k] = f"{fault.group(1)}{fault.group(2)} = {', '.join(['0'] * (fault.group(2).count(',') + 1))}"
        check = _CHECK.match(line)
        if check and k + 1 < len(lines) and lines[k + 1].strip().startswith("raise KernelBoundsError"):
            lines[k] = f"{check.group(1)}if False:"
            removed += 1
    return "\n".join(lines) + "\n", removed


def load_base(folder: Path):
    """This tree's ``clocksim`` with its kernels' bounds checks taken out, imported as ``clocksim_base``
    from ``folder``; the number of checks taken out."""
    shutil.copytree(ROOT / "clocksim", folder / "clocksim_base", ignore=shutil.ignore_patterns("__pycache__"))
    removed = 0
    for path in sorted((folder / "clocksim_base" / "kernels").glob("*.py")):
        text = path.read_text()
        stripped, n = strip_checks(text)
        raises = text.count("raise KernelBoundsError")
        if n != raises:
            sys.exit(f"bench_checks: {path.name}: took out {n} of its {raises} checks; the rewrite rules need updating")
        path.write_text(stripped)
        removed += n
    sys.path.insert(0, str(folder))
    return importlib.import_module("clocksim_base"), removed


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
    """CPU seconds per run of ``run``, over ``calls`` runs, the garbage collector out of the sample."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.process_time()
        for _ in range(calls):
            run()
        return (time.process_time() - t0) / calls
    finally:
        gc.enable()


def wait_for_quiet(name: str, busy_ok: bool) -> tuple:
    """The load average once it is at most QUIET_LOAD (a load of one's own making gets 3 minutes to decay);
    exits 3 when the machine stays busy, unless ``busy_ok``."""
    for _ in range(36):
        if os.getloadavg()[0] <= QUIET_LOAD or busy_ok:
            break
        time.sleep(5)
    load = os.getloadavg()
    if load[0] > QUIET_LOAD and not busy_ok:
        print(f"{name}: load average {load[0]:.2f} > {QUIET_LOAD}: not a result; wait or pass --busy-ok",
              file=sys.stderr)
        sys.exit(3)
    return load


def compare(base, new, rounds: int, same=None) -> dict:
    """``new`` against ``base`` (two callables doing the same work), interleaved ABBA for ``rounds`` rounds."""
    outs = (base(), new())                                     # warm-up: compile or load
    calls = max(1, int(SAMPLE_S / max(sample(base, 1), 1e-6)))
    samples = {"base": [], "new": []}
    runs = {"base": base, "new": new}
    for r in range(rounds):
        for name in (("base", "new") if r % 2 == 0 else ("new", "base")):
            samples[name].append(sample(runs[name], calls))
    b, c = np.array(samples["base"]), np.array(samples["new"])
    return {"calls_per_sample": calls, "base_s": float(np.median(b)), "new_s": float(np.median(c)),
            "ratio_median": float(np.median(c) / np.median(b)), "ratio_min": float(c.min() / b.min()),
            "ratio_paired_median": float(np.median(c / b)),        # round r's two samples ran back to back
            "same_outputs": None if same is None else bool(same(*outs)),
            "base_samples": b.tolist(), "new_samples": c.tolist()}


def line(shape: str, r: dict) -> str:
    return (f"{shape}: new/base median {r['ratio_median']:.3f}, min {r['ratio_min']:.3f}, "
            f"paired {r['ratio_paired_median']:.3f}, load {os.getloadavg()[0]:.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--only", default="", help="run only the shapes whose name contains this")
    ap.add_argument("--busy-ok", action="store_true", help="report even when the machine is busy")
    args = ap.parse_args()
    load_before = wait_for_quiet("bench_checks", args.busy_ok)
    with tempfile.TemporaryDirectory(prefix="bench_checks.") as tmp:
        base, removed = load_base(Path(tmp))
        assert base.__file__ != clocksim.__file__
        runs = {"base": shapes(base), "checked": shapes(clocksim)}
        result = {}
        for k, (shape, _) in enumerate(runs["checked"]):
            if args.only not in shape:
                continue
            result[shape] = compare(runs["base"][k][1], runs["checked"][k][1], args.rounds,
                                    same=lambda a, b: np.array_equal(a.y, b.y))
            print(line(shape, result[shape]), file=sys.stderr)
    _common.report("bounds_checks", {
        "baseline": f"this tree with its {removed} kernel bounds checks rewritten to dead code", "new": "this tree",
        "rounds": args.rounds, "clock": "process_time", "sample_s": SAMPLE_S,
        "load_average_before": load_before, "load_average_after": os.getloadavg(), "required": TARGET,
        "shapes": result, "meets_target": all(s["ratio_median"] < TARGET for s in result.values()),
    })


if __name__ == "__main__":
    main()
