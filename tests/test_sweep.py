"""Sweeps: the file format and its points, running (serial, threads, a 2-process cluster), results, resume."""

import csv
import json
import os
import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers import require

import clocksim as cs
import clocksim.app.sweep.points as points
from clocksim.app.cli import main
from clocksim.app.execute import execute
from clocksim.plot.sweeps import pareto_front, plot_heatmap, plot_pareto
from clocksim.app.scenario import load_scenario
from clocksim.app.sweep import SWEEP_SCHEMA, SweepError, load_sweep, run_sweep
from clocksim.app.sweep.results import ResultsError, ResultsLog
from clocksim.app.sweep.schedulers import SchedulerError, check_scheduler

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "scenarios" / "sweeps"

#: A small timed scenario: three modules, 32 steps, one slow core (latency and deadline misses are recorded).
BASE = """\
# A tiny timed scenario for sweep tests.
[model]
module_sizes = 4
family = "exponential"
modules = 3
seed = 0

[input]
kind = "noise"
steps = 32
channels = 2

[engine]
name = "events"
deadline = 1.0
compute = { cores = 1, throughput = 60.0 }
"""

SWEEP = """\
# Families x cores, two seeds.
[sweep]
scenario = "../base/tiny.toml"
seeds = [0, 1]
seed_keys = ["input.seed"]

[grid]
model.family = ["exponential", "fibonacci"]
engine.compute.cores = [1, 2]
"""


@pytest.fixture
def base(tmp_path):
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "tiny.toml").write_text(BASE)
    return folder / "tiny.toml"


def write_sweep(tmp_path, text, name="s.toml"):
    folder = tmp_path / "sweeps"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def without_wall_time(table):
    """Rows sorted by id, wall time dropped: the order-independent content of a results table."""
    return sorted(({k: v for k, v in row.items() if k != "wall_time"} for row in table), key=lambda r: r["id"])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def count_calls(monkeypatch):
    """Count the points computed in this process (serial runs)."""
    calls = []
    compute = points.compute_point

    def counting(raw, path, metrics):
        calls.append(raw)
        return compute(raw, path, metrics)
    monkeypatch.setattr(points, "compute_point", counting)
    return calls


@pytest.fixture
def fails_on_two_cores(monkeypatch):
    """Points with engine.compute.cores = 2 fail when they run (after the sweep was validated)."""
    compute = points.compute_point

    def failing(raw, path, metrics):
        if raw["engine"]["compute"]["cores"] == 2:
            raise cs.InvalidValueError("got 2 values for 3 modules", key="priority")
        return compute(raw, path, metrics)
    monkeypatch.setattr(points, "compute_point", failing)


@pytest.fixture
def unchecked_points(monkeypatch):
    """Points are not validated when the sweep loads (as beyond spec.FULL_CHECK_POINTS): an invalid one fails
    when it runs, wherever that is."""
    import clocksim.app.sweep.spec as spec
    check = spec._check_point

    def lenient(*args):                  # an invalid point passes the load (its summary keys: the others')
        try:
            return check(*args)
        except cs.ClocksimError:
            return set()
    monkeypatch.setattr(spec, "_check_point", lenient)


