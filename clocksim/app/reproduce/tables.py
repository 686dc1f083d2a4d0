"""The reproduction's tables (Markdown), computed from its results only, side by side with the paper's numbers.

:func:`tables` maps a results dict (what ``clocksim reproduce`` writes to
``results.json``) to named Markdown tables; :func:`render_tables` joins them
into ``tables.md``; :func:`fill_doc` puts them into a document between
``<!-- table:NAME -->`` and ``<!-- /table:NAME -->`` markers, so a page's
tables are exactly what the command computed.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ...model.baselines import PAPER_TABLE1
from ...errors import InvalidValueError
from .plan import EXPERIMENTS, MODELS, SCHEDULES, is_generation

__all__ = ["tables", "render_tables", "fill_doc", "select_learning_rates", "ablation_table", "load_ablations",
           "rerun_table",
           "PAPER_NMSE_1000",
           "PAPER_WORD_ERROR", "TABLE_TITLES"]

#: The paper's section 4.1 text: NMSE of the 1000-parameter networks (mean +- std over 100 runs).
PAPER_NMSE_1000 = {"rnn": (0.46, 0.08), "lstm": (0.04, 0.01), "cwrnn": (0.007, 0.004)}
#: The paper's Table 2: word-classification error (%) of the largest networks on TIMIT.
PAPER_WORD_ERROR = {"rnn": (66.8, 4.7), "lstm": (34.2, 5.6), "cwrnn": (16.8, 3.5)}
LABELS = {"rnn": "RNN", "lstm": "LSTM", "cwrnn": "CW-RNN"}
TASK_LABELS = {"synthetic_words": "synthetic words (25 classes)", "japanese_vowels": "JapaneseVowels (9 speakers)"}
TABLE_TITLES = {
    "sizes": "Network sizes (hidden units and parameters)",
    "learning_rates": "Learning-rate scan",
    "generation": "Sequence generation: NMSE",
    "generation_adam": "Sequence generation with Adam instead of SGD: NMSE (not in the paper)",
    "classification": "Word classification: test error",
    "schedules": "Schedules: CW-RNN test error and cost",
}


# ------------------------------------------------------------------ aggregation
def _records(results: dict, **where) -> list[dict]:
    return [r for r in results["records"] if all(r.get(k) == v for k, v in where.items())]


def _scan_score(records: list[dict], experiment: str) -> float:
    """Generation: median NMSE (a diverged run counts as infinite); classification: mean best validation loss."""
    if is_generation(experiment):
        values = [math.inf if r["diverged"] else r["value"] for r in records]
        return float(np.median(values))
    values = [math.inf if r["diverged"] or r["best_loss"] is None else r["best_loss"] for r in records]
    return float(np.mean(values))


def select_learning_rates(results: dict) -> dict:
    """``{experiment: {model: learning_rate}}``: the grid value with the best scan score (ties: the smaller)."""
    chosen = {}
    for name, spec in EXPERIMENTS.items():
        chosen[name] = {}
        for model in MODELS:
            scores = [(_scan_score(_records(results, stage="scan", experiment=name, model=model,
                                            learning_rate=lr), name), lr) for lr in spec["lr_grid"]]
            chosen[name][model] = min(scores)[1]
    return chosen


def _stats(records: list[dict], scale: float = 1.0) -> tuple[float, float, int, int]:
    """Mean and std (ddof 0) of the finished runs' values, runs counted, runs diverged."""
    values = np.array([r["value"] for r in records if not r["diverged"]], dtype=np.float64) * scale
    diverged = sum(r["diverged"] for r in records)
    if values.size == 0:
        return math.nan, math.nan, len(records), diverged
    return float(values.mean()), float(values.std()), len(records), diverged


def _fmt(mean: float, std: float, digits: int = 3) -> str:
    if math.isnan(mean):
        return "—"
    return f"{mean:.{digits}g} ± {std:.{max(digits - 1, 1)}g}"


def _cell(records: list[dict], scale: float = 1.0, digits: int = 3) -> str:
    mean, std, n, diverged = _stats(records, scale)
    text = _fmt(mean, std, digits)
    return text + (f" ({diverged} of {n} diverged)" if diverged else "")


