"""The scheduler: which job runs on which core, decided at instants (DESIGN section 10).

A pure state machine, no SimPy: the event engine (and :func:`run_task_set`, the task-set driver
the tests and the SimSo comparison use) tells it what happened — :meth:`Scheduler.release` (a job
became ready), :meth:`Scheduler.complete` (a running job did all its work) — and, once every release
and completion of an instant is in, asks :meth:`Scheduler.dispatch` for the decision at that instant.
So who was released first within an instant never matters: the policy's key is a total order.

Dispatch rules
--------------
- Non-preemptive: each idle core (lowest index first) takes the best ready job (of its partition when
  partitioned); a running job runs to its end.
- Preemptive, global: the best ``m`` of the running and ready jobs run. Ready jobs are taken best
  first: each takes an idle core (the core it left, if it is a preempted job and that core is idle,
  else the lowest idle index) or, when none is idle and it is better than the lowest-priority running
  job, that job's core (the running job is preempted, keeping its remaining work). A running job
  among the best ``m`` keeps its core.
- Preemptive, partitioned: the same on each core with its own jobs.

Overheads (what the engine charges, exactly)
-------------------------------------------
- ``context_switch`` at every dispatch: a job's first start and every resumption after a preemption
  (the core ran another job in between). It occupies the core; the job's work starts after it.
- ``migration`` in addition when a job resumes on a different core from the one it left.
- A job preempted while paying an overhead loses it (pays again when it resumes).
- A job's work runs at the speed of its core: ``work / speed``.
"""

from __future__ import annotations

import heapq
import math
from operator import attrgetter

from .policies import Policy

__all__ = ["Job", "Scheduler", "run_task_set"]


class Job:
    """One job: a module's activation (``module < g``) or a readout (``module == g``). Times in steps."""

    __slots__ = ("module", "release", "deadline", "work", "remaining", "key", "sk", "sample", "core", "last_core",
                 "start", "finish", "seg_start", "charged", "finish_at", "preemptions", "migrations", "token",
                 "segments", "data")

    def __init__(self, module: int, release: float, deadline: float, work: float, key: tuple, sample: int = -1):
        self.module, self.release, self.deadline = module, release, deadline
        self.work = self.remaining = work          # at speed 1
        self.key = key
        self.sample = sample
        self.sk = (key, sample)                    # the total order the scheduler sorts by
        self.core = -1                             # running on, or -1
        self.last_core = -1
        self.start = math.nan                      # first dispatch
        self.finish = math.nan
        self.seg_start = 0.0
        self.charged = 0.0
        self.finish_at = math.inf
        self.preemptions = 0
        self.migrations = 0
        self.token = 0                             # bumped at each dispatch: a stale finish timer is ignored
        self.segments: list[tuple[int, float, float, float]] = []    # (core, start, end, overhead charged)
        self.data = None                           # what the engine keeps with the job

    def __repr__(self):
        return f"Job(module={self.module}, release={self.release:g}, remaining={self.remaining:g}, core={self.core})"


_SORT_KEY = attrgetter("sk")


