"""The package layout of DESIGN section 4: imports flow one way, checked on the source (AST).

    errors <- model <- kernels <- engine -> trace
    sched and cost sit beside model and import nothing above it
    plot imports only trace and model; app is on top and nothing imports it
    numba only in kernels/ and engine/; matplotlib only in plot/

Every import is looked at, including those inside functions (the lazy ones), so a dependency
cannot hide behind "it is only imported when needed". An arrow the code breaks today is listed in
``KNOWN`` with the reason and the work that removes it; the test fails both on a new violation and
on a listed one that no longer happens, so the list cannot go stale or grow silently.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "clocksim"

#: Modules every layer may import: the errors, the boundary checks, resource limits, file helpers.
FOUNDATION = {"errors", "_validate", "limits", "_files"}

#: Layer -> the layers it may import (besides itself and FOUNDATION).
ALLOWED = {
    "foundation": set(),
    "model": set(),
    "cost": {"model"},
    "sched": {"model", "cost"},
    "kernels": {"model"},
    "trace": {"model", "cost", "sched"},
    "engine": {"model", "kernels", "trace", "cost", "sched"},
    "plot": {"trace", "model"},
    "train": {"model", "kernels", "engine", "trace", "cost", "sched"},
    "app": {"model", "kernels", "engine", "trace", "cost", "sched", "plot", "train"},
}
LAYERS = set(ALLOWED) - {"foundation"}

#: Third-party packages allowed only in some layers.
RESTRICTED = {"numba": {"kernels", "engine"}, "llvmlite": {"kernels", "engine"}, "matplotlib": {"plot"}}

#: (importing file, imported layer or package) pairs that break an arrow today, each with why.
KNOWN = {
    # The LSTM baseline carries its own forward and backward pass (kernels.lstm, and train.grad's
    # batching and output error); it should be a model behind the interface the CW-RNN uses, run
    # by the engine and differentiated by train/ (DESIGN section 4; issue 26, stage 2).
    ("model/lstm.py", "kernels"): "LSTM runs its own kernels",
    ("model/lstm.py", "train"): "LSTM computes its own loss and gradient",
    # Round two imported the compute model from cost/; cost.timing re-exports it from sched/ so those
    # imports keep working (issue 27). Removed once callers import clocksim.sched.
    ("cost/timing.py", "sched"): "re-exports ComputeModel for old imports",
}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside clocksim (``clocksim.engine.events`` -> ``engine``)."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in FOUNDATION or parts[1] == "__main__":
        return "foundation"
    return parts[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path):
    """Yield (line, absolute module name) for every import in ``path``, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:        # `from . import plot` imports a module, `from . import x` a name
                candidate = f"{source}.{alias.name}"
                rel = Path(*candidate.split("."))
                if (ROOT / rel).is_dir() or (ROOT / rel).with_suffix(".py").is_file():
                    yield node.lineno, candidate
                else:
                    yield node.lineno, source


def sources():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def violations():
    found = {}
    for path in sources():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ("__init__.py", "__main__.py"):       # the re-export table and the entry point
            continue
        here = layer_of(module_name(path))
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in RESTRICTED and here not in RESTRICTED[top]:
                found.setdefault((rel, top), []).append(f"{rel}:{line} imports {module}")
            if top != "clocksim":
                continue
            if module == "clocksim":                     # `from .. import __version__`
                continue
            there = layer_of(module)
            if there == here or there == "foundation":
                continue
            if there not in ALLOWED[here]:
                found.setdefault((rel, there), []).append(f"{rel}:{line} ({here}) imports {module} ({there})")
    return found


def test_every_file_belongs_to_a_layer():
    for path in sources():
        layer = layer_of(module_name(path))
        assert layer in ALLOWED, f"{path.relative_to(ROOT)} is in no layer of DESIGN section 4"


def test_imports_flow_one_way():
    found = violations()
    new = {key: lines for key, lines in found.items() if key not in KNOWN}
    assert not new, "imports against DESIGN section 4:\n" + "\n".join(line for lines in new.values() for line in lines)


def test_the_known_exceptions_still_happen():
    found = violations()
    stale = sorted(key for key in KNOWN if key not in found)
    assert not stale, f"fixed, remove from KNOWN: {stale}"


def test_at_most_six_flat_modules():
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= 6, flat


@pytest.mark.parametrize("module", ["clocksim.app.cli", "clocksim.app", "clocksim.app.sweep"])
def test_layer_of(module):
    assert layer_of(module) == "app"


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """A file in model/ that imports the engine (also lazily, inside a function) is caught."""
    fake = tmp_path / "clocksim"
    (fake / "model").mkdir(parents=True)
    (fake / "engine").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "model" / "__init__.py").write_text("")
    (fake / "engine" / "__init__.py").write_text("")
    (fake / "engine" / "events.py").write_text("")
    (fake / "model" / "bad.py").write_text("def f():\n    from ..engine import events\n    import matplotlib\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    found = violations()
    assert set(found) == {("model/bad.py", "engine"), ("model/bad.py", "matplotlib")}
