"""Streaming runs: chunked input, memory-mapped and iterator input, and what ``keep`` keeps.

A run read in chunks must equal the whole run bit for bit, on both engines, including a
timed run (latency and a compute model) whose queued activations and messages in flight
cross chunk boundaries.
"""

from pathlib import Path

import numpy as np
import pytest

import clocksim as cs
from clocksim.app.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def same_records(a, b):
    """Structured arrays equal field by field (NaN equals NaN in float fields)."""
    return a.shape == b.shape and all(
        np.array_equal(a[f], b[f], equal_nan=a[f].dtype.kind == "f") for f in a.dtype.names)


def assert_same_run(a, b):
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.h, b.h)
    for table in ("activations", "messages", "readouts"):
        assert same_records(getattr(a.trace, table), getattr(b.trace, table)), table
    assert a.trace.summary() == b.trace.summary()


@pytest.fixture
def model():
    return cs.ClockworkRNN(3, 2, [4, 3, 5], [1, 2, 4], seed=1)


@pytest.fixture
def x(rng):
    return rng.normal(size=(2, 50, 3))


@pytest.mark.parametrize("chunk", [1, 7, 50, 64])
def test_chunked_equals_whole(engine, model, x, chunk):
    assert_same_run(cs.simulate(model, x, engine=engine), cs.simulate(model, x, engine=engine, chunk=chunk))


def test_iterator_of_uneven_chunks_equals_whole(engine, model, x):
    whole = cs.simulate(model, x, engine=engine)
    parts = iter(np.array_split(x, [3, 4, 20, 21, 33], axis=1))
    assert_same_run(whole, cs.simulate(model, parts, engine=engine, chunk=5))
    unbatched = cs.simulate(model, (x[0, lo:lo + 6] for lo in range(0, 50, 6)), engine=engine, chunk=8)
    np.testing.assert_array_equal(unbatched.y, cs.simulate(model, x[0], engine=engine).y)
    assert unbatched.trace.meta["n_steps"] == 50


