"""prune = "analysis" against plain random sampling, paired seeds (the same trials proposed in both runs).

Runs scenarios/searches/periods_pruned.toml with and without the analysis filter for each seed and
reports, in the same run: trials simulated, pruned, feasible, wall time, and the wall-time ratio (plain /
pruned): the pruned search does the same trials in that much less time. Prints os.getloadavg():
timings on a shared machine are noisy.
    python benchmarks/bench_prune.py [TRIALS] [SEEDS]
"""

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import clocksim as cs
from clocksim.app.search.spec import load_search

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ROOT / "scenarios" / "searches" / "periods_pruned.toml"


def run(prune, seed, trials, folder):
    import tomllib
    raw = tomllib.loads(SEARCH.read_text())
    raw["search"].update(seed=seed, prune=prune, scenario=str(SEARCH.parent / raw["search"]["scenario"]))
    path = folder / f"s{seed}_{prune}.toml"
    from clocksim.app.search.spec import toml_value
    lines = []
    for table, body in raw.items():
        header = f"[[{table}]]" if isinstance(body, list) else f"[{table}]"
        for item in (body if isinstance(body, list) else [body]):
            lines.append(header)
            lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
    path.write_text("\n".join(lines) + "\n")
    load_search(path)
    t0 = time.perf_counter()
    cs.search(path, folder / f"out{seed}_{prune}", trials=trials)
    wall = time.perf_counter() - t0
    rows = list(csv.DictReader(open(folder / f"out{seed}_{prune}" / "trials.csv")))
    return wall, rows


def main(trials=40, seeds=3):
    print("load", os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seed in range(seeds):
            wall_a, plain = run(False, seed, trials, tmp)
            wall_b, pruned = run("analysis", seed, trials, tmp)
            sims = sum(r["state"] == "COMPLETE" for r in pruned)
            print(f"seed {seed}: plain {len(plain)} simulated, {sum(r['feasible'] == 'true' for r in plain)} feasible, "
                  f"{wall_a:.2f} s | analysis: {sims} simulated, {len(pruned) - sims} pruned, "
                  f"{sum(r['feasible'] == 'true' for r in pruned)} feasible, {wall_b:.2f} s | ratio plain/pruned "
                  f"{wall_a / wall_b:.2f}")
    print("load", os.getloadavg())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
