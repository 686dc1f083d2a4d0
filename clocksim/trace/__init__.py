"""What a run records and how it is read (DESIGN section 4).

:mod:`~clocksim.trace.core` (:class:`Trace`, the record dtypes, the ``.npz`` trace file),
:mod:`~clocksim.trace.aggregate` (:class:`AggregateTrace`, per-module totals in constant memory),
:mod:`~clocksim.trace.summary` (the keys of ``summary.json`` and the metric rows of sweeps),
:mod:`~clocksim.trace.files` (the ``.npz`` reader and writer) and :mod:`~clocksim.trace.export`
(CSV, Chrome trace event JSON, Parquet, pandas). Engines write traces; plots and the application
read them. The names below keep ``clocksim.trace.Trace`` and the other documented paths working.
"""

from .core import (
    ACTIVATION_DTYPE,
    INSTANT_DTYPE,
    MESSAGE_DTYPE,
    READOUT_DTYPE,
    TABLES,
    TIMED_DTYPE,
    Trace,
    atomic_write,
    expand_instant,
    expand_timed,
)

__all__ = ["Trace", "ACTIVATION_DTYPE", "INSTANT_DTYPE", "TIMED_DTYPE", "MESSAGE_DTYPE", "READOUT_DTYPE",
           "TABLES", "atomic_write", "expand_instant", "expand_timed"]
