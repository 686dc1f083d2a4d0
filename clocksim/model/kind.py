"""What the pipeline asks of every model kind: one small interface instead of a branch per kind.

Every model class (:class:`~clocksim.ClockworkRNN`, :class:`~clocksim.LSTM`) declares, as class
attributes, the scenario ``model.kind`` it is the class of, whether an engine simulates it and which
of its parameters hold its initial state. The application (:mod:`clocksim.app.kinds`) maps ``kind``
to how a run of it is summarised and reported, so a new model kind is one class here plus one entry
in :data:`clocksim.app.kinds.PIPELINES`.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

__all__ = ["ModelKind"]


@runtime_checkable
class ModelKind(Protocol):
    """The attributes the pipeline reads from a model, whatever its kind.

    Attributes
    ----------
    kind : str
        The key of its pipeline in :data:`clocksim.app.kinds.PIPELINES` (``"cwrnn"`` for every Clockwork
        RNN, the simple RNN included; ``"lstm"``).
    simulated : bool
        True when an engine (:data:`clocksim.engine.ENGINES`) runs it into a trace; False for a model
        that is trained and scored but never simulated.
    initial_state : tuple of str
        The parameters that hold its initial state (held at zero by ``train.freeze`` in reproductions).
    n, n_in, n_out, n_params : int
        Hidden units, inputs, outputs and trainable parameters.
    """

    kind: ClassVar[str]
    simulated: ClassVar[bool]
    initial_state: ClassVar[tuple[str, ...]]
    n: int
    n_in: int
    n_out: int
    n_params: int
