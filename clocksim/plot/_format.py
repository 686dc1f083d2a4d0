"""One number style for everything a person reads (command line, report.md, compare, figures).

- counts (activations, multiply-adds, parameters, steps): whole numbers with
  thousands separators, ``2,040``;
- measured or derived values (ratios, latencies, losses): three significant
  digits, ``2.13``, ``0.00412``; from 1,000 up, whole numbers with separators
  (``28,096``), never an exponent or an SI suffix;
- a missing value: ``n/a``.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["count", "value", "number", "tick_formatter"]


def count(n) -> str:
    """``2040`` -> ``"2,040"``."""
    return f"{int(n):,}"


def value(x) -> str:
    """Three significant digits below 1,000 (``2.13``), whole numbers with separators above (``28,096``)."""
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if abs(x) >= 999.5:
        return f"{x:,.0f}"
    text = f"{x:.3g}"
    if "e" in text:                                     # tiny values: 0.000123, not 1.23e-04
        text = f"{x:.{2 - math.floor(math.log10(abs(x)))}f}"
    return text


def number(x) -> str:
    """A count for integers, a value for everything else (``None`` -> ``"n/a"``)."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return count(x)
    return value(x)


def tick_formatter():
    """A matplotlib tick formatter in the same style (counts with separators, else three digits)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: count(x) if float(x).is_integer() else value(x))
