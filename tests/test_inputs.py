"""Every input accounted for: dropped inputs (read by no module) show in every output.

The example of issue 14: periods 3, 5, 7, 11 on one core drop 106 of 256 inputs (no period
divides those steps), so their latency percentiles, taken over the inputs read, look better
than the power-of-two schedule's; the dropped inputs must be counted and shown beside them.
"""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import clocksim as cs
from clocksim.app.cli import main
from clocksim.app.execute import execute
from clocksim.app.scenario import load_scenario

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "scenarios" / "phase_aligned.toml"
ONE_CORE = ["model.modules=4", "engine.compute.cores=1", "engine.compute.throughput=1500.0", "engine.deadline=1.0",
            "input.steps=256"]
PRIMES = ["model.periods=[3, 5, 7, 11]", *ONE_CORE]
POWERS = ["model.periods=[1, 2, 4, 8]", *ONE_CORE]


def never_read(periods, L=256, start=0):
    steps = start + np.arange(L)
    return int(sum(not any(t % p == 0 for p in periods) for t in steps))


@pytest.mark.parametrize("engine", ["compiled", "events"])
def test_a_synchronous_schedule_reports_the_inputs_it_drops(engine):
    model = cs.ClockworkRNN(1, 1, 4, [3, 5, 7, 11], seed=0)
    s = cs.simulate(model, np.ones((256, 1)), engine=engine).trace.summary()
    assert never_read([3, 5, 7, 11]) == 106
    assert (s["inputs"], s["inputs_read"], s["inputs_dropped"]) == (256, 150, 106)
    assert "latency" not in s and "deadline_misses" not in s         # no timing model


@pytest.mark.parametrize("trace", ["full", "aggregate"])
def test_dropped_inputs_are_deadline_misses_and_outside_the_percentiles(trace):
    scenario = load_scenario(BASE, PRIMES)
    res = cs.simulate(scenario.model, scenario.x, engine="events", trace=trace, **scenario.engine_options)
    s = res.trace.summary()
    assert (s["inputs"], s["inputs_read"], s["inputs_dropped"]) == (256, 150, 106)
    assert s["latency"]["over"] == "inputs read" and s["latency"]["n"] == 150
    # every input read reacts on time (the old figure, DESIGN section 10: `reaction`) ...
    assert s["reaction"]["over"] == "inputs read" and s["reaction"]["n"] == 150
    assert s["reaction"]["p99"] < 1.0 == scenario.engine_options["deadline"]
    # ... its output-complete `latency` (waiting for every module that latched it and the readout) may not be,
    # and the misses are exactly the late inputs read plus every dropped one
    assert s["deadline_misses"] == 106 + late_reads(scenario)


def test_without_a_deadline_a_dropped_input_is_no_miss(tmp_path):
    (tmp_path / "s.toml").write_text(one_core("[3, 5, 7, 11]").replace("deadline = 1.0\n", ""))
    scenario = load_scenario(tmp_path / "s.toml")
    assert "deadline" not in scenario.engine_options
    s = execute(scenario).summary
    assert s["inputs_dropped"] == 106 and s["deadline_misses"] == 0