# ---------------------------------------------------------------------- points
class TestPoints:
    def test_grid_is_the_cartesian_product_crossed_with_seeds(self, tmp_path, base):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        assert len(sweep.points) == 2 * 2 * 2
        assert [(p.params["model.family"], p.params["engine.compute.cores"], p.seed) for p in sweep.points][:4] == [
            ("exponential", 1, 0), ("exponential", 1, 1), ("exponential", 2, 0), ("exponential", 2, 1)]
        assert sweep.columns[:5] == ["id", "model.family", "engine.compute.cores", "seed", "status"]
        assert all(re.fullmatch(r"[0-9a-f]{12}", p.id) for p in sweep.points)
        assert len({p.id for p in sweep.points}) == len(sweep.points)
        raw = sweep.scenario(sweep.points[3])
        assert raw["input"]["seed"] == 1 and raw["engine"]["compute"] == {"cores": 2, "throughput": 60.0}
        assert raw["model"]["family"] == "exponential"

    def test_ids_are_a_pure_function_of_what_a_point_runs(self, tmp_path, base):
        path = write_sweep(tmp_path, SWEEP)
        ids = [p.id for p in load_sweep(path).points]
        assert [p.id for p in load_sweep(path).points] == ids
        base.write_text(BASE.replace("steps = 32", "steps = 33"))       # another base: other points
        assert not set(p.id for p in load_sweep(path).points) & set(ids)
        base.write_text(BASE.replace("# A tiny", "# A small"))           # a comment changes nothing
        assert [p.id for p in load_sweep(path).points] == ids

    def test_identical_points_are_merged(self, tmp_path, base):
        text = SWEEP.replace('["exponential", "fibonacci"]', '["exponential", "exponential"]')
        sweep = load_sweep(write_sweep(tmp_path, text))
        assert len(sweep.points) == 4 and sweep.duplicates == 4

    def test_repeats_and_fixed_keys(self, tmp_path, base):
        text = ('[sweep]\nscenario = "../base/tiny.toml"\nrepeats = 3\n[fixed]\ninput.steps = 16\n'
                'engine.compute.cores = 2\n[grid]\nmodel.start = [0, 1]\n')
        sweep = load_sweep(write_sweep(tmp_path, text))
        assert [p.seed for p in sweep.points] == [0, 1, 2, 0, 1, 2]
        raw = sweep.scenario(sweep.points[-1])
        assert raw["input"]["steps"] == 16 and raw["model"]["seed"] == 2 and raw["input"]["seed"] == 2
        assert raw["engine"]["compute"] == {"cores": 2, "throughput": 60.0}     # one key of the base's table

    RANDOM = """\
[sweep]
scenario = "../base/tiny.toml"
[random]
samples = 20
seed = {seed}
engine.compute.throughput = {{ low = 20.0, high = 200.0, log = true }}
engine.compute.cores = {{ low = 1, high = 3 }}
model.module_sizes = [2, 4, 8]
input.noise = {{ low = 0, high = 0.5 }}
"""

    def test_random_sampling_is_deterministic_for_a_seed(self, tmp_path, base):
        first = load_sweep(write_sweep(tmp_path, self.RANDOM.format(seed=7)))
        again = load_sweep(write_sweep(tmp_path, self.RANDOM.format(seed=7), "again.toml"))
        other = load_sweep(write_sweep(tmp_path, self.RANDOM.format(seed=8), "other.toml"))
        params = [p.params for p in first.points]
        assert [p.params for p in again.points] == params
        assert [p.id for p in again.points] == [p.id for p in first.points]
        assert [p.params for p in other.points] != params
        assert first.random_keys == ["engine.compute.throughput", "engine.compute.cores", "model.module_sizes",
                                     "input.noise"]
        for p in params:
            assert isinstance(p["engine.compute.throughput"], float) and 20.0 <= p["engine.compute.throughput"] <= 200
            assert type(p["engine.compute.cores"]) is int and 1 <= p["engine.compute.cores"] <= 3
            assert p["model.module_sizes"] in (2, 4, 8)
            assert isinstance(p["input.noise"], float) and 0 <= p["input.noise"] <= 0.5   # a float bound: floats
        assert {p["engine.compute.cores"] for p in params} == {1, 2, 3}       # both ends reachable

    def test_grid_is_crossed_with_the_same_random_draws(self, tmp_path, base):
        text = self.RANDOM.format(seed=1).replace("samples = 20", "samples = 3") + "[grid]\nmodel.start = [0, 1]\n"
        sweep = load_sweep(write_sweep(tmp_path, text))
        assert len(sweep.points) == 6 and sweep.grid_keys == ["model.start"]
        draws = [{k: v for k, v in p.params.items() if k != "model.start"} for p in sweep.points]
        assert draws[:3] == draws[3:]

    def test_relative_paths_become_absolute(self, tmp_path, base):
        np.save(base.parent / "x.npy", np.random.default_rng(0).normal(size=(24, 2)))
        base.write_text(BASE.replace('kind = "noise"', 'kind = "file"\npath = "x.npy"').replace("steps = 32\n", ""))
        (tmp_path / "sweeps").mkdir()
        np.save(tmp_path / "sweeps" / "y.npy", np.zeros((16, 2)))
        sweep = load_sweep(write_sweep(tmp_path, SWEEP + 'input.path = ["../base/x.npy", "y.npy"]\n'))
        paths = {sweep.scenario(p)["input"]["path"] for p in sweep.points}
        assert paths == {str(base.parent / "x.npy"), str(tmp_path / "sweeps" / "y.npy")}   # sweep's: from its file


