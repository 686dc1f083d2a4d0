"""The command line, through main([...]) returning an exit code."""

import pytest

from clocksim.app.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestExplain:
    def test_seed_example_start_one(self, capsys):
        code, out, err = run(capsys, "explain", "--periods", "1,2,4,8,16,32,64,128", "--start", "1",
                             "--steps", "8", "--at", "128")
        assert code == 0 and err == ""
        rows = {line[2:].split()[0]: line.split("   ")[-1].strip() for line in out.splitlines()
                if line[2:6].strip().isdigit()}
        assert rows["1"] == "M1"
        assert rows["2"] == "M1 M2"
        assert rows["6"] == "M1 M2"
        assert rows["128"] == "M1 M2 M3 M4 M5 M6 M7 M8"
        assert "Not yet run: M5 at step 16, M6 at step 32, M7 at step 64, M8 at step 128." in out
        assert "With start=0 instead, the first input is step 0, where every module runs." in out

    def test_at_marks_the_asked_steps(self, capsys):
        _, plain, _ = run(capsys, "explain", "--periods", "1,2,4", "--steps", "8")
        code, out, _ = run(capsys, "explain", "--periods", "1,2,4", "--steps", "8", "--at", "6,20")
        assert code == 0 and out != plain
        marked = [line for line in out.splitlines() if line.startswith("->") and line[2:6].strip().isdigit()]
        assert [int(line[2:6]) for line in marked] == [6, 20]
        assert "-> marks the steps asked about (6, 20)." in out
        assert not any(line.startswith("->") for line in plain.splitlines())

    def test_start_zero_runs_everything_first(self, capsys):
        code, out, _ = run(capsys, "explain", "--periods", "1,2,4", "--start", "0", "--steps", "3")
        rows = [line for line in out.splitlines() if line[:6].strip().isdigit()]
        assert rows[0].split("   ")[-1].strip() == "M1 M2 M3"
        assert "With start=1 instead, the first input is step 1, where M1 runs." in out

    def test_family_and_phases(self, capsys):
        code, out, _ = run(capsys, "explain", "--family", "fibonacci", "--modules", "4", "--phases", "0,1,0,2",
                           "--steps", "4")
        assert code == 0
        assert "2+1" in out and "5+2" in out

    @pytest.mark.parametrize("argv,msg", [
        (["explain", "--periods", "1,0"], "--periods (module M2): got 0"),
        (["explain", "--steps", "1000000000000"], "--steps: got 1000000000000, expected at most 100000"),
        (["explain", "--family", "prime", "--modules", "100000000"], "--modules: got 100000000, expected at most"),
        (["explain", "--periods", "1,x"], "argument --periods: got '1,x', expected comma-separated integers"),
        (["explain", "--steps", "0"], "--steps: got 0, expected an integer >= 1"),
        (["explain", "--start", "-1"], "--start: got -1"),
        (["explain", "--periods", "1,2", "--phases", "0"], "--phases: got 1 phases for 2 periods"),
        (["explain", "--periods", "4", "--phases", "4"], "--phases (module M1): got 4 for period 4"),
        (["explain", "--bogus"], "unrecognized arguments: --bogus"),
        (["explain", "--periods", "8,4,2,1"], "--periods: module 1 (T=4) is faster than module 0 (T=8); "
                                             "'slow-to-fast' wiring needs modules fastest first"),
        ([], "the following arguments are required: COMMAND"),
    ])
    def test_bad_input_is_one_line_exit_2(self, capsys, argv, msg):
        code, out, err = run(capsys, *argv)
        assert code == 2
        assert err.count("\n") == 1 and err.startswith("clocksim: error: ")
        assert msg in err
        assert "Traceback" not in err
