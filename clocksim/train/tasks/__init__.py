"""Learning tasks of the paper's experiments, and training a model on one of them.

=====================  ==========================================================
kind                   what
=====================  ==========================================================
``generation``         section 4.1: no input, reproduce a bundled 320-sample piece
``japanese_vowels``    speaker of a JapaneseVowels utterance (needs sktime)
``synthetic_words``    section 4.2's design: 25 words in 5 suffix groups, seeded
=====================  ==========================================================

:func:`make_task` builds one by name (what a scenario's ``[task]`` table does) and
:func:`fit` trains a model on it and scores it (what :func:`clocksim.execute.execute`
does for a scenario with a ``[task]``).
"""

from __future__ import annotations

import inspect

from ...errors import InvalidValueError
from .generation import generation_task
from .japanese_vowels import japanese_vowels_task
from .run import Fit, fit
from .synthetic_words import synthetic_words_task
from .task import METRICS, Task, nmse, score

__all__ = ["Task", "TASK_KINDS", "make_task", "task_options", "fit", "Fit", "score", "nmse",
           "METRICS", "generation_task", "japanese_vowels_task", "synthetic_words_task"]

#: Registry: task kind -> function building the Task from keyword options.
TASK_KINDS = {
    "generation": generation_task,
    "japanese_vowels": japanese_vowels_task,
    "synthetic_words": synthetic_words_task,
}


def task_options(kind: str) -> dict:
    """The options ``kind`` takes, with their defaults (from the builder's signature)."""
    _check_kind(kind)
    return {name: p.default for name, p in inspect.signature(TASK_KINDS[kind]).parameters.items()}


def make_task(kind: str, **options) -> Task:
    """Build the task ``kind`` (see :data:`TASK_KINDS`) with ``options``.

    Examples
    --------
    >>> task = make_task("generation", piece=2)
    >>> task.x_train.shape, task.y_train.shape, task.metric
    ((1, 320, 0), (1, 320, 1), 'nmse')
    """
    known = task_options(kind)
    for name in options:
        if name not in known:
            raise InvalidValueError(f"not an option of task kind {kind!r}; its options are "
                                    f"{', '.join(known) or 'none'}", key=name)
    return TASK_KINDS[kind](**options)


def _check_kind(kind) -> None:
    if not isinstance(kind, str) or kind not in TASK_KINDS:
        raise InvalidValueError(f"got {kind!r}, expected one of {', '.join(map(repr, TASK_KINDS))}", key="kind")
