"""Scenarios with [task] and [train]: validation (one-line errors), and `clocksim run` training end to end."""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from clocksim.plot import _format as fmt
from clocksim.app.cli import main
from clocksim.engine import simulate
from clocksim.app.execute import execute
from clocksim.app.scenario import SCHEMA, ScenarioError, load_scenario
from clocksim.trace.summary import SUMMARY_KEYS, lookup, metric_columns
from clocksim.app.sweep import load_sweep, run_sweep
from clocksim.train.tasks import fit, task_options
from clocksim.train.loop import TrainConfig, train

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

GENERATION = """\
# A small generator.
[model]
module_sizes = 2
periods = [1, 2, 4, 8]
seed = 3

[task]
kind = "generation"
piece = 2

[train]
learning_rate = 0.1
momentum = 0.95
epochs = 8
freeze = ["h0"]
checkpoint_every = 2

[engine]
name = "compiled"
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


class TestParsing:
    def test_task_fixes_the_model_shape_and_the_input(self, tmp_path):
        s = load_scenario(write(tmp_path, GENERATION))
        assert (s.model.n_in, s.model.n_out) == (0, 1) and s.x.shape == (1, 320, 0)
        assert s.task.kind == "generation" and s.task.options == {"piece": 2}
        assert s.train == TrainConfig(loss="mse", learning_rate=0.1, momentum=0.95, epochs=8, freeze=("h0",))
        assert s.checkpoint_every == 2

    def test_classification_takes_n_out_from_the_task_and_trims_the_input(self, tmp_path):
        text = GENERATION.replace('kind = "generation"\npiece = 2', 'kind = "synthetic_words"\ntest_per_class = 2')
        s = load_scenario(write(tmp_path, text), ["input.batch=3", "input.steps=20"])
        assert (s.model.n_in, s.model.n_out) == (13, 25) and s.x.shape == (3, 20, 13)
        assert s.train.loss == "xent"
        np.testing.assert_array_equal(s.x, s.task.x_test[:3, :20])

    def test_schema_defaults_are_the_library_defaults(self):
        for kind in ("generation", "japanese_vowels", "synthetic_words"):
            for name, default in task_options(kind).items():
                assert SCHEMA["task"][name].default == default, (kind, name)
        config = TrainConfig()
        for name, key in SCHEMA["train"].items():
            if name == "checkpoint_every":
                continue
            expected = list(config.freeze) if name == "freeze" else getattr(config, name)
            assert key.default == expected, name

    @pytest.mark.parametrize("edit,msg", [
        (('kind = "generation"', 'kind = "speech"'), 'task.kind: got \'speech\', expected one of "generation"'),
        (("piece = 2", "piece = 2\nnoise = 0.1"), 'task.noise: got 0.1, expected no such option for kind = '
                                                  '"generation" (its options: piece)'),
        (("piece = 2", "piece = 9"), "task.piece: got 9, expected 0 to 4"),
        (("piece = 2", "piece = \"two\""), "task.piece: got 'two', expected an integer >= 0"),
        (("learning_rate = 0.1", "learning_rate = -0.1"), "train.learning_rate: got -0.1, expected a number > 0"),
        (("learning_rate = 0.1", "learning_rate = 0.1\noptimiser = \"adam\""),
         "train.optimiser: unknown key (did you mean 'optimizer'?)"),
        (("epochs = 8", "epochs = 8\noptimizer = \"lbfgs\""), "train.optimizer: got 'lbfgs', expected one of"),
        (("momentum = 0.95", "momentum = 1.5"), "train.momentum: got 1.5, expected a number <= 1"),
        (('freeze = ["h0"]', 'freeze = ["c0"]'), "train.freeze[0]: got 'c0', expected one of W_in, W_rec"),
        (("checkpoint_every = 2", "checkpoint_every = 0"), "train.checkpoint_every: got 0, expected an integer >= 1"),
        (("seed = 3", "seed = 3\nn_out = 2"), "model.n_out: got 2, expected 1, the task's number of outputs"),
        (('[engine]', '[input]\nkind = "sine"\n[engine]'), "input.kind: got 'sine', expected no such key with a "
                                                          "[task]"),
        (('[task]\nkind = "generation"\npiece = 2\n', ''), "train: got {"),
    ])
    def test_mistakes_are_one_line(self, tmp_path, capsys, edit, msg):
        path = write(tmp_path, GENERATION.replace(*edit))
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        assert msg in str(info.value) and "\n" not in str(info.value) and str(path) in str(info.value)
        code, _, err = run(capsys, "run", path, "--out", tmp_path / "out")
        assert code == 2 and err.count("\n") == 1 and msg in err and not (tmp_path / "out").exists()


class TestRun:
    def test_training_run_writes_accuracy_next_to_cost(self, tmp_path, capsys):
        code, out, err = run(capsys, "run", write(tmp_path, GENERATION), "--out", tmp_path / "o")
        assert code == 0, err
        folder = tmp_path / "o"
        summary = json.loads((folder / "summary.json").read_text())
        acc = summary["accuracy"]
        assert acc["metric"] == "nmse" and acc["epochs"] == 8 and 0 < acc["value"] == acc["nmse"]
        assert summary["macs"] > 0 and summary["n_steps"] == 320
        assert f"test NMSE {fmt.value(acc['value'])}" in out
        report = (folder / "report.md").read_text()
        assert "## Accuracy" in report and f"Test NMSE {fmt.value(acc['nmse'])}" in report
        assert len(json.loads((folder / "history.json").read_text())["train_loss"]) == 8
        with np.load(folder / "params.npz", allow_pickle=False) as params:       # the trained model was simulated
            assert not np.array_equal(params["W_rec"], load_scenario(write(tmp_path, GENERATION)).model.params["W_rec"])
        assert (folder / "checkpoint.npz").is_file()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "s.toml"]

    def test_resume_ends_with_the_weights_of_an_uninterrupted_run(self, tmp_path, capsys):
        path = write(tmp_path, GENERATION)
        assert run(capsys, "run", path, "--out", tmp_path / "whole", "--quiet")[0] == 0
        assert run(capsys, "run", path, "--out", tmp_path / "part", "--quiet", "--set", "train.epochs=4")[0] == 0
        code, _, err = run(capsys, "run", path, "--out", tmp_path / "part", "--quiet", "--resume")
        assert code == 0, err
        a = json.loads((tmp_path / "whole" / "summary.json").read_text())["accuracy"]
        b = json.loads((tmp_path / "part" / "summary.json").read_text())["accuracy"]
        assert b["epochs"] == 8 and b["value"] == a["value"]
        with np.load(tmp_path / "whole" / "params.npz") as p, np.load(tmp_path / "part" / "params.npz") as q:
            for name in p.files:
                np.testing.assert_array_equal(p[name], q[name])

    def test_resume_and_force_mistakes(self, tmp_path, capsys):
        path = write(tmp_path, GENERATION)
        code, _, err = run(capsys, "run", path, "--out", tmp_path / "o", "--resume")
        assert code == 2 and "--resume:" in err and "checkpoint.npz does not exist" in err
        assert run(capsys, "run", path, "--out", tmp_path / "o", "--quiet")[0] == 0
        code, _, err = run(capsys, "run", path, "--out", tmp_path / "o")
        assert code == 2 and "--force to replace it or --resume" in err
        code, _, err = run(capsys, "run", path, "--out", tmp_path / "o", "--resume", "--set", "train.learning_rate=0.2")
        assert code == 2 and "learning_rate (checkpoint 0.1, now 0.2)" in err
        code, _, err = run(capsys, "run", SCENARIOS / "quickstart.toml", "--out", tmp_path / "q", "--resume")
        assert code == 2 and "no [train] table" in err

    def test_interrupted_training_leaves_only_the_checkpoint(self, tmp_path, capsys, monkeypatch):
        from clocksim.app import outputs as runner

        def boom(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(runner, "report", boom)                # training is done, the rest fails
        code, _, _ = run(capsys, "run", write(tmp_path, GENERATION), "--out", tmp_path / "o")
        assert code == 130
        assert [p.name for p in (tmp_path / "o").iterdir()] == ["checkpoint.npz"]

    def test_a_task_without_train_scores_the_model_as_it_is(self, tmp_path, capsys):
        text = GENERATION.split("[train]")[0] + "[engine]\nname = \"compiled\"\n"
        code, out, err = run(capsys, "run", write(tmp_path, text), "--out", tmp_path / "o")
        assert code == 0, err
        acc = json.loads((tmp_path / "o" / "summary.json").read_text())["accuracy"]
        assert "epochs" not in acc and acc["nmse"] == execute(load_scenario(write(tmp_path, text))).fit.metrics["nmse"]
        assert "Not trained" in (tmp_path / "o" / "report.md").read_text() and "(untrained)" in out
        assert not (tmp_path / "o" / "checkpoint.npz").exists()

    def test_execute_trains_without_writing_anything(self, tmp_path):
        scenario = load_scenario(write(tmp_path, GENERATION))
        first = execute(scenario)
        again = execute(dataclasses.replace(scenario))
        assert first.fit.metrics["metric"] == "nmse" and first.fit.metrics["epochs"] == 8
        assert first.summary["accuracy"]["value"] == again.summary["accuracy"]["value"]
        assert first.result.trace.summary()["macs"] == first.summary["macs"]

    def test_execute_trains_and_scores_as_the_scenario_says(self, tmp_path):
        scenario = load_scenario(write(tmp_path, GENERATION))
        metrics = execute(scenario).fit.metrics
        model = scenario.model.copy()                 # the same by hand: train, simulate, NMSE written out
        history = train(model, scenario.task.x_train, scenario.task.y_train, scenario.train)
        y = simulate(model, scenario.task.x_test, engine="events").y
        target = scenario.task.y_test
        assert metrics["metric"] == "nmse" and metrics["epochs"] == len(history) == 8
        assert metrics["value"] == pytest.approx(np.mean((y - target) ** 2) / np.var(target), rel=1e-12)
        assert list(tmp_path.iterdir()) == [tmp_path / "s.toml"]

    def test_on_epoch_sees_every_epoch_and_its_exception_stops_training(self, tmp_path):
        scenario = load_scenario(write(tmp_path, GENERATION))
        seen = []

        def prune(epoch, history):
            seen.append((epoch, len(history), history.train_loss[-1]))
            if epoch == 3:
                raise StopIteration("pruned")
        with pytest.raises(StopIteration, match="pruned"):
            execute(scenario, on_epoch=prune)
        assert [e for e, _, _ in seen] == [1, 2, 3] and [n for _, n, _ in seen] == [1, 2, 3]


SWEEP_TRAIN = """\
[sweep]
scenario = "s.toml"

