"""Scenario files: parsing, defaults, overrides and one test per class of mistake."""

from pathlib import Path

import numpy as np
import pytest

import clocksim as cs
from clocksim.app.scenario import SCHEMA, ScenarioError, load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


MINIMAL = """\
# A minimal scenario.
[model]
periods = [1, 2, 4]
module_sizes = 3
"""


class TestParsing:
    def test_minimal_defaults(self, tmp_path):
        s = load_scenario(write(tmp_path, MINIMAL))
        assert s.name == "s" and s.description == "A minimal scenario."
        assert [c.period for c in s.model.clocks] == [1, 2, 4] and s.model.module_sizes == (3, 3, 3)
        assert s.x.shape == (1, SCHEMA["input"]["steps"].default, 1)
        assert s.engine == "events" and s.engine_options == {}
        assert s.output["plots"] == ["activity", "cost"]

    def test_family_and_staggered_phases(self, tmp_path):
        s = load_scenario(write(tmp_path, "[model]\nfamily = \"exponential\"\nmodules = 4\nphases = \"staggered\"\n"))
        periods = [c.period for c in s.model.clocks]
        assert periods == [1, 2, 4, 8]
        assert [c.phase for c in s.model.clocks] != [0, 0, 0, 0]

    def test_clock_tables(self, tmp_path):
        s = load_scenario(write(tmp_path, """
[model]
module_sizes = [2, 2, 2]
clocks = [1, { kind = "jittered", period = 2.0, jitter = 0.5 }, { kind = "poisson", rate = 0.1, seed = 3 }]
"""))
        assert isinstance(s.model.clocks[1], cs.Jittered) and s.model.clocks[2].seed == 3

    def test_timing_model(self, tmp_path):
        s = load_scenario(write(tmp_path, MINIMAL + """
[engine]
deadline = 0.5
latency = { kind = "uniform", low = 0.1, high = 0.2 }
links = [{ sender = 2, receiver = 0, delay = 1.5 }]
compute = { cores = 2, throughput = 100.0, priority = "fifo" }
"""))
        o = s.engine_options
        assert o["deadline"] == 0.5 and o["compute"].cores == 2
        assert isinstance(o["latency"].default, cs.Uniform) and o["latency"].links[(2, 0)].value == 1.5
        assert s.output["plots"] == ["activity", "cost", "latency", "gantt", "staleness"]

    def test_input_file_relative_to_scenario(self, tmp_path):
        (tmp_path / "data").mkdir()
        np.save(tmp_path / "data" / "x.npy", np.arange(20.0).reshape(10, 2))
        s = load_scenario(write(tmp_path, MINIMAL + "[input]\nkind = \"file\"\npath = \"data/x.npy\"\nsteps = 6\n"))
        assert s.x.shape == (1, 6, 2) and s.model.n_in == 2
        np.savetxt(tmp_path / "x.csv", np.ones((5, 3)), delimiter=",")
        s = load_scenario(write(tmp_path, MINIMAL + "[input]\nkind = \"file\"\npath = \"x.csv\"\n"))
        assert s.x.shape == (1, 5, 3)

    def test_overrides(self, tmp_path):
        path = write(tmp_path, MINIMAL)
        s = load_scenario(path, ["model.start=1", "input.steps=10", "engine.name=compiled",
                                 "model.periods=[1, 3, 9]"])
        assert s.model.start == 1 and s.x.shape[1] == 10 and s.engine == "compiled"
        assert [c.period for c in s.model.clocks] == [1, 3, 9]

    def test_an_override_of_the_clocks_replaces_the_periods(self, tmp_path):
        path = write(tmp_path, MINIMAL)
        clocks = '[{kind = "periodic", period = 1}, {kind = "jittered", period = 2.5, jitter = 0.0}]'
        s = load_scenario(path, [f"model.clocks={clocks}", "model.module_sizes=[2, 2]"])
        assert [c.label for c in s.model.clocks] == ["T=1", "T=2.5"]
        s = load_scenario(path, [f"model.clocks={clocks}", "model.module_sizes=[2, 2]", "model.periods=[1, 4]"])
        assert [c.period for c in s.model.clocks] == [1, 4]                 # the later override wins

    @pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
    def test_bundled_scenarios_parse_and_say_what_they_show(self, path):
        s = load_scenario(path)
        assert path.read_text().startswith("# ") and len(s.description) > 40


