"""The model layer (DESIGN section 4): what a Clockwork RNN *is*, before anything runs it.

:mod:`~clocksim.model.clocks` (when a module fires), :mod:`~clocksim.model.cwrnn`
(:class:`ClockworkRNN`: sizes, clocks, connectivity, parameters), :mod:`~clocksim.model.lstm`
(the LSTM baseline), :mod:`~clocksim.model.params` (parameter sets and counts) and
:mod:`~clocksim.model.baselines` (the paper's comparison models). It imports only
:mod:`clocksim.errors`, :mod:`clocksim._validate` and :mod:`clocksim.limits`; everything above it
(kernels, engines, traces, training, the application) imports it.
"""

from .clocks import Clock, Explicit, Jittered, OnInput, Periodic, Poisson
from .cwrnn import ClockworkRNN

__all__ = ["ClockworkRNN", "Clock", "Periodic", "Explicit", "Jittered", "Poisson", "OnInput"]