class Scheduler:
    """Ready queues and cores of one run (see the module docstring for the rules)."""

    def __init__(self, policy: Policy, cores: int, *, preemptive: bool = False, partition=None, readout_core: int = 0,
                 speeds=None, context_switch: float = 0.0, migration: float = 0.0):
        self.policy = policy
        self.cores = cores
        self.preemptive = preemptive
        self.partition = None if partition is None else list(partition)
        self.readout_core = readout_core
        self.speeds = list(speeds) if speeds is not None else [1.0] * cores
        self.context_switch, self.migration = context_switch, migration
        self.running: list[Job | None] = [None] * cores
        groups = [[c] for c in range(cores)] if self.partition is not None else [list(range(cores))]
        self.groups = groups
        self.ready: list[list] = [[] for _ in groups]      # per group: heap of (sort key, job)
        self.preemptions = 0
        self.migrations = 0

    def _group(self, job: Job) -> int:
        if self.partition is None:
            return 0
        return self.readout_core if job.module >= len(self.partition) else self.partition[job.module]

    def release(self, job: Job) -> None:
        """``job`` is ready (its key from the policy)."""
        heapq.heappush(self.ready[0] if self.partition is None else self.ready[self._group(job)], (job.sk, id(job), job))

    def complete(self, job: Job, now: float) -> None:
        """``job`` finished its work at ``now`` on its core."""
        job.segments.append((job.core, job.seg_start, now, job.charged))
        job.finish = now
        job.remaining = 0.0
        self.running[job.core] = None
        job.last_core, job.core = job.core, -1

    def dispatch(self, now: float) -> list[Job]:
        """The decision at ``now``: the jobs that start or resume (their ``core`` and ``finish_at`` set)."""
        if self.partition is None:
            return self._dispatch(now, self.groups[0], self.ready[0])
        started = []
        for k, cores in enumerate(self.groups):
            started += self._dispatch(now, cores, self.ready[k])
        return started

    def _dispatch(self, now: float, cores: list[int], heap: list) -> list[Job]:
        if not heap:
            return []
        idle = [c for c in cores if self.running[c] is None]
        if not self.preemptive:
            started = []
            while idle and heap:
                job = heapq.heappop(heap)[2]
                self._start(job, idle.pop(0), now)
                started.append(job)
            return started
        started = []
        running = self.running
        while heap:
            if idle:
                job = heapq.heappop(heap)[2]
                core = job.last_core if job.last_core in idle else idle[0]
                idle.remove(core)
            else:
                worst = max((running[c] for c in cores), key=_SORT_KEY)      # the lowest-priority running job
                if not heap[0][0] < worst.sk:
                    break
                core = worst.core
                self._preempt(worst, now)
                job = heapq.heappushpop(heap, (worst.sk, id(worst), worst))[2]
            self._start(job, core, now)
            started.append(job)
        return started

    def _start(self, job: Job, core: int, now: float) -> None:
        charge = self.context_switch
        if job.last_core >= 0 and job.last_core != core:
            charge += self.migration
            job.migrations += 1
            self.migrations += 1
        if math.isnan(job.start):
            job.start = now
        job.core = core
        job.seg_start = now
        job.charged = charge
        job.token += 1
        job.finish_at = now + charge + job.remaining / self.speeds[core]
        self.running[core] = job

    def _preempt(self, job: Job, now: float) -> None:
        core = job.core
        done = max(0.0, now - job.seg_start - job.charged) * self.speeds[core]
        job.remaining = max(0.0, job.remaining - done)
        job.segments.append((core, job.seg_start, now, job.charged))
        job.preemptions += 1
        self.preemptions += 1
        self.running[core] = None
        job.last_core, job.core = core, -1
        job.finish_at = math.inf
        job.token += 1


def run_task_set(tasks, policy: Policy, horizon: float, releases=None) -> list[Job]:
    """Schedule periodic jobs (no model, no engine) until ``horizon``: every job, in release order.

    ``tasks`` is a :class:`~clocksim.sched.compute.TaskSet`; module i releases at ``0, T_i, 2 T_i, ...``
    below ``horizon`` (synchronous release), or at ``releases[i]`` when given, each job taking its
    ``wcet``. As in the event engine, a module's jobs run one after the other: a job released while
    the previous one of its module is unfinished becomes ready when that one finishes (keeping its
    release and deadline). The readout job is not modelled. Every job runs to completion.
    """
    sched = Scheduler(policy, tasks.cores, preemptive=tasks.preemptive, partition=tasks.partition,
                      readout_core=tasks.readout_core, speeds=tasks.speeds, context_switch=tasks.context_switch,
                      migration=tasks.migration)
    events = []                                    # (time, kind 0 = finish / 1 = release, seq, job, token)
    jobs = []
    backlog: list[list[Job]] = [[] for _ in range(tasks.g)]
    busy = [False] * tasks.g
    seq = 0
    for i in range(tasks.g):
        times = releases[i] if releases is not None else \
            [k * tasks.periods[i] for k in range(int(math.ceil(horizon / tasks.periods[i])))]
        for t in times:
            job = Job(i, float(t), float(t + tasks.deadlines[i]), float(tasks.wcet[i]),
                      policy.key(i, float(t), float(t + tasks.deadlines[i])))
            jobs.append(job)
            heapq.heappush(events, (float(t), 1, seq, job, 0))
            seq += 1
    while events:
        now = events[0][0]
        while events and events[0][0] == now:
            _, kind, _, job, token = heapq.heappop(events)
            i = job.module
            if kind == 1:
                if busy[i]:
                    backlog[i].append(job)
                else:
                    busy[i] = True
                    sched.release(job)
            elif token == job.token and job.core >= 0:
                sched.complete(job, now)
                if backlog[i]:
                    sched.release(backlog[i].pop(0))
                else:
                    busy[i] = False
        for job in sched.dispatch(now):
            heapq.heappush(events, (job.finish_at, 0, seq, job, job.token))
            seq += 1
    return jobs
