"""Schedulability analysis (DESIGN section 10, "Analysis"): published examples, the slow twin, properties."""

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sched_reference import releases, schedule

from clocksim.errors import InvalidValueError
from clocksim.sched import analysis as an
from clocksim.sched.analysis import Task

SETTINGS = settings(deadline=None, max_examples=30)


# ---------------------------------------------------------------- published numbers

def test_rate_monotonic_textbook_example():
    """(C, T) = (1, 4), (2, 6), (3, 12) under RM: 1, 3, 10 (e.g. Buttazzo, Hard Real-Time Computing
    Systems, and the Joseph & Pandya iteration)."""
    bounds = an.rta_preemptive_fp([Task(1, 4), Task(2, 6), Task(3, 12)])
    assert [b.wcrt for b in bounds] == [1, 3, 10]
    assert all(b.exact and b.schedulable for b in bounds)
    assert [b.slack for b in bounds] == [3, 3, 2]


def test_pycpa_spp_example_with_jitter():
    """pyCPA's SPP example: C=10, P=30, J=5 at priority 1 and C=3, P=15, J=6 -> WCRT 10 and 13."""
    bounds = an.rta_preemptive_fp([Task(10, 30, J=5), Task(3, 15, J=6)], priorities=[1, 2])
    assert [b.wcrt for b in bounds] == [10, 13]


def test_nonpreemptive_needs_every_job_of_the_busy_period():
    """Davis, Burns, Bril, Lukkien 2007, section 3.4 in continuous time: three jobs of length 1, periods
    2.5, 3.5, 3.5. Checking only the first job of the lowest gives 3; its second job takes 3.5, a miss
    with a deadline of 3.25 that the original analysis would call met."""
    tasks = [Task(1, 2.5), Task(1, 3.5), Task(1, 3.5, D=3.25)]
    low = an.rta_nonpreemptive_fp(tasks)[2]
    assert low.wcrt == 3.5 and low.worst_job == 1 and low.jobs == 2
    assert not low.schedulable
    first_only = 0 + 2 + 1          # B + the two higher jobs at time 0 + C, the original analysis
    assert first_only < low.deadline < low.wcrt
    finish = schedule(releases(tasks, 7), preemptive=False, priorities=[0, 1, 2])
    jobs = releases(tasks, 7)
    worst = max(f - r for f, (r, i, _) in zip(finish, jobs) if i == 2)
    assert worst == Fraction(7, 2)


def test_nonpreemptive_blocking_by_the_longest_lower_job():
    high = an.rta_nonpreemptive_fp([Task(1, 10), Task(5, 20), Task(3, 40)])[0]
    assert high.wcrt == 6                    # B = 5, then its own 1


def test_edf_demand_and_utilisation():
    implicit = an.edf_demand_test([Task(1, 4), Task(2, 6), Task(3, 12)])
    assert all(b.schedulable and b.wcrt == b.deadline for b in implicit)   # U = 0.833
    constrained = an.edf_demand_test([Task(1, 4, D=3), Task(2, 6, D=4), Task(3, 12, D=5)])
    assert not any(b.schedulable for b in constrained)
    assert "demand 6 exceeds 5" in constrained[0].reason            # dbf(5) = 1 + 2 + 3
    fits = an.edf_demand_test([Task(1, 4, D=2), Task(2, 6, D=4), Task(3, 12, D=10)])
    assert all(b.schedulable for b in fits)
    over = an.edf_demand_test([Task(3, 4), Task(2, 6)])
    assert not over[0].schedulable and "utilisation" in over[0].reason


def test_utilisation_bounds():
    assert an.liu_layland_bound(1) == 1.0
    assert an.liu_layland_bound(3) == pytest.approx(0.7798, abs=1e-4)
    tasks = [Task(1, 4), Task(2, 6), Task(3, 12)]
    assert an.utilisation(tasks) == pytest.approx(5 / 6)
    assert an.hyperbolic_bound(tasks) == pytest.approx(1.25 * 4 / 3 * 1.25)


