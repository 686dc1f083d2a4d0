"""Write the output folders of ``clocksim run`` and ``compare`` from :func:`clocksim.execute.execute`'s runs.

An output folder appears whole or not at all: everything is written into a
temporary sibling folder that is renamed into place at the end, so a failure or
Ctrl-C leaves no half-written folder. An existing non-empty folder is replaced
only with ``force=True``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..plot import _format as fmt
from .. import plot
from .execute import execute
from .folders import OutputExistsError, check_folder, folder_lock, output_folder
from ..model.cwrnn import ClockworkRNN
from ..trace.files import write_npz
from .scenario import Scenario, ScenarioError, digest
from ..trace.core import Trace, _json_default

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
    with folder_lock(out):
        try:
            return _run_scenario(scenario, out_dir, force=force, progress=progress, resume=resume)
        except BaseException:
            if not existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
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
        _write_json(tmp / "summary.json", summary)
        if run.result is None:                   # an LSTM: trained and scored, never simulated, so no trace
            text = untraced_report(scenario, summary)
        else:
            trace = run.result.trace
            if scenario.output["csv"]:
                trace.to_csv(tmp / "trace.csv")
            if scenario.output["chrome"]:
                trace.to_chrome(tmp / "trace.json")
            if isinstance(trace, Trace):             # an aggregate trace has no rows to save
                trace.save(tmp / "trace.npz", fingerprint=digest(scenario))
            text = report(scenario, trace, summary, _figures(scenario, run.result, tmp))
        _write_json(tmp / "scenario.json", scenario.raw)
        (tmp / "report.md").write_text(text, encoding="utf-8")
    return summary


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
        _write_json(folder / "history.json", fitted.history.to_dict())
    if checkpoint is not None and checkpoint.is_file():
        shutil.copy2(checkpoint, folder / CHECKPOINT)


def _figures(scenario: Scenario, res, folder: Path) -> list[str]:
    import matplotlib.pyplot as plt

    trace, model = res.trace, scenario.model
    draw: dict[str, Callable] = {
        "activity": lambda: plot.plot_activity(trace),
        "cost": lambda: plot.plot_cost(trace),
        "latency": lambda: plot.plot_latency(trace),
        "staleness": lambda: plot.plot_staleness(trace),
        "gantt": lambda: plot.plot_gantt(trace, steps=_gantt_window(trace)),
        "state": lambda: plot.plot_state(res.h if res.h.ndim == 2 else res.h[0], trace=trace),
        "connectivity": lambda: plot.plot_connectivity(model.block_mask, model.mask,
                                                       labels=[model.module_label(i) for i in range(model.g)],
                                                       module_sizes=model.module_sizes),
    }
    written = []
    for name in scenario.output["plots"]:
        fig = _figure_of(draw[name]())
        try:
            plot.save_figure(fig, folder / f"{name}.png")
        finally:
            plt.close(fig)
        written.append(f"{name}.png")
    return written


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


def _figure_of(drawn):
    """The figure of what a plot function returned (an Axes, a sequence of Axes or a Figure)."""
    if hasattr(drawn, "savefig"):
        return drawn
    if hasattr(drawn, "figure"):
        return drawn.figure
    if isinstance(drawn, dict):
        return _figure_of(next(iter(drawn.values())))
    return _figure_of(drawn[0])


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")


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
            lines.append(f"- {text}: {_describe(meta[key])}")
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
    lines += ["", "## Inputs", "", _inputs_line(summary)]
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
                  f"| module | response p50 | p99 | max | jobs | preemptions | deadline misses |",
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
    if "accuracy" in summary:
        lines += ["", "## Accuracy", "", *_accuracy_lines(scenario, summary)]
    lines += ["", "## Files", "",
              ("- `summary.json`: the totals above; `trace.csv`: one row per activation; `trace.json`: Chrome "
               "trace events (open in https://ui.perfetto.dev); `trace.npz`: the trace for `clocksim plot`."
               if isinstance(trace, Trace) else
               "- `summary.json`: the totals above (an aggregate trace: per-module totals, no per-activation files).")
              + (" `params.npz`: the trained weights; `history.json`: loss per epoch; `checkpoint.npz`: "
                 "the training state (`clocksim run --resume`)." if "accuracy" in summary else ""), ""]
    for name in figures:
        lines += [f"![{name[:-4]}]({name})", ""]
    return "\n".join(lines)


def untraced_report(scenario: Scenario, summary: dict) -> str:
    """The report of a model that is not clocked (an LSTM): trained and scored, never simulated."""
    model = scenario.model
    lines = _heading(scenario) + [
        "## Model", "",
        f"- an LSTM of {_count(model.n, 'cell')}, {_count(model.n_in, 'input')}, {_count(model.n_out, 'output')}: "
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
    if "macs" not in summary:                # an LSTM computes every step
        return lines + ["", f"**{score[0].upper() + score[1:]}** on {fmt.count(task.x_test.shape[0])} test "
                            f"sequence(s), at a cost of {fmt.count(summary['step_macs'] * L)} multiply-adds per "
                            f"sequence of {fmt.count(L)} steps."]
    per_sequence = summary["macs"] // max(B, 1) if summary.get("count_basis") == "per batch" else summary["macs"]
    lines += ["", f"**{score[0].upper() + score[1:]}** on {fmt.count(task.x_test.shape[0])} test sequence(s), at a "
                  f"cost of {fmt.count(per_sequence)} multiply-adds per simulated sequence "
                  f"({fmt.value(summary['speedup_vs_dense'])}x fewer than a dense RNN "
                  "of the same size)."]
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


def _describe(value) -> str:
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
    import matplotlib.pyplot as plt

    names = [a.name, b.name] if a.name != b.name else [f"{a.name} (A)", f"{b.name} (B)"]
    for scenario in (a, b):
        if not isinstance(scenario.model, ClockworkRNN):
            raise ScenarioError(f"{scenario.path or scenario.name}: model.kind: got 'lstm', expected \"cwrnn\" or "
                                "\"rnn\" (compare sets traces side by side; an LSTM is not simulated)")
    with output_folder(out_dir, force) as tmp:
        runs = [execute(s, progress=progress) for s in (a, b)]
        summaries = [r.summary for r in runs]
        table = format_comparison(names, summaries)
        fig = _figure_of(plot.plot_compare(runs[0].result.trace, runs[1].result.trace, names=tuple(names)))
        try:
            plot.save_figure(fig, tmp / "compare.png")
        finally:
            plt.close(fig)
        _write_json(tmp / "compare.json", dict(zip(names, summaries)))
        (tmp / "compare.txt").write_text(table + "\n", encoding="utf-8")
    return table
