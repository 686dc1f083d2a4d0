"""Input buffering (issue 18): does letting slow modules read the mean/sum/max of the samples that
arrived while they slept help on a task where brief events matter, and what does it cost?

Task "pulse count": each sequence has L = 128 steps of one input channel, zero except for K one-step
pulses of height 1 at distinct random steps, K uniform in 0..3; the label (4 classes) is K, asked at
the last step. With the paper's `latest` input a slow module sees a pulse only if it falls on one of
its firing steps, so counting is left to the fastest module (a small plain RNN); a buffered slow
module's window holds every pulse since its previous firing.

Models at an equal parameter budget (clocksim.baselines.model_for_budget; BUDGET weights, BUDGET_WORDS for
the words): CW-RNN periods 1..32
with input_mode latest / mean / sum / max (the mode for every module but the period-1 one, whose
window is always its own step), a simple RNN and an LSTM.
Training: Adam, learning rate 1e-2, batch 32, gradient clipping at 1, up to EPOCHS epochs with early
stopping on a validation set (patience PATIENCE, best epoch restored); several seeds (data and weights).
Scored: test error on 400 sequences; cost: multiply-adds per sequence (the CW-RNN's from its trace
summary, the RNN's likewise, the LSTM's 4 n (n + n_in) + n_out n per step) and the CW-RNN's
buffer_ops (kept apart).

Then the reproduction's tasks, short: sequence generation (no input: buffering cannot change
anything; checked bit for bit) and synthetic words (25 classes, 13 channels; EPOCHS_WORDS epochs).

Run: python benchmarks/exp_buffering.py [--quick]   -> results/buffering/results.json
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

import clocksim as cs
from clocksim.model.baselines import model_for_budget
from clocksim.app.provenance import provenance
from clocksim.train.tasks import Task, fit

L, MAX_PULSES, PERIODS = 128, 3, [1, 2, 4, 8, 16, 32]
N_TRAIN, N_VAL, N_TEST = 400, 200, 400
BUDGET, BUDGET_WORDS = 500, 1500
EPOCHS, EPOCHS_WORDS = 100, 100
SEEDS = [0, 1, 2, 3, 4]
PATIENCE = 20
MODES = ["latest", "mean", "sum", "max"]
OUT = Path(__file__).resolve().parent.parent / "results" / "buffering" / "results.json"


def pulse_task(seed: int) -> Task:
    rng = np.random.default_rng([seed, 18])

    def make(n):
        x = np.zeros((n, L, 1))
        k = rng.integers(0, MAX_PULSES + 1, n)
        for q in range(n):
            x[q, rng.choice(L, size=k[q], replace=False), 0] = 1.0
        return x, k.astype(np.int64)

    (xt, yt), (xv, yv), (xs, ys) = make(N_TRAIN), make(N_VAL), make(N_TEST)
    return Task("pulse_count", "xent", 1, MAX_PULSES + 1, xt, yt, xs, ys, xv, yv,
                description=f"count 0..{MAX_PULSES} one-step pulses in {L} steps")


def config(seed: int, epochs: int) -> cs.TrainConfig:
    return cs.TrainConfig(optimizer="adam", learning_rate=1e-2, batch_size=32, clip_norm=1.0, epochs=epochs,
                          patience=PATIENCE, freeze=("h0",), seed=seed)


def lstm_macs(model, steps: int) -> int:
    n = model.n
    return steps * (4 * n * (n + model.n_in) + model.n_out * n)


def models(task: Task, seed: int):
    kw = dict(n_in=task.n_in, n_out=task.n_out, seed=seed)
    budget = BUDGET if task.kind == "pulse_count" else BUDGET_WORDS
    for mode in MODES:
        modes = ["latest"] + [mode] * (len(PERIODS) - 1)          # period 1: a window is one sample anyway
        yield f"cwrnn {mode}", model_for_budget("cwrnn", budget, periods=PERIODS, input_mode=modes, **kw)
    yield "rnn", model_for_budget("rnn", budget, **kw)
    yield "lstm", model_for_budget("lstm", budget, **kw)


def cost(model, x: np.ndarray) -> dict:
    if isinstance(model, cs.ClockworkRNN):
        s = cs.simulate(model, x[0], trace="aggregate", keep="none").trace.summary()
        return {"macs": s["macs"], "buffer_ops": s["buffer_ops"], "buffer_floats": s["buffer_floats"]}
    return {"macs": lstm_macs(model, x.shape[1]), "buffer_ops": 0, "buffer_floats": 0}


def run_task(task_for_seed, epochs: int, seeds) -> dict:
    rows = []
    for seed in seeds:
        task = task_for_seed(seed)
        for name, model in models(task, seed):
            t0 = time.perf_counter()
            res = fit(model, task, config(seed, epochs))
            rows.append({"model": name, "seed": seed, "n_params": int(model.n_params),
                         "test_error": res.metrics["test_error"], "epochs": res.metrics["epochs"],
                         "seconds": time.perf_counter() - t0, **cost(res.model, task.x_test)})
            print(json.dumps(rows[-1]), flush=True)
    table = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        err = np.array([r["test_error"] for r in mine])
        table[name] = {"test_error_mean": float(err.mean()), "test_error_std": float(err.std()),
                       "test_errors": err.tolist(), "n_params": mine[0]["n_params"], "macs": mine[0]["macs"],
                       "buffer_ops": mine[0]["buffer_ops"], "buffer_floats": mine[0]["buffer_floats"]}
    return {"runs": rows, "table": table}


def generation_check() -> dict:
    """Sequence generation has no input (n_in = 0): every input_mode gives the same outputs, bit for bit."""
    task = cs.tasks.make_task("generation")
    ys = []
    for mode in MODES:
        model = model_for_budget("cwrnn", 750, n_in=0, n_out=1, input_mode=mode, seed=0)    # periods 1..128
        ys.append(cs.simulate(model, n_steps=task.y_train.shape[1]).y)
    return {"n_in": task.n_in, "identical_outputs": all(np.array_equal(ys[0], y) for y in ys[1:])}


def markdown(table: dict) -> str:
    """The results table of docs/buffering.md."""
    lines = ["| model | parameters | test error (mean ± std over seeds) | multiply-adds per sequence | "
             "buffer ops per sequence | buffer floats |", "|---|---|---|---|---|---|"]
    for name, r in table.items():
        err = f"{100 * r['test_error_mean']:.1f}% ± {100 * r['test_error_std']:.1f}"
        lines.append(f"| {name} | {r['n_params']} | {err} | {r['macs']:,} | {r['buffer_ops']:,} "
                     f"| {r['buffer_floats']} |")
    return "\n".join(lines)


def main():
    quick = "--quick" in sys.argv
    global N_TRAIN, N_VAL, N_TEST
    seeds = SEEDS[:1] if quick else SEEDS
    epochs, epochs_words = (5, 3) if quick else (EPOCHS, EPOCHS_WORDS)
    if quick:
        N_TRAIN, N_VAL, N_TEST = 64, 32, 64
    out = {"provenance": provenance(),
           "parameters": {"L": L, "max_pulses": MAX_PULSES, "periods": PERIODS, "budget": BUDGET,
                          "budget_words": BUDGET_WORDS, "n_train": N_TRAIN, "n_val": N_VAL, "n_test": N_TEST,
                          "epochs": epochs,
                          "epochs_words": epochs_words, "seeds": seeds, "optimizer": "adam 1e-2, batch 32, clip 1, "
                          f"patience {PATIENCE}, h0 frozen"}}
    out["pulse_count"] = run_task(pulse_task, epochs, seeds)
    out["generation"] = generation_check()
    out["synthetic_words"] = run_task(lambda s: cs.tasks.make_task("synthetic_words", seed=s), epochs_words, seeds)
    if not quick:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        tmp = OUT.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        tmp.replace(OUT)
    for k in ("pulse_count", "synthetic_words"):
        print(f"\n{k}\n" + markdown(out[k]["table"]))


if __name__ == "__main__":
    main()
