"""Why are the generation baselines weak? One factor at a time (issue 19).

The reproduction's sequence-generation protocol (``clocksim.reproduce.plan``:
no input, weights N(0, 0.1^2), zero biases (LSTM forget gates 5), initial
state 0 and frozen, linear output, mean squared error, Nesterov momentum 0.95,
full batch, 2000 epochs, learning rate from a scan) is changed in exactly one
respect per cell, at the paper's 1000-parameter sizes (Table 1), on five runs
(piece p with seed p, p = 0..4). Each factor writes
``results/reproduction/ablations/<factor>.json`` (every run, the cell medians,
and ``provenance()``) and prints a table.

Run: python benchmarks/exp_baselines.py [factor ...]     (one process, one BLAS thread)
"""

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np

from clocksim.model.baselines import PAPER_PERIODS, model_for_budget
from clocksim.app.provenance import provenance
from clocksim.app.reproduce.worker import DIVERGED_NMSE
from clocksim.train.tasks import fit, make_task
from clocksim.train.loop import DivergenceError, TrainConfig

OUT = Path(__file__).resolve().parent.parent / "results" / "reproduction" / "ablations"
BUDGET = 1000
RUNS = tuple((p, p) for p in range(5))            # (piece, seed)
BASE_LR = {"rnn": 0.03, "lstm": 0.1, "cwrnn": 0.03}   # the scan's choices (results/reproduction)
BASE = {"init_std": 0.1, "recurrent": "normal", "h0": "zero-frozen", "bias": "zero", "input": "none",
        "output_activation": "linear", "forget_bias": 5.0, "optimizer": "nesterov", "momentum": 0.95,
        "clip_norm": None, "epochs": 2000}


def cells(model_lrs, **change):
    """One cell per model: the base protocol with ``change``."""
    return [dict(BASE, model=m, learning_rate=lr, **change) for m, lr in model_lrs.items()]


RL = {"rnn": BASE_LR["rnn"], "lstm": BASE_LR["lstm"]}
FACTORS = {
    "base": cells(BASE_LR),
    "learning_rate": [c for lr in (0.003, 0.01, 0.1, 0.3, 1.0)
                      for c in cells({"rnn": lr, "lstm": lr, "cwrnn": lr})
                      if c["learning_rate"] != BASE_LR[c["model"]]],
    "init_std": [c for s in (0.03, 0.3, 0.5) for c in cells(BASE_LR, init_std=s)],
    "orthogonal": cells(RL, recurrent="orthogonal") + cells(RL, recurrent="orthogonal", init_std=0.3),
    "initial_state": (cells(BASE_LR, h0="zero-trained") + cells(BASE_LR, h0="random-frozen")
                      + cells(BASE_LR, bias="random")),
    "input": cells(BASE_LR, input="constant") + cells(BASE_LR, input="ramp"),
    "output": cells(BASE_LR, output_activation="tanh"),
    "momentum": [c for mu in (0.0, 0.9, 0.99) for c in cells(BASE_LR, momentum=mu)],
    "clipping": [c for lr in (0.1, 0.3, 1.0) for c in cells({"rnn": lr, "lstm": lr, "cwrnn": lr}, clip_norm=1.0)],
    "forget_bias": [c for fb in (0.0, 1.0, 2.0) for c in cells({"lstm": BASE_LR["lstm"]}, forget_bias=fb)],
    "epochs": cells(BASE_LR, epochs=10000),
    # second round, after the single factors: the helpful ones together (still the paper's protocol)
    "combined": ([c for lr in (0.03, 0.1) for clip in (None, 1.0)
                  for c in cells({"lstm": lr}, momentum=0.99, clip_norm=clip)]
                 + [c for lr in (0.01, 0.03) for c in cells({"rnn": lr}, momentum=0.99, clip_norm=1.0)]
                 + cells({"rnn": 0.03}, recurrent="orthogonal", momentum=0.99, clip_norm=1.0)
                 + cells({"cwrnn": 0.03}, momentum=0.99, clip_norm=1.0)
                 + cells(BASE_LR, input="ramp", momentum=0.99, clip_norm=1.0)),
}


