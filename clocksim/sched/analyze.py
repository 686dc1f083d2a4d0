"""``analyze(model, compute)``: the schedulability analysis of a model's modules under a compute model.

The bridge between a :class:`~clocksim.ClockworkRNN` with a :class:`~clocksim.sched.compute.ComputeModel`
and the task-set tests of :mod:`clocksim.sched.analysis`:

- each module is a task whose ``C`` is the execution time the simulation uses (the compute model's
  :meth:`~clocksim.sched.compute.ComputeModel.task_set`, the one definition: ``wcet`` divided by the
  core's speed, plus the overheads charged per job), ``D`` its module deadline and ``T``, ``J`` the
  tightest sporadic model of its clock (:func:`sporadic_model`);
- the readout job (one per input sample, released when the sample's last job finishes, before every
  module job) is a task of period 1 at the highest priority whose release jitter is that latest
  finish: found by iterating module bounds and readout jitter to a fixed point (holistic analysis,
  Tindell & Clark, "Holistic schedulability analysis for distributed hard real-time systems",
  Microprocessing and Microprogramming 40, 1994);
- the test is chosen by the policy, preemption and cores (per core when partitioned);
- ``latency_bound`` bounds the output-complete latency (DESIGN section 10): the latest finish of a
  job that latched the sample, after its arrival, plus the readout's response.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_float, as_instance, as_int
from ..errors import InvalidTypeError, InvalidValueError
from ..model.cwrnn import ClockworkRNN
from ..model.clocks import MAX_STEP, Clock, Explicit, Jittered, OnInput, Periodic, Poisson
from . import analysis as an
from .units import steps_to_seconds

__all__ = ["analyze", "sporadic_model", "analysis_table", "analysis_in_seconds", "audsley_ranks"]

#: Most rounds of the readout-jitter fixed point.
HOLISTIC_ROUNDS = 50


def sporadic_model(clock: Clock) -> dict:
    """The tightest sporadic model of a clock's releases that always holds: ``{"T", "J", "offset",
    "model"}``; ``T`` None when no least gap exists (``model`` says why).

    - :class:`Periodic` (any period, not only powers of two): periodic, ``T`` = period, no jitter;
      the phase is not used (every phasing of the other modules is assumed possible, the critical
      instant: sound, pessimistic for phases that keep modules apart forever).
    - :class:`Jittered`: periodic with release jitter ``J`` = the width of its displacement window.
    - :class:`Explicit`: sporadic with ``T`` = the least gap between its listed times.
    - :class:`Poisson`: sporadic with ``T`` = its ``min_gap`` when it has one; unbounded otherwise.
    - :class:`OnInput`: at most one firing per input sample: sporadic with ``T`` = 1.

    ``offset`` bounds how long after the arrival of the sample a firing latches it fires (0 for
    clocks firing at integer steps, which latch the sample that arrives then; below 1 otherwise).
    ``tight`` says the clock can release as the model allows (every least gap, at any instant), so an
    exact test's bound is reached by the clock itself (periodic clocks also need a common firing
    instant: :func:`_aligned`).
    """
    if isinstance(clock, Periodic):
        return {"T": float(clock.period), "J": 0.0, "offset": 0.0, "model": "periodic", "tight": True}
    if isinstance(clock, Jittered):
        return {"T": clock.period, "J": clock.jitter, "offset": 0.0 if clock.jitter == 0 and clock.synchronous
                else 1.0, "model": f"periodic with release jitter {clock.jitter:g}", "tight": False}
    if isinstance(clock, Explicit):
        offset = 0.0 if clock.synchronous else 1.0
        if clock.times.size < 2:
            return {"T": float(MAX_STEP), "J": 0.0, "offset": offset, "model": "explicit: at most one firing",
                    "tight": False}
        gap = float(np.min(np.diff(clock.times)))
        return {"T": gap, "J": 0.0, "offset": offset, "model": f"sporadic, least gap {gap:g} (explicit times)",
                "tight": False}
    if isinstance(clock, Poisson):
        gap = getattr(clock, "min_gap", 0.0)
        if gap > 0:
            return {"T": gap, "J": 0.0, "offset": 1.0, "model": f"sporadic, least gap {gap:g} (Poisson min_gap)",
                    "tight": False}
        return {"T": None, "J": 0.0, "offset": 1.0, "tight": False,
                "model": "Poisson without min_gap: any number of firings in any interval, no bound"}
    if isinstance(clock, OnInput):
        return {"T": 1.0, "J": 0.0, "offset": 0.0, "model": "sporadic, least gap 1 (at most one firing per sample)",
                "tight": True}
    return {"T": None, "J": 0.0, "offset": 1.0, "model": f"no sporadic model for clock {clock.label}", "tight": False}


def _aligned(clocks) -> bool:
    """Whether the periodic clocks fire together at some step: ``phase_i = phase_j mod gcd(T_i, T_j)`` for
    every pair (the Chinese remainder theorem), so the critical instant of the analysis happens."""
    periodic = [c for c in clocks if isinstance(c, Periodic)]
    return all((a.phase - b.phase) % math.gcd(a.period, b.period) == 0
               for k, a in enumerate(periodic) for b in periodic[k + 1:])


def _overheads(tasks) -> float:
    """Overhead time charged to each job (see :func:`_charged`)."""
    return _charged(tasks.context_switch, tasks.migration, tasks.preemptive)


def _charged(context_switch: float, migration: float, preemptive: bool) -> float:
    """Overhead time charged to each job: its start (``context_switch``) and, when preemptive, per
    preemption it causes, the preempted job's lost overhead and its resumption (``2 (context_switch +
    migration)``): the scheduler's rules, :mod:`clocksim.sched.scheduler`."""
    return context_switch + (2 * (context_switch + migration) if preemptive else 0.0)