def test_gfb():
    tasks = [Task(1, 4), Task(2, 6), Task(3, 12)]
    assert all(b.schedulable and not b.exact for b in an.gfb_test(tasks, 2))
    heavy = [Task(3, 4), Task(3, 4), Task(3, 4)]         # U = 2.25 on 3 cores, but 2.25 > 3 - 2 x 0.75
    assert not any(b.schedulable for b in an.gfb_test(heavy, 3))


def test_global_fp_on_one_core_is_no_better_than_exact():
    tasks = [Task(1, 4), Task(2, 6), Task(3, 12)]
    exact = an.rta_preemptive_fp(tasks)
    for b, e in zip(an.rta_global_fp(tasks, 1), exact):
        assert not b.exact and b.wcrt >= e.wcrt


def test_audsley_schedules_what_rate_monotonic_cannot():
    """Deadlines shorter than periods: RM (by period) misses, deadline order schedules (Audsley finds it)."""
    tasks = [Task(2, 4, D=4), Task(2, 6, D=3)]
    assert not all(b.schedulable for b in an.rta_preemptive_fp(tasks, [0, 1]))
    prio = an.audsley(tasks)
    assert prio == [1, 0]
    assert all(b.schedulable for b in an.rta_preemptive_fp(tasks, prio))
    assert an.audsley([Task(3, 4), Task(3, 4)]) is None


def test_caps_are_reported_never_a_loop():
    b = an.rta_preemptive_fp([Task(1, 4), Task(2, 6), Task(3, 12)], cap=2)[2]
    assert math.isinf(b.wcrt) and "cap" in b.reason and not b.schedulable
    over = an.rta_preemptive_fp([Task(3, 4), Task(3, 4)])[1]
    assert math.isinf(over.wcrt) and "never ends" in over.reason


def test_bad_input_names_the_argument():
    with pytest.raises(InvalidValueError, match="T"):
        Task(1, 0)
    with pytest.raises(InvalidValueError, match="priorities"):
        an.rta_preemptive_fp([Task(1, 4)], priorities=[0, 1])
    with pytest.raises(InvalidValueError, match="tasks"):
        an.rta_preemptive_fp([])


# ---------------------------------------------------------------- properties against the slow twin

@st.composite
def task_sets(draw, n_max=4, jitter=True):
    n = draw(st.integers(1, n_max))
    out = []
    for _ in range(n):
        T = draw(st.sampled_from([2, 3, 4, 6, 8, 12]))          # hyperperiod at most 24
        C = Fraction(draw(st.integers(0, 4 * T)), 8)
        J = Fraction(draw(st.integers(0, T - 1)), 2) if jitter else 0
        D = draw(st.sampled_from([None, T, max(1, T - 1)]))
        out.append(Task(float(C), T, D, float(J)))
    assume(sum(t.C / t.T for t in out) <= 1.0)
    return out


def _worst(tasks, finish, jobs):
    worst = [Fraction(-1)] * len(tasks)
    for f, (r, i, _) in zip(finish, jobs):
        worst[i] = max(worst[i], f - r)
    return worst


def _run(draw, tasks, **kw):
    horizon = 3 * math.lcm(*[int(t.T) for t in tasks])
    jit = [[draw(st.sampled_from([0, 1, Fraction(1, 2)])) for _ in range(horizon)] for _ in tasks]
    var = [[draw(st.sampled_from([1, Fraction(1, 2), Fraction(3, 4)])) for _ in range(horizon)] for _ in tasks]
    offsets = [draw(st.integers(0, int(t.T) - 1)) for t in tasks]
    jobs = releases(tasks, horizon, offsets, lambda i, k: jit[i][k], lambda i, k: var[i][k])
    return _worst(tasks, schedule(jobs, **kw), jobs)


