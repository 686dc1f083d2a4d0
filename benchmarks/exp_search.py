"""Evidence for the schedule search (docs/search.md): does it find good schedules in few runs?

1. Phase placement (the problem of phase_aligned.toml: 8 modules, 2 cores, deadline 1): per seed,
   sampler (TPE, random) and phase encoding (direct: scenarios/searches/phase_placement.toml; ranked:
   phase_placement_ranked.toml), the trial at which the search first reaches 0 deadline misses and
   the p99 of clocksim.stagger_phases (a lower bound here, see ``placement_bound``), and its best p99.
2. Hypervolume at equal runs on two problems: periods_latency.toml (8 free periods, phases
   staggered) and schedule_joint.toml (periods, phases, priorities and cores jointly). TPE, NSGA-II
   and random sampling, several seeds, after 25, 50 and 100 runs (the first runs of one search),
   against a grid of the same number of runs (geometric periods round(b**i), phases staggered;
   times 1..4 cores on the joint problem); paired per seed against random sampling.
3. (``--only words``, slow) Periods for the synthetic-words task (scenarios/searches/word_periods.toml):
   the search selects on the validation error; the selected periods' test error (and with two other
   weight initialisations) against exponential periods, at no more multiply-adds.

Writes results/search/phase_placement.json, hypervolume.json and word_periods.json (with provenance);
``markdown(name, data)`` renders the tables docs/search.md shows (tests/test_search.py checks them).
Run: PYTHONPATH=. python benchmarks/exp_search.py [--trials 100] [--seeds 10] [--only ...]
"""

import argparse
import json
import tempfile
from pathlib import Path

import _common  # noqa: F401  (pins BLAS and numba to one thread; before numpy)
import numpy as np

from clocksim.app.execute import execute
from clocksim.app.provenance import provenance
from clocksim.app.scenario import load_scenario, parse_scenario
from clocksim.app.search import load_search, pareto_indices, search
from clocksim.app.search.spec import Objective

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "search"
SEARCHES = ROOT / "scenarios" / "searches"
SAMPLERS = ("tpe", "nsga2", "nsga2/10", "random")   # nsga2/10: NSGA-II with population 10 (10 generations)
LABELS = {"tpe": "TPE", "nsga2": "NSGA-II, population 20", "nsga2/10": "NSGA-II, population 10",
          "random": "random sampling", "grid": "grid"}
BUDGETS = (25, 50, 100)
PROBLEMS = {"periods_latency": "8 free periods, phases staggered",
            "schedule_joint": "periods, phases, priorities and 1..4 cores"}


def first_reaching(table, predicate):
    done = [r for r in sorted(table, key=lambda r: r["number"]) if r["state"] == "COMPLETE"]
    return next((r["number"] + 1 for r in done if predicate(r)), None)


def run_search(path, sampler: str, seed: int, trials: int, first_objective: str | None = None):
    spec = load_search(path)
    if first_objective is not None:
        spec.objectives[0] = Objective(first_objective, "minimize")
    spec.sampler, _, population = sampler.partition("/")
    spec.seed = seed
    if population:
        spec.population = int(population)
    with tempfile.TemporaryDirectory() as tmp:
        res = search(spec, tmp, trials=trials, figures=False)
    return spec, sorted(res.table, key=lambda r: r["number"])


# ---------------------------------------------------------------------- 1. placement
def placement_bound(scenario) -> dict:
    """The lower bound of p50 and p99 latency over all phases, priorities and core counts.

    A sample's latency is the earliest end of an activation that read it, minus its arrival
    (engine/base.py ``_latch``); an activation starts no earlier than it fires, so a step's latency
    is at least the shortest compute time among the modules firing then. Module 1 (period 1) fires
    at every step; a module with period p covers at most 1/p of the steps. Sorted by compute time,
    the modules faster than time d cover at most sum(1/p) of the steps; every other step has
    latency >= the shortest duration among the rest. The bound for quantile q is the longest
    duration d_k whose faster modules cover less than the fraction q of the steps (exact when the
    run is a whole number of the periods' cycles, as here: 1024 steps; priorities and core counts
    only delay starts, so they cannot lower it).
    """
    model = scenario.model
    from clocksim.cost import activation_macs

    compute = scenario.engine_options["compute"]
    dur = compute.overhead + activation_macs(model.module_sizes, model.block_mask, model.n_in) / compute.throughput
    periods = [c.period for c in model.clocks]
    order = np.argsort(dur, kind="stable")
    out = {}
    for q in (0.5, 0.99):
        covered = 0.0
        for i in order:                  # latency below dur[i] needs one of the modules before i
            if covered < q:
                bound = float(dur[i])
            covered += 1.0 / periods[i]
        out[f"p{round(q * 100)}"] = bound
    out["durations"] = dur.tolist()
    return out


