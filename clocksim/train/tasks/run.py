"""Train a model on a task and score it: the training step of :func:`clocksim.execute.execute`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...errors import InvalidValueError
from ..loop import History, TrainConfig, train
from .task import Task, score, validation_score

__all__ = ["Fit", "fit"]


@dataclass
class Fit:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : trained model (a copy; the one passed in is left as it was)
    task : Task
    history : History or None
        None when nothing was trained (no config).
    metrics : dict
        :func:`clocksim.tasks.score`'s dict plus ``n_params``, and after
        training ``epochs``, ``best_epoch``, ``stopped_early``, ``train_loss``
        (last epoch) and ``train_seconds``.
    """

    model: object
    task: Task
    history: History | None
    metrics: dict


def fit(model, task: Task, config: TrainConfig | None = None, *, checkpoint=None, resume=None,
        checkpoint_every: int = 1, progress: bool | None = False, on_epoch=None,
        fingerprint: dict | None = None) -> Fit:
    """Train a copy of ``model`` on ``task`` (if ``config`` is given) and score it on the task's test set.

    Parameters
    ----------
    model : ClockworkRNN, LSTM or simple RNN
        Must have ``n_in == task.n_in`` and ``n_out == task.n_out``.
    task : Task
    config : TrainConfig, optional
        Its ``loss`` is replaced by the task's. None: score the model as it is.
    checkpoint, resume, checkpoint_every, progress, on_epoch, fingerprint
        As for :func:`clocksim.train`.
    """
    if (model.n_in, model.n_out) != (task.n_in, task.n_out):
        raise InvalidValueError(f"got n_in={model.n_in}, n_out={model.n_out}, expected n_in={task.n_in}, "
                                f"n_out={task.n_out} for the {task.kind} task", key="model")
    trained = model.copy()
    history = None
    if config is not None:
        config = dataclasses.replace(config, loss=task.loss)
        history = train(trained, task.x_train, task.y_train, config, validation=task.validation,
                        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, progress=progress,
                        on_epoch=on_epoch, fingerprint=fingerprint)
    metrics = {"task": task.kind, **score(trained, task), **validation_score(trained, task),
               "n_params": int(trained.n_params)}
    if history is not None:
        metrics.update(epochs=len(history), best_epoch=history.best_epoch, stopped_early=history.stopped_early,
                       train_loss=history.train_loss[-1] if history.train_loss else None,
                       train_seconds=float(sum(history.seconds)))
    return Fit(trained, task, history, metrics)

