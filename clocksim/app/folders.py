"""Output folders that appear whole or not at all, one writer per folder, and clean interruption.

:class:`output_folder` yields a temporary sibling ``.NAME.PID.XXXX.tmp`` of the
requested folder and renames it into place when the block ends without error;
on an error, Ctrl-C, SIGTERM or SIGHUP (see :func:`handle_signals`) the
temporary folder is removed. A temporary sibling left by a process that was
killed outright (SIGKILL, power cut) carries that process's id in its name and
is removed by the next run that writes next to it once that process is gone.

:class:`folder_lock` keeps two clocksim processes from writing the same folder:
the second one is refused with :class:`OutputExistsError` ("in use"). The lock is
an advisory ``flock`` on a hidden sibling file ``.NAME.lock``, removed on release.

Paths are checked before anything is created: ``--out .`` or any folder that
holds the current directory is refused, as is a path under a file
(``afile/sub``) or where no folder can be made (``/proc/x``), each with one line
naming the option.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from ..errors import ClocksimError

try:                       # advisory locks (POSIX)
    import fcntl
except ImportError:        # pragma: no cover - Windows: no lock
    fcntl = None

__all__ = ["output_folder", "folder_lock", "OutputExistsError", "Terminated", "handle_signals", "check_folder"]


class OutputExistsError(ClocksimError):
    """The output folder exists and is not empty (and replacing it was not asked for), is in use by
    another clocksim process, or cannot be a folder at all."""


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM or SIGHUP, so that cleanup runs as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


#: Signals received and not yet acted on. The handler raises :class:`Terminated` at once, but an exception
#: raised inside a C callback (numba compiling through llvmlite, for one) is swallowed there, so the
#: signal is also remembered here and :func:`check_signals` raises it again at the next safe point.
_RECEIVED: list[int] = []


def check_signals() -> None:
    """Raise :class:`Terminated` for a signal received but swallowed before it could stop the run."""
    if _RECEIVED:
        signum = _RECEIVED[0]
        _RECEIVED.clear()
        raise Terminated(signum)


def handle_signals() -> dict:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` (cleanup then exit 128 + signal); returns the
    previous handlers (for :func:`restore_signals`). Only from the main thread."""
    def raise_terminated(signum, frame):
        _RECEIVED.append(signum)
        raise Terminated(signum)

    previous = {"unraisablehook": sys.unraisablehook}
    sys.unraisablehook = _quiet_terminated
    for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, raise_terminated)
    return previous


def restore_signals(previous: dict) -> None:
    previous = dict(previous)
    sys.unraisablehook = previous.pop("unraisablehook", sys.unraisablehook)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    _RECEIVED.clear()


def _quiet_terminated(unraisable) -> None:
    """A :class:`Terminated` swallowed in a C callback is remembered in _RECEIVED: print no traceback for it."""
    if isinstance(unraisable.exc_value, Terminated):
        return
    sys.__unraisablehook__(unraisable)


def check_folder(path, option: str = "--out") -> Path:
    """``path`` as an absolute, normalised path where a folder can be made; refuses the current
    directory or one of its parents, and a path under an existing file."""
    given = str(path)
    path = Path(os.path.abspath(path))
    cwd = Path(os.getcwd())
    if path == cwd or path in cwd.parents:
        raise OutputExistsError(f"{given!r} is the current folder or holds it; expected a folder of its own, "
                                "e.g. out/run1", key=option)
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                what = "exists and is not a folder" if parent == path else f"is under {str(parent)!r}, a file"
                raise OutputExistsError(f"{given} {what}", key=option)
            if parent != path and not os.access(parent, os.W_OK | os.X_OK):
                raise OutputExistsError(f"cannot create {given}: no permission to write in {str(parent)!r}",
                                        key=option)
            break
    return path


_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def clean_stale(path: Path) -> list[Path]:
    """Remove temporary siblings of ``path`` left by clocksim processes that no longer run."""
    removed = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return removed
    for sib in siblings:
        m = _TMP.match(sib.name)
        if not m or m["name"] != path.name or not sib.is_dir():
            continue
        pid = int(m["pid"])
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(sib, ignore_errors=True)
        removed.append(sib)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


#: Folders this process has locked, with how many blocks hold each (locks are per process, so nested blocks
#: of one process share one lock).
_HELD: dict[Path, int] = {}


class folder_lock:
    """Context manager: an exclusive advisory lock on the folder ``path`` (a sibling ``.NAME.lock``)."""

    def __init__(self, path, option: str = "--out"):
        self.path = Path(os.path.abspath(path))
        self.option = option
        self.file = self.path.with_name(f".{self.path.name}.lock")
        self.fd = None
        self.nested = False

    def __enter__(self) -> "folder_lock":
        if fcntl is None:                                   # pragma: no cover
            return self
        if self.path in _HELD:                              # this process holds it already (an outer block)
            _HELD[self.path] += 1
            self.nested = True
            return self
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputExistsError(f"cannot create {self.path} ({exc.strerror or exc})", key=self.option) \
                    from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise OutputExistsError(f"{self.path} is in use by another clocksim process (wait for it to "
                                        "finish, or choose another folder)", key=self.option) from None
            try:
                same = os.stat(self.file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:                   # not a lock file that its holder removed while we waited for it
                self.fd = fd
                _HELD[self.path] = 1
                return self
            os.close(fd)

    def __exit__(self, *exc) -> None:
        if self.nested:
            _HELD[self.path] -= 1
            self.nested = False
            return
        if self.fd is not None:
            _HELD.pop(self.path, None)
            try:
                os.unlink(self.file)
            except FileNotFoundError:
                pass
            os.close(self.fd)
            self.fd = None


class output_folder:
    """Context manager: yields a temporary folder that becomes ``path`` on success, vanishes on failure.

    The folder is locked (:class:`folder_lock`) for the whole block; an existing non-empty
    folder is replaced only with ``force``.
    """

    def __init__(self, path, force: bool = False, option: str = "--out"):
        self.given = path
        self.path = Path(path)
        self.force = force
        self.option = option
        self.lock = None
        self.tmp = None

    def __enter__(self) -> Path:
        self.path = check_folder(self.given, self.option)
        if self.path.exists() and any(self.path.iterdir()) and not self.force:
            raise OutputExistsError(f"{self.given} exists and is not empty; pass --force to replace it",
                                    key=self.option)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.lock = folder_lock(self.path, self.option).__enter__()
            clean_stale(self.path)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.{os.getpid()}.", suffix=".tmp",
                                             dir=self.path.parent))
        except OSError as exc:
            self._release()
            raise OutputExistsError(f"cannot create {self.given} ({exc.strerror or exc})", key=self.option) \
                from None
        except BaseException:
            self._release()
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                try:
                    check_signals()              # a signal swallowed on the way: the folder must not appear
                except Terminated:
                    shutil.rmtree(self.tmp, ignore_errors=True)
                    raise
            if exc_type is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                return
            self.tmp.chmod(0o755)
            old = None
            if self.path.exists():
                old = self.path.with_name(f".{self.path.name}.{os.getpid()}.old.tmp")
                self.path.rename(old)
            self.tmp.rename(self.path)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        finally:
            self._release()

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.__exit__(None, None, None)
            self.lock = None
