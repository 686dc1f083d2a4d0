"""Schedulability analysis of task sets: bounds on response times that no release pattern exceeds.

A *task* is what a module is to the scheduler (DESIGN section 10): jobs released at least
``T`` apart after a release jitter of at most ``J`` (job ``k`` arrives at ``a + k T`` and is
released somewhere in ``[a + k T, a + k T + J]``), each executing for at most ``C`` on one core and
due ``D`` after its release. Response times are measured from the release (finish - release, the
quantity the simulation reports as ``response``), so a task's own jitter only shortens the
distance between its own jobs.

Each test is one function named after its paper, the formula in its docstring:

========================================  ======================================  =======
function                                  scheduling                              exact
========================================  ======================================  =======
:func:`rta_preemptive_fp`                 preemptive fixed priority, one core     yes
:func:`rta_nonpreemptive_fp`              non-preemptive fixed priority, one core yes
:func:`edf_demand_test`                   EDF (preemptive or not), one core       yes [1]_
:func:`busy_period_bound`                 any work-conserving policy (FIFO)       no
:func:`rta_global_fp`                     global fixed priority, ``m`` cores      no
:func:`gfb_test`                          global preemptive EDF, ``m`` cores      no
========================================  ======================================  =======

.. [1] the verdict is exact for preemptive EDF (sufficient when non-preemptive); the response bound
   it gives is the deadline.

Beside them: :func:`liu_layland_bound`, :func:`hyperbolic_bound` (utilisation bounds, reported,
never used for the verdict) and :func:`audsley` (optimal priority assignment).

Arithmetic is exact: every time is turned into a :class:`fractions.Fraction` (a float is an exact
binary fraction), so a fixed point is reached exactly, ``floor`` and ``ceil`` never round the
wrong way and a bound equals the simulated worst case to the last bit when it should. Every
iteration is capped (``cap``, default :data:`CAP`): a busy period or fixed point that does not
close within the cap gives an infinite bound whose ``reason`` names the cap, never a loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .._validate import as_float, as_int
from ..errors import InvalidValueError

__all__ = ["Task", "Bound", "CAP", "utilisation", "liu_layland_bound", "hyperbolic_bound",
           "rta_preemptive_fp", "rta_nonpreemptive_fp", "edf_demand_test", "busy_period_bound",
           "rta_global_fp", "gfb_test", "audsley", "TESTS"]

#: Default most iterations of one fixed point, and most jobs or check points of one busy period.
CAP = 100_000


@dataclass(frozen=True)
class Task:
    """One task: worst-case execution time ``C``, period or least release gap ``T``, relative
    deadline ``D`` (default ``T``) and release jitter ``J`` (default 0), all in one time unit."""

    C: float
    T: float
    D: float | None = None
    J: float = 0.0

    def __post_init__(self):
        as_float("C", self.C, minimum=0.0)
        as_float("T", self.T, minimum=0.0, strict_minimum=True)
        if self.D is not None:
            as_float("D", self.D, minimum=0.0, strict_minimum=True)
        as_float("J", self.J, minimum=0.0)

    @property
    def deadline(self) -> float:
        return self.T if self.D is None else self.D


@dataclass
class Bound:
    """The outcome of a test for one task.

    ``wcrt`` is a bound on the response time (``inf`` when none could be found, ``reason`` says
    why); ``exact`` says the bound is reached by some release pattern (else it is only
    sufficient); ``jobs`` and ``iterations`` say how much of the cap was used.
    """

    wcrt: float
    deadline: float
    test: str
    exact: bool
    jobs: int = 1
    iterations: int = 0
    reason: str = ""
    worst_job: int = 0

    @property
    def schedulable(self) -> bool:
        return self.wcrt <= self.deadline

    @property
    def slack(self) -> float:
        return self.deadline - self.wcrt

    def to_dict(self) -> dict:
        out = {"wcrt": self.wcrt, "test": self.test, "exact": self.exact, "deadline": self.deadline,
               "slack": self.slack, "schedulable": self.schedulable, "jobs": self.jobs,
               "iterations": self.iterations}
        if self.reason:
            out["reason"] = self.reason
        return out


class _Capped(Exception):
    def __init__(self, what: str, cap: int):
        super().__init__(f"{what} did not close within {cap} iterations (the cap)")


@dataclass
class _Exact:
    """A task in exact arithmetic."""

    C: Fraction
    T: Fraction
    D: Fraction
    J: Fraction
    index: int = field(default=0)


def _exact(tasks: Sequence[Task]) -> list[_Exact]:
    if not isinstance(tasks, Sequence) or not tasks:
        raise InvalidValueError(key="tasks", value=tasks, expected="a non-empty sequence of Task")
    out = []
    for i, t in enumerate(tasks):
        if not isinstance(t, Task):
            raise InvalidValueError(key=f"tasks[{i}]", value=t, expected="a Task(C, T, D, J)")
        out.append(_Exact(Fraction(t.C), Fraction(t.T), Fraction(t.deadline), Fraction(t.J), i))
    return out


def _cap(cap) -> int:
    return as_int("cap", cap, minimum=1)


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _fixed_point(f: Callable[[Fraction], Fraction], x: Fraction, cap: int, what: str,
                 limit: Fraction | None = None) -> tuple[Fraction, int]:
    """Least fixed point of the non-decreasing ``f`` at or above ``x`` (iterated from ``x``); as soon
    as an iterate passes ``limit`` that iterate is returned (the caller only needs to know)."""
    for it in range(1, cap + 1):
        nxt = f(x)
        if nxt == x or (limit is not None and nxt > limit):
            return nxt, it
        x = nxt
    raise _Capped(what, cap)


def _busy_period(tasks: Sequence[_Exact], blocking: Fraction, cap: int) -> tuple[Fraction, int]:
    """Length of the longest busy period of ``tasks`` after ``blocking``, synchronous release with jitter:
    ``L = B + sum_j ceil((L + J_j) / T_j) C_j`` (starting from ``B + sum C``)."""
    if sum(t.C / t.T for t in tasks) > 1:
        raise _Capped("the busy period (utilisation over 1, it never ends)", cap)
    start = blocking + sum(t.C for t in tasks)
    if start == 0:
        return Fraction(0), 1
    return _fixed_point(lambda L: blocking + sum(_ceil((L + t.J) / t.T) * t.C for t in tasks), start, cap,
                        "the busy period")


def utilisation(tasks: Sequence[Task]) -> float:
    """``U = sum_i C_i / T_i``."""
    return float(sum(t.C / t.T for t in _exact(tasks)))


def liu_layland_bound(n: int) -> float:
    """``n (2^{1/n} - 1)``: rate-monotonic schedules every implicit-deadline periodic set of ``n``
    tasks whose utilisation is at most this (Liu & Layland, "Scheduling algorithms for
    multiprogramming in a hard-real-time environment", JACM 20(1), 1973). Sufficient only."""
    n = as_int("n", n, minimum=1)
    return n * (2.0 ** (1.0 / n) - 1.0)


def hyperbolic_bound(tasks: Sequence[Task]) -> float:
    """``prod_i (U_i + 1)``: rate-monotonic schedules an implicit-deadline set when this is at most 2
    (Bini, Buttazzo, Buttazzo, "Rate monotonic analysis: the hyperbolic bound", IEEE TC 52(7),
    2003). Tighter than Liu & Layland, still sufficient only."""
    return float(math.prod(1 + t.C / t.T for t in _exact(tasks)))


def _order(tasks: Sequence[_Exact], priorities: Sequence[int] | None) -> list[int]:
    """Priority of each task (lower runs first); default: the order given."""
    if priorities is None:
        return list(range(len(tasks)))
    if len(priorities) != len(tasks):
        raise InvalidValueError(f"got {len(priorities)} priorities for {len(tasks)} tasks", key="priorities")
    return [as_int(f"priorities[{i}]", p) for i, p in enumerate(priorities)]


def _split(tasks, prio, i):
    """Tasks that may run before task ``i`` (higher or equal priority: sound whatever breaks a tie) and
    those strictly lower."""
    hp = [t for j, t in enumerate(tasks) if j != i and prio[j] <= prio[i]]
    lp = [t for j, t in enumerate(tasks) if prio[j] > prio[i]]
    return hp, lp


def _release(t: _Exact, q: int) -> Fraction:
    """Earliest release of job ``q`` of a busy period that the task's job 0 starts at time 0."""
    return max(Fraction(0), q * t.T - t.J)


def _unbounded(t: _Exact, test: str, exact: bool, reason: str) -> Bound:
    return Bound(math.inf, float(t.D), test, exact, reason=reason)


def _per_job(tasks, i, hp, blocking, job_finish, test: str, cap: int) -> Bound:
    """Worst response over the jobs of task ``i``'s level-i busy period (``job_finish(q)`` is the latest
    finish of job ``q`` measured from the start of the busy period)."""
    t = tasks[i]
    try:
        length, iterations = _busy_period(hp + [t], blocking, cap)
        jobs = max(1, _ceil((length + t.J) / t.T))
        if jobs > cap:
            raise _Capped(f"the level-{i} busy period ({jobs} jobs)", cap)
        worst, worst_q = Fraction(-1), 0
        for q in range(jobs):
            finish, its = job_finish(q)
            iterations += its
            r = finish - _release(t, q)
            if r > worst:
                worst, worst_q = r, q
    except _Capped as exc:
        return _unbounded(t, test, True, str(exc))
    return Bound(float(worst), float(t.D), test, True, jobs=jobs, iterations=iterations, worst_job=worst_q)


def rta_preemptive_fp(tasks: Sequence[Task], priorities: Sequence[int] | None = None, cap: int = CAP) -> list[Bound]:
    """Exact response-time analysis, preemptive fixed priority on one core.

    Joseph & Pandya, "Finding response times in a real-time system", The Computer Journal 29(5),
    1986; Audsley, Burns, Richardson, Tindell, Wellings, "Applying new scheduling theory to static
    priority pre-emptive scheduling", Software Engineering Journal 8(5), 1993 (release jitter);
    arbitrary deadlines over the level-i busy period as in Tindell, Burns, Wellings, "An extendible
    approach for analysing fixed priority hard real-time tasks", Real-Time Systems 6(2), 1994.
    Job ``q = 0, 1, ...`` of the level-i busy period finishes by the least fixed point of

        w_i(q) = (q + 1) C_i + sum_{j in hp(i)} ceil((w_i(q) + J_j) / T_j) C_j

    and its response (from its release ``max(0, q T_i - J_i)``) is ``R_i(q) = w_i(q) - max(0, q T_i -
    J_i)``; ``R_i = max_q R_i(q)`` over the ``ceil((L_i + J_i) / T_i)`` jobs of the busy period
    ``L_i``. Exact when the tasks are independent and released with every offset possible (the
    critical instant: all released together, at the end of their jitter).
    """
    tasks, cap = _exact(tasks), _cap(cap)
    prio = _order(tasks, priorities)
    out = []
    for i, t in enumerate(tasks):
        hp, _ = _split(tasks, prio, i)
        if t.C == 0:                             # takes no time: finishes at its release
            out.append(Bound(0.0, float(t.D), "rta-fp-preemptive", True))
            continue

        def finish(q, t=t, hp=hp, i=i):
            own = (q + 1) * t.C
            return _fixed_point(lambda w: own + sum(_ceil((w + j.J) / j.T) * j.C for j in hp),
                                own + sum(j.C for j in hp), cap, f"the response of job {q} of task {i}")
        out.append(_per_job(tasks, i, hp, Fraction(0), finish, "rta-fp-preemptive", cap))
    return out


def rta_nonpreemptive_fp(tasks: Sequence[Task], priorities: Sequence[int] | None = None,
                         cap: int = CAP) -> list[Bound]:
    """Exact response-time analysis, non-preemptive fixed priority on one core.

    Davis, Burns, Bril, Lukkien, "Controller Area Network (CAN) schedulability analysis: refuted,
    revisited and revised", Real-Time Systems 35(3), 2007 (sections 3.3-3.4), in continuous time.
    A job is blocked at most ``B_i = max_{k in lp(i)} C_k`` by a lower-priority job already running.
    Job ``q`` of the level-i busy period ``t_i = B_i + sum_{k in hep(i)} ceil((t_i + J_k) / T_k) C_k``
    starts by the least fixed point of

        w_i(q) = B_i + q C_i + sum_{k in hp(i)} (floor((w_i(q) + J_k) / T_k) + 1) C_k

    (a higher-priority job released at the very instant ``w`` still goes first: the ``+ 1``, the
    limit of Davis et al.'s ``tau_bit``), runs to completion, and its response is ``w_i(q) + C_i -
    max(0, q T_i - J_i)``. All ``ceil((t_i + J_i) / T_i)`` jobs are checked: the worst need not be the
    first (the error of the original CAN analysis that the paper corrects; see its example in
    ``tests/test_analysis.py``).
    """
    tasks, cap = _exact(tasks), _cap(cap)
    prio = _order(tasks, priorities)
    out = []
    for i, t in enumerate(tasks):
        hp, lp = _split(tasks, prio, i)
        blocking = max((k.C for k in lp), default=Fraction(0))

        def finish(q, t=t, hp=hp, blocking=blocking, i=i):
            base = blocking + q * t.C
            w, its = _fixed_point(lambda w: base + sum((_floor((w + k.J) / k.T) + 1) * k.C for k in hp),
                                  base, cap, f"the start of job {q} of task {i}")
            return w + t.C, its
        out.append(_per_job(tasks, i, hp, blocking, finish, "rta-fp-nonpreemptive", cap))
    return out


def edf_demand_test(tasks: Sequence[Task], preemptive: bool = True, cap: int = CAP,
                    interference: Sequence[Task] = ()) -> list[Bound]:
    """EDF on one core: the processor-demand test.

    Baruah, Rosier, Howell, "Algorithms and complexity concerning the preemptive scheduling of
    periodic, real-time tasks on one processor", Real-Time Systems 2(4), 1990. The set is
    schedulable iff ``U <= 1`` and at every absolute deadline ``t`` up to the synchronous busy period
    ``L``

        dbf(t) = sum_i max(0, floor((t + J_i - D_i) / T_i) + 1) C_i <= t

    (a jittered task packs its releases ``T_i - J_i`` apart at first). With implicit deadlines and no
    jitter this is Liu & Layland's ``U <= 1``, used directly. Non-preemptive (George, Rivierre, Spuri,
    "Preemptive and non-preemptive real-time uniprocessor scheduling", INRIA RR-2966, 1996): a job
    may also wait for one job with a later deadline already running, ``dbf(t) + max_{D_j > t} C_j <=
    t``, checked for ``t`` from the smallest deadline; sufficient. Each task's bound is its deadline
    when the set passes (EDF meets every deadline), ``inf`` otherwise.

    ``interference``: tasks that run before every EDF job (the readout job); their requests in a
    window, ``rbf(t) = sum_k ceil((t + J_k) / T_k) C_k``, are added to the demand (the EDF tasks get
    what they leave), which keeps the test sufficient.
    """
    tasks, cap = _exact(tasks), _cap(cap)
    extra = _exact(list(interference)) if interference else []
    exact = preemptive and not extra
    name = "edf-demand" if preemptive else "edf-demand-nonpreemptive"
    total = sum(t.C / t.T for t in tasks + extra)
    implicit = all(t.D == t.T and t.J == 0 for t in tasks) and not extra

    def verdict(ok: bool, reason: str = "", iterations: int = 0) -> list[Bound]:
        return [Bound(float(t.D) if ok else math.inf, float(t.D), name, exact, iterations=iterations,
                      reason=reason) for t in tasks]

    if total > 1:
        return verdict(False, f"utilisation {float(total):.6g} > 1")
    if preemptive and implicit:
        return verdict(True)
    try:
        length, iterations = _busy_period(tasks + extra, max(t.C for t in tasks) if not preemptive else Fraction(0),
                                          cap)
    except _Capped as exc:
        return verdict(False, str(exc))
    points = sorted({k * t.T + t.D - t.J for t in tasks
                     for k in range(max(0, _ceil((t.J - t.D) / t.T)), _floor((length - t.D + t.J) / t.T) + 1)
                     if k * t.T + t.D - t.J > 0})
    if len(points) > cap:
        return verdict(False, f"{len(points)} deadlines in the busy period, over the cap {cap}")
    for d in points:
        demand = sum(max(0, _floor((d + t.J - t.D) / t.T) + 1) * t.C for t in tasks)
        if not preemptive:
            demand += max((t.C for t in tasks if t.D > d), default=Fraction(0))
        demand += sum((_ceil((d + k.J) / k.T) * k.C for k in extra), Fraction(0))
        if demand > d:
            return verdict(False, f"demand {float(demand):.6g} exceeds {float(d):.6g} at t = {float(d):.6g}",
                           iterations + len(points))
    return verdict(True, iterations=iterations + len(points))


def busy_period_bound(tasks: Sequence[Task], cap: int = CAP) -> list[Bound]:
    """Any work-conserving policy on one core (FIFO, or any order): no job waits longer than the
    longest busy period, the synchronous one with jitter ``L = sum_j ceil((L + J_j) / T_j) C_j``
    (a busy period is longest when everything is released at once; Lehoczky, "Fixed priority
    scheduling of periodic task sets with arbitrary deadlines", RTSS 1990). Sufficient only."""
    tasks, cap = _exact(tasks), _cap(cap)
    try:
        length, iterations = _busy_period(tasks, Fraction(0), cap)
    except _Capped as exc:
        return [_unbounded(t, "busy-period", False, str(exc)) for t in tasks]
    return [Bound(float(length), float(t.D), "busy-period", False, iterations=iterations) for t in tasks]


def _sporadic(t: _Exact) -> tuple[Fraction, Fraction]:
    """A jittered task as a sporadic one (least gap ``T - J``, constrained deadline): (gap, deadline)."""
    gap = t.T - t.J
    return gap, min(t.D, gap)


def rta_global_fp(tasks: Sequence[Task], cores: int, priorities: Sequence[int] | None = None,
                  preemptive: bool = True, cap: int = CAP, known: dict | None = None) -> list[Bound]:
    """Global fixed priority on ``cores`` identical cores: a sufficient response-time bound.

    Bertogna & Cirinei, "Response-time analysis for globally scheduled symmetric multiprocessor
    platforms", RTSS 2007. Each task is taken as sporadic with least gap ``T'_i = T_i - J_i``. In a
    window of length ``L`` a higher-priority task ``i`` with bound ``R_i`` executes at most

        W_i(L) = N_i(L) C_i + min(C_i, L + R_i - C_i - N_i(L) T'_i),  N_i(L) = floor((L + R_i - C_i) / T'_i)

    and task ``k`` finishes by the least fixed point of ``R_k = C_k + (1/m) sum_{i in hp(k)} W_i(R_k)``
    (continuous time: the paper's ``min(W_i, R_k - C_k + 1)`` refinement needs integer time, so it is
    left out). Non-preemptive, in the manner of Guan, Yi, Gu, Deng, Yu, "New
    schedulability test conditions for non-preemptive scheduling on multiprocessor platforms", RTSS
    2008: a job waits to *start* only while every core is busy, with at most the ``m``
    longest lower-priority jobs already running; it has started by the least ``S_k`` with ``m S_k >
    sum_{i in hp(k)} W_i(S_k) + sum_{m longest lp} C_j`` and then runs: ``R_k = S_k + C_k``. The
    window argument needs a job to finish before its next release (``R_k <= T'_k``); a task whose bound
    exceeds that, and every task below it, is left unbounded. Only sufficient (``exact: false``).

    A task with ``J_i >= T_i`` (bursts, e.g. the readout job) has no least gap; its workload is
    bounded by the releases a window of ``L + R_i`` can hold, ``W_i(L) = (floor((L + R_i + J_i) / T_i)
    + 1) C_i``, with its bound ``R_i`` given in ``known`` (task index -> bound, found by another test).
    """
    tasks, cap = _exact(tasks), _cap(cap)
    m = as_int("cores", cores, minimum=1)
    known = {int(k): Fraction(v) for k, v in (known or {}).items()}
    prio = _order(tasks, priorities)
    name = "rta-global-fp" + ("" if preemptive else "-nonpreemptive")
    out: list[Bound | None] = [None] * len(tasks)
    bound: dict[int, Fraction] = {}
    failed = ""
    for i in sorted(range(len(tasks)), key=lambda i: (prio[i], i)):
        t = tasks[i]
        if i in known:
            bound[i] = known[i]
            out[i] = Bound(float(known[i]), float(t.D), name, False)
            continue
        if failed:
            out[i] = _unbounded(t, name, False, failed)
            continue
        gap, _ = _sporadic(t)
        try:
            r, its = _global_fp_response(tasks, i, prio, m, preemptive, cap, bound)
        except _Capped as exc:
            failed = str(exc)
            out[i] = _unbounded(t, name, False, failed)
            continue
        if r > gap:
            failed = (f"task {i}: a job may still run when the next is released (bound over the least gap "
                      f"{float(gap):.6g}), the window argument no longer holds")
            out[i] = _unbounded(t, name, False, failed)
            continue
        bound[i] = r
        out[i] = Bound(float(r), float(t.D), name, False, iterations=its)
    return out


def _global_fp_response(tasks, i: int, prio, m: int, preemptive: bool, cap: int, bound: dict) -> tuple[Fraction, int]:
    """Task ``i``'s bound of :func:`rta_global_fp` (the tasks above it bounded in ``bound``) and the
    iterations it took; raises ``_Capped`` when there is none within the cap."""
    t = tasks[i]
    hp = [j for j in range(len(tasks)) if j != i and prio[j] <= prio[i]]
    lp_c = sorted((tasks[j].C for j in range(len(tasks)) if prio[j] > prio[i]), reverse=True)[:m]
    gap, _ = _sporadic(t)

    def g(x: Fraction) -> tuple[Fraction, Fraction, Fraction]:
        parts = [_global_workload(tasks[j], bound.get(j), x) for j in hp]
        total = sum((p[0] for p in parts), Fraction(0)) + (0 if preemptive else sum(lp_c, Fraction(0)))
        return (t.C if preemptive else 0) + total / m, Fraction(sum(p[1] for p in parts), m), \
            min((p[2] for p in parts), default=None)

    if gap <= 0:
        raise _Capped("a least gap T - J <= 0", cap)
    if preemptive:          # finished by R once C_k + (1/m) sum_i W_i(R) <= R
        return _least_crossing(g, t.C, gap, False, cap, f"the response of task {i}")
    # started by S once (1/m) (sum_i W_i(S) + lp) < S
    r, its = _least_crossing(g, sum(lp_c, Fraction(0)) / m, gap, True, cap, f"the start of task {i}")
    return r + t.C, its


def _global_workload(tj: Task, r_j: Fraction | None, L: Fraction) -> tuple[Fraction, int, Fraction]:
    """W_j(L) of a higher-priority task with bound ``r_j`` (None: an equal-priority task not bounded yet,
    taken at its least gap), its slope just after L (0 or 1) and how far that slope holds."""
    gap_j, _ = _sporadic(tj)
    if tj.J >= tj.T:                      # bursts: count the releases a window L + R_j holds
        x = L + r_j + tj.J
        n = _floor(x / tj.T) + 1
        return n * tj.C, 0, tj.T - (x - (n - 1) * tj.T)
    r = gap_j if r_j is None else r_j
    n = _floor((L + r - tj.C) / gap_j)
    rem = max(Fraction(0), L + r - tj.C - n * gap_j)
    if rem < tj.C:
        return n * tj.C + rem, 1, tj.C - rem
    return n * tj.C + tj.C, 0, gap_j - rem


def _least_crossing(g, x: Fraction, limit: Fraction, strict: bool, cap: int, what: str) -> tuple[Fraction, int]:
    """Least ``x`` (from the given one up) where the non-decreasing, piecewise-linear, continuous
    ``g`` comes down to ``x`` (``g(x) <= x``; with ``strict``, ``g(x') < x'`` just after ``x``).

    ``g(x)`` returns its value, its slope just after ``x`` and how far that slope holds (None: for
    ever). Solved piece by piece, exactly (a plain fixed-point iteration of a function with sloped
    pieces converges only in the limit). Returns the first ``x`` over ``limit`` when none is below it.
    """
    for it in range(1, cap + 1):
        value, slope, reach = g(x)
        if value <= x and not (strict and value == x and slope >= 1):
            return x, it
        if slope < 1:
            step = (value - x) / (1 - slope)
            if reach is None or step < reach:     # strict: the value may jump at the reach
                return x + step, it
        if reach is None:
            return limit + 1, it
        x += reach
        if x > limit:
            return x, it
    raise _Capped(what, cap)


def gfb_test(tasks: Sequence[Task], cores: int) -> list[Bound]:
    """Global preemptive EDF on ``cores`` identical cores: the density bound (GFB).

    Goossens, Funk, Baruah, "Priority-driven scheduling of periodic task systems on
    multiprocessors", Real-Time Systems 25(2-3), 2003, with densities for constrained deadlines
    (Bertogna, Cirinei, Lipari, "Improved schedulability analysis of EDF on multiprocessor
    platforms", ECRTS 2005): schedulable if ``sum_i lambda_i <= m - (m - 1) max_i lambda_i`` with
    ``lambda_i = C_i / min(D_i, T_i - J_i)``. Each bound is the task's deadline when the set passes.
    Sufficient only.
    """
    tasks = _exact(tasks)
    m = as_int("cores", cores, minimum=1)
    dens = []
    for t in tasks:
        gap, d = _sporadic(t)
        dens.append(t.C / d if d > 0 else (Fraction(0) if t.C == 0 else Fraction(10**18)))
    total, top = sum(dens), max(dens)
    ok = total <= m - (m - 1) * top
    reason = "" if ok else f"density {float(total):.6g} > {m} - {m - 1} x {float(top):.6g}"
    return [Bound(float(t.D) if ok else math.inf, float(t.D), "gfb", False, reason=reason) for t in tasks]


def audsley(tasks: Sequence[Task], test: Callable[..., list[Bound]] = rta_preemptive_fp,
            **kwargs) -> list[int] | None:
    """Optimal priority assignment: one priority per task (0 runs first), or None when none works.

    Audsley, "Optimal priority assignment and feasibility of static priority tasks with arbitrary
    start times", University of York YCS 164, 1991 (and Audsley, "On priority assignment in fixed
    priority scheduling", Information Processing Letters 79(1), 2001). From the lowest level up, give
    the level to any unassigned task that meets its deadline there with every other unassigned task
    above it; if none does, no priority order is schedulable. Optimal for any test whose verdict on a
    task depends only on the *set* of tasks above it, not their order (OPA-compatible, Davis & Burns
    2011): both :func:`rta_preemptive_fp` and :func:`rta_nonpreemptive_fp` are.
    """
    n = len(_exact(tasks))
    prio: list[int | None] = [None] * n
    for level in range(n - 1, -1, -1):
        for i in range(n - 1, -1, -1):           # prefer the slower (later) task at a low level
            if prio[i] is not None:
                continue
            trial = [0 if p is None and j != i else (level if j == i else p) for j, p in enumerate(prio)]
            if test(tasks, trial, **kwargs)[i].schedulable:
                prio[i] = level
                break
        else:
            return None
    return [int(p) for p in prio]


#: Tests by name (the ``test`` of a bound), for documentation and tables.
TESTS = {"rta-fp-preemptive": rta_preemptive_fp, "rta-fp-nonpreemptive": rta_nonpreemptive_fp,
         "edf-demand": edf_demand_test, "busy-period": busy_period_bound, "rta-global-fp": rta_global_fp,
         "gfb": gfb_test}
