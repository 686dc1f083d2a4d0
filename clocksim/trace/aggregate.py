"""Per-module totals of a run, and the summary computed from them. A leaf module (numpy and cost).

An :class:`AggregateTrace` keeps, for each module, how often it ran and what that
cost, instead of one row per activation: memory ``O(g^2)`` however long the run
(plus the readouts' latencies when a latency model ran, since percentiles need them).
It folds records in chunk by chunk (:meth:`AggregateTrace.add`), so an engine can
feed it as it goes and never hold a full trace; ``Trace.aggregate()`` folds a whole
trace at once. ``Trace.summary()`` *is* ``Trace.aggregate().summary()``, so the two
give the same dictionary: integer totals are identical whatever the chunking, and the
floating-point totals (``busy``, ``staleness_mean``) agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from .. import cost
from ..cost.energy import energy_report
from .._validate import as_instance, as_mapping
from ..errors import InvalidTypeError, InvalidValueError

__all__ = ["AggregateTrace", "REQUIRED_META"]

#: Keys of ``Trace.meta`` that summaries need.
REQUIRED_META = ("module_sizes", "labels", "periods", "n_in", "n_out", "n_steps", "block_mask",
                 "readout_macs", "dense_step_macs")


class AggregateTrace:
    """Per-module totals of a run (see the module docstring).

    Parameters
    ----------
    meta : dict
        The run's plain-data description, as in :class:`clocksim.Trace` (needs
        :data:`REQUIRED_META`; ``batch`` and ``latency_model`` default to 1 and False).

    Attributes
    ----------
    activations : ndarray, shape (g,)
        Activations of each module (int64; not multiplied by the batch).
    macs : ndarray, shape (g,)
        Multiply-adds of each module's activations, whole batch (int64).
    busy : ndarray, shape (g,)
        Total compute time (sum of ``end - start``), model time.
    wait_sum, wait_max : ndarray, shape (g,)
        Sum and maximum of the queue wait (``start - time``) of each module's activations.
    lag_max : ndarray, shape (g,)
        Largest lag of each module's reads.
    staleness_sum, staleness_max : ndarray, shape (g,)
        Sum and maximum of the staleness of each module's activations (max is -inf before any).
    links : ndarray, shape (g, g)
        ``links[sender, receiver]``: messages sent on that link (int64).
    readouts, inputs_read, deadline_misses : int
        Readouts (one per input sample), those that reflect an input some module read, and the misses.
    latencies : ndarray, shape (R,)
        Readout latencies, kept only when ``meta["latency_model"]`` is true (else empty).
    staleness_counts : list of (values, counts)
        Per module, the distinct staleness values of its activations (float64, ascending) and how
        often each occurred: exact percentiles in memory that grows with the number of distinct
        ages (a handful on a periodic schedule), not with the run.
    """

    def __init__(self, meta: dict):
        as_mapping("meta", meta, "a dict describing the run (a Trace's meta)")
        missing = [k for k in REQUIRED_META if k not in meta]
        if missing:
            raise InvalidValueError(
                f"missing {', '.join(missing)}; a summary needs the run's description "
                "(pass meta= when reading a single table from CSV/Parquet, or use Trace.load)", key="meta")
        self.meta = dict(meta)
        g = len(meta["module_sizes"])
        self.activations = np.zeros(g, dtype=np.int64)
        self.macs = np.zeros(g, dtype=np.int64)
        self.busy = np.zeros(g)
        self.staleness_sum = np.zeros(g)
        self.staleness_max = np.full(g, -np.inf)
        self.wait_sum = np.zeros(g)
        self.wait_max = np.full(g, -np.inf)
        self.lag_max = np.full(g, -np.inf)
        self.links = np.zeros((g, g), dtype=np.int64)
        self.readouts = 0
        self.inputs_read = 0
        self.deadline_misses = 0
        self._latencies: list[np.ndarray] = []
        self._reactions: list[np.ndarray] = []
        self.staleness_counts = [(np.zeros(0), np.zeros(0, dtype=np.int64)) for _ in range(g)]

    @property
    def g(self) -> int:
        return len(self.meta["module_sizes"])

    @property
    def batch(self) -> int:
        return int(self.meta.get("batch", 1))

    @property
    def latencies(self) -> np.ndarray:
        return np.concatenate(self._latencies) if self._latencies else np.zeros(0)

    def __repr__(self) -> str:
        return (f"AggregateTrace({int(self.activations.sum())} activations of {self.g} modules, "
                f"{int(self.links.sum())} messages, {self.readouts} readouts, engine={self.meta.get('engine')!r})")

    # ------------------------------------------------------------------ folding records in
    def add(self, activations: np.ndarray | None = None, messages: np.ndarray | None = None,
            readouts: np.ndarray | None = None) -> "AggregateTrace":
        """Fold in a chunk of records (structured arrays with the Trace fields); returns ``self``."""
        g = self.g
        _records("activations", activations, ("module", "macs", "time", "start", "end", "staleness", "lag"))
        _records("messages", messages, ("sender", "receiver"))
        _records("readouts", readouts, ("latency", "missed"))
        if activations is not None and activations.shape[0]:
            mod = activations["module"].astype(np.intp)
            if mod.min() < 0 or mod.max() >= g:
                raise InvalidValueError(f"module indices must lie in 0..{g - 1}", key="activations")
            self.activations += np.bincount(mod, minlength=g)
            np.add.at(self.macs, mod, activations["macs"].astype(np.int64))       # exact integer sums
            self.busy += np.bincount(mod, weights=activations["end"] - activations["start"], minlength=g)
            stale = activations["staleness"].astype(np.float64)
            self.staleness_sum += np.bincount(mod, weights=stale, minlength=g)
            np.maximum.at(self.staleness_max, mod, stale)
            wait = activations["start"] - activations["time"]
            self.wait_sum += np.bincount(mod, weights=wait, minlength=g)
            np.maximum.at(self.wait_max, mod, wait)
            np.maximum.at(self.lag_max, mod, activations["lag"].astype(np.float64))
            for i in np.unique(mod).tolist():
                self.staleness_counts[i] = _merge_counts(self.staleness_counts[i],
                                                         np.unique(stale[mod == i], return_counts=True))
        if messages is not None and messages.shape[0]:
            pair = messages["sender"].astype(np.intp) * g + messages["receiver"].astype(np.intp)
            self.links += np.bincount(pair, minlength=g * g).reshape(g, g)
        if readouts is not None and readouts.shape[0]:
            self.readouts += int(readouts.shape[0])
            self.inputs_read += int(np.count_nonzero(np.isfinite(readouts["latency"])))
            self.deadline_misses += int(np.count_nonzero(readouts["missed"]))
            if self.meta.get("latency_model"):
                self._latencies.append(np.array(readouts["latency"], dtype=np.float64))
                if "reaction" in readouts.dtype.names:
                    self._reactions.append(np.array(readouts["reaction"], dtype=np.float64))
        return self

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict:
        """Totals as plain data: the keys of ``summary.json`` (DESIGN section 3), and more.

        ``activations`` counts firings (one per module firing, whatever the batch);
        every operation count (``macs``, ``bias_adds``, ``fn_evals``) and ``bytes_read``
        covers all ``batch`` sequences: ``count_basis`` says ``"per sequence"`` or ``"per batch"``.
        ``macs`` = activations' multiply-adds + one readout (``n_out * n``) per readout row.
        """
        ops = self._operation_counts()
        per_module = self._per_module(ops)
        out = self._totals(ops, per_module)
        meta = self.meta
        if meta.get("device") is not None:                 # memory traffic and energy on the run's device
            self._add_energy(out, per_module, ops)
        if meta.get("latency_model"):
            self._add_latency(out)
        if meta.get("schedule") is not None:               # a scheduled compute model: from its job records
            _add_schedule(out, per_module, meta["schedule"])
        step = meta.get("step")
        out["time_unit"] = "s" if step else meta.get("time_unit", "step")
        if step:
            _to_seconds(out, float(step))
        return out

    def _operation_counts(self) -> dict:
        """Per module, the operations of its activations (whole batch), and the run's readout and dense costs."""
        meta, B, g = self.meta, self.batch, self.g
        dtype = meta.get("dtype", "float64")
        update = cost.update_cost(meta["module_sizes"], np.asarray(meta["block_mask"], dtype=bool), meta["n_in"],
                                  cost.dtype_itemsize(dtype))
        counts = self.activations
        buffer_ops, buffer_floats = cost.buffer_cost(meta.get("input_mode", ["latest"] * g), meta["n_in"],
                                                     int(meta["n_steps"]), counts, B)
        activation_macs = int(self.macs.sum())
        readout_macs = int(meta["readout_macs"]) * B * self.readouts
        return {"dtype": dtype, "bias_adds": counts * update.bias_adds * B, "fn_evals": counts * update.fn_evals * B,
                "bytes_read": counts * update.bytes_read(B), "bytes_written": counts * update.bytes_written(B),
                "buffer_ops": buffer_ops, "buffer_floats": buffer_floats, "activation_macs": activation_macs,
                "readout_macs": readout_macs, "macs": activation_macs + readout_macs,
                "dense": int(meta["dense_step_macs"]) * B * int(meta["n_steps"])}

    def _per_module(self, ops: dict) -> list[dict]:
        """The ``per_module`` entries of the summary."""
        meta, counts = self.meta, self.activations
        mask = np.asarray(meta["block_mask"], dtype=bool)
        per_module = []
        for i in range(self.g):
            n_i = int(counts[i])
            reads = n_i if mask[i].sum() - mask[i, i] else 0     # staleness is of state read from other modules
            per_module.append({
                "module": i, "label": meta["labels"][i], "period": _period(meta["periods"][i]),
                "size": int(meta["module_sizes"][i]), "activations": n_i, "macs": int(self.macs[i]),
                "bias_adds": int(ops["bias_adds"][i]), "fn_evals": int(ops["fn_evals"][i]),
                "bytes_read": int(ops["bytes_read"][i]), "bytes_written": int(ops["bytes_written"][i]),
                "buffer_ops": int(ops["buffer_ops"][i]), "busy": float(self.busy[i]),
                "staleness_mean": float(self.staleness_sum[i] / n_i) if reads else None,
                "staleness_p50": _percentile(*self.staleness_counts[i], 50) if reads else None,
                "staleness_p99": _percentile(*self.staleness_counts[i], 99) if reads else None,
                "staleness_max": float(self.staleness_max[i]) if reads else None,
                "lag_max": float(self.lag_max[i]) if n_i else None,
                "queue_wait_mean": float(self.wait_sum[i] / n_i) if n_i else None,
                "queue_wait_max": float(self.wait_max[i]) if n_i else None,
            })
        return per_module

    def _totals(self, ops: dict, per_module: list[dict]) -> dict:
        """The summary's run-wide keys, ``per_module`` last."""
        meta, B = self.meta, self.batch
        n_steps, macs, dense = int(meta["n_steps"]), ops["macs"], ops["dense"]
        return {
            "engine": meta.get("engine"),
            "schedule_order": meta.get("schedule_order", "step-major"),
            "dtype": ops["dtype"],
            "n_steps": n_steps,
            "batch": B,
            "count_basis": "per batch" if B > 1 else "per sequence",
            "activations": int(self.activations.sum()),
            "macs": macs,
            "activation_macs": ops["activation_macs"],
            "readout_macs": ops["readout_macs"],
            "readouts": self.readouts,
            "inputs": n_steps,
            "inputs_read": self.inputs_read,
            "inputs_dropped": n_steps - self.inputs_read,
            **{key: int(ops[key].sum()) for key in ("bias_adds", "fn_evals", "bytes_read", "bytes_written",
                                                    "buffer_ops")},
            "buffer_floats": ops["buffer_floats"],
            "dense_macs": dense,
            "speedup_vs_dense": (dense / macs) if macs else math.inf,
            "messages": int(self.links.sum()),
            "staleness": self._staleness(),
            "per_module": per_module,
        }

    def _add_energy(self, out: dict, per_module: list[dict], ops: dict) -> None:
        """The ``memory`` and ``energy`` keys, and their per-module shares, on the run's device."""
        meta = self.meta
        report = energy_report(meta["device"], module_sizes=meta["module_sizes"],
                               block_mask=np.asarray(meta["block_mask"], dtype=bool), n_in=meta["n_in"],
                               n_out=meta["n_out"], activations=self.activations, macs=self.macs,
                               bias_adds=ops["bias_adds"], fn_evals=ops["fn_evals"], total_macs=ops["macs"],
                               n_steps=int(meta["n_steps"]), batch=self.batch, dtype=ops["dtype"],
                               step=meta.get("step"))
        out["memory"], out["energy"] = report["memory"], report["energy"]
        for entry, extra in zip(per_module, report["per_module"]):
            entry.update(extra)

    def _add_latency(self, out: dict) -> None:
        """The keys of a run with a timing model: latency and reaction distributions, misses, queue wait."""
        out["latency"] = _distribution(self.latencies)
        reaction = np.concatenate(self._reactions) if self._reactions else self.latencies
        out["reaction"] = _distribution(reaction)
        out["deadline_misses"] = self.deadline_misses
        n = int(self.activations.sum())
        out["queue_wait"] = ({"mean": float(self.wait_sum.sum() / n), "max": float(self.wait_max.max())}
                             if n else {"mean": None, "max": None})

    def _staleness(self) -> dict:
        """Staleness percentiles over the activations of the modules that read another module."""
        mask = np.asarray(self.meta["block_mask"], dtype=bool)
        readers = [i for i in range(self.g) if mask[i].sum() - mask[i, i] > 0]
        values, counts = np.zeros(0), np.zeros(0, dtype=np.int64)
        for i in readers:
            values, counts = _merge_counts((values, counts), self.staleness_counts[i])
        return {"p50": _percentile(values, counts, 50), "p99": _percentile(values, counts, 99),
                "max": float(values[-1]) if values.size else None,
                "over": "activations that read another module", "n": int(counts.sum())}

    def merge(self, other: "AggregateTrace") -> "AggregateTrace":
        """Add another aggregate of the same model (e.g. of the next stretch of a long run); returns ``self``."""
        as_instance("other", other, AggregateTrace)
        if other.g != self.g:
            raise InvalidValueError(f"got an aggregate of {other.g} modules, expected {self.g}", key="other")
        self.activations += other.activations
        self.macs += other.macs
        self.busy += other.busy
        self.staleness_sum += other.staleness_sum
        np.maximum(self.staleness_max, other.staleness_max, out=self.staleness_max)
        self.wait_sum += other.wait_sum
        np.maximum(self.wait_max, other.wait_max, out=self.wait_max)
        np.maximum(self.lag_max, other.lag_max, out=self.lag_max)
        self.links += other.links
        self.readouts += other.readouts
        self.inputs_read += other.inputs_read
        self.deadline_misses += other.deadline_misses
        self.staleness_counts = [_merge_counts(a, b) for a, b in zip(self.staleness_counts, other.staleness_counts)]
        self._latencies.extend(other._latencies)
        self._reactions.extend(other._reactions)
        return self

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (constant in the run length, except kept latencies)."""
        arrays = (self.activations, self.macs, self.busy, self.staleness_sum, self.staleness_max, self.wait_sum,
                  self.wait_max, self.lag_max, self.links)
        return (sum(a.nbytes for a in arrays) + sum(a.nbytes for a in self._latencies)
                + sum(v.nbytes + c.nbytes for v, c in self.staleness_counts))


def _add_schedule(out: dict, per_module: list[dict], schedule: dict) -> None:
    """The keys of a scheduled compute model's run, from its job records (``meta["schedule"]``)."""
    for entry, extra in zip(per_module, schedule["per_module"]):
        entry.update(response=dict(extra["response"]), preemptions=extra["preemptions"],
                     deadline_misses=extra["deadline_misses"])
    out["readout_response"] = dict(schedule["readout"]["response"]) if schedule.get("readout") else \
        {"p50": None, "p99": None, "max": None, "n": 0}
    out["preemptions"] = schedule["preemptions"]
    out["migrations"] = schedule["migrations"]
    out["utilisation"] = {"total": schedule["utilisation"]["total"],
                          "per_core": list(schedule["utilisation"]["per_core"]),
                          "demand": schedule["utilisation"]["demand"]}


