"""The paper reproduction's figures (``clocksim reproduce``), drawn from its results and the data they
are compared with, which the caller passes in (:mod:`clocksim.app.reproduce.figures`); never calls
``plt.show()``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_generated", "plot_nmse"]

COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "cwrnn": "tab:green"}


def plot_generated(results: dict, targets, models, labels: dict):
    """Like the paper's Figure 5: each piece (rows) and the best 1000-parameter network of each kind (columns).

    ``targets[piece]`` is the piece's target sequence, ``models`` the model kinds (columns, keys of
    ``COLORS``), ``labels[kind]`` their names. Returns the figure.
    """
    import matplotlib.pyplot as plt

    best = results["best_outputs"]
    pieces = sorted({int(p) for m in best.values() for p in m})
    fig, axes = plt.subplots(len(pieces), len(models), figsize=(11, 1.7 * len(pieces) + 1.2), sharex=True,
                             sharey=True, squeeze=False)
    for row, piece in enumerate(pieces):
        for col, model in enumerate(models):
            ax = axes[row, col]
            ax.plot(targets[piece], color="0.55", lw=1.6, label="target")
            run = best.get(model, {}).get(str(piece))
            runs = sum(1 for r in results["records"] if r["stage"] == "main" and r["experiment"] == "generation"
                       and r["model"] == model and r["budget"] == 1000 and r["task"]["piece"] == piece)
            if run is not None:
                ax.plot(run["output"], color=COLORS[model], lw=1.0, label="generated")
                ax.text(0.98, 0.94, f"NMSE {run['nmse']:.3g}", transform=ax.transAxes, fontsize=11, ha="right",
                        va="top", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
            elif runs:
                ax.text(0.98, 0.94, "every run diverged", transform=ax.transAxes, fontsize=11, ha="right", va="top")
            if row == 0:
                ax.set_title(f"{labels[model]} (best of {runs} run{'' if runs == 1 else 's'})", fontsize=12)
            if col == 0:
                ax.set_ylabel(f"piece {piece}", fontsize=11)
            ax.tick_params(labelsize=10)
            ax.set_ylim(-1.25, 1.25)
    for ax in axes[-1]:
        ax.set_xlabel("step", fontsize=11)
    axes[0, 0].legend(fontsize=10, loc="lower left", frameon=False, ncol=2)
    fig.suptitle("Generated (colour) vs target (grey): the best 1000-parameter network of each kind", fontsize=13)
    fig.tight_layout()
    _mark_settings(fig, results)
    return fig


def plot_nmse(results: dict, panels, models, labels: dict, paper: dict):
    """Like the paper's Figure 4: NMSE against parameters, log-log, one panel per optimiser (the paper's SGD with
    Nesterov momentum; Adam). Our runs: median and quartiles (a std bar is meaningless on log axes when it
    exceeds the mean); the paper's: mean and std.

    ``panels`` is ``[(experiment, title, budgets), ...]`` (two), ``paper[kind]`` the paper's ``(mean, std)``
    at 1000 parameters. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for ax, (experiment, title, budgets) in zip(axes, panels):
        for i, model in enumerate(models):
            low, mid, high = [], [], []
            for budget in budgets:
                values = [r["value"] for r in results["records"] if r["stage"] == "main"
                          and r["experiment"] == experiment and r["model"] == model and r["budget"] == budget
                          and not r["diverged"]]
                q = np.percentile(values, [25, 50, 75]) if values else [np.nan] * 3
                low.append(q[1] - q[0])
                mid.append(q[1])
                high.append(q[2] - q[1])
            x = np.array(budgets) * (1 + 0.03 * (i - 1))          # a little apart, so the bars do not overlap
            ax.errorbar(x, mid, yerr=[low, high], color=COLORS[model], marker="o", ms=4, capsize=3,
                        label=labels[model])
            mean, std = paper[model]
            ax.errorbar([1000 * (1 + 0.03 * (i - 1)) * 1.12], [mean], yerr=[std], color=COLORS[model], marker="s",
                        mfc="white", ms=5, capsize=3, ls="none")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("parameters", fontsize=12)
        ax.tick_params(labelsize=11)
        ax.set_title(title, fontsize=13)
    axes[0].set_ylabel("NMSE: median, quartiles", fontsize=12)
    axes[1].plot([], [], "s", color="0.3", mfc="white", label="paper (SGD), 1000 par.:\nmean ± std")
    axes[1].legend(fontsize=11, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("Sequence generation: lower is better", fontsize=13)
    fig.tight_layout()
    _mark_settings(fig, results)
    return fig


def _mark_settings(fig, results: dict) -> None:
    """Stamp a run that is not the full one (``--quick``) across the figure, so nobody quotes its numbers."""
    name = results.get("settings", {}).get("name", "full")
    if name == "full":
        return
    flag = "--quick" if name == "quick" else f"settings {name!r}"
    fig.text(0.5, 0.5, f"{name.upper()} RUN", ha="center", va="center", fontsize=48, color="tab:red", alpha=0.15,
             rotation=20, fontweight="bold", gid="settings-mark")
    fig.suptitle(f"{fig.get_suptitle()}\n{flag} run: it checks the machinery, the numbers mean little",
                 fontsize=13)
    fig.tight_layout()
