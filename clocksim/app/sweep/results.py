"""The results of a sweep on disk: an append-only CSV log, and a Parquet table at the end.

``results.csv`` is written with the :mod:`csv` module: a header, then one line
per finished point, appended as points finish. Each line is written whole and
``fsync``-ed before the next point is recorded, and no cell holds a line break
(error messages are single lines), so a crash (power cut, ``kill -9``) can at
worst cut the *last* line short. Opening the log again drops such a partial
line; every complete line survives. A lock held while a sweep writes keeps two
sweeps from appending to the same file at once.

Cells: numbers as Python writes them (floats round-trip exactly), booleans as
``true`` / ``false``, arrays and tables as compact JSON, missing values empty.

``results.parquet`` (optional extra ``parquet``: pyarrow) holds the final table,
one typed column per CSV column, written atomically
(:func:`clocksim.trace.atomic_write`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

from ..._files import FileLock, atomic_write, sibling_name
from ...errors import ClocksimError

__all__ = ["ResultsLog", "ResultsError", "write_parquet", "format_cell", "parse_number"]

_INT = re.compile(r"^-?\d+$")


class ResultsError(ClocksimError):
    """A results folder cannot be used (another sweep's log, or one in use)."""


class ResultsLog:
    """``results.csv`` in ``folder``: the rows already there, and appending new ones.

    Parameters
    ----------
    path : path
        The CSV file; created (with its header) if missing.
    columns : list of str
        Expected header. An existing file with another header is refused.
    numeric : collection of str
        Columns read back as numbers (int when the text is an integer, else float).

    Attributes
    ----------
    rows : list of dict
        Every complete row, in file order (earlier runs first), then the appended ones.
    dropped : str
        The partial last line removed on opening ("" when the file was whole).
    """

    def __init__(self, path, columns: list[str], numeric=()):
        self.path = Path(path)
        self.columns = list(columns)
        self.numeric = set(numeric)
        self.rows: list[dict] = []
        self.dropped = ""
        self._file = None
        self._lock = FileLock(self.path.with_name(sibling_name(self.path.name, ".lock")), what=self.path.name,
                              holder="another sweep", hint="wait for it, or use another --out", error=ResultsError,
                              errfile=self.path)

    def __enter__(self) -> "ResultsLog":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> "ResultsLog":
        """Read the rows already recorded (dropping a partial last line), lock the file, get ready to append."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.__enter__()
        try:
            if not self.path.exists():
                atomic_write(self.path, lambda f: f.write(_line(self.columns).encode()))
            self._file = open(self.path, "r+b")
            self._read()
        except BaseException:
            self.close()
            raise
        self._file.seek(0, os.SEEK_END)
        return self

    def _read(self) -> None:
        data = self._file.read()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):                           # a crash cut the last line short: drop it
            self.dropped = data[whole:].decode("utf-8", errors="replace")
            data = data[:whole]
            self._file.truncate(whole)
            self._sync()
        if not data:                                    # not even the header was whole
            self._file.seek(0)
            self._file.write(_line(self.columns).encode("utf-8"))
            self._sync()
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ResultsError(f"line {line}: not UTF-8 text (the file was edited or damaged?); fix or remove that "
                               "line, or --force to start over", file=self.path) from None
        try:
            lines = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise ResultsError(f"not a readable CSV ({exc}); fix the file, or --force to start over",
                               file=self.path) from None
        header = lines[0]
        if header != self.columns:
            raise ResultsError(f"holds the results of a different sweep (columns {', '.join(header)}; "
                               f"this sweep records {', '.join(self.columns)}); use another --out, or --force to "
                               "start over", file=self.path)
        for number, cells in enumerate(lines[1:], start=2):
            if len(cells) != len(header):
                raise ResultsError(f"line {number}: got {len(cells)} cells, expected {len(header)} "
                                   "(the file was edited?); fix or remove that line, or --force to start over",
                                   file=self.path)
            row = {}
            for column, value in zip(header, cells):
                try:
                    row[column] = parse_number(value) if column in self.numeric else value
                except ValueError:
                    raise ResultsError(f"line {number}: column {column} holds {value[:40]!r}, expected a number "
                                       "(the file was edited?); fix or remove that line, or --force to start over",
                                       file=self.path) from None
            self.rows.append(row)

    def append(self, row: dict) -> None:
        """Write ``row`` (column -> value; missing columns empty) as one whole line, flushed and fsync-ed."""
        self._file.write(_line([format_cell(row.get(c)) for c in self.columns]).encode("utf-8"))
        self._sync()
        self.rows.append({c: (row.get(c) if c in self.numeric else format_cell(row.get(c))) for c in self.columns})

    def latest(self) -> dict[str, dict]:
        """id -> the last row recorded for it."""
        return {row["id"]: row for row in self.rows}

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._lock.__exit__(None, None, None)

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())


def _line(cells) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def format_cell(value) -> str:
    """The CSV text of a value: "" for None, true/false, numbers as Python prints them, JSON for arrays/tables."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return " ".join(str(value).split()) if ("\n" in str(value) or "\r" in str(value)) else str(value)


def parse_number(text: str):
    """A numeric cell back: None when empty, int when integral text, else float (inf and nan included)."""
    if text == "":
        return None
    return int(text) if _INT.match(text) else float(text)


def write_parquet(path, rows: list[dict], columns: list[str], metadata: dict | None = None) -> Path:
    """Write ``rows`` as a Parquet table, atomically; needs pyarrow (the ``parquet`` extra).

    Each column gets one type: int64, float64 (ints and floats mixed), bool or string
    when all its values are of that kind; arrays, tables and mixed kinds become JSON text.
    ``metadata`` (JSON-serialisable) is stored in the schema under ``clocksim``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {c: _column(pa, [r.get(c) for r in rows]) for c in columns}
    table = pa.table(arrays)
    if metadata is not None:
        table = table.replace_schema_metadata({"clocksim": json.dumps(metadata, default=str)})
    path = Path(path)
    atomic_write(path, lambda f: pq.write_table(table, f))
    return path


def _column(pa, values: list):
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, pa.int64())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else v if isinstance(v, str) else format_cell(v) for v in values], pa.string())
