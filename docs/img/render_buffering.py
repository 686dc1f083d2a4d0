"""Draw the figures of docs/buffering.md: ``python docs/img/render_buffering.py``.

``buffering_windows.png``: one pulse-count sequence (three one-step pulses) under the activity of a
CW-RNN with periods 1..32 whose slower modules buffer their input; each buffered module's input
windows are shaded (``plot_activity(windows=True)``). ``buffering_results.png``: test error
against multiply-adds per sequence of every model and seed of ``results/buffering/results.json``
(written, with its provenance, by ``benchmarks/exp_buffering.py``).
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import clocksim as cs

HERE = Path(__file__).parent
RESULTS = HERE.parent.parent / "results" / "buffering" / "results.json"


def windows() -> None:
    x = np.zeros((64, 1))
    x[[5, 22, 23], 0] = 1.0                       # steps 6, 23, 24 (start=1)
    model = cs.ClockworkRNN(1, 4, [4] * 6, [1, 2, 4, 8, 16, 32], start=1, input_mode=["latest"] + ["sum"] * 5)
    trace = cs.simulate(model, x).trace
    fig, (top, ax) = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True, height_ratios=[1, 4])
    steps = np.arange(1, 65)
    top.vlines(steps[x[:, 0] > 0], 0, 1, color="k", lw=2)
    top.set_yticks([])
    top.set_ylabel("pulses", fontsize="small")
    top.set_title("Input: one-step pulses at steps 6, 23 and 24", fontsize="medium")
    cs.plot_activity(trace, ax=ax, windows=True)
    ax.set_title("Activity; shaded: the input window each buffered firing sums (alternating shades)",
                 fontsize="medium")
    fig.tight_layout()
    cs.plot.save_figures(fig, HERE / "buffering_windows.png", dpi=90)


def results() -> None:
    data = json.loads(RESULTS.read_text())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, task in zip(axes, ("pulse_count", "synthetic_words")):
        for k, (name, row) in enumerate(data[task]["table"].items()):
            err = np.array(row["test_errors"]) * 100
            ax.scatter([row["macs"]] * err.size, err, s=14, alpha=0.5, color=f"C{k}")
            ax.errorbar(row["macs"], err.mean(), yerr=err.std(), fmt="o", color=f"C{k}", label=name, capsize=3)
        ax.set_xlabel("multiply-adds per sequence")
        ax.set_ylabel("test error (%)")
        ax.set_title(task.replace("_", " "), fontsize="medium")
        ax.grid(color="0.9")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    cs.plot.save_figures(fig, HERE / "buffering_results.png", dpi=90)


if __name__ == "__main__":
    windows()
    if RESULTS.exists():
        results()