def test_memmap_input_equals_array(engine, model, x, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, x.astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    whole = cs.simulate(model, x.astype(np.float32).astype(np.float64), engine=engine)
    assert_same_run(whole, cs.simulate(model, mm, engine=engine, chunk=9))


def test_timed_run_with_events_across_chunks(model, x):
    """Jittered and Poisson clocks, link latency and one core: queues and messages cross chunk borders."""
    timed = cs.ClockworkRNN(3, 2, [4, 3, 5], [cs.Jittered(1.0, 0.3, seed=2), 2, cs.Poisson(0.3, seed=3)], seed=1)
    opts = dict(latency=cs.LinkLatency(cs.Uniform(0.2, 1.7)), compute=cs.ComputeModel(cores=1, throughput=400.0),
                deadline=0.5)
    whole = cs.simulate(timed, x, engine="events", **opts)
    acts = whole.trace.activations
    assert (acts["start"] > acts["time"]).any()                  # some activations queued
    msgs = whole.trace.messages
    assert (msgs["arrive"] > msgs["send"]).any()                # some messages took time
    for chunk in (2, 3, 7, 20):
        assert_same_run(whole, cs.simulate(timed, x, engine="events", chunk=chunk, **opts))
        agg = cs.simulate(timed, x, engine="events", chunk=chunk, keep="last", trace="aggregate", **opts)
        np.testing.assert_array_equal(agg.y, whole.y[:, -1])
        s_whole, s_agg = whole.trace.summary(), agg.trace.summary()
        for key in ("activations", "macs", "messages", "readouts", "latency", "deadline_misses"):
            assert s_agg[key] == s_whole[key], key


def test_queue_longer_than_a_chunk_is_refused(model, x):
    timed = cs.ClockworkRNN(3, 2, [4, 3, 5], [1, 1, 1], seed=1)
    slow = cs.ComputeModel(cores=1, throughput=20.0)                 # the queue grows without bound
    cs.simulate(timed, x, engine="events", compute=slow)             # fine in one chunk
    with pytest.raises(cs.UnsupportedError, match="larger chunk="):
        cs.simulate(timed, x, engine="events", compute=slow, chunk=4)


@pytest.mark.parametrize("batched", [True, False])
def test_keep(engine, model, x, batched):
    x = x if batched else x[0]
    whole = cs.simulate(model, x, engine=engine)
    outputs = cs.simulate(model, x, engine=engine, keep="outputs", chunk=6)
    np.testing.assert_array_equal(outputs.y, whole.y)
    assert outputs.h is None
    last = cs.simulate(model, x, engine=engine, keep="last", chunk=6)
    np.testing.assert_array_equal(last.y, whole.y[..., -1, :])
    np.testing.assert_array_equal(last.h, whole.h[..., -1, :])
    assert last.y.shape == ((2, 2) if batched else (2,)) and last.h.shape == ((2, 12) if batched else (12,))
    none = cs.simulate(model, x, engine=engine, keep="none", trace="aggregate", chunk=6)
    assert none.y is None and none.h is None
    assert none.trace.summary()["activations"] == whole.trace.summary()["activations"]
    assert "y=None" in repr(none)


def test_input_driven_clock_streams_on_the_compiled_engine(rng):
    model = cs.ClockworkRNN(2, 1, [3, 3], [cs.OnInput(0.5), 2], seed=1)
    x = np.round(rng.normal(size=(40, 2)))
    assert_same_run(cs.simulate(model, x), cs.simulate(model, x, chunk=3))
    np.testing.assert_array_equal(cs.simulate(model, x, engine="events").y, cs.simulate(model, x, chunk=3).y)
    with pytest.raises(cs.UnsupportedError, match="depend on the whole input"):
        cs.simulate(model, x, engine="events", chunk=3)


@pytest.mark.parametrize("options, match", [
    (dict(keep="some"), "keep: got 'some'"),
    (dict(chunk=0), "chunk"),
    (dict(trace="rows"), "trace: got 'rows'"),
])
def test_bad_options(engine, model, x, options, match):
    with pytest.raises(cs.InvalidValueError, match=match):
        cs.simulate(model, x, engine=engine, **options)


def test_bad_chunks_name_the_step(engine, model, x):
    bad = x.copy()
    bad[1, 30, 2] = np.nan
    with pytest.raises(cs.InvalidValueError, match=r"x: contains nan at step 30 \(sequence 1, input 2\)"):
        cs.simulate(model, iter(np.array_split(bad, 5, axis=1)), engine=engine)
    with pytest.raises(cs.ShapeError, match="chunk at step 10: got shape"):
        cs.simulate(model, iter([x[:, :10], x[0, 10:20]]), engine=engine)
    with pytest.raises(cs.ShapeError, match="the iterator yielded no chunk"):
        cs.simulate(model, iter([]), engine=engine)
    with pytest.raises(cs.InvalidValueError, match="n_steps: got 40, but x yielded 50 steps"):
        cs.simulate(model, iter(np.array_split(x, 5, axis=1)), engine=engine, n_steps=40)


def test_scenario_output_keep_and_trace(tmp_path):
    from clocksim.app.cli import main

    out = tmp_path / "agg"
    code = main(["run", str(SCENARIOS / "message_latency.toml"), "--out", str(out), "--set", "output.keep=last",
                 "--set", "output.trace=aggregate", "--set", "input.steps=300"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "scenario.json", "summary.json"]
    full = tmp_path / "full"
    assert main(["run", str(SCENARIOS / "message_latency.toml"), "--out", str(full), "--set", "input.steps=300"]) == 0
    import json
    s_agg, s_full = (json.loads((d / "summary.json").read_text()) for d in (out, full))
    for key in ("activations", "macs", "messages", "latency", "deadline_misses", "per_module"):
        assert s_agg[key] == s_full[key], key


def test_memory_limit_counts_what_a_streaming_run_keeps(monkeypatch):
    """The run-size check estimates what the run holds: 10**7 steps with every state and a full trace exceed
    64 MB and are refused naming input.steps; with keep = "last" and an aggregate trace the same length is
    bounded (the input is generated a block at a time) and loads."""
    monkeypatch.setenv("CLOCKSIM_MAX_MEMORY", "64M")
    path = SCENARIOS / "quickstart.toml"
    with pytest.raises(cs.ClocksimError, match="CLOCKSIM_MAX_MEMORY") as info:
        load_scenario(path, ["input.steps=10000000"])
    assert info.value.key == "input.steps"
    with pytest.raises(cs.ClocksimError, match="CLOCKSIM_MAX_MEMORY"):     # a full trace grows with the activations
        load_scenario(path, ["input.steps=10000000", "output.keep=last"])
    scenario = load_scenario(path, ["input.steps=10000000", "output.keep=last", "output.trace=aggregate"])
    assert scenario.x.shape[1] == 10**7


@pytest.mark.parametrize("override, key", [
    ('output.plots=["cost"]', "output.plots[0]"),
    ("output.csv=true", "output.csv"),
    ("output.keep=everything", "output.keep"),
])
def test_scenario_output_refuses_what_an_aggregate_cannot_write(tmp_path, capsys, override, key):
    from clocksim.app.cli import main

    code = main(["run", str(SCENARIOS / "quickstart.toml"), "--out", str(tmp_path / "o"),
                 "--set", "output.trace=aggregate", "--set", override])
    assert code == 2
    assert key in capsys.readouterr().err


def test_scenario_state_figure_needs_all_states(tmp_path, capsys):
    from clocksim.app.cli import main

    code = main(["run", str(SCENARIOS / "quickstart.toml"), "--out", str(tmp_path / "o"), "--set", "output.keep=last",
                 "--set", 'output.plots=["state"]'])
    assert code == 2 and "no state figure" in capsys.readouterr().err


def _old_signal(kind, B, L, n_in, seed, amp=1.0, period=16.0, at=None, noise=0.0, std=1.0):
    """The scenario inputs as they were computed whole (the slow twin of Signal)."""
    rng = np.random.default_rng(seed)
    t = np.arange(L, dtype=np.float64)
    shape = (B, L, n_in)
    if kind == "silence":
        return np.zeros(shape)
    if kind == "noise":
        return rng.normal(0.0, std, shape)
    offset = rng.uniform(0, 2 * np.pi, (B, 1, n_in)) if B > 1 or n_in > 1 else np.zeros((B, 1, n_in))
    if kind in ("sine", "square"):
        wave = np.sin(2 * np.pi * t[None, :, None] / period + offset)
        x = amp * (wave if kind == "sine" else np.sign(wave) + (wave == 0))
    else:
        x = np.broadcast_to(amp * (t >= (L // 2 if at is None else at))[None, :, None], shape).copy()
    return x + rng.normal(0.0, noise, shape)


@pytest.mark.parametrize("kind", ["sine", "square", "step", "noise", "silence"])
@pytest.mark.parametrize("B, n_in", [(1, 1), (1, 3), (2, 2)])
def test_signal_equals_whole_input(kind, B, n_in):
    from clocksim.app.scenario.signals import Signal

    L = 300
    opts = {"sine": dict(period=16.0, noise=0.1), "square": dict(period=7.0, noise=0.2), "step": dict(at=100),
            "noise": dict(std=0.5), "silence": {}}[kind]
    sig = Signal(kind, (B, L, n_in), np.random.default_rng(4), **opts)
    sig.BLOCK = 64                                           # several blocks; one sequence keeps the whole stream
    want = _old_signal(kind, B, L, n_in, 4, **opts)
    got = np.concatenate([sig[:, lo:lo + 37] for lo in range(0, L, 37)], axis=1)
    assert got.shape == (B, L, n_in)
    if B == 1:
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.asarray(sig), got)      # read again from the start: same values
    np.testing.assert_array_equal(sig[:, 10:20], got[:, 10:20])


# ---------------------------------------------------------------- observed cost (issue 14, item 4)
def test_kernels_report_the_work_they_executed(engine, model, x):
    res = cs.simulate(model, x, engine=engine, chunk=9)
    meta, summary = res.trace.meta, res.trace.summary()
    assert meta["observed_updates"] == [row["activations"] for row in summary["per_module"]]
    assert meta["observed_macs"] == [row["macs"] for row in summary["per_module"]]
    # the analytic cost is the independent cross-check
    per = cs.cost.activation_macs(model.module_sizes, model.block_mask, model.n_in) * 2
    assert meta["observed_macs"] == (per * np.array(meta["observed_updates"])).tolist()


def test_a_compute_then_mask_kernel_is_caught(model, x, monkeypatch):
    """A kernel that computes idle modules too and then restores their rows gives the same outputs,
    but reports more executed multiply-adds than the schedule allows: the engine refuses the run."""
    from numba import njit

    from clocksim.kernels import core as K
    from clocksim.engine import CostMismatchError

    @njit
    def compute_then_mask(Z, L, B, m, active, plan, gidx, wflat, b, act, scratch, counts, W_out, b_out, out_act, Y,
                          X):
        g = active.shape[1]
        row = B * m
        n = b.shape[0]
        for s in range(L):
            prev = s * row
            cur = prev + row
            for q in range(B):
                for u in range(n, m):
                    Z[prev + q * m + u] = X[(q * L + s) * (m - n) + u - n]
            for j in range(g):
                r0, r1 = plan[j, K.P_R0], plan[j, K.P_R1]
                lo = plan[j, K.P_LO]
                if lo >= 0:
                    done = K.module_update(j, Z, prev + lo, m, Z, cur + r0, m, B, plan, wflat, b, act)
                else:
                    K.gather_reads(j, Z, prev, m, B, plan, gidx, scratch)
                    c = plan[j, K.P_G1] - plan[j, K.P_G0]
                    done = K.module_update(j, scratch, 0, c, Z, cur + r0, m, B, plan, wflat, b, act)
                counts[j, 0] += 1
                counts[j, 1] += done
                if not active[s, j]:                             # mask: the idle module keeps its state
                    for q in range(B):
                        for u in range(r0, r1):
                            Z[cur + q * m + u] = Z[prev + q * m + u]
        K.readout(Z, L, B, m, b.shape[0], W_out, b_out, out_act, Y)

    from clocksim.engine import compiled

    honest = cs.simulate(model, x)
    monkeypatch.setattr(compiled, "schedule_order", lambda plan, B=None: compiled.STEP_MAJOR)   # step-major kernel
    monkeypatch.setattr(K, "run_sequence", compute_then_mask)
    with pytest.raises(CostMismatchError, match=r"module 1 \(M2 T=2\) executed 50 updates"):
        cs.simulate(model, x)
    from clocksim.engine.compiled import forward_arrays
    from clocksim.engine.plan import plan_for
    _, Y = forward_arrays(plan_for(model), x, model.activity(50))
    np.testing.assert_allclose(Y.transpose(1, 0, 2), honest.y, rtol=0, atol=1e-12)   # outputs alone look fine


# ---------------------------------------------------------------- lazy import (issue 16)
def test_import_is_lazy_and_every_public_name_resolves():
    import ast
    import subprocess
    import sys

    code = ("import sys, clocksim as cs; heavy = [m for m in ('numba', 'simpy', 'matplotlib', 'pandas', 'dask', "
            "'tqdm', 'scipy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(cs.__file__).parents[1]).stdout
    assert out.strip() == "[]"
    for name in cs.__all__:
        assert getattr(cs, name) is not None, name
    import clocksim.train.loop  # noqa: F401  (the submodule must not hide the function)
    assert callable(cs.train) and cs.train.__name__ == "train"
    tree = ast.parse(Path(cs.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If))      # if TYPE_CHECKING:
    typed = {alias.asname or alias.name for node in block.body for alias in node.names}
    eager = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "errors"
             for alias in node.names}                                         # the errors load at once (light)
    assert eager >= {"ClocksimError", "InvalidValueError", "ClocksimWarning"}
    assert typed == set(cs.__all__) - eager | {"cost"}


# ---------------------------------------------------------------- full traces on disk, in parts
def test_trace_parts_on_disk_equal_the_held_trace(engine, model, x, tmp_path):
    from clocksim.engine.stream import read_trace_parts

    whole = cs.simulate(model, x, engine=engine)
    res = cs.simulate(model, x, engine=engine, chunk=7, keep="none", trace_dir=tmp_path / "parts")
    assert isinstance(res.trace, cs.AggregateTrace)
    assert res.trace.summary() == whole.trace.summary()
    parts = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert "meta.json" in parts and len(parts) > 3
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]             # no temporary sibling left
    back = read_trace_parts(tmp_path / "parts")
    for table in ("activations", "messages", "readouts"):
        assert same_records(getattr(back, table), getattr(whole.trace, table)), table
    assert back.summary() == whole.trace.summary()


def test_trace_parts_of_a_timed_run(x, tmp_path):
    from clocksim.engine.stream import read_trace_parts

    timed = cs.ClockworkRNN(3, 2, [4, 3, 5], [cs.Jittered(1.0, 0.3, seed=2), 2, cs.Poisson(0.3, seed=3)], seed=1)
    opts = dict(latency=cs.LinkLatency(cs.Uniform(0.2, 1.7)), compute=cs.ComputeModel(cores=1, throughput=400.0))
    whole = cs.simulate(timed, x, engine="events", **opts)
    cs.simulate(timed, x, engine="events", chunk=3, trace_dir=tmp_path / "t", **opts)
    back = read_trace_parts(tmp_path / "t")
    for table in ("activations", "messages", "readouts"):
        assert same_records(getattr(back, table), getattr(whole.trace, table)), table


def test_trace_parts_appear_whole_or_not_at_all(model, x, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(cs.InvalidValueError, match="trace_dir: got .* not an empty folder"):
        cs.simulate(model, x, trace_dir=tmp_path / "full")
    bad = x.copy()
    bad[0, 40, 0] = np.nan
    with pytest.raises(cs.InvalidValueError, match="contains nan"):
        cs.simulate(model, bad, chunk=8, trace_dir=tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


@pytest.mark.parametrize("arrivals", [False, True])
def test_a_clock_that_stops_firing_does_not_stall_a_chunked_event_run(arrivals):
    """An explicit clock past its last firing has empty windows: its process waits out each one (it used to
    spin without yielding, so a chunked run never ended). Chunked equals whole, with and without times=."""
    model = cs.ClockworkRNN(1, 1, [4, 4], [cs.Periodic(1), cs.Explicit([0, 3, 10, 11])], seed=0)
    x = np.random.default_rng(0).normal(size=(40, 1))
    options = {"times": np.arange(40) * 1.0} if arrivals else {}
    whole = cs.simulate(model, x, engine="events", **options)
    part = cs.simulate(model, x, engine="events", chunk=7, **options)
    assert np.array_equal(whole.y, part.y) and np.array_equal(whole.h, part.h)
    assert part.trace.summary()["per_module"][1]["activations"] == 4
