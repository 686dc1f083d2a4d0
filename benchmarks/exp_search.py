"""Evidence for the schedule search (docs/search.md): does it find good schedules in few runs?

1. Phase placement (scenarios/searches/phase_placement.toml, the problem of phase_aligned.toml:
   8 modules, 2 cores, deadline 1): per seed and sampler (TPE, random), the trial at which the
   search first reaches 0 deadline misses, and its best p99 and p50 against clocksim.stagger_phases.
2. Hypervolume at equal runs (scenarios/searches/periods_latency.toml: free periods, objectives
   multiply-adds and p99 latency, constraint no deadline miss): TPE, NSGA-II and random sampling,
   several seeds, against a grid of the same number of runs (geometric periods round(b**i) over 100
   values of the base b; the grid a sweep would run).
3. (``--only words``, slow) Periods for the synthetic-words task (scenarios/searches/word_periods.toml):
   the best test error found at no more multiply-adds than exponential periods, within the trial budget.

Writes results/search/phase_placement.json, hypervolume.json and word_periods.json (with provenance).
Run: PYTHONPATH=. python benchmarks/exp_search.py [--trials 100] [--seeds 3]
"""

import argparse
import json
import tempfile
from pathlib import Path

import _common  # noqa: F401  (pins BLAS and numba to one thread; before numpy)
import numpy as np

from clocksim.execute import execute
from clocksim.provenance import provenance
from clocksim.scenario import load_scenario, parse_scenario
from clocksim.search import load_search, pareto_indices, search

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "search"


def first_reaching(table, predicate):
    done = [r for r in sorted(table, key=lambda r: r["number"]) if r["state"] == "COMPLETE"]
    return next((r["number"] + 1 for r in done if predicate(r)), None)


def placement(trials: int, seeds: int) -> dict:
    stagger = execute(load_scenario(ROOT / "scenarios" / "phase_staggering.toml")).summary
    aligned = execute(load_scenario(ROOT / "scenarios" / "phase_aligned.toml")).summary
    base = load_search(ROOT / "scenarios" / "searches" / "phase_placement.toml")
    runs = []
    for sampler in ("tpe", "random"):
        for seed in range(seeds):
            spec = load_search(base.path)
            spec.sampler, spec.seed = sampler, seed
            with tempfile.TemporaryDirectory() as tmp:
                res = search(spec, tmp, trials=trials, figures=False)
            ok = [r for r in res.table if r["state"] == "COMPLETE" and r["deadline_misses"] == 0]
            best = min(ok, key=lambda r: (r["latency.p99"], r["latency.p50"])) if ok else None
            runs.append({"sampler": sampler, "seed": seed, "trials": trials,
                         "first_zero_misses": first_reaching(res.table, lambda r: r["deadline_misses"] == 0),
                         "first_p99_at_most_stagger": first_reaching(
                             res.table, lambda r: r["deadline_misses"] == 0
                             and r["latency.p99"] <= stagger["latency"]["p99"] + 1e-12),
                         "best_p99": None if best is None else best["latency.p99"],
                         "best_p50": None if best is None else best["latency.p50"],
                         "best_phases": None if best is None else best["model.phases"],
                         "best_priority": None if best is None else best["engine.compute.priority"]})
            print(runs[-1], flush=True)
    return {"stagger_phases": {"deadline_misses": stagger["deadline_misses"], **stagger["latency"]},
            "aligned": {"deadline_misses": aligned["deadline_misses"], **aligned["latency"]}, "runs": runs}


def hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by ``points`` (both objectives minimised) inside the box below ``ref``."""
    pts = points[np.all(points < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    area, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            nxt = ref[0]
            area += (nxt - x) * (best_y - y)
            best_y = y
    return float(area)


def feasible_points(rows, keys):
    return np.array([[r[k] for k in keys] for r in rows if r["state"] == "COMPLETE" and r["feasible"]], dtype=float)


def grid_rows(spec, runs: int):
    """``runs`` geometric schedules round(b**i), b from 1.05 to 2.0 (sorted, duplicates kept as runs)."""
    rows = []
    for n, b in enumerate(np.linspace(1.05, 2.0, runs)):
        periods = sorted(int(min(128, max(1, round(b ** i)))) for i in range(8))
        scenario = parse_scenario(spec.scenario({"model.periods": periods}), spec.scenario_path)
        s = execute(scenario).summary
        rows.append({"number": n, "state": "COMPLETE", "feasible": s["deadline_misses"] == 0, "macs": s["macs"],
                     "latency.p99": s["latency"]["p99"], "model.periods": periods})
    return rows


def hypervolumes(trials: int, seeds: int) -> dict:
    base = load_search(ROOT / "scenarios" / "searches" / "periods_latency.toml")
    keys = ["macs", "latency.p99"]
    fronts = {}
    for sampler in ("tpe", "nsga2", "random"):
        for seed in range(seeds):
            spec = load_search(base.path)
            spec.sampler, spec.seed = sampler, seed
            with tempfile.TemporaryDirectory() as tmp:
                res = search(spec, tmp, trials=trials, figures=False)
            fronts[(sampler, seed)] = feasible_points(res.table, keys)
            print(sampler, seed, len(fronts[(sampler, seed)]), flush=True)
    fronts[("grid", 0)] = feasible_points(grid_rows(base, trials), keys)
    everything = np.vstack([p for p in fronts.values() if len(p)])
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    ref = np.array([1.1, 1.1])

    def hv(points):
        return hypervolume_2d((points - lo) / (hi - lo), ref) if len(points) else 0.0

    out = {}
    for (sampler, seed), pts in fronts.items():
        front = pts[pareto_indices(pts.tolist(), ["minimize", "minimize"])] if len(pts) else pts
        out.setdefault(sampler, []).append({"seed": seed, "hypervolume": hv(pts), "feasible": int(len(pts)),
                                            "front": front.tolist()})
    summary = {s: {"mean": float(np.mean([r["hypervolume"] for r in v])),
                   "min": float(np.min([r["hypervolume"] for r in v])),
                   "max": float(np.max([r["hypervolume"] for r in v]))} for s, v in out.items()}
    return {"trials_per_run": trials, "objectives": keys, "normalisation": {"low": lo.tolist(), "high": hi.tolist()},
            "reference_point": ref.tolist(), "summary": summary, "runs": out}


def words(trials: int, seeds: int) -> dict:
    """Periods for the synthetic-words task against the exponential periods of the base scenario."""
    base = execute(load_scenario(ROOT / "scenarios" / "synthetic_words.toml")).summary
    spec0 = load_search(ROOT / "scenarios" / "searches" / "word_periods.toml")
    runs = []
    for seed in range(seeds):
        spec = load_search(spec0.path)
        spec.seed = seed
        with tempfile.TemporaryDirectory() as tmp:
            res = search(spec, tmp, trials=trials, figures=False)
        ok = [r for r in res.table if r["state"] == "COMPLETE" and r["feasible"]]
        best = min(ok, key=lambda r: (r["accuracy.value"], r["macs"])) if ok else None
        runs.append({"seed": seed, "trials": trials, "states": [r["state"] for r in res.table],
                     "first_no_worse": first_reaching(res.table, lambda r: r["feasible"] and
                                                      r["accuracy.value"] <= base["accuracy"]["value"]),
                     "best": None if best is None else {k: best[k] for k in ("number", "model.periods",
                                                                             "accuracy.value", "macs")},
                     "wall_seconds": sum(r["wall_time"] or 0 for r in res.table)})
        print(runs[-1], flush=True)
    return {"exponential": {"periods": [1, 2, 4, 8, 16, 32, 64], "error": base["accuracy"]["value"],
                            "macs": base["macs"]}, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", choices=["placement", "hypervolume", "words"])
    ap.add_argument("--word-trials", type=int, default=30)
    ap.add_argument("--word-seeds", type=int, default=1)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "placement"):
        data = {"experiment": "phase placement", **placement(args.trials, args.seeds), "provenance": provenance()}
        (OUT / "phase_placement.json").write_text(json.dumps(data, indent=2, default=float) + "\n")
    if args.only in (None, "hypervolume"):
        data = {"experiment": "hypervolume at equal runs", **hypervolumes(args.trials, args.seeds),
                "provenance": provenance()}
        (OUT / "hypervolume.json").write_text(json.dumps(data, indent=2, default=float) + "\n")
        print(json.dumps(data["summary"], indent=2))
    if args.only == "words":             # slow (about 40 s a trial): run on its own
        data = {"experiment": "synthetic-words periods", **words(args.word_trials, args.word_seeds),
                "provenance": provenance()}
        (OUT / "word_periods.json").write_text(json.dumps(data, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
