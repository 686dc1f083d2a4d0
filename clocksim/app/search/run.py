"""Running a search: Optuna proposes, the scheduler runs trials, the journal remembers; then the outputs."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..._validate import as_path
from .spec import SearchError, SearchSpec, load_search, metric_value, toml_key, toml_value
from .trial import journal_storage, make_pruner, run_trial

__all__ = ["search", "SearchResult", "JOURNAL", "pareto_indices"]

JOURNAL = "study.journal"
INTERRUPTED = "interrupted (the search stopped while it ran); run again"


@dataclass
class SearchResult:
    """What :func:`search` did.

    Attributes
    ----------
    table : list of dict
        One row per trial: number, state, error, wall_time, the scenario keys set, the objectives,
        every scalar summary metric (dotted paths) and the sampler's raw parameters (``param:`` names).
    front : list of dict
        The rows of the Pareto front (feasible complete trials that no other dominates), with ``file``.
    ran : int
        Trials finished by this call (the rest were in the journal already).
    """

    spec: SearchSpec
    folder: Path
    table: list[dict]
    front: list[dict]
    ran: int
    files: list[Path]
    notes: list[str]
    wall_time: float


def search(spec, out_dir, *, trials: int | None = None, scheduler="serial", workers: int | None = None,
           progress: bool = False, figures: bool = True) -> SearchResult:
    """Search the schedules of a search file; resume the study found in ``out_dir``.

    Parameters
    ----------
    spec : SearchSpec or path of a search file
    out_dir : path
        The study's folder: ``study.journal`` (Optuna's journal, appended as trials finish, so
        running again resumes), then ``trials.csv``, ``trials.parquet``, ``front/*.toml``,
        ``pareto.png``, ``history.png`` and ``search.json``.
    trials : int, optional
        Trials in all (default the file's ``search.trials``); finished ones are not run again.
    scheduler : str or distributed.Client
        ``"serial"`` (default: each trial proposed with the knowledge of all before it),
        ``"processes"``, ``"threads"``, a dask scheduler address, or a Client (see
        :mod:`clocksim.sweep.schedulers`). Off ``"serial"`` trials run in batches of ``workers``.
    workers : int, optional
        Local workers, and the batch size; default one per available core.
    """
    import optuna

    from ..folders import check_folder, folder_lock, make_parents, remove_made
    from ..sweep.schedulers import check_scheduler

    t0 = time.perf_counter()
    spec = spec if isinstance(spec, SearchSpec) else load_search(as_path("spec", spec))
    total = spec.trials if trials is None else trials
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise SearchError(f"got {total!r}, expected an integer >= 1", key="--trials")
    check_scheduler(scheduler, workers)
    folder = check_folder(as_path("out_dir", out_dir))
    if folder.exists() and not folder.is_dir():
        raise SearchError(f"{folder} exists and is not a folder", key="--out")
    existed = folder.exists()
    made = make_parents(folder)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = None
    try:
        with folder_lock(folder):            # a second search (or run) on this folder is refused at once
            folder.mkdir(exist_ok=True)
            notes = check_journal(folder / JOURNAL)
            study, storage = _open_study(spec, folder / JOURNAL)
            done = _recover(study, storage)
            ran = _run_trials(spec, folder, study, total, done, scheduler, workers, progress)
            all_trials = study.get_trials(deepcopy=False)
    except Exception:
        if not existed and not _any_complete(study):    # nothing worth keeping (a spec's unknown metric, say)
            shutil.rmtree(folder, ignore_errors=True)
            remove_made(made)
        raise
    result = _outputs(spec, folder, all_trials, ran, figures, time.perf_counter() - t0)
    result.notes[:0] = notes
    return result


def _any_complete(study) -> bool:
    from optuna.trial import TrialState

    return study is not None and bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _run_trials(spec: SearchSpec, folder: Path, study, total: int, done: int, scheduler, workers, progress) -> int:
    """Ask, run and tell trials until ``total`` are finished; returns how many this call finished."""
    from tqdm import tqdm

    from ..folders import check_signals
    from ..sweep.schedulers import _client, default_workers, execute

    ran = 0
    batch = 1 if scheduler == "serial" else (workers or default_workers())
    with tqdm(total=total, initial=min(done, total), unit="trial", desc=spec.name,
              disable=None if progress else True) as bar, \
            (nullcontext("serial") if scheduler == "serial" else _client(scheduler, workers)) as where:
        while done < total:
            asked = {}
            for _ in range(min(batch, total - done)):
                trial = study.ask()
                overrides = spec.space.suggest(trial)
                trial.set_user_attr("overrides", overrides)
                asked[str(trial.number)] = trial
            tasks = [_task(spec, folder, study, trial) for trial in asked.values()]
            for row in execute(tasks, where, None, fn=run_trial):
                _tell(spec, study, asked[row["id"]], row)
                done, ran = done + 1, ran + 1
                bar.update(1)
                check_signals()          # a SIGTERM swallowed while a trial compiled still ends the search
    return ran


def check_journal(path: Path) -> list[str]:
    """Recover a journal whose last record was cut short (a kill, a full disk): drop that partial line,
    and note it. A damaged record before the last is refused with one line naming the file and line.

    Called with the folder locked, before any worker runs: a journal lock of Optuna found now was
    left by a search that was killed while it wrote, and is removed (Optuna would wait 30 s for it).
    """
    stale = path.with_name(path.name + ".lock")
    if stale.is_symlink() or stale.exists():
        stale.unlink()
    if not path.exists():
        return []
    with open(path, "r+b") as f:
        data = f.read()
        whole = data.rfind(b"\n") + 1
        notes = []
        if whole < len(data):
            f.truncate(whole)
            f.flush()
            os.fsync(f.fileno())
            notes.append(f"dropped an incomplete last record of {path.name} ({len(data) - whole} bytes: the search "
                         "stopped while writing it, or the disk was full)")
    for number, line in enumerate(data[:whole].splitlines(), start=1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("op_code"), int):
            raise SearchError(f"line {number}: not an Optuna journal record (the file is damaged); move the folder "
                              "away, or use another --out to start afresh", file=path)
    return notes


def _open_study(spec: SearchSpec, path: Path):
    """The study of ``spec`` in the journal ``path`` and its storage; a journal Optuna cannot replay is
    refused with one line naming it."""
    from ...errors import ClocksimError

    try:
        storage = journal_storage(path)
        return _study(spec, storage), storage
    except ClocksimError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RuntimeError) as exc:
        raise SearchError(f"not a journal Optuna can replay ({type(exc).__name__}: {str(exc)[:80]}); move the "
                          "folder away, or use another --out to start afresh", file=path) from None


def _study(spec: SearchSpec, storage):
    import optuna

    sampler = _sampler(spec)
    pruner = make_pruner(spec.prune_warmup) if spec.prune is True else optuna.pruners.NopPruner()
    study = optuna.create_study(study_name=spec.name, storage=storage, sampler=sampler, pruner=pruner,
                                directions=spec.directions, load_if_exists=True)
    mark = study.user_attrs.get("fingerprint")
    if mark is None:
        study.set_user_attr("fingerprint", spec.fingerprint())
        study.set_user_attr("search", spec.record())
    elif mark != spec.fingerprint():
        raise SearchError(f"its {JOURNAL} holds study {spec.name!r} of another search (the file, its base "
                          "scenario or its space changed); use another --out to start afresh", key="--out")
    return study


def _sampler(spec: SearchSpec):
    import optuna

    # Optuna 5 reads constraints set on the trial (Trial.set_constraint, see _tell); Optuna 4 asks constraints_func.
    constraints = _constraints_of if spec.constraints and not _trials_hold_constraints() else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if spec.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=spec.seed, constraints_func=constraints, multivariate=True,
                                              group=True, n_startup_trials=spec.startup_trials)
        if spec.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=spec.seed, constraints_func=constraints,
                                                 population_size=spec.population)
        return optuna.samplers.RandomSampler(seed=spec.seed)


def _trials_hold_constraints() -> bool:
    """True from Optuna 5 on: constraints are set on the trial, not computed by a ``constraints_func``."""
    from optuna.trial import Trial

    return hasattr(Trial, "set_constraint")


def _constraints_of(trial) -> list[float]:
    return trial.user_attrs.get("constraints", [math.inf])


def _recover(study, storage) -> int:
    """Fail the trials a killed search left running (to be asked again); return how many trials are finished."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        if trial.state == TrialState.RUNNING:
            storage.set_trial_user_attr(trial._trial_id, "error", INTERRUPTED)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            study.enqueue_trial(trial.params, skip_if_exists=False)
    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) or
               (t.state == TrialState.FAIL and t.user_attrs.get("error") != INTERRUPTED)
               for t in study.get_trials(deepcopy=False))


def _task(spec: SearchSpec, folder: Path, study, trial) -> dict:
    prune = None
    if spec.prune is True:
        prune = {"storage": str((folder / JOURNAL).absolute()), "study": spec.name, "trial_id": trial._trial_id,
                 "warmup": spec.prune_warmup}
    return {"id": str(trial.number), "scenario": spec.scenario(trial.user_attrs["overrides"]),
            "path": str(spec.scenario_path), "prune": prune, "analysis": spec.prune == "analysis"}


def _tell(spec: SearchSpec, study, trial, row: dict) -> None:
    from optuna.trial import TrialState

    trial.set_user_attr("wall_time", row.get("wall_time"))
    if row["status"] == "pruned":
        if row.get("error"):                  # why, kept in the journal (trials.csv's error column)
            trial.set_user_attr("error", row["error"])
        study.tell(trial, state=TrialState.PRUNED)
        return
    if row["status"] != "ok":
        trial.set_user_attr("error", row["error"])
        study.tell(trial, state=TrialState.FAIL)
        return
    summary = row["summary"]
    trial.set_user_attr("summary", summary)
    try:
        values = [metric_value(summary, o.metric) for o in spec.objectives]
        measured = [metric_value(summary, c.metric) for c in spec.constraints]
    except KeyError as exc:
        study.tell(trial, state=TrialState.FAIL)
        raise SearchError(exc.args[0], key="objectives/constraints", file=spec.path) from None
    bad = [m for m, v in zip([*spec.objectives, *spec.constraints], [*values, *measured])
           if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v)]
    if bad:
        trial.set_user_attr("error", f"{bad[0].metric} is {metric_value(summary, bad[0].metric)!r}, not a number")
        study.tell(trial, state=TrialState.FAIL)
        return
    violations = [c.violation(v) for c, v in zip(spec.constraints, measured)]
    trial.set_user_attr("constraints", violations)
    if _trials_hold_constraints():
        for constraint, violation in zip(spec.constraints, violations):
            trial.set_constraint(str(constraint), violation)
    study.tell(trial, values)


# ---------------------------------------------------------------------- outputs
def pareto_indices(values: list[list[float]], directions: list[str]) -> list[int]:
    """Indices of the points no other point dominates (:func:`clocksim.trace.summary.non_dominated`)."""
    from ...trace.summary import non_dominated

    return [int(i) for i in np.flatnonzero(non_dominated(values, directions))] if values else []


def _rows(spec: SearchSpec, trials) -> tuple[list[dict], list[str]]:
    keys, metrics, params = {}, {}, {}
    rows = []
    for t in trials:
        overrides = t.user_attrs.get("overrides", {})
        summary = _flat(t.user_attrs.get("summary") or {})
        row = {"number": t.number, "state": t.state.name, "error": t.user_attrs.get("error", ""),
               "wall_time": t.user_attrs.get("wall_time"), "feasible": all(v <= 0 for v in
                                                                           t.user_attrs.get("constraints", [1]))}
        row.update(overrides)
        row.update(summary)
        row.update({f"param:{k}": v for k, v in t.params.items()})
        keys.update(dict.fromkeys(overrides))
        metrics.update(dict.fromkeys(summary))
        params.update(dict.fromkeys(f"param:{k}" for k in t.params))
        rows.append(row)
    objectives = [o.metric for o in spec.objectives]
    columns = ["number", "state", "error", "wall_time", "feasible", *keys, *objectives,
               *(m for m in metrics if m not in objectives), *params]
    return rows, columns


def _flat(summary: dict, prefix: str = "") -> dict:
    """Scalar leaves of a summary by dotted path (lists, e.g. per_module, are left out)."""
    out = {}
    for k, v in summary.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out


def _outputs(spec: SearchSpec, folder: Path, trials, ran: int, figures: bool, wall: float) -> SearchResult:
    from ..folders import output_folder
    from ..provenance import provenance
    from ..sweep.results import format_cell, write_parquet
    from ..._files import atomic_write, write_json

    rows, columns = _rows(spec, trials)
    notes: list[str] = []
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_cell(row.get(c)) for c in columns])
    atomic_write(folder / "trials.csv", lambda f: f.write(text.getvalue().encode("utf-8")))
    files = [folder / "trials.csv"]
    try:
        files.append(write_parquet(folder / "trials.parquet", rows, columns,
                                   {"search": spec.record(), "provenance": provenance()}))
    except ImportError:
        notes.append("trials.parquet not written: it needs pyarrow (pip install 'clocksim[parquet]')")
    complete = [r for r in rows if r["state"] == "COMPLETE" and r["feasible"]]
    objectives = [o.metric for o in spec.objectives]
    front, seen = [], set()
    for i in pareto_indices([[r[m] for m in objectives] for r in complete], spec.directions):
        key = tuple(complete[i][m] for m in objectives)
        if key not in seen:                          # ties: the first trial that reached those values
            seen.add(key)
            front.append(complete[i])
    with output_folder(folder / "front", force=True) as tmp:
        for row in front:
            row["file"] = f"front/trial-{row['number']:04d}.toml"
            (tmp / Path(row["file"]).name).write_text(_front_toml(spec, row, trials), encoding="utf-8")
    files.append(folder / "front")
    if figures:
        files += _figures(spec, folder, complete, rows, notes)
    counts = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    record = {"search": spec.record(), "trials": len(rows), "states": counts, "ran": ran,
              "front": [{"number": r["number"], "file": r["file"], **{m: r[m] for m in objectives}} for r in front],
              "provenance": provenance()}
    write_json(folder / "search.json", record)
    files.append(folder / "search.json")
    return SearchResult(spec, folder, rows, front, ran, files, notes, wall)


def _front_toml(spec: SearchSpec, row: dict, trials) -> str:
    """A complete scenario reproducing the trial of ``row`` (``clocksim run`` gives its metrics)."""
    trial = next(t for t in trials if t.number == row["number"])
    raw = spec.scenario(trial.user_attrs["overrides"])
    raw.setdefault("scenario", {})["name"] = f"{spec.name}-trial-{row['number']}"
    values = ", ".join(f"{o.metric} = {row[o.metric]}" for o in spec.objectives)
    lines = [f"# Trial {row['number']} of search {spec.name!r} ({spec.path.name}): {values}.",
             f"# Reproduce: clocksim run {row['file']} --out DIR", ""]
    for section, table in raw.items():
        lines.append(f"[{section}]")
        lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]
        lines.append("")
    return "\n".join(lines)


def _figures(spec: SearchSpec, folder: Path, complete: list[dict], rows: list[dict], notes: list[str]) -> list[Path]:
    from ...plot import plot_pareto, save_figures
    from ...plot.history import plot_history

    objectives = spec.objectives
    x, y = (objectives[0], objectives[1]) if len(objectives) > 1 else (None, objectives[0])
    xname = x.metric if x is not None else "macs"
    draw = {"history.png": lambda: plot_history(rows, objectives[0].metric, objectives[0].direction)}
    if complete and (x is None or x.direction == "minimize"):
        table = {c: [r.get(c) for r in complete] for c in (xname, y.metric)}
        draw["pareto.png"] = lambda: plot_pareto(table, xname, y.metric, maximize_y=y.direction == "maximize")
    else:
        notes.append("pareto.png not drawn: " + ("no feasible complete trial" if not complete
                                                 else f"its x axis ({xname}) is maximised"))
    written = []
    title = f"{spec.name}: {len(rows)} trials ({spec.sampler})"
    for name, fn in draw.items():
        try:
            written += save_figures(lambda: fn().set_title(title).axes, folder / name, dpi=120)
        except ValueError as exc:
            notes.append(f"{name} not drawn: {exc}")
    return written
