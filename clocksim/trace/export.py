"""Trace files for other tools: CSV, Chrome trace events (Perfetto), pandas, Parquet.

Every writer goes through :func:`clocksim.trace.atomic_write` (temporary sibling,
then rename), and every reader treats the file as data (no pickle, eval or exec).

CSV (:func:`write_csv`, :func:`read_csv`)
    One table per file — ``activations`` (the default: exactly one row per
    activation, as ``clocksim run`` writes ``trace.csv``), ``messages`` or
    ``readouts``. A header row names the fields (the dtype's field names, in
    order), then one row per record, comma-separated, no index column. Integers
    are written in decimal, float64 fields with Python's ``repr`` (the shortest
    text that reads back to the same float), float32 fields (``staleness``,
    ``lag``) with numpy's shortest text that reads back to the same float32,
    booleans as 0/1, non-finite values as ``nan``/``inf``. Reading a file back
    gives the same array bit for bit. A CSV holds no ``meta``: pass ``meta=`` (a
    dict, or the path of a JSON file) to :func:`read_csv` to get a trace that can
    be summarised; :meth:`Trace.save` keeps everything in one file.
Chrome trace event format (:func:`write_chrome`)
    A JSON object ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``
    that chrome://tracing and the Perfetto UI (ui.perfetto.dev) open. One process
    (pid 1) is the run, named by a ``process_name`` metadata event; module ``i``
    is thread ``tid = i + 1``, named by a ``thread_name`` event with its label
    (``"M1 T=1"``) and ordered fastest first by ``thread_sort_index``. Each
    activation is one complete event (``"ph": "X"``) on its module's thread, with
    ``ts`` = compute start and ``dur`` = compute time in microseconds of model
    time scaled by ``us_per_step`` (default 1 step = 1000 us, so one step reads as
    1 ms in the UI), and ``args`` = firing time (steps), macs, staleness, lag, core.
    **Zero-duration activations** (every activation of a run without a compute
    model, e.g. any synchronous run) would be invisible, so they are drawn
    ``zero_width`` steps wide (default half a step) starting at their start time,
    shortened when the module's next activation starts sooner (a track never holds
    overlapping slices), and marked ``"zero_duration": true`` in ``args``. A
    counter (``"ph": "C"``) named ``"multiply-adds"`` gives the multiply-adds of each
    step (activations binned by the step of their firing time plus the readout,
    whole batch; it drops to 0 on idle steps), so its values sum to
    ``summary()["macs"]``. When a latency model ran, a counter ``"readout latency"``
    (steps) has one value per readout that reflects some input, and each missed deadline is an instant event
    (``"ph": "i"``) on a ``"readouts"`` thread (``tid = g + 1``).
    **Scheduled runs** (a trace with job records, :mod:`clocksim.sched.records`) draw every stretch of a
    job on a core instead of whole activations: on its module's thread (the readout jobs on thread
    ``g + 2``) and on its core's thread in a second process (pid 2, ``"cores"``, thread ``c + 1`` is
    core c), with ``args`` = job, release, deadline, sample, overhead charged and core; where a stretch
    ends before its job finishes, an instant ``"preempted"`` on the core's thread. With ``step`` set the
    default ``us_per_step`` is the real step, so ``ts`` and ``dur`` are real microseconds, and the jobs'
    times are in the same microseconds as the slices: ``release_us``, ``deadline_us``, ``overhead_us``
    (steps, as ``release``, ``deadline``, ``overhead``, without ``step``).
pandas (:func:`to_pandas`, optional extra ``pandas``)
    One table as a DataFrame with the dtype's columns and dtypes; ``df.attrs["meta"]``
    holds the trace's meta.
Parquet (:func:`write_parquet`, :func:`read_parquet`, optional extra ``parquet``)
    One table per file, columns and dtypes as in the dtype, zstd-compressed; the
    file's key-value metadata holds the table name (``clocksim.table``) and the
    trace's meta as JSON (``clocksim.meta``), so an activations file alone reads
    back into a trace that can be summarised. Round trips are exact.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._validate import as_float, as_path
from ..errors import FileFormatError, InvalidValueError, UnsupportedError
from .core import TABLES, Trace, _json_default, atomic_write

__all__ = ["write_csv", "read_csv", "read_csv_table", "write_chrome", "to_pandas", "write_parquet",
           "read_parquet", "read_parquet_table"]

_CHUNK = 100_000          # rows formatted per write: bounds the memory of the text


def _table(trace: Trace, table: str) -> np.ndarray:
    if table not in TABLES:
        raise InvalidValueError(f"got {table!r}, expected one of {', '.join(map(repr, TABLES))}", key="table")
    return getattr(trace, table)


def _column(col: np.ndarray, *, json_text: bool) -> tuple[str, list]:
    """A %-format and the Python values of one column, formatted as documented above.

    In JSON non-finite floats become ``null`` (JSON has no NaN), and float32 values are shown
    with 7 significant digits (``args`` are for reading, the CSV and binary files are exact).
    """
    kind = col.dtype.kind
    if kind == "b":
        return "%d", col.astype(np.int8).tolist()
    if kind in "iu":
        return "%d", col.tolist()
    if col.dtype.itemsize != 8 and not json_text:
        return "%s", col.astype(str).tolist()          # numpy's shortest text that reads back the same float32
    if json_text and col.size and np.array_equal(col, np.trunc(col)) and np.abs(col).max() < 2.0**53:
        return "%d", col.astype(np.int64).tolist()      # integral values (synchronous times) print faster as ints
    spec = "%r" if col.dtype.itemsize == 8 else "%.7g"
    values = col.astype(np.float64).tolist()
    if json_text and not np.isfinite(col).all():
        return "%s", [spec % v if math.isfinite(v) else "null" for v in values]
    return spec, values


# ------------------------------------------------------------------ CSV
def write_csv(trace: Trace, path, table: str = "activations") -> Path:
    """Write one table of ``trace`` to ``path`` as CSV (format in the module docstring)."""
    rec = _table(trace, table)
    path = Path(path)
    names = rec.dtype.names

    def write(f):
        f.write((",".join(names) + "\n").encode())
        for lo in range(0, rec.shape[0], _CHUNK):
            part = rec[lo:lo + _CHUNK]
            cols = [_column(part[name], json_text=False) for name in names]
            row = ",".join(spec for spec, _ in cols)
            text = "\n".join(map(row.__mod__, zip(*(values for _, values in cols))))
            f.write((text + "\n").encode())

    atomic_write(path, write)
    return path


def read_csv_table(path) -> tuple[str, np.ndarray]:
    """Read a CSV written by :func:`write_csv`: the table's name and its records."""
    path = Path(path)
    try:
        return _read_csv_table(path)
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}), expected a CSV written by "
                              "clocksim", file=path) from None
    except FileNotFoundError:
        raise FileFormatError("no such CSV file", file=path) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read the CSV file ({exc.strerror or exc})", file=path) from None


