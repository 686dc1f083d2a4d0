"""Schedule search: find the periods, phases, sizes and priorities on the cost / accuracy / latency front.

A search file is data (TOML, never executed): a base scenario, a *space* of
scenario keys and structured choices (:mod:`clocksim.search.space`), one or
several *objectives* (any summary metric by dotted path, e.g. ``latency.p99``
or ``accuracy.value``, the validation error of a ``[task]``) and *constraints*
(``deadline_misses == 0``). Every mistake is a :class:`SearchError` naming the
file and key.

:func:`search` hands the space to an Optuna sampler (TPE, NSGA-II or random,
the baseline; constraints reach TPE and NSGA-II through ``constraints_func``),
runs every trial's scenario through the one executor
(:func:`clocksim.execute.execute`) on the schedulers of ``clocksim sweep``, and
keeps the study in an Optuna journal file in the output folder, so a killed
search resumes where it stopped. Training trials can be pruned on their
validation loss epoch by epoch. At the end come ``trials.csv`` /
``trials.parquet``, the front as runnable scenarios (``front/*.toml``),
``pareto.png``, ``history.png`` and ``search.json`` (with provenance).

Optuna is an optional extra (``pip install 'clocksim[search]'``), imported only
when a search runs.

The package is callable: ``clocksim.search(spec, out_dir, ...)`` is
:func:`clocksim.search.search`, so ``cs.search(...)`` runs a search while
``from clocksim.search import load_search`` still reaches the package.
"""

import sys
import types

from ..._validate import check_options, keyword_names
from .run import SearchResult, pareto_indices, search
from .spec import SEARCH_SCHEMA, SearchError, SearchSpec, load_search, parse_search

__all__ = ["search", "SearchResult", "SearchSpec", "SearchError", "load_search", "parse_search", "SEARCH_SCHEMA",
           "pareto_indices"]


class _CallablePackage(types.ModuleType):
    def __call__(self, spec, out_dir, **options) -> SearchResult:
        """``clocksim.search(...)``: :func:`clocksim.search.search`."""
        check_options(options, keyword_names(search)[2:], where="clocksim.search", suggest=["spec", "out_dir"])
        return search(spec, out_dir, **options)


sys.modules[__name__].__class__ = _CallablePackage
