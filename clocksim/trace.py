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
``readouts`` — one row per output: time, latency (input arrival to the readout
    that reflects it; 0 in synchronous runs), missed (deadline missed).

Counts cover the whole batch: with ``B`` sequences every multiply-add count is
``B`` times the per-sequence count (``summary()["count_basis"]`` says so).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["Trace", "ACTIVATION_DTYPE", "MESSAGE_DTYPE", "READOUT_DTYPE"]

ACTIVATION_DTYPE = np.dtype([
    ("module", "<i2"), ("time", "<f8"), ("start", "<f8"), ("end", "<f8"),
    ("macs", "<i8"), ("staleness", "<f8"), ("lag", "<f8"), ("core", "<i2"),
])
MESSAGE_DTYPE = np.dtype([("sender", "<i2"), ("receiver", "<i2"), ("send", "<f8"), ("arrive", "<f8")])
READOUT_DTYPE = np.dtype([("time", "<f8"), ("latency", "<f8"), ("missed", "?")])


class Trace:
    """What one run did, activation by activation.

    Parameters
    ----------
    activations : structured ndarray of ACTIVATION_DTYPE, shape (A,)
    messages : structured ndarray of MESSAGE_DTYPE, shape (M,), optional
    readouts : structured ndarray of READOUT_DTYPE, shape (R,), optional
    meta : dict
        Plain data about the run: ``engine``, ``n``, ``n_in``, ``n_out``,
        ``module_sizes``, ``labels``, ``periods``, ``batch``, ``n_steps``,
        ``start``, ``activation_macs`` (per module, per sequence),
        ``readout_macs`` and ``dense_step_macs`` (per sequence), and
        ``latency_model`` (bool).
    """

    def __init__(self, activations: np.ndarray, messages: np.ndarray | None = None,
                 readouts: np.ndarray | None = None, meta: dict | None = None):
        self.activations = _as_records("activations", activations, ACTIVATION_DTYPE)
        self.messages = _as_records("messages", messages, MESSAGE_DTYPE)
        self.readouts = _as_records("readouts", readouts, READOUT_DTYPE)
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return int(self.activations.shape[0])

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

    # ------------------------------------------------------------------ summaries
    def summary(self) -> dict:
        """Totals as plain data (the keys of ``summary.json``)."""
        meta = self.meta
        g = self.g
        act = self.activations
        counts = np.bincount(act["module"], minlength=g)[:g]
        macs_by_module = np.bincount(act["module"], weights=act["macs"], minlength=g)[:g]
        B = self.batch
        readout_macs = int(meta["readout_macs"]) * B * int(self.readouts.shape[0])
        macs = int(act["macs"].sum()) + readout_macs
        dense = int(meta["dense_step_macs"]) * B * int(meta["n_steps"])
        out = {
            "engine": meta.get("engine"),
            "n_steps": int(meta["n_steps"]),
            "batch": B,
            "count_basis": "per batch" if B > 1 else "per sequence",
            "activations": int(counts.sum()),
            "macs": macs,
            "readout_macs": readout_macs,
            "dense_macs": dense,
            "speedup_vs_dense": (dense / macs) if macs else float("inf"),
            "messages": int(self.messages.shape[0]),
            "per_module": [
                {"module": i, "label": meta["labels"][i], "period": meta["periods"][i],
                 "size": int(meta["module_sizes"][i]), "activations": int(counts[i]),
                 "macs": int(round(macs_by_module[i]))}
                for i in range(g)
            ],
        }
        if meta.get("latency_model"):
            lat = self.readouts["latency"]
            lat = lat[np.isfinite(lat)]
            out["latency"] = ({"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
                               "max": float(lat.max())} if lat.size else {"p50": None, "p99": None, "max": None})
            out["deadline_misses"] = int(self.readouts["missed"].sum())
        return out


    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write the trace to ``path`` (``.npz``): exact, no pickle; atomic (temporary file, then rename)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        arrays = {"activations": self.activations, "messages": self.messages, "readouts": self.readouts,
                  "meta": np.array(json.dumps(self.meta, default=_json_default))}
        atomic_write(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load(cls, path) -> "Trace":
        """Read a trace written by :meth:`save` (data only: ``allow_pickle=False``)."""
        with np.load(Path(path), allow_pickle=False) as data:
            missing = {"activations", "messages", "readouts", "meta"} - set(data.files)
            if missing:
                raise ValueError(f"{path}: not a clocksim trace (missing {', '.join(sorted(missing))})")
            return cls(data["activations"], data["messages"], data["readouts"], json.loads(str(data["meta"])))


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary sibling of ``path`` and rename it into place.

    A crash or Ctrl-C leaves either the old file or the new one, never a truncated file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _as_records(name: str, value, dtype: np.dtype) -> np.ndarray:
    if value is None:
        return np.zeros(0, dtype=dtype)
    arr = np.asarray(value)
    if arr.dtype != dtype:
        if arr.dtype.names is None or set(dtype.names) - set(arr.dtype.names):
            raise ValueError(f"{name}: got dtype {arr.dtype}, expected fields {dtype.names}")
        out = np.empty(arr.shape, dtype=dtype)
        for f in dtype.names:
            out[f] = arr[f]
        arr = out
    return arr
