"""Run scenarios and write their output folders (what ``clocksim run`` and ``compare`` do).

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
from tqdm import tqdm

from . import plot
from .engine import simulate
from .errors import InvalidValueError
from .folders import OutputExistsError, check_folder, folder_lock, output_folder
from .npzfile import write_npz
from .scenario import Scenario, digest, fingerprint
from .trace import Trace, _json_default

__all__ = ["run_scenario", "compare_scenarios", "OutputExistsError", "format_comparison", "output_folder"]


def simulate_scenario(scenario: Scenario, progress: bool = True, model=None):
    """Run a scenario's model (or ``model``, e.g. the trained one) on its input with its engine.

    A progress bar is shown on a terminal.
    """
    model = scenario.model if model is None else model
    options = dict(scenario.engine_options)
    L = scenario.x.shape[1]
    with tqdm(total=L, unit="step", desc=scenario.name, disable=None if progress else True,
              leave=False) as bar:
        if scenario.engine == "events":
            options["progress"] = bar.update
        res = simulate(model, scenario.x, engine=scenario.engine, **options)
        bar.update(L - bar.n)
    return res


def run_scenario(scenario: Scenario, out_dir, *, force: bool = False, progress: bool = True,
                 resume: bool = False) -> dict:
    """Run ``scenario`` and write its folder; returns the summary (see :func:`_run_scenario`).

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
    fitted = None
    if scenario.task is not None:
        fitted = _fit(scenario, Path(out_dir), force, resume, progress)
        force = True                                     # the folder holds this run's own checkpoint
    elif resume:
        raise InvalidValueError("the scenario has no [train] table, so there is no training to resume", key="--resume")
    with output_folder(out_dir, force) as tmp:
        res = simulate_scenario(scenario, progress, model=None if fitted is None else fitted.model)
        trace = res.trace
        summary = trace.summary()
        summary["scenario"] = scenario.name
        if fitted is not None:
            summary["accuracy"] = fitted.metrics
            _write_fit(tmp, fitted, Path(out_dir) / CHECKPOINT)
        _write_json(tmp / "summary.json", summary)
        if scenario.output["csv"]:
            trace.to_csv(tmp / "trace.csv")
        if scenario.output["chrome"]:
            trace.to_chrome(tmp / "trace.json")
        trace.save(tmp / "trace.npz", fingerprint=digest(scenario))
        written = _figures(scenario, res, tmp)
        _write_json(tmp / "scenario.json", scenario.raw)
        (tmp / "report.md").write_text(report(scenario, trace, summary, written), encoding="utf-8")
    return summary


CHECKPOINT = "checkpoint.npz"


def _fit(scenario: Scenario, out: Path, force: bool, resume: bool, progress: bool):
    """Train (checkpointing into ``out``) and score the scenario's model on its task."""
    from .tasks import fit

    checkpoint = out / CHECKPOINT
    if scenario.train is None:
        if resume:
            raise InvalidValueError("the scenario has no [train] table, so there is no training to resume",
                                    key="--resume")
        return fit(scenario.model, scenario.task, None)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a folder", key="--out")
    if resume:
        if not checkpoint.is_file():
            raise InvalidValueError(f"{checkpoint} does not exist; run without --resume to start training",
                                    key="--resume")
    elif out.exists() and any(out.iterdir()):
        if not force:
            raise OutputExistsError(f"{out} exists and is not empty; pass --force to replace it or "
                                    "--resume to continue the training checkpointed there", key="--out")
        checkpoint.unlink(missing_ok=True)               # start afresh; the rest is replaced at the end
    out.mkdir(parents=True, exist_ok=True)
    return fit(scenario.model, scenario.task, scenario.train, checkpoint=checkpoint,
               resume=checkpoint if resume else None, checkpoint_every=scenario.checkpoint_every,
               progress=None if progress else False, fingerprint=fingerprint(scenario))


def _write_fit(folder: Path, fitted, checkpoint: Path) -> None:
    write_npz(folder / "params.npz", dict(fitted.model.params))
    if fitted.history is not None:
        _write_json(folder / "history.json", fitted.history.to_dict())
    if checkpoint.is_file():
        shutil.copy2(checkpoint, folder / CHECKPOINT)


