"""Numba kernels (DESIGN section 4): pure functions of arrays that both engines and training call.

:mod:`~clocksim.kernels.core` holds the block products, the forward and backward sequences, the
readout and the input-buffer window (with the numba and BLAS set-up they share),
:mod:`~clocksim.kernels.events` the event engine's per-activation kernels and
:mod:`~clocksim.kernels.lstm` the LSTM baseline's; :mod:`~clocksim.kernels.modmajor` and
:mod:`~clocksim.kernels.modmajor_bptt` the module-major forward and backward passes of triangular models. Kernels import nothing from clocksim above
this package (but the errors) and never validate their users' input: the public wrappers do, once.
Every jitted entry point does check, once per call, that the sizes and offsets it is handed fit
the arrays it is given, and raises :class:`~clocksim.errors.KernelBoundsError` (a clocksim bug)
rather than touch memory outside them (the event kernels are handed their arrays as a table of addresses
and extents read off the arrays themselves: :func:`clocksim.kernels.events.arena_table`). With
``NUMBA_DISABLE_JIT=1`` the kernels run as plain Python
(the LLVM intrinsics replaced by numpy twins, :func:`~clocksim.kernels.core.python_twin`), to the
same states within 1e-12: a bounds-checked run of either engine is one environment variable away.
The library imports the submodule it needs (``from clocksim.kernels import core as K``); the names below keep
``clocksim.kernels.run_sequence`` and the other documented paths working (importing them
compiles nothing: numba compiles, or loads from its cache, on the first call). Importing the package
first deletes numba's cache entries if any jitted source changed since they were written
(:mod:`~clocksim.kernels._cache`): a kernel compiled into another is never run stale.
"""

from ._cache import purge_stale

purge_stale()

from .core import (  # noqa: E402
    ACT_LINEAR,
    ACT_NONE,
    ACT_RELU,
    ACT_SIGMOID,
    ACT_SOFTMAX,
    ACT_TANH,
    PLAN_COLUMNS,
    act_derivative,
    backward_sequence,
    bias_activate,
    buffer_window,
    copy_into,
    gather_reads,
    gemm_acc,
    gemm_rows,
    inner,
    module_update,
    readout,
    readout_backward,
    readout_error,
    run_sequence,
    tanh_scalar,
)

__all__ = ["ACT_LINEAR", "ACT_TANH", "ACT_SIGMOID", "ACT_RELU", "ACT_SOFTMAX", "ACT_NONE", "PLAN_COLUMNS",
           "inner", "gemm_rows", "gemm_acc", "tanh_scalar", "bias_activate", "copy_into", "module_update",
           "gather_reads", "run_sequence", "readout", "act_derivative", "readout_backward", "readout_error",
           "backward_sequence", "buffer_window"]
