"""The docs stay true: every code block runs, the scenario key tables match the validator,
the API page covers exactly the public names."""

import os
import re
import shlex
import shutil
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

import clocksim as cs
from clocksim.app.cli import main
from clocksim.app.scenario import parse_scenario, schema_markdown
from clocksim.app.search import parse_search
from clocksim.app.sweep import parse_sweep

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(page: Path):
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(page.read_text())]


SAMPLE_SWEEP = ["sweep", "scenarios/sweeps/phase_schedules.toml", "--out"]


@pytest.fixture(scope="module")
def sample_sweep(tmp_path_factory):
    """The docs' sample sweep command, run once from scratch (54 points on worker processes)."""
    root = tmp_path_factory.mktemp("sample_sweep")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main([*SAMPLE_SWEEP, "out", "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    return root / "out"


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow) if p.name == "sweeps.md" else p
                                  for p in PAGES], ids=lambda p: p.name)   # sweeps.md runs the sample sweep
def test_code_blocks_run(page, tmp_path, monkeypatch, capsys, request):
    """Python blocks run in order in one namespace per page; `clocksim ...` lines in bash blocks
    run through the CLI (exit 0) in the same folder, which has a copy of scenarios/. `pip install`
    lines are what CI itself runs before the tests, so they are not repeated here. The sample
    sweep runs from scratch once (the `sample_sweep` fixture); a page's sweep command resumes a
    copy of it (same rows: a sweep's results do not depend on when its points ran)."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = 0
    for lang, code in blocks(page):
        if lang == "python":
            exec(compile(code, f"{page.name}", "exec"), namespace)   # noqa: S102 - our own docs
            plt.close("all")
            ran += 1
        elif lang == "bash":
            for line in code.splitlines():
                line = line.split("  #")[0].strip()
                if line.startswith("pip "):          # "pip install X && clocksim ...": run the clocksim part
                    line = line.split("&&", 1)[1].strip() if "&&" in line else ""
                if not line:
                    continue
                argv = shlex.split(line)
                if argv[:3] == ["python", "-m", "pytest"]:
                    continue                          # the README's test command: this very suite
                assert argv[0] == "clocksim", f"{page.name}: unexpected command {line!r}"
                if argv[1:4] == SAMPLE_SWEEP and not (tmp_path / argv[4]).exists():
                    shutil.copytree(request.getfixturevalue("sample_sweep"), tmp_path / argv[4])
                code_ = main(argv[1:])
                out, err = capsys.readouterr()
                assert code_ == 0, f"{page.name}: {line!r} exited {code_}: {err}"
                ran += 1
        elif lang == "toml":
            raw = tomllib.loads(code)
            if "sweep" in raw:        # a sweep file: its scenario path is relative to scenarios/sweeps/
                parse_sweep(raw, tmp_path / "scenarios" / "sweeps" / "doc.toml")
            elif "search" in raw:     # a search file: relative to scenarios/searches/
                parse_search(raw, tmp_path / "scenarios" / "searches" / "doc.toml")
            else:
                parse_scenario(raw, tmp_path / "doc.toml")
            ran += 1
    if page.name not in ("glossary.md", "design.md", "traces.md", "api.md"):
        assert ran, f"{page.name} has no runnable block"


def test_scenario_key_tables_are_generated_from_the_schema():
    text = (DOCS / "scenarios.md").read_text()
    assert schema_markdown() in text, "docs/scenarios.md is stale: run python docs/render_docs.py"


def test_api_page_lists_exactly_the_public_names():
    documented = re.findall(r"^::: clocksim\.(\w+)$", (DOCS / "api.md").read_text(), re.M)
    assert sorted(documented) == sorted(cs.__all__)
    assert len(documented) == len(set(documented))


def test_api_page_lists_each_name_with_its_signature_without_a_docs_build():
    import importlib.util
    spec = importlib.util.spec_from_file_location("render_docs", DOCS / "render_docs.py")
    render_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_docs)
    text = (DOCS / "api.md").read_text()
    assert render_docs.render_api(text) == text, "docs/api.md is stale: run python docs/render_docs.py"
    listed = re.findall(r"^- `(\w+)[(:`]", text, re.M)
    assert sorted(set(listed) - {"CompiledEngine", "EventEngine"}) == sorted(cs.__all__)
    assert {"CompiledEngine", "EventEngine"} <= set(listed)


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.glob("*.md"):
        assert page.name in nav, page.name


def test_docs_build_strict(tmp_path):
    """The site (mkdocs + mkdocstrings, in the test extra) builds with warnings as errors."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
