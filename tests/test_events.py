"""The event engine: exact agreement with the compiled engine, traces, order independence."""

import numpy as np
import pytest
from helpers import random_model

import clocksim as cs
from clocksim.engine.events import EventEngine


def both(model, X, **options):
    return cs.simulate(model, X, engine="compiled"), cs.simulate(model, X, engine="events", **options)


def assert_same_run(a, b):
    assert np.array_equal(a.y, b.y)
    assert np.array_equal(a.h, b.h)
    for name in ("activations", "messages"):
        ra, rb = getattr(a.trace, name), getattr(b.trace, name)
        assert ra.dtype == rb.dtype and ra.shape == rb.shape, name
        for field in ra.dtype.names:
            np.testing.assert_array_equal(ra[field], rb[field], err_msg=f"{name}.{field}")
    np.testing.assert_array_equal(a.trace.readouts["latency"], b.trace.readouts["latency"])
    np.testing.assert_array_equal(a.trace.readouts["time"], b.trace.readouts["time"])


@pytest.mark.parametrize("seed", range(30))
def test_events_equal_compiled_bit_for_bit(seed):
    rng = np.random.default_rng(1000 + seed)
    model = random_model(rng)
    B = int(rng.integers(1, 4))
    X = rng.normal(size=(B, int(rng.integers(1, 50)), model.n_in))
    assert_same_run(*both(model, X if B > 1 else X[0]))


@pytest.mark.parametrize("connectivity", ["slow-to-fast", "dense"])
@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("batched", [False, True])
def test_paper_schedule_exact(connectivity, start, batched, rng):
    model = random_model(rng, g=5, sizes=[4, 3, 2, 5, 1], periods=cs.exponential_periods(5), phases=False,
                         start=start, connectivity=connectivity, n_in=3, n_out=2)
    X = rng.normal(size=(3, 70, 3) if batched else (70, 3))
    assert_same_run(*both(model, X))


def test_larger_batched_model_exact(rng):
    """Blocks big enough for BLAS to use its blocked kernels (GEMM with B > 1)."""
    model = random_model(rng, g=4, sizes=[40, 33, 20, 17], periods=[1, 2, 3, 5], connectivity="slow-to-fast",
                         n_in=9, n_out=5)
    assert_same_run(*both(model, rng.normal(size=(8, 30, 9))))


def test_one_activation_per_firing(rng):
    model = random_model(rng, g=4, periods=[1, 3, 4, 10], n_in=1)
    res = cs.simulate(model, rng.normal(size=(57, 1)), engine="events")
    act = res.trace.activations
    for i, clock in enumerate(model.clocks):
        np.testing.assert_array_equal(act["time"][act["module"] == i], clock.firing_steps(model.start, 57))
    assert len(res.trace) == model.activity(57).sum()


def test_messages_go_from_slow_to_fast_senders(rng):
    model = random_model(rng, g=3, periods=[1, 2, 4], phases=False, start=0, connectivity="slow-to-fast", n_in=1)
    res = cs.simulate(model, rng.normal(size=(8, 1)), engine="events")
    msg = res.trace.messages
    assert (msg["sender"] > msg["receiver"]).all()          # only slower modules send to faster ones
    # module 2 (period 4) fires at 0 and 4 and sends to modules 0 and 1 each time
    from2 = msg[msg["sender"] == 2]
    assert from2["send"].tolist() == [0, 0, 4, 4] and from2["receiver"].tolist() == [0, 1, 0, 1]
    assert (msg["arrive"] == msg["send"]).all()


@pytest.mark.parametrize("order", [[2, 1, 0, 3], [3, 2, 1, 0], [1, 3, 0, 2]])
def test_order_of_processes_does_not_matter(order, rng):
    model = random_model(rng, g=4, periods=[1, 2, 2, 4], phases=False, n_in=2)
    X = rng.normal(size=(2, 40, 2))
    base = cs.simulate(model, X, engine="events")
    permuted = cs.simulate(model, X, engine="events", order=order)
    assert_same_run(base, permuted)


def test_declaration_order_flips_simpy_tie_break(rng):
    """Same network, modules declared in the opposite order (dense wiring permits it)."""
    sizes, periods = [3, 2, 4], [1, 2, 2]
    a = random_model(rng, g=3, sizes=sizes, periods=periods, phases=False, connectivity="dense", n_in=1, n_out=1)
    perm = [2, 1, 0]
    rows = np.concatenate([np.arange(a.offsets[i], a.offsets[i + 1]) for i in perm])
    b = cs.ClockworkRNN(1, 1, [sizes[i] for i in perm], [periods[i] for i in perm], connectivity="dense",
                        start=a.start)
    p = a.params
    b.set_params(W_in=p["W_in"][rows], W_rec=p["W_rec"][np.ix_(rows, rows)], b=p["b"][rows],
                 W_out=p["W_out"][:, rows], b_out=p["b_out"], h0=p["h0"][rows])
    X = rng.normal(size=(30, 1))
    ra, rb = cs.simulate(a, X, engine="events"), cs.simulate(b, X, engine="events")
    np.testing.assert_allclose(ra.h[:, rows], rb.h, rtol=0, atol=1e-13)
    np.testing.assert_allclose(ra.y, rb.y, rtol=0, atol=1e-13)


