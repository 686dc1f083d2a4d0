"""Synthetic spoken words: a seeded analogue of the paper's TIMIT word task (section 4.2).

The paper classified 25 words in 5 groups whose members share a suffix
("making", "walking", ...): the group can be heard at the end of the word, but
which word of the group it was is decided by its *beginning*, many steps before
the last step where the network is asked. This generator keeps that design on
``channels`` feature channels (13, as MFCCs):

- every class (``groups * words_per_group`` of them) has a *prefix* prototype
  and every group a *suffix* prototype: smooth trajectories, each channel a sum
  of three cosines over the segment with random amplitudes (falling as 1/j)
  and phases;
- an example of word ``c`` in group ``g`` is its prefix followed by its group's
  suffix, both sampled at a speaking rate ``r ~ U(0.8, 1.25)`` (so the prefix
  has ``round(prefix_length * r)`` steps and the suffix
  ``round(suffix_length * r)``), times a loudness ``U(0.8, 1.2)``, plus a
  speaker offset per channel ``N(0, 0.3^2)`` and white noise of standard
  deviation ``noise`` on every step;
- examples are batched by :func:`clocksim.tasks.task.pad_sequences`: by
  default each starts at step 0 (clocks aligned to the word's onset), zeros
  follow, and it is labelled at its own last step (``padding = "front"``:
  zeros first, labelled at the batch's last step).

Prototypes come from ``default_rng([seed, 0])``, training examples from
``[seed, 1]`` and test examples from ``[seed, 2]``, so the training set does
not change when ``test_per_class`` does.
"""

from __future__ import annotations

import numpy as np

from ..._validate import as_float, as_int
from ...errors import InvalidValueError
from .task import PADDINGS, Task, pad_sequences, stratified_split

__all__ = ["synthetic_words_task", "synthetic_words"]

RATE_RANGE = (0.8, 1.25)
GAIN_RANGE = (0.8, 1.2)
OFFSET_STD = 0.3
N_COSINES = 3


