"""What Clockwork RNN computation costs, in operations and in time (DESIGN section 5). A leaf package.

:mod:`clocksim.cost.counts` counts: multiply-adds, bias adds, activation evaluations and bytes of
one activation (:func:`update_cost`), of a whole schedule (:func:`schedule_cost`), per step
(:func:`step_macs`), the input buffers' work apart from it (:func:`buffer_cost`), the paper's dense
comparison (:func:`dense_macs`) and its bounds on the saving (:func:`paper_speedup_bounds`).
:mod:`clocksim.cost.timing` holds the event engine's timing models: message delays, per-link latency
and compute on a pool of cores. Everything is importable from here.
"""

from .counts import (
    DTYPE_ITEMSIZE,
    ScheduleCost,
    UpdateCost,
    activation_bytes,
    activation_macs,
    binned_macs,
    buffer_cost,
    dense_macs,
    dense_step_macs,
    dtype_itemsize,
    dtype_name,
    footprint,
    lstm_step_macs,
    paper_speedup_bounds,
    periodic_firings,
    readout_bytes,
    readout_macs,
    schedule_cost,
    step_macs,
    update_cost,
)
from .timing import (
    DELAY_KINDS,
    PRIORITY_RULES,
    ComputeModel,
    Delay,
    Exponential,
    Fixed,
    LinkLatency,
    Uniform,
    as_delay,
    has_timing_model,
)

__all__ = [
    "Delay", "Fixed", "Uniform", "Exponential", "as_delay", "DELAY_KINDS",
    "LinkLatency", "ComputeModel", "PRIORITY_RULES", "has_timing_model",
    "UpdateCost", "update_cost", "DTYPE_ITEMSIZE", "dtype_itemsize", "dtype_name", "footprint",
    "ScheduleCost", "schedule_cost", "periodic_firings", "step_macs", "binned_macs",
    "paper_speedup_bounds",
    "activation_bytes",
    "buffer_cost",
    "activation_macs",
    "readout_macs", "readout_bytes",
    "dense_step_macs",
    "lstm_step_macs",
    "dense_macs",
]