def test_general_path_with_zero_costs_equals_synchronous(rng):
    """Queueing machinery switched on but costing nothing: the asynchronous path reduces exactly."""
    model = random_model(rng, g=4, periods=[1, 2, 4, 8], phases=False, n_in=2)
    X = rng.normal(size=(2, 33, 2))
    for options in (dict(compute=cs.ComputeModel(cores=1)), dict(compute=cs.ComputeModel(cores=3)),
                    dict(latency=cs.LinkLatency(0.0, {(1, 0): 0.0})), dict(times=model.start + np.arange(33.0))):
        engine = EventEngine(**options)
        res = cs.simulate(model, X, engine=engine)
        ref = cs.simulate(model, X, engine="compiled")
        assert np.array_equal(res.y, ref.y) and np.array_equal(res.h, ref.h), options


def test_staleness_is_age_of_oldest_message(rng):
    model = random_model(rng, g=2, periods=[1, 4], phases=False, start=0, connectivity="slow-to-fast", n_in=1)
    act = cs.simulate(model, np.zeros((9, 1)), engine="events").trace.activations
    fast = act[act["module"] == 0]
    # module 0 at step t reads module 1's state sent at the last multiple of 4 before t (h0: at -1)
    expected = [0 - (-1)] + [t - 4 * ((t - 1) // 4) for t in range(1, 9)]
    assert fast["staleness"].tolist() == expected
    assert (act["lag"] == 0).all()


def test_inputs_no_module_reads_have_no_latency():
    """Synchronous runs reflect an input in the step it arrives, unless no module runs then."""
    model = cs.ClockworkRNN(1, 1, [2, 2], [2, 4], start=0)
    for engine in ("compiled", "events"):
        ro = cs.simulate(model, np.zeros((6, 1)), engine=engine).trace.readouts
        np.testing.assert_array_equal(ro["latency"], [0, np.nan, 0, np.nan, 0, np.nan])
        assert not ro["missed"].any()


def test_bad_options():
    model = cs.ClockworkRNN(1, 1, [2], [1])
    with pytest.raises(cs.InvalidValueError, match="order: got"):
        cs.simulate(model, np.zeros((3, 1)), engine="events", order=[0, 0])
    with pytest.raises(cs.InvalidValueError, match="latency: got 'x'"):
        cs.simulate(model, np.zeros((3, 1)), engine="events", latency="x")
    with pytest.raises(cs.ShapeError, match=r"times: got shape \(2,\), expected \(3,\)"):
        cs.simulate(model, np.zeros((3, 1)), engine="events", times=[0.0, 1.0])
    with pytest.raises(cs.InvalidValueError, match="strictly increasing"):
        cs.simulate(model, np.zeros((3, 1)), engine="events", times=[0.0, 2.0, 1.0])
    with pytest.raises(cs.InvalidValueError, match="compute: got"):
        cs.simulate(model, np.zeros((3, 1)), engine="events", compute=4)


@pytest.mark.parametrize("options", [
    {},
    dict(compute=cs.ComputeModel(cores=1, throughput=60.0), deadline=0.5),
    dict(latency=cs.LinkLatency(cs.Exponential(1.5), seed=3), compute=cs.ComputeModel(cores=2, throughput=80.0)),
])
def test_aggregate_trace_has_the_full_traces_summary(options, rng, monkeypatch):
    """Long runs can keep per-module totals only; records are folded in chunks (tiny chunks here)."""
    from clocksim.engine import events
    monkeypatch.setattr(events, "CHUNK", 7)
    model = cs.ClockworkRNN(2, 1, [3, 2, 4], [1, cs.Jittered(2.0, 0.5, seed=1), 4], connectivity="dense")
    x = rng.normal(size=(60, 2))
    full = cs.simulate(model, x, engine="events", **options)
    agg = cs.simulate(model, x, engine="events", trace="aggregate", **options)
    assert isinstance(agg.trace, cs.AggregateTrace)
    assert np.array_equal(full.y, agg.y)
    a, b = full.trace.summary(), agg.trace.summary()
    assert a.keys() == b.keys()
    for key in a:
        if key == "per_module":
            for ma, mb in zip(a[key], b[key]):
                assert ma.keys() == mb.keys()
                for k in ma:
                    assert same(ma[k], mb[k]), (key, k)
        else:
            assert same(a[key], b[key]), key


def same(u, v):
    if isinstance(u, dict):
        return u.keys() == v.keys() and all(same(u[k], v[k]) for k in u)
    if isinstance(u, (int, float)) and not isinstance(u, bool):
        return u == pytest.approx(v, rel=1e-12)
    return u == v


def test_compact_rows_stay_ordered_when_late_activations_arrive():
    """Records of an activation that queued for a core arrive after later firings: merged into place."""
    from clocksim.engine.stream import GrowingRecords
    from clocksim.trace.core import TIMED_DTYPE

    rng = np.random.default_rng(5)
    rows = np.zeros(3000, dtype=TIMED_DTYPE)
    rows["time"] = np.sort(rng.integers(0, 900, size=3000)).astype(float)
    rows["module"] = rng.integers(0, 50, size=3000)
    rows = np.unique(rows)                                   # (time, module) pairs are unique in a trace
    rows = rows[np.lexsort((rows["module"], rows["time"]))]
    grow = GrowingRecords(TIMED_DTYPE)
    late = rng.random(rows.size) < 0.05                      # each flush misses some rows, given in the next
    held = np.zeros(0, dtype=TIMED_DTYPE)
    for part in np.array_split(np.arange(rows.size), 40):
        now = np.concatenate([held, rows[part][~late[part]]])
        held = rows[part][late[part]]
        grow.merge(now[np.lexsort((now["module"], now["time"]))])
    grow.merge(held)
    assert grow.array().tobytes() == rows.tobytes()


def test_growing_records_grow_and_trim_while_a_view_is_held():
    """A view of the map still alive when it must move (mremap refuses: BufferError, seen once in a threaded
    sweep): the records move to a new map, copied, and the held view keeps what it showed."""
    from clocksim.trace.core import TIMED_DTYPE
    from clocksim.trace.tracers import GROW_MIN, GrowingRecords

    rows = np.zeros(GROW_MIN + 10, dtype=TIMED_DTYPE)
    rows["time"] = np.arange(rows.size, dtype=float)
    grow = GrowingRecords(TIMED_DTYPE)
    grow.merge(rows[:100])
    held = grow.buf[:100]                                    # against reserve's rule: a view across a call
    grow.merge(rows[100:])                                   # grows past the first map
    assert grow.cap >= rows.size and held["time"].tolist() == rows["time"][:100].tolist()
    trimmed = grow.array()                                   # trims, with the view still held
    assert trimmed.tobytes() == rows.tobytes() and held["time"].tolist() == rows["time"][:100].tolist()


def test_growing_records_leave_no_view_in_a_frame_a_profiler_keeps():
    """A sampling profiler (dask's worker samples its threads every 10 ms) may keep a frame after its call
    returned, and with it the frame's locals: ``merge`` leaves no view of the map in its frame, so the map
    still grows and trims in place (moved, not copied) while such a frame lives."""
    import sys

    from clocksim.trace.core import TIMED_DTYPE
    from clocksim.trace.tracers import GROW_MIN, GrowingRecords

    kept = []

    def keep_merge_frames(frame, event, arg):
        if event == "return" and frame.f_code is GrowingRecords.merge.__code__:
            kept.append(frame)

    rows = np.zeros(GROW_MIN + 10, dtype=TIMED_DTYPE)
    rows["time"] = np.arange(rows.size, dtype=float)
    grow = GrowingRecords(TIMED_DTYPE)
    sys.setprofile(keep_merge_frames)
    try:
        grow.merge(rows[:100])
        grow.merge(rows[100:])                               # grows while the first call's frame is kept
    finally:
        sys.setprofile(None)
    grown = grow.map
    assert len(kept) == 2
    assert grow.array().tobytes() == rows.tobytes() and grow.map is grown      # trimmed in place, not copied


@pytest.mark.parametrize("start", [0, 1, 7])
def test_latch_without_times_equals_the_search_of_start_plus_s(start):
    """Derived readouts latch samples arithmetically when they arrive at start + s: the same samples."""
    from clocksim.engine.base import _latch
    from clocksim.trace.core import ACTIVATION_DTYPE

    rng = np.random.default_rng(start)
    L = 50
    act = np.zeros(400, dtype=ACTIVATION_DTYPE)
    act["time"] = np.concatenate([rng.uniform(start - 3, start + L + 3, 380), start + np.arange(-2, 18)])
    act["end"] = act["time"] + rng.uniform(0, 2, act.size)
    searched, computed = np.full(L, np.inf), np.full(L, np.inf)
    _latch(searched, act, start + np.arange(L, dtype=np.float64))
    _latch(computed, act, None, start)
    assert np.isfinite(searched).any() and np.array_equal(searched, computed)
