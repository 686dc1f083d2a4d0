"""``clocksim run`` and ``compare``: outputs that agree with each other, atomic folders, bad input."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import clocksim as cs
from clocksim.plot import _format as fmt
from clocksim.app.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
#: Shorten the bundled scenarios in CI (they must all run); None keeps a scenario's own length.
#: Training scenarios also train for only `epochs` epochs.
SHORT = {"steps": 48, "epochs": 2}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def activation_slices(chrome: dict) -> list:
    """One Perfetto slice per activation. A scheduled run (DESIGN section 10) draws each stretch of a job
    twice, on its module's track (pid 1) and on its core's track (pid 2), and the readout jobs on their own
    track: count the distinct module jobs on the module tracks, after checking that the core tracks hold
    exactly the same stretches."""
    events = chrome["traceEvents"]
    x_events = [e for e in events if e.get("ph") == "X"]
    if not any(e.get("cat") == "job" for e in x_events):
        return x_events
    readout_tids = {e["tid"] for e in events if e.get("ph") == "M" and e.get("pid") == 1
                    and e["name"] == "thread_name" and e["args"]["name"] == "readout jobs"}
    key = lambda e: (e["args"]["job"], e["ts"], e["dur"])       # noqa: E731
    by_module = sorted(key(e) for e in x_events if e["pid"] == 1)
    by_core = sorted(key(e) for e in x_events if e["pid"] == 2)
    assert by_module == by_core
    jobs = {}
    for e in x_events:
        if e["pid"] == 1 and e["tid"] not in readout_tids:
            jobs.setdefault(e["args"]["job"], e)
    return list(jobs.values())


def check_outputs_agree(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    with open(folder / "trace.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    chrome = json.loads((folder / "trace.json").read_text())
    assert len(rows) == summary["activations"] == len(activation_slices(chrome))
    assert (folder / "activity.png").stat().st_size > 1000
    assert (folder / "report.md").read_text().startswith("# ")
    trace = cs.Trace.load(folder / "trace.npz")
    assert trace.summary()["macs"] == summary["macs"]
    return summary


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_runs(path, tmp_path, capsys):
    steps = ["--set", f"input.steps={SHORT['steps']}"]
    if "[train]" in path.read_text():
        steps += ["--set", f"train.epochs={SHORT['epochs']}"]
    code, out, err = run(capsys, "run", path, "--out", tmp_path / "out", "--quiet", *steps)
    assert code == 0, err
    check_outputs_agree(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]      # no temporary leftovers


def test_run_prints_a_summary_and_report_has_the_numbers(tmp_path, capsys):
    code, out, err = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", tmp_path / "q")
    assert code == 0 and err == ""
    summary = check_outputs_agree(tmp_path / "q")
    assert f"{fmt.count(summary['activations'])} activations" in out
    report = (tmp_path / "q" / "report.md").read_text()
    assert f"{fmt.value(summary['speedup_vs_dense'])}x fewer" in report
    assert "![activity](activity.png)" in report


def test_timing_scenario_reports_latency(tmp_path, capsys):
    code, out, _ = run(capsys, "run", SCENARIOS / "phase_aligned.toml", "--out", tmp_path / "a",
                       "--set", "input.steps=300")
    summary = check_outputs_agree(tmp_path / "a")
    assert {"p50", "p99", "max"} <= set(summary["latency"]) and "deadline_misses" in summary
    assert (tmp_path / "a" / "gantt.png").exists() and (tmp_path / "a" / "latency.png").exists()
    assert "deadline misses" in out


def test_compare_prints_side_by_side(tmp_path, capsys):
    code, out, err = run(capsys, "compare", SCENARIOS / "phase_aligned.toml", SCENARIOS / "phase_staggering.toml",
                         "--out", tmp_path / "cmp", "--set", "input.steps=300")
    assert code == 0, err
    header = out.splitlines()[0]
    assert "phase_aligned" in header and "phase_staggering" in header
    assert any(line.startswith("latency p99") for line in out.splitlines())
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 1000
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert set(data) == {"phase_aligned", "phase_staggering"}


class TestMistakes:
    """Every class of mistake: exit 2, one line naming the problem, no traceback, no output folder."""

    @pytest.mark.parametrize("text,msg", [
        ("[model\nperiods = [1]\n", "not valid TOML"),
        ("", "empty scenario"),
        ("[model]\nperiods = [1, 2]\nflavour = 3\n", "model.flavour: unknown key"),
        ("[model]\nperiods = \"fast\"\n", "model.periods: got 'fast', expected a non-empty array of integers"),
        ("[model]\nperiods = [1, -4]\n", "model.periods[1]: got -4, expected an integer >= 1"),
        ("[model]\nperiods = [1, 2]\nmodule_sizes = 0\n", "model.module_sizes[0]: got 0, expected an integer >= 1"),
        ("[model]\nperiods = [1]\n[input]\namplitude = nan\n", "input.amplitude: got nan, expected a finite number"),
        ("[model]\nperiods = [1]\n[input]\nkind = \"file\"\npath = \"gone.npy\"\n", "input.path: got 'gone.npy'"),
    ])
    def test_bad_scenario(self, tmp_path, capsys, text, msg):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        code, out, err = run(capsys, "run", path, "--out", tmp_path / "out")
        assert code == 2
        assert err.startswith("clocksim: error: ") and err.count("\n") == 1 and "Traceback" not in err
        assert msg in err and str(path) in err
        assert not (tmp_path / "out").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]

    def test_missing_scenario_file(self, tmp_path, capsys):
        code, _, err = run(capsys, "run", tmp_path / "none.toml", "--out", tmp_path / "out")
        assert code == 2 and "no such scenario file" in err and not (tmp_path / "out").exists()

    def test_bad_override(self, tmp_path, capsys):
        code, _, err = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", tmp_path / "out",
                           "--set", "model.start=-1")
        assert code == 2 and "model.start: got -1" in err and not (tmp_path / "out").exists()

    def test_existing_output_folder_needs_force(self, tmp_path, capsys):
        out = tmp_path / "out"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
        code, _, err = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", out)
        assert code == 2 and "exists and is not empty; pass --force" in err
        assert (out / "keep.txt").read_text() == "mine"
        code, _, _ = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", out, "--force", "--quiet")
        assert code == 0 and not (out / "keep.txt").exists()
        check_outputs_agree(out)

    def test_failure_midway_leaves_nothing(self, tmp_path, monkeypatch):
        from clocksim.app import outputs as runner

        def boom(*args, **kwargs):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(runner, "report", boom)
        scenario = cs.scenario.load_scenario(SCENARIOS / "quickstart.toml")
        with pytest.raises(RuntimeError):
            runner.run_scenario(scenario, tmp_path / "out", progress=False)
        assert list(tmp_path.iterdir()) == []


def test_scenario_inputs_from_a_file(tmp_path, capsys):
    shutil.copy(SCENARIOS / "quickstart.toml", tmp_path / "s.toml")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(30, 3)))
    with open(tmp_path / "s.toml", "a") as f:
        f.write("")
    text = (tmp_path / "s.toml").read_text().replace('kind = "sine"', 'kind = "file"\npath = "x.npy"')
    text = text.replace("steps = 64\n", "").replace("channels = 1\n", "").replace("period = 16.0\n", "")
    (tmp_path / "s.toml").write_text(text)
    code, _, err = run(capsys, "run", tmp_path / "s.toml", "--out", tmp_path / "o", "--quiet")
    assert code == 0, err
    assert check_outputs_agree(tmp_path / "o")["n_steps"] == 30


def test_report_states_the_overrides(tmp_path, capsys):
    code, _, err = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", tmp_path / "q", "--quiet",
                       "--set", "model.periods=[1, 3, 5, 7]", "--set", "input.steps=40")
    assert code == 0, err
    report = (tmp_path / "q" / "report.md").read_text()
    assert "**Overridden for this run** (`--set`): `model.periods=[1, 3, 5, 7]`, `input.steps=40`." in report
    assert "- clocks: M1 T=1, M2 T=3, M3 T=5, M4 T=7" in report
    code, _, _ = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", tmp_path / "plain", "--quiet")
    assert "Overridden" not in (tmp_path / "plain" / "report.md").read_text()
