"""Issue 25: every input form gives the array run's results; the kernels refuse sizes that do not fit.

The reproduction of the issue: an iterator whose first chunk is longer than the engine's chunk
(the event engine's arenas are sized per chunk) truncated ``h`` or overran the arenas.
"""

import numpy as np
import pytest

import clocksim as cs
from clocksim.engine.events import EventEngine
from clocksim.engine.stream import Source


def _model():
    return cs.ClockworkRNN(n_in=2, n_out=1, module_sizes=[8] * 4, clocks=cs.exponential_periods(4), start=1,
                           seed=0)


@pytest.mark.parametrize("engine", ["events", "compiled"])
@pytest.mark.parametrize("shape", [(36000, 2), (40000, 2), (61681, 2), (65536, 2), (100000, 2), (3, 40000, 2)],
                         ids=lambda s: "x".join(map(str, s)))
def test_one_iterator_chunk_longer_than_the_engines_chunk(engine, shape):
    m = _model()
    x = np.random.default_rng(0).normal(size=shape)
    want = cs.simulate(m, x, engine=engine)
    got = cs.simulate(m, iter([x]), engine=engine)
    assert got.h.shape == want.h.shape == shape[:-1] + (m.n,)
    np.testing.assert_array_equal(got.y, want.y)
    np.testing.assert_array_equal(got.h, want.h)


def test_source_cuts_the_first_chunk_of_an_iterator():
    m = _model()
    x = np.arange(2 * 23, dtype=float).reshape(23, 2)
    sizes = [c.shape[1] for c in Source(m, iter([x, x[:3]])).chunks(5)]
    assert sizes == [5, 5, 5, 5, 5, 1]
    sizes = [c.shape[1] for c in Source(m, iter([x])).chunks(5)]
    assert sizes == [5, 5, 5, 5, 3]
    joined = np.concatenate(list(Source(m, iter([x, x[:3]])).chunks(7)), axis=1)[0]
    np.testing.assert_array_equal(joined, np.concatenate([x, x[:3]]))


# ---------------------------------------------------------------- the kernels with the JIT off
def jit_cases():
    """Runs of every kernel path, as named arrays: the same with the JIT on and off (within 1e-12)."""
    rng = np.random.default_rng(3)
    out = {}
    custom = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]], bool)      # non-contiguous reads: the gather path
    for name, conn in (("s2f", "slow-to-fast"), ("custom", custom)):
        m = cs.ClockworkRNN(2, 2, [3, 5, 4], [1, 2, 3], connectivity=conn, start=0, seed=1,
                            input_mode=["latest", "mean", "max"])
        x = rng.normal(size=(2, 40, 2))
        for engine in ("compiled", "events"):
            r = cs.simulate(m, x, engine=engine, chunk=16)
            out[f"{name}-{engine}-y"], out[f"{name}-{engine}-h"] = r.y, r.h
    m = cs.ClockworkRNN(2, 1, [3, 4, 2], [cs.Jittered(1.5, 0.4, seed=2), cs.Poisson(0.5, seed=3), 3], seed=2)
    x = rng.normal(size=(30, 2))
    for name, kw in (("latency", dict(latency=cs.LinkLatency(cs.Uniform(0.1, 1.3), seed=4))),
                     ("compute", dict(compute=cs.ComputeModel(cores=1, throughput=80.0, overhead=0.05)))):
        r = cs.simulate(m, x, engine="events", chunk=8, **kw)
        out[f"{name}-y"], out[f"{name}-h"] = r.y, r.h
        out[f"{name}-start"] = r.trace.activations["start"]
    m = cs.ClockworkRNN(2, 3, [3, 5, 4], [1, 2, 3], seed=6, activation="sigmoid", output_activation="softmax",
                        input_mode=["latest", "mean", "latest"], dtype="float32")
    x = rng.normal(size=(3, 30, 2))                                  # float32: every path, the same bits JIT on or off
    for label, engine in (("compiled", "compiled"), ("events", "events"),
                          ("general", EventEngine(compute=cs.ComputeModel(cores=2), chunk=16))):
        r = cs.simulate(m, x, engine=engine, **({} if label == "general" else {"chunk": 16}))
        out[f"f32-{label}-y"], out[f"f32-{label}-h"] = r.y, r.h
    m = cs.ClockworkRNN(2, 1, [3, 4], [1, 2], seed=5)
    loss, grads = cs.loss_and_grad(m, rng.normal(size=(20, 2)), rng.normal(size=(20, 1)))
    out["loss"] = np.array([loss])
    out.update({f"grad-{k}": v for k, v in grads.items()})
    return out