# ---------------------------------------------------------------------- validation
BAD = [
    ("[gird]\nmodel.family = [\"prime\"]\n", r"gird: unknown key \(did you mean 'grid'\?\)"),
    ("[sweep]\nsceanrio = \"../base/tiny.toml\"\n", r"sweep.sceanrio: unknown key \(did you mean 'scenario'\?\)"),
    ("[grid]\nmodel.family = [\"prime\"]\n", r"sweep: got nothing, expected a \[sweep\] table"),
    ("[sweep]\nscenario = \"nowhere.toml\"\n", r"sweep.scenario: got 'nowhere.toml', expected an existing scenario"),
    ("{head}[grid]\nmodel.famly = [\"prime\"]\n", r"grid.model.famly: unknown scenario key model.famly "
                                                  r"\(did you mean model.family\?\)"),
    ("{head}[grid]\nmodle.family = [\"prime\"]\n", r"unknown scenario section 'modle' \(did you mean 'model'\?\)"),
    ("{head}[grid]\nmodel.family = \"prime\"\n", r"grid.model.family: got 'prime', expected a non-empty array"),
    ("{head}[grid]\nmodel.family = []\n", r"grid.model.family: got \[\], expected a non-empty array"),
    ("{head}[random]\nsamples = 2\nengine.compute.cores = {{ low = 3, high = 1 }}\n",
     r"random.engine.compute.cores: got \{'low': 3, 'high': 1\}, expected low < high"),
    ("{head}[random]\nsamples = 2\ninput.noise = {{ low = 0.0, high = 1.0, log = true }}\n",
     r"random.input.noise.low: got 0.0, expected a number > 0 with log = true"),
    ("{head}[random]\nsamples = 2\ninput.noise = {{ low = 0.0, high = 1.0, lg = true }}\n",
     r"random.input.noise.lg: unknown key \(did you mean 'log'\?\)"),
    ("{head}[random]\ninput.noise = [0.0, 0.1]\n", r"random.samples: got nothing, expected an integer >= 1"),
    ("{head}seeds = [0, 1]\nrepeats = 2\n", r"sweep.repeats: got 2, expected either `seeds` or `repeats`"),
    ("{head}seeds = [0, -1]\n", r"sweep.seeds\[1\]: got -1, expected an integer >= 0"),
    ("{head}seeds = [1, 1]\n", r"sweep.seeds: got \[1, 1\], expected distinct seeds"),
    ("{head}seed_keys = [\"model.seed\"]\n", r"sweep.seed_keys: got \['model.seed'\], expected `seeds` or `repeats`"),
    ("{head}[fixed]\nmodel.seed = 1\n[grid]\nmodel.seed = [1, 2]\n",
     r"grid.model.seed: got 'model.seed', expected a key set in one place only \(also set by fixed.model.seed\)"),
    ("{head}seeds = [1]\n[grid]\ninput.seed = [1, 2]\n",
     r"sweep.seed_keys\[1\]: got 'input.seed', expected a key set in one place only \(also set by grid.input.seed\)"),
    ("{head}metrics = [\"macs\", \"latency_p90\"]\n",
     r"sweep.metrics\[1\] = 'latency_p90': unknown metric \(did you mean 'latency_p99'\?\)"),
    ("{head}kind = \"simulate\"\n", r"sweep.kind: unknown key"),
    ("{head}[grid]\nmodel.family = [\"prime\"]\n[plots]\nheatmap = [\"model.family\", \"input.seed\"]\n",
     r"plots.heatmap\[1\] = 'input.seed': unknown grid key"),
    ("{head}[plots]\npareto_y = \"loss\"\n", r"plots.pareto_y = 'loss': unknown recorded metric"),
    # every point's scenario is checked before anything runs
    ("{head}[grid]\nmodel.family = [\"exponential\", \"fibbonacci\"]\n",
     r"point 2 \(model.family=\"fibbonacci\"\): .*tiny.toml: model.family: got 'fibbonacci', expected one of"),
    ("{head}[grid]\nengine.compute.cores = [1, 0]\n", r"point 2 \(engine.compute.cores=0\): .*engine.compute"),
    ("{head}[fixed]\nengine.deadline.x = 1\n", r"point 1 \(the base scenario\): engine.deadline.x: deadline is not a "
                                               r"table"),
]


