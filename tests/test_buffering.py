"""Input buffering (``input_mode``): the reference twin, both engines bit for bit, chunks, gradients, cost."""

import numpy as np
import pytest
from gradcheck import assert_grads_match, data
from helpers import random_model
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import buffered_input, reference_model

import clocksim as cs

TOL = 1e-10
MODES = ["mean", "sum", "max"]


def mixed_model(rng, modes, periods=(1, 2, 4, 8), start=0, connectivity="slow-to-fast", n_in=2):
    return random_model(rng, g=len(periods), sizes=[2, 3, 1, 2][:len(periods)], periods=list(periods),
                        phases=False, start=start, connectivity=connectivity, n_in=n_in, n_out=2, input_mode=modes)


def test_window_rule_worked_example():
    """docs/concepts.md: with periods 1, 2, 4 each firing reads these windows (the steps summed)."""
    expected = {0: {1: [[0], [1, 2], [3, 4], [5, 6]], 2: [[0], [1, 2, 3, 4]]},
                1: {1: [[1, 2], [3, 4], [5, 6], [7, 8]], 2: [[1, 2, 3, 4], [5, 6, 7, 8]]}}
    for start, windows in expected.items():
        model = cs.ClockworkRNN(1, 1, [1, 1, 1], [1, 2, 4], start=start, input_mode="sum")
        x = (start + np.arange(8.0))[:, None]                   # sample s holds its step number start + s
        active = model.activity(8)
        for i, want in windows.items():
            got, last = [], -1
            for s in np.flatnonzero(active[:, i]):
                got.append(float(buffered_input(x, s, last, "sum")[0]))
                last = s
            assert got == [float(sum(w)) for w in want], (start, i)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("periods", [(1, 2, 4, 8), (2, 3, 5, 7), (3, 3, 1, 10)])
@pytest.mark.parametrize("batched", [False, True])
def test_matches_reference(engine, mode, start, periods, batched, rng):
    conn = "dense" if list(periods) != sorted(periods) else "slow-to-fast"
    model = mixed_model(rng, mode, periods, start, conn)
    X = rng.normal(size=(3, 25, 2) if batched else (25, 2))
    res = cs.simulate(model, X, engine=engine)
    y_ref, h_ref = reference_model(model, X)
    np.testing.assert_allclose(res.h, h_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.y, y_ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(8))
def test_random_mixed_modes_match_reference(engine, seed):
    rng = np.random.default_rng(seed)
    g = int(rng.integers(1, 5))
    modes = [["latest", *MODES][int(k)] for k in rng.integers(0, 4, g)]
    model = random_model(rng, g=g, n_in=int(rng.integers(1, 4)), input_mode=modes)
    X = rng.normal(size=(2, 20, model.n_in))
    res = cs.simulate(model, X, engine=engine)
    y_ref, h_ref = reference_model(model, X)
    np.testing.assert_allclose(res.h, h_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.y, y_ref, rtol=0, atol=TOL)


def test_buffering_changes_what_slow_modules_see(rng):
    """A one-step pulse between firings of M2 (T=4) reaches it only when buffered."""
    x = np.zeros((8, 1))
    x[1] = 1.0                                                    # step 1: only M1 fires
    for mode, seen in (("latest", False), ("max", True)):
        model = cs.ClockworkRNN(1, 1, [1, 1], [1, 4], start=0, input_mode=["latest", mode])
        model.set_params(W_rec=np.zeros((2, 2)), W_in=np.ones((2, 1)))
        h = cs.simulate(model, x).h
        assert (h[4, 1] != 0.0) == seen                           # M2 fires at step 4, reading steps 1..4


@pytest.mark.parametrize("mode", MODES)
def test_engines_equal_bit_for_bit_and_chunks(mode, rng):
    model = mixed_model(rng, ["latest", mode, mode, "max"], periods=(1, 3, 4, 9), start=1)
    X = rng.normal(size=(4, 41, 2))
    whole = cs.simulate(model, X, engine="compiled")
    runs = [cs.simulate(model, X, engine="compiled", chunk=5),
            cs.simulate(model, X, engine="compiled", chunk=1),
            cs.simulate(model, X, engine="events"),
            cs.simulate(model, X, engine="events", chunk=7),
            cs.simulate(model, X, engine="events", compute=cs.ComputeModel(cores=4)),     # the general path
            cs.simulate(model, (X[:, lo:lo + 6] for lo in range(0, 41, 6)), engine="compiled")]
    for res in runs:
        assert np.array_equal(res.y, whole.y) and np.array_equal(res.h, whole.h)
    single = cs.simulate(model, X[0], engine="compiled")
    assert np.array_equal(cs.simulate(model, X[0], engine="events", chunk=4).y, single.y)