[grid]
train.learning_rate = [0.001, 0.1]
"""


def test_a_sweep_point_row_is_the_summary_of_clocksim_run_with_the_same_set(tmp_path, capsys):
    """One executor: a sweep over a [train] key trains, and its row equals `clocksim run --set`'s summary.json."""
    base = write(tmp_path, GENERATION)
    sweep = load_sweep(write(tmp_path, SWEEP_TRAIN, "sweep.toml"))
    result = run_sweep(sweep, tmp_path / "sweep", scheduler="serial", progress=False)
    assert [r["status"] for r in result.table] == ["ok", "ok"]
    # every metric an untimed, trained Clockwork scenario has: not the timing model's, the scheduled compute
    # model's, the device's (DESIGN sections 10, 11) or the LSTM's
    kinds = {c: SUMMARY_KEYS[key].when for c, key in metric_columns().items()}
    assert {"latency_p99", "reaction_p99", "preemptions", "energy_total_j", "n_params"} <= set(kinds)
    assert {c for c, when in kinds.items() if when in ("always", "task", "trained")} == set(sweep.metrics)
    rows = {}
    for row, rate in zip(result.table, ["0.001", "0.1"]):
        code, _, err = run(capsys, "run", base, "--out", tmp_path / rate, "--set", f"train.learning_rate={rate}")
        assert code == 0, err
        summary = json.loads((tmp_path / rate / "summary.json").read_text())
        columns = metric_columns()
        assert {c: row[c] for c in sweep.metrics} == {c: lookup(summary, columns[c]) for c in sweep.metrics}
        assert not {columns[c].split(".")[0] for c in set(columns) - set(sweep.metrics)} & set(summary)
        rows[rate] = row
    assert rows["0.001"]["accuracy_value"] != rows["0.1"]["accuracy_value"]      # the learning rate mattered
    assert rows["0.1"]["accuracy_epochs"] == 8 and rows["0.1"]["inputs_dropped"] == 0


