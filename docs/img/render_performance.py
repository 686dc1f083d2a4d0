"""Draw the scaling curves of docs/performance.md from the benchmark outputs: ``python docs/img/render_performance.py``.

Reads ``results/benchmarks/{memory,compiled_scaling,events_overhead}.json`` (written, with their
provenance, by ``benchmarks/bench_memory.py``, ``bench_scaling.py`` and ``bench_events.py``) and
draws ``performance_length.png`` (time and peak memory against run length, both engines),
``performance_size.png`` (compiled engine against units and batch: time per step and the fraction of
the dense GEMM rate) and ``performance_modules.png`` (event engine per activation against the number of modules).
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

import clocksim as cs

HERE = Path(__file__).parent
RESULTS = HERE.parent.parent / "results" / "benchmarks"


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def length(memory: dict) -> plt.Figure:
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, label in (("compiled_aggregate_last", "compiled"), ("events_aggregate_last", "events")):
        runs = memory[key]["runs"]
        steps = [r["steps"] for r in runs]
        ax_t.loglog(steps, [r["seconds"] for r in runs], "o-", label=label)
        ax_m.semilogx(steps, [r["peak_rss_mb"] for r in runs], "o-", label=f"{label}: peak")
        ax_m.semilogx(steps, [r["rss_after_warmup_mb"] for r in runs], ":", color=ax_m.lines[-1].get_color(),
                      label=f"{label}: after imports and JIT")
    ax_m.axhline(300, color="0.5", lw=0.8, ls="--", label="target 300 MB")
    ax_t.set(xlabel="steps", ylabel="seconds", title="time (trace=aggregate, keep=last)")
    ax_m.set(xlabel="steps", ylabel="MB", title="peak resident memory", ylim=(0, 350))
    ax_t.legend()
    ax_m.legend(fontsize=8)
    fig.tight_layout()
    return fig


def size(scaling: dict) -> plt.Figure:
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for col, key, xlabel in ((0, "units", "units per module (B = 32)"), (1, "batch", "batch B (64 units)")):
        rows = scaling[key]
        x = [r[key] for r in rows]
        ax = axes[0, col]
        ax.semilogx(x, [r["gemm_fraction"] for r in rows], "o-", base=2)
        ax.axhline(0.75, color="0.5", lw=0.8, ls="--", label="target 0.75 (B = 32, 64 units)")
        ax.set(xlabel=xlabel, ylabel="useful MAC rate / dense GEMM rate", ylim=(0, 1.05),
               title="compiled engine, fraction of one-core GEMM")
        ax.legend(fontsize=8)
        ax = axes[1, col]
        ax.loglog(x, [r["us_per_step"] for r in rows], "o-", base=2)
        ax.set(xlabel=xlabel, ylabel="µs per step", title="compiled engine, time per step")
    fig.tight_layout()
    return fig


def modules(events: dict) -> plt.Figure:
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(10, 3.8))
    rows = events["scaling"]
    g = [r["modules"] for r in rows]
    ax.semilogx(g, [r["events_us_per_activation"] for r in rows], "o-", base=2, label="event engine")
    ax.semilogx(g, [r["bare_us_per_wakeup"] for r in rows], "s--", base=2, label="bare SimPy wake-up")
    ax.semilogx(g, [r["compiled_us_per_activation"] for r in rows], "^-", base=2, label="compiled engine")
    if all("added_us_per_activation" in r for r in rows):
        ax.semilogx(g, [r["added_us_per_activation"] for r in rows], "d:", base=2,
                    label="event less compiled")
    ax.set(xlabel="modules", ylabel="µs per activation", title="per activation against modules", ylim=(0, 2.9))
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax_r.semilogx(g, [r["ratio_events_vs_bare"] for r in rows], "o-", base=2, label="median of repeats")
    if all("ratio_events_vs_bare_min" in r for r in rows):
        ax_r.semilogx(g, [r["ratio_events_vs_bare_min"] for r in rows], "o:", base=2, label="minimum of repeats")
    ax_r.axhline(events.get("required", 2.5), color="grey", lw=0.8, ls="--", label="target at 8 modules")
    ax_r.set(xlabel="modules", ylabel="event engine / bare SimPy", title="per activation, ratio to a bare wake-up",
             ylim=(0, None))
    ax_r.legend()
    fig.tight_layout()
    return fig


def main():
    for name, draw, source in (("performance_length.png", length, "memory"),
                               ("performance_size.png", size, "compiled_scaling"),
                               ("performance_modules.png", modules, "events_overhead")):
        fig = draw(load(source))
        cs.plot.save_figures(fig, HERE / name, dpi=80)


if __name__ == "__main__":
    main()
