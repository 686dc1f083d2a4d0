"""The files clocksim writes: the one atomic writer, the one JSON writer, the one lock.

:func:`atomic_write` writes into a temporary sibling in the same folder, ``fsync``-s it and
renames it into place (``os.replace``), so a crash or Ctrl-C leaves either the old file or the
new one, never a truncated one; the temporary file is removed on any failure, so no ``.tmp``
entry is left. A path that is a symbolic link is written *through*: the link's target gets the
new content and the link itself stays (a dangling link gets its target created).

:func:`write_json` is the one JSON writer (numpy scalars and arrays, paths as their text),
through :func:`atomic_write`; :func:`read_json` reads one back, refusing a damaged file with one
line naming it.

:class:`FileLock` is the one lock: an exclusive, non-blocking advisory ``flock`` on a lock file.
A second holder (another process, or another lock object of this process unless ``reentrant``)
is refused at once with :class:`InUseError` naming the lock file; the lock file is removed on
release (``remove=True``).

:func:`sibling_name` gives the hidden name of a temporary or lock sibling that stays within the
file system's 255-byte name limit however long the name it derives from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import ClocksimError, FileFormatError

try:                       # advisory locks (POSIX)
    import fcntl
except ImportError:        # pragma: no cover - Windows: no lock
    fcntl = None

__all__ = ["atomic_write", "write_json", "read_json", "json_default", "FileLock", "InUseError", "sibling_name",
           "short_name", "write_target"]

#: Names longer than this (bytes) are shortened in the names of hidden siblings to a prefix of
#: _NAME_KEEP bytes plus a hash, leaving room under the 255-byte limit for a pid, random letters
#: and a suffix.
_NAME_LONG = 200
_NAME_KEEP = 120


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()   # read once at import: os.umask is process-wide and not thread-safe to probe later


class InUseError(ClocksimError):
    """A lock is held by another clocksim process (or another holder in this one)."""


def sibling_name(name: str, suffix: str) -> str:
    """``.NAME<suffix>``, the hidden name of a temporary or lock sibling of ``name``; see :func:`short_name`."""
    return f".{short_name(name)}{suffix}"


def short_name(name: str) -> str:
    """``name``, or when it is too long to carry a suffix within the 255-byte limit of a file name, a
    readable prefix of it plus a hash (deterministic, so two processes derive the same lock name)."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= _NAME_LONG:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:12]
    return raw[:_NAME_KEEP].decode("utf-8", "ignore") + "-" + digest


def write_target(path) -> Path:
    """The file a write to ``path`` lands in: the final target of a symbolic link, else ``path``."""
    path = Path(path)
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if target.is_symlink():                     # a loop of links: nothing to write through
        raise FileFormatError("is a loop of symbolic links; expected a file or a link to one", file=path)
    return target


def atomic_write(path, write) -> None:
    """Call ``write(file)`` (a binary file object) on a temporary sibling of ``path``, fsync it and
    rename it into place; a symbolic link at ``path`` is written through, never replaced.

    A crash or Ctrl-C leaves either the old file or the new one, never a truncated file, and no
    temporary sibling. A file that exists keeps its permissions; a new one gets the usual ones.
    """
    target = write_target(path)
    folder = target.parent
    fd, tmp = tempfile.mkstemp(prefix=sibling_name(target.name, "."), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_UMASK              # mkstemp makes 0600; give a new file the usual permissions
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: some file systems refuse to fsync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def json_default(value):
    """``json.dumps`` default: numpy scalars and arrays as numbers and lists, paths as their text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path, data, *, indent: int | None = 2) -> None:
    """Write ``data`` as JSON text (UTF-8, ending in a newline) to ``path``, atomically."""
    text = json.dumps(data, indent=indent, default=json_default) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def read_json(path, what: str = "JSON file"):
    """The JSON value in ``path``; a missing, unreadable, truncated or non-JSON file is refused with one
    :class:`~clocksim.errors.FileFormatError` naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileFormatError(f"missing: expected a {what}", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read the {what} ({getattr(exc, 'strerror', None) or exc})", file=path) \
            from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(f"not a readable {what} ({str(exc)[:80]}; truncated or edited?)", file=path) from None


class FileLock:
    """Context manager: an exclusive, non-blocking advisory lock (``fcntl.flock``) on ``file``.

    Parameters
    ----------
    file : path
        The lock file; created if missing (its folder too), removed on release when ``remove``.
    what : str
        What the lock protects, for the message ("out/run1", "results.csv").
    holder : str
        Who holds it when refused ("another clocksim process", "another sweep").
    hint : str
        What to do when refused.
    key : str, optional
        The argument the locked path came from (``--out``), carried by the error.
    error : type
        The :class:`~clocksim.errors.ClocksimError` subclass raised when refused (default :class:`InUseError`).
    reentrant : bool
        Nested blocks of one process on the same file share one lock (otherwise the second is refused).
    """

    #: Lock files this process holds reentrantly, with how many blocks hold each.
    _HELD: dict[Path, int] = {}

    def __init__(self, file, *, what: str | None = None, holder: str = "another clocksim process",
                 hint: str = "wait for it to finish, or choose another folder", key: str | None = None,
                 error: type = InUseError, reentrant: bool = False, remove: bool = True, errfile=None):
        self.file = Path(os.path.abspath(file))
        self.what = what if what is not None else str(self.file)
        self.holder, self.hint, self.key, self.error = holder, hint, key, error
        self.reentrant, self.remove, self.errfile = reentrant, remove, errfile
        self.fd = None
        self.nested = False

    def __enter__(self) -> "FileLock":
        if fcntl is None:                                   # pragma: no cover
            return self
        if self.reentrant and self.file in FileLock._HELD:  # this process holds it already (an outer block)
            FileLock._HELD[self.file] += 1
            self.nested = True
            return self
        while True:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self.error(f"{self.what} is in use by {self.holder} (lock {self.file}); {self.hint}",
                                 key=self.key, file=self.errfile) from None
            try:
                same = os.stat(self.file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:                   # not a lock file that its holder removed between our open and flock
                self.fd = fd
                if self.reentrant:
                    FileLock._HELD[self.file] = 1
                return self
            os.close(fd)

    def __exit__(self, *exc) -> None:
        if self.nested:
            FileLock._HELD[self.file] -= 1
            self.nested = False
            return
        if self.fd is not None:
            if self.reentrant:
                FileLock._HELD.pop(self.file, None)
            if self.remove:
                try:
                    os.unlink(self.file)
                except FileNotFoundError:
                    pass
            os.close(self.fd)
            self.fd = None
