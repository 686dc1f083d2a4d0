"""`clocksim reproduce`: the quick run's tables are consistent, results do not depend on --jobs, and
docs/reproduction.md shows exactly the tables of the committed full run."""

import json
from pathlib import Path

import pytest

from clocksim.baselines import PAPER_TABLE1
from clocksim.cli import main
from clocksim.reproduce import doc_tables, render_tables, tables
from clocksim.reproduce.plan import EXPERIMENTS, MODELS, QUICK, main_jobs, scan_jobs, schedule_jobs
from clocksim.reproduce.tables import select_learning_rates

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "results" / "reproduction"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "quick"
    assert main(["reproduce", "--quick", "--out", str(out), "--jobs", "2", "--quiet"]) == 0
    return out, json.loads((out / "results.json").read_text())


def _shape(table: str) -> list:
    """A table's header and first column: its format, whatever the numbers."""
    lines = table.strip().splitlines()
    return [lines[0]] + [line.split("|")[1] for line in lines[2:]]


def test_quick_run_writes_every_table_and_figure(quick):
    out, results = quick
    assert (out / "tables.md").read_text() == render_tables(results)
    assert (out / "generation.png").stat().st_size > 5000 and (out / "nmse.png").stat().st_size > 5000
    chosen = select_learning_rates(results)
    assert chosen == results["learning_rates"]
    n_runs = len(scan_jobs(QUICK)) + len(main_jobs(QUICK, chosen)) + len(schedule_jobs(QUICK, chosen))
    assert len(results["records"]) == n_runs
    named = tables(results)
    assert list(named) == ["meta", "sizes", "learning_rates", "generation", "generation_adam", "classification",
                           "schedules"]
    assert f"{len(results['records'])} training runs" in named["meta"]
    for model, column in zip(MODELS, (1, 2, 3)):                   # the sizes are the paper's Table 1
        for row, units in zip(named["sizes"].splitlines()[2:6], PAPER_TABLE1[model]):
            assert row.split("|")[column + 1].strip().startswith(f"{units} (")
            assert row.split("|")[column + 1].strip().endswith(f"/ paper {units}")


def test_quick_tables_agree_with_the_records(quick):
    _, results = quick
    rows = tables(results)["generation"].splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == ["100", "250", "500", "1000",
                                                             "paper, 1000 (SGD, 100 runs)"]
    cwrnn_1000 = [r["value"] for r in results["records"] if r["stage"] == "main" and r["model"] == "cwrnn"
                  and r["experiment"] == "generation" and r["budget"] == 1000 and not r["diverged"]]
    mean = sum(cwrnn_1000) / len(cwrnn_1000)
    assert rows[3].split("|")[4].strip().startswith(f"{mean:.3g} ± ")
    best = results["best_outputs"]["cwrnn"]
    assert {int(p) for p in best} == set(QUICK.pieces) and all(len(b["output"]) == 320 for b in best.values())
    assert min(b["nmse"] for b in best.values()) == pytest.approx(min(cwrnn_1000))


#: The fields of a job; a record is the job plus what the run measured.
JOB_KEYS = ("experiment", "stage", "model", "budget", "rule", "periods", "schedule", "task", "train",
            "learning_rate", "seed")


def test_results_do_not_depend_on_the_number_of_jobs(quick):
    """The smallest run of every experiment and stage of the quick run (which used 2 worker processes),
    rerun in a single worker, gives the same record (the time aside)."""
    from clocksim.reproduce.worker import run_jobs

    _, results = quick
    sample = {}
    for r in results["records"]:
        key = (r["experiment"], r["stage"])
        if key not in sample or r["budget"] < sample[key]["budget"]:
            sample[key] = r
    sample = list(sample.values())
    assert {r["stage"] for r in sample} == {"scan", "main", "schedule"}
    assert len({r["experiment"] for r in sample}) == 4
    again = run_jobs([{k: r[k] for k in JOB_KEYS} for r in sample], 1, progress=False)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in again] == \
           [{k: v for k, v in r.items() if k != "seconds"} for r in sample]


def test_bad_jobs_and_existing_folder(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--jobs", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--jobs: got 0, expected an integer >= 1" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep").write_text("x")
    assert main(["reproduce", "--quick", "--out", str(tmp_path / "full")]) == 2
    assert "pass --force" in capsys.readouterr().err


class TestCommittedRun:
    """The committed full run is what the docs show."""

    def test_committed_tables_are_computed_from_the_committed_results(self):
        results = json.loads((COMMITTED / "results.json").read_text())
        assert results["settings"]["name"] == "full"
        assert (COMMITTED / "tables.md").read_text() == render_tables(results)

    def test_docs_show_exactly_those_tables(self):
        results = json.loads((COMMITTED / "results.json").read_text())
        shown = doc_tables((ROOT / "docs" / "reproduction.md").read_text())
        assert shown == tables(results)

    def test_the_quick_run_has_the_same_format(self, quick):
        committed = tables(json.loads((COMMITTED / "results.json").read_text()))
        fresh = tables(quick[1])
        assert list(committed) == list(fresh)
        assert {k: _shape(v) for k, v in committed.items() if k != "meta"} == {
            k: _shape(v) for k, v in fresh.items() if k != "meta"}

    def test_the_full_settings_are_the_ones_documented(self):
        results = json.loads((COMMITTED / "results.json").read_text())
        assert results["settings"]["generation_epochs"] == 2000 and results["settings"]["generation_seeds"] >= 10
        assert results["settings"]["classification_seeds"] >= 10
        for name, spec in EXPERIMENTS.items():
            assert set(results["learning_rates"][name].values()) <= set(spec["lr_grid"])


def test_without_the_datasets_extra_it_stops_at_once_naming_it(tmp_path, monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "sktime", None)                   # import sktime -> ImportError
    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    assert main(["reproduce", "--quick", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the optional package sktime" in err
    assert 'pip install ".[datasets]"' in err
    assert not (tmp_path / "r").exists()


def test_figures_mark_a_run_that_is_not_the_full_one():
    import matplotlib.pyplot as plt

    from clocksim.reproduce.figures import plot_generated, plot_nmse
    full = json.loads((COMMITTED / "results.json").read_text())
    quick = dict(full, settings=dict(full["settings"], name="quick"))
    for draw in (plot_generated, plot_nmse):
        fig = draw(full)
        assert not any(t.get_gid() == "settings-mark" for t in fig.texts) and "--quick" not in fig.get_suptitle()
        plt.close(fig)
        fig = draw(quick)
        assert any(t.get_gid() == "settings-mark" and t.get_text() == "QUICK RUN" for t in fig.texts)
        assert "--quick run: it checks the machinery" in fig.get_suptitle()
        plt.close(fig)