def test_a_sweep_over_an_lstm_records_its_size_cost_and_score(tmp_path):
    """An LSTM is trained, not simulated: a sweep records the keys its summary has (n_params, step_macs,
    the score), each equal to what execute gives, and no trace columns."""
    write(tmp_path, LSTM_GENERATION)
    sweep = load_sweep(write(tmp_path, SWEEP_TRAIN.replace("train.learning_rate", "model.budget")
                             .replace("[0.001, 0.1]", "[100, 200]"), "sweep.toml"))
    assert {"n_params", "step_macs", "accuracy_value"} <= set(sweep.metrics) and "activations" not in sweep.metrics
    result = run_sweep(sweep, tmp_path / "sweep", scheduler="serial", progress=False)
    assert [r["status"] for r in result.table] == ["ok", "ok"]
    for row, budget in zip(result.table, [100, 200]):
        summary = execute(load_scenario(tmp_path / "s.toml", [f"model.budget={budget}"])).summary
        assert (row["n_params"], row["step_macs"], row["accuracy_value"]) == \
            (summary["n_params"], summary["step_macs"], summary["accuracy"]["value"])
    assert result.table[0]["n_params"] < result.table[1]["n_params"]


@pytest.mark.parametrize("name", ["paper_generation", "synthetic_words", "japanese_vowels"])
def test_bundled_training_scenarios_validate(name):
    s = load_scenario(SCENARIOS / f"{name}.toml")
    assert s.task is not None and s.train is not None and s.description
    assert s.model.n_params == pytest.approx({"paper_generation": 971, "synthetic_words": 3029,
                                              "japanese_vowels": 1992}[name])