class TestMistakes:
    """Each class of mistake: a ScenarioError naming the file, the key, the value, the expectation."""

    @pytest.mark.parametrize("text,msg", [
        ("[model\nperiods = [1]", "not valid TOML"),
        ("", "empty scenario, expected at least a [model] table"),
        ("# only a comment\n", "empty scenario"),
        ("[input]\nsteps = 3\n", "model: got nothing, expected a [model] table"),
        (MINIMAL + "perods = [1]\n", "model.perods: unknown key (did you mean 'periods'?)"),
        (MINIMAL + "[inptu]\n", "inptu: unknown key (did you mean 'input'?)"),
        ("[model]\nperiods = \"1,2\"\n", "model.periods: got '1,2', expected a non-empty array of integers"),
        ("[model]\nperiods = [1, -2]\n", r"model.periods[1]: got -2, expected an integer >= 1"),
        ("[model]\nperiods = [1, 2]\nmodule_sizes = [3, 0]\n",
         "model.module_sizes[1]: got 0, expected an integer >= 1"),
        (MINIMAL + "[input]\nperiod = nan\n", "input.period: got nan, expected a finite number"),
        (MINIMAL + "[input]\nsteps = 2.5\n", "input.steps: got 2.5, expected an integer >= 1"),
        (MINIMAL + "[input]\nkind = \"file\"\npath = \"missing.npy\"\n",
         "input.path: got 'missing.npy', expected an existing file"),
        (MINIMAL + "[engine]\ncompute = { cores = 0 }\n", "engine.compute.cores: got 0, expected an integer >= 1"),
        (MINIMAL + "[engine]\nname = \"compiled\"\ndeadline = 1.0\n",
         "engine.deadline: got 1.0, expected no timing keys"),
        ("[model]\nclocks = [{ kind = \"poisson\", rate = 0.0 }]\n", "model.clocks[0].rate: got 0"),
        ("[model]\nclocks = [{ kind = \"jittered\", period = 1.0, jitter = 1.0 }]\n", "model.clocks[0].jitter: got 1"),
        ("[model]\nclocks = [{ kind = \"explicit\", times = [3, 1] }]\n", "strictly increasing"),
        ("[model]\nperiods = [4, 2]\n", "model.clocks: module 1 (T=2) is faster than module 0 (T=4)"),
        ("[model]\nperiods = [1, 2]\nconnectivity = [[true]]\n", "model.connectivity: got [[True]], expected a 2 x 2"),
        (MINIMAL + "[engine]\nlatency = -1.0\n", "engine.latency: got -1.0, expected a delay >= 0"),
        (MINIMAL + "[output]\nplots = [\"activity\", \"pie\"]\n", "output.plots[1]: got 'pie', expected one of"),
    ])
    def test_one_line_error(self, tmp_path, text, msg):
        path = write(tmp_path, text)
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        message = str(info.value)
        assert message.startswith(str(path)) and "\n" not in message
        assert msg in message

    def test_missing_file(self, tmp_path):
        with pytest.raises(ScenarioError, match="no such scenario file"):
            load_scenario(tmp_path / "nope.toml")

    @pytest.mark.parametrize("item,msg", [
        ("model.start", "expected key.path=value"),
        ("nosection.key=1", "expected section.key with a section among"),
        ("model.start=-1", "model.start: got -1, expected an integer >= 0"),
    ])
    def test_bad_overrides(self, tmp_path, item, msg):
        with pytest.raises(ScenarioError, match=msg.replace("(", r"\(").replace(".", r"\.")):
            load_scenario(write(tmp_path, MINIMAL), [item])