def _prototypes(rng: np.random.Generator, count: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine amplitudes and phases, each shape (count, N_COSINES, channels)."""
    j = np.arange(1, N_COSINES + 1)[None, :, None]
    return rng.normal(0.0, 1.0, (count, N_COSINES, channels)) / j, rng.uniform(0, 2 * np.pi, (count, N_COSINES,
                                                                                                   channels))


def _render(amplitude: np.ndarray, phase: np.ndarray, steps: int) -> np.ndarray:
    """One prototype sampled at ``steps`` points of its segment, shape (steps, channels)."""
    u = np.linspace(0.0, 1.0, steps)[:, None, None]                            # (steps, 1, 1)
    j = np.arange(1, N_COSINES + 1)[None, :, None]                             # (1, J, 1)
    return np.sum(amplitude[None] * np.cos(2 * np.pi * j * u / 2 + phase[None]), axis=1)


def synthetic_words(per_class: int, rng: np.random.Generator, prototypes, *, groups: int, words_per_group: int,
                    prefix_length: int, suffix_length: int, noise: float) -> tuple[list[np.ndarray], np.ndarray]:
    """``per_class`` examples of every word, classes in order.

    Returns
    -------
    sequences : list of ndarray, each shape (L_i, channels)
    labels : ndarray, shape (groups * words_per_group * per_class,), int64; word ``c`` is in group
        ``c // words_per_group``
    """
    (pa, pp), (sa, sp) = prototypes
    sequences, labels = [], []
    for c in range(groups * words_per_group):
        g = c // words_per_group
        for _ in range(per_class):
            rate = rng.uniform(*RATE_RANGE)
            prefix = _render(pa[c], pp[c], max(2, round(prefix_length * rate)))
            suffix = _render(sa[g], sp[g], max(2, round(suffix_length * rate)))
            word = np.concatenate([prefix, suffix]) * rng.uniform(*GAIN_RANGE)      # (L_i, channels)
            word += rng.normal(0.0, OFFSET_STD, (1, word.shape[1]))                 # speaker offset
            word += rng.normal(0.0, noise, word.shape)
            sequences.append(word)
            labels.append(c)
    return sequences, np.array(labels, dtype=np.int64)


def synthetic_words_task(groups: int = 5, words_per_group: int = 5, channels: int = 13, prefix_length: int = 12,
                         suffix_length: int = 48, train_per_class: int = 6, test_per_class: int = 10,
                         noise: float = 0.3, padding: str = "end", validation: float = 0.2, seed: int = 0) -> Task:
    """Classify ``groups * words_per_group`` synthetic words at their last step (see the module docstring).

    Parameters
    ----------
    groups, words_per_group : int
        25 classes in 5 groups by default, as in the paper.
    channels : int
        Feature channels per step.
    prefix_length, suffix_length : int
        Nominal steps of the deciding prefix and of the shared suffix.
    train_per_class, test_per_class : int
        Examples per word in the training set (validation included) and the test set.
    noise : float
        Standard deviation of the white noise on every step.
    padding : {"end", "front"}
        How words of different lengths share a batch.
    validation : float in [0, 1)
        Fraction of each word's training examples held out for early stopping.
    seed : int
    """
    groups, words = as_int("groups", groups, minimum=1), as_int("words_per_group", words_per_group, minimum=2)
    channels = as_int("channels", channels, minimum=1)
    prefix_length = as_int("prefix_length", prefix_length, minimum=2)
    suffix_length = as_int("suffix_length", suffix_length, minimum=2)
    train_per_class = as_int("train_per_class", train_per_class, minimum=1)
    test_per_class = as_int("test_per_class", test_per_class, minimum=1)
    noise = as_float("noise", noise, minimum=0.0)
    if padding not in PADDINGS:
        raise InvalidValueError(f"got {padding!r}, expected one of {', '.join(map(repr, PADDINGS))}", key="padding")
    validation = as_float("validation", validation, minimum=0.0)
    if validation >= 1.0:
        raise InvalidValueError(f"got {validation:g}, expected a fraction below 1", key="validation")
    if validation > 0 and train_per_class < 2:
        raise InvalidValueError(f"got {train_per_class}, expected at least 2 with a validation "
                                "fraction (one to train on, one to hold out)", key="train_per_class")
    seed = as_int("seed", seed, minimum=0)
    proto_rng = np.random.default_rng([seed, 0])
    prototypes = (_prototypes(proto_rng, groups * words, channels), _prototypes(proto_rng, groups, channels))
    shape = dict(groups=groups, words_per_group=words, prefix_length=prefix_length, suffix_length=suffix_length,
                 noise=noise)
    train, y_train = synthetic_words(train_per_class, np.random.default_rng([seed, 1]), prototypes, **shape)
    test, y_test = synthetic_words(test_per_class, np.random.default_rng([seed, 2]), prototypes, **shape)
    length = max(s.shape[0] for s in train + test)
    X, Y = pad_sequences(train, y_train, padding, length)            # (N, L, C), labels
    Xt, y_test = pad_sequences(test, y_test, padding, length)
    x_val = y_val = None
    if validation > 0:
        keep, held = stratified_split(y_train, validation, np.random.default_rng([seed, 3]))
        X, x_val, Y, y_val = X[keep], X[held], Y[keep], Y[held]
    options = dict(shape, channels=channels, padding=padding, train_per_class=train_per_class,
                   test_per_class=test_per_class,
                   validation=validation, seed=seed)
    return Task(kind="synthetic_words", loss="xent", n_in=channels, n_out=groups * words, x_train=X, y_train=Y,
                x_test=Xt, y_test=y_test, x_val=x_val, y_val=y_val,
                description=f"synthetic words: {groups * words} classes in {groups} groups sharing a suffix, "
                            f"decided by a {prefix_length}-step prefix, {length} steps padded at the {padding}",
                options=options)