@SETTINGS
@given(tasks=task_sets(), preemptive=st.booleans(), data=st.data())
def test_simulated_response_never_exceeds_the_fp_bound(tasks, preemptive, data):
    prio = list(range(len(tasks)))
    test = an.rta_preemptive_fp if preemptive else an.rta_nonpreemptive_fp
    bounds = test(tasks, prio)
    worst = _run(data.draw, tasks, priorities=prio, preemptive=preemptive)
    for b, w in zip(bounds, worst):
        assert w <= b.wcrt


@SETTINGS
@given(tasks=task_sets(), preemptive=st.booleans(), data=st.data())
def test_edf_and_fifo_verdicts_hold(tasks, preemptive, data):
    deadlines = [t.deadline for t in tasks]
    edf = an.edf_demand_test(tasks, preemptive=preemptive)
    worst = _run(data.draw, tasks, policy="edf", deadlines=deadlines, preemptive=preemptive)
    if all(b.schedulable for b in edf):
        assert all(w <= d for w, d in zip(worst, deadlines))
    fifo = an.busy_period_bound(tasks)
    worst = _run(data.draw, tasks, policy="fifo", preemptive=preemptive)
    assert all(w <= b.wcrt for w, b in zip(worst, fifo))


@SETTINGS
@given(tasks=task_sets(n_max=5), cores=st.integers(2, 3), preemptive=st.booleans(), data=st.data())
def test_global_bounds_hold(tasks, cores, preemptive, data):
    prio = list(range(len(tasks)))
    bounds = an.rta_global_fp(tasks, cores, prio, preemptive=preemptive)
    worst = _run(data.draw, tasks, cores=cores, priorities=prio, preemptive=preemptive)
    for b, w in zip(bounds, worst):
        assert w <= b.wcrt
    if preemptive and all(b.schedulable for b in an.gfb_test(tasks, cores)):
        worst = _run(data.draw, tasks, cores=cores, policy="edf", deadlines=[t.deadline for t in tasks])
        assert all(w <= t.deadline for w, t in zip(worst, tasks))


@SETTINGS
@given(tasks=task_sets(n_max=5, jitter=False), partitioned=st.booleans(), data=st.data())
def test_synchronous_release_reaches_the_exact_bound(tasks, partitioned, data):
    """Deterministic times, everything released at 0: the simulated worst equals the exact bound."""
    prio = list(range(len(tasks)))
    cores = 2 if partitioned else 1
    partition = [data.draw(st.integers(0, 1)) for _ in tasks] if partitioned else None
    horizon = 2 * math.lcm(*[int(t.T) for t in tasks])
    jobs = releases(tasks, horizon)
    worst = _worst(tasks, schedule(jobs, cores=cores, priorities=prio, partition=partition), jobs)
    for core in range(cores):
        mine = [i for i in range(len(tasks)) if partition is None or partition[i] == core]
        if not mine:
            continue
        bounds = an.rta_preemptive_fp([tasks[i] for i in mine], [prio[i] for i in mine])
        for i, b in zip(mine, bounds):
            assert b.exact and worst[i] == b.wcrt


# ---------------------------------------------------------------- the model-level analysis against the event engine

PERIODS = [1, 2, 3, 4, 6]


@st.composite
def scheduled_models(draw, readout=None, jitter=True):
    import clocksim as cs
    g = draw(st.integers(2, 3))
    periods = sorted(draw(st.lists(st.sampled_from(PERIODS), min_size=g, max_size=g)))
    clocks = []
    for p in periods:
        kind = draw(st.sampled_from(["periodic", "jittered"] if jitter else ["periodic"]))
        if kind == "periodic":
            clocks.append(cs.Periodic(p, draw(st.integers(0, p - 1))))
        else:
            clocks.append(cs.Jittered(float(p), draw(st.sampled_from([0.0, 0.25, 0.5])) * p,
                                      seed=draw(st.integers(0, 9))))
    model = cs.ClockworkRNN(1, 1, [draw(st.integers(1, 3)) for _ in range(g)], clocks, seed=0)
    return model


