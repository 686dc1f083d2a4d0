"""Output folders: whole or nothing, one writer at a time, odd paths refused, signals clean up."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import without_notice

from clocksim.app.cli import main
from clocksim.app.folders import output_folder

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "scenarios" / "quickstart.toml"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


class held_elsewhere:
    """The folder lock of ``path`` held by another process for the duration of the block."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        code = ("import sys, time; from clocksim.folders import folder_lock\n"
                "with folder_lock(sys.argv[1]):\n    print('locked', flush=True); sys.stdin.read()")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(self.path)], cwd=ROOT, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)},
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc):
        self.proc.communicate("", timeout=30)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("out", [".", "sub/..", "sub/../."])
def test_the_current_folder_is_refused(tmp_path, capsys, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run(capsys, "run", QUICK, "--out", out, "--force", "--quiet")
    assert code == 2 and err.count("\n") == 1 and "--out:" in err and "current folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "sub"]


def test_a_path_under_a_file_or_where_no_folder_can_be_made(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "afile" / "sub", "--quiet")
    assert code == 2 and "--out:" in err and "is under" in err and "a file" in err
    code, _, err = run(capsys, "run", QUICK, "--out", "/proc/clocksim-x", "--quiet")
    assert code == 2 and err.count("\n") == 1 and "--out:" in err


def test_a_folder_in_use_is_refused(tmp_path, capsys):
    with held_elsewhere(tmp_path / "o"):
        code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "o", "--quiet")
    assert code == 2 and "in use by another clocksim process" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert run(capsys, "run", QUICK, "--out", tmp_path / "o", "--quiet")[0] == 0     # free again afterwards
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_sweep_force_refuses_a_folder_another_sweep_holds(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'[sweep]\nscenario = "{QUICK}"\n[grid]\nmodel.seed = [0, 1]\n')
    assert run(capsys, "sweep", sweep, "--out", tmp_path / "o", "--scheduler", "serial", "--quiet")[0] == 0
    before = (tmp_path / "o" / "results.csv").read_bytes()
    with held_elsewhere(tmp_path / "o"):
        code, _, err = run(capsys, "sweep", sweep, "--out", tmp_path / "o", "--scheduler", "serial", "--force")
    assert code == 2 and "in use" in err
    assert (tmp_path / "o" / "results.csv").read_bytes() == before


def test_stale_temporary_siblings_of_dead_processes_are_removed(tmp_path, capsys):
    dead = tmp_path / ".o.999999999.abcd1234.tmp"
    dead.mkdir()
    (dead / "summary.json").write_text("{}")
    alive = tmp_path / f".o.{os.getppid()}.efgh5678.tmp"            # a running process's: kept
    alive.mkdir()
    assert run(capsys, "run", QUICK, "--out", tmp_path / "o", "--quiet")[0] == 0
    assert hidden(tmp_path) == [alive.name]


def test_failure_inside_the_block_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), output_folder(tmp_path / "o") as tmp:
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_removes_the_temporary_folder(tmp_path, sig):
    scenario = tmp_path / "long.toml"
    scenario.write_text(QUICK.read_text().replace("steps = 64", "steps = 400000"))
    proc = subprocess.Popen([sys.executable, "-m", "clocksim", "run", str(scenario), "--out", str(tmp_path / "o"),
                             "--quiet"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    err = without_notice(err)                                  # a cold numba cache says it is compiling
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml"]


def test_diverged_training_leaves_no_empty_folder(tmp_path, capsys):
    from test_training_scenarios import GENERATION, write
    path = write(tmp_path, GENERATION.replace("learning_rate = 0.1", "learning_rate = 1e300"))
    code, _, err = run(capsys, "run", path, "--out", tmp_path / "o", "--quiet")
    assert code == 2 and "training diverged" in err
    assert not (tmp_path / "o").exists() and hidden(tmp_path) == []


def test_a_signal_swallowed_inside_a_c_callback_still_stops_the_folder(tmp_path):
    """numba compiles through llvmlite callbacks that swallow exceptions: the handler's Terminated is then lost,
    so the signal is remembered and raised again when the folder would appear (which it then does not)."""
    from clocksim.app import folders
    previous = folders.handle_signals()
    try:
        with pytest.raises(folders.Terminated) as err, output_folder(tmp_path / "o") as tmp:
            (tmp / "summary.json").write_text("{}")
            folders._RECEIVED.append(signal.SIGTERM)        # what the handler records before its raise is lost
        assert err.value.signum == signal.SIGTERM
        assert list(tmp_path.iterdir()) == []
    finally:
        folders.restore_signals(previous)
    assert folders._RECEIVED == []