# ------------------------------------------------------------------ tables
def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _sizes(results: dict) -> str:
    rows = []
    for budget in EXPERIMENTS["generation"]["budgets"]:
        row = [f"generation, {budget}"]
        for model in MODELS:
            recs = _records(results, stage="main", experiment="generation", model=model, budget=budget)
            paper = PAPER_TABLE1[model][PAPER_TABLE1["budgets"].index(budget)]
            row.append(f"{recs[0]['n_hidden']} ({_count(recs[0])}) / paper {paper}" if recs else "—")
        rows.append(row)
    for name in ("synthetic_words", "japanese_vowels"):
        budget = EXPERIMENTS[name]["budgets"][-1]
        row = [f"{TASK_LABELS[name].split(' (')[0]}, {budget}"]
        for model in MODELS:
            recs = _records(results, stage="main", experiment=name, model=model)
            row.append(f"{recs[0]['n_hidden']} ({_count(recs[0])})" if recs else "—")
        rows.append(row)
    return _table(["task, parameter budget", *(LABELS[m] for m in MODELS)], rows)


def _count(record: dict) -> str:
    """Parameters as the paper counts them (CW-RNN: one more per module, its period)."""
    extra = len(record["periods"]) if record["model"] == "cwrnn" else 0
    return f"{record['n_params'] + extra:,} p."


def _learning_rates(results: dict) -> str:
    chosen = select_learning_rates(results)
    grid = sorted({lr for spec in EXPERIMENTS.values() for lr in spec["lr_grid"]})
    rows = []
    for name, spec in EXPERIMENTS.items():
        criterion = "median NMSE" if is_generation(name) else "mean best validation loss"
        for model in MODELS:
            row = [f"{name.replace('_', ' ')} ({criterion})", LABELS[model]]
            for lr in grid:
                if lr not in spec["lr_grid"]:
                    row.append("")
                    continue
                score = _scan_score(_records(results, stage="scan", experiment=name, model=model, learning_rate=lr),
                                    name)
                text = "diverged" if math.isinf(score) else f"{score:.3g}"
                row.append(f"**{text}**" if lr == chosen[name][model] else text)
            rows.append(row)
    return _table(["experiment (criterion)", "model", *(f"{lr:g}" for lr in grid)], rows,
                  ["---", "---"] + ["---:"] * len(grid))


def _generation(results: dict, experiment: str = "generation") -> str:
    rows = []
    for budget in EXPERIMENTS[experiment]["budgets"]:
        row = [f"{budget}"]
        for model in MODELS:
            row.append(_cell(_records(results, stage="main", experiment=experiment, model=model, budget=budget)))
        rows.append(row)
    rows.append(["paper, 1000 (SGD, 100 runs)", *(_fmt(*PAPER_NMSE_1000[m], digits=2) for m in MODELS)])
    return _table(["parameters", *(LABELS[m] for m in MODELS)], rows)


def _classification(results: dict) -> str:
    rows = []
    for name in ("synthetic_words", "japanese_vowels"):
        row = [TASK_LABELS[name]]
        for model in MODELS:
            row.append(_cell(_records(results, stage="main", experiment=name, model=model), 100.0) + " %")
        rows.append(row)
    rows.append(["paper: TIMIT words (25 classes), largest networks",
                 *(_fmt(*PAPER_WORD_ERROR[m]) + " %" for m in MODELS)])
    return _table(["task", *(LABELS[m] for m in MODELS)], rows)


def _schedules(results: dict) -> str:
    rows = []
    names = ("synthetic_words", "japanese_vowels")
    for schedule in SCHEDULES:
        row = [schedule]
        for name in names:
            if schedule == "exponential":
                recs = _records(results, stage="main", experiment=name, model="cwrnn")
            else:
                recs = _records(results, stage="schedule", experiment=name, schedule=schedule)
            periods = ", ".join(map(str, recs[0]["periods"])) if recs else ""
            cost = results.get("costs", {}).get(name, {}).get(schedule)
            row += [periods, _cell(recs, 100.0) + " %",
                    "—" if cost is None else f"{cost['macs_per_step']:,.0f} ({cost['speedup_vs_dense']:.2f}x)"]
        rows.append(row)
    header = ["schedule"]
    for name in names:
        short = TASK_LABELS[name].split(" (")[0]
        header += [f"{short}: periods", f"{short}: error", f"{short}: multiply-adds per step (vs dense)"]
    return _table(header, rows, ["---"] + ["---:"] * (len(header) - 1))


def tables(results: dict) -> dict[str, str]:
    """Named Markdown tables (see :data:`TABLE_TITLES`) computed from ``results``."""
    if not isinstance(results, dict) or "records" not in results:
        raise InvalidValueError("expected the dict written by clocksim reproduce (with 'records')", key="results")
    return {"meta": _meta(results), "sizes": _sizes(results), "learning_rates": _learning_rates(results),
            "generation": _generation(results), "generation_adam": _generation(results, "generation_adam"),
            "classification": _classification(results),
            "schedules": _schedules(results)}


