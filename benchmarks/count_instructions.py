"""What the kernels' bounds checks cost, in instructions: counted by valgrind's callgrind, which the machine's
load cannot move (on this shared machine wall-clock ratios of the same two runs wander by several per cent,
more than the 2 % being measured; ``bench_checks.py`` gives the time-based figure beside it).

Variants: this tree, and this tree with every kernel bounds check taken out (``bench_checks.load_base``'s
rewrite); with ``--round-two DIR``, also the package ``clocksim_base`` found in DIR (round two's, say, from
``git archive 1d514a9 clocksim``). Shapes, each a whole ``simulate`` (SimPy and all): the event engine on
8 modules of 2 units, periods 1..128, 2000 steps, synchronous (one ``activate_sync`` per activation) and with
a link latency of 0.5 (the general path: ``activate``, ``publish``, ``deliver``); the compiled engine on
bench_checks' two configurations, g8x16 B1 L4096 (step-major) and g8x64 n_in 32 B32, here L 128 (module-major;
shorter than bench_checks' 512 to keep valgrind's time down: the checks are per call, so a shorter run
gives them a larger share).

Each count is the instructions of a process running the shape 1 + REPS times minus those of one running it
once, divided by REPS: imports, compilation and start-up drop out. Address randomization off
(``setarch -R``), ``PYTHONHASHSEED=0`` and one BLAS thread make the counts repeat to the instruction. A
first process under valgrind per variant fills the numba cache for the CPU valgrind presents (it differs
from the host's), so the counted processes only load it.

Run: python benchmarks/count_instructions.py [--reps 5] [--round-two DIR]   (needs valgrind and setarch)
"""

import argparse
import importlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _common

SHAPES = ("events g8x2 L2000", "events g8x2 L2000 latency 0.5", "compiled g8x16 B1 L4096",
          "compiled g8x64 B32 L128")


def child(folder: str, shape: str, runs: int) -> None:
    """Run ``shape`` ``runs`` times with the package in ``folder`` (``clocksim_base``), or this tree's."""
    if folder:
        sys.path.insert(0, folder)
        cs = importlib.import_module("clocksim_base")
    else:
        import clocksim as cs
    import numpy as np

    rng = np.random.default_rng(0)
    if shape.startswith("events"):
        m = cs.ClockworkRNN(1, 1, [2] * 8, cs.exponential_periods(8), seed=0)
        x = rng.normal(size=(2000, 1))
        options = {"latency": 0.5} if shape.endswith("latency 0.5") else {}
        run = lambda: cs.simulate(m, x, engine="events", **options)         # noqa: E731
    elif "B32" in shape:
        m = cs.ClockworkRNN(32, 4, [64] * 8, cs.exponential_periods(8), seed=0)
        x = rng.normal(size=(32, 128, 32))
        run = lambda: cs.simulate(m, x, engine="compiled")                  # noqa: E731
    else:
        m = cs.ClockworkRNN(4, 4, [16] * 8, cs.exponential_periods(8), seed=0)
        x = rng.normal(size=(1, 4096, 4))
        run = lambda: cs.simulate(m, x, engine="compiled")                  # noqa: E731
    for _ in range(runs):
        run()


def count(folder: str, shape: str, runs: int, out: Path) -> int:
    """Instructions of one process running ``shape`` ``runs`` times (callgrind's total)."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = ["setarch", platform.machine(), "-R", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           sys.executable, __file__, "--child", folder, shape, str(runs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        sys.exit(f"count_instructions: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def per_run(folder: str, shape: str, reps: int, tmp: Path) -> float:
    """Instructions per run of ``shape``: (count of 1 + reps runs - count of 1 run) / reps."""
    once = count(folder, shape, 1, tmp / "once.out")
    more = count(folder, shape, 1 + reps, tmp / "more.out")
    return (more - once) / reps


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--round-two", default="", help="a folder holding round two's package as clocksim_base")
    args = ap.parse_args()
    for tool in ("valgrind", "setarch"):
        if shutil.which(tool) is None:
            sys.exit(f"count_instructions: needs {tool}, which is not on PATH")
    import bench_checks
    with tempfile.TemporaryDirectory(prefix="count_instructions.") as tmp:
        tmp = Path(tmp)
        _, removed = bench_checks.load_base(tmp / "stripped")
        variants = {"this tree": "", "checks stripped": str(tmp / "stripped")}
        if args.round_two:
            variants["round two"] = str(Path(args.round_two).resolve())
        result = {}
        for name, folder in variants.items():
            for shape in SHAPES:
                count(folder, shape, 1, tmp / "warm.out")                   # compile for valgrind's CPU, once
                result.setdefault(shape, {})[name] = per_run(folder, shape, args.reps, tmp)
                print(f"{shape}: {name}: {result[shape][name]:,.0f} instructions per run", file=sys.stderr)
        for shape, r in result.items():
            r["checks_share"] = 1.0 - r["checks stripped"] / r["this tree"]
            if "round two" in r:
                r["this_tree_over_round_two"] = r["this tree"] / r["round two"]
            print(f"{shape}: checks {100 * r['checks_share']:.2f} % of the run's instructions"
                  + (f"; this tree / round two {r['this_tree_over_round_two']:.3f}" if "round two" in r else ""),
                  file=sys.stderr)
    _common.report("instructions", {
        "counter": "valgrind --tool=callgrind (Ir), setarch -R, PYTHONHASHSEED=0, one BLAS thread",
        "per_run": "(instructions of 1 + reps runs - of 1 run) / reps", "reps": args.reps,
        "stripped": f"this tree with its {removed} kernel bounds checks rewritten to dead code",
        "shapes": result, "required_checks_share": 0.02,
        "meets_target": all(r["checks_share"] < 0.02 for r in result.values()),
    })


if __name__ == "__main__":
    main()
