"""Every model kind goes through one pipeline (``clocksim.app.kinds``): no branch on a model's class in
``clocksim/app``, the LSTM's run is today's, and a sweep lists the keys a point's summary will have."""

import ast
from pathlib import Path

import pytest

from clocksim.app import kinds
from clocksim.app.cli import main
from clocksim.app.execute import execute
from clocksim.app.scenario import load_scenario
from clocksim.app.sweep import load_sweep, run_sweep
from clocksim.model.baselines import MODEL_CLASSES
from clocksim.model.kind import ModelKind
from clocksim.trace.summary import SUMMARY_KEYS, lookup, metric_columns

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "clocksim" / "app"
CLASS_NAMES = {cls.__name__ for cls in MODEL_CLASSES.values()}

LSTM_GENERATION = """\
[model]
kind = "lstm"
budget = 100
[task]
kind = "generation"
[train]
epochs = 2
freeze = ["h0", "c0"]
"""
CWRNN = """\
[model]
module_sizes = 2
periods = [1, 2]
[input]
kind = "noise"
steps = 16
channels = 1
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def kind_branches(path: Path) -> list[str]:
    """``isinstance(x, <a model class>)`` calls and comparisons with ``"lstm"`` in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
            names = {getattr(n, "id", None) or getattr(n, "attr", None) for n in ast.walk(node.args[1])}
            if names & CLASS_NAMES:
                found.append(f"{path.name}:{node.lineno}: isinstance on {sorted(names & CLASS_NAMES)}")
        if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value == "lstm"
                                                 for c in [node.left, *node.comparators]):
            found.append(f"{path.name}:{node.lineno}: compares with 'lstm'")
    return found


def test_the_application_never_branches_on_a_model_class():
    found = [hit for path in sorted(APP.rglob("*.py")) for hit in kind_branches(path)]
    assert found == []


def test_the_branch_finder_finds_a_branch(tmp_path):
    path = write(tmp_path, "if isinstance(m, LSTM) or m.kind == 'lstm' or isinstance(m, (int, cs.ClockworkRNN)):\n"
                           "    pass\n", "probe.py")
    assert len(kind_branches(path)) == 3


@pytest.mark.parametrize("kind", sorted(MODEL_CLASSES))
def test_every_model_kind_has_a_pipeline(kind):
    cls = MODEL_CLASSES[kind]
    assert cls.kind in kinds.PIPELINES and kinds.PIPELINES[cls.kind].simulated is cls.simulated
    assert set(cls.initial_state) <= {"h0", "c0"}


class Spy:
    """A pipeline that records the calls made to it and delegates them."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr
        return lambda *a, **k: (self.calls.append(name), attr(*a, **k))[1]


def test_an_lstm_and_a_cwrnn_go_through_the_same_code_path(tmp_path, monkeypatch, capsys):
    spies = {k: Spy(v) for k, v in kinds.PIPELINES.items()}
    for k, spy in spies.items():
        monkeypatch.setitem(kinds.PIPELINES, k, spy)
    for name, text in (("lstm", LSTM_GENERATION), ("cwrnn", CWRNN)):
        code = main(["run", str(write(tmp_path, text, f"{name}.toml")), "--out", str(tmp_path / name)])
        assert code == 0, capsys.readouterr().err
        assert {"run", "write", "line"} <= set(spies[name].calls)
    out = capsys.readouterr().out
    assert "lstm: an LSTM of 85 parameters, 68 multiply-adds per step (not simulated: no trace)" in out
    assert "cwrnn: " in out and "activations" in out


def test_an_lstm_summary_is_what_it_was(tmp_path):
    """The LSTM's summary: its size and step cost (85 and 68 before the pipeline interface), the score."""
    s = load_scenario(write(tmp_path, LSTM_GENERATION))
    assert isinstance(s.model, ModelKind) and not s.model.simulated
    run = execute(s)
    assert run.result is None and set(run.summary) == {"n_params", "step_macs", "scenario", "accuracy"}
    assert (run.summary["n_params"], run.summary["step_macs"], run.summary["scenario"]) == (85, 68, "s")
    assert kinds.pipeline(s.model).present(s) == {"untraced"}


SCHEDULED = """\
[model]
module_sizes = 4
periods = [1, 2, 4]
[input]
kind = "noise"
steps = 48
channels = 1
[engine]
name = "events"
deadline = 2.5
[engine.compute]
cores = 1
policy = "fixed-priority"
priority = "rate-monotonic"
preemptive = true
throughput = 100.0
overhead = 0.02
"""
SWEEP = """\
[sweep]
scenario = "s.toml"
[grid]
engine.compute.cores = [1, 2]
"""


def test_a_sweep_of_scheduled_runs_lists_their_real_time_keys(tmp_path):
    write(tmp_path, SCHEDULED)
    sweep = load_sweep(write(tmp_path, SWEEP, "sweep.toml"))
    wanted = {"reaction_p99", "latency_p99", "preemptions", "migrations", "utilisation_total", "utilisation_demand",
              "readout_response_p99"}
    assert wanted <= set(sweep.metrics)
    assert {c for c, key in metric_columns().items() if SUMMARY_KEYS[key].when == "schedule"} <= set(sweep.metrics)
    assert not {c for c, key in metric_columns().items() if SUMMARY_KEYS[key].when == "device"} & set(sweep.metrics)
    result = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False, figures=False)
    columns = metric_columns()
    for row, cores in zip(result.table, [1, 2]):
        assert row["status"] == "ok"
        summary = execute(load_scenario(tmp_path / "s.toml", [f"engine.compute.cores={cores}"])).summary
        assert {c: row[c] for c in wanted} == {c: lookup(summary, columns[c]) for c in wanted}


def test_an_unscheduled_sweep_lists_no_real_time_keys(tmp_path):
    write(tmp_path, CWRNN)
    sweep = load_sweep(write(tmp_path, SWEEP.replace("engine.compute.cores = [1, 2]", "model.seed = [0, 1]"),
                             "sweep.toml"))
    assert "activations" in sweep.metrics
    assert not {"preemptions", "utilisation_total", "reaction_p99"} & set(sweep.metrics)