class TestValidation:
    @pytest.mark.parametrize("text, match", BAD, ids=[str(i) for i in range(len(BAD))])
    def test_one_line_naming_file_key_value_expectation(self, tmp_path, base, text, match):
        path = write_sweep(tmp_path, text.format(head='[sweep]\nscenario = "../base/tiny.toml"\n'))
        with pytest.raises(SweepError, match=match) as info:
            load_sweep(path)
        message = str(info.value)
        assert message.startswith(str(path)) and "\n" not in message

    def test_not_toml_and_missing_file(self, tmp_path):
        with pytest.raises(SweepError, match="no such sweep file"):
            load_sweep(tmp_path / "none.toml")
        with pytest.raises(SweepError, match="not valid TOML"):
            load_sweep(write_sweep(tmp_path, "[sweep\n"))

    def test_cli_fails_fast_before_writing_anything(self, tmp_path, base, capsys):
        path = write_sweep(tmp_path, SWEEP.replace('"fibonacci"', '"fibbonacci"'))
        code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--scheduler", "serial"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "fibbonacci" in err
        assert not (tmp_path / "out").exists()

    def test_schedulers_are_checked(self):
        with pytest.raises(SchedulerError, match=r"--scheduler: got 'cluster', expected processes, threads, serial"):
            check_scheduler("cluster")
        with pytest.raises(SchedulerError, match=r"--workers: got 0, expected an integer >= 1"):
            check_scheduler("processes", 0)
        with pytest.raises(SchedulerError, match=r"--workers: got 2 with --scheduler tcp://h:8786"):
            check_scheduler("tcp://h:8786", 2)
        check_scheduler("tls://h:8786")

    def test_docs_cover_every_key(self):
        doc = (ROOT / "docs" / "sweeps.md").read_text()
        for table, keys in SWEEP_SCHEMA.items():
            assert f"[{table}]" in doc
            for key in keys:
                if not key.startswith("<"):
                    assert f"`{key}`" in doc, f"{table}.{key} is not documented"