def test_the_dropped_inputs_show_in_every_output(tmp_path, capsys):
    sets = [a for item in PRIMES for a in ("--set", item)]
    assert main(["run", str(BASE), "--out", str(tmp_path / "primes"), "--quiet", *sets]) == 0
    assert main(["run", str(BASE), "--out", str(tmp_path / "p"), *sets]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    misses = 106 + late_reads(load_scenario(BASE, PRIMES))       # every dropped input is a miss, and the late reads
    assert summary["deadline_misses"] == misses
    assert "106 of 256 inputs dropped" in line and f"{misses} deadline misses" in line
    assert (summary["inputs"], summary["inputs_read"], summary["inputs_dropped"]) == (256, 150, 106)
    report = (tmp_path / "p" / "report.md").read_text()
    assert "150 of 256 inputs read, **106 dropped**" in report
    assert "over the 150 inputs read" in report and "the 106 dropped inputs count as misses" in report
    json.loads((tmp_path / "p" / "trace.json").read_text())       # still valid JSON with NaN latencies

    for name, periods in (("primes", "[3, 5, 7, 11]"), ("powers", "[1, 2, 4, 8]")):
        (tmp_path / f"{name}.toml").write_text(one_core(periods))
    assert main(["compare", str(tmp_path / "primes.toml"), str(tmp_path / "powers.toml"),
                 "--out", str(tmp_path / "cmp")]) == 0
    table = (tmp_path / "cmp" / "compare.txt").read_text().splitlines()
    assert table[0].split() == ["primes", "powers"]
    assert next(r for r in table if r.startswith("inputs dropped")).split()[-2:] == ["106", "0"]
    compared = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    powers = 0 + late_reads(load_scenario(tmp_path / "powers.toml"))
    assert compared["primes"]["deadline_misses"] == misses and compared["powers"]["deadline_misses"] == powers
    assert next(r for r in table if r.startswith("deadline misses")).split()[-2:] == [str(misses), str(powers)]
    assert compared["primes"]["inputs_dropped"] == 106 and compared["powers"]["inputs_dropped"] == 0


def late_reads(scenario) -> int:
    """How many inputs read finish after the deadline on the output-complete latency (a full events run)."""
    res = cs.simulate(scenario.model, scenario.x, engine="events", trace="full", **scenario.engine_options)
    latency = res.trace.readouts["latency"]
    late = latency[np.isfinite(latency)] > scenario.engine_options["deadline"]
    return int(late.sum())


def one_core(periods: str) -> str:
    """The base scenario with the given periods, 4 modules, 256 steps, one core, deadline 1."""
    text = BASE.read_text()
    text = text.replace('family = "exponential"\nmodules = 8\n', f"periods = {periods}\n")
    text = text.replace("steps = 1024", "steps = 256")
    text = text.replace('compute = { cores = 2, throughput = 3000.0, priority = "slowest-first" }',
                        'compute = { cores = 1, throughput = 1500.0, priority = "slowest-first" }')
    assert text.count(periods) == 1 and "cores = 1" in text
    return text


def test_the_latency_figure_shows_the_dropped_inputs():
    scenario = load_scenario(BASE, PRIMES)
    trace = execute(scenario).result.trace
    hist, cdf = cs.plot_latency(trace)
    assert "106 of 256 inputs dropped" in hist.figure.get_suptitle()
    curve = cdf.get_lines()[0]
    assert curve.get_ydata()[-1] == pytest.approx(150 / 256)       # the CDF is over all inputs: it ends short of 1
    assert any(line.get_label().startswith("106 of 256 inputs dropped") for line in cdf.get_lines())


def test_the_run_summary_line_of_the_compare_table_names_what_latency_is_over():
    from clocksim.app.outputs import COMPARE_ROWS
    labels = [label for label, _ in COMPARE_ROWS]
    assert "inputs dropped" in labels and "latency p99 (inputs read)" in labels


def test_message_latency_shows_its_delays_in_the_summary_and_a_figure(tmp_path):
    """The bundled message_latency scenario: delays make reads staler (summary keys) and draw staleness.png."""
    path = ROOT / "scenarios" / "message_latency.toml"
    delayed = execute(load_scenario(path))
    (tmp_path / "none.toml").write_text(path.read_text().replace("latency = 0.4\n", "")
                                        .replace("links = [{ sender = 4, receiver = 0, delay = { kind = "
                                                 "\"exponential\", mean = 3.0 } }]\n", ""))
    instant = execute(load_scenario(tmp_path / "none.toml"))
    assert "latency" not in instant.summary                    # no timing model left
    d, i = delayed.summary["staleness"], instant.summary["staleness"]
    assert d["n"] == i["n"] and d["p50"] > i["p50"] and d["max"] > i["max"]
    fast = delayed.summary["per_module"][0]
    assert fast["staleness_max"] > instant.summary["per_module"][0]["staleness_max"] and fast["lag_max"] > 0
    assert "staleness" in delayed.scenario.output["plots"] and "staleness" not in instant.scenario.output["plots"]
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "staleness.png").stat().st_size > 1000
    assert "## Staleness" in (tmp_path / "out" / "report.md").read_text()