@pytest.mark.slow
def test_kernels_run_with_the_jit_off(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import clocksim.kernels.core as K; "
            "assert K.JIT_OFF; from test_memory_safety import jit_cases; np.savez(sys.argv[2], **jit_cases())")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=os.pathsep.join([str(here.parent), str(here)]))
    done = subprocess.run([sys.executable, "-c", code, str(here), str(tmp_path / "off.npz")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    want = jit_cases()
    with np.load(tmp_path / "off.npz") as off:
        assert sorted(off.files) == sorted(want)
        for name, value in want.items():
            if name.startswith("f32-"):                               # float32 runs: bit for bit
                assert off[name].dtype == np.float32 and np.array_equal(off[name], value), name
            else:
                np.testing.assert_allclose(off[name], value, rtol=0, atol=1e-12, err_msg=name)


# ---------------------------------------------------------------- bounds checks of the kernels
def test_the_old_first_chunk_bug_is_refused_by_the_kernels_not_a_crash(monkeypatch):
    """Had Source.chunks still passed an iterator's first chunk on whole, the event engine's kernels would
    now refuse the chunk that overruns their arenas (it segfaulted or truncated h)."""
    def whole(self, size):
        yield self._first
    monkeypatch.setattr(Source, "chunks", whole)
    x = np.random.default_rng(0).normal(size=(61681, 2))
    with pytest.raises(cs.errors.KernelBoundsError) as info:
        cs.simulate(_model(), iter([x]), engine="events")
    err = info.value
    assert isinstance(err, cs.errors.InternalError) and isinstance(err, cs.ClocksimError)
    assert err.kernel == "activate_sync" and err.argument == "z" and err.needed > err.got
    assert str(err).startswith(f"z: kernel activate_sync: argument z needs an extent of at least {err.needed}, "
                               f"got {err.got}")


def _bad_calls():
    """(kernel call with one size or offset that does not fit, kernel, argument) per entry point."""
    from clocksim.kernels import core as K
    from clocksim.kernels import lstm as LK

    f, i = np.zeros, np.int64
    plan = np.array([[0, 2, 0, 3, 0, -1, -1]], dtype=np.int64)           # one module: rows 0:2 read columns 0:3
    gplan = np.array([[0, 2, -1, -1, 0, 0, 3]], dtype=np.int64)          # the same, gathered
    active = np.ones((4, 1), dtype=bool)
    ok = dict(Z=f(5 * 3), L=4, B=1, m=3, active=active, plan=plan, gidx=np.zeros(0, np.int64), wflat=f(6),
              b=f(2), act=1, scratch=f(3), counts=np.zeros((1, 2), np.int64), W_out=f(2), b_out=f(1),
              out_act=0, Y=f(4), X=f(4))

    def run_sequence(**bad):
        return lambda: K.run_sequence(*dict(ok, **bad).values())
    yield run_sequence(), None, None
    yield run_sequence(Z=f(14)), "run_sequence", "Z"
    yield run_sequence(active=active[:3]), "run_sequence", "active"
    yield run_sequence(Y=f(3)), "run_sequence", "Y"
    yield run_sequence(X=f(3)), "run_sequence", "X"
    yield run_sequence(wflat=f(5)), "run_sequence", "wflat"
    yield run_sequence(b=f(1), X=f(8)), "run_sequence", "b"
    yield run_sequence(plan=gplan, gidx=np.array([0, 1, 3], np.int64)), "run_sequence", "plan"   # column 3 of 3
    yield run_sequence(plan=gplan, gidx=np.array([0, 1], np.int64)), "run_sequence", "gidx"
    yield run_sequence(plan=gplan, gidx=np.array([0, 1, 2], np.int64), scratch=f(2)), "run_sequence", "scratch"
    yield lambda: K.readout(f(10), i(3), i(1), i(4), i(2), f(2), f(1), i(0), f(3)), "readout", "Z"
    yield lambda: K.readout(f(16), i(3), i(1), i(4), i(2), f(2), f(1), i(0), f(2)), "readout", "Y"
    yield lambda: K.readout_backward(f(16), i(3), i(1), i(4), i(2), f(2), f(2), f(1)), "readout_backward", "dA"
    yield (lambda: K.backward_sequence(f(15), i(4), i(1), i(3), i(2), active, plan, f(5), i(1), f(2), f(4), f(6),
                                       f(2), f(2)), "backward_sequence", "W")
    yield (lambda: K.buffer_window(f((1, 4, 2)), np.zeros(3, bool), i(1), f((1, 2)), np.zeros(1, np.int64),
                                   f((1, 4, 2))), "buffer_window", "closes")
    yield (lambda: K.buffer_window(f((1, 4, 2)), np.zeros(4, bool), i(1), f((1, 2)), np.zeros(1, np.int64),
                                   f((1, 3, 2))), "buffer_window", "out")
    n, m, L = 2, 3, 4
    lstm = [f((L + 1) * m), i(L), i(1), i(m), i(n), f(4 * n * m), f(4 * n), f(L * 4 * n), f((L + 1) * n), f(L * n)]
    yield lambda: LK.lstm_forward(*lstm), None, None
    yield lambda: LK.lstm_forward(*lstm[:8], f(L * n), lstm[9]), "lstm_forward", "C"
    yield lambda: LK.lstm_forward(*lstm[:6], f(4 * n - 1), *lstm[7:]), "lstm_forward", "b"
    back = [*lstm[:6], *lstm[7:], f(n), f(L), f(4 * n * m), f(4 * n), f(n), f(n)]
    yield lambda: LK.lstm_backward(*back), None, None
    yield lambda: LK.lstm_backward(*back[:10], f(L - 1), *back[11:]), "lstm_backward", "dA_out"
    yield lambda: LK.lstm_backward(*back[:-1], f(n - 1)), "lstm_backward", "gc0"


@pytest.mark.parametrize("case", range(22))
def test_every_entry_point_refuses_sizes_that_do_not_fit(case):
    calls = list(_bad_calls())
    assert len(calls) == 22
    call, kernel, argument = calls[case]
    if kernel is None:
        call()                                          # the sizes fit: it runs
        return
    with pytest.raises(cs.errors.KernelBoundsError) as info:
        call()
    assert (info.value.kernel, info.value.argument) == (kernel, argument)
    assert info.value.needed > info.value.got >= 0
    assert f"kernel {kernel}: argument {argument} needs an extent of at least {info.value.needed}" in str(info.value)


@pytest.mark.parametrize("fault, argument", [("dirty", "dirty"), ("rows", "plan")])
def test_tick_refuses_a_dirty_module_or_rows_that_do_not_fit(monkeypatch, fault, argument):
    """The synchronous tick publishes the rows of the modules on its dirty list: a module index past the
    model, or a plan row whose rows reach past the states, is refused before anything is copied."""
    from clocksim.kernels import events as EK

    real = EK.bind

    def corrupting(kernel, S, V, I, *example):
        bound = real(kernel, S, V, I, *example)
        if kernel is not EK.tick_at:
            return bound

        def tick(s, t):
            if I[EK.H_NDIRTY] > 0:
                if fault == "dirty":
                    I[I[EK.H_DIRTY]] = I[EK.H_G]
                else:
                    j = I[I[EK.H_DIRTY]]
                    I[I[EK.H_PLAN] + j * EK.PLAN_COLUMNS + EK.P_R1] = I[EK.H_N] + 1
            return bound(s, t)
        return tick
    monkeypatch.setattr(EK, "bind", corrupting)
    with pytest.raises(cs.errors.KernelBoundsError) as info:
        cs.simulate(_model(), np.zeros((8, 2)), engine="events")
    assert (info.value.kernel, info.value.argument) == ("tick", argument)
    assert info.value.needed > info.value.got >= 0


# ---------------------------------------------------------------- the arenas by address
def test_arena_table_refuses_an_array_it_cannot_take_the_address_of():
    """The ``*_at`` entry points take the arenas as a table of addresses and extents: arena_table reads it off
    real arrays only, and refuses (naming the arena) a wrong dtype, a strided view, a 2-d or read-only array.
    The table itself is read-only."""
    from clocksim.kernels import events as EK

    S, V, I = np.zeros(8), np.zeros(8, np.float32), np.zeros(8, np.int64)
    table, vtype = EK.arena_table(S, V, I)
    assert table.tolist() == [S.ctypes.data, 8, V.ctypes.data, 8, I.ctypes.data, 8] and vtype is np.float32
    assert table.size == EK.TABLE and not table.flags.writeable
    assert EK.arena_table(S[2:], V, I)[0][:2].tolist() == [S[2:].ctypes.data, 6]    # a contiguous slice: its extent
    frozen = np.zeros(8)
    frozen.flags.writeable = False
    for bad, name in [((S.astype(np.float32), V, I), "S"), ((S, V.astype(np.float16), I), "V"),
                      ((S, V, I.astype(np.int32)), "I"), ((S[::2], V, I), "S"), ((S, V, I.reshape(2, 4)), "I"),
                      ((frozen, V, I), "S"), ((S, list(V), I), "V")]:
        expected = f"^arena {name}: got .+, expected a writable C-contiguous 1-d"
        with pytest.raises(cs.errors.InvalidTypeError, match=expected):
            EK.arena_table(*bad)


def test_a_bound_kernel_keeps_its_arenas_alive():
    """bind hands the kernel addresses, not arrays: the bound call holds the arrays, so their memory outlives
    every reference but the call's."""
    import gc
    import weakref

    from clocksim.kernels import events as EK

    S, V, I = _event_arenas_of_a_run()
    alive = weakref.ref(I)
    tick = EK.bind(EK.tick_at, S, V, I, 0, 1.0)
    table = weakref.ref(tick.table)
    del S, V, I
    gc.collect()
    assert alive() is not None and table() is not None
    tick(0, 1.0)                                            # the sealed arenas: it runs on the memory it holds
    assert tick.arenas[2] is alive()
    del tick
    gc.collect()
    assert alive() is None and table() is None


@pytest.mark.skipif(cs.kernels.core.JIT_OFF, reason="LLVM IR exists only with the JIT on")
def test_the_entry_points_by_address_count_no_references():
    """The arenas rebuilt from their addresses have no MemInfo: the synchronous path's two entry points hold
    no reference-count call of their own (each was an atomic increment or decrement; activate_sync on arrays
    held 36 decref and 13 incref call sites). Compiled afresh (cached code cannot be inspected)."""
    import re

    from numba import njit

    from clocksim.kernels import core as K
    from clocksim.kernels import events as EK

    cs.simulate(_model(), np.zeros((8, 2)), engine="events")          # compiles both for a real run's types
    for kernel in (EK.activate_sync_at, EK.tick_at):
        sig = kernel.signatures[0]
        fresh = njit(**dict(K._JIT, cache=False))(kernel.py_func)
        fresh.compile(sig)
        bodies = {re.search(r"@(\S+?)\(", f).group(1): f for f in fresh.inspect_llvm(sig).split("\ndefine ")[1:]}
        own = [body for name, body in bodies.items() if kernel.__name__ in name and "cpython" not in name]
        assert len(own) == 1, sorted(bodies)
        assert "@_ZN8clocksim7kernels" in own[0]              # the pattern sees the calls it is meant to
        assert not re.findall(r"call void @NRT_(?:incref|decref)\(", own[0]), kernel.__name__


def _event_arenas_of_a_run():
    """The arenas (S, V, I) of a synchronous event run, sealed, as its end left them."""
    from clocksim.kernels import events as EK

    real, seen = EK.bind, {}

    def capture(kernel, S, V, I, *example):
        seen["arenas"] = (S, V, I)
        return real(kernel, S, V, I, *example)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(EK, "bind", capture)
        cs.simulate(_model(), np.zeros((8, 2)), engine="events")
    return seen.pop("arenas")


# ---------------------------------------------------------------- the sealed layout of the event engine's arenas
def _event_arenas(monkeypatch):
    """Copies of the arenas (S, V, I) of a synchronous event run as its first kernel call was handed them."""
    from clocksim.kernels import events as EK

    real, seen = EK.bind, {}

    def capture(kernel, S, V, I, *example):
        bound = real(kernel, S, V, I, *example)

        def call(*args):
            seen.setdefault("arenas", tuple(a.copy() for a in (S, V, I)))
            return bound(*args)
        return call
    monkeypatch.setattr(EK, "bind", capture)
    cs.simulate(_model(), np.zeros((8, 2)), engine="events")
    return seen["arenas"]


def _refusal(call):
    with pytest.raises(cs.errors.KernelBoundsError) as info:
        call()
    return info.value.kernel, info.value.argument, info.value.needed, info.value.got


def test_every_layout_slot_changed_after_the_seal_is_refused_by_every_entry_point(monkeypatch):
    from clocksim.kernels import events as EK

    S, V, I = _event_arenas(monkeypatch)
    EK.tick(0, 1.0, S.copy(), V.copy(), I.copy())                     # as sealed: it runs
    for k in range(EK.LAYOUT):
        changed = I.copy()
        changed[k] += 1
        assert _refusal(lambda: EK.tick(0, 1.0, S, V, changed)) == ("tick", "layout", I[k], I[k] + 1), k
        assert _refusal(lambda: EK.activate_sync(0, 1.0, S, V, changed))[:2] == ("activate_sync", "layout"), k
        assert _refusal(lambda: EK.activate(0, 1.0, 1.0, 1.0, -1, S, V, changed))[:2] == ("activate", "layout")
        assert _refusal(lambda: EK.publish(0, 1.0, True, S, V, changed))[:2] == ("publish", "layout")
        assert _refusal(lambda: EK.deliver(0, 1, 0, 0, V, 1.0, 1.0, S, V, changed))[:2] == ("deliver", "layout")


def test_arenas_of_other_extents_or_never_sealed_are_refused(monkeypatch):
    from clocksim.kernels import events as EK

    S, V, I = _event_arenas(monkeypatch)
    assert _refusal(lambda: EK.tick(0, 1.0, S[:-1], V, I)) == ("tick", "S", S.size, S.size - 1)
    assert _refusal(lambda: EK.tick(0, 1.0, S, np.append(V, 0.0), I)) == ("tick", "V", V.size, V.size + 1)
    assert _refusal(lambda: EK.tick(0, 1.0, S, V, np.append(I, 0)))[:2] == ("tick", "I")
    assert _refusal(lambda: EK.tick(0, 1.0, S, V, I[:EK.HEADER - 1]))[:2] == ("tick", "I")
    unsealed = I.copy()
    unsealed[EK.H_SEAL:EK.HEADER] = 0
    assert _refusal(lambda: EK.activate_sync(0, 1.0, S, V, unsealed)) == ("activate_sync", "seal", 1, 0)
    EK.seal(S, V, unsealed)                                            # sealed again: it runs
    EK.tick(0, 1.0, S, V, unsealed)


@pytest.mark.parametrize("slot, value, argument", [("H_Z", 10 ** 6, "V"), ("H_ACTREC", 10 ** 6, "S"),
                                                   ("H_DLIST", 10 ** 6, "I"), ("H_G", 0, "I"),
                                                   ("H_MOD", -1, "I")])
def test_seal_refuses_a_layout_whose_sections_do_not_fit_the_arenas(monkeypatch, slot, value, argument):
    from clocksim.kernels import events as EK

    S, V, I = _event_arenas(monkeypatch)
    bad = I.copy()
    bad[getattr(EK, slot)] = value
    assert _refusal(lambda: EK.seal(S, V, bad))[:2] == ("seal", argument)
    assert np.array_equal(bad[EK.H_SEAL:], I[EK.H_SEAL:])            # nothing sealed


@pytest.mark.parametrize("column, value, argument", [("P_R1", 33, "b"), ("P_HI", 10 ** 4, "plan"),
                                                     ("P_W0", 10 ** 6, "wflat")])
def test_seal_refuses_a_plan_row_that_does_not_fit(monkeypatch, column, value, argument):
    from clocksim.kernels import core as K
    from clocksim.kernels import events as EK

    S, V, I = _event_arenas(monkeypatch)
    bad = I.copy()
    bad[I[EK.H_PLAN] + 2 * EK.PLAN_COLUMNS + getattr(K, column)] = value
    assert _refusal(lambda: EK.seal(S, V, bad))[:2] == ("seal", argument)


@pytest.mark.parametrize("column, value, argument", [("P_R1", 33, "b"), ("P_W0", 10 ** 6, "wflat"),
                                                     ("P_W0", 0, "plan")])
def test_a_plan_row_changed_after_the_seal_is_refused_by_the_activation(monkeypatch, column, value, argument):
    """activate_sync compares the module's plan row with the copy seal checked; a changed row is refused,
    naming what no longer fits (or the plan, for a row that still fits but is not the one sealed)."""
    from clocksim.kernels import core as K
    from clocksim.kernels import events as EK

    S, V, I = _event_arenas(monkeypatch)
    bad = I.copy()
    bad[I[EK.H_PLAN] + 2 * EK.PLAN_COLUMNS + getattr(K, column)] = value
    assert _refusal(lambda: EK.activate_sync(2, 1.0, S, V, bad))[:2] == ("activate_sync", argument)
    EK.activate_sync(1, 1.0, S, V, bad)                                # another module's row: unchanged


@pytest.mark.parametrize("x0", [-1, 100])
def test_the_general_activation_refuses_an_input_column_past_the_window(monkeypatch, x0):
    """The module table is not sealed: activate checks the input column it copies from at each call."""
    from clocksim.kernels import events as EK

    S, V, I = _event_arenas(monkeypatch)
    bad = I.copy()
    bad[I[EK.H_MOD] + 2 * EK.MOD_COLUMNS + EK.M_X0] = x0
    kernel, argument, needed, got = _refusal(lambda: EK.activate(2, 1.0, 1.0, 1.0, -1, S, V, bad))
    assert (kernel, argument) == ("activate", "x window") and needed > got >= 0