# ---------------------------------------------------------------------- running (serial)
class TestRun:
    def test_rows_hold_the_metrics_of_each_scenario(self, tmp_path, base):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        result = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)
        assert result.ran == 8 and result.skipped == 0 and result.failed == 0
        assert [row["id"] for row in result.table] == [p.id for p in sweep.points]
        point = sweep.points[5]                 # fibonacci, 1 core, seed 1: the same as clocksim run --set
        scenario = load_scenario(base, ["model.family=fibonacci", "engine.compute.cores=1", "input.seed=1"])
        summary = execute(scenario).summary
        row = result.table[5]
        assert point.params == {"model.family": "fibonacci", "engine.compute.cores": 1} and point.seed == 1
        assert [c.period for c in scenario.model.clocks] == [1, 2, 3]
        for key in ("activations", "macs", "dense_macs", "speedup_vs_dense", "messages", "deadline_misses"):
            assert row[key] == summary[key]
        assert row["latency_p99"] == summary["latency"]["p99"] and row["status"] == "ok" and row["error"] == ""
        assert row["wall_time"] > 0

    def test_files_agree_with_the_table(self, tmp_path, base):
        import pyarrow.parquet as pq

        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        result = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)
        out = tmp_path / "out"
        assert sorted(p.name for p in out.iterdir()) == ["heatmap.png", "pareto.png", "results.csv",
                                                         "results.parquet", "sweep.json"]
        rows = read_csv(out / "results.csv")
        assert list(rows[0]) == sweep.columns and len(rows) == 8
        assert [int(r["macs"]) for r in rows] == [r["macs"] for r in result.table]
        table = pq.read_table(out / "results.parquet")
        assert table.to_pylist() == result.table
        assert str(table.schema.field("macs").type) == "int64"
        assert json.loads(table.schema.metadata[b"clocksim"])["columns"] == sweep.columns
        assert json.loads((out / "sweep.json").read_text())["points"] == 8

    def test_a_wrong_length_priority_is_refused_when_the_sweep_is_loaded(self, tmp_path, base):
        text = SWEEP + 'engine.compute.priority = ["fastest-first", [0, 1]]\n'
        with pytest.raises(SweepError, match=r"point 3 .*engine.compute.priority: got 2 values for 3 modules"):
            load_sweep(write_sweep(tmp_path, text))

    def test_a_failing_point_is_recorded_and_the_rest_complete(self, tmp_path, base, fails_on_two_cores):
        text = SWEEP + 'engine.compute.priority = ["fastest-first", "fifo"]\n'
        result = run_sweep(load_sweep(write_sweep(tmp_path, text)), tmp_path / "out", scheduler="serial",
                           progress=False)
        failed = [r for r in result.table if r["status"] == "error"]
        assert len(result.table) == 16 and len(failed) == 8 == result.failed
        assert all(r["error"] == "InvalidValueError: priority: got 2 values for 3 modules" for r in failed)
        assert all(r["macs"] is None for r in failed)
        assert all(r["macs"] > 0 for r in result.table if r["status"] == "ok")
        assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000

    def test_resume_after_a_crash_mid_line_recomputes_only_what_is_missing(self, tmp_path, base, count_calls):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        first = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)
        assert len(count_calls) == 8
        log = tmp_path / "out" / "results.csv"
        lines = log.read_text().splitlines(keepends=True)
        log.write_text("".join(lines[:4]) + lines[4][:25])         # header, 3 rows and a cut-off line
        count_calls.clear()
        again = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)
        assert len(count_calls) == 5 and again.ran == 5 and again.skipped == 3
        assert any("incomplete last line" in n for n in again.notes)
        assert without_wall_time(again.table) == without_wall_time(first.table)
        rows = read_csv(log)
        assert len(rows) == 8 and len({r["id"] for r in rows}) == 8
        count_calls.clear()
        assert run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False).ran == 0 and not count_calls

    def test_resume_after_an_interrupt(self, tmp_path, base, monkeypatch):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        compute = points.compute_point
        calls = []

        def stop_after_three(raw, path, metrics):
            if len(calls) == 3:
                raise KeyboardInterrupt
            calls.append(raw["input"]["seed"])
            return compute(raw, path, metrics)
        monkeypatch.setattr(points, "compute_point", stop_after_three)
        with pytest.raises(KeyboardInterrupt):
            run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)
        assert len(read_csv(tmp_path / "out" / "results.csv")) == 3
        monkeypatch.setattr(points, "compute_point", compute)
        result = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)
        assert result.ran == 5 and result.skipped == 3 and len(result.table) == 8

    def test_force_starts_over_and_retry_reruns_errors_only(self, tmp_path, base, fails_on_two_cores, count_calls):
        text = SWEEP + 'engine.compute.priority = ["fastest-first", "fifo"]\n'
        sweep = load_sweep(write_sweep(tmp_path, text))
        run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False, figures=False)
        (tmp_path / "out" / "notes.txt").write_text("mine")
        count_calls.clear()
        result = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False, retry_errors=True)
        assert result.ran == 8 and len(count_calls) == 8 and result.failed == 8
        assert len(read_csv(tmp_path / "out" / "results.csv")) == 24          # the log keeps every attempt
        count_calls.clear()
        result = run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False, force=True)
        assert result.ran == 16 and len(count_calls) == 16
        assert len(read_csv(tmp_path / "out" / "results.csv")) == 16
        assert (tmp_path / "out" / "notes.txt").read_text() == "mine"          # only the sweep's own files go

    def test_another_sweep_or_a_concurrent_one_is_refused(self, tmp_path, base):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False, figures=False)
        other = load_sweep(write_sweep(tmp_path, SWEEP.replace("seeds = [0, 1]", "repeats = 1")
                                       .replace("model.family", "model.start").replace('"exponential", "fibonacci"',
                                                                                        "0, 1"), "other.toml"))
        with pytest.raises(ResultsError, match=r"results.csv: holds the results of a different sweep"):
            run_sweep(other, tmp_path / "out", scheduler="serial", progress=False)
        with ResultsLog(tmp_path / "out" / "results.csv", sweep.columns):
            with pytest.raises(ResultsError, match="in use by another sweep"):
                run_sweep(sweep, tmp_path / "out", scheduler="serial", progress=False)

    def test_threads_give_the_serial_table(self, tmp_path, base):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        serial = run_sweep(sweep, tmp_path / "a", scheduler="serial", progress=False, figures=False)
        threads = run_sweep(sweep, tmp_path / "b", scheduler="threads", workers=2, progress=False, figures=False)
        assert without_wall_time(threads.table) == without_wall_time(serial.table)