def audsley_ranks(clocks, wcet, deadlines, *, preemptive: bool, cores: int, partition, speeds,
                  context_switch: float = 0.0, migration: float = 0.0) -> list[int]:
    """Priorities by Audsley's optimal assignment (:func:`clocksim.sched.analysis.audsley`), per core.

    The exact uniprocessor test of the compute model's preemption (both OPA-compatible) decides, on
    the sporadic models of the clocks; the readout job is left out (it runs first whatever the
    order). One core or partitioned only: the global test here depends on the order above a task,
    so the assignment would not be optimal. A core on which no order is schedulable (or with a clock
    that has no sporadic model) keeps deadline-monotonic order, which the analysis then reports.
    """
    from .policies import priority_ranks
    g = len(clocks)
    if partition is None and cores > 1:
        raise InvalidValueError("'audsley' needs one core or a partition: the global test is not OPA-compatible",
                                key="priority")
    periods = [float(c.nominal_period) for c in clocks]
    ranks = priority_ranks("deadline-monotonic", periods, deadlines)
    models = [sporadic_model(c) for c in clocks]
    extra = _charged(context_switch, migration, preemptive)
    test = an.rta_preemptive_fp if preemptive else an.rta_nonpreemptive_fp
    groups = [list(range(g))] if partition is None else \
        [[i for i in range(g) if partition[i] == c] for c in range(cores)]
    for c, grp in enumerate(groups):
        if not grp or any(models[i]["T"] is None for i in grp):
            continue
        speed = speeds[0] if partition is None else speeds[c]
        tasks = [an.Task(float(wcet[i]) / speed + extra, models[i]["T"], float(deadlines[i]), models[i]["J"])
                 for i in grp]
        found = an.audsley(tasks, test)
        if found is not None:
            for i, p in zip(grp, found):
                ranks[i] = p
    return ranks


def _test(policy: str, preemptive: bool, cores: int) -> str:
    if cores == 1:
        if policy == "fixed-priority":
            return "rta-fp-preemptive" if preemptive else "rta-fp-nonpreemptive"
        if policy == "edf":
            return "edf-demand" if preemptive else "edf-demand-nonpreemptive"
        return "busy-period"
    if policy == "fixed-priority":
        return "rta-global-fp" if preemptive else "rta-global-fp-nonpreemptive"
    if policy == "edf" and preemptive:
        return "gfb"
    return ""


