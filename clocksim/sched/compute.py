"""The compute model: jobs on cores (DESIGN section 10).

A module's activation is a *job*: released at its firing time, executing for its execution time on a
core, finishing when it publishes. :class:`ComputeModel` holds every key of section 10, checks each at
the boundary (one :class:`~clocksim.errors.InvalidValueError` naming the key), and, bound to a model,
gives the :class:`TaskSet` that the scheduler (:mod:`clocksim.sched.scheduler`) and the analysis use:
one definition of periods, execution times, deadlines, priorities, partition and speeds.

Times are input steps unless written with a unit (``"250 us"``), which needs ``step`` (seconds per
input step) when the model is bound (:mod:`clocksim.sched.units`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._validate import as_int, check_options, did_you_mean, keyword_names
from ..errors import InvalidValueError
from .execution import Nominal, as_execution_model
from .policies import POLICIES, PRIORITY_RULES, Policy, priority_ranks
from .units import PerSecond, Seconds, in_steps, parse_rate, parse_time

__all__ = ["ComputeModel", "TaskSet", "COMPUTE_KEYS"]

#: The keyword arguments of :class:`ComputeModel` (and the keys of ``[engine.compute]``).
COMPUTE_KEYS = ("cores", "throughput", "overhead", "priority", "policy", "preemptive", "partition", "speeds",
                "execution", "variation", "context_switch", "migration", "readout", "module_deadlines", "device")


@dataclass(frozen=True)
class TaskSet:
    """A compute model bound to a model: what the scheduler and the analysis read. Times in input steps.

    ``wcet[i]`` is module i's nominal execution time at speed 1 (the worst case: variation only
    shortens it); ``deadlines[i]`` its relative deadline; ``ranks[i]`` its fixed priority (lower first;
    meaningful for ``policy == "fixed-priority"``); ``partition[i]`` its core or None (global);
    ``readout_wcet`` the readout job's execution time (None when ``readout=False``), which runs on
    ``readout_core`` when partitioned.
    """

    g: int
    periods: np.ndarray          # (g,)
    wcet: np.ndarray             # (g,)
    deadlines: np.ndarray        # (g,)
    ranks: tuple
    policy: str
    preemptive: bool
    cores: int
    partition: tuple | None
    readout_core: int
    speeds: tuple
    context_switch: float
    migration: float
    readout_wcet: float | None
    step: float | None

    @property
    def demand(self) -> float:
        """Sum of C_i / T_i over the modules (and the readout, one job per step, when it is a job)."""
        with np.errstate(divide="ignore"):
            u = float(np.sum(np.where(np.isfinite(self.periods), self.wcet / self.periods, 0.0)))
        return u + (self.readout_wcet or 0.0)


class ComputeModel:
    """Jobs on ``cores``: a policy, preemption, partition, speeds, execution times, overheads.

    Parameters
    ----------
    cores : int
        Identical compute slots (relative ``speeds`` may differ).
    throughput : float or str
        Multiply-adds one core completes per input step, or a rate with a unit (``"2e9/s"``).
    overhead : float or str
        Fixed time per job (dispatch, memory traffic).
    priority : str or sequence of int
        Fixed-priority rule: ``"fastest-first"`` (alias ``"rate-monotonic"``), ``"slowest-first"``,
        ``"deadline-monotonic"``, ``"audsley"`` (Audsley's optimal assignment by the schedulability
        analysis, one core or partitioned: :func:`clocksim.sched.analyze.audsley_ranks`), or one integer
        per module (lower runs first). ``"fifo"`` (round two) means ``policy="fifo"``.
    policy : {"fixed-priority", "edf", "fifo"}
    preemptive : bool
        A released job of higher priority takes a core from a running one of lower priority, which
        resumes later with its remaining work (global: from the lowest-priority running job).
    partition : sequence of int, optional
        One core per module (partitioned scheduling), plus optionally the readout's core last
        (default core 0). None: global scheduling.
    speeds : sequence of float, optional
        One relative speed per core; a job's execution time divides by its core's speed.
    execution : sequence of float or str, optional
        One execution time per module (measured WCETs), plus optionally the readout's last; replaces
        ``overhead + macs / throughput`` (which still gives the readout's time when only g are given).
        Not multiplied by the batch.
    variation : ExecutionModel or mapping, optional
        Seeded distribution of the fraction of the nominal time a job takes (``{kind = "uniform",
        low = 0.6}``, ``"normal"`` truncated to (0, 1], ``"empirical"`` from samples).
    context_switch : float or str
        Charged on the core at every dispatch: when a job starts and each time it resumes after a
        preemption (the core ran another job in between). The job makes no progress meanwhile; a job
        preempted during it pays it again when it resumes.
    migration : float or str
        Charged in addition when a preempted job resumes on a core other than the one it left.
    readout : bool
        The readout's ``n_out * n`` multiply-adds of each step are a job: released when the last job
        that latched the step's input finishes, highest priority.
    module_deadlines : sequence of float or str, optional
        One relative deadline per module; default its period.
    device : object, optional
        Has ``execution_times(model, dtype) -> per-module seconds``; used when ``execution`` is None
        (needs ``step``).
    """

    def __init__(self, cores: int = 1, throughput=math.inf, overhead=0.0, priority="fastest-first",
                 policy: str = "fixed-priority", preemptive: bool = False, partition=None, speeds=None,
                 execution=None, variation=None, context_switch=0.0, migration=0.0, readout: bool = True,
                 module_deadlines=None, device=None, **options):
        check_options(options, keyword_names(type(self)), where=type(self).__name__)   # ComputeModel(core=2)
        self.cores = as_int("cores", cores, minimum=1)
        self.throughput = math.inf if (isinstance(throughput, (int, float)) and not isinstance(throughput, bool)
                                       and throughput == math.inf) else parse_rate("throughput", throughput)
        self.overhead = parse_time("overhead", overhead)
        self.priority, self.policy = _checked_priority(priority, policy)
        if not isinstance(preemptive, (bool, np.bool_)):
            raise InvalidValueError(f"got {preemptive!r}, expected true or false", key="preemptive")
        self.preemptive = bool(preemptive)
        self.partition, self.speeds = _checked_cores(self.cores, partition, speeds)
        self.execution = None if execution is None else \
            [parse_time(f"execution[{i}]", v) for i, v in enumerate(_seq("execution", execution))]
        self.variation = as_execution_model(variation)
        self.context_switch = parse_time("context_switch", context_switch)
        self.migration = parse_time("migration", migration)
        if not isinstance(readout, (bool, np.bool_)):
            raise InvalidValueError(f"got {readout!r}, expected true or false", key="readout")
        self.readout = bool(readout)
        self.module_deadlines = None if module_deadlines is None else \
            [parse_time(f"module_deadlines[{i}]", v) for i, v in enumerate(_seq("module_deadlines", module_deadlines))]
        if isinstance(device, str):                     # a bundled profile's name or a device file
            from .device import Device
            device = Device.load(device)
        if device is not None and not callable(getattr(device, "execution_times", None)):
            raise InvalidValueError(f"got {device!r}, expected an object with a method execution_times(model, dtype)",
                                    key="device")
        self.device = device

    # ------------------------------------------------------------------ round two
    @property
    def legacy(self) -> bool:
        """Only round two's keys (cores, throughput, overhead, a fixed-priority rule or fifo), non-preemptive,
        no readout job: the event engine then runs today's pool of cores, results bit for bit as in round two
        (a core freed at time t goes to a job that was already waiting before the jobs released at t)."""
        return (not self.preemptive and self.partition is None and self.speeds is None and self.execution is None
                and isinstance(self.variation, Nominal) and self.context_switch == 0 and self.migration == 0
                and not self.readout and self.module_deadlines is None and self.device is None
                and self.priority not in ("deadline-monotonic", "audsley") and self.policy in ("fixed-priority", "fifo")
                and not isinstance(self.throughput, PerSecond) and not isinstance(self.overhead, Seconds))

    def duration(self, macs) -> np.ndarray:
        """Compute time of activations with the given multiply-add counts (``overhead + macs / throughput``, steps)."""
        return float(self.overhead) + np.asarray(macs, dtype=np.float64) / float(self.throughput)

    def priorities(self, periods: Sequence[float]) -> list[int]:
        """Per-module priority of round two's pool (lower first)."""
        rule = "fifo" if self.policy == "fifo" else self.priority
        return priority_ranks(rule, periods)

    # ------------------------------------------------------------------ bound to a model
    def task_set(self, model, batch: int = 1, step: float | None = None) -> TaskSet:
        """The task set of ``model`` (a ClockworkRNN) under this compute model, times in steps.

        Raises InvalidValueError naming the key when a per-module list has the wrong length or a time
        has a unit but no ``step`` is set.
        """
        g = model.g
        periods = np.asarray(model.periods, dtype=np.float64)
        wcet, readout_time = self._execution_times(model, batch, step)
        deadlines = self._relative_deadlines(periods, step)
        if isinstance(self.priority, list) and len(self.priority) != g:
            raise InvalidValueError(f"got {len(self.priority)} values for {g} modules, expected one integer per "
                                    "module", key="priority")
        partition, readout_core = self._bound_partition(g)
        ranks = self._ranks(model, wcet, periods, deadlines, partition, step)
        return TaskSet(g=g, periods=periods, wcet=np.asarray(wcet, dtype=np.float64), deadlines=deadlines,
                       ranks=ranks, policy=self.policy, preemptive=self.preemptive, cores=self.cores,
                       partition=partition, readout_core=readout_core,
                       speeds=tuple(self.speeds) if self.speeds is not None else (1.0,) * self.cores,
                       context_switch=in_steps("context_switch", self.context_switch, step),
                       migration=in_steps("migration", self.migration, step),
                       readout_wcet=float(readout_time) if self.readout else None, step=step)

    def _execution_times(self, model, batch: int, step: float | None) -> tuple[np.ndarray, float]:
        """Per-module nominal execution times and the readout job's, in steps: from ``execution``, the
        device, or ``overhead + macs / throughput``."""
        from ..cost import counts            # cost sits beside sched; imported here to keep cost.timing's re-export acyclic
        g = model.g
        throughput = in_steps("throughput", self.throughput, step) if self.throughput != math.inf else math.inf
        overhead = in_steps("overhead", self.overhead, step)
        macs = counts.activation_macs(model.module_sizes, model.block_mask, model.n_in) * batch
        readout_time = overhead + counts.readout_macs(model.n, model.n_out) * batch / throughput
        if callable(getattr(self.device, "placement", None)):       # the model must fit the device's memory
            self.device.placement(model, getattr(model, "dtype", np.float64), batch)
        if self.execution is not None:
            if len(self.execution) not in (g, g + 1):
                raise InvalidValueError(f"got {len(self.execution)} times for {g} modules, expected {g} (one per "
                                        f"module) or {g + 1} (and the readout's last)", key="execution")
            wcet = np.array([in_steps(f"execution[{i}]", v, step) for i, v in enumerate(self.execution[:g])])
            if len(self.execution) == g + 1:
                readout_time = in_steps(f"execution[{g}]", self.execution[g], step)
            return wcet, readout_time
        if self.device is None:
            return overhead + macs / throughput, readout_time
        if step is None:
            raise InvalidValueError("a device gives execution times in seconds; set step (seconds per input "
                                    "step)", key="device")
        dtype = getattr(model, "dtype", np.float64)
        seconds = np.asarray(self.device.execution_times(model, dtype), dtype=float)
        if seconds.shape != (g,) or not np.isfinite(seconds).all() or (seconds < 0).any():
            raise InvalidValueError(f"execution_times gave {seconds!r}, expected {g} finite times >= 0",
                                    key="device")
        if callable(getattr(self.device, "readout_time", None)):       # the readout job on the same device
            readout_time = float(self.device.readout_time(model, dtype)) / step
        return seconds / step, readout_time

    def _relative_deadlines(self, periods: np.ndarray, step: float | None) -> np.ndarray:
        """``module_deadlines`` in steps, checked; each module's period by default (implicit deadlines)."""
        if self.module_deadlines is None:
            return periods.copy()
        if len(self.module_deadlines) != periods.size:
            raise InvalidValueError(f"got {len(self.module_deadlines)} deadlines for {periods.size} modules, expected "
                                    "one per module", key="module_deadlines")
        deadlines = np.array([in_steps(f"module_deadlines[{i}]", v, step) for i, v in enumerate(self.module_deadlines)])
        if (deadlines <= 0).any():
            raise InvalidValueError("expected relative deadlines > 0", key="module_deadlines")
        return deadlines

    def _bound_partition(self, g: int) -> tuple[tuple | None, int]:
        """The modules' cores (None: global) and the readout's (the entry after them, else core 0)."""
        if self.partition is None:
            return None, 0
        if len(self.partition) not in (g, g + 1):
            raise InvalidValueError(f"got {len(self.partition)} cores for {g} modules, expected {g} (one per "
                                    f"module) or {g + 1} (and the readout's last)", key="partition")
        return tuple(self.partition[:g]), (self.partition[g] if len(self.partition) == g + 1 else 0)

    def _ranks(self, model, wcet, periods, deadlines, partition, step) -> tuple:
        """Per-module fixed priorities (lower first) from the rule, Audsley's assignment or the integers."""
        rule = "fifo" if self.policy == "fifo" else self.priority
        if rule != "audsley":
            return tuple(priority_ranks(rule, periods, deadlines))
        from .analyze import audsley_ranks   # optimal priority assignment by the analysis (sched.analyze)
        return tuple(audsley_ranks(
            model.clocks, np.asarray(wcet, dtype=np.float64), deadlines, preemptive=self.preemptive,
            cores=self.cores, partition=partition,
            speeds=self.speeds if self.speeds is not None else [1.0] * self.cores,
            context_switch=in_steps("context_switch", self.context_switch, step),
            migration=in_steps("migration", self.migration, step)))

    def policy_for(self, tasks: TaskSet) -> Policy:
        """The policy object ordering this task set's jobs."""
        return POLICIES[self.policy](tasks.g, tasks.ranks)

    def to_dict(self) -> dict:
        """Plain data: every key (times with a unit as seconds, under their key with ``_s``)."""
        def time(v):
            return {"s": float(v)} if isinstance(v, Seconds) else float(v)

        out = {"cores": self.cores,
               "throughput": ({"per_s": float(self.throughput)} if isinstance(self.throughput, PerSecond)
                              else self.throughput),
               "overhead": time(self.overhead), "priority": self.priority, "policy": self.policy,
               "preemptive": self.preemptive, "partition": self.partition, "speeds": self.speeds,
               "execution": None if self.execution is None else [time(v) for v in self.execution],
               "variation": self.variation.to_dict(), "context_switch": time(self.context_switch),
               "migration": time(self.migration), "readout": self.readout,
               "module_deadlines": None if self.module_deadlines is None else [time(v) for v in self.module_deadlines],
               "device": None if self.device is None else getattr(self.device, "name", type(self.device).__name__)}
        return out

    def __repr__(self):
        keys = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if v not in (None, 0.0, False))
        return f"ComputeModel({keys})"


