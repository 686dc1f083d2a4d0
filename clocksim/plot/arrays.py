"""Figures of arrays rather than traces: the hidden state over time, the connectivity masks."""

from __future__ import annotations

import math

import matplotlib.colors as mcolors
import numpy as np

from . import _format as fmt
from ..errors import InvalidValueError
from ..trace.core import Trace
from .._validate import as_array, as_int, as_int_list, as_sequence
from ._style import (
    _check_axes,
    _check_figure,
    _check_trace,
    _label_size,
    _meta,
    _narrow,
    _new_axes,
    _new_figure,
    _thin_labels,
    _width_px,
    sized,
)


@sized
def plot_state(h, module_sizes=None, labels=None, ax=None, *, trace: Trace | None = None, start: int = 0,
               sequence: int = 0):
    """Hidden state over time as a heatmap: units on y (modules delimited), steps on x.

    Parameters
    ----------
    h : array_like, shape (L, n) or (B, L, n)
        ``Result.h``: the state after each step.
    module_sizes : sequence of int, optional
        Units per module, in the state's order; draws module boundaries. Taken
        from ``trace.meta`` when a trace is given.
    labels : sequence of str, optional
        One per module (default ``M1``, ``M2``, ...).
    ax : matplotlib Axes, optional
    trace : Trace, optional
        Supplies ``module_sizes``, ``labels`` and ``start``.
    start : int
        Number of the first step (x of column 0).
    sequence : int
        Which sequence of a batch to show.

    Returns
    -------
    matplotlib Axes
        Its image holds ``h`` transposed, shape (n, L); for runs longer than the axes has
        pixel columns, every k-th step (said in the title).
    """
    h, sizes, labels, start = _state_arguments(h, module_sizes, labels, ax, trace, start, sequence)
    L, n = h.shape
    ax = ax if ax is not None else _new_axes(figsize=(10, 5))
    k = max(1, math.ceil(L / max(1, int(_width_px(ax)))))                    # steps per column
    shown = h[::k].T                                                          # (n, ceil(L / k))
    v = float(np.nanmax(np.abs(h))) or 1.0
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="RdBu_r", vmin=-v, vmax=v,
                      extent=(start - 0.5, start - 0.5 + shown.shape[1] * k, n - 0.5, -0.5))
    bounds = np.cumsum(sizes)[:-1] - 0.5
    for b in bounds:
        ax.axhline(b, color="black", lw=0.8)
    centres = np.cumsum(sizes) - np.asarray(sizes) / 2 - 0.5
    ax.set_yticks(centres, labels)
    ax.tick_params(axis="y", labelsize=_label_size(len(sizes)), length=0)
    ax.set_xlim(start - 0.5, start + L - 0.5)
    ax.set_xlabel("step")
    ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04).set_label("h (unit value)")
    how = "" if k == 1 else f" (every {k}th step shown)"
    ax.set_title(f"Hidden state h over {fmt.count(L)} steps, {n} units in {len(sizes)} modules{how}")
    return ax


def _state_arguments(h, module_sizes, labels, ax, trace, start, sequence):
    """:func:`plot_state`'s arguments checked: the (L, n) state shown, the module sizes, labels and first step."""
    h = as_array("h", h, dtype=float)
    _check_axes(ax)
    module_sizes = None if module_sizes is None else as_int_list("module_sizes", module_sizes, minimum=1)
    labels = None if labels is None else as_sequence("labels", labels, "a list of module labels")
    if trace is not None:
        _check_trace(trace)
    start, sequence = as_int("start", start), as_int("sequence", sequence)
    if h.ndim == 3:
        if not 0 <= sequence < h.shape[0]:
            raise InvalidValueError(f"got {sequence}, expected 0 <= sequence < {h.shape[0]} (the batch size)",
                                    key="sequence")
        h = h[sequence]
    if h.ndim != 2 or h.size == 0:
        raise InvalidValueError(f"got shape {np.shape(h)}, expected (L, n) or (B, L, n) with L, n >= 1", key="h")
    if trace is not None:
        module_sizes = module_sizes if module_sizes is not None else _meta(trace, "module_sizes")
        labels = labels if labels is not None else trace.meta.get("labels")
        start = int(trace.meta.get("start", start))
    n = h.shape[1]
    sizes = [n] if module_sizes is None else [int(k) for k in module_sizes]
    if sum(sizes) != n or min(sizes) < 1:
        raise InvalidValueError(f"got {sizes} (sum {sum(sizes)}), expected positive sizes summing to n={n}",
                                key="module_sizes")
    labels = list(labels) if labels is not None else [f"M{i + 1}" for i in range(len(sizes))]
    if len(labels) != len(sizes):
        raise InvalidValueError(f"got {len(labels)}, expected one per module ({len(sizes)})", key="labels")
    return h, sizes, labels, start


