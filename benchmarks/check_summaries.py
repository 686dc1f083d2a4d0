"""Check that a change of code leaves every bundled scenario's results as they were.

    python benchmarks/check_summaries.py record BEFORE     # on the old code: run every scenario
    python benchmarks/check_summaries.py record AFTER      # on the new code
    python benchmarks/check_summaries.py compare BEFORE AFTER

``record`` runs each scenario of ``scenarios/*.toml`` that trains nothing (no ``[train]`` or
``[task]`` table: those take minutes and are pinned by their own tests) with ``clocksim run``
into ``DIR/<name>/``. ``compare`` reads both folders and reports, per scenario, whether
``summary.json`` is identical once measured values (``wall_time`` and ``provenance``, at any
depth) are left out, and whether ``trace.csv`` is byte-identical; it exits with status 1 on any
difference. Used for the package layout of DESIGN section 4 (issue 26): a move of files must not
change a single number.
"""

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = {"wall_time", "provenance"}


def scenarios() -> list[Path]:
    """The bundled scenarios that train nothing."""
    chosen = []
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        with path.open("rb") as f:
            table = tomllib.load(f)
        if "train" not in table and "task" not in table:
            chosen.append(path)
    return chosen


def record(out: Path) -> None:
    from clocksim.app.cli import main
    out.mkdir(parents=True, exist_ok=True)
    for path in scenarios():
        status = main(["run", str(path), "--out", str(out / path.stem), "--force"])
        print(f"{path.stem}: exit {status}")
        if status != 0:
            raise SystemExit(f"{path.name} failed")


def stable(value):
    """``value`` without the keys that hold measurements of this run."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def compare(before: Path, after: Path) -> int:
    names = [p.stem for p in scenarios()]
    differ = 0
    for name in names:
        a, b = before / name, after / name
        if not (a / "summary.json").is_file() or not (b / "summary.json").is_file():
            print(f"{name}: missing summary.json in {a if not (a / 'summary.json').is_file() else b}")
            differ += 1
            continue
        same_summary = stable(json.loads((a / "summary.json").read_text())) == \
            stable(json.loads((b / "summary.json").read_text()))
        same_trace = (a / "trace.csv").read_bytes() == (b / "trace.csv").read_bytes()
        print(f"{name}: summary.json {'identical' if same_summary else 'DIFFERS'}, "
              f"trace.csv {'identical' if same_trace else 'DIFFERS'}")
        differ += not (same_summary and same_trace)
    print(f"{len(names) - differ} of {len(names)} scenarios identical")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        raise SystemExit(__doc__)
