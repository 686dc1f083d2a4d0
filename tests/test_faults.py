"""The command line and output folders under faults (issue 25, point 7).

Symbolic links, read-only folders and very long names as ``--out``; a failed run leaves no parent
folders; a broken pipe is not an error; a plot over a link writes through it; no ``.tmp`` / ``.old``
/ ``.lock`` entry is ever left; two commands on one folder: the second is refused at once naming
the lock; damaged state files (checkpoint, search journal, trace parts, results table, trace) are
refused with one line naming the file. Exit status 2 with one line, never a traceback.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_training_scenarios import GENERATION

from clocksim._files import FileLock, InUseError, atomic_write, read_json, write_json
from clocksim.app.cli import main
from clocksim.errors import FileFormatError

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "scenarios" / "quickstart.toml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv, **kwargs):
    """The command line in a process of its own (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "clocksim", *map(str, argv)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300, **kwargs)
    return proc.returncode, proc.stdout, proc.stderr


def one_line(err: str) -> str:
    """The one error line of a refused command (no traceback, no second line)."""
    lines = [line for line in err.splitlines() if not line.startswith("clocksim: compiling")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("clocksim: error: "), err
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary, set-aside or lock entries anywhere under ``folder`` (there must be none)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.endswith((".tmp", ".lock")) or ".old" in p.name)


# ---------------------------------------------------------------------- the one writer, JSON and lock
def test_atomic_write_writes_through_a_link_and_leaves_nothing_on_failure(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "link.txt").symlink_to("real.txt")
    atomic_write(tmp_path / "link.txt", lambda f: f.write(b"new"))
    assert (tmp_path / "link.txt").is_symlink() and (tmp_path / "real.txt").read_text() == "new"

    def fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "link.txt", fail)
    assert (tmp_path / "real.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]
    (tmp_path / "dangling.txt").symlink_to("made.txt")
    atomic_write(tmp_path / "dangling.txt", lambda f: f.write(b"x"))
    assert (tmp_path / "dangling.txt").is_symlink() and (tmp_path / "made.txt").read_bytes() == b"x"


def test_atomic_write_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "f"
    path.write_text("a")
    path.chmod(0o640)
    atomic_write(path, lambda f: f.write(b"b"))
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_text() == "b"


def test_atomic_write_takes_a_name_of_255_bytes(tmp_path):
    path = tmp_path / ("n" * 255)
    atomic_write(path, lambda f: f.write(b"x"))
    assert path.read_bytes() == b"x" and leftovers(tmp_path) == []


def test_write_json_and_read_json(tmp_path):
    write_json(tmp_path / "a.json", {"n": np.int64(3), "x": np.arange(2.0), "p": tmp_path})
    assert read_json(tmp_path / "a.json") == {"n": 3, "x": [0.0, 1.0], "p": str(tmp_path)}
    (tmp_path / "b.json").write_text('{"n": 3, "x": [0.0,')
    with pytest.raises(FileFormatError, match=r"b.json: not a readable JSON file .*truncated"):
        read_json(tmp_path / "b.json")


def test_a_second_holder_of_the_lock_is_refused_at_once_naming_the_lock_file(tmp_path):
    with FileLock(tmp_path / ".x.lock", what="x"):
        t0 = time.perf_counter()
        with pytest.raises(InUseError, match=r"x is in use by another clocksim process \(lock .*\.x\.lock\)"):
            with FileLock(tmp_path / ".x.lock", what="x"):
                pass
        assert time.perf_counter() - t0 < 1.0
    with FileLock(tmp_path / ".x.lock", reentrant=True):           # nested blocks of one process share it
        with FileLock(tmp_path / ".x.lock", reentrant=True):
            pass
        assert (tmp_path / ".x.lock").exists()                      # still held by the outer block
        with pytest.raises(InUseError):
            with FileLock(tmp_path / ".x.lock"):
                pass
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------- --out: links, read-only, long names
def test_out_a_link_to_an_empty_folder_is_written_through(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "link", "--quiet")
    assert code == 0, err
    assert (tmp_path / "link").is_symlink() and os.readlink(tmp_path / "link") == "real"
    assert (tmp_path / "real" / "summary.json").is_file()
    assert leftovers(tmp_path) == []


def test_out_a_link_to_a_full_folder_needs_force_and_keeps_the_link(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "old.txt").write_text("previous run")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "link", "--quiet")
    assert code == 2 and "not empty; pass --force" in one_line(err)
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "link", "--quiet", "--force")
    assert code == 0, err
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "summary.json").is_file()
    assert not (tmp_path / "real" / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"] and leftovers(tmp_path) == []


def test_out_a_dangling_link_creates_its_target(tmp_path, capsys):
    (tmp_path / "link").symlink_to("made")
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "link", "--quiet")
    assert code == 0, err
    assert (tmp_path / "link").is_symlink() and (tmp_path / "made" / "summary.json").is_file()
    assert leftovers(tmp_path) == []