def _merge_counts(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Two (distinct values ascending, counts) tallies as one."""
    if not a[0].size:
        return np.asarray(b[0], dtype=np.float64), np.asarray(b[1], dtype=np.int64)
    values, where = np.unique(np.concatenate([a[0], b[0]]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([a[1], b[1]]), minlength=values.size)
    return values, counts.astype(np.int64)


def _distribution(values: np.ndarray) -> dict:
    """``{p50, p99, max, over, n}`` over the finite values (a dropped input has none: counted apart)."""
    values = values[np.isfinite(values)]
    out = ({"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "max": float(values.max())} if values.size else {"p50": None, "p99": None, "max": None})
    out.update(over="inputs read", n=int(values.size))
    return out


#: Summary keys that are times (scaled to seconds when the run's ``step`` is set): top-level dicts of times,
#: and per-module keys.
_TIME_DICTS = ("latency", "reaction", "staleness", "queue_wait", "readout_response")
_TIME_MODULE_KEYS = ("busy", "staleness_mean", "staleness_p50", "staleness_p99", "staleness_max", "lag_max",
                     "queue_wait_mean", "queue_wait_max")


def _to_seconds(out: dict, step: float) -> None:
    """Every time of a summary in seconds (``step`` seconds per input step), in place."""
    def scale(d):
        for k in ("p50", "p99", "max", "mean"):
            if d.get(k) is not None:
                d[k] = d[k] * step

    for key in _TIME_DICTS:
        if isinstance(out.get(key), dict):
            scale(out[key])
    for entry in out["per_module"]:
        for k in _TIME_MODULE_KEYS:
            if entry.get(k) is not None:
                entry[k] = entry[k] * step
        if isinstance(entry.get("response"), dict):
            scale(entry["response"])
        if entry.get("period") is not None:
            entry["period_s"] = entry["period"] * step


def _percentile(values: np.ndarray, counts: np.ndarray, q: float) -> float | None:
    """``np.percentile(expanded, q)`` (linear interpolation) of the sample given as distinct values and counts."""
    n = int(counts.sum())
    if n == 0:
        return None
    pos = q / 100.0 * (n - 1)
    ends = np.cumsum(counts)                                  # element k is values[searchsorted(ends, k, "right")]
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    a = float(values[np.searchsorted(ends, lo, side="right")])
    b = float(values[np.searchsorted(ends, hi, side="right")])
    return a + (b - a) * (pos - lo)


def _period(value):
    """A period as plain JSON data: an int when integral, None when infinite."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() else value


def _records(name: str, value, fields: tuple[str, ...]) -> None:
    """``value`` is None or a 1-D structured array holding ``fields`` (a chunk of one Trace table)."""
    if value is None:
        return
    names = value.dtype.names if isinstance(value, np.ndarray) else None
    if names is None or value.ndim != 1 or not set(fields) <= set(names):
        got = f"a {value.ndim}-D array of dtype {value.dtype}" if isinstance(value, np.ndarray) else \
            f"{value!r} ({type(value).__name__})"
        raise InvalidTypeError(f"got {got}, expected a 1-D structured array with the fields {', '.join(fields)}",
                               key=name)
