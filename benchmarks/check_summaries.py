"""Check that a change of code leaves every bundled scenario's results as they were.

    python benchmarks/check_summaries.py                 # main against this tree
    python benchmarks/check_summaries.py --ref v0.3      # any git ref against this tree
    python benchmarks/check_summaries.py --only quickstart sporadic_miss --keep /tmp/runs

Runs EVERY scenario of ``scenarios/*.toml`` (the real ones: training scenarios included, no fast
settings) with ``python -m clocksim run`` on two trees: the git ref, checked out with ``git worktree
add`` into a temporary folder (removed at the end), and this tree; each run in a fresh process that
imports its own tree, at ``nice -n 10``. Then compares each scenario's ``summary.json`` key by key,
exactly (values measured by the run itself, ``wall_time``, ``train_seconds`` and ``provenance`` at any
depth, are left out), and prints one line per scenario: ``identical`` or ``differs: <keys>``; also whether
``trace.csv`` is byte-identical where both runs wrote one. Exits with status 1 on any difference or
failed run. Used for the tracer interface and package layout of DESIGN section 4 (issue 26): a
move of code must not change a single number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = {"wall_time", "provenance", "train_seconds"}       # measured by the run itself


def scenario_names(tree: Path) -> list[str]:
    """Every bundled scenario of ``tree`` (``scenarios/*.toml``), by name."""
    return sorted(p.stem for p in (tree / "scenarios").glob("*.toml"))


def run_scenario(tree: Path, name: str, out: Path) -> tuple[bool, float, str]:
    """``clocksim run`` of ``tree``'s scenario ``name`` into ``out``; (ok, seconds, last error line)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = ["nice", "-n", "10", sys.executable, "-m", "clocksim", "run", str(tree / "scenarios" / f"{name}.toml"),
           "--out", str(out), "--force"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return proc.returncode == 0, time.perf_counter() - t0, lines[-1] if lines and proc.returncode else ""


def differences(a, b, path: str = "") -> list[str]:
    """The dotted keys at which ``a`` and ``b`` differ (exactly), measured values left out."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key in VOLATILE:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{where} (only in {'the ref' if key in a else 'this tree'})")
            else:
                out += differences(a[key], b[key], where)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    same = a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)   # NaN == NaN here
    return [] if same and type(a) is type(b) else [path or "(whole)"]


def compare(name: str, before: Path, after: Path) -> tuple[bool, str]:
    """(identical, the line to print) for one scenario's two output folders."""
    a, b = before / "summary.json", after / "summary.json"
    if not a.is_file() or not b.is_file():
        return False, f"{name}: no summary.json in {a.parent if not a.is_file() else b.parent}"
    diff = differences(json.loads(a.read_text()), json.loads(b.read_text()))
    line = f"{name}: identical" if not diff else f"{name}: differs: {', '.join(diff)}"
    ca, cb = before / "trace.csv", after / "trace.csv"
    if ca.is_file() and cb.is_file():
        same_csv = ca.read_bytes() == cb.read_bytes()
        line += "; trace.csv identical" if same_csv else "; trace.csv DIFFERS"
        return not diff and same_csv, line
    return not diff, line


def checkout(ref: str, into: Path) -> Path:
    """A detached worktree of ``ref`` at ``into`` (this repository's history)."""
    subprocess.run(["git", "worktree", "add", "--detach", str(into), ref], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    return into


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default="main", help="git ref to compare this tree against (default: main)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these scenarios only (default: every one)")
    ap.add_argument("--keep", type=Path, help="write the runs here and keep them (default: a temporary folder)")
    ap.add_argument("--compare-only", action="store_true",
                    help="compare the runs already in --keep (its ref/ and this/ folders) without running")
    args = ap.parse_args(argv)
    if args.compare_only:
        if args.keep is None:
            ap.error("--compare-only needs --keep")
        names = args.only or sorted(p.name for p in (args.keep / "this").iterdir())
        lines = [compare(name, args.keep / "ref" / name, args.keep / "this" / name) for name in names]
        for _, line in lines:
            print(line)
        return 0 if all(ok for ok, _ in lines) else 1
    with tempfile.TemporaryDirectory(prefix="check_summaries.") as tmp:
        work = args.keep or Path(tmp)
        ref_tree = checkout(args.ref, Path(tmp) / "ref")
        try:
            return _check(args, ref_tree, work)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(ref_tree)], cwd=ROOT, capture_output=True)


def _check(args, ref_tree: Path, work: Path) -> int:
    names = args.only or sorted(set(scenario_names(ROOT)) | set(scenario_names(ref_tree)))
    bad = 0
    for name in names:
        ok, times = True, []
        for label, tree in (("ref", ref_tree), ("this", ROOT)):
            if not (tree / "scenarios" / f"{name}.toml").is_file():
                print(f"{name}: not a scenario of the {label} tree", flush=True)
                ok = False
                break
            done, seconds, err = run_scenario(tree, name, work / label / name)
            times.append(seconds)
            if not done:
                print(f"{name}: the {label} tree's run failed: {err}", flush=True)
                ok = False
                break
        if ok:
            ok, line = compare(name, work / "ref" / name, work / "this" / name)
            print(f"{line}  ({times[0]:.0f} s / {times[1]:.0f} s)", flush=True)
        bad += not ok
    print(f"{len(names) - bad} of {len(names)} scenarios identical ({args.ref} vs this tree; "
          f"load average {os.getloadavg()[0]:.1f})")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