def placement(trials: int, seeds: int) -> dict:
    stagger = execute(load_scenario(ROOT / "scenarios" / "phase_staggering.toml")).summary
    aligned_scenario = load_scenario(ROOT / "scenarios" / "phase_aligned.toml")
    aligned = execute(aligned_scenario).summary
    target = stagger["latency"]["p99"]
    runs = []
    variants = [("direct", "latency.p50", "tpe"), ("direct", "latency.p50", "random"),
                ("direct", "queue_wait.mean", "tpe"), ("ranked", "latency.p50", "tpe"),
                ("ranked", "latency.p50", "random"), ("ranked", "queue_wait.mean", "tpe")]
    files = {"direct": "phase_placement", "ranked": "phase_placement_ranked"}
    for encoding, first, sampler in variants:        # random sampling draws the same trials for either objective
        for seed in range(seeds):
            _, table = run_search(SEARCHES / f"{files[encoding]}.toml", sampler, seed, trials, first)
            ok = [r for r in table if r["state"] == "COMPLETE" and r["deadline_misses"] == 0]
            best = min(ok, key=lambda r: (r["latency.p99"], r["latency.p50"], r["number"])) if ok else None
            runs.append({"encoding": encoding, "objectives": [first, "latency.p99"], "sampler": sampler,
                         "seed": seed, "trials": trials,
                         "first_zero_misses": first_reaching(table, lambda r: r["deadline_misses"] == 0),
                         "first_p99_at_most_stagger": first_reaching(
                             table, lambda r: r["deadline_misses"] == 0 and r["latency.p99"] <= target + 1e-9),
                         "best_p99": None if best is None else best["latency.p99"],
                         "best_p50": None if best is None else best["latency.p50"],
                         "best_phases": None if best is None else best["model.phases"],
                         "best_priority": None if best is None else best["engine.compute.priority"]})
            print(runs[-1], flush=True)
    return {"stagger_phases": {"deadline_misses": stagger["deadline_misses"], **stagger["latency"]},
            "aligned": {"deadline_misses": aligned["deadline_misses"], **aligned["latency"]},
            "bound": placement_bound(aligned_scenario), "runs": runs}


