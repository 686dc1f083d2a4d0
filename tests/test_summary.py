"""The summary keys are declared once (clocksim.summary.SUMMARY_KEYS): summary() returns exactly them,
with the declared types, and docs/traces.md shows the table generated from the declaration."""

from pathlib import Path

import numpy as np
import pytest

import clocksim as cs
from clocksim.app.execute import execute
from clocksim.app.scenario import load_scenario
from clocksim.trace.summary import SUMMARY_KEYS, metric_columns, metric_row, summary_markdown

ROOT = Path(__file__).resolve().parent.parent
TYPES = {"int": (int,), "float": (float,), "str": (str,), "dict": (dict,), "list": (list,), "bool": (bool,)}


def flat_keys(summary: dict) -> dict:
    """Dotted key -> value, ``per_module[].key`` for the entries of per_module (which must share their keys)."""
    out = {}
    for key, value in summary.items():
        out[key] = value
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        if key == "per_module":
            assert len({tuple(m) for m in value}) == 1, "per_module entries have different keys"
            for m in value:
                out.update({f"per_module[].{k}": v for k, v in m.items()})
    return out


def declared(*when) -> set:
    return {k for k, spec in SUMMARY_KEYS.items() if spec.when in when}


def check_types(flat: dict) -> None:
    for key, value in flat.items():
        kind = SUMMARY_KEYS[key].type
        if kind.endswith("?") and value is None:
            continue
        allowed = TYPES[kind.rstrip("?")]
        if float in allowed:
            allowed = (float, int)          # an integral period or percentile may be an int
        assert isinstance(value, allowed) and not (bool not in allowed and isinstance(value, bool)), (key, value)


def model():
    return cs.ClockworkRNN(2, 1, [3, 2, 2], [1, 2, 4], seed=0)


@pytest.mark.parametrize("engine", ["compiled", "events"])
@pytest.mark.parametrize("trace", ["full", "aggregate"])
def test_a_synchronous_summary_has_exactly_the_declared_keys(engine, trace):
    x = np.random.default_rng(0).normal(size=(2, 20, 2))
    s = cs.simulate(model(), x, engine=engine, trace=trace).trace.summary()
    flat = flat_keys(s)
    assert set(flat) == declared("always")
    check_types(flat)


@pytest.mark.parametrize("options", [
    {"latency": cs.LinkLatency(0.5)},
    {"compute": cs.ComputeModel(cores=1, throughput=40.0), "deadline": 1.0},
    {"times": np.arange(20) + 0.25},
], ids=["latency", "compute", "times"])
def test_an_asynchronous_summary_has_exactly_the_declared_keys(options):
    x = np.random.default_rng(0).normal(size=(20, 2))
    s = cs.simulate(model(), x, engine="events", **options).trace.summary()
    flat = flat_keys(s)
    scheduled = "compute" in options                     # the default compute model has the readout job
    assert set(flat) == declared("always", "timing", *(("schedule",) if scheduled else ()))
    check_types(flat)


def test_a_summary_with_step_has_periods_in_seconds():
    x = np.random.default_rng(0).normal(size=(20, 2))
    s = cs.simulate(model(), x, engine="events", compute=cs.ComputeModel(), step="10 ms").trace.summary()
    flat = flat_keys(s)
    assert set(flat) == declared("always", "timing", "schedule", "step")
    assert s["time_unit"] == "s" and s["per_module"][2]["period_s"] == pytest.approx(0.04)


def test_a_scenario_run_adds_the_run_and_task_keys(tmp_path):
    (tmp_path / "s.toml").write_text('[model]\nmodule_sizes = 2\nperiods = [1, 2]\n[task]\nkind = "generation"\n'
                                     '[train]\nepochs = 2\n[engine]\nname = "compiled"\n')
    s = execute(load_scenario(tmp_path / "s.toml")).summary
    flat = flat_keys(s)
    extra = {k for k in flat if k.startswith("accuracy.")} - declared("task", "trained")
    assert extra == {"accuracy.nmse"}                     # the metric's own name beside `value`
    assert set(flat) - extra == declared("always", "run", "task", "trained")
    check_types({k: v for k, v in flat.items() if k not in extra})
    row = metric_row(s, metric_columns())
    assert row["accuracy_value"] == s["accuracy"]["value"] and row["inputs_dropped"] == 0
    assert row["latency_p99"] is None and "accuracy_train_seconds" not in row      # wall time is no metric


def test_the_docs_show_the_generated_table():
    text = (ROOT / "docs" / "traces.md").read_text()
    assert summary_markdown() in text, "docs/traces.md is stale: run python docs/render_docs.py"