class TestResultsLog:
    def test_cells_round_trip(self, tmp_path):
        columns = ["id", "k", "status", "error", "wall_time", "m"]
        with ResultsLog(tmp_path / "r.csv", columns, numeric=["wall_time", "m"]) as log:
            log.append({"id": "a", "k": [1, 2], "status": "error", "error": "E: two\nlines", "wall_time": 0.1,
                        "m": None})
            log.append({"id": "b", "k": True, "status": "ok", "error": "", "wall_time": 1e-7, "m": 2 ** 40})
            log.append({"id": "c", "k": "x,y", "status": "ok", "error": "", "wall_time": float("inf"), "m": 0.1})
        rows = ResultsLog(tmp_path / "r.csv", columns, numeric=["wall_time", "m"]).open().rows
        assert rows == [
            {"id": "a", "k": "[1,2]", "status": "error", "error": "E: two lines", "wall_time": 0.1, "m": None},
            {"id": "b", "k": "true", "status": "ok", "error": "", "wall_time": 1e-7, "m": 2 ** 40},
            {"id": "c", "k": "x,y", "status": "ok", "error": "", "wall_time": float("inf"), "m": 0.1}]
        assert (tmp_path / "r.csv").read_text().count("\n") == 4

    def test_a_cut_header_is_rewritten(self, tmp_path):
        (tmp_path / "r.csv").write_text("id,st")
        with ResultsLog(tmp_path / "r.csv", ["id", "status"]) as log:
            assert log.rows == [] and log.dropped == "id,st"
            log.append({"id": "a", "status": "ok"})
        assert (tmp_path / "r.csv").read_text() == "id,status\na,ok\n"

    def test_an_edited_line_is_named(self, tmp_path):
        (tmp_path / "r.csv").write_text("id,status\na,ok\nb\n")
        with pytest.raises(ResultsError, match=r"r.csv: line 3: got 1 cells, expected 2"):
            ResultsLog(tmp_path / "r.csv", ["id", "status"]).open()


