"""Columnar record of what a run did: activations, messages and readouts. A leaf module.

A :class:`Trace` holds three numpy structured arrays and a ``meta`` dict of plain
data (JSON-serialisable) describing the model and run, so a trace saved to disk
can be summarised and plotted without the model that produced it.

``activations`` — one row per activation (one firing of one module):
    module (int16), time (firing time), start / end (compute span, model time),
    macs (multiply-adds, whole batch), staleness (age of the oldest message read:
    read time minus its send time; the initial state counts as sent at
    ``start - 1``), lag (how long the newest version of an input had already
    been sent but not yet received: 0 when delivery is instantaneous), core
    (compute slot used, -1 without a compute model).
``messages`` — one row per message: sender, receiver, send and arrive times.
``readouts`` — one row per output: time, latency (output-complete: input arrival until every
    activation that latched the sample has published and, when the readout is a job, the readout
    after them has finished; 0 in synchronous runs), missed (latency past the deadline), reaction
    (arrival until the first published state that reflects the sample: round two's latency).
``jobs`` and ``segments`` (runs with a scheduled compute model, else None) — one row per job and
    one per stretch of a job on a core (:mod:`clocksim.sched.records`).

Counts cover the whole batch: with ``B`` sequences every multiply-add count is
``B`` times the per-sequence count (``summary()["count_basis"]`` says so).

Memory. An activation row takes 44 bytes: times stay float64 (a float32 time
would be off by up to 1/16 of a step after a million steps), while ``staleness``
and ``lag`` are ages — differences of times, bounded by the schedule's longest
period or latency — stored as float32 (relative error 6e-8: integer ages are
exact up to 2**24 steps). A message row takes 20 bytes and a readout row 17:
on the paper's schedule (8 modules, periods 1..128, slow-to-fast) a trace that
stores all three takes 72 bytes per activation (``benchmarks/bench_trace.py``).
In a synchronous run with instantaneous delivery (either engine) the
start, end, macs, lag and core of an activation follow from its module and
firing time, and the messages and readouts from the activations: such a trace
stores 14 bytes per activation (``INSTANT_DTYPE``) and derives the full rows and
the other two tables when they are read (the caller holds what it reads). The
event engine's runs with a timing model store 28 bytes per activation
(``TIMED_DTYPE``: the end is the start plus the module's compute time, the macs
follow from the module) and, with link latency, 8 bytes per message (its arrival
time; everything else about a message follows from the activation that sent it).
Long runs that need only totals keep an :class:`~clocksim.aggregate.AggregateTrace`
instead (``trace.aggregate()``, or ``simulate(..., trace="aggregate")`` with the
compiled engine), whose size does not grow with the run.

Files. :meth:`Trace.save` / :meth:`Trace.load` write and read the complete trace
exactly (``.npz``, no pickle). The interchange formats hold one table per file —
CSV (:meth:`Trace.to_csv`), Parquet (:meth:`Trace.to_parquet`, optional extra
``parquet``) and pandas (:meth:`Trace.to_pandas`, optional extra ``pandas``) — and
:meth:`Trace.to_chrome` writes the Chrome trace event format for Perfetto; see
:mod:`clocksim.export`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from .. import cost
from .aggregate import AggregateTrace
from .._files import atomic_write  # noqa: F401 - the one atomic writer, re-exported (clocksim.trace.atomic_write)
from .._validate import as_callable, as_mapping, as_path, as_real_array
from ..errors import FileFormatError, InvalidTypeError, InvalidValueError
from .files import Entry, json_default, json_entry, parse_json_entry, read_npz, write_npz
from ..sched.records import JOB_DTYPE, SEGMENT_DTYPE

__all__ = ["Trace", "ACTIVATION_DTYPE", "INSTANT_DTYPE", "TIMED_DTYPE", "MESSAGE_DTYPE", "READOUT_DTYPE", "TABLES",
           "atomic_write", "expand_instant", "expand_timed"]

ACTIVATION_DTYPE = np.dtype([
    ("module", "<i2"), ("time", "<f8"), ("start", "<f8"), ("end", "<f8"),
    ("macs", "<i8"), ("staleness", "<f4"), ("lag", "<f4"), ("core", "<i2"),
])
#: Activation rows as a synchronous run with instantaneous delivery stores them (14 bytes): the other
#: fields follow (start = end = time, macs from the module, lag 0, core -1); see :func:`expand_instant`.
INSTANT_DTYPE = np.dtype([("module", "<i2"), ("time", "<f8"), ("staleness", "<f4")])
#: Activation rows as the event engine stores them when a timing model runs (28 bytes): the end is the
#: start plus the module's compute time, the macs follow from the module; see :func:`expand_timed`.
TIMED_DTYPE = np.dtype([("module", "<i2"), ("time", "<f8"), ("start", "<f8"), ("staleness", "<f4"),
                        ("lag", "<f4"), ("core", "<i2")])
MESSAGE_DTYPE = np.dtype([("sender", "<i2"), ("receiver", "<i2"), ("send", "<f8"), ("arrive", "<f8")])
READOUT_DTYPE = np.dtype([("time", "<f8"), ("latency", "<f8"), ("missed", "?"), ("reaction", "<f8")])

#: Activation rows a compact trace expands at a time when it is summarised.
AGGREGATE_CHUNK = 1 << 16

#: The tables of a trace and their record dtypes.
TABLES = {"activations": ACTIVATION_DTYPE, "messages": MESSAGE_DTYPE, "readouts": READOUT_DTYPE}


class Trace:
    """What one run did, activation by activation.

    Parameters
    ----------
    activations : structured ndarray of ACTIVATION_DTYPE, shape (A,)
        or compact rows that ``expand`` turns into ACTIVATION_DTYPE rows, stored as given and
        expanded when read (by default INSTANT_DTYPE rows of a synchronous run with instantaneous
        delivery, their macs from ``meta["activation_macs"]`` and ``batch``)
    messages : structured ndarray of MESSAGE_DTYPE, shape (M,), optional
        or a function ``messages(rows, before)`` that returns the messages sent by the activation rows
        ``rows`` (ACTIVATION_DTYPE, in the table's order), ``before`` (g,) counting each module's
        activations in the rows before them: a table that follows from the activations, derived
        when read and not stored (an attribute ``nbytes`` counts what the function holds)
    readouts : structured ndarray of READOUT_DTYPE, shape (R,), optional
        or a function of no argument that returns them, likewise (if it has a method ``parts()``
        that yields them in chunks, summaries fold those)
    expand : callable, optional
        Turns a slice of the stored activation rows into ACTIVATION_DTYPE rows (row by row).
    jobs, segments : structured ndarray of JOB_DTYPE / SEGMENT_DTYPE, optional
        The job records of a scheduled compute model (:mod:`clocksim.sched.records`).
    meta : dict
        Plain data about the run: ``engine``, ``n``, ``n_in``, ``n_out``,
        ``module_sizes``, ``labels``, ``periods``, ``block_mask``, ``batch``,
        ``n_steps``, ``start``, ``activation_macs`` (per module, per sequence),
        ``readout_macs`` and ``dense_step_macs`` (per sequence), and
        ``latency_model`` (bool: a timing model ran, :func:`clocksim.cost.has_timing_model`).
    """

    def __init__(self, activations: np.ndarray, messages: np.ndarray | Callable | None = None,
                 readouts: np.ndarray | Callable | None = None, meta: dict | None = None,
                 expand: Callable | None = None, jobs: np.ndarray | None = None, segments: np.ndarray | None = None):
        self.meta = {} if meta is None else dict(as_mapping("meta", meta, "a dict describing the run"))
        if expand is not None:
            as_callable("expand", expand, "a callable making the rows of a lazily built table")
        self.jobs = None if jobs is None else _as_records("jobs", jobs, JOB_DTYPE)              # (J,) or None
        self.segments = None if segments is None else _as_records("segments", segments, SEGMENT_DTYPE)
        if expand is None and isinstance(activations, np.ndarray) and activations.dtype == INSTANT_DTYPE:
            expand = partial(expand_instant, macs=np.asarray(self.meta["activation_macs"], dtype=np.int64)
                             * self.batch)
        self._expand = expand               # compact rows -> ACTIVATION_DTYPE rows, or None: stored whole
        if expand is not None:
            self._activations = activations                                   # (A,) compact rows
        else:
            self._activations = _as_records("activations", activations, ACTIVATION_DTYPE)
        self._tables = {}                   # name -> records held, or a function that derives them
        for name, value in (("messages", messages), ("readouts", readouts)):
            self._tables[name] = value if callable(value) else _as_records(name, value, TABLES[name])

    @property
    def activations(self) -> np.ndarray:
        """Records of ACTIVATION_DTYPE, shape (A,); expanded on each read when the trace stores
        compact rows (see :attr:`nbytes`)."""
        if self._expand is not None:
            return self._expand(self._activations)
        return self._activations

    @property
    def messages(self) -> np.ndarray:
        """Records of MESSAGE_DTYPE, shape (M,); derived from the activations on each read when the run's
        delivery was instantaneous (see :attr:`nbytes`)."""
        return self._table("messages")

    @property
    def readouts(self) -> np.ndarray:
        """Records of READOUT_DTYPE, shape (R,); derived like :attr:`messages` in synchronous runs."""
        return self._table("readouts")

    def _table(self, name: str) -> np.ndarray:
        value = self._tables[name]
        if not callable(value):
            return value
        if name == "messages":
            return _as_records(name, value(self.activations, np.zeros(self.g, dtype=np.int64)), TABLES[name])
        return _as_records(name, value(), TABLES[name])

    def __len__(self) -> int:
        return int(self._activations.shape[0])

    def __repr__(self) -> str:
        return (f"Trace({len(self)} activations, {self.messages.shape[0]} messages, "
                f"{self.readouts.shape[0]} readouts, engine={self.meta.get('engine')!r})")

    @property
    def g(self) -> int:
        """Number of modules."""
        return len(self.meta["module_sizes"])

    @property
    def batch(self) -> int:
        return int(self.meta.get("batch", 1))

    @property
    def nbytes(self) -> int:
        """Bytes the trace holds: its activation rows and the tables it stores.

        A synchronous run with instantaneous delivery stores 14 bytes per activation (INSTANT_DTYPE)
        and no messages or readouts: they follow from the activations and are derived when read, so
        their bytes count only while the caller holds them. What a deriving function holds (the
        arrival times of messages on links with latency, given input times) counts.
        """
        return self._activations.nbytes + sum(getattr(t, "nbytes", 0) for t in self._tables.values())

    # ------------------------------------------------------------------ summaries
    def aggregate(self) -> AggregateTrace:
        """Per-module totals of this trace (an :class:`~clocksim.aggregate.AggregateTrace`).

        Derived rows are folded in a chunk of ``AGGREGATE_CHUNK`` activations at a time (and derived
        readouts a chunk at a time when their function offers ``parts()``), so summarising a compact
        trace never holds its full rows, messages or readouts at once.
        """
        agg = AggregateTrace(self.meta)
        derive = self._tables["messages"]
        if self._expand is None and not callable(derive):
            return agg.add(self.activations, self.messages, self.readouts)
        before = np.zeros(self.g, dtype=np.int64)                  # activations of each module so far
        for lo in range(0, len(self), AGGREGATE_CHUNK):
            rows = self._activations[lo:lo + AGGREGATE_CHUNK]
            act = self._expand(rows) if self._expand is not None else rows
            agg.add(activations=act, messages=derive(act, before) if callable(derive) else None)
            before += np.bincount(act["module"], minlength=self.g)
        if not callable(derive):
            agg.add(messages=derive)
        readouts = self._tables["readouts"]
        for part in readouts.parts() if hasattr(readouts, "parts") else (self.readouts,):   # derived in chunks
            agg.add(readouts=part)
        return agg

    def summary(self) -> dict:
        """Totals as plain data (the keys of ``summary.json``); see :meth:`AggregateTrace.summary`.

        Every total is a sum over this trace's rows: ``activations`` = rows of
        ``activations``, ``macs`` = their ``macs`` + ``readout_macs`` per batch and per row
        of ``readouts``, ``per_module`` the same split by module.
        """
        return self.aggregate().summary()

    def step_macs(self) -> tuple[np.ndarray, np.ndarray]:
        """Multiply-adds per step: activations binned by the step of their firing time
        (``floor(time)``) plus readouts binned likewise.

        Returns
        -------
        steps : int64 ndarray, shape (S,)
            The steps that have any activation or readout, ascending.
        macs : int64 ndarray, shape (S,)
            Multiply-adds of each (whole batch); they sum to ``summary()["macs"]``.
        """
        ro_each = int(self.meta.get("readout_macs", 0)) * self.batch
        act_bins = np.floor(self.activations["time"]).astype(np.int64)
        ro_bins = np.floor(self.readouts["time"]).astype(np.int64)
        both = np.concatenate([act_bins, ro_bins])
        if not both.size:
            return both, both.copy()
        steps, where = np.unique(both, return_inverse=True)
        where = where.reshape(-1)
        per_bin = cost.binned_macs(steps.size, self.g, where[:act_bins.size], self.activations["module"],
                                   self.activations["macs"], where[act_bins.size:], ro_each)
        return steps, per_bin.sum(axis=0)

    def binned_macs(self, edges: np.ndarray) -> np.ndarray:
        """Multiply-adds per time bin and module: bin ``k`` is ``[edges[k], edges[k+1])``, a record before the
        first edge counts in the first bin and one at or after the last in the last.

        Returns
        -------
        int64 ndarray, shape (g + 1, len(edges) - 1)
            Rows 0..g-1 the modules' activations, row g the readouts (whole batch; :func:`clocksim.cost.binned_macs`).
        """
        edges = as_real_array("edges", edges, ndim=1)
        if edges.size < 2 or (np.diff(edges) <= 0).any():
            raise InvalidValueError(f"got {edges.size} edges, expected at least two, increasing", key="edges")
        n_bins = edges.size - 1
        act, ro = self.activations, self.readouts
        bin_act = np.clip(np.searchsorted(edges, act["time"], side="right") - 1, 0, n_bins - 1)
        bin_ro = np.clip(np.searchsorted(edges, ro["time"], side="right") - 1, 0, n_bins - 1)
        return cost.binned_macs(n_bins, self.g, bin_act, act["module"], act["macs"], bin_ro,
                                int(self.meta.get("readout_macs", 0)) * self.batch)

    # ------------------------------------------------------------------ exports (clocksim.export)
    def to_csv(self, path, table: str = "activations") -> Path:
        """Write one table as CSV: a header row, then one row per record (see :func:`clocksim.export.write_csv`)."""
        from .export import write_csv
        return write_csv(self, as_path("path", path), table)

    @classmethod
    def read_csv(cls, path, *, messages=None, readouts=None, meta=None) -> "Trace":
        """A trace from an activations CSV and, optionally, the other tables' CSVs and the meta
        (see :func:`clocksim.export.read_csv`)."""
        from .export import read_csv
        return read_csv(as_path("path", path), **_optional_paths(messages=messages, readouts=readouts), meta=meta)

    def to_chrome(self, path, *, us_per_step: float | None = None, zero_width: float = 0.5) -> Path:
        """Write the Chrome trace event format (JSON) that the Perfetto UI opens
        (see :func:`clocksim.export.write_chrome` for the layout and conventions)."""
        from .export import write_chrome
        return write_chrome(self, as_path("path", path), us_per_step=us_per_step, zero_width=zero_width)

    def to_pandas(self, table: str = "activations"):
        """One table as a ``pandas.DataFrame`` (needs the optional extra ``pandas``)."""
        from .export import to_pandas
        return to_pandas(self, table)

    def to_parquet(self, path, table: str = "activations") -> Path:
        """Write one table as Parquet, meta included (needs the optional extra ``parquet``)."""
        from .export import write_parquet
        return write_parquet(self, as_path("path", path), table)

    @classmethod
    def read_parquet(cls, path, *, messages=None, readouts=None, meta=None) -> "Trace":
        """A trace from an activations Parquet file and, optionally, the other tables' files."""
        from .export import read_parquet
        return read_parquet(as_path("path", path), **_optional_paths(messages=messages, readouts=readouts),
                            meta=meta)

    # ------------------------------------------------------------------ files
    def save(self, path, *, fingerprint: str | None = None) -> Path:
        """Write the trace to ``path`` (``.npz``): exact, no pickle; atomic (temporary file, then rename).

        The file holds the three tables, the meta as JSON and a ``format`` entry (format name,
        version and, if given, the ``fingerprint`` of the scenario the trace belongs to). Wall-clock
        values (``meta["wall_time"]``) are left out, so identical runs give byte-identical files.
        """
        path = as_path("path", path)
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise InvalidTypeError(f"got {fingerprint!r}, expected a string (the scenario's fingerprint) or None",
                                   key="fingerprint")
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        meta = {k: v for k, v in self.meta.items() if k not in VOLATILE_META}
        header = {"format": TRACE_FORMAT, "version": TRACE_VERSION, "fingerprint": fingerprint}
        entries = {"format": json_entry(header), "activations": self.activations,
                   "messages": self.messages, "readouts": self.readouts, "meta": json_entry(meta)}
        if self.jobs is not None:
            entries.update(jobs=self.jobs, segments=self.segments)
        write_npz(path, entries)
        return path

    @classmethod
    def load(cls, path) -> "Trace":
        """Read a trace written by :meth:`save`, as untrusted data: every entry is checked against the
        trace schema (dtypes, shapes, module numbers, finite times) before it is used; anything else
        raises :class:`~clocksim.errors.FileFormatError` naming the file and the entry."""
        path = as_path("path", path)
        data = read_npz(path, _TRACE_SCHEMA.get, what="trace", required=("activations", "meta"))
        if "format" in data:                            # files written before the format entry have none
            header = parse_json_entry(data["format"], path, "format")
            if header.get("format") != TRACE_FORMAT or header.get("version") != TRACE_VERSION:
                raise FileFormatError(f"got format {header.get('format')!r} version {header.get('version')!r}, "
                                      f"expected {TRACE_FORMAT!r} version {TRACE_VERSION}", key="format", file=path)
        meta = parse_json_entry(data["meta"], path, "meta")
        tables = {}
        readouts = data.get("readouts")
        if readouts is not None and readouts.dtype.names and "reaction" not in readouts.dtype.names \
                and "latency" in readouts.dtype.names:        # written before round three: latency was the reaction
            upgraded = np.zeros(readouts.shape, dtype=READOUT_DTYPE)
            for f in set(READOUT_DTYPE.names) & set(readouts.dtype.names):
                upgraded[f] = readouts[f]
            upgraded["reaction"] = readouts["latency"]
            data["readouts"] = upgraded
        for name, dtype in TABLES.items():
            value = data.get(name)
            if value is not None and (value.dtype.names is None or set(dtype.names) - set(value.dtype.names)):
                raise FileFormatError(f"got dtype {value.dtype}, expected records with fields "
                                      f"{', '.join(dtype.names)}", key=name, file=path)
            tables[name] = _as_records(name, value, dtype)
        _check_contents(path, meta, tables)
        extra = {}
        for name, dtype in (("jobs", JOB_DTYPE), ("segments", SEGMENT_DTYPE)):
            value = data.get(name)
            if value is not None:
                if value.dtype.names is None or set(dtype.names) - set(value.dtype.names):
                    raise FileFormatError(f"got dtype {value.dtype}, expected records with fields "
                                          f"{', '.join(dtype.names)}", key=name, file=path)
                extra[name] = _as_records(name, value, dtype)
        return cls(tables["activations"], tables["messages"], tables["readouts"], meta, **extra)


#: Format name and version written into every saved trace (``format`` entry).
TRACE_FORMAT = "clocksim-trace"
TRACE_VERSION = 1
#: Meta keys that vary between identical runs (wall-clock values): not saved.
VOLATILE_META = ("wall_time",)
_TRACE_SCHEMA = {"format": Entry("U", 0), "meta": Entry("U", 0), "activations": Entry("V", 1),
                 "messages": Entry("V", 1), "readouts": Entry("V", 1), "jobs": Entry("V", 1),
                 "segments": Entry("V", 1)}


def _check_contents(path, meta: dict, tables: dict) -> None:
    """The saved meta and tables must describe a run clocksim could have made."""
    def bad(key, reason):
        raise FileFormatError(reason, key=key, file=path)

    sizes = meta.get("module_sizes")
    if not isinstance(sizes, list) or not sizes or not all(_is_int(k) and k >= 1 for k in sizes):
        bad("meta.module_sizes", f"got {str(sizes)[:60]}, expected a non-empty list of positive integers")
    g = len(sizes)
    for key in ("labels", "periods"):
        if key in meta and (not isinstance(meta[key], list) or len(meta[key]) != g):
            bad(f"meta.{key}", f"got {str(meta[key])[:60]}, expected a list of {g} (one per module)")
    if "labels" in meta and not all(isinstance(v, str) for v in meta["labels"]):
        bad("meta.labels", "expected text labels")
    if "periods" in meta and not all(_is_number(v) and 0 < v < math.inf for v in meta["periods"]):
        bad("meta.periods", "expected positive finite numbers")
    for key, low in (("n_steps", 0), ("batch", 1), ("start", 0)):
        if key in meta and not (_is_int(meta[key]) and meta[key] >= low):
            bad(f"meta.{key}", f"got {str(meta[key])[:40]}, expected an integer >= {low}")
    for key in ("readout_macs", "dense_step_macs"):
        if key in meta and not (_is_int(meta[key]) and meta[key] >= 0):
            bad(f"meta.{key}", f"got {str(meta[key])[:40]}, expected an integer >= 0")
    per_module = meta.get("activation_macs", [0] * g)
    if not (isinstance(per_module, list) and len(per_module) == g and all(_is_int(v) and v >= 0 for v in per_module)):
        bad("meta.activation_macs", f"expected {g} integers >= 0")
    act, msg, ro = tables["activations"], tables["messages"], tables["readouts"]
    for name, table, fields in (("activations", act, ("module",)), ("messages", msg, ("sender", "receiver"))):
        for field in fields:
            col = table[field]
            if col.size and (col.min() < 0 or col.max() >= g):
                bad(f"{name}.{field}", f"holds module {int(col.max() if col.max() >= g else col.min())}, "
                                       f"expected 0 to {g - 1}")
    for name, table, fields in (("activations", act, ("time", "start", "end")), ("messages", msg, ("send", "arrive")),
                                ("readouts", ro, ("time",))):
        for field in fields:
            if not np.isfinite(table[field]).all():
                bad(f"{name}.{field}", "holds NaN or infinite times, expected finite times")
    if act.size and (act["macs"].min() < 0 or (act["end"] < act["start"]).any()):
        bad("activations", "holds negative multiply-adds or an end before its start")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def expand_instant(rows: np.ndarray, macs: np.ndarray) -> np.ndarray:
    """ACTIVATION_DTYPE records of instantaneous activations stored as INSTANT_DTYPE ``rows`` (A,).

    ``macs`` (g,) int64: multiply-adds of one activation of each module, whole batch.
    """
    out = np.empty(rows.shape[0], dtype=ACTIVATION_DTYPE)
    out["module"] = rows["module"]
    out["time"] = out["start"] = out["end"] = rows["time"]
    out["macs"] = macs[rows["module"]]
    out["staleness"] = rows["staleness"]
    out["lag"] = 0.0
    out["core"] = -1
    return out


def expand_timed(rows: np.ndarray, macs: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """ACTIVATION_DTYPE records of activations stored as TIMED_DTYPE ``rows`` (A,).

    ``macs`` (g,) int64: multiply-adds of one activation of each module, whole batch; ``durations``
    (g,) float64: its compute time, so that ``end = start + durations[module]`` (the sum the engine
    forms, so the end is exact).
    """
    out = np.empty(rows.shape[0], dtype=ACTIVATION_DTYPE)
    for name in ("module", "time", "start", "staleness", "lag", "core"):
        out[name] = rows[name]
    out["end"] = rows["start"] + durations[rows["module"]]
    out["macs"] = macs[rows["module"]]
    return out




_json_default = json_default          # kept for the modules that import it from here


def _as_records(name: str, value, dtype: np.dtype) -> np.ndarray:
    if value is None:
        return np.zeros(0, dtype=dtype)
    arr = np.asarray(value)
    if arr.dtype != dtype:
        if arr.dtype.names is None or set(dtype.names) - set(arr.dtype.names):
            raise InvalidValueError(f"got dtype {arr.dtype}, expected fields {dtype.names}", key=name)
        out = np.empty(arr.shape, dtype=dtype)
        for f in dtype.names:
            out[f] = arr[f]
        arr = out
    return arr


def _optional_paths(**paths) -> dict:
    """Each optional path argument checked by name (None stays None)."""
    return {name: None if value is None else as_path(name, value) for name, value in paths.items()}
