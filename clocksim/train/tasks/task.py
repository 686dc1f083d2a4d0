"""A learning task: training, validation and test sequences, the loss to train with and the score to report.

A :class:`Task` is plain data (arrays in the layouts :func:`clocksim.train`
takes), so the same task object trains a Clockwork RNN, a simple RNN or an
LSTM; :func:`score` measures a trained model the way the paper does:

- ``"nmse"`` (sequence generation): the mean squared error of the output
  divided by the variance of the target, so that predicting the target's
  mean scores 1 and a perfect copy 0;
- ``"test_error"`` (classification): the fraction of test sequences whose
  largest output at the last step is not the label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import InvalidValueError
from ..grad import evaluate

__all__ = ["Task", "score", "validation_score", "nmse", "METRICS", "PADDINGS", "stratified_split", "pad_sequences"]

METRICS = {"mse": "nmse", "xent": "test_error"}
PADDINGS = ("end", "front")
UNLABELLED = -1


@dataclass(frozen=True)
class Task:
    """Sequences to learn from and to be scored on.

    Attributes
    ----------
    kind : str
        Registry name (``"generation"``, ``"japanese_vowels"``, ``"synthetic_words"``).
    loss : {"mse", "xent"}
        What :func:`clocksim.train` minimises; ``"xent"`` tasks label the last step only.
    n_in, n_out : int
        Input size and output size (classes, for ``"xent"``).
    x_train : ndarray, shape (N, L, n_in)
    y_train : ndarray, shape (N, L, n_out) for "mse", (N,) int labels for "xent"
    x_val, y_val : ndarray or None
        Held out from training for early stopping (classification tasks).
    x_test, y_test : ndarray
        Scored by :func:`score` (for generation: the target itself).
    description : str
        One line for reports.
    options : dict
        The options the task was made with (plain data).
    """

    kind: str
    loss: str
    n_in: int
    n_out: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    description: str = ""
    options: dict = field(default_factory=dict)

    @property
    def metric(self) -> str:
        """Name of the score: ``"nmse"`` or ``"test_error"``."""
        return METRICS[self.loss]

    @property
    def validation(self):
        """``(x_val, y_val)`` for :func:`clocksim.train`, or None."""
        return None if self.x_val is None else (self.x_val, self.y_val)


def nmse(y: np.ndarray, target: np.ndarray) -> float:
    """Normalised mean squared error: ``mean((y - target)**2) / var(target)``.

    Parameters
    ----------
    y, target : ndarray, same shape

    Examples
    --------
    >>> t = np.array([0.0, 1.0, 0.0, -1.0])
    >>> nmse(np.zeros(4), t)
    1.0
    """
    y, target = np.asarray(y, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if y.shape != target.shape:
        raise InvalidValueError(f"got shape {y.shape}, expected the target's {target.shape}", key="y")
    var = float(np.var(target))
    if var == 0.0:
        raise InvalidValueError("constant, so its variance is 0 and the NMSE is undefined", key="target")
    return float(np.mean((y - target) ** 2) / var)


def score(model, task: Task) -> dict:
    """How well ``model`` does on ``task``'s test sequences.

    Returns
    -------
    dict
        ``metric`` (the name), ``value`` (lower is better), ``test_loss`` and,
        for classification, ``test_error`` and ``test_accuracy``; for
        generation ``nmse``.
    """
    metrics = evaluate(model, task.x_test, task.y_test, task.loss)
    if task.loss == "mse":
        value = metrics["loss"] / float(np.var(task.y_test))        # evaluate's loss is the MSE
        return {"metric": "nmse", "value": value, "nmse": value, "test_loss": metrics["loss"]}
    error = 1.0 - metrics["accuracy"]
    return {"metric": "test_error", "value": error, "test_error": error, "test_accuracy": metrics["accuracy"],
            "test_loss": metrics["loss"]}


def validation_score(model, task: Task) -> dict:
    """The score of :func:`score` on the task's *validation* sequences (what a search may select on
    without touching the test set): ``validation_value`` (lower is better: NMSE or error fraction) and
    ``validation_loss``; empty when the task has no validation set."""
    if task.x_val is None:
        return {}
    metrics = evaluate(model, task.x_val, task.y_val, task.loss)
    value = metrics["loss"] / float(np.var(task.y_val)) if task.loss == "mse" else 1.0 - metrics["accuracy"]
    return {"validation_value": float(value), "validation_loss": float(metrics["loss"])}


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): ``fraction`` of each class held out (rounded, at least one when > 0), both sorted."""
    labels = np.asarray(labels)
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = int(round(fraction * idx.size))
        k = min(max(k, 1 if fraction > 0 else 0), idx.size - 1)
        held.extend(rng.permutation(idx)[:k].tolist())
    held_out = np.sort(np.array(held, dtype=np.int64))
    keep = np.setdiff1d(np.arange(labels.size), held_out)
    return keep, held_out


def pad_sequences(sequences: list[np.ndarray], labels: np.ndarray, padding: str = "end",
                  length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of different lengths into one batch, labelled at each one's real last step.

    Parameters
    ----------
    sequences : list of ndarray, each shape (L_i, C)
    labels : ndarray, shape (N,), int
    padding : {"end", "front"}
        ``"end"``: every sequence starts at step 0 (its clocks are aligned to its
        onset, as if it were run alone), zeros follow it, and its label sits at
        its own last step (``-1``, unlabelled, everywhere else). ``"front"``:
        zeros come first so every sequence ends at the last step, which carries
        the label.
    length : int, optional
        Steps of the batch (default: the longest sequence).

    Returns
    -------
    x : ndarray, shape (N, length, C)
    y : ndarray, shape (N, length) int64 for "end"; shape (N,) for "front"

    Examples
    --------
    >>> x, y = pad_sequences([np.ones((1, 1)), 2 * np.ones((2, 1))], np.array([3, 4]))
    >>> x[..., 0], y
    (array([[1., 0.],
           [2., 2.]]), array([[ 3, -1],
           [-1,  4]]))
    >>> x, y = pad_sequences([np.ones((1, 1)), 2 * np.ones((2, 1))], np.array([3, 4]), "front")
    >>> x[..., 0], y
    (array([[0., 1.],
           [2., 2.]]), array([3, 4]))
    """
    if padding not in PADDINGS:
        raise InvalidValueError(f"got {padding!r}, expected one of {', '.join(map(repr, PADDINGS))}", key="padding")
    labels = np.asarray(labels, dtype=np.int64)
    longest = max(s.shape[0] for s in sequences)
    length = longest if length is None else length
    if longest > length:
        raise InvalidValueError(f"got {length}, expected at least the longest sequence's {longest} steps", key="length")
    x = np.zeros((len(sequences), length, sequences[0].shape[1]))               # (N, L, C)
    y = np.full((len(sequences), length), UNLABELLED, dtype=np.int64)           # (N, L)
    for i, s in enumerate(sequences):
        if padding == "end":
            x[i, :s.shape[0]] = s
            y[i, s.shape[0] - 1] = labels[i]
        else:
            x[i, length - s.shape[0]:] = s
    return (x, y) if padding == "end" else (x, labels.copy())
