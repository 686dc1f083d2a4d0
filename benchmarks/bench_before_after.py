"""Nothing got slower (issue 30): this tree against an earlier commit, on the existing benchmarks' shapes.

The baseline is the ``clocksim`` package of a git ref (default ``ROUND_TWO``, the last commit of round
two), extracted with ``git archive`` into a temporary folder and imported as ``clocksim_base`` beside
this tree's ``clocksim`` (both import themselves only relatively), each with its own kernels and numba
cache. Each shape runs on both in this one process, interleaved round by round (bench_checks'
``compare``: CPU time per sample, the garbage collector out of it, medians, minima and the median of
back-to-back pairs). The script refuses to report while the machine is busy (load average > 0.5).

Shapes: bench_checks' four (the compiled engine at B=32 g=8x64 n_in=32 L=512 and B=1 g=8x16 n_in=4
L=4096; the event engine's synchronous and latency paths), the compiled BPTT (``loss_and_grad``) at
B=32 g=8x64 L=128, and the event engine with a non-preemptive compute model (round two's keys; the
new tree with ``readout=False``, round two's meaning). A ratio new/base under 1 is faster now.

Run: python benchmarks/bench_before_after.py [--ref COMMIT] [--rounds 12] [--only TEXT] [--busy-ok]
"""

import argparse
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

import _common
import numpy as np
from bench_checks import ROOT, compare, line, shapes, wait_for_quiet

import clocksim

#: The last commit of round two (2026-11-29).
ROUND_TWO = "1d514a9"


def load_ref(ref: str, folder: Path):
    """The ``clocksim`` package of git ``ref``, imported as ``clocksim_base`` from ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "clocksim"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "clocksim").rename(folder / "clocksim_base")
    sys.path.insert(0, str(folder))
    return importlib.import_module("clocksim_base")


def more_shapes(cs, new: bool):
    """The BPTT and compute-model shapes, with the package ``cs`` (``new``: this tree's keys)."""
    rng = np.random.default_rng(1)
    m = cs.ClockworkRNN(32, 4, [64] * 8, cs.exponential_periods(8), seed=0)
    x, y = rng.normal(size=(32, 128, 32)), rng.normal(size=(32, 128, 4))
    out = [("compiled BPTT g8x64 B32 L128", lambda: cs.loss_and_grad(m, x, y))]
    e = cs.ClockworkRNN(1, 1, [2] * 8, cs.exponential_periods(8), seed=0)
    xe = rng.normal(size=(20000, 1))
    macs = cs.cost.activation_macs(e.module_sizes, e.block_mask, e.n_in)
    throughput = float(sum(k / T for k, T in zip(macs, e.periods))) / (2 * 0.6)      # 2 cores, 60 % busy
    keys = dict(cores=2, throughput=throughput, **({"readout": False} if new else {}))
    compute = cs.ComputeModel(**keys)
    out.append(("events g8x2 L20000 compute model", lambda: cs.simulate(e, xe, engine="events", compute=compute)))
    return out


def same_result(a, b) -> bool:
    if isinstance(a, tuple):                                   # (loss, grads)
        return a[0] == b[0] and all(np.array_equal(a[1][k], b[1][k]) for k in a[1])
    return np.array_equal(a.y, b.y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=ROUND_TWO)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--only", default="", help="run only the shapes whose name contains this")
    ap.add_argument("--busy-ok", action="store_true", help="report even when the machine is busy")
    args = ap.parse_args()
    load_before = wait_for_quiet("bench_before_after", args.busy_ok)
    with tempfile.TemporaryDirectory(prefix="bench_before_after.") as tmp:
        base = load_ref(args.ref, Path(tmp))
        runs = {"base": shapes(base) + more_shapes(base, False), "new": shapes(clocksim) + more_shapes(clocksim, True)}
        result = {}
        for (shape, old), (_, new) in zip(runs["base"], runs["new"]):
            if args.only in shape:
                result[shape] = compare(old, new, args.rounds, same=same_result)
                print(line(shape, result[shape]), file=sys.stderr)
    _common.report("before_after", {
        "baseline": f"clocksim at {args.ref}", "new": "this tree", "rounds": args.rounds, "clock": "process_time",
        "load_average_before": load_before, "load_average_after": __import__("os").getloadavg(),
        "shapes": result, "slower": [s for s, r in result.items() if r["ratio_median"] > 1.03],
    })


if __name__ == "__main__":
    main()