def test_out_a_loop_of_links_is_refused(tmp_path, capsys):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "a", "--quiet")
    assert code == 2 and "--out: " in one_line(err) and "loop of symbolic links" in err


@pytest.mark.parametrize("where", ["out", "parent"])
def test_a_read_only_out_or_parent_is_refused_and_left_alone(tmp_path, capsys, where):
    folder = tmp_path / "ro"
    folder.mkdir()
    out = folder if where == "out" else folder / "run"
    folder.chmod(0o555)
    try:
        code, _, err = run(capsys, "run", QUICK, "--out", out, "--quiet", "--force")
        assert code == 2 and "read-only" in one_line(err) and "--out: " in err
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
    assert leftovers(tmp_path) == []


def test_a_very_long_name_works_and_its_siblings_stay_short(tmp_path, capsys):
    name = "r" * 250                       # the folder's own name fits; ".NAME.PID.xxxx.tmp" would not
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / name, "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name] and (tmp_path / name / "summary.json").is_file()
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / name, "--quiet", "--force")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("out", ["n" * 256, "a/" + "é" * 200 + "/b", "d/" * 2100])
def test_a_name_or_path_too_long_is_refused_in_one_line(tmp_path, capsys, out):
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / out, "--quiet")
    assert code == 2 and "--out: " in one_line(err) and "expected" in err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- failures leave nothing behind
def test_a_failed_run_leaves_no_parent_folders(tmp_path, capsys, monkeypatch):
    from clocksim.app import outputs
    from clocksim.errors import InvalidValueError

    def fails(*args, **kwargs):
        raise InvalidValueError("diverged in the first epoch", key="train")

    monkeypatch.setattr(outputs, "execute", fails)
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "a" / "b" / "c", "--quiet")
    assert code == 2 and "train: diverged" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_parent_folders_that_were_there(tmp_path, capsys, monkeypatch):
    from clocksim.app import outputs
    from clocksim.errors import InvalidValueError

    (tmp_path / "a").mkdir()
    monkeypatch.setattr(outputs, "execute", lambda *a, **k: (_ for _ in ()).throw(InvalidValueError("no")))
    code, _, err = run(capsys, "run", QUICK, "--out", tmp_path / "a" / "b" / "c", "--quiet")
    assert code == 2
    assert [p.name for p in tmp_path.rglob("*")] == ["a"]


