"""Speaker classification on the JapaneseVowels data (UEA/UCI archive), a free stand-in for TIMIT words.

Nine male speakers said the Japanese vowels /ae/; each utterance became a
sequence of 12 LPC cepstrum coefficients, 7 to 29 steps long. The task is to
name the speaker: 270 training and 370 test sequences (Kudo, Toyama and
Shimbo 1999). The files ship inside the ``sktime`` package (the optional
``datasets`` extra: ``pip install 'clocksim[datasets]'``), so nothing is
downloaded at run time.

Preparation (documented choices):

- every channel is standardised with the mean and standard deviation of the
  training set's steps (the test set is scaled with the same numbers);
- sequences of different lengths are batched with
  :func:`clocksim.tasks.task.pad_sequences`: by default (``padding = "end"``)
  each starts at step 0, so every module's clock is aligned to the utterance's
  onset as if it were run alone, is followed by zeros (the mean after
  standardising) and is classified at its own last step; ``padding = "front"``
  puts the zeros first and classifies every sequence at the batch's last step
  (the clocks then meet each utterance at a different phase);
- ``validation`` of the training sequences of each speaker are held out for
  early stopping (seeded), the rest are trained on.
"""

from __future__ import annotations

import numpy as np

from ..._validate import as_float, as_int
from ...errors import InvalidValueError, UnsupportedError
from .task import PADDINGS, Task, pad_sequences, stratified_split

__all__ = ["japanese_vowels_task", "load_japanese_vowels", "require_datasets", "DATASETS_EXTRA"]

#: How to install the optional package that ships the data files.
DATASETS_EXTRA = 'pip install "clocksim[datasets]" (from a clone: pip install ".[datasets]")'

N_CHANNELS = 12
N_SPEAKERS = 9


def require_datasets(who: str = 'task.kind = "japanese_vowels"') -> None:
    """Raise :class:`UnsupportedError` naming the ``datasets`` extra unless sktime (the data files) is installed."""
    try:
        import sktime.datasets  # noqa: F401
    except ImportError:
        raise UnsupportedError(f"{who} needs the optional package sktime, which ships the JapaneseVowels data "
                               f"files: {DATASETS_EXTRA}") from None


def load_japanese_vowels(split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The raw sequences of ``split`` ("train" or "test") via sktime's bundled copy.

    Returns
    -------
    sequences : list of ndarray, each shape (L_i, 12)
    labels : ndarray, shape (N,), int64 speaker index 0 to 8
    """
    if split not in ("train", "test"):
        raise InvalidValueError(f"got {split!r}, expected 'train' or 'test'", key="split")
    require_datasets()
    from sktime.datasets import load_japanese_vowels as _load
    frame, labels = _load(split=split, return_X_y=True)
    sequences = [np.stack([np.asarray(frame.iloc[i, c], dtype=np.float64) for c in range(frame.shape[1])], axis=1)
                 for i in range(frame.shape[0])]                              # each (L_i, 12)
    return sequences, np.asarray(labels).astype(np.int64) - 1


def japanese_vowels_task(padding: str = "end", validation: float = 0.2, seed: int = 0) -> Task:
    """Classify the speaker (9 classes) of each JapaneseVowels utterance at its last step.

    Parameters
    ----------
    padding : {"end", "front"}
        How sequences of different lengths share a batch (see the module docstring).
    validation : float in [0, 1)
        Fraction of each speaker's training sequences held out for early stopping.
    seed : int
        Seeds the choice of the held-out sequences.
    """
    if padding not in PADDINGS:
        raise InvalidValueError(f"got {padding!r}, expected one of {', '.join(map(repr, PADDINGS))}", key="padding")
    validation = as_float("validation", validation, minimum=0.0)
    if validation >= 1.0:
        raise InvalidValueError(f"got {validation:g}, expected a fraction below 1", key="validation")
    seed = as_int("seed", seed, minimum=0)
    train, y_train = load_japanese_vowels("train")
    test, y_test = load_japanese_vowels("test")
    steps = np.concatenate(train)                                         # (sum L_i, 12)
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    train = [(s - mean) / std for s in train]
    test = [(s - mean) / std for s in test]
    length = max(s.shape[0] for s in train + test)
    X, Y = pad_sequences(train, y_train, padding, length)            # (270, L, 12)
    Xt, y_test = pad_sequences(test, y_test, padding, length)              # (370, L, 12)
    x_val = y_val = None
    if validation > 0:
        keep, held = stratified_split(y_train, validation, np.random.default_rng([seed, 7]))
        X, x_val, Y, y_val = X[keep], X[held], Y[keep], Y[held]
    return Task(kind="japanese_vowels", loss="xent", n_in=N_CHANNELS, n_out=N_SPEAKERS, x_train=X, y_train=Y,
                x_test=Xt, y_test=y_test, x_val=x_val, y_val=y_val,
                description=f"JapaneseVowels: name the speaker (9) from 12 LPC cepstra, {length} steps "
                            "front-padded, labelled at the last step",
                options={"validation": validation, "seed": seed})
