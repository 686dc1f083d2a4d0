"""Write the output folders of ``clocksim run`` and ``compare`` from :func:`clocksim.execute.execute`'s runs.

An output folder appears whole or not at all: everything is written into a
temporary sibling folder that is renamed into place at the end, so a failure or
Ctrl-C leaves no half-written folder. An existing non-empty folder is replaced
only with ``force=True``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..plot import _format as fmt
from .. import plot
from .execute import execute
from .kinds import pipeline
from .folders import OutputExistsError, check_folder, folder_lock, make_parents, output_folder, remove_made
from ..trace.files import write_npz
from .scenario import Scenario, ScenarioError, digest
from .._files import write_json
from ..trace.core import Trace

__all__ = ["run_scenario", "compare_scenarios", "OutputExistsError", "format_comparison", "output_folder",
           "untraced_report"]


def run_scenario(scenario: Scenario, out_dir, *, force: bool = False, progress: bool = True,
                 resume: bool = False) -> dict:
    """Run ``scenario`` (:func:`clocksim.execute.execute`) and write its folder; returns the summary
    (see :func:`_run_scenario`).

    The folder is locked for the whole run (a second process writing it is refused), and a folder
    this run created is removed again if the run fails before anything whole was written into it
    (e.g. training that diverges in its first epoch).
    """
    out = check_folder(out_dir)
    existed = out.exists()
    try:
        made = make_parents(out)
    except OSError as exc:
        raise OutputExistsError(f"cannot create {out_dir} ({exc.strerror or exc})", key="--out") from None
    try:
        with folder_lock(out):
            try:
                return _run_scenario(scenario, out_dir, force=force, progress=progress, resume=resume)
            except BaseException:
                if not existed and out.is_dir() and not any(out.iterdir()):
                    out.rmdir()
                raise
    except BaseException:
        remove_made(made)                # the folders created above it, once the lock file is gone
        raise


def _run_scenario(scenario: Scenario, out_dir, *, force: bool = False, progress: bool = True,
                  resume: bool = False) -> dict:
    """Run ``scenario`` and write its folder; returns the summary.

    Writes ``summary.json``, ``trace.csv``, ``trace.json`` (Chrome trace events),
    ``trace.npz`` (for ``clocksim plot``), the figures (``activity.png`` always),
    ``report.md`` and ``scenario.json`` (the scenario as run, overrides included).

    With a ``[task]`` the model is first trained (with ``[train]``) and scored
    on the task's test set; the trained model is what is simulated, the score
    goes into the summary under ``"accuracy"`` and the folder also holds
    ``params.npz`` (the trained weights, usable as ``model.params``),
    ``history.json`` and ``checkpoint.npz``. While training, ``checkpoint.npz``
    is written into ``out_dir`` every ``train.checkpoint_every`` epochs, so an
    interrupted run leaves only that file there; ``resume=True`` continues
    from it (the rest of the folder still appears whole at the end).
    """
    checkpoint = _checkpoint(scenario, Path(out_dir), force, resume)
    if checkpoint is not None:
        force = True                                     # the folder holds this run's own checkpoint
    with output_folder(out_dir, force) as tmp:
        run = execute(scenario, progress=progress, checkpoint=checkpoint, resume=resume)
        summary = run.summary
        if run.fit is not None:
            _write_fit(tmp, run.fit, checkpoint)
        write_json(tmp / "summary.json", summary)
        text = pipeline(scenario.model).write(tmp, scenario, run)     # trace files and figures when simulated
        write_json(tmp / "scenario.json", scenario.raw)
        (tmp / "report.md").write_text(text, encoding="utf-8")
    return summary


def write_traced(folder: Path, scenario: Scenario, run) -> str:
    """Write the trace files and figures of a simulated ``run`` into ``folder``; the report's text."""
    trace = run.result.trace
    if scenario.output["csv"]:
        trace.to_csv(folder / "trace.csv")
    if scenario.output["chrome"]:
        trace.to_chrome(folder / "trace.json")
    if isinstance(trace, Trace):             # an aggregate trace has no rows to save
        trace.save(folder / "trace.npz", fingerprint=digest(scenario))
    return report(scenario, trace, run.summary, _figures(scenario, run.result, folder))


