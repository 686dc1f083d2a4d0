"""Training (DESIGN section 4): gradients, optimisers, the training loop, checkpoints and tasks.

:mod:`~clocksim.train.grad` (:func:`loss_and_grad`, :func:`evaluate`: backpropagation through
time on the compiled engine's kernels), :mod:`~clocksim.train.optim` (SGD, Momentum, Nesterov,
Adam), :mod:`~clocksim.train.loop` (:func:`train`, :class:`TrainConfig`, :class:`History`),
:mod:`~clocksim.train.checkpoint` (resumable ``.npz`` checkpoints) and
:mod:`~clocksim.train.tasks` (the benchmark tasks and their scores).

``clocksim.train`` seen from the top-level package is the *function* :func:`train` (see
``clocksim/__init__.py``); ``from clocksim.train import TrainConfig`` reaches this package.
"""

from .grad import evaluate, loss_and_grad
from .loop import DivergenceError, History, TrainConfig, train
from .optim import SGD, Adam, Momentum, Nesterov

__all__ = ["train", "TrainConfig", "History", "DivergenceError", "loss_and_grad", "evaluate",
           "SGD", "Momentum", "Nesterov", "Adam"]