def test_a_broken_pipe_exits_0_quietly():
    for steps in (100_000, 4):                      # the reader leaves mid-output, or before the last flush
        proc = subprocess.Popen([sys.executable, "-m", "clocksim", "explain", "--periods", "1,2,4,8", "--steps",
                                 str(steps)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().startswith(b"Clock rate")
        proc.stdout.close()
        assert proc.wait(timeout=60) == 0
        assert proc.stderr.read() == b""
        proc.stderr.close()


def test_explain_piped_to_head_exits_0():
    shell = (f"{sys.executable} -m clocksim explain --periods 1,2,4,8 --steps 100000 | head -1; "
             "exit ${PIPESTATUS[0]}")
    proc = subprocess.run(["bash", "-c", shell], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.count("\n") == 1


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick") / "o"
    assert main(["run", str(QUICK), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("link", ["to a file", "dangling"])
def test_a_plot_over_a_link_writes_through_it(quick_run, tmp_path, capsys, link):
    if link == "to a file":
        (tmp_path / "real.png").write_bytes(b"old")
    (tmp_path / "fig.png").symlink_to("real.png")
    code, _, err = run(capsys, "plot", quick_run / "trace.npz", "--out", tmp_path / "fig.png")
    assert code == 0, err
    assert (tmp_path / "fig.png").is_symlink()
    assert (tmp_path / "real.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png", "real.png"]


# ---------------------------------------------------------------------- two commands on one folder
def _wait_for(path: Path, proc, seconds: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < seconds, f"{path} never appeared"
        time.sleep(0.05)


def _second_is_refused(capsys, first_argv, second_argv, lock: Path):
    """Start ``first_argv`` in a process, wait until it holds ``lock``, run ``second_argv`` here: refused at once,
    naming the lock; then stop the first (SIGTERM): it cleans up after itself."""
    first = subprocess.Popen([sys.executable, "-m", "clocksim", *map(str, first_argv)], cwd=ROOT, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lock, first)
        t0 = time.perf_counter()
        code, _, err = run(capsys, *second_argv)
        took = time.perf_counter() - t0
        assert code == 2 and "in use by another clocksim process" in one_line(err) and str(lock) in err
        assert took < 5.0
        assert first.poll() is None                      # the first one was not disturbed
    finally:
        first.terminate()
        first.wait(timeout=60)
    return first


@pytest.fixture
def long_training(tmp_path):
    path = tmp_path / "gen.toml"
    path.write_text(GENERATION.replace("epochs = 8", "epochs = 100000").replace("checkpoint_every = 2",
                                                                                  "checkpoint_every = 1"))
    return path


def test_two_resumes_on_one_folder_the_second_is_refused(tmp_path, capsys, long_training):
    out = tmp_path / "o"
    first = _second_is_refused(capsys, ["run", long_training, "--out", out, "--quiet"],
                               ["run", long_training, "--out", out, "--quiet", "--resume"], tmp_path / ".o.lock")
    assert first.returncode == 128 + 15
    assert leftovers(tmp_path) == []


SEARCH_BASE = """\
[model]
module_sizes = 4
family = "exponential"
modules = 4
seed = 0

[input]
kind = "noise"
steps = 48
channels = 2

[engine]
name = "events"
deadline = 1.0
compute = { cores = 1, throughput = 115.0, priority = "slowest-first" }
"""

SEARCH = """\
[search]
scenario = "base.toml"
trials = 4
sampler = "random"
seed = 1

[[objectives]]
metric = "latency.p99"

[phases]
"""


def write_search(tmp_path, text=SEARCH) -> Path:
    (tmp_path / "base.toml").write_text(SEARCH_BASE)
    (tmp_path / "s.toml").write_text(text)
    return tmp_path / "s.toml"


def test_two_searches_on_one_folder_the_second_is_refused(tmp_path, capsys):
    pytest.importorskip("optuna")
    spec = write_search(tmp_path)
    out = tmp_path / "o"
    first = _second_is_refused(capsys, ["search", spec, "--out", out, "--trials", "100000", "--quiet"],
                               ["search", spec, "--out", out, "--trials", "2", "--quiet"], tmp_path / ".o.lock")
    assert first.returncode == 128 + 15
    assert leftovers(tmp_path) == []


def test_a_spec_with_an_unknown_metric_leaves_nothing_behind(tmp_path, capsys):
    pytest.importorskip("optuna")
    spec = write_search(tmp_path, SEARCH.replace("latency.p99", "latency.p95"))
    code, _, err = run(capsys, "search", spec, "--out", tmp_path / "x" / "o", "--quiet")
    assert code == 2 and "latency.p95: no 'p95'" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "s.toml"]


# ---------------------------------------------------------------------- damaged state files
@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    pytest.importorskip("optuna")
    tmp = tmp_path_factory.mktemp("search")
    spec = write_search(tmp)
    assert main(["search", str(spec), "--out", str(tmp / "o"), "--trials", "2", "--quiet"]) == 0
    return spec, tmp / "o"


def _copy(folder: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(folder, to, symlinks=True)
    return to


def test_a_journal_cut_short_by_a_full_disk_is_recovered(searched, tmp_path, capsys):
    spec, source = searched
    out = _copy(source, tmp_path / "o")
    journal = out / "study.journal"
    data = journal.read_bytes()
    journal.write_bytes(data[:len(data) - 20])          # the last record half written
    code, out_text, err = run(capsys, "search", spec, "--out", out, "--trials", "3")
    assert code == 0, err
    assert "note: dropped an incomplete last record of study.journal" in out_text
    assert journal.read_bytes().endswith(b"\n") and leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["garbage line", "not a record", "binary"])
def test_a_journal_damaged_inside_is_refused_in_one_line(searched, tmp_path, capsys, damage):
    spec, source = searched
    out = _copy(source, tmp_path / "o")
    journal = out / "study.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    bad = {"garbage line": b'{"op_code": 5, "worker_id": "x", "trial_i\n', "not a record": b"[1, 2, 3]\n",
           "binary": b"\x00\xff\x00\n"}[damage]
    journal.write_bytes(b"".join(lines[:2]) + bad + b"".join(lines[2:]))
    before = journal.read_bytes()
    code, _, err = run(capsys, "search", spec, "--out", out, "--trials", "3", "--quiet")
    assert code == 2 and "study.journal: line 3: not an Optuna journal record" in one_line(err)
    assert journal.read_bytes() == before


def test_a_journal_optuna_cannot_replay_is_refused_in_one_line(searched, tmp_path, capsys):
    spec, source = searched
    out = _copy(source, tmp_path / "o")
    (out / "study.journal").write_text('{"op_code": 4, "worker_id": "w", "trial_id": 99, "state": 1}\n')
    code, _, err = run(capsys, "search", spec, "--out", out, "--trials", "3", "--quiet")
    assert code == 2 and "study.journal: " in one_line(err)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """A trace written in parts (trace_dir) by a small run."""
    import clocksim as cs

    tmp = tmp_path_factory.mktemp("parts")
    model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2], seed=0)
    x = np.random.default_rng(0).normal(size=(40, 1))
    cs.simulate(model, iter([x[:20], x[20:]]), engine="compiled", trace_dir=tmp / "t")
    return tmp / "t"


def _damage_part(path: Path, how: str) -> None:
    from clocksim.trace.files import read_npz

    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        return
    arrays = read_npz(path, lambda name: __import__("clocksim.trace.files", fromlist=["Entry"]).Entry("V", 1),
                      what="part")
    if how == "wrong dtype":
        arrays["activations"] = np.zeros(3, dtype=[("module", "i8"), ("time", "f8")])
    elif how == "wrong shape":
        arrays["activations"] = np.zeros((2, 2), dtype=arrays["activations"].dtype)
    elif how == "NaN times":
        arrays["activations"]["time"][0] = np.nan
    elif how == "module out of range":
        arrays["activations"]["module"][0] = 7
    np.savez(path, **arrays)


@pytest.mark.parametrize("how, match", [
    ("truncated", r"part_000000.npz: not a readable clocksim trace part"),
    ("wrong dtype", r"part_000000.npz: activations: got dtype"),
    ("wrong shape", r"part_000000.npz: activations: got shape \(2, 2\)"),
    ("NaN times", r"part_000000.npz: activations.time: holds NaN"),
    ("module out of range", r"part_000000.npz: activations.module: holds module 7"),
])
def test_damaged_trace_parts_are_refused_naming_the_part(parts, tmp_path, how, match):
    from clocksim.engine.stream import read_trace_parts

    folder = _copy(parts, tmp_path / "t")
    read_trace_parts(folder)                                 # whole: it reads
    _damage_part(folder / "part_000000.npz", how)
    with pytest.raises(FileFormatError, match=match) as info:
        read_trace_parts(folder)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("meta, match", [
    ('{"module_sizes": [2, 2], "peri', r"meta.json: not a readable trace meta file"),
    ("[1, 2]", r"meta.json: holds a JSON list, expected an object"),
    ('{"module_sizes": "two"}', r"meta.json: meta.module_sizes: got two"),
])
def test_a_damaged_trace_meta_is_refused_naming_it(parts, tmp_path, meta, match):
    from clocksim.engine.stream import read_trace_parts

    folder = _copy(parts, tmp_path / "t")
    (folder / "meta.json").write_text(meta)
    with pytest.raises(FileFormatError, match=match):
        read_trace_parts(folder)


@pytest.mark.parametrize("how, match", [
    ("truncated", r"trace.npz: not a readable clocksim trace"),
    ("wrong version", r"trace.npz: format: got format 'clocksim-trace' version 99"),
    ("NaN times", r"trace.npz: activations.time: holds NaN"),
    ("wrong shape", r"trace.npz: activations: got shape"),
])
def test_a_damaged_trace_file_is_refused_by_plot_in_one_line(quick_run, tmp_path, capsys, how, match):
    import re

    from clocksim.trace.core import _TRACE_SCHEMA
    from clocksim.trace.files import read_npz, write_npz

    path = tmp_path / "trace.npz"
    if how == "truncated":
        data = (quick_run / "trace.npz").read_bytes()
        path.write_bytes(data[:len(data) * 2 // 3])
    else:
        arrays = read_npz(quick_run / "trace.npz", _TRACE_SCHEMA.get, what="trace")
        if how == "wrong version":
            arrays["format"] = np.array(json.dumps({"format": "clocksim-trace", "version": 99}))
        elif how == "NaN times":
            arrays["activations"]["time"][1] = np.nan
        else:
            arrays["activations"] = arrays["activations"][:4].reshape(2, 2)
        write_npz(path, arrays)
    code, _, err = run(capsys, "plot", path, "--out", tmp_path / "f.png")
    assert code == 2 and re.search(match, one_line(err)), err
    assert not (tmp_path / "f.png").exists() and leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder whose checkpoint.npz holds 2 epochs of the small generation scenario."""
    tmp = tmp_path_factory.mktemp("ck")
    (tmp / "s.toml").write_text(GENERATION)
    assert main(["run", str(tmp / "s.toml"), "--out", str(tmp / "o"), "--quiet", "--set", "train.epochs=2"]) == 0
    return tmp / "s.toml", tmp / "o" / "checkpoint.npz"


@pytest.mark.parametrize("how, match", [
    ("truncated", r"checkpoint.npz: not a readable clocksim checkpoint"),
    ("wrong version", r"checkpoint.npz: meta.format: got format 'clocksim-checkpoint' version 1"),
    ("wrong shape", r"checkpoint.npz: params/W_in: got shape \(1,\)"),
    ("NaN", r"checkpoint.npz: params/W_out: holds NaN"),
])
def test_a_damaged_checkpoint_is_refused_in_one_line(trained, tmp_path, capsys, how, match):
    import re

    from clocksim.train.checkpoint import load_checkpoint, save_checkpoint

    scenario, source = trained
    (tmp_path / "o").mkdir()
    target = tmp_path / "o" / "checkpoint.npz"
    if how == "truncated":
        data = source.read_bytes()
        target.write_bytes(data[:len(data) // 2])
    else:
        state = load_checkpoint(source)
        state.pop("path")
        if how == "wrong version":
            state["meta"]["version"] = 1
        elif how == "wrong shape":
            state["params"]["W_in"] = np.zeros(1)
        else:
            state["params"]["W_out"] = np.full_like(state["params"]["W_out"], np.nan)
        save_checkpoint(target, state)
    before = target.read_bytes()
    code, _, err = run(capsys, "run", scenario, "--out", tmp_path / "o", "--quiet", "--resume",
                       "--set", "train.epochs=4")
    assert code == 2 and re.search(match, one_line(err)), err
    assert target.read_bytes() == before and leftovers(tmp_path) == []


SWEEP = """\
[sweep]
scenario = "{scenario}"
[grid]
model.seed = [0, 1]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    (tmp / "w.toml").write_text(SWEEP.format(scenario=QUICK))
    assert main(["sweep", str(tmp / "w.toml"), "--out", str(tmp / "o"), "--scheduler", "serial", "--quiet"]) == 0
    return tmp / "w.toml", tmp / "o"


def test_a_results_table_cut_short_is_recovered(swept, tmp_path, capsys):
    spec, source = swept
    out = _copy(source, tmp_path / "o")
    table = out / "results.csv"
    data = table.read_bytes()
    table.write_bytes(data[:len(data) - 10])                     # the last point's line half written
    code, text, err = run(capsys, "sweep", spec, "--out", out, "--scheduler", "serial")
    assert code == 0, err
    assert "1 run, 1 already done" in text and "dropped an incomplete last line of results.csv" in text
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("how, match", [
    ("another header", r"results.csv: holds the results of a different sweep"),
    ("wrong row length", r"results.csv: line 2: got 2 cells, expected"),
    ("text for a number", r"results.csv: line 2: column wall_time holds 'NaNx', expected a number"),
    ("not text", r"results.csv: line 2: not UTF-8 text"),
])
def test_a_damaged_results_table_is_refused_in_one_line(swept, tmp_path, capsys, how, match):
    import re

    spec, source = swept
    out = _copy(source, tmp_path / "o")
    table = out / "results.csv"
    lines = table.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    if how == "another header":
        lines[0] = "id,status,other\n"
    elif how == "wrong row length":
        lines[1] = "a,b\n"
    elif how == "text for a number":
        cells = lines[1].rstrip("\n").split(",")
        cells[header.index("wall_time")] = "NaNx"
        lines[1] = ",".join(cells) + "\n"
    table.write_text("".join(lines))
    if how == "not text":
        table.write_bytes(lines[0].encode() + b"\xff\xfe\n" + "".join(lines[2:]).encode())
    before = table.read_bytes()
    code, _, err = run(capsys, "sweep", spec, "--out", out, "--scheduler", "serial", "--quiet")
    assert code == 2 and re.search(match, one_line(err)), err
    assert table.read_bytes() == before and leftovers(tmp_path) == []