def _read_csv_table(path: Path) -> tuple[str, np.ndarray]:
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip()
        names = tuple(header.split(","))
        table = _table_named(path, names)
        dtype = TABLES[table]
        in_file = np.dtype([(name, dtype[name]) for name in names])
        body = f.tell()
        empty = not f.read(1)
        f.seek(body)
        try:
            rec = np.zeros(0, in_file) if empty else np.loadtxt(f, delimiter=",", dtype=in_file, ndmin=1)
        except ValueError as exc:
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise FileFormatError(f"not a clocksim {table} CSV ({reason})", file=path) from None
    return table, _reorder(rec, dtype)


def read_csv(path, *, messages=None, readouts=None, meta=None) -> Trace:
    """A :class:`Trace` from an activations CSV, with optional ``messages`` / ``readouts`` CSVs
    and ``meta`` (a dict or the path of a JSON file). Tables not given are empty."""
    tables = {"activations": path, "messages": messages, "readouts": readouts}
    records = {}
    for table, p in tables.items():
        if p is None:
            continue
        found, rec = read_csv_table(p)
        if found != table:
            raise InvalidValueError(f"{p} holds a {found} table, expected {table}", key=table)
        records[table] = rec
    return Trace(meta=_read_meta(meta), **records)


def _table_named(path, names: tuple) -> str:
    for table, dtype in TABLES.items():
        if set(names) == set(dtype.names) and len(names) == len(dtype.names):
            return table
    expected = "; ".join(f"{t}: {','.join(d.names)}" for t, d in TABLES.items())
    raise InvalidValueError(f"header {','.join(names)!r} is not a clocksim table, expected one of {expected}",
                            file=path)


