"""Scheduling policies: which ready job runs first (DESIGN section 10).

A policy is a small class behind :data:`POLICIES` (name -> class). The scheduler asks it for one
thing: the sort key of a job (lower runs first). The keys are total orders, so nothing depends on
the order in which jobs were released within an instant:

- ``"fixed-priority"``: (module priority, release, module). Priorities come from a rule in
  :data:`PRIORITY_RULES` (``"fastest-first"`` alias ``"rate-monotonic"``: shorter period first;
  ``"slowest-first"``; ``"deadline-monotonic"``: shorter relative deadline first; ties by module
  index) or one integer per module (lower runs first).
- ``"edf"``: (absolute deadline = release + relative deadline, module, release).
- ``"fifo"``: (release, module).

The readout job (module index ``g``) always runs before every module job (it is the highest
priority under every policy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidValueError

__all__ = ["Policy", "FixedPriority", "EarliestDeadlineFirst", "FirstInFirstOut", "POLICIES", "PRIORITY_RULES",
           "PRIORITY_ALIASES", "priority_ranks"]

#: Named priority rules of the fixed-priority policy (``"fifo"`` is kept from round two: every module the
#: same priority, i.e. the ``"fifo"`` policy).
PRIORITY_RULES = ("fastest-first", "rate-monotonic", "slowest-first", "deadline-monotonic", "fifo", "audsley")
#: Rule names that mean another rule.
PRIORITY_ALIASES = {"rate-monotonic": "fastest-first"}


def priority_ranks(rule, periods: Sequence[float], deadlines: Sequence[float] | None = None) -> list[int]:
    """Per-module priority, lower first, from a rule name or a list of integers.

    ``"fastest-first"`` ranks by period with ties by module index; ``"slowest-first"`` is that order
    reversed (ties reversed too, as in round two); ``"deadline-monotonic"`` ranks by relative deadline,
    ties by module index; ``"fifo"`` gives every module 0.
    """
    g = len(periods)
    if not isinstance(rule, str):
        ranks = list(rule)
        if len(ranks) != g:
            raise InvalidValueError(f"got {len(ranks)} values for {g} modules, expected one integer per module",
                                    key="priority")
        return ranks
    rule = PRIORITY_ALIASES.get(rule, rule)
    if rule == "audsley":
        raise InvalidValueError("'audsley' assigns priorities from execution times; it is resolved when the compute "
                                "model is bound to a model (ComputeModel.task_set)", key="priority")
    if rule == "fifo":
        return [0] * g
    if rule == "deadline-monotonic":
        order = np.argsort(np.asarray(deadlines if deadlines is not None else periods, dtype=float), kind="stable")
    else:
        order = np.argsort(np.asarray(periods, dtype=float), kind="stable")
        if rule == "slowest-first":
            order = order[::-1]
    ranks = np.empty(g, dtype=int)
    ranks[order] = np.arange(g)
    return ranks.tolist()


class Policy:
    """Orders jobs: :meth:`key` of a job, lower runs first."""

    name = ""

    def __init__(self, g: int, ranks: Sequence[int] | None = None):
        self.g = g
        self.ranks = list(ranks) if ranks is not None else [0] * g

    def key(self, module: int, release: float, deadline: float) -> tuple:
        raise NotImplementedError


class FixedPriority(Policy):
    """Fixed priority per module: (readout first, priority, release, module)."""

    name = "fixed-priority"

    def key(self, module, release, deadline):
        if module >= self.g:
            return (0, 0, release, module)
        return (1, self.ranks[module], release, module)


class EarliestDeadlineFirst(Policy):
    """Earliest absolute deadline first; ties to the lower module index."""

    name = "edf"

    def key(self, module, release, deadline):
        if module >= self.g:
            return (0, release, module, release)
        return (1, deadline, module, release)


class FirstInFirstOut(Policy):
    """By release, then module index."""

    name = "fifo"

    def key(self, module, release, deadline):
        if module >= self.g:
            return (0, release, module)
        return (1, release, module)


#: Policies by name (``ComputeModel(policy=...)``, ``[engine.compute] policy``).
POLICIES: dict[str, type[Policy]] = {"fixed-priority": FixedPriority, "edf": EarliestDeadlineFirst,
                                     "fifo": FirstInFirstOut}