def _simulate(model, compute, n_steps, deadline=None):
    import numpy as np

    import clocksim as cs
    x = np.random.default_rng(0).normal(size=(n_steps, model.n_in))
    return cs.simulate(model, x, engine="events", compute=compute, deadline=deadline).trace.summary()


def _dyadic(t):
    """A time that is a multiple of 1/64: the engine's float64 sums of such times are exact, so an exact
    tie (a job finishing at the instant a higher-priority job is released) stays a tie in the simulation
    (with 0.3 + 0.9 + ... it may round either way; docs/analysis.md)."""
    return max(1, round(t * 64)) / 64


def _close_below(simulated, bound):
    """Simulated times are sums of floats; the bound is exact arithmetic on the same inputs."""
    return simulated <= bound + 1e-9 * max(1.0, abs(bound))


@settings(deadline=None, max_examples=25)
@given(model=scheduled_models(), policy=st.sampled_from(["fixed-priority", "edf", "fifo"]),
       preemptive=st.booleans(), cores=st.integers(1, 2), partitioned=st.booleans(), readout=st.booleans(),
       load=st.sampled_from([0.2, 0.5, 0.8]), data=st.data())
def test_simulated_response_never_exceeds_its_bound(model, policy, preemptive, cores, partitioned, readout, load,
                                                    data):
    """Every policy, variation on: a simulated response (and output-complete latency) never exceeds its bound."""
    import clocksim as cs
    g = model.g
    execution = [_dyadic(load * float(c.nominal_period) / g * data.draw(st.sampled_from([0.5, 1.0])))
                 for c in model.clocks]
    partition = [data.draw(st.integers(0, cores - 1)) for _ in range(g)] if partitioned and cores > 1 else None
    compute = cs.ComputeModel(cores=cores, policy=policy, preemptive=preemptive, partition=partition,
                              execution=execution, readout=readout, variation={"kind": "uniform", "low": 0.5})
    result = cs.analyze(model, compute)
    summary = _simulate(model, compute, 36)
    for row, sim in zip(result["modules"], summary["per_module"]):
        if sim["response"]["n"]:
            assert _close_below(sim["response"]["max"], row["wcrt"]), (row, sim["response"])
    if summary["latency"]["max"] is not None:
        assert _close_below(summary["latency"]["max"], result["latency_bound"])


@settings(deadline=None, max_examples=20)
@given(model=scheduled_models(jitter=False), partitioned=st.booleans(), load=st.sampled_from([0.3, 0.6, 0.9]),
       data=st.data())
def test_synchronous_release_reaches_the_exact_bound_on_the_engine(model, partitioned, load, data):
    """Deterministic times, every module released at 0 (phases 0): the simulated worst equals the exact bound,
    preemptive fixed priority, one core and partitioned."""
    import clocksim as cs
    model = cs.ClockworkRNN(1, 1, model.module_sizes, [cs.Periodic(int(c.period)) for c in model.clocks], seed=0)
    g = model.g
    cores = 2 if partitioned else 1
    partition = [data.draw(st.integers(0, 1)) for _ in range(g)] if partitioned else None
    execution = [_dyadic(load * float(c.period) / g) for c in model.clocks]
    compute = cs.ComputeModel(cores=cores, preemptive=True, partition=partition, execution=execution, readout=False)
    result = cs.analyze(model, compute)
    assert result["exact"] and result["test"] == "rta-fp-preemptive"
    summary = _simulate(model, compute, 2 * math.lcm(*[int(c.period) for c in model.clocks]))
    for row, sim in zip(result["modules"], summary["per_module"]):
        assert sim["response"]["max"] == pytest.approx(row["wcrt"], rel=1e-9, abs=1e-12)