def _reorder(rec: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = np.empty(rec.shape[0], dtype=dtype)
    for name in dtype.names:
        out[name] = rec[name]
    return out


def _read_meta(meta) -> dict:
    if meta is None:
        return {}
    if isinstance(meta, Mapping):
        return dict(meta)
    meta = as_path("meta", meta)          # never open(3): an int would be read (and closed) as a file descriptor
    try:
        with open(meta, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FileFormatError(f"not a readable JSON file ({str(exc).splitlines()[0][:120]})", key="meta",
                              file=meta) from None
    if not isinstance(data, dict):
        raise InvalidValueError(f"{meta} holds a JSON {type(data).__name__}, expected an object", key="meta")
    return data


# ------------------------------------------------------------------ Chrome trace events
def write_chrome(trace: Trace, path, *, us_per_step: float | None = None, zero_width: float = 0.5) -> Path:
    """Write ``trace`` in the Chrome trace event format (layout and conventions in the module docstring).

    Parameters
    ----------
    trace : Trace
    path : path-like
        Output file (``.json``).
    us_per_step : float, optional
        Microseconds of trace time per step (unit) of model time. Default: the run's real step
        (``meta["step"]`` seconds, so ``ts`` are real microseconds) when set, else 1000.
    zero_width : float
        Width, in steps, at which zero-duration activations are drawn (0 draws them as zero-width slices).
    """
    if us_per_step is None:
        us_per_step = float(trace.meta["step"]) * 1e6 if trace.meta.get("step") else 1000.0
    scale = as_float("us_per_step", us_per_step, minimum=0.0, strict_minimum=True)
    zero_width = as_float("zero_width", zero_width, minimum=0.0)
    meta, g = trace.meta, trace.g
    labels = [str(x) for x in meta.get("labels", [f"M{i + 1}" for i in range(g)])]
    path = Path(path)

    def write(f):
        f.write(b'{"traceEvents":[\n')
        sep = b""
        for text in _chrome_chunks(trace, labels, scale, zero_width):
            if text:
                f.write(sep + text.encode())
                sep = b",\n"
        other = {"clocksim": True, "engine": meta.get("engine"), "us_per_step": scale, "zero_width": zero_width,
                 "real_time": bool(meta.get("step")),
                 "n_steps": meta.get("n_steps"), "batch": trace.batch, "labels": labels}
        f.write(("\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":"
                 + json.dumps(other, default=_json_default) + "}\n").encode())

    atomic_write(path, write)
    return path


def _chrome_chunks(trace: Trace, labels: list[str], scale: float, zero_width: float):
    """Yield the events as JSON text, a chunk at a time (no trailing comma)."""
    meta, g = trace.meta, trace.g
    name = f"clocksim {meta.get('engine', '')} run: {g} modules, {meta.get('n_steps', '?')} steps, batch {trace.batch}"
    head = [{"ph": "M", "pid": 1, "tid": 0, "name": "process_name", "args": {"name": name}}]
    for i, label in enumerate(labels):
        head.append({"ph": "M", "pid": 1, "tid": i + 1, "name": "thread_name", "args": {"name": label}})
        head.append({"ph": "M", "pid": 1, "tid": i + 1, "name": "thread_sort_index", "args": {"sort_index": i}})
    misses = trace.readouts[trace.readouts["missed"]] if trace.readouts.shape[0] else trace.readouts
    if misses.shape[0]:
        head.append({"ph": "M", "pid": 1, "tid": g + 1, "name": "thread_name", "args": {"name": "readouts"}})
        head.append({"ph": "M", "pid": 1, "tid": g + 1, "name": "thread_sort_index", "args": {"sort_index": g}})
    yield ",\n".join(json.dumps(e) for e in head)

    steps, macs = trace.step_macs()                                   # (S,), (S,)
    if steps.size:
        gap = np.append(steps[1:] != steps[:-1] + 1, True)           # steps (ascending) followed by an idle one
        idle = steps[gap] + 1                                          # where the counter drops back to 0
        c_steps = np.concatenate([steps, idle])
        c_vals = np.concatenate([macs, np.zeros(idle.size, dtype=np.int64)])
        order = np.argsort(c_steps, kind="stable")
        tpl = '{"ph":"C","pid":1,"name":"multiply-adds","ts":%r,"args":{"macs":%d}}'
        yield ",\n".join(map(tpl.__mod__, zip((c_steps[order] * scale).tolist(), c_vals[order].tolist())))
    known = trace.readouts[np.isfinite(trace.readouts["latency"])]    # NaN: no input reflected yet
    if meta.get("latency_model") and known.shape[0]:
        tpl = '{"ph":"C","pid":1,"name":"readout latency","ts":%r,"args":{"steps":%r}}'
        yield ",\n".join(map(tpl.__mod__, zip((known["time"] * scale).tolist(), known["latency"].tolist())))
    if misses.shape[0]:
        ts_spec, ts = _column(misses["time"] * scale, json_text=True)
        lat_spec, lat = _column(misses["latency"], json_text=True)
        tpl = ('{"ph":"i","s":"t","pid":1,"tid":%d,"name":"deadline miss","ts":%s,"args":{"latency":%s}}'  # noqa: UP031
               % (g + 1, ts_spec, lat_spec))
        yield ",\n".join(map(tpl.__mod__, zip(ts, lat)))

    segments = getattr(trace, "segments", None)
    if segments is not None:
        yield from _chrome_jobs(trace, labels, scale)
        return
    act = trace.activations
    prefix = [f'{{"ph":"X","pid":1,"tid":{i + 1},"name":{json.dumps(label)},"cat":"activation","ts":'
              for i, label in enumerate(labels)]
    ts, dur, zero = _chrome_spans(act, scale, zero_width)
    for lo in range(0, act.shape[0], _CHUNK):
        part = act[lo:lo + _CHUNK]
        specs, cols = zip(*(_column(part[f], json_text=True) for f in ("time", "macs", "staleness", "lag", "core")))
        ts_spec, ts_vals = _column(ts[lo:lo + _CHUNK], json_text=True)
        dur_spec, dur_vals = _column(dur[lo:lo + _CHUNK], json_text=True)
        tpl = _x_template(ts_spec, dur_spec, specs)
        flags = np.where(zero[lo:lo + _CHUNK], ',"zero_duration":true', "").tolist()
        heads = [prefix[m] for m in part["module"].tolist()]
        yield ",\n".join(map(tpl.__mod__, zip(heads, ts_vals, dur_vals, *cols, flags)))


def _chrome_jobs(trace: Trace, labels: list[str], scale: float):
    """A scheduled run: every stretch of a job on a core as a slice on its module's track (pid 1) and on its
    core's track (pid 2, one per core), and an instant "preempted" where a stretch ends before its job does."""
    jobs, segs, g = trace.jobs, trace.segments, trace.g
    names = labels + ["readout"]
    cores = int(segs["core"].max()) + 1 if segs.size else 0
    head = [{"ph": "M", "pid": 2, "tid": 0, "name": "process_name", "args": {"name": "cores"}},
            {"ph": "M", "pid": 1, "tid": g + 2, "name": "thread_name", "args": {"name": "readout jobs"}}]
    for c in range(cores):
        head.append({"ph": "M", "pid": 2, "tid": c + 1, "name": "thread_name", "args": {"name": f"core {c}"}})
        head.append({"ph": "M", "pid": 2, "tid": c + 1, "name": "thread_sort_index", "args": {"sort_index": c}})
    yield ",\n".join(json.dumps(e) for e in head)
    finish = jobs["finish"][segs["job"]] if segs.size else np.zeros(0)
    real = bool(trace.meta.get("step"))
    events = []
    for k in range(segs.shape[0]):
        seg = segs[k]
        i, job = int(seg["module"]), jobs[int(seg["job"])]
        ts, dur = float(seg["start"]) * scale, float(seg["end"] - seg["start"]) * scale
        args = _job_args(seg, job, scale if real else None)
        tid = i + 1 if i < g else g + 2
        events.append({"ph": "X", "pid": 1, "tid": tid, "name": names[i], "cat": "job", "ts": ts, "dur": dur,
                       "args": args})
        events.append({"ph": "X", "pid": 2, "tid": int(seg["core"]) + 1, "name": names[i], "cat": "job", "ts": ts,
                       "dur": dur, "args": args})
        if seg["end"] < finish[k]:
            events.append({"ph": "i", "s": "t", "pid": 2, "tid": int(seg["core"]) + 1, "name": "preempted",
                           "ts": float(seg["end"]) * scale, "args": {"module": names[i], "job": int(seg["job"])}})
        if len(events) >= _CHUNK:
            yield ",\n".join(json.dumps(e) for e in events)
            events = []
    if events:
        yield ",\n".join(json.dumps(e) for e in events)


def _job_args(seg, job, us_per_step: float | None) -> dict:
    """The ``args`` of a job's stretch: its times in steps (``release``, ``deadline``, ``overhead``) or, with
    ``us_per_step`` (a run with ``step``), in the microseconds of the slices (``release_us``, ...; a readout
    job's deadline, which it has none, stays infinite)."""
    unit, scale = ("", 1.0) if us_per_step is None else ("_us", us_per_step)
    return {"job": int(seg["job"]), f"release{unit}": float(job["release"]) * scale,
            f"deadline{unit}": float(job["deadline"]) * scale, "sample": int(job["sample"]),
            f"overhead{unit}": float(seg["overhead"]) * scale, "core": int(seg["core"])}


def _x_template(ts_spec: str, dur_spec: str, specs) -> str:
    t, m, s, lag, c = specs
    return ("%s" + ts_spec + ',"dur":' + dur_spec + ',"args":{"time":' + t + ',"macs":' + m + ',"staleness":' + s
            + ',"lag":' + lag + ',"core":' + c + "%s}}")


def _chrome_spans(act: np.ndarray, scale: float, zero_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ts`` and ``dur`` (microseconds) of each activation, and which are drawn by the zero-width convention."""
    ts = act["start"] * scale
    dur = act["end"] * scale - ts
    zero = act["end"] <= act["start"]
    if zero.any():
        # the next activation's start on the same track: sort by (module, start), look one ahead
        order = np.lexsort((act["start"], act["module"]))
        nxt = np.full(act.shape[0], np.inf)
        same = act["module"][order][1:] == act["module"][order][:-1]
        nxt_sorted = np.where(same, act["start"][order][1:], np.inf)
        nxt[order[:-1]] = nxt_sorted
        gap = nxt * scale - ts
        dur = np.where(zero, np.minimum(zero_width * scale, gap), dur)
    return ts, dur, zero


# ------------------------------------------------------------------ pandas
def _require(module: str, extra: str, what: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise UnsupportedError(
            f"{what} needs {module.split('.')[0]}, an optional dependency: pip install 'clocksim[{extra}]'") from exc


def to_pandas(trace: Trace, table: str = "activations"):
    """One table as a ``pandas.DataFrame``: the dtype's columns and dtypes, ``attrs["meta"]`` = the meta."""
    pd = _require("pandas", "pandas", "Trace.to_pandas")
    rec = _table(trace, table)
    df = pd.DataFrame({name: np.ascontiguousarray(rec[name]) for name in rec.dtype.names})
    df.attrs["meta"] = dict(trace.meta)
    return df


# ------------------------------------------------------------------ Parquet
def write_parquet(trace: Trace, path, table: str = "activations") -> Path:
    """Write one table of ``trace`` to ``path`` as Parquet (zstd), with the meta in the file metadata."""
    pa = _require("pyarrow", "parquet", "Trace.to_parquet")
    pq = _require("pyarrow.parquet", "parquet", "Trace.to_parquet")
    rec = _table(trace, table)
    names = rec.dtype.names
    tbl = pa.Table.from_arrays([pa.array(np.ascontiguousarray(rec[n])) for n in names], names=list(names))
    tbl = tbl.replace_schema_metadata({b"clocksim.table": table.encode(),
                                       b"clocksim.meta": json.dumps(trace.meta, default=_json_default).encode()})
    path = Path(path)
    atomic_write(path, lambda f: pq.write_table(tbl, f, compression="zstd"))
    return path


def read_parquet_table(path) -> tuple[str, np.ndarray, dict]:
    """Read a Parquet file written by :func:`write_parquet`: table name, records and meta."""
    pq = _require("pyarrow.parquet", "parquet", "Trace.read_parquet")
    path = Path(path)
    tbl = pq.read_table(path)
    md = tbl.schema.metadata or {}
    table = md.get(b"clocksim.table", b"").decode()
    if table not in TABLES:
        raise InvalidValueError("not a clocksim trace table (no clocksim.table metadata)", file=path)
    dtype = TABLES[table]
    if set(tbl.column_names) != set(dtype.names):
        raise InvalidValueError(f"columns {tbl.column_names}, expected {list(dtype.names)}", file=path)
    rec = np.empty(tbl.num_rows, dtype=dtype)
    for name in dtype.names:
        col = tbl.column(name)
        if col.null_count:
            raise InvalidValueError(f"column {name!r} has missing values", file=path)
        rec[name] = col.to_numpy()
    meta = json.loads(md[b"clocksim.meta"]) if b"clocksim.meta" in md else {}
    return table, rec, meta


def read_parquet(path, *, messages=None, readouts=None, meta=None) -> Trace:
    """A :class:`Trace` from an activations Parquet file (its meta unless ``meta=`` is given), with
    optional ``messages`` / ``readouts`` files. Tables not given are empty."""
    records, found_meta = {}, None
    for table, p in {"activations": path, "messages": messages, "readouts": readouts}.items():
        if p is None:
            continue
        found, rec, file_meta = read_parquet_table(p)
        if found != table:
            raise InvalidValueError(f"{p} holds a {found} table, expected {table}", key=table)
        records[table] = rec
        found_meta = file_meta if found_meta is None else found_meta
    return Trace(meta=_read_meta(meta) if meta is not None else (found_meta or {}), **records)