class TestScheduleKeysDoNotConflict:
    """A family (``family``, ``base``, ``step``) beside ``periods`` or ``clocks`` is refused, never ignored."""

    @pytest.mark.parametrize("extra,key,given", [
        ('family = "fibonacci"\n', "model.family", "model.periods"),
        ("base = 3\n", "model.base", "model.periods"),
        ("step = 2\n", "model.step", "model.periods"),
    ])
    def test_a_family_beside_periods_in_the_file(self, tmp_path, extra, key, given):
        with pytest.raises(ScenarioError) as info:
            load_scenario(write(tmp_path, MINIMAL + extra))
        assert info.value.key == key and given in str(info.value) and "\n" not in str(info.value)

    def test_a_family_beside_clocks(self, tmp_path):
        text = '[model]\nmodule_sizes = 2\nfamily = "prime"\n[[model.clocks]]\nkind = "periodic"\nperiod = 1\n'
        with pytest.raises(ScenarioError, match=r"model.family: got 'prime' beside model.clocks"):
            load_scenario(write(tmp_path, text))

    def test_set_family_on_a_scenario_with_periods_is_one_line_naming_both(self, tmp_path, capsys):
        from clocksim.app.cli import main

        path = write(tmp_path, MINIMAL)
        code = main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--set", "model.family=fibonacci"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert "model.family: got 'fibonacci' beside model.periods" in err
        assert not (tmp_path / "out").exists()

    def test_set_periods_replaces_a_family(self, tmp_path):
        text = '[model]\nfamily = "exponential"\nmodules = 4\nbase = 3\nmodule_sizes = 2\n'
        s = load_scenario(write(tmp_path, text), ["model.periods=[1, 5, 7]"])
        assert s.model.periods == (1, 5, 7) and "family" not in s.raw["model"] and "base" not in s.raw["model"]


class TestResultShape:
    """execute() shapes results as simulate() does for the same kind of input: one sequence, no batch axis."""

    def test_unbatched_scenario_gives_simulates_shape_and_values(self, tmp_path):
        from clocksim.app.execute import execute

        s = load_scenario(write(tmp_path, MINIMAL + "[input]\nsteps = 24\n[engine]\nname = \"compiled\"\n"))
        assert not s.batched
        run = execute(s)
        x = np.asarray(s.x[:, :24])[0]                                   # the same sequence, as (L, n_in)
        ref = cs.simulate(s.model, x, engine="compiled")
        assert run.result.y.shape == ref.y.shape == (24, 1) and run.result.h.shape == ref.h.shape == (24, 9)
        assert np.array_equal(run.result.y, ref.y) and np.array_equal(run.result.h, ref.h)

    @pytest.mark.parametrize("keep,y_shape,h_shape", [("last", (1,), (9,)), ("outputs", (24, 1), None)])
    def test_unbatched_keep_modes(self, tmp_path, keep, y_shape, h_shape):
        from clocksim.app.execute import execute

        s = load_scenario(write(tmp_path, MINIMAL + f"[input]\nsteps = 24\n[output]\nkeep = \"{keep}\"\n"))
        run = execute(s)
        assert run.result.y.shape == y_shape and (run.result.h is None if h_shape is None
                                                  else run.result.h.shape == h_shape)

    def test_batched_scenarios_keep_the_batch_axis(self, tmp_path):
        from clocksim.app.execute import execute

        s = load_scenario(write(tmp_path, MINIMAL + "[input]\nsteps = 24\nbatch = 1\n"))
        assert s.batched and execute(s).result.y.shape == (1, 24, 1)
        s = load_scenario(write(tmp_path, MINIMAL + "[input]\nsteps = 24\nbatch = 3\n"))
        assert execute(s).result.y.shape == (3, 24, 1)

    @pytest.mark.parametrize("shape,batched", [((10, 1), False), ((2, 10, 1), True)])
    def test_an_input_file_is_batched_when_it_holds_a_batch(self, tmp_path, shape, batched):
        from clocksim.app.execute import execute

        np.save(tmp_path / "x.npy", np.linspace(0.0, 1.0, int(np.prod(shape))).reshape(shape))
        s = load_scenario(write(tmp_path, MINIMAL + "[input]\nkind = \"file\"\npath = \"x.npy\"\n"))
        assert s.batched is batched
        assert execute(s).result.y.shape == shape[:-1] + (1,)