def _readout_alone(readout: an.Task, tasks: list, preemptive: bool) -> an.Bound:
    """The readout's bound when it runs before every module job: its own earlier jobs and, when not
    preemptive, one module job already running (of the core it waits for)."""
    if preemptive or not tasks:
        return an.rta_preemptive_fp([readout])[0]
    return an.rta_nonpreemptive_fp([readout] + tasks, [0] + [1] * len(tasks))[0]


def _bounds(test: str, tasks: list, prio: list[int], cores: int, readout: an.Task | None) -> tuple[list, object]:
    """Bounds of ``tasks`` (and of the readout, or None) on one core group."""
    if test.startswith("rta-fp") or test.startswith("rta-global"):
        allt = tasks + ([readout] if readout is not None else [])
        allp = prio + ([min(prio, default=0) - 1] if readout is not None else [])
        if test == "rta-fp-preemptive":
            b = an.rta_preemptive_fp(allt, allp)
        elif test == "rta-fp-nonpreemptive":
            b = an.rta_nonpreemptive_fp(allt, allp)
        else:
            known = {}
            if readout is not None:       # it needs one core and runs first: its own burst, and a blocking
                known[len(tasks)] = _readout_alone(readout, tasks, test == "rta-global-fp").wcrt
            b = an.rta_global_fp(allt, cores, allp, preemptive=test == "rta-global-fp", known=known)
        return b[:len(tasks)], (b[-1] if readout is not None else None)
    if test.startswith("edf-demand"):
        return an.edf_demand_test(tasks, preemptive=test == "edf-demand", interference=[readout] if readout else ()), \
            (_readout_alone(readout, tasks, test == "edf-demand") if readout is not None else None)
    if test == "busy-period":
        b = an.busy_period_bound(tasks + ([readout] if readout is not None else []))
        return b[:len(tasks)], (b[-1] if readout is not None else None)
    if test == "gfb":
        b = an.gfb_test(tasks + ([readout] if readout is not None else []), cores)
        return b[:len(tasks)], (b[-1] if readout is not None else None)
    raise AssertionError(test)


def analyze(model, compute, deadline: float | None = None, step: float | None = None, batch: int = 1) -> dict:
    """Bounds on every module's response time and on the output-complete latency.

    Parameters
    ----------
    model : ClockworkRNN
    compute : ComputeModel
        The compute model the simulation would use (``cs.ComputeModel``).
    deadline : float, optional
        End-to-end deadline on the output-complete latency (steps), as ``cs.simulate(deadline=)``.
    step : float, optional
        Seconds per input step, needed when the compute model has times with a unit. Every time in
        the result is in steps (``time_unit``), as the analysis is of the schedule, not the device.
    batch : int
        Sequences per run (the execution time of a job scales with it unless measured).

    Returns
    -------
    dict
        ``utilisation`` (``{total, per_core, bound}``: demand, the Liu & Layland and hyperbolic bounds
        beside), ``schedulable`` (bool), ``exact`` (whether that verdict is exact), ``reason`` (why
        not, when not), ``modules`` (one dict per module: ``wcrt``, ``test``, ``exact``, ``deadline``,
        ``slack``, ``T``, ``J``, ``C``, ``release_model``, ``schedulable``; ``exact``: the bound is reached
        by a release pattern these clocks can produce), ``readout`` (its bound, when the readout is a
        job), ``latency_bound`` and ``latency_exact``, ``proven_unschedulable`` (why a miss is certain
        to be possible: an exact bound over a deadline, or demand over capacity; empty otherwise),
        ``deadline``, ``cap`` and ``time_unit``.
    """
    ts, deadline = _task_set(model, compute, deadline, step, batch)
    g = ts.g
    models = [sporadic_model(c) for c in model.clocks]
    C, readout_c = _job_costs(ts)
    reasons = [f"module {i}: {m['model']}" for i, m in enumerate(models) if m["T"] is None]
    test = _chosen_test(ts, reasons)
    groups = [[i for i in range(g) if ts.partition[i] == c] for c in range(ts.cores)] \
        if ts.partition is not None else [list(range(g))]
    demand = [sum(C[i] / models[i]["T"] for i in grp if models[i]["T"]) for grp in groups]
    out_modules, readout_bound = [None] * g, None
    if not reasons:
        out_modules, readout_bound = _holistic_bounds(ts, models, C, readout_c, test, groups, reasons)
    modules = _module_rows(model, ts, models, C, out_modules, test, readout_c)
    latency, latency_exact, proven = _verdicts(ts, models, modules, readout_bound, demand, deadline, reasons)
    return {
        "utilisation": _utilisation(ts, models, C, demand, readout_c),
        "schedulable": not reasons,
        "exact": bool(test) and all(r["exact"] for r in modules),
        "reason": "; ".join(dict.fromkeys(reasons)),
        "test": test or "none",
        "policy": ts.policy, "preemptive": ts.preemptive,
        "partitioned": ts.partition is not None,
        "modules": modules,
        "readout": None if readout_bound is None else readout_bound.to_dict(),
        "latency_bound": float(latency),
        "latency_exact": latency_exact,
        "proven_unschedulable": proven,
        "deadline": deadline,
        "cap": an.CAP,
        "time_unit": "steps",
    }


