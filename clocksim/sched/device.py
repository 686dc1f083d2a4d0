"""Device profiles: what a chip does per second and per picojoule (DESIGN section 11).

A :class:`Device` is read from a TOML file whose keys are the contract::

    [device]
    name = "cortex-m7-like"; source = "..."; cores = 1; static_power_w = 0.002; dispatch_s = 2e-7
    [device.float32]
    macs_per_s = 4e8; mac_pj = 3.7; add_pj = 0.9; activation_pj = 20.0; source = "Horowitz 2014 (45 nm)"
    [[device.memory]]
    name = "sram"; capacity_bytes = 524288; bytes_per_s = 1.6e9; read_pj_per_byte = 2.5; write_pj_per_byte = 2.5
    source = "..."

Every table carries a ``source`` that covers its numbers; a number with a source of its own says so in
``<key>_source`` (``macs_per_s_source = "estimate"``). A number no cited source gives is marked
``"estimate"``. :meth:`Device.sources` lists the source of every number.

Per dtype (``float64``, ``float32``, ``float16``, ``int32``, ``int8``: :data:`clocksim.cost.DTYPE_ITEMSIZE`)
a profile gives multiply-adds per second of one core and picojoules per multiply-add, bias add and
activation evaluation; memory levels are listed from the smallest up, each with its capacity,
bandwidth and picojoules per byte read and written.

Where the model lives (:meth:`Device.placement`; the rule of :func:`clocksim.cost.energy.place`): the
weights in the smallest level that holds them whole, the states, input and message inboxes in the
smallest level that holds them in what the weights left free.

How long an activation takes (:meth:`Device.execution_times`, a roofline): ``dispatch_s + max(macs /
macs_per_s, sum over levels of bytes / bytes_per_s)``, with the multiply-adds and the bytes of
:func:`clocksim.cost.update_cost` (the one definition) in the run's dtype.

Bundled profiles (``clocksim/sched/devices/*.toml``): :func:`bundled_devices`. ``clocksim calibrate``
writes a ``host`` profile of this machine.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .._validate import did_you_mean, read_toml
from ..cost.counts import DTYPE_ITEMSIZE, dtype_itemsize, dtype_name, footprint, readout_bytes, readout_macs, update_cost
from ..cost.energy import place
from ..errors import ClocksimError, FileFormatError, InvalidTypeError, InvalidValueError

__all__ = ["Device", "DtypeCosts", "MemoryLevel", "bundled_devices", "as_device"]

_DEVICE_KEYS = {"name": str, "source": str, "cores": int, "static_power_w": float, "dispatch_s": float}
_DTYPE_KEYS = {"macs_per_s": float, "mac_pj": float, "add_pj": float, "activation_pj": float, "source": str}
_LEVEL_KEYS = {"name": str, "capacity_bytes": int, "bytes_per_s": float, "read_pj_per_byte": float,
               "write_pj_per_byte": float, "source": str}
#: Rates that must be > 0 (the others, energies and times, >= 0).
_POSITIVE = {"macs_per_s", "bytes_per_s", "cores", "capacity_bytes"}
_OPTIONAL = {"description"}


@dataclass(frozen=True)
class DtypeCosts:
    """What one core does with one dtype: ``macs_per_s``; ``mac_pj``, ``add_pj``, ``activation_pj`` (pJ each)."""

    macs_per_s: float
    mac_pj: float
    add_pj: float
    activation_pj: float
    source: str


@dataclass(frozen=True)
class MemoryLevel:
    """One memory level: ``capacity_bytes``, ``bytes_per_s``, ``read_pj_per_byte``, ``write_pj_per_byte``."""

    name: str
    capacity_bytes: int
    bytes_per_s: float
    read_pj_per_byte: float
    write_pj_per_byte: float
    source: str


@dataclass(frozen=True)
class Device:
    """A device profile (see the module docstring); build it with :meth:`load` or :meth:`from_dict`.

    Attributes
    ----------
    name, source : str
    cores : int
    static_power_w : float
        Power drawn whatever runs (W).
    dispatch_s : float
        Fixed time to start one activation (s).
    dtypes : dict of str -> DtypeCosts
    memory : tuple of MemoryLevel, smallest first
    file : str or None
        The file it was read from (a bundled profile's path inside the package).
    """

    name: str
    source: str
    cores: int
    static_power_w: float
    dispatch_s: float
    dtypes: dict = field(compare=True)
    memory: tuple
    file: str | None = None
    _raw: dict | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        for key in ("name", "source"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise InvalidTypeError(key=key, value=value, expected="a non-empty string")
        if isinstance(self.cores, bool) or not isinstance(self.cores, numbers.Integral) or self.cores < 1:
            raise InvalidValueError(key="cores", value=self.cores, expected="an integer >= 1")
        for key in ("static_power_w", "dispatch_s"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise InvalidValueError(key=key, value=value, expected="a finite number >= 0")
        if (not isinstance(self.dtypes, dict) or not self.dtypes
                or not all(k in DTYPE_ITEMSIZE and isinstance(v, DtypeCosts) for k, v in self.dtypes.items())):
            raise InvalidTypeError(key="dtypes", value=self.dtypes,
                                   expected=f"a non-empty dict of dtype name ({', '.join(DTYPE_ITEMSIZE)}) "
                                            "-> DtypeCosts")
        if (not isinstance(self.memory, (tuple, list)) or not self.memory
                or not all(isinstance(m, MemoryLevel) for m in self.memory)):
            raise InvalidTypeError(key="memory", value=self.memory,
                                   expected="a non-empty tuple of MemoryLevel, smallest first")
        object.__setattr__(self, "memory", tuple(self.memory))
        if self.file is not None and not isinstance(self.file, str):
            raise InvalidTypeError(key="file", value=self.file, expected="a string (the file's path) or None")

    # ------------------------------------------------------------------ reading
    @classmethod
    def load(cls, source) -> "Device":
        """A bundled profile by name (:func:`bundled_devices`) or a TOML file by path.

        A string ending in ``.toml`` or naming an existing file is a path; any other string a bundled name.
        """
        if isinstance(source, Device):
            return source
        if not isinstance(source, (str, Path)):
            raise InvalidTypeError(key="device", value=source,
                                   expected="a bundled device name, a path to a device TOML file or a Device")
        path = Path(source)
        if isinstance(source, str) and not source.endswith(".toml") and not path.is_file():
            names = bundled_devices()
            if source not in names:
                hint = did_you_mean(source, names)
                raise InvalidValueError(f"got {source!r}, expected a bundled device ({', '.join(names)}) "
                                        f"or a path to a .toml file{hint}", key="device")
            path = _bundled_dir() / f"{source}.toml"
        data, _ = read_toml(path, FileFormatError, "device")
        return cls.from_dict(data, file=path)

    @classmethod
    def from_dict(cls, data: dict, file=None) -> "Device":
        """Validate the parsed file form ``{"device": {...}}`` (or its ``[device]`` table alone)."""
        def fail(key, reason):
            raise InvalidValueError(reason, key=key, file=file)

        if not isinstance(data, dict):
            raise InvalidTypeError(key="device", value=data, expected="a table", file=file)
        if set(data) == {"device"}:
            data = data["device"]
        if not isinstance(data, dict):
            fail("device", "expected a [device] table")
        raw = _plain(data)
        top = _table(raw, "device", _DEVICE_KEYS, extra=set(DTYPE_ITEMSIZE) | {"memory"} | _OPTIONAL, file=file)
        dtypes = {}
        for name in DTYPE_ITEMSIZE:
            if name in raw:
                if not isinstance(raw[name], dict):
                    fail(f"device.{name}", f"got {raw[name]!r}, expected a table [device.{name}]")
                t = _table(raw[name], f"device.{name}", _DTYPE_KEYS, file=file)
                dtypes[name] = DtypeCosts(**t)
        if not dtypes:
            fail("device", f"lists no dtype, expected at least one table [device.<dtype>] of "
                           f"{', '.join(DTYPE_ITEMSIZE)}")
        levels = raw.get("memory")
        if not isinstance(levels, list) or not levels or not all(isinstance(lv, dict) for lv in levels):
            fail("device.memory", f"got {levels!r}, expected one or more [[device.memory]] tables, smallest first")
        memory = []
        smallest = max(DTYPE_ITEMSIZE[d] for d in dtypes)
        for i, lv in enumerate(levels):
            t = _table(lv, f"device.memory[{i}]", _LEVEL_KEYS, file=file)
            if t["capacity_bytes"] < smallest:
                fail(f"device.memory[{i}].capacity_bytes",
                     f"got {t['capacity_bytes']}, expected at least {smallest} bytes: nothing fits in a level "
                     "smaller than one value")
            if memory and t["capacity_bytes"] <= memory[-1].capacity_bytes:
                fail(f"device.memory[{i}].capacity_bytes",
                     f"got {t['capacity_bytes']}, expected more than the level before ({memory[-1].name!r}, "
                     f"{memory[-1].capacity_bytes}): list the levels from the smallest up")
            if any(m.name == t["name"] for m in memory):
                fail(f"device.memory[{i}].name", f"got {t['name']!r} twice, expected distinct level names")
            memory.append(MemoryLevel(**t))
        device = cls(name=top["name"], source=top["source"], cores=top["cores"],
                     static_power_w=top["static_power_w"], dispatch_s=top["dispatch_s"], dtypes=dtypes,
                     memory=tuple(memory), file=None if file is None else str(file))
        object.__setattr__(device, "_raw", raw)         # the file form, kept for to_dict (not a parameter)
        return device

    # ------------------------------------------------------------------ plain data
    def to_dict(self) -> dict:
        """The ``[device]`` table as plain data (the file form; what a trace's metadata stores)."""
        if self._raw is not None:
            return json.loads(json.dumps(self._raw))
        out = {"name": self.name, "source": self.source, "cores": self.cores,
               "static_power_w": self.static_power_w, "dispatch_s": self.dispatch_s}
        for name, c in self.dtypes.items():
            out[name] = {"macs_per_s": c.macs_per_s, "mac_pj": c.mac_pj, "add_pj": c.add_pj,
                         "activation_pj": c.activation_pj, "source": c.source}
        out["memory"] = [{"name": m.name, "capacity_bytes": m.capacity_bytes, "bytes_per_s": m.bytes_per_s,
                          "read_pj_per_byte": m.read_pj_per_byte, "write_pj_per_byte": m.write_pj_per_byte,
                          "source": m.source} for m in self.memory]
        return out

    def to_toml(self) -> str:
        """The profile as a device TOML file that :meth:`load` reads back equal."""
        d = self.to_dict()
        lines = ["[device]"]
        tables = []
        for key, value in d.items():
            if isinstance(value, dict):
                tables.append((f"[device.{key}]", value))
            elif key != "memory":
                lines.append(f"{key} = {_toml_value(value)}")
        for head, table in tables:
            lines += ["", head] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        for level in d["memory"]:
            lines += ["", "[[device.memory]]"] + [f"{k} = {_toml_value(v)}" for k, v in level.items()]
        return "\n".join(lines) + "\n"

    def sources(self) -> dict[str, str]:
        """The source of every number: ``{"device.float32.macs_per_s": "...", ...}``."""
        raw = self.to_dict()
        out = {}

        def walk(table, prefix, keys):
            for k in keys:
                if k != "source" and k != "name" and k in table:
                    out[f"{prefix}.{k}"] = table.get(f"{k}_source", table["source"])

        walk(raw, "device", _DEVICE_KEYS)
        for name in self.dtypes:
            walk(raw[name], f"device.{name}", _DTYPE_KEYS)
        for i, lv in enumerate(raw["memory"]):
            walk(lv, f"device.memory[{i}]", _LEVEL_KEYS)
        return out

    # ------------------------------------------------------------------ what a model costs here
    def costs(self, dtype: str = "float64") -> DtypeCosts:
        """The rates and energies of ``dtype`` (a name or a numpy dtype); a dtype the profile does not list is
        refused by name."""
        dtype = dtype_name(dtype)
        if dtype not in self.dtypes:
            raise InvalidValueError(f"device {self.name!r} lists no {dtype!r} table (it lists "
                                    f"{', '.join(self.dtypes)}); add [device.{dtype}] or run in one of those",
                                    key=f"device.{dtype}", file=self.file)
        return self.dtypes[dtype]

    def placement(self, model, dtype: str = "float64", batch: int = 1) -> dict[str, str]:
        """``{"weights": level, "states": level}`` of ``model`` (the rule in the module docstring)."""
        dtype = dtype_name(dtype)
        self.costs(dtype)
        need = footprint(model.module_sizes, model.block_mask, model.n_in, model.n_out, dtype_itemsize(dtype), batch)
        try:
            return place([{"name": m.name, "capacity_bytes": m.capacity_bytes} for m in self.memory], need)
        except ClocksimError as exc:
            raise exc.located(file=self.file) from None

    def execution_times(self, model, dtype: str = "float64", batch: int = 1) -> np.ndarray:
        """Seconds one activation of each module takes on one core: float64 ``(g,)``.

        ``dispatch_s + max(macs / macs_per_s, bytes_w / bw_w + bytes_s / bw_s)``: ``macs`` and the bytes of
        one activation over ``batch`` sequences (:meth:`clocksim.cost.UpdateCost.traffic`), the weights'
        bytes at the bandwidth of their level, the states', input's and messages' at theirs.
        """
        dtype = dtype_name(dtype)
        c = self.costs(dtype)
        where = self.placement(model, dtype, batch)
        bw = {m.name: m.bytes_per_s for m in self.memory}
        u = update_cost(model.module_sizes, model.block_mask, model.n_in, dtype_itemsize(dtype))
        traffic = u.traffic(batch)
        t_mem = (traffic["weights"] / bw[where["weights"]]
                 + (traffic["state_read"] + traffic["state_written"] + traffic["messages"]) / bw[where["states"]])
        t_ops = u.macs * batch / c.macs_per_s                                                  # (g,)
        return self.dispatch_s + np.maximum(t_ops, t_mem)


    def readout_time(self, model, dtype: str = "float64", batch: int = 1) -> float:
        """Seconds one readout (``W_out @ h + b_out``) takes on one core: the same roofline, its multiply-adds
        (:func:`clocksim.cost.readout_macs`) and bytes (:func:`clocksim.cost.readout_bytes`) at the bandwidth
        of the weights' level."""
        dtype = dtype_name(dtype)
        c = self.costs(dtype)
        where = self.placement(model, dtype, batch)
        bw = {m.name: m.bytes_per_s for m in self.memory}[where["weights"]]
        macs = readout_macs(model.n, model.n_out) * batch
        return self.dispatch_s + max(macs / c.macs_per_s,
                                     readout_bytes(model.n, model.n_out, dtype_itemsize(dtype), batch) / bw)

    def energy(self, trace, dtype=None, step=None) -> dict:
        """Memory traffic and energy of a run's counts on this device (:func:`clocksim.cost.energy.energy_report`,
        the one computation ``summary["energy"]`` comes from), whatever device the run had, if any.

        Parameters
        ----------
        trace : Trace or AggregateTrace
            What ran (its ``summary()`` counts and ``meta`` structure).
        dtype : str, optional
            Default: the run's (``meta["dtype"]``, else float64). The operation counts do not depend on it; the
            bytes and the energies do.
        step : float, optional
            Seconds per input step; default the run's ``meta["step"]`` (None: no static energy).

        Returns
        -------
        dict
            ``{"memory", "energy", "per_module"}`` as :func:`~clocksim.cost.energy.energy_report`.
        """
        from ..cost.energy import energy_report

        meta, s = trace.meta, trace.summary()
        rows = s["per_module"]
        dtype = dtype_name(meta.get("dtype", "float64") if dtype is None else dtype)
        self.costs(dtype)
        try:
            return energy_report(self.to_dict(), module_sizes=meta["module_sizes"], block_mask=meta["block_mask"],
                                 n_in=meta["n_in"], n_out=meta["n_out"],
                                 activations=[r["activations"] for r in rows], macs=[r["macs"] for r in rows],
                                 bias_adds=[r["bias_adds"] for r in rows], fn_evals=[r["fn_evals"] for r in rows],
                                 total_macs=s["macs"], n_steps=s["n_steps"], batch=s["batch"], dtype=dtype,
                                 step=meta.get("step") if step is None else step)
        except ClocksimError as exc:
            raise exc.located(file=self.file) from None


def bundled_devices() -> list[str]:
    """Names of the bundled profiles (``clocksim/sched/devices/<name>.toml``)."""
    return sorted(p.name[:-5] for p in _bundled_dir().iterdir() if p.name.endswith(".toml"))


def as_device(value, base: Path | None = None) -> Device:
    """A :class:`Device` from a Device, a bundled name or a path (relative to ``base`` when given)."""
    if isinstance(value, Device):
        return value
    if isinstance(value, str) and base is not None and (value.endswith(".toml") or "/" in value):
        value = str(Path(base) / value)
    return Device.load(value)


def _bundled_dir() -> Path:
    return Path(str(resources.files("clocksim.sched") / "devices"))


def _plain(data):
    """A parsed TOML value as plain JSON-able data."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _table(t: dict, where: str, keys: dict, extra=frozenset(), file=None) -> dict:
    """Check one table: every key present and of its kind, numbers finite and in range, ``*_source`` strings."""
    known = set(keys) | set(extra) | {f"{k}_source" for k in keys if k not in ("source", "name")} | _OPTIONAL
    for k in t:
        if k not in known:
            hint = did_you_mean(k, sorted(known))
            raise InvalidValueError(f"unknown key{hint}; expected {', '.join(keys)}", key=f"{where}.{k}", file=file)
        if k.endswith("_source") and not isinstance(t[k], str):
            raise InvalidValueError(key=f"{where}.{k}", value=t[k], expected="a string citing the source", file=file)
    out = {}
    for k, kind in keys.items():
        key = f"{where}.{k}"
        if k not in t:
            raise FileFormatError(f"missing; expected {k} ({_KIND_TEXT[kind]})", key=key, file=file)
        v = t[k]
        if kind is str:
            if not isinstance(v, str) or not v.strip():
                raise InvalidValueError(key=key, value=v, expected="a non-empty string", file=file)
        elif kind is int:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise InvalidValueError(key=key, value=v, expected="an integer >= 1", file=file)
            v = int(v)
        else:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise InvalidValueError(key=key, value=v, expected="a finite number", file=file)
            v = float(v)
            if k in _POSITIVE and v <= 0:
                raise InvalidValueError(key=key, value=v, expected="a rate > 0", file=file)
            if v < 0:
                raise InvalidValueError(key=key, value=v, expected="a number >= 0", file=file)
        out[k] = v
    return out


_KIND_TEXT = {str: "a string", int: "an integer", float: "a number"}


def _toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)                   # a TOML basic string (JSON escapes are TOML escapes)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)