@sized
def plot_connectivity(block_mask, mask=None, labels=None, module_sizes=None, fig=None):
    """Which modules feed which: ``block_mask[i, j]`` = module ``j`` feeds module ``i``; optionally
    the unit-level ``W_rec`` mask beside it.

    Parameters
    ----------
    block_mask : array_like of bool, shape (g, g)
    mask : array_like of bool, shape (n, n), optional
    labels : sequence of str, optional
        One per module (default ``M1``, ...).
    module_sizes : sequence of int, optional
        Draws module boundaries on the unit mask.
    fig : matplotlib Figure, optional

    Returns
    -------
    list of Axes
        ``[block axes]`` or ``[block axes, unit axes]``; each image holds its mask.
    """
    block = np.asarray(block_mask).astype(bool)
    if block.ndim != 2 or block.shape[0] != block.shape[1] or block.size == 0:
        raise InvalidValueError(f"got shape {np.shape(block_mask)}, expected a square (g, g) array", key="block_mask")
    g = block.shape[0]
    _check_figure(fig)
    module_sizes = None if module_sizes is None else as_int_list("module_sizes", module_sizes, minimum=1)
    labels = None if labels is None else as_sequence("labels", labels, "a list of module labels")
    labels = list(labels) if labels is not None else [f"M{i + 1}" for i in range(g)]
    if len(labels) != g:
        raise InvalidValueError(f"got {len(labels)}, expected one per module ({g})", key="labels")
    panels = 2 if mask is not None else 1
    stacked = _narrow() and panels == 2                                      # a column: one panel under the other
    fig = fig if fig is not None else _new_figure(figsize=(11 if panels == 2 else 5.8, 5.2 * (2 if stacked else 1)))
    axes = list(np.atleast_1d(fig.subplots(2, 1) if stacked else fig.subplots(1, panels)))
    cmap = mcolors.ListedColormap(["#f2f2f2", "#1f4e79"])
    _block_panel(axes[0], block, labels, cmap)
    if mask is not None:
        _unit_panel(axes[1], mask, module_sizes, labels, cmap)
    return axes


def _block_panel(ax, block: np.ndarray, labels: list, cmap) -> None:
    """The (g, g) module connectivity, cell borders when there are few modules."""
    g = block.shape[0]
    ax.imshow(block, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(np.arange(g), labels, rotation=45 if g > 4 else 0, ha="right" if g > 4 else "center")
    ax.set_yticks(np.arange(g), labels)
    ax.tick_params(labelsize=_label_size(g))
    _thin_labels(ax.get_xticklabels(), 30)
    _thin_labels(ax.get_yticklabels(), 30)
    if g <= 30:                                                              # cell borders
        ax.set_xticks(np.arange(g + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(g + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", lw=1.5 if g <= 12 else 0.6)
        ax.tick_params(which="minor", length=0)
    ax.set_xlabel("sender j (module read)")
    ax.set_ylabel("receiver i (module updated)")
    ax.set_title("Module connectivity\n(dark: module j feeds module i)")


def _unit_panel(ax, mask, module_sizes, labels: list, cmap) -> None:
    """The (n, n) unit-level ``W_rec`` mask, module borders and labels when ``module_sizes`` is given."""
    g = len(labels)
    unit = np.asarray(mask).astype(bool)
    if unit.ndim != 2 or unit.shape[0] != unit.shape[1]:
        raise InvalidValueError(f"got shape {np.shape(mask)}, expected a square (n, n) array", key="mask")
    ax.imshow(unit, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    if module_sizes is not None:
        sizes = [int(k) for k in module_sizes]
        if sum(sizes) != unit.shape[0] or len(sizes) != g:
            raise InvalidValueError(f"got {sizes}, expected {g} sizes summing to n={unit.shape[0]}",
                                    key="module_sizes")
        for b in (np.cumsum(sizes)[:-1] - 0.5 if g <= 16 else []):      # module borders
            ax.axhline(b, color="#e07b00", lw=0.8)
            ax.axvline(b, color="#e07b00", lw=0.8)
        centres = np.cumsum(sizes) - np.asarray(sizes) / 2 - 0.5
        ax.set_xticks(centres, labels, rotation=45 if g > 4 else 0, ha="right" if g > 4 else "center")
        ax.set_yticks(centres, labels)
        ax.tick_params(labelsize=_label_size(g), length=0)
        _thin_labels(ax.get_xticklabels(), 30)
        _thin_labels(ax.get_yticklabels(), 30)
    ax.set_xlabel("unit read (column of W_rec)")
    ax.set_ylabel("unit updated (row of W_rec)")
    ax.set_title(f"Unit-level W_rec mask, {unit.shape[0]}x{unit.shape[1]}\n"
                 f"({fmt.count(unit.sum())} of {fmt.count(unit.size)} weights may be non-zero)")