def _task_set(model, compute, deadline, step, batch):
    """The checked arguments of :func:`analyze`: the compute model's task set and the deadline."""
    from .compute import ComputeModel
    as_instance("model", model, ClockworkRNN)
    if not isinstance(compute, ComputeModel):
        raise InvalidTypeError(key="compute", value=compute, expected="a ComputeModel")
    if deadline is not None:
        deadline = as_float("deadline", deadline, minimum=0.0, strict_minimum=True)
    batch = as_int("batch", batch, minimum=1)
    return compute.task_set(model, batch=batch, step=step), deadline


def _job_costs(ts) -> tuple[np.ndarray, float | None]:
    """Per-module ``C`` (wcet on its core's speed, the slowest when global, plus the overheads) and the
    readout job's (None when the readout is not a job)."""
    speeds = np.asarray(ts.speeds, dtype=float)
    if ts.partition is not None:
        speed = np.array([speeds[c] for c in ts.partition])
        readout_speed = speeds[ts.readout_core]
    else:
        speed = np.full(ts.g, speeds.min())
        readout_speed = speeds.min()
    extra = _overheads(ts)
    readout_c = None if ts.readout_wcet is None else ts.readout_wcet / readout_speed + extra
    return ts.wcet / speed + extra, readout_c


def _chosen_test(ts, reasons: list) -> str:
    """The test for the task set's policy, preemption and cores ("" when there is none: ``reasons`` says why)."""
    test = _test(ts.policy, ts.preemptive, 1 if ts.partition is not None else ts.cores)
    if test == "gfb" and ts.readout_wcet is not None:
        test = ""
        reasons.append("no test for global EDF with the readout job ahead of every module (readout = false has one)")
    elif not test:
        reasons.append(f"no test for global {ts.policy} {'preemptive' if ts.preemptive else 'non-preemptive'} "
                       "scheduling (global fixed priority and preemptive EDF have one)")
    return test


