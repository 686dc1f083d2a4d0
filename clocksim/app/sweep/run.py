"""Running a sweep: every point on a scheduler, rows as points finish, figures at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..._validate import as_bool, as_instance, as_path
from ..._files import write_json
from .spec import ROW_FIELDS, Sweep, SweepError

#: Files a sweep writes into its output folder (``force`` removes exactly these).
OUTPUTS = ("results.csv", "results.parquet", "sweep.json", "pareto.png", "heatmap.png")


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    table : list of dict
        One row per point of the sweep that has a result, in the sweep's order:
        id, swept keys, seed, status, error, wall_time, metrics (the latest row per id).
    ran, skipped, failed : int
        Points computed by this call, found already finished, and rows with status "error".
    files : list of Path
        Files written or updated.
    notes : list of str
        Things the caller should tell the user (a dropped partial line, a figure not drawn).
    """

    sweep: Sweep
    folder: Path
    table: list[dict]
    ran: int
    skipped: int
    failed: int
    files: list[Path]
    notes: list[str]
    wall_time: float


def run_sweep(sweep: Sweep, out_dir, *, scheduler="processes", workers: int | None = None, force: bool = False,
              retry_errors: bool = False, progress: bool = True, figures: bool = True) -> SweepResult:
    """Run the points of ``sweep`` not yet finished in ``out_dir``; record each as it finishes.

    Parameters
    ----------
    sweep : Sweep
    out_dir : path
        The results folder: ``results.csv`` (appended as points finish), then
        ``results.parquet`` (needs pyarrow), ``sweep.json``, ``pareto.png`` and
        ``heatmap.png``. Points already in ``results.csv`` (ok, or error unless
        ``retry_errors``) are skipped, so running again resumes an interrupted sweep.
    scheduler : str or distributed.Client
        ``"processes"``, ``"threads"``, ``"serial"``, a scheduler address, or a Client
        (see :mod:`clocksim.sweep.schedulers`).
    workers : int, optional
        Local workers (processes or threads); default: one per available core.
    force : bool
        Start over: remove this sweep's files (:data:`OUTPUTS`) from ``out_dir`` first.
    retry_errors : bool
        Run again the points recorded with status "error".
    progress : bool
        A progress bar on a terminal (silent otherwise).
    figures : bool
        Draw ``pareto.png`` and ``heatmap.png``.
    """
    from tqdm import tqdm

    from ..folders import folder_lock
    from .results import ResultsLog
    from .schedulers import check_scheduler, execute

    t0 = time.perf_counter()
    as_instance("sweep", sweep, Sweep, "a Sweep (clocksim.load_sweep(path))")
    for flag, value in (("force", force), ("retry_errors", retry_errors), ("progress", progress), ("figures", figures)):
        as_bool(flag, value)
    check_scheduler(scheduler, workers)
    folder = as_path("out_dir", out_dir)
    if folder.exists() and not folder.is_dir():
        raise SweepError(f"{folder} exists and is not a folder", key="--out")
    with folder_lock(folder):                 # another sweep (or run) writing here is refused, --force too
        if force and folder.is_dir():
            for name in OUTPUTS:
                (folder / name).unlink(missing_ok=True)
        notes: list[str] = []
        numeric = ["wall_time", *sweep.metrics]
        with ResultsLog(folder / "results.csv", sweep.columns, numeric) as log:
            if log.dropped:
                notes.append(f"dropped an incomplete last line of {log.path.name} (a run stopped while writing it)")
            finished = {i for i, row in log.latest().items() if row["status"] == "ok" or not retry_errors}
            todo = [p for p in sweep.points if p.id not in finished]
            write_json(folder / "sweep.json", sweep_record(sweep))
            by_id = {p.id: p for p in todo}
            total = len(sweep.points)
            with tqdm(total=total, initial=total - len(todo), unit="point", desc=sweep.name,
                      disable=None if progress else True) as bar:
                for row in execute([sweep.task(p) for p in todo], scheduler, workers):
                    log.append({**sweep.params_row(by_id[row["id"]]), **row})
                    bar.update(1)
            latest = log.latest()
    table = [{**sweep.params_row(p), **{c: latest[p.id].get(c) for c in (*ROW_FIELDS, *sweep.metrics)}}
             for p in sweep.points if p.id in latest]
    files = [folder / "results.csv", folder / "sweep.json"]
    try:
        from .results import write_parquet
        files.append(write_parquet(folder / "results.parquet", table, sweep.columns, sweep_record(sweep)))
    except ImportError:
        notes.append("results.parquet not written: it needs pyarrow (pip install 'clocksim[parquet]')")
    if figures:
        files += _figures(sweep, table, folder, notes)
    failed = sum(row["status"] == "error" for row in table)
    return SweepResult(sweep, folder, table, len(todo), total - len(todo), failed, files, notes,
                       time.perf_counter() - t0)


def sweep_record(sweep: Sweep) -> dict:
    """The sweep as plain data (``sweep.json`` and the Parquet metadata): what was asked, and of what."""
    from ... import __version__
    from ..provenance import provenance

    return {"name": sweep.name, "description": sweep.description, "file": str(sweep.path),
            "scenario": str(sweep.scenario_path), "grid_keys": sweep.grid_keys,
            "random_keys": sweep.random_keys, "seeds": sweep.seeds, "metrics": sweep.metrics, "plots": sweep.plots,
            "columns": sweep.columns, "points": len(sweep.points), "clocksim_version": __version__,
            "provenance": provenance()}


def _figures(sweep: Sweep, table: list[dict], folder: Path, notes: list[str]) -> list[Path]:
    import matplotlib.pyplot as plt

    from ...plot import plot_heatmap, plot_pareto, save_figure

    plots = sweep.plots
    draw = {}
    if plots["pareto_x"] and plots["pareto_y"]:
        draw["pareto.png"] = lambda: plot_pareto(table, plots["pareto_x"], plots["pareto_y"], by=sweep.keys)
    if plots["heatmap"] and plots["heatmap_metric"]:
        draw["heatmap.png"] = lambda: plot_heatmap(table, *plots["heatmap"], plots["heatmap_metric"],
                                                    by=sweep.keys)
    written = []
    for name, fn in draw.items():
        try:
            ax = fn()
        except ValueError as exc:          # nothing to draw (every point failed, or no such metric here)
            notes.append(f"{name} not drawn: {exc}")
            continue
        try:
            save_figure(ax.figure, folder / name, dpi=120)
        finally:
            plt.close(ax.figure)
        written.append(folder / name)
    return written