def test_classification_run_reports_test_error(tmp_path, capsys):
    code, out, err = run(capsys, "run", SCENARIOS / "synthetic_words.toml", "--out", tmp_path / "o",
                         "--set", "train.epochs=2", "--set", "input.batch=5", "--set", "task.test_per_class=2")
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    acc = summary["accuracy"]
    assert acc["metric"] == "test_error" and acc["value"] == acc["test_error"] == 1 - acc["test_accuracy"]
    wrong = acc["value"] * 50                                 # a fraction of the 50 test sequences
    assert wrong == round(wrong) and acc["epochs"] <= 2 and summary["count_basis"] == "per batch"
    assert f"test error {fmt.value(100 * acc['value'])}%" in out                # the one number style: 72%
    assert "on 50 test sequence(s)" in (tmp_path / "o" / "report.md").read_text()


# ------------------------------------------------------------------ model.kind, budget and the LSTM
LSTM_GENERATION = """\
# An LSTM sized to 100 parameters learns piece 0.
[model]
kind = "lstm"
budget = 100
[task]
kind = "generation"
[train]
epochs = 2
freeze = ["h0", "c0"]
"""


class TestModelKinds:
    @pytest.mark.parametrize("kind, budget, rule", [("rnn", 250, "paper"), ("lstm", 500, "floor"),
                                                    ("cwrnn", 1000, "paper"), ("cwrnn", 300, "nearest")])
    def test_a_budget_builds_the_baselines_model_exactly(self, tmp_path, kind, budget, rule):
        from clocksim.model.baselines import PAPER_PERIODS, model_for_budget

        periods = "periods = [1, 2, 4, 8, 16, 32, 64, 128, 256]\n" if kind == "cwrnn" else ""
        s = load_scenario(write(tmp_path, f'[model]\nkind = "{kind}"\nbudget = {budget}\nrule = "{rule}"\nseed = 4\n'
                                          f'{periods}[task]\nkind = "generation"\n'))
        twin = model_for_budget(kind, budget, n_in=0, n_out=1, periods=PAPER_PERIODS, rule=rule, seed=4)
        assert type(s.model) is type(twin) and s.model.n == twin.n
        assert s.model.params.keys() == twin.params.keys()
        for name, value in twin.params.items():
            np.testing.assert_array_equal(s.model.params[name], value)

    def test_a_simple_rnn_is_one_dense_module_of_period_one_and_is_simulated(self, tmp_path):
        s = load_scenario(write(tmp_path, '[model]\nkind = "rnn"\nmodule_sizes = 5\nactivation = "relu"\n'
                                          '[input]\nsteps = 10\n'))
        assert s.model.module_sizes == (5,) and s.model.periods == (1,) and s.model.activation == "relu"
        assert execute(s).summary["activations"] == 10

    @pytest.mark.parametrize("text, key", [
        ('kind = "gru"', "model.kind"),
        ('kind = "lstm"\nperiods = [1, 2]', "model.periods"),
        ('kind = "rnn"\nphases = "staggered"', "model.phases"),
        ('budget = 100\nmodule_sizes = 3', "model.budget"),
        ('rule = "floor"', "model.rule"),
        ('budget = 100\nrule = "exact"', "model.rule"),
        ('budget = 0', "model.budget"),
        ('budget = 5\nrule = "floor"\nperiods = [1, 2, 4]', "model.budget"),
        ('budget = 100\nclocks = [1, 2]', "model.budget"),
        ('kind = "lstm"\nmodule_sizes = [2, 2]', "model.module_sizes"),
    ])
    def test_mistakes_name_the_key(self, tmp_path, text, key):
        with pytest.raises(ScenarioError, match=rf"s\.toml: {re.escape(key)}: got "):
            load_scenario(write(tmp_path, f"[model]\n{text}\n[task]\nkind = \"generation\"\n"))

    @pytest.mark.parametrize("extra, key", [
        ("", "model.kind"),                                          # no [task]: nothing an LSTM could do
        ("[task]\nkind = \"generation\"\n[engine]\ndeadline = 2.0\n", "engine.deadline"),
        ("[task]\nkind = \"generation\"\n[output]\nplots = [\"cost\"]\n", "output.plots"),
        ("[task]\nkind = \"generation\"\n[output]\ncsv = true\n", "output.csv"),
    ])
    def test_an_lstm_refuses_what_only_a_simulation_gives(self, tmp_path, extra, key):
        with pytest.raises(ScenarioError, match=rf"s\.toml: {re.escape(key)}: got "):
            load_scenario(write(tmp_path, f"[model]\nkind = \"lstm\"\nmodule_sizes = 3\n{extra}"))

    def test_an_lstm_run_is_trained_and_scored_without_a_trace(self, tmp_path):
        from clocksim.trace.summary import SUMMARY_KEYS

        s = load_scenario(write(tmp_path, LSTM_GENERATION))
        run = execute(s)
        assert run.result is None and run.fit is not None
        top = {k for k, spec in SUMMARY_KEYS.items() if spec.when in ("run", "untraced", "task") and "." not in k}
        assert set(run.summary) == top
        p = run.fit.model.params
        assert run.summary["step_macs"] == p["W_rec"].size + p["W_in"].size + p["W_out"].size     # 4n(n+n_in)+n_out n
        assert run.summary["n_params"] == 85 and run.summary["accuracy"]["epochs"] == 2
        again = fit(s.model, s.task, s.train)                   # the same training as tasks.fit directly
        assert again.metrics["value"] == run.summary["accuracy"]["value"]

    def test_clocksim_run_on_an_lstm_writes_no_trace_file(self, tmp_path, capsys):
        code, out, err = run(capsys, "run", write(tmp_path, LSTM_GENERATION), "--out", tmp_path / "o")
        assert code == 0, err
        assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
            "checkpoint.npz", "history.json", "params.npz", "report.md", "scenario.json", "summary.json"]
        assert "an LSTM of 85 parameters, 68 multiply-adds per step" in out
        report = (tmp_path / "o" / "report.md").read_text()
        assert "never simulated" in report and "21,760 multiply-adds per sequence of 320 steps" in report

    def test_compare_refuses_an_lstm_naming_the_key(self, tmp_path, capsys):
        path = write(tmp_path, LSTM_GENERATION)
        code, _, err = run(capsys, "compare", path, path, "--out", tmp_path / "c")
        assert code == 2 and err.count("\n") == 1 and "model.kind: got 'lstm'" in err
        assert not (tmp_path / "c").exists()