def test_analyze_refuses_what_it_cannot_bound():
    import clocksim as cs
    model = cs.ClockworkRNN(1, 1, [2, 2], [cs.Periodic(1), cs.Poisson(0.5, seed=1)])
    r = cs.analyze(model, cs.ComputeModel(execution=[0.1, 0.1]))
    assert not r["schedulable"] and "Poisson without min_gap" in r["reason"]
    gapped = cs.ClockworkRNN(1, 1, [2, 2], [cs.Periodic(1), cs.Poisson(0.5, seed=1, min_gap=2.0)])
    r = cs.analyze(gapped, cs.ComputeModel(execution=[0.1, 0.1]))
    assert r["schedulable"] and r["modules"][1]["T"] == 2.0 and "min_gap" in r["modules"][1]["release_model"]
    assert (cs.Poisson(0.5, seed=1, min_gap=2.0).firing_times(0, 200) >= 0).all()
    assert (np.diff(cs.Poisson(0.5, seed=1, min_gap=2.0).firing_times(0, 200)) >= 2.0).all()
    over = cs.analyze(model.__class__(1, 1, [2, 2], [1, 2]), cs.ComputeModel(execution=[0.9, 0.5]))
    assert not over["schedulable"] and over["utilisation"]["total"] > 1
    with pytest.raises(cs.ClocksimError, match="compute"):
        cs.analyze(gapped, {"cores": 1})