# ---------------------------------------------------------------------- a 2-process cluster
@pytest.fixture(scope="module")
def cluster():
    distributed = require("distributed", "the sweep extra (dask[distributed]) is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield cluster, client


class TestCluster:
    def test_two_worker_processes_give_the_serial_table(self, tmp_path, base, cluster, monkeypatch, unchecked_points):
        # the base scenario reads a file by a relative path; the workers run from another folder
        np.save(base.parent / "x.npy", np.random.default_rng(1).normal(size=(24, 2)))
        base.write_text(BASE.replace('kind = "noise"', 'kind = "file"\npath = "x.npy"').replace("steps = 32\n", ""))
        text = SWEEP + 'engine.compute.priority = ["fastest-first", [0, 1]]\n'
        sweep = load_sweep(write_sweep(tmp_path, text))
        monkeypatch.chdir(tmp_path)
        serial = run_sweep(sweep, tmp_path / "serial", scheduler="serial", progress=False, figures=False)
        _, client = cluster
        spread = run_sweep(sweep, tmp_path / "dask", scheduler=client, progress=False, figures=False)
        assert len(spread.table) == 16 and spread.failed == 8
        assert without_wall_time(spread.table) == without_wall_time(serial.table)
        assert sum(r["status"] == "ok" for r in spread.table) == 8
        assert len(set(client.run(os.getpid).values())) == 2

    def test_distinct_points_with_equal_results_are_all_computed(self, tmp_path, base, cluster):
        # model.seed changes the weights, not the timing: equal metrics, yet four points and four rows
        text = '[sweep]\nscenario = "../base/tiny.toml"\nseeds = [0, 1, 2, 3]\nseed_keys = ["model.seed"]\n'
        sweep = load_sweep(write_sweep(tmp_path, text))
        _, client = cluster
        result = run_sweep(sweep, tmp_path / "out", scheduler=client, progress=False, figures=False)
        assert len(result.table) == 4 and len({r["id"] for r in result.table}) == 4
        assert len({r["macs"] for r in result.table}) == 1

    def test_a_scheduler_address(self, tmp_path, base, cluster):
        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        local, _ = cluster
        serial = run_sweep(sweep, tmp_path / "a", scheduler="serial", progress=False, figures=False)
        remote = run_sweep(sweep, tmp_path / "b", scheduler=local.scheduler_address, progress=False, figures=False)
        assert without_wall_time(remote.table) == without_wall_time(serial.table)

    def test_workers_must_run_the_same_clocksim_version(self, tmp_path, base, cluster, monkeypatch):
        import clocksim

        sweep = load_sweep(write_sweep(tmp_path, SWEEP))
        local, _ = cluster
        monkeypatch.setattr(clocksim, "__version__", "0.0.0-here")        # the workers still report the real one
        with pytest.raises(SchedulerError, match=r"worker tcp://\S+ runs clocksim \S+, expected 0.0.0-here"):
            run_sweep(sweep, tmp_path / "out", scheduler=local.scheduler_address, progress=False)

    @pytest.mark.slow
    def test_cli_on_local_processes_then_resume(self, tmp_path, base, capsys):
        require("distributed", "the sweep extra (dask[distributed]) is not installed")
        path = write_sweep(tmp_path, SWEEP)
        argv = ["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "8 points: 8 run, 0 already done" in out and "results.parquet" in out
        assert main(argv) == 0
        assert "8 points: 0 run, 8 already done" in capsys.readouterr().out


# ---------------------------------------------------------------------- without dask
class TestWithoutDask:
    def test_the_extra_is_named_and_serial_still_works(self, tmp_path, base, monkeypatch, capsys):
        monkeypatch.setitem(sys.modules, "distributed", None)          # import distributed -> ImportError
        path = write_sweep(tmp_path, SWEEP)
        code = main(["sweep", str(path), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1
        assert "needs dask.distributed" in err and "pip install 'clocksim[sweep]'" in err
        assert "--scheduler serial" in err
        assert not (tmp_path / "out").exists()
        assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 0   # runs nothing
        assert capsys.readouterr().out.startswith("s: 8 points")
        assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--scheduler", "serial", "--quiet"]) == 0
        assert len(read_csv(tmp_path / "out" / "results.csv")) == 8


# ---------------------------------------------------------------------- command line and samples
class TestCommandLine:
    def test_dry_run_lists_points(self, tmp_path, base, capsys):
        path = write_sweep(tmp_path, SWEEP)
        assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("s: 8 points, each a run of") and len(out) == 9
        assert out[1].split()[1:] == ['model.family="exponential",', "engine.compute.cores=1,", "seed=0"]
        assert not (tmp_path / "out").exists()

    def test_failures_are_reported(self, tmp_path, base, capsys, unchecked_points):
        path = write_sweep(tmp_path, SWEEP + 'engine.compute.priority = ["fastest-first", [0, 1]]\n')
        assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--scheduler", "serial"]) == 0
        assert "16 points: 16 run, 0 already done, 8 failed (see the error column)" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_sweeps_run(path, tmp_path):
    sweep = load_sweep(path)
    assert sweep.description and len(sweep.points) >= 10
    # shortened for CI: few steps, one seed each; the copy names the base scenario by its absolute path
    text = re.sub(r"(?m)^scenario = .*$", f"scenario = {json.dumps(str(sweep.scenario_path))}", path.read_text())
    text = re.sub(r"(?m)^input\.steps = \d+", "input.steps = 48", text)
    text = re.sub(r"(?m)^seeds = \[.*\]", "seeds = [0]", text)
    short = load_sweep(write_sweep(tmp_path, text, path.name))
    result = run_sweep(short, tmp_path / "out", scheduler="serial", progress=False)
    assert result.failed == 0 and not result.notes
    assert (tmp_path / "out" / "pareto.png").exists() and (tmp_path / "out" / "heatmap.png").exists()


# ---------------------------------------------------------------------- figures
class TestFigures:
    def test_pareto_front_matches_the_definition(self):
        rng = np.random.default_rng(0)
        for _ in range(20):
            x, y = rng.integers(0, 6, (2, 30)).astype(float)       # many ties
            dominated = [any(x[j] <= x[i] and y[j] <= y[i] and (x[j] < x[i] or y[j] < y[i]) for j in range(30))
                         for i in range(30)]
            assert (pareto_front(x, y) == ~np.array(dominated)).all()

    TABLE = [
        {"a": 1, "b": "p", "seed": 0, "status": "ok", "macs": 10, "loss": 4.0},
        {"a": 1, "b": "p", "seed": 1, "status": "ok", "macs": 10, "loss": 2.0},     # mean 3.0
        {"a": 2, "b": "p", "seed": 0, "status": "ok", "macs": 20, "loss": 1.0},
        {"a": 2, "b": "q", "seed": 0, "status": "ok", "macs": 30, "loss": 2.0},     # dominated by (20, 1)
        {"a": 3, "b": "q", "seed": 0, "status": "error", "macs": None, "loss": None},
        {"a": 3, "b": "p", "seed": 0, "status": "ok", "macs": 40, "loss": 0.5},
    ]

    def test_pareto_plot_averages_replicates_and_connects_the_front(self):
        ax = plot_pareto(self.TABLE, "macs", "loss", by=["a", "b"])
        front = next(line for line in ax.lines if line.get_gid() == "pareto-front")
        assert front.get_xdata().tolist() == [10, 20, 40] and front.get_ydata().tolist() == [3.0, 1.0, 0.5]
        numbers = [t.get_text() for t in ax.texts if t.get_text().isdigit()]
        assert numbers == ["1", "2", "3"]
        listing = next(t.get_text() for t in ax.texts if t.get_text().startswith("Pareto front"))
        assert listing.splitlines()[1:] == ["1. a=1, b=p", "2. a=2, b=p", "3. a=3, b=p"]
        assert "3 of 4 configurations" in ax.get_title()
        plt.close(ax.figure)

    def test_pareto_maximises_accuracy_and_needs_its_columns(self):
        table = [{"macs": 1, "accuracy": 0.5}, {"macs": 2, "accuracy": 0.9}, {"macs": 3, "accuracy": 0.8}]
        ax = plot_pareto(table, "macs", "accuracy")
        front = next(line for line in ax.lines if line.get_gid() == "pareto-front")
        assert front.get_xdata().tolist() == [1, 2] and "higher is better" in ax.get_ylabel()
        plt.close(ax.figure)
        with pytest.raises(ValueError, match=r"y: got 'loss', expected a column of the table"):
            plot_pareto(table, "macs", "loss")
        with pytest.raises(ValueError, match=r"no finished rows with numbers in both"):
            plot_pareto([{"macs": None, "loss": 1.0}], "macs", "loss")

    def test_heatmap_cells_are_means_over_the_other_keys(self):
        ax = plot_heatmap(self.TABLE, "a", "b", "loss")
        mean = ax.images[0].get_array()
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["p", "q"]
        assert mean[0].tolist() == [3.0, 1.0, 0.5]
        assert mean.mask[1].tolist() == [True, False, True] and mean[1, 1] == 2.0     # a failed point: n/a
        assert sum(t.get_text() == "n/a" for t in ax.texts) == 2
        assert "mean of 1-2 runs per cell" in ax.get_title()
        plt.close(ax.figure)

    def test_heatmap_draws_a_panel_per_value_of_a_third_key_or_refuses(self):
        table = [{"a": a, "b": b, "c": c, "status": "ok", "loss": float(a + 10 * c)}
                 for a in (1, 2) for b in ("p", "q") for c in (0, 1)]
        ax = plot_heatmap(table, "a", "b", "loss", by=["a", "b", "c"])
        panels = [a for a in ax.figure.axes if a.images]
        assert [a.get_title() for a in panels] == ["c = 0", "c = 1"]
        assert panels[0].images[0].get_array().tolist() == [[1.0, 2.0], [1.0, 2.0]]
        assert panels[1].images[0].get_array().tolist() == [[11.0, 12.0], [11.0, 12.0]]
        plt.close(ax.figure)
        with pytest.raises(ValueError, match=r"by: 'c' also varies .*each cell would average over it"):
            plot_heatmap(table, "a", "b", "loss", by=["c"], ax=plt.figure().add_subplot())
        wide = [dict(r, c=i) for i, r in enumerate(table * 2)]
        with pytest.raises(ValueError, match=r"by: 'c' also varies \(16 values, more than 6 panels\)"):
            plot_heatmap(wide, "a", "b", "loss", by=["c"])
        plt.close("all")

    def test_pareto_tells_the_families_apart(self):
        table = [{"family": f, "cores": c, "macs": m + c, "loss": 5.0 - c}
                 for f, m in (("exp", 10), ("fib", 20)) for c in (1, 2)]
        ax = plot_pareto(table, "macs", "loss", by=["family", "cores"])
        labels = ax.get_legend_handles_labels()[1]
        assert "family = exp" in labels and "family = fib" in labels
        plt.close(ax.figure)

    def test_figures_read_results_parquet(self, tmp_path):
        import pyarrow as pa

        table = pa.Table.from_pylist(self.TABLE)
        ax = plot_heatmap(table, "b", "a", "macs")
        assert ax.images[0].get_array().shape == (3, 2)
        plt.close(ax.figure)