def test_latest_everywhere_is_the_paper(rng):
    a = mixed_model(rng, "latest")
    b = cs.ClockworkRNN(2, 2, [2, 3, 1, 2], [1, 2, 4, 8])
    b.set_params(**a.params)
    X = rng.normal(size=(2, 20, 2))
    assert np.array_equal(cs.simulate(a, X).y, cs.simulate(b, X).y)
    assert a.buffered == () and a.input_mode == ("latest",) * 4


def test_mean_of_a_module_firing_every_step_is_latest(engine, rng):
    a = mixed_model(rng, "mean", periods=(1, 1))
    b = mixed_model(rng, "latest", periods=(1, 1))
    b.set_params(**a.params)
    X = rng.normal(size=(2, 15, 2))
    # Equal to rounding, not bit for bit: since the fixed split summation (issue 30), an unbuffered
    # module that reads itself first sums its own block after the rest, while a buffered module reads
    # through gathered columns in one sum, so the two orders differ in the last bits.
    np.testing.assert_allclose(cs.simulate(a, X, engine=engine).y, cs.simulate(b, X, engine=engine).y,
                               rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("start", [0, 1])
def test_gradients_through_the_buffer(mode, start, rng):
    model = mixed_model(rng, ["latest", mode, mode], periods=(1, 2, 3), start=start)
    x, target = data(rng, model, 2, 9)
    if mode == "max":                                           # away from ties: distinct values
        x = x + 0.01 * np.arange(x.size).reshape(x.shape) % 1.0
    assert_grads_match(model, x, target, "mse")


def test_gradient_uses_the_buffered_input(rng):
    """W_in of a buffered module gets the gradient of the window's mean, not of the latest sample."""
    model = mixed_model(rng, ["latest", "mean"], periods=(1, 4))
    x, target = data(rng, model, 0, 8)
    _, grads = cs.loss_and_grad(model, x, target, "mse")
    latest = mixed_model(rng, "latest", periods=(1, 4))
    latest.set_params(**model.params)
    _, g_latest = cs.loss_and_grad(latest, x, target, "mse")
    rows = model.rows(1)
    assert not np.allclose(grads["W_in"][rows], g_latest["W_in"][rows])
    assert np.array_equal(grads["W_in"][model.rows(0)] != 0, g_latest["W_in"][model.rows(0)] != 0)


class TestValidation:
    def test_unknown_mode(self):
        with pytest.raises(cs.ClocksimError, match=r"input_mode: got 'median', expected one of 'latest'"):
            cs.ClockworkRNN(1, 1, [1, 1], [1, 2], input_mode="median")

    def test_wrong_length(self):
        with pytest.raises(ValueError, match=r"input_mode: got \['mean'\], expected .* a list of 2, one per module"):
            cs.ClockworkRNN(1, 1, [1, 1], [1, 2], input_mode=["mean"])

    def test_bad_entry(self):
        with pytest.raises(ValueError, match=r"input_mode\[1\]: got 'avg'"):
            cs.ClockworkRNN(1, 1, [1, 1], [1, 2], input_mode=["mean", "avg"])



@pytest.mark.parametrize("mode", MODES)
def test_asynchronous_windows_follow_the_firings(mode, rng):
    """Irregular arrivals (times=) and asynchronous clocks: each firing reads the reduction of the samples
    after the one its module's previous firing latched, up to the one it latches; two firings that latch
    the same sample read the same value. Checked on a linear model whose state is what it read."""
    n_in, L = 2, 40
    clocks = [cs.Periodic(1), cs.Jittered(3, jitter=1.0, seed=1), cs.Poisson(0.4, seed=2),
              cs.Explicit([0.5, 2.2, 2.3, 9.9, 10.0, 17.5]), cs.Poisson(3.0, seed=4)]   # the last: several per sample
    g, n = len(clocks), n_in * len(clocks)
    model = cs.ClockworkRNN(n_in, 1, [n_in] * g, clocks, connectivity="dense", activation="linear",
                            input_mode=["latest"] + [mode] * (g - 1))
    model.set_params(W_rec=np.zeros((n, n)), W_in=np.tile(np.eye(n_in), (g, 1)), b=np.zeros(n), h0=np.zeros(n))
    times = 1.0 + np.cumsum(rng.uniform(0.3, 1.7, L))                            # (L,) irregular arrivals
    x = rng.normal(size=(L, n_in))
    res = cs.simulate(model, x, engine="events", times=times)
    act = res.trace.activations
    read_at = np.append(times[1:], times[-1] + 1.0)          # output s: the state published before sample s+1
    for i in range(g):
        fired = np.sort(act["time"][act["module"] == i])
        latched = np.searchsorted(times, fired, side="right") - 1
        reads, prev, value = [], -1, None
        for p in latched:
            if p > prev:
                value, prev = buffered_input(x, p, prev, model.input_mode[i]), p
            reads.append(value)
        assert len(fired) > 1
        for s in range(L):
            k = np.searchsorted(fired, read_at[s], side="left") - 1
            want = reads[k] if k >= 0 else np.zeros(n_in)
            np.testing.assert_allclose(res.h[s, model.rows(i)], want, rtol=0, atol=1e-12)
    # chunked: the open windows carry over. (Without the Explicit clock: on main a chunked events run with an
    # Explicit clock and times= does not end, buffered or not; reported, not part of this change.)
    clocks = [c for c in clocks if not isinstance(c, cs.Explicit)]
    model = cs.ClockworkRNN(n_in, 1, [n_in] * len(clocks), clocks, connectivity="dense", activation="linear",
                            input_mode=["latest"] + [mode] * (len(clocks) - 1))
    whole = cs.simulate(model, x, engine="events", times=times).h
    for chunk in (1, 7):
        assert np.array_equal(cs.simulate(model, x, engine="events", times=times, chunk=chunk).h, whole)


def test_buffering_work_is_counted_apart_from_macs(engine, rng):
    """buffer_ops / buffer_floats from cost.buffer_cost; macs (and the kernels' observed MACs) unchanged."""
    B, L, n_in = 3, 16, 2
    X = rng.normal(size=(B, L, n_in))
    buffered = mixed_model(rng, ["latest", "mean", "max", "sum"])
    plain = mixed_model(rng, "latest")
    s_buf = cs.simulate(buffered, X, engine=engine).trace.summary()
    s_plain = cs.simulate(plain, X, engine=engine).trace.summary()
    assert s_buf["macs"] == s_plain["macs"] and s_buf["activations"] == s_plain["activations"]
    fires = [16, 8, 4, 2]                                         # periods 1, 2, 4, 8 over 16 steps at start 0
    assert [m["buffer_ops"] for m in s_buf["per_module"]] == [0, B * n_in * (L + fires[1]), B * n_in * L,
                                                              B * n_in * L]
    assert s_buf["buffer_ops"] == sum(m["buffer_ops"] for m in s_buf["per_module"])
    assert s_buf["buffer_floats"] == 3 * B * n_in
    assert s_plain["buffer_ops"] == s_plain["buffer_floats"] == 0
    assert cs.simulate(buffered, X, engine=engine, trace="aggregate").trace.summary()["buffer_ops"] == \
        s_buf["buffer_ops"]


class TestScenario:
    RAW = {"model": {"module_sizes": 2, "periods": [1, 2, 4]}, "input": {"kind": "noise", "steps": 8}}

    def parse(self, mode):
        raw = {"model": dict(self.RAW["model"], input_mode=mode), "input": dict(self.RAW["input"])}
        return cs.scenario.parse_scenario(raw)

    def test_one_mode_and_one_per_module(self):
        assert self.parse("mean").model.input_mode == ("mean",) * 3
        assert self.parse(["latest", "max", "sum"]).model.input_mode == ("latest", "max", "sum")

    @pytest.mark.parametrize("mode, msg", [("avg", r"model.input_mode: got 'avg', expected one of \"latest\""),
                                           (["mean"], r"model.input_mode: got \['mean'\], expected one mode or 3"),
                                           (["mean", "max", 3], r"model.input_mode\[2\]: got 3")])
    def test_bad_mode(self, mode, msg):
        with pytest.raises(cs.ClocksimError, match=msg):
            self.parse(mode)


def test_input_windows_follow_the_reference_rule():
    model = cs.ClockworkRNN(1, 1, [1, 1, 1], [1, 3, 4], start=1)
    active = model.activity(12)
    from clocksim.app.explain import input_windows

    first = input_windows(active, start=1)
    for i in range(3):
        last = -1
        for s in range(12):
            if active[s, i]:
                assert first[s, i] == 1 + last + 1                 # the step after the previous firing
                last = s
            else:
                assert first[s, i] == -1


def test_explain_shows_each_buffered_window(capsys):
    from clocksim.app.cli import main

    assert main(["explain", "--periods", "1,2,4", "--start", "1", "--input-mode", "latest,mean,max",
                 "--at", "16"]) == 0
    out = capsys.readouterr().out
    rows = out.split("  step   M2(mean)   M3(max)\n")[1].splitlines()
    assert rows[3].split() == ["4", "3..4", "1..4"] and rows[1].split() == ["2", "1..2", "."]
    assert rows[-1].split() == ["->", "16", "15..16", "13..16"]
    assert "M1(" not in out                                       # latest modules have no window column
    assert main(["explain", "--periods", "1,2", "--input-mode", "mean,median"]) == 2
    assert "--input-mode: got 'median'" in capsys.readouterr().err


def test_activity_plot_shades_each_window(rng):
    from matplotlib.collections import PolyCollection

    model = cs.ClockworkRNN(1, 1, [1, 1, 1], [1, 2, 4], start=1, input_mode=["latest", "mean", "max"])
    trace = cs.simulate(model, rng.normal(size=(16, 1))).trace
    ax = cs.plot_activity(trace, windows=True)
    shaded = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_label() == "input windows"]
    assert len(shaded) == 1
    paths = shaded[0].get_paths()
    assert len(paths) == 8 + 4                                     # M2 fires 8 times, M3 4 times in steps 1..16
    spans = sorted((p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in paths)
    assert spans[0] == (0.5, 2.5) and (0.5, 4.5) in spans and (12.5, 16.5) in spans   # steps 1..2, 1..4, 13..16
    plain = cs.simulate(cs.ClockworkRNN(1, 1, [1, 1], [1, 2]), rng.normal(size=(4, 1))).trace
    with pytest.raises(ValueError, match="windows: got True, but no module of this run buffers"):
        cs.plot_activity(plain, windows=True)


def test_buffering_page_tables_are_the_results():
    """docs/buffering.md shows exactly the tables benchmarks/exp_buffering.py makes of results/buffering."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("exp_buffering", root / "benchmarks" / "exp_buffering.py")
    exp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exp)
    results = json.loads((root / "results" / "buffering" / "results.json").read_text())
    page = (root / "docs" / "buffering.md").read_text()
    for task in ("pulse_count", "synthetic_words"):
        assert exp.markdown(results[task]["table"]) in page, task
    assert results["generation"]["identical_outputs"] is True
    assert "provenance" in results and len(results["parameters"]["seeds"]) >= 3


@settings(deadline=None, max_examples=30)
@given(periods=st.lists(st.integers(1, 9), min_size=1, max_size=4), start=st.integers(0, 3),
       modes=st.lists(st.sampled_from(["latest", *MODES]), min_size=4, max_size=4),
       L=st.integers(1, 30), chunk=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_property_engines_chunks_and_reference_agree(periods, start, modes, L, chunk, seed):
    rng = np.random.default_rng(seed)
    periods = sorted(periods)
    model = random_model(rng, g=len(periods), periods=periods, start=start, n_in=2, n_out=1,
                         input_mode=modes[:len(periods)])
    X = rng.normal(size=(2, L, 2))
    whole = cs.simulate(model, X, engine="compiled")
    for engine in ("compiled", "events"):
        res = cs.simulate(model, X, engine=engine, chunk=chunk)
        assert np.array_equal(res.y, whole.y) and np.array_equal(res.h, whole.h)
    np.testing.assert_allclose(whole.h, reference_model(model, X)[1], rtol=0, atol=TOL)
