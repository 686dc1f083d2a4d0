"""Where a result came from: the one record every results file carries.

Reproduction results, sweep and search tables and benchmark outputs all embed
:func:`provenance` so that a number can be traced to the code, libraries,
BLAS and CPU that produced it. Nothing here imports the rest of clocksim's
heavy parts; every probe is cheap (a ``git`` call with a short timeout, file
reads) and never fails: what cannot be found is recorded as ``None``.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["provenance"]


def provenance(command: list[str] | str | None = None) -> dict:
    """A JSON-safe dict describing this run's software and hardware.

    Parameters
    ----------
    command : list of str or str, optional
        The command that produced the result; ``sys.argv`` by default.

    Returns
    -------
    dict
        ``clocksim_version``, ``git_commit`` (``None`` outside a checkout),
        ``git_dirty`` (bool or ``None``), ``python``, ``numpy``, ``numba``,
        ``scipy``, ``blas`` (numpy's BLAS: name, version, CPU kernel where
        threadpoolctl reports it), ``cpu`` (model name), ``machine``,
        ``platform`` and ``command``.
    """
    if command is None:
        command = list(sys.argv)
    return {**_static(), "command": command if isinstance(command, str) else " ".join(map(str, command))}


@functools.lru_cache(maxsize=1)
def _static() -> dict:
    from .. import __version__

    commit, dirty = _git()
    return {
        "clocksim_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "scipy": _version("scipy"),
        "blas": _blas(),
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "platform": platform.platform(),
    }


def _version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:                                    # not installed
        return None


def _git() -> tuple[str | None, bool | None]:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5, check=True).stdout
        return commit or None, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def _blas() -> dict | None:
    """The BLAS clocksim's kernels call (scipy's) as threadpoolctl sees it (name, version, CPU kernel), else
    numpy's build config. numpy and scipy may each load their own BLAS; threadpoolctl lists them in load
    order, so scipy's is looked for by its path (the first one only when no path says scipy)."""
    try:
        import numpy  # noqa: F401
        import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS the kernels use)
        from threadpoolctl import threadpool_info

        found = [info for info in threadpool_info() if info.get("user_api") == "blas"]
        found.sort(key=lambda info: "scipy" not in os.path.basename(os.path.dirname(info.get("filepath") or "")))
        for info in found[:1]:
            return {"name": info.get("internal_api"), "version": info.get("version"),
                    "kernel": info.get("architecture"), "threads": info.get("num_threads"),
                    "coretype": os.environ.get("OPENBLAS_CORETYPE")}
    except Exception:                                    # threadpoolctl missing or failing
        pass
    try:
        import numpy as np

        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return {"name": blas.get("name"), "version": blas.get("version"), "kernel": None, "threads": None,
                "coretype": os.environ.get("OPENBLAS_CORETYPE")}
    except Exception:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "cpu model", "processor\t: arm")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
