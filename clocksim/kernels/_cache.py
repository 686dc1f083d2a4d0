"""numba's on-disk cache, kept in step with the kernels' sources.

numba keys a cached function on its own file's modification time and size. A kernel that calls a
kernel of another file (``engine/events.py`` calls ``kernels/events.py``, which calls
``kernels/core.py``) has the callee compiled into it, so after an edit of the callee's file the
caller's cache entry is stale: it still runs the old callee. That is a wrong result with no
error, the worst kind. So on import the package hashes the sources of every file that holds jitted
code; when the hash differs from the one stored beside the cache, the cache entries of those files
are deleted first (numba then compiles afresh and stores new ones). The check reads a few files
once per process (well under a millisecond) and runs before any kernel is compiled or loaded.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

PACKAGE = Path(__file__).resolve().parents[1]
#: The files that hold jitted code (their cache entries may inline each other's kernels).
JITTED = (*sorted((PACKAGE / "kernels").glob("*.py")), PACKAGE / "engine" / "events.py")
STAMP = "clocksim-kernels.sha256"


def sources_digest() -> str:
    """SHA-256 over the jitted files' names and contents, and numba's version."""
    h = hashlib.sha256(numba.__version__.encode())
    for path in JITTED:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_folders() -> list[Path]:
    """Where numba keeps the cache entries of the jitted files: ``__pycache__`` beside them, or, with
    ``NUMBA_CACHE_DIR``, that folder's subfolders named after them (``<parent>_<hash>``)."""
    if numba.config.CACHE_DIR:
        root = Path(numba.config.CACHE_DIR)
        parents = {p.parent.name for p in JITTED}
        return [d for d in root.glob("*") if d.is_dir() and d.name.split("_")[0] in parents] if root.is_dir() else []
    return sorted({p.parent / "__pycache__" for p in JITTED})


def purge_stale() -> int:
    """Delete the jitted files' cache entries when their sources changed since they were written.

    Returns how many files were deleted. A folder that cannot be written (an installed, read-only
    package) is left alone: numba then recompiles in memory, as it does when it cannot cache.
    """
    if numba.config.DISABLE_JIT:
        return 0
    digest = sources_digest()
    removed = 0
    for folder in cache_folders():
        stamp = folder / STAMP
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            names = {p.stem for p in JITTED}
            for entry in folder.glob("*.nb[ic]"):
                if entry.name.split(".")[0] in names:
                    entry.unlink(missing_ok=True)
                    removed += 1
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"{STAMP}.{os.getpid()}"
            tmp.write_text(digest)
            os.replace(tmp, stamp)
        except OSError:
            continue
    return removed