def _task(piece: int, kind: str):
    task = make_task("generation", piece=piece)
    if kind == "none":
        return task
    steps = task.x_train.shape[1]
    x = np.ones((1, steps, 1)) if kind == "constant" else (np.arange(steps) / steps).reshape(1, steps, 1)
    return dataclasses.replace(task, n_in=1, x_train=x, x_test=x)


def _orthogonal(rng, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def build(cell: dict, task, seed: int):
    """The cell's untrained model: the library's, with its initial values changed as the cell says."""
    options = {"output_activation": cell["output_activation"]}
    if cell["model"] == "lstm":
        options["forget_bias"] = cell["forget_bias"]
    model = model_for_budget(cell["model"], BUDGET, n_in=task.n_in, n_out=1, periods=PAPER_PERIODS, seed=seed,
                             **options)
    p, n = model.params, model.n
    rng = np.random.default_rng([seed, 19])
    scale = cell["init_std"] / 0.1                        # the library draws N(0, 0.1^2)
    new = {k: p[k] * scale for k in ("W_in", "W_rec", "W_out")}
    if cell["recurrent"] == "orthogonal":                 # gain init_std / 0.1 (1 at the paper's scale)
        blocks = p["W_rec"].shape[0] // n
        new["W_rec"] = scale * np.vstack([_orthogonal(rng, n) for _ in range(blocks)])
    if cell["bias"] == "random":
        new["b"] = p["b"] + rng.normal(0.0, 0.1, p["b"].shape)
    if cell["h0"] == "random-frozen":
        new["h0"] = rng.uniform(-1.0, 1.0, n)
    model.set_params(**new)
    return model


def run_cell(cell: dict, piece: int, seed: int) -> dict:
    task = _task(piece, cell["input"])
    model = build(cell, task, seed)
    if cell["h0"] == "zero-trained":
        freeze = ("c0",) if cell["model"] == "lstm" else ()
    else:
        freeze = ("h0", "c0") if cell["model"] == "lstm" else ("h0",)
    config = TrainConfig(optimizer=cell["optimizer"], learning_rate=cell["learning_rate"],
                         momentum=cell["momentum"], epochs=cell["epochs"], shuffle=False, clip_norm=cell["clip_norm"],
                         freeze=freeze, seed=seed)
    t0 = time.perf_counter()
    try:
        value = float(fit(model, task, config).metrics["value"])
    except DivergenceError:
        value = float("nan")
    diverged = not np.isfinite(value) or value > DIVERGED_NMSE
    return {"piece": piece, "seed": seed, "n_params": int(model.n_params), "nmse": None if diverged else value,
            "diverged": bool(diverged), "seconds": time.perf_counter() - t0}


def summarise(runs: list[dict]) -> dict:
    ok = np.array([r["nmse"] for r in runs if not r["diverged"]])
    return {"median": float(np.median(ok)) if ok.size else None, "mean": float(ok.mean()) if ok.size else None,
            "std": float(ok.std()) if ok.size else None, "diverged": len(runs) - int(ok.size)}


def changed(cell: dict) -> str:
    diff = {k: v for k, v in cell.items() if k not in ("model", "learning_rate") and BASE.get(k) != v}
    return ", ".join(f"{k}={v}" for k, v in diff.items()) or "base"


def run_factor(name: str) -> dict:
    rows = []
    for cell in FACTORS[name]:
        runs = [run_cell(cell, piece, seed) for piece, seed in RUNS]
        rows.append({"cell": cell, "change": changed(cell), "runs": runs, **summarise(runs)})
        s = rows[-1]
        median = "-" if s["median"] is None else f"{s['median']:.4g}"
        print(f"{name:14s} {cell['model']:6s} lr={cell['learning_rate']:<6g} {s['change']:40s} median {median}"
              f"  diverged {s['diverged']}", flush=True)
    payload = {"factor": name, "budget": BUDGET, "runs": [list(r) for r in RUNS], "base": BASE,
               "rows": rows, "provenance": provenance()}
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / f".{name}.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, OUT / f"{name}.json")
    return payload


if __name__ == "__main__":
    for factor in sys.argv[1:] or list(FACTORS):
        if factor not in FACTORS:
            sys.exit(f"factor: got {factor!r}, expected one of {', '.join(FACTORS)}")
        run_factor(factor)