CHECKPOINT = "checkpoint.npz"


def _checkpoint(scenario: Scenario, out: Path, force: bool, resume: bool) -> Path | None:
    """Where the training checkpoints (``out/checkpoint.npz``), after checking the folder; None without [train].

    Whether there is a checkpoint to resume from is :func:`~clocksim.execute.execute`'s check.
    """
    if scenario.train is None:
        return None
    checkpoint = out / CHECKPOINT
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder", key="--out")
    if resume:
        return checkpoint
    if out.exists() and any(out.iterdir()):
        if not force:
            raise OutputExistsError(f"{out} exists and is not empty; pass --force to replace it or "
                                    "--resume to continue the training checkpointed there", key="--out")
        checkpoint.unlink(missing_ok=True)               # start afresh; the rest is replaced at the end
    out.mkdir(parents=True, exist_ok=True)
    return checkpoint


def _write_fit(folder: Path, fitted, checkpoint: Path | None) -> None:
    write_npz(folder / "params.npz", dict(fitted.model.params))
    if fitted.history is not None:
        write_json(folder / "history.json", fitted.history.to_dict())
    if checkpoint is not None and checkpoint.is_file():
        shutil.copy2(checkpoint, folder / CHECKPOINT)


def _figures(scenario: Scenario, res, folder: Path) -> list[str]:
    """Write each figure of ``[output] plots`` in each format of ``[output] figures``; the file names."""
    draw = figure_drawers(scenario, res)
    written = []
    for name in scenario.output["plots"]:
        written += [p.name for p in plot.save_figures(draw[name], folder / name, scenario.output.get("figures"))]
    return written


def figure_drawers(scenario: Scenario, res, size: str | None = None) -> dict[str, Callable]:
    """Name -> a function drawing that figure of a run's result (at ``size``, default ``[output] figure_size``)."""
    trace, model = res.trace, scenario.model
    size = size if size is not None else scenario.output.get("figure_size")
    return {
        "activity": lambda: plot.plot_activity(trace, size=size),
        "cost": lambda: plot.plot_cost(trace, size=size),
        "latency": lambda: plot.plot_latency(trace, size=size),
        "staleness": lambda: plot.plot_staleness(trace, size=size),
        "energy": lambda: plot.plot_energy(trace),
        "gantt": lambda: plot.plot_gantt(trace, steps=_gantt_window(trace), size=size),
        "state": lambda: plot.plot_state(res.h if res.h.ndim == 2 else res.h[0], trace=trace, size=size),
        "connectivity": lambda: plot.plot_connectivity(model.block_mask, model.mask,
                                                       labels=[model.module_label(i) for i in range(model.g)],
                                                       module_sizes=model.module_sizes, size=size),
    }


GANTT_STEPS = 48


def _gantt_window(trace: Trace):
    """Bars are only readable over a few dozen steps: show the window around the worst latency."""
    ro = trace.readouts
    if ro.shape[0] <= GANTT_STEPS:
        return None
    lat = np.nan_to_num(ro["latency"], nan=-np.inf)
    centre = float(ro["time"][int(np.argmax(lat))]) if np.isfinite(lat).any() else float(ro["time"][0])
    t0 = max(float(ro["time"][0]), centre - GANTT_STEPS / 2)
    t0 = min(t0, float(ro["time"][-1]) + 1 - GANTT_STEPS)
    return (t0, t0 + GANTT_STEPS)