def _figures(scenario: Scenario, res, folder: Path) -> list[str]:
    import matplotlib.pyplot as plt

    trace, model = res.trace, scenario.model
    draw: dict[str, Callable] = {
        "activity": lambda: plot.plot_activity(trace),
        "cost": lambda: plot.plot_cost(trace),
        "latency": lambda: plot.plot_latency(trace),
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
    lines = [f"# {scenario.name}", "", scenario.description or "(no description)", "",
             "## Model", "",
             f"- {_count(model.g, 'module')} of {', '.join(map(str, model.module_sizes))} units ({model.n} in all), "
             f"{_count(model.n_in, 'input')}, {_count(model.n_out, 'output')}",
             f"- clocks: {', '.join(model.module_label(i) for i in range(model.g))}",
             f"- wiring: {model.connectivity}; steps numbered from start={model.start}",
             "", "## Run", "",
             f"- engine: {scenario.engine}; {L} steps" + (f", a batch of {B} sequences" if B > 1 else ""),
             ]
    for key, text in (("compute", "compute model"), ("latency", "link latency"), ("deadline", "deadline")):
        if key in meta:
            lines.append(f"- {text}: {_describe(meta[key])}")
    lines += ["", "## Cost", "",
              f"{summary['activations']} activations and {summary['macs']:,} multiply-adds "
              f"({summary['count_basis']}); a dense RNN of the same size would need {summary['dense_macs']:,}: "
              f"**{summary['speedup_vs_dense']:.2f}x fewer**.", "",
              "| module | clock | units | activations | multiply-adds | share |",
              "|---|---|---:|---:|---:|---:|"]
    total = max(summary["macs"], 1)
    for row in summary["per_module"]:
        label = meta["labels"][row["module"]]
        lines.append(f"| M{row['module'] + 1} | {label.split(' ', 1)[-1]} | {model.module_sizes[row['module']]} | "
                     f"{row['activations']} | {row['macs']:,} | {100 * row['macs'] / total:.1f}% |")
    lines.append(f"| readout | every step | | {L} | {summary.get('readout_macs', 0):,} | "
                 f"{100 * summary.get('readout_macs', 0) / total:.1f}% |")
    if "latency" in summary:
        lat = summary["latency"]
        ro = trace.readouts
        unread = int(np.isnan(ro["latency"]).sum())
        lines += ["", "## Latency", "",
                  f"End-to-end latency (input arrival to the published state that reflects it), in steps: "
                  f"p50 {_num(lat['p50'])}, p99 {_num(lat['p99'])}, max {_num(lat['max'])}.",
                  f"Deadline misses: {summary['deadline_misses']} of {ro.shape[0]} inputs"
                  + (f" (deadline {_num(meta['deadline'])})" if "deadline" in meta else "") + "."
                  + (f" {unread} inputs were read by no module." if unread else "")]
        act = trace.activations
        wait = act["start"] - act["time"]
        lines.append(f"Queue wait per activation: mean {_num(float(wait.mean()))}, max {_num(float(wait.max()))}; "
                     f"staleness of reads: mean {_num(float(act['staleness'].mean()))}, "
                     f"max {_num(float(act['staleness'].max()))}.")
    if "accuracy" in summary:
        lines += ["", "## Accuracy", "", *_accuracy_lines(scenario, summary)]
    lines += ["", "## Files", "",
              "- `summary.json`: the totals above; `trace.csv`: one row per activation; `trace.json`: Chrome "
              "trace events (open in https://ui.perfetto.dev); `trace.npz`: the trace for `clocksim plot`."
              + (" `params.npz`: the trained weights; `history.json`: loss per epoch; `checkpoint.npz`: "
                 "the training state (`clocksim run --resume`)." if "accuracy" in summary else ""), ""]
    for name in figures:
        lines += [f"![{name[:-4]}]({name})", ""]
    return "\n".join(lines)


def _accuracy_lines(scenario: Scenario, summary: dict) -> list[str]:
    acc = summary["accuracy"]
    task = scenario.task
    lines = [f"Task: {task.description}."]
    if "epochs" in acc:
        lines.append(f"Trained {acc['epochs']} epochs ({acc['train_seconds']:.1f} s; best epoch {acc['best_epoch']}"
                     + (", stopped early" if acc["stopped_early"] else "") + f"), {acc['n_params']:,} parameters.")
    else:
        lines.append(f"Not trained (no [train] table): the model's own weights, {acc['n_params']:,} parameters.")
    score = (f"test NMSE {acc['nmse']:.4g}" if acc["metric"] == "nmse"
             else f"test error {100 * acc['test_error']:.1f}% ({100 * acc['test_accuracy']:.1f}% correct)")
    B = scenario.x.shape[0]
    lines += ["", f"**{score[0].upper() + score[1:]}** on {task.x_test.shape[0]} test sequence(s), at a cost of "
                  f"{summary['macs'] // max(B, 1) if summary.get('count_basis') == 'per batch' else summary['macs']:,} "
                  f"multiply-adds per simulated sequence ({summary['speedup_vs_dense']:.2f}x fewer than a dense RNN "
                  "of the same size)."]
    return lines


def _count(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


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
    ("latency p50", lambda s: s.get("latency", {}).get("p50")),
    ("latency p99", lambda s: s.get("latency", {}).get("p99")),
    ("latency max", lambda s: s.get("latency", {}).get("max")),
    ("deadline misses", lambda s: s.get("deadline_misses")),
]


def format_comparison(names: list[str], summaries: list[dict]) -> str:
    """A plain-text side-by-side table of two (or more) summaries."""
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
        return f"{v:,}"
    rows = [["", *names]] + [[label, *(cell(get(s)) for s in summaries)] for label, get in COMPARE_ROWS]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def compare_scenarios(a: Scenario, b: Scenario, out_dir, *, force: bool = False, progress: bool = True) -> str:
    """Run two scenarios; write ``compare.png`` and ``compare.json`` into ``out_dir``; return the table."""
    import matplotlib.pyplot as plt

    names = [a.name, b.name] if a.name != b.name else [f"{a.name} (A)", f"{b.name} (B)"]
    with output_folder(out_dir, force) as tmp:
        runs = [simulate_scenario(s, progress) for s in (a, b)]
        summaries = [r.trace.summary() for r in runs]
        table = format_comparison(names, summaries)
        fig = _figure_of(plot.plot_compare(runs[0].trace, runs[1].trace, names=tuple(names)))
        try:
            plot.save_figure(fig, tmp / "compare.png")
        finally:
            plt.close(fig)
        _write_json(tmp / "compare.json", dict(zip(names, summaries)))
        (tmp / "compare.txt").write_text(table + "\n", encoding="utf-8")
    return table
