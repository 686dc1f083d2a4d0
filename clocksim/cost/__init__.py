"""Analytic cost of Clockwork RNN computation (DESIGN section 5). A leaf module.

What one activation costs
    One activation of module ``i`` costs ``k_i * (sum of k_j over the modules j it
    reads + n_in)`` multiply-adds (its block-row of ``W_rec``: the *recurrent*
    part, and of ``W_in``: the *input* part), plus ``k_i`` bias adds and ``k_i``
    evaluations of the activation function ``f_H``, counted separately
    (:func:`update_cost`). It reads its weight block and bias once, whatever the
    batch size, and the state and input it reads once per sequence.
What a schedule costs
    :func:`schedule_cost` adds up the activations of a whole schedule, given as an
    activity mask ``(L, g)`` or as firing counts (:func:`periodic_firings` counts
    the firings of periodic clocks in closed form, without building a mask), plus
    one readout ``W_out @ h`` per step (``n_out * n`` multiply-adds).
    :func:`step_macs` gives the multiply-adds of each step. A run's
    ``trace.summary()["macs"]`` equals ``schedule_cost(...).macs`` for its schedule.
The dense comparison
    ``dense_macs`` is the paper's baseline: a simple RNN of the same ``n``, ``n_in``
    and ``n_out`` (a full ``n x n`` recurrent matrix) running every step:
    ``L * (n * (n + n_in) + n_out * n)`` per sequence.
    :func:`paper_speedup_bounds` gives the paper's lower bounds on the saving
    (``g/2`` for the recurrent part, ``g/4`` for the whole network); see its
    docstring for the derivation and the conditions under which they hold.

Counts are per sequence unless a ``batch`` is given, which multiplies every
multiply-add, bias add and activation-function count by ``B`` (not the number of
activations, and not the weight bytes, which a batched update reads once).

Everything here takes plain numbers and arrays, so it serves traces loaded from
disk as well as live models.

What things take time (the event engine's timing models: message delays, link
latency, compute on a pool of cores) is in :mod:`clocksim.cost.timing`; the
counts are in :mod:`clocksim.cost.counts`. Both are importable from here.
"""

from .counts import (
    ScheduleCost,
    UpdateCost,
    activation_bytes,
    activation_macs,
    dense_macs,
    dense_step_macs,
    paper_speedup_bounds,
    periodic_firings,
    readout_macs,
    schedule_cost,
    step_macs,
    update_cost,
)
from .timing import DELAY_KINDS, PRIORITY_RULES, ComputeModel, Delay, Exponential, Fixed, LinkLatency, Uniform, as_delay

__all__ = [
    "Delay", "Fixed", "Uniform", "Exponential", "as_delay", "DELAY_KINDS",
    "LinkLatency", "ComputeModel", "PRIORITY_RULES",
    "UpdateCost", "update_cost",
    "ScheduleCost", "schedule_cost", "periodic_firings", "step_macs",
    "paper_speedup_bounds",
    "activation_bytes",
    "activation_macs",
    "readout_macs",
    "dense_step_macs",
    "dense_macs",
]