def _meta(results: dict) -> str:
    """How the run was made: settings, number of runs, wall time, workers."""
    s = results["settings"]
    return (f"Settings: {s['name']}; generation {s['generation_epochs']} epochs x {s['generation_seeds']} seeds x "
            f"{len(s['pieces'])} pieces per cell; classification at most {s['classification_epochs']} epochs x "
            f"{s['classification_seeds']} seeds. {len(results['records'])} training runs in "
            f"{results['wall_seconds'] / 60:.1f} min of wall time with {results['jobs']} worker process(es).\n")


def load_ablations(folder) -> list[dict]:
    """The ablation files of ``folder`` (``<factor>.json``), the ``base`` one first, then by name."""
    import json
    from pathlib import Path

    files = sorted(Path(folder).glob("*.json"), key=lambda p: (p.stem != "base", p.stem))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def ablation_table(factors: list[dict]) -> str:
    """The generation-baseline ablations (``results/reproduction/ablations/*.json``, written by
    ``benchmarks/exp_baselines.py``) as one table: a row per change, a column per model, the median NMSE of the
    cell's runs (and how many diverged)."""
    rows: dict = {}
    base_lr = {row["cell"]["model"]: row["cell"]["learning_rate"] for row in factors[0]["rows"]} \
        if factors and factors[0]["factor"] == "base" else {}
    for factor in factors:
        # a factor that changes any learning rate names the rate in every row (so the models' cells line up)
        varies = any(row["cell"]["learning_rate"] != base_lr.get(row["cell"]["model"]) for row in factor["rows"])
        for row in factor["rows"]:
            cell = row["cell"]
            label = "none" if row["change"] == "base" else row["change"]
            if varies:
                label = f"learning_rate={cell['learning_rate']:g}" + ("" if label == "none" else f", {label}")
            median = "—" if row["median"] is None else f"{row['median']:.3g}"
            text = median + (f" ({row['diverged']} of {len(row['runs'])} diverged)" if row["diverged"] else "")
            rows.setdefault((factor["factor"], label), {})[cell["model"]] = text
    body = [[factor.replace("_", " "), label.replace("_", " ").replace("=", " "), *(cells.get(m, "") for m in MODELS)]
            for (factor, label), cells in rows.items()]
    return _table(["factor", "change from the protocol", *(LABELS[m] for m in MODELS)], body,
                  ["---", "---"] + ["---:"] * len(MODELS))


def rerun_table(reruns: dict) -> str:
    """Committed records re-run under several OpenBLAS CPU kernels (``results/reproduction/reruns.json``, written
    by ``benchmarks/exp_reruns.py``): the committed value (epochs) next to each kernel's."""
    def text(run: dict, experiment: str) -> str:
        value = "diverged" if run["value"] is None or math.isnan(run["value"]) else (
            f"{run['value']:.8g}" if is_generation(experiment) else f"{100 * run['value']:.4g} %")
        return f"{value} ({run['epochs']})"

    body = []
    for row in reruns["rows"]:
        r = row["record"]
        what = (f"{r['experiment'].replace('_', ' ')}, {LABELS[r['model']]}"
                + (f", {r['budget']} p., piece {r['piece']}" if "piece" in r else "") + f", seed {r['seed']}")
        body.append([what, text(row["committed"], r["experiment"]),
                     *(text(row["reruns"][k], r["experiment"]) for k in reruns["kernels"])])
    return _table(["record", "committed", *(f"{k} kernel" for k in reruns["kernels"])], body)


def render_tables(results: dict) -> str:
    """All tables with headings and a line on how they were made (the contents of ``tables.md``)."""
    name = results["settings"]["name"]
    body = [f"<!-- written by clocksim reproduce{' --quick' if name == 'quick' else ''} -->", ""]
    for key, text in tables(results).items():
        body += ([f"## {TABLE_TITLES[key]}", ""] if key in TABLE_TITLES else []) + [text]
    return "\n".join(body)


_BLOCK = re.compile(r"(<!-- table:(\w+) -->\n)(.*?)(<!-- /table:\2 -->)", re.S)


def fill_doc(text: str, named: dict[str, str]) -> str:
    """Replace every ``<!-- table:NAME -->...<!-- /table:NAME -->`` block of ``text`` with ``named[NAME]``."""
    def swap(m):
        if m.group(2) not in named:
            raise InvalidValueError(f"table:{m.group(2)}: no such table, expected one of {', '.join(named)}")
        return f"{m.group(1)}\n{named[m.group(2)]}\n{m.group(4)}"
    return _BLOCK.sub(swap, text)


def doc_tables(text: str) -> dict[str, str]:
    """The tables currently between the markers of a document (for tests)."""
    return {m.group(2): m.group(3).strip("\n") + "\n" for m in _BLOCK.finditer(text)}
