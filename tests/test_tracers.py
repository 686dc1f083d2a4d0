"""The one tracer interface (clocksim.trace.tracers, DESIGN section 4): the registry and its factory,
the full, aggregate and on-disk tracers, and engines that call add / finish and know no trace mode."""

import ast
from pathlib import Path

import numpy as np
import pytest

import clocksim as cs
from clocksim.trace.files import read_trace_parts
from clocksim.trace.tracers import (
    ON_DISK,
    TRACE_KINDS,
    TRACERS,
    AggregateTracer,
    FullTracer,
    PartsTracer,
    Tracer,
    make_tracer,
    trace_meta,
    tracer_class,
)

ENGINE_DIR = Path(cs.__file__).parent / "engine"


def _model():
    return cs.ClockworkRNN(1, 1, [3, 2, 2], [1, 2, 4])


def _x(L=40):
    return np.sin(np.arange(L, dtype=float))[:, None]


def test_registry_and_factory_pick_the_tracer():
    assert TRACE_KINDS == ("full", "aggregate")
    assert tracer_class("full") is FullTracer and tracer_class("aggregate") is AggregateTracer
    assert tracer_class("full", "somewhere") is ON_DISK is PartsTracer
    assert FullTracer.holds_rows and not AggregateTracer.holds_rows and not PartsTracer.holds_rows
    assert FullTracer.lazy and AggregateTracer.lazy and not PartsTracer.lazy


def test_factory_refuses_bad_input_naming_the_argument(tmp_path):
    model = _model()
    with pytest.raises(cs.InvalidValueError, match="trace: got 'rows', expected one of 'full', 'aggregate'"):
        make_tracer("rows", model, 1)
    with pytest.raises(cs.InvalidValueError, match="trace: got"):
        make_tracer(["full"], model, 1)
    with pytest.raises(cs.InvalidValueError, match="trace_dir: got 3, expected a folder path"):
        make_tracer("full", model, 1, trace_dir=3)
    with pytest.raises(cs.InvalidValueError, match="trace: got 'rows'"):
        cs.simulate(model, _x(), engine="events", trace="rows")


def _tables(trace, parts=3):
    """The trace's three tables in ``parts`` chunks each."""
    return [{name: np.array_split(getattr(trace, name), parts)[k] for name in ("activations", "messages", "readouts")}
            for k in range(parts)]


@pytest.mark.parametrize("options", [{}, {"latency": 0.5}])
def test_full_and_aggregate_tracers_summarise_records_alike(options):
    model = _model()
    run = cs.simulate(model, _x(), engine="events", **options)
    meta = run.trace.meta
    full, agg = FullTracer(), AggregateTracer(trace_meta(model, 1, 0, "events", latency_model=meta["latency_model"]))
    for chunk in _tables(run.trace):
        full.add(**chunk)
        agg.add(**chunk)
    rebuilt, totals = full.finish(meta), agg.finish(meta)
    assert isinstance(rebuilt, cs.Trace) and isinstance(totals, cs.AggregateTrace)
    for name in ("activations", "messages", "readouts"):
        np.testing.assert_array_equal(getattr(rebuilt, name), getattr(run.trace, name))
    assert rebuilt.summary() == run.trace.summary() == totals.summary()


def test_parts_tracer_writes_what_it_is_handed_and_abort_leaves_nothing(tmp_path):
    model = _model()
    run = cs.simulate(model, _x(), engine="events", latency=0.5)
    meta = run.trace.meta
    tracer = make_tracer("full", model, 1, trace_dir=tmp_path / "parts", engine="events", latency_model=True)
    for chunk in _tables(run.trace):
        tracer.add(**chunk)
    assert not (tmp_path / "parts").exists()                # whole only when finished
    totals = tracer.finish(meta)
    back = read_trace_parts(tmp_path / "parts")
    for name in ("activations", "messages", "readouts"):
        np.testing.assert_array_equal(getattr(back, name), getattr(run.trace, name))
    assert totals.summary() == run.trace.summary()
    dropped = make_tracer("aggregate", model, 1, trace_dir=tmp_path / "dropped")
    dropped.add(**_tables(run.trace)[0])
    dropped.abort()
    assert not any(p.name != "parts" for p in tmp_path.iterdir())


class CountingTracer(AggregateTracer):
    """The aggregate, and every table the engine handed over (what a new tracer sees)."""

    take = Tracer.take                  # a trace built whole (a scheduled run's) comes as its tables too

    def __init__(self, meta):
        super().__init__(meta)
        self.handed = {"activations": 0, "messages": 0, "readouts": 0}
        CountingTracer.last = self

    def add(self, activations=None, messages=None, readouts=None):
        for name, rec in (("activations", activations), ("messages", messages), ("readouts", readouts)):
            self.handed[name] += 0 if rec is None else rec.shape[0]
        super().add(activations=activations, messages=messages, readouts=readouts)


@pytest.mark.parametrize("engine, options", [
    ("compiled", {}), ("compiled", {"chunk": 7}), ("events", {}), ("events", {"latency": 0.5, "chunk": 9}),
    ("events", {"compute": cs.ComputeModel(preemptive=True, execution=[0.25, 0.5, 0.5], readout=False)}),
])
def test_a_new_tracer_is_one_class_and_one_registry_entry(monkeypatch, engine, options):
    monkeypatch.setitem(TRACERS, "counting", CountingTracer)
    model = _model()
    got = cs.simulate(model, _x(), engine=engine, trace="counting", **options).trace
    full = cs.simulate(model, _x(), engine=engine, **options).trace
    assert got is CountingTracer.last.aggregate
    assert got.summary() == full.summary()
    assert CountingTracer.last.handed == {name: len(getattr(full, name))
                                          for name in ("activations", "messages", "readouts")}


def test_engines_know_no_trace_mode():
    """No engine module compares the trace option or tests for a writer: they ask the tracer."""
    for path in sorted(ENGINE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):                  # trace == "aggregate", kind in ("full", ...)
                kinds = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and c.value in TRACE_KINDS]
                assert not kinds, f"{path.name}: {ast.unparse(node)}"
            if isinstance(node, (ast.Name, ast.Attribute)):
                name = node.id if isinstance(node, ast.Name) else node.attr
                assert name not in ("writer", "TraceParts"), f"{path.name}: uses {name} (the tracer writes files)"