# ---------------------------------------------------------------------- 2. hypervolume
def hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by ``points`` (both objectives minimised) inside the box below ``ref``."""
    pts = points[np.all(points < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    area, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(area)


def feasible_points(rows, keys):
    pts = [[r[k] for k in keys] for r in rows if r["state"] == "COMPLETE" and r["feasible"]]
    return np.array(pts, dtype=float).reshape(-1, len(keys))


def grid_rows(spec, runs: int, cores: tuple):
    """About ``runs`` schedules: geometric periods round(b**i) (b in 1.05 .. 2.0, phases staggered)
    times the core counts ``cores`` (none: the base's)."""
    rows = []
    n_b = max(1, runs // max(1, len(cores)))
    g = spec.space.periods["modules"]
    for b in np.linspace(1.05, 2.0, n_b):
        periods = sorted(int(min(128, max(1, round(b ** i)))) for i in range(g))
        for c in cores or (None,):
            keys = {"model.periods": periods, "model.phases": "staggered"}
            if c is not None:
                keys["engine.compute.cores"] = c
            s = execute(parse_scenario(spec.scenario(keys), spec.scenario_path)).summary
            rows.append({"number": len(rows), "state": "COMPLETE", "feasible": s["deadline_misses"] == 0,
                         "macs": s["macs"], "latency.p99": s["latency"]["p99"]})
    return rows


def wilcoxon_p(differences) -> float | None:
    """Two-sided p-value of Wilcoxon's signed-rank test that paired differences centre on 0 (zeros dropped)."""
    from scipy.stats import wilcoxon

    d = [x for x in differences if x != 0]
    return float(wilcoxon(d).pvalue) if len(d) >= 2 else None


def hypervolume_problem(name: str, trials: int, seeds: int) -> dict:
    path = SEARCHES / f"{name}.toml"
    base = load_search(path)
    keys = [o.metric for o in base.objectives]
    cores = (1, 2, 3, 4) if "engine.compute.cores" in base.space.params else ()
    budgets = [b for b in BUDGETS if b <= trials]
    points, options = {}, {}
    for sampler in SAMPLERS:
        for seed in range(seeds):
            spec, table = run_search(path, sampler, seed, trials)
            options[sampler] = spec.sampler_options()
            for n in budgets:
                points[(sampler, seed, n)] = feasible_points(table[:n], keys)
            print(name, sampler, seed, len(points[(sampler, seed, trials)]), flush=True)
    grid_runs = {}
    for n in budgets:
        rows = grid_rows(base, n, cores)
        grid_runs[str(n)] = len(rows)
        points[("grid", 0, n)] = feasible_points(rows, keys)
    everything = np.vstack([p for p in points.values() if len(p)])
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    ref = np.array([1.1, 1.1])

    def hv(pts):
        return hypervolume_2d((pts - lo) / (hi - lo), ref) if len(pts) else 0.0

    values = {(s, seed, n): hv(p) for (s, seed, n), p in points.items()}
    summary = {}
    for s in (*SAMPLERS, "grid"):
        summary[s] = {}
        for n in budgets:
            v = [values[(s, seed, n)] for seed in range(seeds if s != "grid" else 1)]
            entry = {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                     "min": float(np.min(v)), "max": float(np.max(v)), "values": v}
            if s not in ("random", "grid"):
                d = [values[(s, seed, n)] - values[("random", seed, n)] for seed in range(seeds)]
                entry["minus_random"] = {"mean": float(np.mean(d)), "min": float(np.min(d)), "max": float(np.max(d)),
                                         "wins": int(sum(x > 0 for x in d)), "losses": int(sum(x < 0 for x in d)),
                                         "seeds": seeds, "wilcoxon_p": wilcoxon_p(d)}
            summary[s][str(n)] = entry
    fronts = {}
    for (s, seed, n), pts in points.items():
        if n == budgets[-1] and len(pts):
            fronts[f"{s}/{seed}"] = pts[pareto_indices(pts.tolist(), ["minimize"] * len(keys))].tolist()
    return {"search_file": str(path.relative_to(ROOT)), "what": PROBLEMS[name], "trials_per_run": trials,
            "seeds": list(range(seeds)), "budgets": budgets, "grid_runs": grid_runs, "sampler_options": options,
            "objectives": keys, "normalisation": {"low": lo.tolist(), "high": hi.tolist()},
            "reference_point": ref.tolist(), "summary": summary, "fronts": fronts}


def hypervolumes(trials: int, seeds: int) -> dict:
    return {"problems": {name: hypervolume_problem(name, trials, seeds) for name in PROBLEMS}}


# ---------------------------------------------------------------------- 3. words
def words(trials: int, seeds: int, model_seeds: int = 3) -> dict:
    """Periods for the synthetic-words task, selected on validation error, against exponential periods."""
    spec0 = load_search(SEARCHES / "word_periods.toml")

    def scores(periods):
        out = []
        for m in range(model_seeds):
            keys = {"model.seed": m} if periods is None else {"model.periods": periods, "model.seed": m}
            s = execute(parse_scenario(spec0.scenario(keys), spec0.scenario_path)).summary
            out.append({"model_seed": m, "test": s["accuracy"]["value"],
                        "validation": s["accuracy"]["validation_value"], "macs": s["macs"]})
        return out

    base = scores(None)
    runs = []
    for seed in range(seeds):
        spec, table = run_search(spec0.path, spec0.sampler, seed, trials)
        ok = [r for r in table if r["state"] == "COMPLETE" and r["feasible"]]
        best = min(ok, key=lambda r: (r["accuracy.validation_value"], r["macs"], r["number"])) if ok else None
        runs.append({"seed": seed, "trials": trials, "states": [r["state"] for r in table],
                     "selected": None if best is None else {
                         k: best[k] for k in ("number", "model.periods", "accuracy.validation_value",
                                              "accuracy.value", "macs")},
                     "selected_other_inits": None if best is None else scores(best["model.periods"])[1:],
                     "wall_seconds": sum(r["wall_time"] or 0 for r in table)})
        print(runs[-1], flush=True)
    return {"search_file": str(spec0.path.relative_to(ROOT)), "objective": spec0.objectives[0].metric,
            "constraints": [str(c) for c in spec0.constraints],
            "exponential": {"periods": [1, 2, 4, 8, 16, 32, 64], "inits": base}, "runs": runs}


# ---------------------------------------------------------------------- tables for docs/search.md
def _f(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(name: str, data: dict) -> str:
    """The table of docs/search.md made from one results file's data."""
    if name == "phase_placement":
        lines = ["| phases drawn | objectives | sampler | seeds reaching the bound | at trial | best p99 per seed |",
                 "|---|---|---|---:|---|---|"]
        groups = {}
        for r in data["runs"]:
            groups.setdefault((r["encoding"], r["objectives"][0], r["sampler"]), []).append(r)
        for (enc, first, sampler), rs in groups.items():
            hits = [r["first_p99_at_most_stagger"] for r in rs if r["first_p99_at_most_stagger"] is not None]
            lines.append(f"| {enc} | {first}, latency.p99 | {LABELS[sampler]} | {len(hits)} of {len(rs)} | "
                         f"{', '.join(map(str, hits)) or '-'} | {', '.join(_f(r['best_p99']) for r in rs)} |")
        return "\n".join(lines)
    if name.startswith("hypervolume:"):
        p = data["problems"][name.split(":", 1)[1]]
        n = len(p["seeds"])
        head = " | ".join(f"{b} runs" for b in p["budgets"])
        lines = [f"| sampler | {head} |", "|---|" + "---|" * len(p["budgets"])]
        for s in (*SAMPLERS, "grid"):
            cells = []
            for b in p["budgets"]:
                e = p["summary"][s][str(b)]
                cell = (f"{_f(e['mean'])} ± {_f(e['std'])}" if s != "grid"
                        else f"{_f(e['mean'])} ({p['grid_runs'][str(b)]} runs)")
                if "minus_random" in e:
                    d = e["minus_random"]
                    p_value = "-" if d["wilcoxon_p"] is None else f"{d['wilcoxon_p']:.3f}"
                    cell += f"; vs random {d['mean']:+.3f}, ahead {d['wins']}/{n}, p = {p_value}"
                cells.append(cell)
            lines.append(f"| {LABELS[s]} | " + " | ".join(cells) + " |")
        return "\n".join(lines)
    if name == "word_periods":
        inits = data["exponential"]["inits"]
        lines = ["| schedule | periods | validation error | test error | test error, other inits | multiply-adds |",
                 "|---|---|---:|---:|---|---:|",
                 f"| exponential (the base) | 1, 2, 4, 8, 16, 32, 64 | {_f(inits[0]['validation'])} | "
                 f"{_f(inits[0]['test'])} | {', '.join(_f(i['test']) for i in inits[1:])} | {inits[0]['macs']:,} |"]
        for r in data["runs"]:
            s = r["selected"]
            if s is None:
                lines.append(f"| search, seed {r['seed']} | no feasible trial | | | | |")
                continue
            lines.append(f"| search, seed {r['seed']} (trial {s['number']}) | "
                         f"{', '.join(map(str, s['model.periods']))} | {_f(s['accuracy.validation_value'])} | "
                         f"{_f(s['accuracy.value'])} | {', '.join(_f(i['test']) for i in r['selected_other_inits'])} "
                         f"| {s['macs']:,} |")
        return "\n".join(lines)
    raise KeyError(name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--only", choices=["placement", "hypervolume", "words"])
    ap.add_argument("--word-trials", type=int, default=30)
    ap.add_argument("--word-seeds", type=int, default=5)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    jobs = {"placement": ("phase_placement.json", "phase placement", lambda: placement(args.trials, args.seeds)),
            "hypervolume": ("hypervolume.json", "hypervolume at equal runs",
                            lambda: hypervolumes(args.trials, args.seeds)),
            "words": ("word_periods.json", "synthetic-words periods",
                      lambda: words(args.word_trials, args.word_seeds))}
    for key, (file, title, run) in jobs.items():
        if args.only == key or (args.only is None and key != "words"):      # words: slow, on its own
            data = {"experiment": title, **run(), "provenance": provenance()}
            text = json.dumps(data, indent=2, default=float) + "\n"
            tmp = OUT / f".{file}.tmp"
            tmp.write_text(text)
            tmp.replace(OUT / file)
            print(f"wrote {OUT / file}", flush=True)


if __name__ == "__main__":
    main()
