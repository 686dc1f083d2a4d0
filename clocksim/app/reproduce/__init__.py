"""``clocksim reproduce``: the paper's experiments (sections 4.1 and 4.2) end to end, tables and figures.

:func:`reproduce` runs the learning-rate scans, then the reported runs (see
:mod:`clocksim.reproduce.plan`), in a pool of worker processes, and writes an
output folder (whole or not at all) with

- ``results.json``: every run's record, the chosen learning rates, the best
  generated sequences, the schedules' costs, the wall time, and where it came
  from: ``provenance`` (:func:`clocksim.provenance.provenance` of the command)
  and ``worker_provenance`` (the workers' distinct provenances; each record's
  ``provenance`` is an index into that list);
- ``tables.md``: the tables of :mod:`clocksim.reproduce.tables`, computed from
  ``results.json`` alone;
- ``generation.png`` and ``nmse.png``: the figures, from ``results.json`` alone.

``docs/reproduction.md`` carries the tables of the committed full run
(``results/reproduction/``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from ..._files import atomic_write, write_json
from ..provenance import provenance
from .plan import EXPERIMENTS, FULL, QUICK, SCHEDULES, Settings, is_generation, main_jobs, scan_jobs, schedule_jobs
from .tables import doc_tables, fill_doc, render_tables, select_learning_rates, tables
from .worker import job_scenario, run_jobs

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
        numbers only check the machinery). The full one is about an hour of training: 20-32 minutes with ``jobs=2``.
    jobs : int
        Worker processes. The results do not depend on it (only the timings do).
    progress : bool
        Progress bars on a terminal.
    settings : Settings, optional
        Overrides ``quick`` (tests use a smaller one).
    """
    from ..folders import output_folder
    from ...train.tasks.japanese_vowels import require_datasets

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
        workers, stripped = _provenances(scans + records)
        results = {"settings": dataclasses.asdict(settings), "jobs": jobs, "learning_rates": chosen,
                   "best_outputs": _best_outputs(records), "costs": schedule_costs(),
                   "provenance": provenance(), "worker_provenance": workers, "records": stripped,
                   "wall_seconds": time.perf_counter() - t0}
        write_outputs(results, tmp)
    return results


def write_outputs(results: dict, folder: Path) -> None:
    """Write ``results.json``, ``tables.md`` and the figures of ``results`` into ``folder``."""
    import matplotlib.pyplot as plt

    from ... import plot
    from .figures import plot_generated, plot_nmse

    folder = Path(folder)
    write_json(folder / "results.json", results, indent=1)
    text = render_tables(results)
    atomic_write(folder / "tables.md", lambda f: f.write(text.encode("utf-8")))
    for name, draw in (("generation.png", plot_generated), ("nmse.png", plot_nmse)):
        fig = draw(results)
        try:
            plot.save_figure(fig, folder / name, dpi=80)
        finally:
            plt.close(fig)


def _provenances(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """The workers' distinct provenances, and the records without their outputs, each naming its worker's
    provenance by its index in that list (``record["provenance"]``)."""
    distinct: list[dict] = []
    stripped = []
    for record in records:
        if record["provenance"] not in distinct:
            distinct.append(record["provenance"])
        stripped.append({**{k: v for k, v in record.items() if k not in ("output", "keep_output")},
                         "provenance": distinct.index(record["provenance"])})
    return distinct, stripped


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
    """Multiply-adds per step of each schedule's CW-RNN on each classification task (one test sequence, through
    :func:`clocksim.execute.execute`; the model untrained: its cost does not depend on its weights)."""
    from ..execute import execute
    from ..scenario import parse_scenario

    costs: dict = {}
    for name, spec in EXPERIMENTS.items():
        if is_generation(name):
            continue
        g = len(spec["periods"])
        for schedule, periods in SCHEDULES.items():
            job = {"experiment": name, "model": "cwrnn", "budget": spec["budgets"][-1], "rule": spec["rule"],
                   "periods": periods(g), "task": spec["task"], "seed": 0}
            summary = execute(parse_scenario(job_scenario(job))).summary
            steps = summary["n_steps"]
            costs.setdefault(name, {})[schedule] = {"macs_per_step": summary["macs"] / steps,
                                                    "speedup_vs_dense": float(summary["speedup_vs_dense"]),
                                                    "steps": int(steps)}
    return costs
