"""A plain-text table of which modules run at which step: the answer to "what is a clock rate?"."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validate import as_int
from ..model.clocks import Clock, Periodic, activity_mask, check_fastest_first
from ..errors import InvalidValueError

__all__ = ["schedule_table", "input_windows"]

ON, OFF = "x", "."
ASKED = "->"


def input_windows(active: np.ndarray, start: int = 0) -> np.ndarray:
    """First step of the input window each firing reads (docs/concepts.md, "Input buffering").

    Parameters
    ----------
    active : bool ndarray, shape (L, g)
        Activity; row s is step ``start + s``.

    Returns
    -------
    int64 ndarray, shape (L, g)
        Where module i fires at step t: the first step of its window, which ends at t (the
        step after its previous firing; ``start`` for its first firing). -1 where it does not fire.
    """
    L, g = active.shape
    out = np.full((L, g), -1, dtype=np.int64)
    for i in range(g):
        first = start
        for s in np.flatnonzero(active[:, i]):
            out[s, i] = first
            first = start + s + 1
    return out


def schedule_table(clocks: Sequence[Clock], start: int = 0, n_steps: int = 8,
                   extra_steps: Sequence[int] = (), input_mode: Sequence[str] | None = None) -> str:
    """Explain a schedule step by step.

    Parameters
    ----------
    clocks : sequence of Clock, shape (g,)
        Synchronous clocks, fastest first (module ``Mi`` is ``clocks[i-1]``); another
        order is refused, as the model refuses it under ``"slow-to-fast"`` wiring.
    start : int
        Number of the first step (0 or 1 are the two conventions in use).
    n_steps : int
        Steps ``start .. start + n_steps - 1`` are listed.
    extra_steps : sequence of int
        Steps asked about (e.g. 128): listed after the first block when outside it,
        and marked ``->`` wherever they appear.
    input_mode : sequence of str, shape (g,), optional
        Each module's input mode; when some module buffers its input, a second table shows,
        for every listed step, the window of steps each buffered module reads when it fires.
    """
    check_fastest_first(clocks, "clocks", "list the periods fastest first, e.g. 1,2,4,8")
    start = as_int("start", start, minimum=0)
    n_steps = as_int("steps", n_steps, minimum=1)
    asked = {as_int("at", t, minimum=start) for t in extra_steps}
    extra = sorted(asked - set(range(start, start + n_steps)))
    g = len(clocks)
    names = [f"M{i + 1}" for i in range(g)]
    width = max(3, *(len(c.label) - 1 for c in clocks), *(len(nm) for nm in names)) + 1
    last = max([start + n_steps - 1, *extra])
    act = activity_mask(clocks, last - start + 1, start)             # (steps, g)

    def row(t: int) -> str:
        cells = "".join((ON if act[t - start, i] else OFF).rjust(width) for i in range(g))
        running = " ".join(names[i] for i in np.flatnonzero(act[t - start])) or "(none: all hold)"
        return f"{ASKED if t in asked else '':<2}{t:>4} {cells}   {running}"

    lines = _header(clocks, start, names, width)
    lines += [row(t) for t in range(start, start + n_steps)]
    if extra:
        lines.append("   ...")
        lines += [row(t) for t in extra]
    if asked:
        lines.append(f"{ASKED} marks the step{'s' if len(asked) > 1 else ''} asked about "
                     f"({', '.join(map(str, sorted(asked)))}).")
    lines.append("")
    lines += _notes(clocks, act, start, n_steps, names)
    if input_mode is not None and len(input_mode) != g:
        raise InvalidValueError(f"got {len(input_mode)} modes for {g} modules, expected one per module",
                                key="input_mode")
    buffered = [i for i, mode in enumerate(input_mode or ()) if mode != "latest"]
    if buffered:
        lines += _window_table(act, start, list(range(start, start + n_steps)), extra, asked, names, input_mode,
                               buffered)
    return "\n".join(lines)


def _header(clocks: Sequence[Clock], start: int, names: list[str], width: int) -> list[str]:
    """What clock rate means, the modules' periods, and the column heads of the step table."""
    return [
        "Clock rate: module Mi with period T (and phase p) runs at step t when (t - p) mod T == 0;",
        "at every other step it keeps its state. Period 4 means \"runs at every 4th step\".",
        f"Steps are numbered from start={start}: the first input is step {start}.",
        "",
        "module " + "".join(nm.rjust(width) for nm in names),
        "T(+p)  " + "".join(c.label.removeprefix("T=").rjust(width) for c in clocks),
        "",
        "  step " + "".join(nm.rjust(width) for nm in names) + "   runs",
    ]


def _notes(clocks: Sequence[Clock], act: np.ndarray, start: int, n_steps: int, names: list[str]) -> list[str]:
    """The lines under the table: how often each module ran, when idle ones first run, the other ``start``
    convention, and the wiring."""
    lines, g = [], len(clocks)
    counts = act[:n_steps].sum(axis=0)
    lines.append(f"In steps {start}..{start + n_steps - 1}: " + ", ".join(
        f"{names[i]} runs {int(counts[i])}x" for i in range(g)) + ".")
    idle = [i for i in range(g) if counts[i] == 0]
    if idle:
        firsts = []
        for i in idle:
            later = clocks[i].firing_steps(start, max(4096, 4 * int(clocks[i].nominal_period)))
            firsts.append(f"{names[i]} at step {int(later[0])}" if later.size else f"{names[i]} never")
        lines.append("Not yet run: " + ", ".join(firsts) + ".")
    other = 1 - start if start in (0, 1) else 0
    if all(isinstance(c, Periodic) for c in clocks):
        runs_other = [names[i] for i in range(g) if clocks[i].fires(other, 1)[0]]
        who = ("every module runs" if len(runs_other) == g else
               " and ".join(runs_other) + (" runs" if len(runs_other) == 1 else " run") if runs_other else
               "no module runs")
        lines.append(f"With start={other} instead, the first input is step {other}, where {who}.")
    lines.append("Wiring (slow-to-fast): each module reads itself and every slower module; "
                 f"{names[0]} reads all, {names[-1]} reads only itself.")
    return lines


def _window_table(act, start, block, extra, asked, names, input_mode, buffered) -> list[str]:
    """Rows of the steps ``block`` (then ``...`` and ``extra``): the window each buffered module reads."""
    first = input_windows(act, start)                                  # (steps, g)
    heads = [f"{names[i]}({input_mode[i]})" for i in buffered]

    def cell(t, i):
        a = int(first[t - start, i])
        return OFF if a < 0 else (f"{a}..{t}" if a != t else str(t))

    cells = {t: [cell(t, i) for i in buffered] for t in block + extra}
    width = max(len(x) for x in heads + [c for row in cells.values() for c in row]) + 2

    def row(t):
        return f"{ASKED if t in asked else '':<2}{t:>4} " + "".join(c.rjust(width) for c in cells[t])

    lines = ["", "Input buffering: a buffered module reads the mean, sum or max of the input samples of its "
             "window:", "the steps after its previous firing up to the step it fires (its first firing: from "
             f"step {start}).", "", "  step " + "".join(h.rjust(width) for h in heads)]
    lines += [row(t) for t in block]
    if extra:
        lines.append("   ...")
        lines += [row(t) for t in extra]
    return lines
