"""The search space: scenario keys as in sweep files, and structured spaces a grid cannot express.

A space turns an Optuna trial into *overrides*: scenario key -> value, applied to
the base scenario like ``clocksim run --set``. Its parts:

- ``[params]``: any scenario key, an array of choices or a range ``{low, high}``
  (integers when both bounds are, ``log = true`` for a log scale), as in a sweep's
  ``[random]`` table (core counts: ``engine.compute.cores = {low = 1, high = 4}``);
- ``[periods]``: ``model.periods``, a free sorted list (g fixed or a range), each
  drawn in ``[low, high]``; integers, or with ``real = true`` real numbers: each module
  then gets a ``jittered`` clock with ``jitter = 0`` (``model.clocks``), which fires at
  exactly ``phase + k * period`` in continuous time (the event engine);
- ``[phases]``: ``model.phases``, one per module in ``0 .. period - 1`` (drawn as
  an integer over fixed periods, as a fraction of the period when periods are searched;
  ``encoding = "ranked"``: as a rank in :func:`clocksim.stagger_phases`'s order of phases);
- ``[sizes]``: ``model.module_sizes``, one relative weight per module, scaled to the
  largest sizes whose model has at most ``budget`` trainable parameters;
- ``[priority]``: ``engine.compute.priority``, a named rule or an order of the
  modules (drawn as one number per module and ranked: random keys).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ..specfile import flatten, parse_range

__all__ = ["Space", "parse_space", "RULES"]

RULES = ("fastest-first", "slowest-first", "fifo")


@dataclass
class Space:
    params: dict            # scenario key -> list of choices or {low, high[, log]}
    periods: dict | None    # {modules: int or (lo, hi), low, high, log, real}
    phases: dict | None     # {modules: list of int or None}
    sizes: dict | None      # {budget, min}
    priority: dict | None   # {rules}
    base_periods: list      # the base scenario's periods (None for a non-periodic clock)
    base_sizes: tuple       # the base scenario's module sizes
    n_in: int
    n_out: int
    connectivity: object    # the base model's connectivity (a name or a mask)

    def suggest(self, trial) -> dict:
        """The overrides of one trial (``trial``: an ``optuna.Trial`` or anything with its ``suggest_*``)."""
        out = {key: _suggest(trial, key, spec) for key, spec in self.params.items()}
        periods = list(self.base_periods)
        if self.periods is not None:
            p = self.periods
            g = p["modules"] if isinstance(p["modules"], int) else trial.suggest_int("periods.modules", *p["modules"])
            draw = trial.suggest_float if p["real"] else trial.suggest_int
            periods = sorted(draw(f"periods[{i}]", p["low"], p["high"], log=p["log"]) for i in range(g))
            out["model.periods"] = periods
        g = len(periods)
        real = self.periods is not None and self.periods["real"]
        if self.sizes is not None:
            weights = [trial.suggest_float(f"sizes.weight[{i}]", 0.05, 1.0) for i in range(g)]
            out["model.module_sizes"] = self.fit_sizes(weights, periods)
        phases = [0.0 if real else 0] * g
        if self.phases is not None and self.phases["encoding"] == "ranked":
            out["model.phases"] = self.ranked_phases(trial, periods, out.get("model.module_sizes"))
        elif self.phases is not None:
            for i in self.phases["modules"] or range(g):
                if i >= g or periods[i] is None or (periods[i] <= 1 and not real):
                    continue
                if self.periods is None:
                    phases[i] = trial.suggest_int(f"phases[{i}]", 0, periods[i] - 1)
                else:
                    fraction = trial.suggest_float(f"phases.fraction[{i}]", 0.0, 1.0)
                    phases[i] = fraction * periods[i] if real else min(periods[i] - 1, int(fraction * periods[i]))
            out["model.phases"] = phases
        if real:                                # continuous-time periodic clocks replace periods and phases
            out["model.clocks"] = [{"kind": "jittered", "period": p, "jitter": 0.0,
                                    "phase": min(ph, math.nextafter(p, 0.0))}
                                   for p, ph in zip(out.pop("model.periods"), out.pop("model.phases", phases))]
        if self.priority is not None:
            rule = trial.suggest_categorical("priority.rule", ["order", *RULES]) if self.priority["rules"] else "order"
            if rule == "order":
                keys = [trial.suggest_float(f"priority.key[{i}]", 0.0, 1.0) for i in range(g)]
                out["engine.compute.priority"] = [int(r) for r in np.argsort(np.argsort(keys, kind="stable"))]
            else:
                out["engine.compute.priority"] = rule
        return out

    def ranked_phases(self, trial, periods: list[int], sizes: list[int] | None) -> list[int]:
        """Phases as ranks in :func:`clocksim.stagger_phases`'s order (rank 0: its greedy choice).

        Each module draws ``f`` in [0, 1] and takes rank ``floor(period ** f) - 1``: log-uniform, so
        ranks near the greedy placement are likelier, yet every assignment of phases is reachable.
        """
        from ...model.clocks import stagger_phases
        from ...cost import activation_macs
        from ...model.cwrnn import ClockworkRNN

        g = len(periods)
        if sizes is None:
            sizes = list(self.base_sizes) if len(self.base_sizes) == g else [self.base_sizes[0]] * g
        mask = ClockworkRNN(self.n_in, self.n_out, sizes, list(periods), connectivity=self.connectivity).block_mask
        ranks = [min(p - 1, int(p ** trial.suggest_float(f"phases.rank[{i}]", 0.0, 1.0)) - 1)
                 for i, p in enumerate(periods)]
        return stagger_phases(periods, weights=activation_macs(sizes, mask, self.n_in), ranks=ranks)

    def fit_sizes(self, weights: list[float], periods: list[int]) -> list[int]:
        """Module sizes proportional to ``weights``, the largest whose model has at most ``budget`` parameters."""
        from ...model.cwrnn import ClockworkRNN

        budget, smallest = self.sizes["budget"], self.sizes["min"]
        w = np.asarray(weights, dtype=float) / max(weights)

        def sizes(scale: int) -> list[int]:
            return [max(smallest, int(round(scale * x))) for x in w]

        def n_params(scale: int) -> int:
            return ClockworkRNN(self.n_in, self.n_out, sizes(scale), [1] * len(periods),   # periods do not count
                                connectivity=self.connectivity).n_params

        lo, hi = 1, 2
        while n_params(hi) <= budget:
            lo, hi = hi, hi * 2
        while hi - lo > 1:                      # the largest scale within the budget (or 1)
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if n_params(mid) <= budget else (lo, mid)
        return sizes(lo)

    def extreme(self, which: str) -> dict:
        """The overrides at the low (first choices, lower bounds) or high end of every dimension."""
        return self.suggest(_Extreme(which == "high"))

    def record(self) -> dict:
        return {"params": self.params, "periods": self.periods, "phases": self.phases, "sizes": self.sizes,
                "priority": self.priority}


def _suggest(trial, key: str, spec):
    if isinstance(spec, list):
        if all(v is None or isinstance(v, (bool, int, float, str)) for v in spec):
            return trial.suggest_categorical(key, spec)
        texts = [json.dumps(v, sort_keys=True) for v in spec]           # arrays and tables: choose by JSON text
        return json.loads(trial.suggest_categorical(key, texts))
    lo, hi, log = spec["low"], spec["high"], spec.get("log", False)
    if isinstance(lo, int) and isinstance(hi, int):
        return trial.suggest_int(key, lo, hi, log=log)
    return trial.suggest_float(key, float(lo), float(hi), log=log)


class _Extreme:
    """A stand-in trial that answers every question with its lower (or upper) end."""

    def __init__(self, high: bool):
        self.high = high

    def suggest_int(self, name, low, high, log=False):
        return high if self.high else low

    def suggest_float(self, name, low, high, log=False):
        return high if self.high else low

    def suggest_categorical(self, name, choices):
        return choices[-1] if self.high else choices[0]


def parse_space(chk, tables: dict, base) -> Space:
    """Validate the space tables of a search file against the base scenario ``base``."""
    params = flatten("random", tables.get("params", {}))
    for key, spec in params.items():
        chk.scenario_key(f"params.{key}", key)
        parse_range(chk, f"params.{key}", spec)
    model = base.model
    base_periods = [getattr(c, "period", None) for c in model.clocks]
    structured = {name: _table(chk, tables, name) for name in ("periods", "phases", "sizes", "priority")}
    periods = structured["periods"]
    if periods is not None:
        real = periods.get("real", False)
        if not isinstance(real, bool):
            chk.fail("periods.real", real, "true or false")
        if real:
            low = chk.number(periods, "periods.low", default=1.0)
            high = chk.number(periods, "periods.high")
            if base.engine != "events":
                chk.fail("periods.real", real, 'a base scenario with engine.name = "events" (real periods fire '
                                               'between steps)')
        else:
            low = chk.int(periods, "periods.low", minimum=1, default=1)
            high = chk.int(periods, "periods.high", minimum=1)
        if high < low:
            chk.fail("periods.high", high, f"a number >= periods.low ({low})")
        log = periods.get("log", True)
        if not isinstance(log, bool):
            chk.fail("periods.log", log, "true or false")
        g = periods.get("modules", model.g)
        if isinstance(g, dict):
            g = (chk.int(g, "periods.modules.low", minimum=1), chk.int(g, "periods.modules.high", minimum=1))
            if g[1] < g[0]:
                chk.fail("periods.modules", periods["modules"], "low <= high")
        elif isinstance(g, bool) or not isinstance(g, int) or g < 1:
            chk.fail("periods.modules", g, "an integer >= 1 or a range {low, high}")
        periods = {"modules": g, "low": low, "high": high, "log": log, "real": real}
    phases = structured["phases"]
    if phases is not None:
        modules = phases.get("modules")
        if modules is not None and (not isinstance(modules, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i for i in modules)):
            chk.fail("phases.modules", modules, "an array of module indices >= 0")
        if periods is None and any(p is None for p in base_periods):
            chk.fail("phases", phases, "periodic clocks in the base scenario (model.periods or model.family)")
        encoding = phases.get("encoding", "direct")
        if encoding not in ("direct", "ranked"):
            chk.fail("phases.encoding", encoding, '"direct" or "ranked"')
        if encoding == "ranked" and periods is not None and periods["real"]:
            chk.fail("phases.encoding", encoding, '"direct" with real periods (ranks place integer phases)')
        if encoding == "ranked" and modules is not None:
            chk.fail("phases.modules", modules, 'no modules with encoding = "ranked" (it places every module)')
        phases = {"modules": modules, "encoding": encoding}
    sizes = structured["sizes"]
    if sizes is not None:
        sizes = {"budget": chk.int(sizes, "sizes.budget", minimum=1),
                 "min": chk.int(sizes, "sizes.min", minimum=1, default=1)}
        from ...model.cwrnn import ClockworkRNN

        g = model.g if periods is None else periods["modules"] if isinstance(periods["modules"], int) \
            else periods["modules"][1]
        least = ClockworkRNN(model.n_in, model.n_out, [sizes["min"]] * g, [1] * g,
                             connectivity=_connectivity(model)).n_params
        if least > sizes["budget"]:
            chk.fail("sizes.budget", sizes["budget"], f"at least {least} (the parameters of {g} modules of "
                                                      f"sizes.min = {sizes['min']} units)")
    priority = structured["priority"]
    if priority is not None:
        rules = priority.get("rules", True)
        if not isinstance(rules, bool):
            chk.fail("priority.rules", rules, "true or false")
        if base.engine_options.get("compute") is None:
            chk.fail("priority", priority, "a compute model in the base scenario ([engine] compute = {cores = ...})")
        priority = {"rules": rules}
    owned = {"periods": "model.periods", "phases": "model.phases", "sizes": "model.module_sizes",
             "priority": "engine.compute.priority"}
    for name, key in owned.items():
        if structured[name] is not None and any(k == key or key.startswith(k + ".") for k in params):
            chk.fail(f"params.{key}", params.get(key), f"no {key} in [params] beside a [{name}] table")
    if not params and all(v is None for v in structured.values()):
        chk.fail("params", None, "something to search: [params], [periods], [phases], [sizes] or [priority]")
    return Space(params, periods, phases, sizes, priority, base_periods, model.module_sizes, model.n_in, model.n_out,
                 _connectivity(model))


def _table(chk, tables: dict, name: str):
    from .spec import SEARCH_SCHEMA

    table = tables.get(name)
    if table is not None:
        for key in table:
            if key not in SEARCH_SCHEMA[name]:
                chk.unknown(f"{name}.{key}", list(SEARCH_SCHEMA[name]))
    return table


def _connectivity(model):
    c = model.connectivity
    return c if isinstance(c, str) else np.asarray(model.block_mask)
