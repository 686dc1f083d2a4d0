"""The one draw-save-close path of every figure clocksim writes, and the set of figures a run folder gets.

:func:`save_figures` takes what a plot function returned (a Figure, an Axes, a list
or dict of them), writes it in each requested format (PNG, PDF, SVG; the file suffix
or ``formats`` decides) through an atomic write, and closes the figure, also when
writing fails. A path that is a symbolic link is written *through*: the file it
points to is replaced, the link stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import InvalidValueError
from .._files import atomic_write
from ..trace.core import Trace
from .._validate import as_float, as_path, as_sequence, did_you_mean
from ._style import SIZES, _check_trace, check_size, figure_of
from .costs import plot_cost, plot_latency, plot_staleness
from .energy import plot_energy
from .timeline import plot_activity, plot_gantt

#: The file formats a figure can be written in (the suffix of the file).
FORMATS = ("png", "pdf", "svg")

#: The figures a saved trace can be drawn as (``clocksim plot --kind``): kind -> f(trace, steps, size) -> drawn.
KINDS: dict[str, Callable] = {
    "activity": lambda trace, steps=None, size=None: plot_activity(trace, steps=steps, size=size),
    "gantt": lambda trace, steps=None, size=None: plot_gantt(trace, steps=steps, size=size),
    "cost": lambda trace, steps=None, size=None: plot_cost(trace, steps=steps, size=size),
    "latency": lambda trace, steps=None, size=None: plot_latency(trace, steps=steps, size=size),
    "staleness": lambda trace, steps=None, size=None: plot_staleness(trace, size=size),
    "energy": lambda trace, steps=None, size=None: plot_energy(trace),
}

#: Fixed metadata so that the same figure gives the same PDF/SVG bytes on every run (no creation date;
#: SVG element ids from a fixed salt instead of a random one).
_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": None}
_RC = {"svg.hashsalt": "clocksim"}


def check_formats(formats, key: str = "formats") -> list[str]:
    """``formats`` (a sequence of names, or one comma-separated string) as a list of known formats.

    Raises :class:`~clocksim.errors.InvalidValueError` naming ``key``, with a did-you-mean, for an
    unknown name.
    """
    items = [f.strip() for f in formats.split(",")] if isinstance(formats, str) else formats
    if not isinstance(items, Sequence) or isinstance(items, (bytes, bytearray)) or not items:
        raise InvalidValueError(key=key, value=formats, expected=f"a non-empty list of {', '.join(FORMATS)}")
    out = []
    for i, name in enumerate(items):
        if not isinstance(name, str) or name.lower().lstrip(".") not in FORMATS:
            hint = did_you_mean(name.lower(), FORMATS) if isinstance(name, str) else ""
            raise InvalidValueError(f"got {name!r}{hint}, expected one of {', '.join(FORMATS)}",
                                    key=key if len(items) == 1 else f"{key}[{i}]")
        out.append(name.lower().lstrip("."))
    return list(dict.fromkeys(out))


def figure_paths(path_or_stem, formats=None, key: str = "path", formats_key: str = "formats") -> list[Path]:
    """The files :func:`save_figures` writes for ``path_or_stem`` and ``formats``, in ``formats`` order.

    ``key`` and ``formats_key`` name the two arguments in errors. A suffix that is a format (``x.pdf``) decides the format when ``formats`` is None, and must be one
    of ``formats`` when both are given; a path without one gets ``.png`` or each of ``formats``.
    """
    path = Path(path_or_stem)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        stem = path.with_suffix("")
        if formats is None:
            formats = [suffix]
        else:
            formats = check_formats(formats, formats_key)
            if suffix not in formats:
                raise InvalidValueError(f"got {str(path)!r} with formats {formats}, expected a file name ending in "
                                        "one of the formats or a name without a suffix", key=key)
    else:
        if path.suffix and path.suffix[1:].isalpha() and formats is None:
            raise InvalidValueError(f"got {str(path)!r}, expected a file name ending in "
                                    + " or ".join(f".{f}" for f in FORMATS), key=key)
        stem = path
        formats = check_formats(formats if formats is not None else ["png"], formats_key)
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in formats]


def save_figures(fig, path_or_stem, formats=None, *, dpi: int | None = None, close: bool = True) -> list[Path]:
    """Write a figure in one or more formats, each file atomically, then close the figure.

    Parameters
    ----------
    fig : Figure, Axes, or a list / dict of Axes
        What a plot function returned, or a callable returning it (drawn here, so a failing
        draw closes its figure too).
    path_or_stem : path
        ``activity.pdf`` (the suffix decides) or ``activity`` (with ``formats``; default PNG).
    formats : sequence of str or str, optional
        Some of :data:`FORMATS` (``["png", "pdf"]`` or ``"png,pdf"``).
    dpi : int, optional
        Resolution of PNGs (PDF and SVG are vector graphics; images inside them use it too);
        default the figure's (100).
    close : bool, default True
        Close the figure afterwards (also when a write fails).

    Returns
    -------
    list of Path
        The files written, in ``formats`` order. A path that is a symbolic link is written
        through: its target is replaced, the link kept.
    """
    paths = figure_paths(as_path("path_or_stem", path_or_stem), formats)
    dpi = None if dpi is None else as_float("dpi", dpi, minimum=0.0, strict_minimum=True)
    import matplotlib
    import matplotlib.pyplot as plt  # imported on first use: `import clocksim` stays light

    figure = None
    try:
        figure = figure_of(fig() if callable(fig) else fig)
        for path in paths:
            fmt = path.suffix[1:]
            with matplotlib.rc_context(_RC):                   # the one atomic writer: writes through links
                atomic_write(path, lambda f: figure.savefig(f, format=fmt, dpi=dpi, metadata=_METADATA[fmt]))
    finally:
        if close and figure is not None:
            plt.close(figure)
    return paths


def save_plots(trace: Trace, directory, kinds=None, dpi: int = 120, formats=("png",), size=None) -> list[Path]:
    """Draw ``trace`` as ``<kind>.<format>`` files in ``directory`` (through :func:`save_figures`).

    Parameters
    ----------
    trace : Trace
    directory : path
        An existing directory.
    kinds : sequence of str, optional
        Keys of :data:`KINDS`. Default: activity and cost, plus gantt and latency
        when the run modelled timing (``meta["latency_model"]``), plus staleness
        when messages took time to arrive.
    formats : sequence of str
        Some of :data:`FORMATS`; each figure is written once per format.
    size : {"column", "page"}, optional
        Figure width of a journal column (3.5 in) or page (7 in); default the screen layout.

    Returns
    -------
    list of Path
        The files written, in ``kinds`` order (each kind in ``formats`` order).
    """
    _check_trace(trace)
    directory = as_path("directory", directory)
    kinds = None if kinds is None else as_sequence("kinds", kinds, f"a list of figure kinds ({', '.join(KINDS)})")
    dpi = as_float("dpi", dpi, minimum=0.0, strict_minimum=True)
    formats, size = check_formats(formats), check_size(size)
    if kinds is None:
        kinds = ["activity", "cost"] + (["gantt", "latency"] if trace.meta.get("latency_model") else []) \
            + (["staleness"] if (trace.messages["arrive"] > trace.messages["send"]).any() else []) \
            + (["energy"] if trace.meta.get("device") is not None else [])
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InvalidValueError(f"got {unknown}, expected some of {sorted(KINDS)}", key="kinds")
    written = []
    for kind in kinds:
        written += save_figures(lambda: KINDS[kind](trace, size=size), Path(directory) / kind, formats, dpi=dpi)
    return written


__all__ = ["FORMATS", "KINDS", "SIZES", "check_formats", "figure_of", "figure_paths", "save_figures", "save_plots"]