# ---------------------------------------------------------------------- report
def report(scenario: Scenario, trace: Trace, summary: dict, figures: list[str]) -> str:
    """A short human-readable account of the run (Markdown)."""
    model, meta = scenario.model, trace.meta
    B, L = scenario.x.shape[0], scenario.x.shape[1]
    lines = _heading(scenario)
    lines += ["## Model", "",
             f"- {_count(model.g, 'module')} of {', '.join(map(str, model.module_sizes))} units ({model.n} in all), "
             f"{_count(model.n_in, 'input')}, {_count(model.n_out, 'output')}",
             f"- clocks: {', '.join(model.module_label(i) for i in range(model.g))}",
             f"- wiring: {model.connectivity}; steps numbered from start={model.start}",
             "", "## Run", "",
             f"- engine: {scenario.engine}; {fmt.count(L)} steps" + (f", a batch of {B} sequences" if B > 1 else ""),
             ]
    for key, text in (("compute", "compute model"), ("latency", "link latency"), ("deadline", "deadline")):
        if key in meta:
            value = meta[key]
            if key == "deadline" and meta.get("step"):
                value = f"{_num(value * meta['step'])} s ({_num(value)} steps)"
            elif key == "compute":
                value = {k: v for k, v in value.items() if v not in (None, False, 0.0, {"kind": "nominal"})
                         or k in ("preemptive", "readout")}
            lines.append(f"- {text}: {_describe(value)}")
    if meta.get("step"):
        lines.append(f"- step: {_num(meta['step'])} s per input step; times below are in seconds")
    lines += _cost_lines(model, meta, summary, L)
    if "energy" in summary:
        lines += ["", *_energy_lines(summary)]
    lines += ["", "## Inputs", "", _inputs_line(summary)]
    lines += _timing_lines(meta, summary)
    if "accuracy" in summary:
        lines += ["", "## Accuracy", "", *_accuracy_lines(scenario, summary)]
    lines += ["", "## Files", "",
              ("- `summary.json`: the totals above; `trace.csv`: one row per activation; `trace.json`: Chrome "
               "trace events (open in https://ui.perfetto.dev); `trace.npz`: the trace for `clocksim plot`."
               if isinstance(trace, Trace) else
               "- `summary.json`: the totals above (an aggregate trace: per-module totals, no per-activation files).")
              + (" `params.npz`: the trained weights; `history.json`: loss per epoch; `checkpoint.npz`: "
                 "the training state (`clocksim run --resume`)." if "accuracy" in summary else ""), ""]
    for name in figures:                             # PNGs shown, other formats linked
        stem, _, suffix = name.rpartition(".")
        lines += [f"![{stem}]({name})" if suffix == "png" else f"- [{name}]({name})", ""]
    return "\n".join(lines)


def _cost_lines(model, meta: dict, summary: dict, L: int) -> list[str]:
    """The report's cost section: totals against a dense RNN, and a row per module and the readout."""
    lines = []
    lines += ["", "## Cost", "",
              f"{fmt.count(summary['activations'])} activations and {fmt.count(summary['macs'])} multiply-adds "
              f"({summary['count_basis']}); a dense RNN of the same size would need "
              f"{fmt.count(summary['dense_macs'])}: **{fmt.value(summary['speedup_vs_dense'])}x fewer**.", "",
              "| module | clock | units | activations | multiply-adds | share |",
              "|---|---|---:|---:|---:|---:|"]
    total = max(summary["macs"], 1)
    for row in summary["per_module"]:
        label = meta["labels"][row["module"]]
        lines.append(f"| M{row['module'] + 1} | {label.split(' ', 1)[-1]} | {model.module_sizes[row['module']]} | "
                     f"{fmt.count(row['activations'])} | {fmt.count(row['macs'])} | "
                     f"{fmt.value(100 * row['macs'] / total)}% |")
    lines.append(f"| readout | every step | | {fmt.count(L)} | {fmt.count(summary.get('readout_macs', 0))} | "
                 f"{fmt.value(100 * summary.get('readout_macs', 0) / total)}% |")
    return lines