def test_analyze_cli_prints_a_table_and_writes_nothing(tmp_path, capsys):
    from clocksim.app.cli import main
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "keyword_spotter.toml"
    before = set(Path.cwd().iterdir())
    assert main(["analyze", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "wcrt" in out and "latency bound" in out and "schedulable" in out
    assert main(["analyze", str(scenario), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["modules"]) == 8 and isinstance(data["schedulable"], bool)
    assert set(Path.cwd().iterdir()) == before
    plain = tmp_path / "plain.toml"
    plain.write_text("[model]\nperiods = [1, 2]\nmodule_sizes = 2\n[input]\nsteps = 4\n")
    assert main(["analyze", str(plain)]) == 2
    assert "engine.compute" in capsys.readouterr().err


def test_priority_audsley_schedules_what_rate_monotonic_does_not():
    import clocksim as cs
    model = cs.ClockworkRNN(1, 1, [2, 2], [4, 6])
    kw = dict(preemptive=True, execution=[2, 2], module_deadlines=[4, 3], readout=False)
    rm = cs.analyze(model, cs.ComputeModel(priority="rate-monotonic", **kw))
    opa = cs.ComputeModel(priority="audsley", **kw)
    assert not rm["schedulable"] and cs.analyze(model, opa)["schedulable"]
    assert opa.task_set(model).ranks == (1, 0)
    summary = _simulate(model, opa, 24)
    assert summary["deadline_misses"] == 0 or all(p["deadline_misses"] == 0 for p in summary["per_module"])
    with pytest.raises(cs.ClocksimError, match="priority"):
        cs.ComputeModel(priority="audsley", cores=2, **kw).task_set(model)


def test_simulation_meets_every_deadline_where_the_analysis_proves_a_miss():
    """docs/analysis.md: the bundled input meets the deadline; the analysis proves a miss; the release
    pattern it implies (the sensor changing at an odd step) reaches the bound exactly."""
    import clocksim as cs
    from clocksim.app.scenario import load_scenario
    path = Path(__file__).resolve().parents[1] / "scenarios" / "sporadic_miss.toml"
    bundled = load_scenario(path)
    o = bundled.engine_options
    result = cs.analyze(bundled.model, o["compute"], deadline=o["deadline"])
    assert not result["schedulable"] and result["exact"]
    assert result["latency_bound"] == pytest.approx(0.9) and "latency bound" in result["reason"]

    def run(scenario):
        return cs.simulate(scenario.model, scenario.x, engine="events", compute=o["compute"],
                           deadline=o["deadline"]).trace.summary()
    fine = run(bundled)
    assert fine["deadline_misses"] == 0 and fine["latency"]["max"] <= 0.75
    odd = run(load_scenario(path, ["input.at=11"]))
    assert odd["deadline_misses"] == 1
    assert odd["latency"]["max"] == pytest.approx(result["latency_bound"], abs=1e-12)


def test_search_prunes_what_the_analysis_proves_unschedulable(tmp_path):
    """prune = "analysis": proven-unschedulable trials are pruned unsimulated with the reason in the journal,
    and every one of them does miss a deadline when simulated (exact bounds, synchronous release)."""
    import csv

    import clocksim as cs
    from clocksim.app.scenario import load_scenario
    from clocksim.app.search.spec import load_search
    from clocksim.app.search.trial import proven_unschedulable
    root = Path(__file__).resolve().parents[1] / "scenarios"
    spec = load_search(root / "searches" / "periods_pruned.toml")
    assert spec.prune == "analysis"
    cs.search(root / "searches" / "periods_pruned.toml", tmp_path / "out", trials=12)
    rows = list(csv.DictReader(open(tmp_path / "out" / "trials.csv")))
    pruned = [r for r in rows if r["state"] == "PRUNED"]
    assert pruned and any(r["state"] == "COMPLETE" for r in rows)
    for r in pruned:
        assert r["error"].startswith("proven unschedulable, not simulated") and not r.get("macs")
        periods = json.loads(r["model.periods"])
        scenario = load_scenario(root / "one_core_deadlines.toml", [f"model.periods={periods}"])
        assert proven_unschedulable(scenario)
        o = scenario.engine_options
        summary = cs.simulate(scenario.model, scenario.x, engine="events", compute=o["compute"],
                              deadline=o["deadline"]).trace.summary()
        assert summary["deadline_misses"] > 0 or any(p["deadline_misses"] for p in summary["per_module"])


def test_analyze_cli_gives_times_in_seconds_when_the_scenario_sets_step(tmp_path, capsys):
    import clocksim as cs
    from clocksim.app.cli import main
    from clocksim.app.scenario import load_scenario
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "keyword_spotter.toml"      # step = "10 ms"
    loaded = load_scenario(scenario, [])
    options = loaded.engine_options
    steps = cs.analyze(loaded.model, options["compute"], deadline=options["deadline"], step=options["step"],
                       batch=loaded.x.shape[0])
    assert steps["time_unit"] == "steps" and options["step"] == pytest.approx(0.01)
    assert main(["analyze", str(scenario), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["time_unit"] == "s" and data["step"] == pytest.approx(0.01)
    assert data["latency_bound"] == pytest.approx(steps["latency_bound"] * 0.01)
    assert data["deadline"] == pytest.approx(0.02)
    for row, ref in zip(data["modules"], steps["modules"]):
        for key in ("C", "T", "deadline", "wcrt", "slack"):
            assert row[key] == pytest.approx(ref[key] * 0.01), key
        assert row["period"] == ref["period"] and row["period_s"] == pytest.approx(ref["period"] * 0.01)
    assert data["readout"]["wcrt"] == pytest.approx(steps["readout"]["wcrt"] * 0.01)
    assert main(["analyze", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "wcrt (s)" in out and "C (s)" in out and "times in s" in out and "(steps)" not in out
    fast = min(steps["modules"], key=lambda r: r["C"])
    assert f"{fast['C'] * 0.01:.4g}" in out
    plain = tmp_path / "plain.toml"
    plain.write_text("[model]\nperiods = [1, 2]\nmodule_sizes = 2\n[input]\nsteps = 4\n"
                     "[engine]\nname = \"events\"\n[engine.compute]\ncores = 1\nexecution = [0.25, 0.5]\n")
    assert main(["analyze", str(plain)]) == 0
    out = capsys.readouterr().out
    assert "wcrt (steps)" in out and "(s)" not in out
