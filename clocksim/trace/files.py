"""The ``.npz`` files clocksim writes and reads (traces, checkpoints, parameters): data only, checked.

Writing (:func:`write_npz`) is atomic and byte-reproducible: members are stored
uncompressed in a fixed order with a fixed timestamp, so the same arrays give the
same bytes (a trace of the same run is byte-identical whatever the clock says).

Reading (:func:`read_npz`) treats the file as untrusted:

- it must be a zip archive of ``.npy`` members (not a pickle, a ``.npy``, a CSV
  or a truncated file) — otherwise :class:`~clocksim.errors.FileFormatError`;
- each member's dtype and shape are read from its header *before* any array is
  allocated: object dtypes are refused, a shape that needs more bytes than the
  member holds is refused (a crafted header cannot make clocksim allocate), and
  the total is checked against the memory limit (:mod:`clocksim.limits`);
- ``schema`` says, per member name, which dtype kinds and how many dimensions
  are accepted; unknown and missing members are refused, naming the entry.

Every error names the file (``err.file``) and the entry (``err.key``).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_write, json_default, read_json, write_json
from ..errors import FileFormatError, InvalidValueError
from ..limits import check_memory

__all__ = ["Entry", "write_npz", "read_npz", "open_npy", "read_header", "json_entry", "json_default",
           "parse_json_entry", "read_trace_parts", "PART_ORDER", "TraceParts"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Entry:
    """What one member of an ``.npz`` may hold.

    kinds : numpy dtype kinds accepted ("f" float, "i"/"u" integer, "b" bool, "U" text, "V" records)
    ndim : number of dimensions, or None for any
    dtype : an exact dtype (record tables), or None
    """

    kinds: str
    ndim: int | None = None
    dtype: np.dtype | None = None


def write_npz(path, arrays: dict) -> Path:
    """Write ``arrays`` (name -> array) to ``path`` as an uncompressed ``.npz``, atomically and
    byte-reproducibly (fixed member order and timestamps; no pickles)."""
    path = Path(path)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, value in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())

    atomic_write(path, write)
    return path


def json_entry(data) -> np.ndarray:
    """A 0-d text array holding ``data`` as JSON (how metadata travels in an ``.npz``)."""
    return np.array(json.dumps(data, sort_keys=True, default=json_default))


def parse_json_entry(value: np.ndarray, path, key: str):
    """The JSON object held by a 0-d text entry; refuses anything else naming file and entry."""
    if value.dtype.kind != "U" or value.ndim != 0:
        raise FileFormatError(f"got an array of dtype {value.dtype} and shape {value.shape}, expected a JSON "
                              "text entry", key=key, file=path)
    try:
        data = json.loads(str(value))
    except (ValueError, RecursionError):
        raise FileFormatError("not valid JSON", key=key, file=path) from None
    if not isinstance(data, dict):
        raise FileFormatError(f"holds a JSON {type(data).__name__}, expected an object", key=key, file=path)
    return data


def read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype declared by one ``.npy`` member, read without loading its data."""
    with zf.open(info) as f:
        major, minor = np.lib.format.read_magic(f)
        if (major, minor) == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=10000)
        elif (major, minor) == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=10000)
        else:
            raise FileFormatError(f"unsupported .npy version {major}.{minor}", key=info.filename[:-4],
                                  file=zf.filename)
    return tuple(int(n) for n in shape), np.dtype(dtype)


