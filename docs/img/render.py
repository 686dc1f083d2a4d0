"""Regenerate the figures shown in the docs: ``python docs/img/render.py`` (a few seconds)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np

import clocksim as cs

HERE = Path(__file__).parent


def save(fig, name):
    cs.plot.save_figures(fig, HERE / name, dpi=80)


def main():
    rng = np.random.default_rng(0)
    paper = cs.ClockworkRNN(2, 1, [4] * 8, cs.exponential_periods(8), start=1, seed=0)
    small = cs.simulate(paper, rng.normal(size=(16, 2)))
    save(cs.plot_activity(small.trace).figure, "activity_small.png")
    seed = cs.simulate(paper, np.zeros((128, 2)))                # concepts.md: the clock-rate example
    ax = cs.plot_activity(seed.trace)
    ax.set_title("Periods 1, 2, 4, ..., 128, steps from 1: step 1 runs M1, step 2 M1 and M2, step 128 all eight")
    save(ax.figure, "clock_rate.png")
    long = cs.simulate(paper, rng.normal(size=(100_000, 2)))
    save(cs.plot_activity(long.trace).figure, "activity_100k.png")

    model = cs.ClockworkRNN(2, 1, [8] * 4, [1, 2, 4, 8], seed=0)
    queued = cs.simulate(model, rng.normal(size=(40, 2)), engine="events",
                         compute=cs.ComputeModel(cores=2, throughput=300, overhead=0.05), latency=0.3, deadline=1.0)
    save(cs.plot_gantt(queued.trace).figure, "gantt.png")
    save(cs.plot_cost(queued.trace)[0].figure, "cost.png")

    L, clocks = 60, []                                   # asynchronous: jittered, real-valued firing times
    for T in (1, 2, 4, 8):
        clocks.append(cs.Explicit(T * np.arange((L - 1) // T) + rng.uniform(0, 0.9 * T, (L - 1) // T)))
    poisson = cs.simulate(cs.ClockworkRNN(2, 1, [8] * 4, clocks, seed=0), rng.normal(size=(L, 2)), engine="events",
                          compute=cs.ComputeModel(cores=1, throughput=1200, overhead=0.05), latency=0.3, deadline=1.0)
    save(cs.plot_latency(poisson.trace)[0].figure, "latency.png")
    save(cs.plot_state(small.h, trace=small.trace).figure, "state.png")


if __name__ == "__main__":
    main()
