"""Output folders that appear whole or not at all, one writer per folder, and clean interruption.

:class:`output_folder` yields a temporary sibling ``.NAME.PID.XXXX.tmp`` of the
requested folder and renames it into place when the block ends without error;
on an error, Ctrl-C, SIGTERM or SIGHUP (see :func:`handle_signals`) the
temporary folder is removed. A temporary sibling left by a process that was
killed outright (SIGKILL, power cut) carries that process's id in its name and
is removed by the next run that writes next to it once that process is gone.

:class:`folder_lock` keeps two clocksim processes from writing the same folder:
the second one is refused with :class:`OutputExistsError` ("in use"). The lock is
the one lock (:class:`clocksim._files.FileLock`) on a hidden sibling file ``.NAME.lock``, removed on
release.

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

from .._files import FileLock, short_name, sibling_name
from ..errors import ClocksimError

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
    directory or one of its parents, a path under an existing file, and a folder that is read-only
    or in a read-only folder (its mode has no write bit, or this process may not write it).

    A symbolic link is followed to its target (also when it dangles): the folder is written
    *through* the link, which stays in place."""
    given = str(path)
    path = Path(os.path.abspath(path))
    _check_name_lengths(path, given, option)
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if target.is_symlink():
            raise OutputExistsError(f"{given} is a loop of symbolic links; expected a folder or a link to one",
                                    key=option)
        path = target
    cwd = Path(os.getcwd())
    if path == cwd or path in cwd.parents:
        raise OutputExistsError(f"{given!r} is the current folder or holds it; expected a folder of its own, "
                                "e.g. out/run1", key=option)
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                what = "exists and is not a folder" if parent == path else f"is under {str(parent)!r}, a file"
                raise OutputExistsError(f"{given} {what}", key=option)
            for folder in {parent, path.parent} if parent == path else {parent}:
                if _read_only(folder):
                    where = "it is read-only" if folder == path else f"{str(folder)!r} is read-only"
                    raise OutputExistsError(f"cannot write {given}: {where} (make it writable, or choose another "
                                            "folder)", key=option)
            break
    return path


#: Longest file name and path the file system takes (Linux: NAME_MAX, PATH_MAX).
NAME_MAX, PATH_MAX = 255, 4096


def _check_name_lengths(path: Path, given: str, option: str) -> None:
    for part in path.parts:
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            raise OutputExistsError(f"{given[:60]}...: a name of {size} bytes ({part[:20]}...), expected at most "
                                    f"{NAME_MAX}", key=option)
    if len(str(path).encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise OutputExistsError(f"{given[:60]}...: a path of {len(str(path))} characters, expected under "
                                f"{PATH_MAX}", key=option)


def _read_only(folder: Path) -> bool:
    """No write bit in the folder's mode (honoured even for root, who may write anyway), or no permission."""
    return not (folder.stat().st_mode & 0o222) or not os.access(folder, os.W_OK | os.X_OK)


def make_parents(path: Path) -> list[Path]:
    """Create the missing folders above ``path``; returns those created, deepest first (for :func:`remove_made`)."""
    missing = [p for p in path.parents if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    return missing


def remove_made(folders: list[Path]) -> None:
    """Remove the folders :func:`make_parents` created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


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
        if not m or m["name"] != short_name(path.name) or not sib.is_dir():
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


def folder_lock(path, option: str = "--out") -> FileLock:
    """Context manager: the exclusive lock on the folder ``path`` (:class:`~clocksim._files.FileLock` on a
    sibling ``.NAME.lock``); nested blocks of one process share it, another process is refused at once."""
    path = Path(os.path.abspath(path))
    return _FolderLock(path.with_name(sibling_name(path.name, ".lock")), what=str(path), key=option,
                       error=OutputExistsError, reentrant=True)


class _FolderLock(FileLock):
    """:class:`FileLock` whose failure to create the lock file names the folder (one line, the option)."""

    def __enter__(self):
        try:
            return super().__enter__()
        except OSError as exc:
            raise OutputExistsError(f"cannot create {self.what} ({exc.strerror or exc})", key=self.key) from None


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
        self.made: list[Path] = []

    def __enter__(self) -> Path:
        self.path = check_folder(self.given, self.option)
        if self.path.exists() and any(self.path.iterdir()) and not self.force:
            raise OutputExistsError(f"{self.given} exists and is not empty; pass --force to replace it",
                                    key=self.option)
        try:
            self.made = make_parents(self.path)
            self.lock = folder_lock(self.path, self.option).__enter__()
            clean_stale(self.path)
            self.tmp = Path(tempfile.mkdtemp(prefix=sibling_name(self.path.name, f".{os.getpid()}."),
                                             suffix=".tmp", dir=self.path.parent))
        except OSError as exc:
            self._release(failed=True)
            raise OutputExistsError(f"cannot create {self.given} ({exc.strerror or exc})", key=self.option) \
                from None
        except BaseException:
            self._release(failed=True)
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        failed = True
        try:
            if exc_type is None:
                check_signals()                  # a signal swallowed on the way: the folder must not appear
                self._move_into_place()
                failed = False
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)        # gone already on success
            self._release(failed)

    def _move_into_place(self) -> None:
        """Rename the temporary folder to ``path``, the folder it replaces aside first (and back on failure)."""
        self.tmp.chmod(0o755)
        old = None
        if self.path.exists():
            old = self.path.with_name(sibling_name(self.path.name, f".{os.getpid()}.old.tmp"))
            self.path.rename(old)
        try:
            self.tmp.rename(self.path)
        except BaseException:
            if old is not None:
                old.rename(self.path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _release(self, failed: bool = False) -> None:
        if self.lock is not None:
            self.lock.__exit__(None, None, None)
            self.lock = None
        if failed:                        # the lock file is gone: the folders made for this one can go too
            remove_made(self.made)
            self.made = []
