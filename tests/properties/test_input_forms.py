"""Issue 25, point 3: every input form gives the array run's y, h and trace bit for bit.

Input form (array, batched array, memory map, iterator of arrays, generator of odd-sized chunks, one
chunk larger than the engine's chunk, chunk sizes that are no multiple of any period) x engine x timing
model (none, compute model, link latency, buffered inputs). The baseline is the same input as one
in-memory array, run in one chunk. A few cases use the real default chunk size (``slow``).
"""

import os
import tempfile

import numpy as np
import pytest
from helpers import ENGINE_NAMES, randomize
from hypothesis import given, settings
from hypothesis import strategies as st

import clocksim as cs
from clocksim.engine.stream import chunk_steps

FORMS = ["array", "batched", "memmap", "iterator", "odd generator", "one big chunk", "no multiple of a period"]
TIMINGS = ["none", "compute", "latency", "buffering"]
SETTINGS = settings(deadline=None, max_examples=60)


def make_model(periods, sizes, n_in, timing, seed, jitter=False):
    clocks = [cs.Periodic(p, seed % p) for p in periods]
    if jitter:                                          # the asynchronous path: one clock at real times
        clocks[-1] = cs.Jittered(float(periods[-1]) + 0.5, 0.4, seed=seed)
    modes = "latest"
    if timing == "buffering":
        modes = [("latest", "mean", "sum", "max")[(seed + i) % 4] for i in range(len(periods))]
    model = cs.ClockworkRNN(n_in, 2, sizes, clocks, start=seed % 3, input_mode=modes, seed=seed)
    return randomize(model, np.random.default_rng(seed))


def timing_options(model, timing, seed):
    if timing == "compute":
        macs = cs.cost.activation_macs(model.module_sizes, model.block_mask, model.n_in)
        # A loaded but feasible pool: all modules and the readout job (on by default) of up to 3 sequences
        # fit in a step, so waits stay shorter than the smallest chunk the forms use (an overloaded pool
        # is refused with a clear error instead: an activation's input would leave the chunk's window).
        work = float(macs.sum() + model.n_out * model.n)
        return {"compute": cs.ComputeModel(cores=1 + seed % 2, throughput=4 * work, overhead=0.05)}
    if timing == "latency":
        return {"latency": cs.LinkLatency(cs.Uniform(0.0, 2.5), seed=seed)}
    return {}


def cuts(rng, L, sizes):
    """Split points of 0..L taking chunk sizes from ``sizes`` in turn."""
    out, pos, k = [], 0, 0
    while pos < L:
        pos = min(L, pos + int(sizes[k % len(sizes)]))
        out.append(pos)
        k += 1
    return [0] + out


def form_of(form, x, periods, rng, folder):
    """``x`` (an in-memory array) in the given form, and the engine chunk to run it with."""
    L = x.shape[-2]
    if form in ("array", "batched"):
        return x, int(rng.integers(1, L + 2))
    if form == "memmap":
        path = os.path.join(folder, "x.bin")
        mm = np.memmap(path, dtype=x.dtype, mode="w+", shape=x.shape)
        mm[:] = x
        mm.flush()
        return np.memmap(path, dtype=x.dtype, mode="r", shape=x.shape), None
    if form == "one big chunk":
        return iter([x]), max(1, L // int(rng.integers(2, 5)))
    if form == "odd generator":
        bounds = cuts(rng, L, [1, 3, 5, 7, 9, 11])
    elif form == "no multiple of a period":
        ok = [c for c in range(1, 40) if all(c % p for p in set(periods) if p > 1)]
        bounds = cuts(rng, L, rng.choice(ok, size=5))
        chunk = int(rng.choice(ok))
        return iter([x[..., a:b, :] for a, b in zip(bounds[:-1], bounds[1:])]), chunk
    else:
        bounds = cuts(rng, L, rng.integers(1, 30, size=6))

    def gen():
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield x[..., a:b, :]
    return (gen() if form == "odd generator" else iter(list(gen()))), int(rng.integers(1, 50))


def assert_same_run(got, want):
    np.testing.assert_array_equal(got.y, want.y)
    np.testing.assert_array_equal(got.h, want.h)
    for table in ("activations", "messages", "readouts"):
        a, b = getattr(got.trace, table), getattr(want.trace, table)
        assert a.dtype.names == b.dtype.names and a.shape == b.shape, table
        for field in a.dtype.names:
            np.testing.assert_array_equal(a[field], b[field], err_msg=f"{table}.{field}")


@st.composite
def cases(draw):
    engine = draw(st.sampled_from(ENGINE_NAMES))
    timing = draw(st.sampled_from(TIMINGS if engine == "events" else ["none", "buffering"]))
    g = draw(st.integers(1, 4))
    periods = sorted(draw(st.lists(st.integers(1, 9), min_size=g, max_size=g)))
    sizes = draw(st.lists(st.integers(1, 4), min_size=g, max_size=g))
    return dict(engine=engine, timing=timing, form=draw(st.sampled_from(FORMS)), periods=periods, sizes=sizes,
                n_in=draw(st.integers(1, 3)), L=draw(st.integers(1, 150)), B=draw(st.integers(1, 3)),
                seed=draw(st.integers(0, 10_000)), jitter=engine == "events" and timing != "buffering"
                and draw(st.booleans()), f32=draw(st.booleans()))


def run_case(c, L=None, default_chunk=False):
    L = c["L"] if L is None else L
    rng = np.random.default_rng(c["seed"])
    model = make_model(c["periods"], c["sizes"], c["n_in"], c["timing"], c["seed"], c["jitter"])
    opts = timing_options(model, c["timing"], c["seed"])
    B = 3 if c["form"] == "batched" else c["B"]
    X = rng.normal(size=(B, L, model.n_in))
    if c["f32"]:
        X = X.astype(np.float32)
    x = X if (B > 1 or c["form"] == "batched") else X[0]
    want = cs.simulate(model, x, engine=c["engine"], **opts)
    with tempfile.TemporaryDirectory() as folder:
        xf, chunk = form_of(c["form"], x, c["periods"], rng, folder)
        if default_chunk:
            chunk = None
        got = cs.simulate(model, xf, engine=c["engine"], **({} if chunk is None else {"chunk": chunk}), **opts)
        assert_same_run(got, want)


@SETTINGS
@given(c=cases())
def test_every_input_form_gives_the_array_runs_results(c):
    run_case(c)


SLOW_CASES = [(engine, form, timing) for engine in ENGINE_NAMES
              for form, timing in [("one big chunk", "none"), ("iterator", "buffering"), ("memmap", "none"),
                                   ("one big chunk", "latency"), ("odd generator", "compute")]
              if engine == "events" or timing in ("none", "buffering")]        # the compiled engine: no timing


@pytest.mark.slow
@pytest.mark.parametrize("engine,form,timing", SLOW_CASES)
def test_with_the_real_default_chunk_size(engine, form, timing):
    c = dict(engine=engine, timing=timing, form=form, periods=[1, 2, 4, 8], sizes=[8, 8, 8, 8], n_in=2, B=1,
             seed=1, jitter=False, f32=False)
    L = chunk_steps(1, 32 + 2) + 4321                 # longer than the engine's own chunk
    if form == "odd generator":
        L = chunk_steps(1, 32 + 2) // 4                 # a generator of 1..11-step chunks: kept short
    run_case(c, L=L, default_chunk=True)
