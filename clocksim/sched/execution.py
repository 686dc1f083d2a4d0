"""Execution-time models: the time a job really takes, as a fraction of its nominal time (the WCET).

Each model is a small class behind :data:`EXECUTION_MODELS` (``kind`` -> class). A model draws,
from a generator seeded per module, the fraction in (0, 1] of the nominal execution time that each
job of that module takes; the nominal time itself is the compute model's (``execution`` or
``overhead + macs / throughput``), so the nominal time is the worst case.
"""

from __future__ import annotations

import abc
import difflib
from collections.abc import Mapping

import numpy as np

from .._validate import as_float, as_int
from ..errors import InvalidValueError

__all__ = ["ExecutionModel", "Nominal", "UniformFraction", "NormalFraction", "EmpiricalFraction",
           "EXECUTION_MODELS", "as_execution_model"]


class ExecutionModel(abc.ABC):
    """Draws the fraction of the nominal time each job takes."""

    kind = ""

    def generator(self, module: int) -> np.random.Generator:
        return np.random.default_rng([getattr(self, "seed", 0), module])

    @abc.abstractmethod
    def fractions(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` fractions in (0, 1]."""

    def to_dict(self) -> dict:
        return {"kind": self.kind}


class Nominal(ExecutionModel):
    """Every job takes its nominal time (deterministic)."""

    kind = "nominal"

    def fractions(self, rng, size):
        return np.ones(size)


class UniformFraction(ExecutionModel):
    """Fraction uniform on ``[low, 1]``."""

    kind = "uniform"

    def __init__(self, low: float, seed: int = 0):
        self.low = as_float("variation.low", low, minimum=0.0, strict_minimum=True, maximum=1.0)
        self.seed = as_int("variation.seed", seed, minimum=0)

    def fractions(self, rng, size):
        return rng.uniform(self.low, 1.0, size)

    def to_dict(self):
        return {"kind": self.kind, "low": self.low, "seed": self.seed}


class NormalFraction(ExecutionModel):
    """Normal with ``mean`` and ``sd``, truncated to ``(low, 1]`` by redrawing (``low`` defaults to 0)."""

    kind = "normal"

    def __init__(self, mean: float = 0.8, sd: float = 0.1, low: float = 0.0, seed: int = 0):
        self.mean = as_float("variation.mean", mean, minimum=0.0, strict_minimum=True, maximum=1.0)
        self.sd = as_float("variation.sd", sd, minimum=0.0)
        self.low = as_float("variation.low", low, minimum=0.0, maximum=1.0)
        if self.low >= self.mean:
            raise InvalidValueError(f"got low {self.low:g} >= mean {self.mean:g}, expected low < mean",
                                    key="variation.low")
        self.seed = as_int("variation.seed", seed, minimum=0)

    def fractions(self, rng, size):
        out = rng.normal(self.mean, self.sd, size)
        bad = (out <= self.low) | (out > 1.0)
        while bad.any():                      # redraw outside (low, 1]: a truncated normal
            out[bad] = rng.normal(self.mean, self.sd, int(bad.sum()))
            bad = (out <= self.low) | (out > 1.0)
        return out

    def to_dict(self):
        return {"kind": self.kind, "mean": self.mean, "sd": self.sd, "low": self.low, "seed": self.seed}


class EmpiricalFraction(ExecutionModel):
    """Fractions drawn (with replacement) from measured ``samples``, each in (0, 1]."""

    kind = "empirical"

    def __init__(self, samples, seed: int = 0):
        arr = np.asarray(samples, dtype=np.float64).ravel() if not isinstance(samples, str) else np.zeros(0)
        if arr.size == 0 or not np.isfinite(arr).all() or (arr <= 0).any() or (arr > 1).any():
            raise InvalidValueError(f"got {samples!r}, expected a non-empty list of fractions in (0, 1]",
                                    key="variation.samples")
        self.samples = arr
        self.seed = as_int("variation.seed", seed, minimum=0)

    def fractions(self, rng, size):
        return rng.choice(self.samples, size)

    def to_dict(self):
        return {"kind": self.kind, "samples": self.samples.tolist(), "seed": self.seed}


#: Execution-time models by the ``kind`` name used in ``variation``.
EXECUTION_MODELS: dict[str, type[ExecutionModel]] = {
    "nominal": Nominal, "uniform": UniformFraction, "normal": NormalFraction, "empirical": EmpiricalFraction}


def as_execution_model(value) -> ExecutionModel:
    """None (nominal), an :class:`ExecutionModel`, or a mapping ``{kind = ..., <parameters>}``."""
    if value is None:
        return Nominal()
    if isinstance(value, ExecutionModel):
        return value
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"got {value!r}, expected a table such as {{kind = \"uniform\", low = 0.6}} "
                                "or an ExecutionModel", key="variation")
    params = dict(value)
    kind = params.pop("kind", None)
    if kind not in EXECUTION_MODELS:
        close = difflib.get_close_matches(str(kind), list(EXECUTION_MODELS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidValueError(f"got {kind!r}, expected one of {', '.join(map(repr, EXECUTION_MODELS))}{hint}",
                                key="variation.kind")
    cls = EXECUTION_MODELS[kind]
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidValueError(f"{kind}: {exc}", key="variation") from None