def _holistic_bounds(ts, models, C, readout_c, test, groups, reasons) -> tuple[list, object]:
    """Module bounds and the readout's, iterating the readout's release jitter to a fixed point."""
    g = ts.g
    cores = 1 if ts.partition is not None else ts.cores
    tasks = [an.Task(float(C[i]), models[i]["T"], float(ts.deadlines[i]), models[i]["J"]) for i in range(g)]
    out_modules = [None] * g
    jitter = 0.0
    for _ in range(HOLISTIC_ROUNDS):
        readout_bound = None
        for c, grp in enumerate(groups):
            if not grp:                     # a core without modules (the readout alone is below)
                continue
            ro = None
            if readout_c is not None and (ts.partition is None or c == ts.readout_core):
                ro = an.Task(float(readout_c), 1.0, 1.0, jitter)
            b, rb = _bounds(test, [tasks[i] for i in grp], [ts.ranks[i] for i in grp], cores, ro)
            for i, bi in zip(grp, b):
                out_modules[i] = bi
            if rb is not None:
                readout_bound = rb
        if readout_c is not None and ts.partition is not None and ts.readout_core not in \
                {ts.partition[i] for i in range(g)}:
            readout_bound = _readout_alone(an.Task(float(readout_c), 1.0, 1.0, jitter), [], True)
        last = max(models[i]["offset"] + out_modules[i].wcrt for i in range(g))
        if readout_c is None or last == jitter or math.isinf(last):
            break
        jitter = last
    else:
        reasons.append(f"the readout's release jitter did not settle within {HOLISTIC_ROUNDS} rounds")
    return out_modules, readout_bound


def _module_rows(model, ts, models, C, out_modules, test, readout_c) -> list[dict]:
    """One result row per module: its task (C, T, J), its bound and whether the bound is reached."""
    aligned = _aligned(model.clocks)
    modules = []
    for i in range(ts.g):
        m, b = models[i], out_modules[i]
        row = {"module": i, "period": float(model.clocks[i].nominal_period), "C": float(C[i]), "T": m["T"],
               "J": m["J"], "release_model": m["model"]}
        if b is None:
            row.update(wcrt=math.inf, test=test or "none", exact=False, deadline=float(ts.deadlines[i]),
                       slack=-math.inf, schedulable=False)
        else:
            row.update(b.to_dict())
            # reached only when the clocks can release as modelled and the readout's jitter (itself a
            # bound) is not in it
            row["exact"] = bool(row["exact"] and m["tight"] and aligned and readout_c is None)
        modules.append(row)
    return modules


def _verdicts(ts, models, modules, readout_bound, demand, deadline, reasons) -> tuple[float, bool, str]:
    """The latency bound, whether it is exact, and why a miss is certain (``reasons`` gets why not schedulable)."""
    for row in modules:
        if not row["schedulable"] and row.get("reason"):
            reasons.append(f"module {row['module']}: {row['reason']}")
        elif not row["schedulable"] and not reasons:
            reasons.append(f"module {row['module']}: bound {row['wcrt']:.6g} over its deadline {row['deadline']:.6g}")
    last = max((r["wcrt"] + m["offset"] for r, m in zip(modules, models)), default=0.0)
    latency = last + (readout_bound.wcrt if readout_bound is not None else 0.0)
    if readout_bound is not None and math.isinf(readout_bound.wcrt):
        reasons.append(f"readout: {readout_bound.reason or 'unbounded'}")
    if deadline is not None and not latency <= deadline:
        reasons.append(f"latency bound {latency:.6g} over the deadline {deadline:g}")
    latency_exact = all(r["exact"] for r in modules) and all(m["offset"] == 0 for m in models)
    per_core = demand if ts.partition is not None else [sum(demand) / ts.cores]
    proven = [f"module {r['module']}: exact bound {r['wcrt']:.6g} over its deadline {r['deadline']:.6g}"
              for r in modules if not r["schedulable"] and r["exact"]]
    if any(d > 1 for d in per_core):
        proven.append("demand over the cores' capacity")
    if deadline is not None and latency_exact and latency > deadline:
        proven.append(f"exact latency bound {latency:.6g} over the deadline {deadline:g}")
    return latency, latency_exact, "; ".join(proven)


