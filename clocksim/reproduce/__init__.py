"""``clocksim reproduce``: the paper's experiments (sections 4.1 and 4.2) end to end, tables and figures.

:func:`reproduce` runs the learning-rate scans, then the reported runs (see
:mod:`clocksim.reproduce.plan`), in a pool of worker processes, and writes an
output folder (whole or not at all) with

- ``results.json``: every run's record, the chosen learning rates, the best
  generated sequences, the schedules' costs and the wall time;
- ``tables.md``: the tables of :mod:`clocksim.reproduce.tables`, computed from
  ``results.json`` alone;
- ``generation.png`` and ``nmse.png``: the figures, from ``results.json`` alone.

``docs/reproduction.md`` carries the tables of the committed full run
(``results/reproduction/``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .plan import EXPERIMENTS, FULL, QUICK, SCHEDULES, Settings, is_generation, main_jobs, scan_jobs, schedule_jobs
from .tables import doc_tables, fill_doc, render_tables, select_learning_rates, tables
from .worker import build_model, run_jobs

__all__ = ["reproduce", "tables", "render_tables", "fill_doc", "doc_tables", "FULL", "QUICK", "Settings",
           "write_outputs"]


def reproduce(out, *, quick: bool = False, jobs: int = 1, progress: bool = True, force: bool = False,
              settings: Settings | None = None) -> dict:
    """Run the reproduction and write its folder ``out``; returns the results dict.

    Parameters
    ----------
    out : path
        Output folder (appears whole at the end; an existing non-empty one needs ``force``).
    quick : bool
        The short configuration (:data:`QUICK`: under two minutes on two cores, about 20 s when idle; the
        numbers only check the machinery). The full one takes about 40 minutes with ``jobs=1``, 20 with 2.
    jobs : int
        Worker processes. The results do not depend on it (only the timings do).
    progress : bool
        Progress bars on a terminal.
    settings : Settings, optional
        Overrides ``quick`` (tests use a smaller one).
    """
    from ..folders import output_folder
    from ..tasks.japanese_vowels import require_datasets

    require_datasets("clocksim reproduce (its JapaneseVowels experiment)")     # before any run, not an hour in
    settings = settings or (QUICK if quick else FULL)
    t0 = time.perf_counter()
    with output_folder(out, force) as tmp:
        scans = run_jobs(scan_jobs(settings), jobs, progress, "learning-rate scans")
        chosen = select_learning_rates({"records": scans})
        planned = main_jobs(settings, chosen) + schedule_jobs(settings, chosen)
        for job in planned:
            job["keep_output"] = job["experiment"] == "generation" and job["budget"] == max(
                EXPERIMENTS["generation"]["budgets"])
        records = run_jobs(planned, jobs, progress, "runs")
        results = {"settings": dataclasses.asdict(settings), "jobs": jobs, "learning_rates": chosen,
                   "best_outputs": _best_outputs(records), "costs": schedule_costs(),
                   "records": [_strip(r) for r in scans + records],
                   "wall_seconds": time.perf_counter() - t0}
        write_outputs(results, tmp)
    return results


def write_outputs(results: dict, folder: Path) -> None:
    """Write ``results.json``, ``tables.md`` and the figures of ``results`` into ``folder``."""
    import matplotlib.pyplot as plt

    from .. import plot
    from .figures import plot_generated, plot_nmse

    folder = Path(folder)
    (folder / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (folder / "tables.md").write_text(render_tables(results), encoding="utf-8")
    for name, draw in (("generation.png", plot_generated), ("nmse.png", plot_nmse)):
        fig = draw(results)
        try:
            plot.save_figure(fig, folder / name, dpi=80)
        finally:
            plt.close(fig)


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("output", "keep_output")}


def _best_outputs(records: list[dict]) -> dict:
    """Per model and piece: the generated sequence of the run with the lowest NMSE."""
    best: dict = {}
    for r in records:
        if "output" not in r:
            continue
        slot = best.setdefault(r["model"], {})
        key = str(r["task"]["piece"])
        if key not in slot or r["value"] < slot[key]["nmse"]:
            slot[key] = {"seed": r["seed"], "nmse": r["value"], "output": r["output"]}
    return best


def schedule_costs() -> dict:
    """Multiply-adds per step of each schedule's CW-RNN on each classification task (compiled engine trace)."""
    from ..engine import simulate
    from ..tasks import make_task

    costs: dict = {}
    for name, spec in EXPERIMENTS.items():
        if is_generation(name):
            continue
        task = make_task(**spec["task"])
        g = len(spec["periods"])
        for schedule, periods in SCHEDULES.items():
            job = {"model": "cwrnn", "budget": spec["budgets"][-1], "rule": spec["rule"], "periods": periods(g),
                   "schedule": schedule, "seed": 0}
            model = build_model(job, task)
            summary = simulate(model, task.x_test[:1], engine="compiled").trace.summary()
            steps = task.x_test.shape[1]
            costs.setdefault(name, {})[schedule] = {"macs_per_step": summary["macs"] / steps,
                                                    "speedup_vs_dense": float(summary["speedup_vs_dense"]),
                                                    "steps": int(steps)}
    return costs