def _timing_lines(meta: dict, summary: dict) -> list[str]:
    """The report's latency (when timed) and staleness sections."""
    lines = []
    if "latency" in summary:
        lat, rea = summary["latency"], summary["reaction"]
        unit = "seconds" if summary.get("time_unit") == "s" else "steps"
        deadline = meta.get("deadline")
        shown = (f"{_num(deadline * meta['step'])} s" if meta.get("step") else _num(deadline)) \
            if deadline is not None else None
        lines += ["", "## Latency", "",
                  f"Output-complete latency (input arrival until every activation that latched the input has "
                  f"published{' and the readout job after them has finished' if summary.get('readout_response', {}).get('n') else ''}), "
                  f"in {unit}, over the {fmt.count(lat['n'])} {lat['over']}: p50 {_num(lat['p50'])}, "
                  f"p99 {_num(lat['p99'])}, max {_num(lat['max'])}.",
                  f"Reaction (input arrival to the first published state that reflects it), over the "
                  f"{fmt.count(rea['n'])} {rea['over']}: p50 {_num(rea['p50'])}, p99 {_num(rea['p99'])}, "
                  f"max {_num(rea['max'])}.",
                  f"Deadline misses (on the output-complete latency): {fmt.count(summary['deadline_misses'])} of "
                  f"{fmt.count(summary['inputs'])} inputs"
                  + (f" (deadline {shown}; the {fmt.count(summary['inputs_dropped'])} dropped inputs "
                     "count as misses)" if deadline is not None else " (no deadline set)") + ".",
                  f"Queue wait per activation: mean {_num(summary['queue_wait']['mean'])}, "
                  f"max {_num(summary['queue_wait']['max'])}."]
    if "utilisation" in summary:
        u = summary["utilisation"]
        compute = meta.get("compute", {})
        lines += ["", "## Scheduling", "",
                  f"Policy {compute.get('policy')}"
                  + (f" ({compute.get('priority')})" if compute.get("policy") == "fixed-priority"
                     and isinstance(compute.get("priority"), str) else "")
                  + f", {'preemptive' if compute.get('preemptive') else 'non-preemptive'}, "
                  f"{'partitioned' if compute.get('partition') else 'global'} on {_count(compute.get('cores', 1), 'core')}: "
                  f"{fmt.count(summary['preemptions'])} preemptions, {fmt.count(summary['migrations'])} migrations; "
                  f"cores busy {_num(100 * u['total'])}% ({', '.join(_num(100 * c) + '%' for c in u['per_core'])}); "
                  f"demand sum C/T = {_num(u['demand'])}.", "",
                  "| module | response p50 | p99 | max | jobs | preemptions | deadline misses |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for row in summary["per_module"]:
            r = row["response"]
            lines.append(f"| M{row['module'] + 1} | {_num(r['p50'])} | {_num(r['p99'])} | {_num(r['max'])} | "
                         f"{fmt.count(r['n'])} | {fmt.count(row['preemptions'])} | {fmt.count(row['deadline_misses'])} |")
        r = summary["readout_response"]
        if r["n"]:
            lines.append(f"| readout | {_num(r['p50'])} | {_num(r['p99'])} | {_num(r['max'])} | {fmt.count(r['n'])} "
                         "| | |")
        lines.append("")
        lines.append(f"Response = finish - release ({unit}); a module's deadline is its period unless "
                     "`module_deadlines` says otherwise.")
    st = summary["staleness"]
    lines += ["", "## Staleness", "",
              f"Age of the state read from other modules when it is read, over the {fmt.count(st['n'])} {st['over']}: "
              f"p50 {_num(st['p50'])}, p99 {_num(st['p99'])}, max {_num(st['max'])}"
              + (f"; messages take time ({_describe(meta['latency'])})" if "latency" in meta else "") + ".", "",
              "| module | p50 | p99 | max | largest lag |", "|---|---:|---:|---:|---:|"]
    for row in summary["per_module"]:
        lines.append(f"| M{row['module'] + 1} | {_num(row['staleness_p50'])} | {_num(row['staleness_p99'])} | "
                     f"{_num(row['staleness_max'])} | {_num(row['lag_max'])} |")
    return lines


def _energy_lines(summary: dict) -> list[str]:
    """The report's energy section: totals, placement and bytes per memory level (``summary["energy"]``)."""
    e = summary["energy"]

    def joules(v):
        if v is None:
            return "n/a"
        scale, unit = next(((f, u) for f, u in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ")) if abs(v) >= f), (1e-9, "nJ"))
        return f"{fmt.value(v / scale)} {unit}"

    lines = ["## Energy", "",
             f"On `{e['device']}` in {e['dtype']} ({summary['count_basis']}): **{joules(e['total_j'])}** in all, "
             f"{joules(e['per_step_j'])} per step; compute {joules(e['compute_j'])}, static "
             + (f"{joules(e['static_j'])} over {fmt.value(e['run_time_s'])} s" if e["static_j"] is not None
                else "not counted (no `step`, so no real time)") + ".",
             f"Weights in `{e['placement']['weights']}`, states in `{e['placement']['states']}` (each in the "
             "smallest memory level that holds it).", "",
             "| memory level | bytes read | bytes written | energy |", "|---|---:|---:|---:|"]
    for level, moved in summary["memory"].items():
        lines.append(f"| {level} | {fmt.count(moved['read'])} | {fmt.count(moved['written'])} | "
                     f"{joules(e['memory_j'][level])} |")
    return lines


def untraced_report(scenario: Scenario, summary: dict) -> str:
    """The report of a model that is not clocked (an LSTM): trained and scored, never simulated."""
    model = scenario.model
    lines = _heading(scenario) + [
        "## Model", "",
        f"- {pipeline(model).noun} of {_count(model.n, 'cell')}, {_count(model.n_in, 'input')}, "
        f"{_count(model.n_out, 'output')}: "
        f"{fmt.count(summary['n_params'])} parameters, {fmt.count(summary['step_macs'])} multiply-adds per step "
        "(gates and readout, per sequence)",
        "- not a clocked model: it is trained and scored on the task, never simulated, so there is no trace, "
        "no cost or latency table and no figure", "",
        "## Accuracy", "", *_accuracy_lines(scenario, summary), "",
        "## Files", "",
        "- `summary.json`: the numbers above; `params.npz`: the trained weights"
        + ("; `history.json`: loss per epoch; `checkpoint.npz`: the training state (`clocksim run --resume`)."
           if "epochs" in summary["accuracy"] else "."), ""]
    return "\n".join(lines)


def _heading(scenario: Scenario) -> list[str]:
    """Title, description and the ``--set`` overrides of a report."""
    lines = [f"# {scenario.name}", "", scenario.description or "(no description)", ""]
    if scenario.overrides:
        lines += [f"**Overridden for this run** (`--set`): {', '.join(f'`{o}`' for o in scenario.overrides)}. "
                  "The description above is the scenario file's; where they differ, the overrides and the "
                  "sections below are what ran.", ""]
    return lines


def _accuracy_lines(scenario: Scenario, summary: dict) -> list[str]:
    acc = summary["accuracy"]
    task = scenario.task
    lines = [f"Task: {task.description}."]
    if "epochs" in acc:
        lines.append(f"Trained {fmt.count(acc['epochs'])} epochs ({fmt.value(acc['train_seconds'])} s; best epoch "
                     f"{fmt.count(acc['best_epoch'])}" + (", stopped early" if acc["stopped_early"] else "")
                     + f"), {fmt.count(acc['n_params'])} parameters.")
    else:
        lines.append(f"Not trained (no [train] table): the model's own weights, {fmt.count(acc['n_params'])} "
                     "parameters.")
    score = (f"test NMSE {fmt.value(acc['nmse'])}" if acc["metric"] == "nmse"
             else f"test error {fmt.value(100 * acc['test_error'])}% ({fmt.value(100 * acc['test_accuracy'])}% "
                  "correct)")
    B, L = scenario.x.shape[0], scenario.x.shape[1]
    lines += ["", f"**{score[0].upper() + score[1:]}** on {fmt.count(task.x_test.shape[0])} test sequence(s), at a "
                  f"cost of {pipeline(scenario.model).cost_phrase(summary, B, L)}"]
    return lines


def _inputs_line(summary: dict) -> str:
    """One sentence on the inputs: how many were read and how many dropped (no module ever read them)."""
    dropped = summary["inputs_dropped"]
    text = f"{fmt.count(summary['inputs_read'])} of {fmt.count(summary['inputs'])} inputs read"
    if dropped:
        text += (f", **{fmt.count(dropped)} dropped** ({fmt.value(100 * dropped / max(summary['inputs'], 1))}%: "
                 "no module read them, "
                 "so no output reflects them)")
    return text + "."


def _count(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _num(value) -> str:
    return fmt.value(value)


def _seconds(value: float) -> str:
    """A time in seconds in the unit that keeps it short: ``5156 us``, ``10 ms``, ``1.28 s``."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if abs(value) >= scale:
            return f"{value / scale:.6g} {unit}"
    return f"{value * 1e9:.6g} ns" if value else "0 s"


def _describe(value) -> str:
    if isinstance(value, dict) and set(value) == {"s"}:          # a time given with a unit (ComputeModel.to_dict)
        return _seconds(value["s"])
    if isinstance(value, dict) and set(value) == {"per_s"}:
        return f"{_num(value['per_s'])}/s"
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_describe(v)}" for k, v in value.items() if v not in (None, [], {}))
    return str(value)


# ---------------------------------------------------------------------- compare
COMPARE_ROWS = [
    ("activations", lambda s: s["activations"]),
    ("multiply-adds", lambda s: s["macs"]),
    ("dense multiply-adds", lambda s: s["dense_macs"]),
    ("speed-up vs dense", lambda s: s["speedup_vs_dense"]),
    ("inputs", lambda s: s["inputs"]),
    ("inputs dropped", lambda s: s["inputs_dropped"]),
    ("latency p50 (inputs read)", lambda s: s.get("latency", {}).get("p50")),
    ("latency p99 (inputs read)", lambda s: s.get("latency", {}).get("p99")),
    ("latency max (inputs read)", lambda s: s.get("latency", {}).get("max")),
    ("reaction p99 (inputs read)", lambda s: s.get("reaction", {}).get("p99")),
    ("deadline misses (dropped included)", lambda s: s.get("deadline_misses")),
    ("staleness p99", lambda s: s["staleness"]["p99"]),
]


def format_comparison(names: list[str], summaries: list[dict]) -> str:
    """A plain-text side-by-side table of two (or more) summaries."""
    rows = [["", *names]] + [[label, *(fmt.number(get(s)) for s in summaries)] for label, get in COMPARE_ROWS]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def compare_scenarios(a: Scenario, b: Scenario, out_dir, *, force: bool = False, progress: bool = True) -> str:
    """Run two scenarios; write ``compare.png`` and ``compare.json`` into ``out_dir``; return the table."""
    names = [a.name, b.name] if a.name != b.name else [f"{a.name} (A)", f"{b.name} (B)"]
    for scenario in (a, b):
        way = pipeline(scenario.model)
        if not way.simulated:
            raise ScenarioError(f"{scenario.path or scenario.name}: model.kind: got {scenario.model.kind!r}, expected "
                                f"\"cwrnn\" or \"rnn\" (compare sets traces side by side; {way.noun} is not simulated)")
    with output_folder(out_dir, force) as tmp:
        runs = [execute(s, progress=progress) for s in (a, b)]
        summaries = [r.summary for r in runs]
        table = format_comparison(names, summaries)
        plot.save_figures(lambda: plot.plot_compare(runs[0].result.trace, runs[1].result.trace, names=tuple(names)),
                          tmp / "compare.png")
        write_json(tmp / "compare.json", dict(zip(names, summaries)))
        (tmp / "compare.txt").write_text(table + "\n", encoding="utf-8")
    return table