def _checked_priority(priority, policy) -> tuple:
    """``(priority, policy)`` checked: a rule name or one integer per module; priority "fifo" means policy "fifo"."""
    if not isinstance(policy, str) or policy not in POLICIES:
        raise InvalidValueError(f"got {policy!r}, expected one of {', '.join(map(repr, POLICIES))}"
                                f"{did_you_mean(policy, POLICIES)}", key="policy")
    if isinstance(priority, str):
        if priority not in PRIORITY_RULES:
            raise InvalidValueError(
                f"got {priority!r}, expected one of {', '.join(map(repr, PRIORITY_RULES))} or a list of "
                f"per-module integers{did_you_mean(priority, PRIORITY_RULES)}", key="priority")
        checked = priority
    elif isinstance(priority, (list, tuple, np.ndarray)):
        checked = [as_int(f"priority[{i}]", p) for i, p in enumerate(priority)]
    else:
        raise InvalidValueError(key="priority", value=priority,
                                expected=f"one of {', '.join(map(repr, PRIORITY_RULES))} or a list of "
                                         "per-module integers")
    if priority == "fifo":
        if policy not in ("fixed-priority", "fifo"):
            raise InvalidValueError(f"got priority 'fifo' with policy {policy!r}; priority 'fifo' means "
                                    "policy 'fifo'", key="priority")
        policy = "fifo"
    return checked, policy


def _checked_cores(cores: int, partition, speeds) -> tuple[list | None, list | None]:
    """``(partition, speeds)`` checked against the number of cores (None stays None)."""
    if partition is not None:
        partition = _int_list("partition", partition)
        for i, c in enumerate(partition):
            if not 0 <= c < cores:
                raise InvalidValueError(f"got core {c}, expected a core index in 0..{cores - 1} "
                                        f"({cores} cores)", key=f"partition[{i}]")
    if speeds is not None:
        speeds = [_positive(f"speeds[{i}]", s) for i, s in enumerate(_seq("speeds", speeds))]
        if len(speeds) != cores:
            raise InvalidValueError(f"got {len(speeds)} speeds for {cores} cores, expected one per core",
                                    key="speeds")
    return partition, speeds


def _seq(key: str, value) -> list:
    if isinstance(value, (str, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
        raise InvalidValueError(f"got {value!r}, expected a list", key=key)
    return list(value)


def _int_list(key: str, value) -> list[int]:
    return [as_int(f"{key}[{i}]", v, minimum=0) for i, v in enumerate(_seq(key, value))]


def _positive(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise InvalidValueError(f"got {value!r}, expected a finite number > 0", key=key)
    return float(value)
