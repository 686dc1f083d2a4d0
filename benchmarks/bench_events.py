"""Event engine overhead per activation vs a bare SimPy wake-up (issue 3), same run.

Baseline: one process per module that only does ``yield env.timeout(T)`` with the same
periods over the same horizon — the cheapest possible SimPy model of the schedule, measured
at every size (8 to 256 modules), since SimPy's own wake-up slows as its event queue grows.
The event engine does the real work on top: a jitted update per activation, the two-phase
publish, readout snapshots and the trace's records. The ratio is (engine seconds /
activations) / (bare seconds / wake-ups); ``ratio_vs_bare_max_over_min`` is how far the
engine's per-activation cost moves over the sizes beyond what SimPy's own does.

The update itself grows with the modules: under slow-to-fast wiring the fastest module reads every
slower one, so an activation's multiply-adds grow with g (the compiled engine, which runs the same
kernels with no simulation, slows per activation too). ``added_us_per_activation`` is the event
engine's time less the compiled engine's on the same run, what the simulation adds to the same
kernels, and ``added_max_over_min`` how far that moves from 8 to 256 modules.

Run: python benchmarks/bench_events.py
"""

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np
import simpy

import clocksim as cs

G, K, L = 8, 2, 20000


def bare_simpy(periods, horizon):
    env = simpy.Environment()

    def proc(T):
        while True:
            yield env.timeout(T)

    for T in periods:
        env.process(proc(T))
    env.run(until=horizon)


def measure(G: int, L: int, periods) -> dict:
    model = cs.ClockworkRNN(1, 1, [K] * G, periods, seed=0)
    X = np.random.default_rng(0).normal(size=(L, 1))
    res = cs.simulate(model, X, engine="events")
    n_act = len(res.trace)
    wakeups = sum(-(-L // T) for T in periods)          # firings at 0, T, 2T, ... < L
    assert n_act == wakeups
    assert np.array_equal(res.y, cs.simulate(model, X, engine="compiled").y)
    times = _common.time_interleaved({
        "bare_simpy": lambda: bare_simpy(periods, L),
        "events": lambda: cs.simulate(model, X, engine="events"),
        "compiled": lambda: cs.simulate(model, X, engine="compiled"),
    }, repeats=9)
    per_act = times["events"]["median"] / n_act
    per_wake = times["bare_simpy"]["median"] / wakeups
    return {
        "modules": G, "units": K, "steps": L, "activations": n_act, "bare_wakeups": wakeups,
        "messages_per_activation": len(res.trace.messages) / n_act,
        "events_us_per_activation": per_act * 1e6,
        "bare_us_per_wakeup": per_wake * 1e6,
        "ratio_events_vs_bare": per_act / per_wake,
        "ratio_events_vs_bare_min": (times["events"]["min"] / n_act) / (times["bare_simpy"]["min"] / wakeups),
        "events_us_per_activation_min": times["events"]["min"] / n_act * 1e6,
        "compiled_us_per_activation": times["compiled"]["median"] / n_act * 1e6,
        "added_us_per_activation": (times["events"]["median"] - times["compiled"]["median"]) / n_act * 1e6,
    }


def main():
    base = measure(G, L, cs.exponential_periods(G))
    # 8 to 256 modules: periods 1..128 repeated (fastest first), about the same activations in each run
    scaling = [measure(g, max(500, L * 8 // g), sorted(2 ** (i % 8) for i in range(g))) for g in (8, 32, 128, 256)]
    per = [r["events_us_per_activation"] for r in scaling]
    per_min = [r["events_us_per_activation_min"] for r in scaling]
    ratio = [r["ratio_events_vs_bare"] for r in scaling]
    _common.report("events_overhead", {
        **base, "required": 2.5, "meets_target": base["ratio_events_vs_bare"] <= 2.5,
        "scaling": scaling, "per_activation_max_over_min": max(per) / min(per),
        "per_activation_min_max_over_min": max(per_min) / min(per_min),
        # the bare SimPy wake-up slows too as its event queue grows with the processes: the engine's own share
        "ratio_vs_bare_max_over_min": max(ratio) / min(ratio),
        "added_max_over_min": max(r["added_us_per_activation"] for r in scaling)
        / min(r["added_us_per_activation"] for r in scaling),
    })


if __name__ == "__main__":
    main()