def _utilisation(ts, models, C, demand, readout_c) -> dict:
    """Demand in total and per core (the readout's on its core), the Liu & Layland and hyperbolic bounds beside."""
    finite = [m for m in models if m["T"]]
    u_modules = [C[i] / models[i]["T"] for i in range(ts.g) if models[i]["T"]]
    return {"total": float(sum(demand)) + (readout_c or 0.0),
            "per_core": [float(d) + (readout_c or 0.0 if (ts.partition is None or c == ts.readout_core)
                                     else 0.0) for c, d in enumerate(demand)],
            "cores": ts.cores,
            "liu_layland": an.liu_layland_bound(len(finite)) if finite else None,
            "hyperbolic": float(np.prod([1 + u for u in u_modules])) if u_modules else None}


#: The times of a result of :func:`analyze`: per module, of the readout's bound, run-wide.
_MODULE_TIMES = ("C", "T", "J", "deadline", "wcrt", "slack")
_READOUT_TIMES = ("wcrt", "deadline", "slack")
_RESULT_TIMES = ("latency_bound", "deadline")


def analysis_in_seconds(result: dict, step: float) -> dict:
    """A copy of a result of :func:`analyze` with every time in seconds (``step`` seconds per input step):
    ``time_unit`` "s" and ``step`` set, the keys unchanged; a module's ``period`` stays in steps beside its
    ``period_s`` (the summary's convention)."""
    def scaled(d: dict, keys) -> dict:
        return {k: (steps_to_seconds(v, step) if k in keys and isinstance(v, (int, float))
                    and not isinstance(v, bool) else v) for k, v in d.items()}

    out = scaled(result, _RESULT_TIMES)
    out["modules"] = [dict(scaled(row, _MODULE_TIMES), period_s=steps_to_seconds(row["period"], step))
                      for row in result["modules"]]
    out["readout"] = None if result["readout"] is None else scaled(result["readout"], _READOUT_TIMES)
    out["time_unit"], out["step"] = "s", float(step)
    return out


def analysis_table(result: dict) -> str:
    """The result of :func:`analyze` as text: a verdict line, one row per module, the bounds beside."""
    def num(v):
        return "-" if v is None else ("inf" if v == math.inf else ("-inf" if v == -math.inf else f"{v:.4g}"))

    u = result["utilisation"]
    head = (f"{'schedulable' if result['schedulable'] else 'NOT schedulable'} "
            f"({result['test']}, {'exact' if result['exact'] else 'sufficient'}; {result['policy']}, "
            f"{'preemptive' if result['preemptive'] else 'non-preemptive'}, {u['cores']} core"
            f"{'s' if u['cores'] != 1 else ''}{', partitioned' if result['partitioned'] else ''})")
    unit = result["time_unit"]
    cols = [f"{name} ({unit})" for name in ("C", "T", "J", "D", "wcrt", "slack")]
    width = [max(len(c), w) for c, w in zip(cols, (9, 9, 7, 9, 9, 9))]
    lines = [head, f"{'module':>6} " + " ".join(f"{c:>{w}}" for c, w in zip(cols, width)) + "  exact  release model"]
    for r in result["modules"]:
        values = (r["C"], r["T"], r["J"], r["deadline"], r["wcrt"], r["slack"])
        lines.append(f"{r['module']:>6} " + " ".join(f"{num(v):>{w}}" for v, w in zip(values, width))
                     + f"  {'yes' if r['exact'] else 'no ':5}  {r['release_model']}")
    if result["readout"] is not None:
        lines.append(f"readout: bound {num(result['readout']['wcrt'])} {unit}")
    lines.append(f"output-complete latency bound {num(result['latency_bound'])}"
                 + (f" (deadline {num(result['deadline'])})" if result["deadline"] is not None else "")
                 + f"; times in {result['time_unit']}")
    lines.append(f"utilisation {num(u['total'])} on {u['cores']} core{'s' if u['cores'] != 1 else ''} (per core "
                 f"{', '.join(num(x) for x in u['per_core'])}); beside: Liu & Layland bound {num(u['liu_layland'])}, "
                 f"hyperbolic product {num(u['hyperbolic'])} (RM schedules when <= 2)")
    if result["reason"]:
        lines.append(f"why not: {result['reason']}")
    return "\n".join(lines)