def read_npz(path, schema: Callable[[str], Entry | None], *, what: str, required=()) -> dict[str, np.ndarray]:
    """Read a clocksim ``.npz`` as data, checking every member against ``schema`` before loading it.

    Parameters
    ----------
    path : path
    schema : callable
        Member name (without ``.npy``) -> :class:`Entry`, or None for a member that does not belong.
    what : str
        The kind of file, for messages ("trace", "checkpoint", "parameter file").
    required : iterable of str
        Members that must be present.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"no such {what} file", file=path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise FileFormatError(f"cannot read the {what} file ({exc.strerror or exc})", file=path) from None
    if magic != b"PK\x03\x04" and magic != b"PK\x05\x06":
        raise FileFormatError(f"not a clocksim {what} (.npz) file: it is not a zip archive", file=path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            declared = {}
            total = 0
            for info in infos:
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                entry = schema(name)
                if entry is None or not info.filename.endswith(".npy"):
                    raise FileFormatError(f"holds an unexpected entry, not part of a clocksim {what}",
                                          key=name, file=path)
                shape, dtype = read_header(zf, info)
                _check_entry(path, name, entry, shape, dtype)
                nbytes = math.prod(shape) * dtype.itemsize
                if nbytes > info.file_size:
                    raise FileFormatError(f"declares shape {shape} of {dtype} ({nbytes:,} bytes) but holds only "
                                          f"{info.file_size:,} bytes", key=name, file=path)
                total += nbytes
                declared[name] = info
            missing = [k for k in required if k not in declared]
            if missing:
                raise FileFormatError(f"missing, expected in every clocksim {what}", key=missing[0], file=path)
            check_memory(total, f"{what} {path}", f"the arrays of {path}")
            out = {}
            for name, info in declared.items():
                with zf.open(info) as f:
                    out[name] = np.lib.format.read_array(f, allow_pickle=False)
            return out
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, zlib.error,
            NotImplementedError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileFormatError(f"not a readable clocksim {what} (.npz) file ({reason[:120]})", file=path) from None


def open_npy(path, what: str = "array") -> np.ndarray:
    """A ``.npy`` file as a read-only memory map (nothing read into memory yet): refuses files that are
    not ``.npy`` (a pickle would otherwise get numpy's advice to load it unsafely), object dtypes, and
    headers that declare more data than the file holds."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise FileFormatError(f"not a .npy {what} file", file=path)
    except OSError as exc:
        raise FileFormatError(f"cannot read the {what} file ({exc.strerror or exc})", file=path) from None
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise FileFormatError(f"not a readable .npy {what} file ({reason})", file=path) from None


def _check_entry(path, name: str, entry: Entry, shape, dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise FileFormatError("holds Python objects, expected plain numbers (files are data, never code)",
                              key=name, file=path)
    if entry.dtype is not None and dtype != entry.dtype:
        raise FileFormatError(f"got dtype {dtype}, expected {entry.dtype}", key=name, file=path)
    if dtype.kind not in entry.kinds:
        raise FileFormatError(f"got dtype {dtype}, expected {_kinds(entry.kinds)}", key=name, file=path)
    if entry.ndim is not None and len(shape) != entry.ndim:
        raise FileFormatError(f"got shape {shape}, expected a {entry.ndim}-D array", key=name, file=path)


def _kinds(kinds: str) -> str:
    names = {"f": "floats", "i": "integers", "u": "unsigned integers", "b": "booleans", "U": "text",
             "V": "records"}
    return " or ".join(names.get(k, k) for k in kinds)


#: Sort keys of each table (last is primary), so joined parts are ordered as a whole run's trace.
PART_ORDER = {"activations": ("module", "time"), "messages": ("receiver", "sender", "send", "arrive"),
              "readouts": ("time",)}


def read_trace_parts(path):
    """The :class:`~clocksim.Trace` whose rows a run wrote to the folder ``path`` (``trace_dir=``, see
    :class:`TraceParts`): ``meta.json`` and ``part_*.npz``, read as untrusted
    data (no pickle). A damaged ``meta.json`` or part (truncated, not an ``.npz``, another dtype or
    shape, module numbers out of range, NaN times) is refused with one
    :class:`~clocksim.errors.FileFormatError` naming that file."""
    from .core import TABLES, Trace, _check_contents

    path = Path(path)
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise InvalidValueError(f"got {str(path)!r}, expected a folder of trace parts with a meta.json", key="path")
    meta = read_json(meta_file, "trace meta file")
    if not isinstance(meta, dict):
        raise FileFormatError(f"holds a JSON {type(meta).__name__}, expected an object", file=meta_file)
    empty = {name: np.zeros(0, dtype=dtype) for name, dtype in TABLES.items()}
    _check_contents(meta_file, meta, empty)
    schema = {name: Entry("V", 1, dtype) for name, dtype in TABLES.items()}
    tables: dict[str, list[np.ndarray]] = {name: [] for name in TABLES}
    for part in sorted(path.glob("part_*.npz")):
        data = read_npz(part, schema.get, what="trace part")
        _check_contents(part, meta, {**empty, **data})
        for name, value in data.items():
            tables[name].append(value)
    joined = {}
    for name, dtype in TABLES.items():
        rec = np.concatenate(tables[name]) if tables[name] else np.zeros(0, dtype=dtype)
        if len(tables[name]) > 1:
            rec = rec[np.lexsort(tuple(rec[f] for f in PART_ORDER[name]))]
        joined[name] = rec
    return Trace(joined["activations"], joined["messages"], joined["readouts"], meta)


class TraceParts:
    """Writes a full trace to a folder in numbered parts as a run produces its rows; none is held.

    The folder holds ``part_000000.npz``, ``part_000001.npz``, ... (each with the tables
    ``activations``, ``messages`` and ``readouts`` of the rows produced since the previous part,
    any of them possibly empty) and ``meta.json``. It is written in a temporary sibling and renamed
    into place when the run ends, so it appears whole or not at all. :func:`read_trace_parts`
    joins the parts into a :class:`~clocksim.Trace` equal to the one the run would have held.
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise InvalidValueError(f"got {str(self.path)!r}, which exists and is not an empty folder; "
                                    "expected a new folder for the trace's parts", key="trace_dir")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self.count = 0

    def write(self, activations=None, messages=None, readouts=None) -> None:
        """One part: the rows produced since the previous one."""
        from .core import TABLES

        given = {"activations": activations, "messages": messages, "readouts": readouts}
        arrays = {name: given[name] if given[name] is not None else np.zeros(0, dtype=dtype)
                  for name, dtype in TABLES.items()}
        np.savez(self.tmp / f"part_{self.count:06d}.npz", **arrays)
        self.count += 1

    def close(self, meta: dict) -> Path:
        """Write ``meta.json`` and move the folder into place."""
        write_json(self.tmp / "meta.json", meta, indent=None)
        if self.path.exists():
            self.path.rmdir()                      # an empty folder (checked at the start)
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
