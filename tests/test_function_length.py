"""Functions stay short enough to read (issue 26): at most five in clocksim/ run over 60 lines.

Counted on the source with ast (decorators excluded, docstrings included), every file of the package;
the longest functions are printed by ``python tests/test_function_length.py``. The ones left over the
line are jitted kernels whose inner loop is one piece (splitting it would put a call on the hot path).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "clocksim"
#: Longest a function may be without counting against the limit, and how many may exceed it.
MAX_LINES, MAX_LONG = 60, 5


def function_lengths(package: Path = PACKAGE) -> list[tuple[int, str, str]]:
    """(lines, file, function) for every function and method in ``package``, longest first."""
    rows = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                rows.append((node.end_lineno - node.lineno + 1, rel, node.name))
    return sorted(rows, reverse=True)


def test_function_lengths_counts_a_long_function(tmp_path):
    (tmp_path / "m.py").write_text("def short():\n    pass\n\n\ndef long():\n" + "    x = 1\n" * 70)
    assert function_lengths(tmp_path)[:2] == [(71, "m.py", "long"), (2, "m.py", "short")]


def test_at_most_five_functions_are_over_60_lines():
    long = [row for row in function_lengths() if row[0] > MAX_LINES]
    assert len(long) <= MAX_LONG, "over 60 lines: " + ", ".join(f"{f}:{name} ({n})" for n, f, name in long)


if __name__ == "__main__":
    for n, file, name in function_lengths()[:12]:
        print(f"{n:4d}  {file}  {name}")
