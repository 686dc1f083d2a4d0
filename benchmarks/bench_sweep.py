"""Wall time of the sample sweep (scenarios/sweeps/phase_schedules.toml, 54 points) run serially in one
process against a local cluster of 2 worker processes (cluster start-up included), interleaved.

    python benchmarks/bench_sweep.py [--repeats 3] [--steps 16384]

Each round starts from an empty results folder, so every point is computed; figures are skipped
(they cost the same either way). Both runs must give the same table. ``--steps`` lengthens every
point (the sweep's fixed ``input.steps``, 4096 in the file) to see how the fixed cost of a local
cluster (start, worker warm-up, shutdown: about 1.5 s here) weighs against longer work.
"""

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

import _common  # noqa: F401  (pins BLAS and numba to one thread per process)

from clocksim.app.sweep import parse_sweep, run_sweep  # noqa: E402
from clocksim.app.sweep.schedulers import default_workers  # noqa: E402

SWEEP = Path(__file__).resolve().parent.parent / "scenarios" / "sweeps" / "phase_schedules.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="input steps of every point (default: the file's)")
    args = parser.parse_args()
    raw = tomllib.loads(SWEEP.read_text())
    if args.steps is not None:
        raw["fixed"]["input"]["steps"] = args.steps
    sweep = parse_sweep(raw, SWEEP)
    work = Path(tempfile.mkdtemp(prefix="bench_sweep."))
    tables = {}

    def run(name, scheduler, workers):
        def go():
            out = work / name
            shutil.rmtree(out, ignore_errors=True)
            result = run_sweep(sweep, out, scheduler=scheduler, workers=workers, progress=False, figures=False)
            assert result.ran == len(sweep.points) and result.failed == 0
            tables[name] = sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in result.table),
                                  key=lambda r: r["id"])
        return go

    try:
        times = _common.time_interleaved({"serial": run("serial", "serial", None),
                                          "processes_2": run("processes_2", "processes", 2)},
                                         repeats=args.repeats, warmup=1)
        assert tables["serial"] == tables["processes_2"], "the two schedulers gave different tables"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _common.report("sweep", {
        "sweep": str(SWEEP.relative_to(SWEEP.parents[2])), "points": len(sweep.points),
        "steps_per_point": raw["fixed"]["input"]["steps"],
        "cores_available": default_workers(),
        "seconds": {k: {"median": v["median"], "min": v["min"]} for k, v in times.items()},
        "serial_over_2_workers": _common.ratio(times, "serial", "processes_2"),
    })


if __name__ == "__main__":
    main()
