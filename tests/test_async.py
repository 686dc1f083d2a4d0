"""Asynchronous and irregular schedules: real-valued clocks, input times, latency, compute, deadlines."""

import numpy as np
import pytest
from helpers import random_model

import clocksim as cs


def passthrough_model(clocks, n_in=1, start=0):
    """Each module copies the input into its units (W_in = 1, no recurrence, linear): h shows what it read."""
    g = len(clocks)
    model = cs.ClockworkRNN(n_in, 1, [1] * g, clocks, connectivity=np.zeros((g, g), bool), activation="linear",
                            start=start)
    model.set_params(W_in=np.ones((g, n_in)), W_out=np.ones((1, g)))
    return model


class TestJittered:
    def test_bounded_and_no_drift(self):
        clock = cs.Jittered(2.0, jitter=0.5, phase=1.0, seed=4)
        t = clock.firing_times(0, 20_000)
        k = np.round((t - 1.0) / 2.0)
        offsets = t - (1.0 + 2.0 * k)
        assert np.abs(offsets).max() <= 0.25
        assert np.array_equal(k, np.arange(k.size))          # one firing per nominal slot, in order
        assert abs(offsets.mean()) < 0.01                       # no drift
        assert np.abs(offsets).max() > 0.2                      # the jitter is really there

    def test_windows_agree(self):
        clock = cs.Jittered(1.0, 0.3, seed=1)
        whole = clock.firing_times(0, 5000)
        parts = np.concatenate([clock.firing_times(a, a + 713) for a in range(0, 5000, 713)])
        np.testing.assert_array_equal(whole, parts[parts < 5000])

    def test_seeded(self):
        a, b, c = (cs.Jittered(1.0, 0.5, seed=s).firing_times(0, 100) for s in (7, 7, 8))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    @pytest.mark.parametrize("kwargs,msg", [
        (dict(period=1.0, jitter=1.0), "jitter: got 1 for period 1, expected 0 <= jitter < period"),
        (dict(period=1.0, jitter=-0.1), "jitter: got -0.1"),
        (dict(period=0.0, jitter=0.0), "period: got 0"),
        (dict(period=2.0, jitter=0.1, phase=2.0), "phase: got 2 for period 2"),
    ])
    def test_bad(self, kwargs, msg):
        with pytest.raises(cs.InvalidValueError, match=msg):
            cs.Jittered(**kwargs)


class TestPoisson:
    def test_rate_and_determinism(self):
        t = cs.Poisson(0.25, seed=3).firing_times(0, 40_000)
        assert t.size == pytest.approx(10_000, rel=0.05)
        np.testing.assert_array_equal(t, cs.Poisson(0.25, seed=3).firing_times(0, 40_000))
        assert not np.array_equal(t[:50], cs.Poisson(0.25, seed=4).firing_times(0, 40_000)[:50])
        clock = cs.Poisson(0.25, seed=3)
        np.testing.assert_array_equal(clock.firing_times(100, 200), t[(t >= 100) & (t < 200)])

    @pytest.mark.parametrize("rate", [0, -1.0, float("nan")])
    def test_bad_rate(self, rate):
        with pytest.raises(cs.InvalidValueError, match="rate: got"):
            cs.Poisson(rate)


class TestOnInput:
    def test_fires_on_change_only(self):
        x = np.array([0, 0, 1, 1, 1, 3, 3, 3.05], dtype=float)[None, :, None]
        assert cs.OnInput().for_input(x, np.arange(8.0)).times.tolist() == [0, 2, 5, 7]
        assert cs.OnInput(threshold=0.1).for_input(x, np.arange(8.0)).times.tolist() == [0, 2, 5]

    def test_any_sequence_of_the_batch_and_channels(self):
        x = np.zeros((2, 5, 2))
        x[1, 3:, 0] = 1.0
        x[0, 2:, 1] = 1.0
        assert cs.OnInput().for_input(x, np.arange(5.0)).times.tolist() == [0, 2, 3]
        assert cs.OnInput(channels=[0]).for_input(x, np.arange(5.0)).times.tolist() == [0, 3]

    def test_engines_agree_and_model_activity_needs_x(self, rng):
        model = cs.ClockworkRNN(1, 1, [2, 2], [cs.OnInput(), 2])
        x = np.repeat(rng.normal(size=(10, 1)), 3, axis=0)     # each value held for 3 steps
        a, b = cs.simulate(model, x), cs.simulate(model, x, engine="events")
        assert np.array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.trace.activations["time"][a.trace.activations["module"] == 0],
                                      np.arange(0, 30, 3))
        with pytest.raises(cs.InvalidValueError, match="depend on the input"):
            model.activity(30)


class TestInputTimes:
    def test_module_reads_latest_sample_at_or_before_firing(self):
        model = passthrough_model([cs.Explicit([0.5, 2.0, 2.9, 7.25])])
        x = np.arange(1.0, 6.0)[:, None]                         # samples 1..5
        times = [0.0, 1.0, 2.0, 3.0, 7.0]
        res = cs.simulate(model, x, engine="events", times=times)
        # the output of step s is read when sample s+1 arrives (the last one a step later):
        # firing 0.5 read the sample of 0.0; 2.0 the one of 2.0 (same instant: it has arrived) but
        # publishes after the window of step 1 closed; 2.9 read 2.0's; 7.25 read 7.0's
        assert res.h[:, 0].tolist() == [1.0, 1.0, 3.0, 3.0, 5.0]
        assert res.trace.activations["time"].tolist() == [0.5, 2.0, 2.9, 7.25]
        np.testing.assert_array_equal(res.trace.readouts["reaction"], [0.5, np.nan, 0.0, np.nan, 0.25])
        # output-complete: sample 2 is also latched by the firing at 2.9, published then
        np.testing.assert_allclose(res.trace.readouts["latency"], [0.5, np.nan, 0.9, np.nan, 0.25])

    def test_outputs_read_out_at_the_input_times(self, rng):
        model = random_model(rng, g=2, periods=[1, 2], n_in=1)
        times = np.cumsum(rng.uniform(0.5, 1.5, 20))
        res = cs.simulate(model, rng.normal(size=(20, 1)), engine="events", times=times)
        np.testing.assert_array_equal(res.trace.readouts["time"], times)


class TestLatency:
    def test_messages_take_the_link_delay(self, rng):
        model = random_model(rng, g=3, periods=[1, 2, 4], phases=False, start=0, connectivity="slow-to-fast", n_in=1)
        res = cs.simulate(model, rng.normal(size=(40, 1)), engine="events", latency=0.5)
        msg = res.trace.messages
        np.testing.assert_allclose(msg["arrive"] - msg["send"], 0.5)
        act = res.trace.activations
        assert (act["staleness"][act["module"] == 0][1:] >= 1.0).all()

    def test_stale_reads_show_lag(self, rng):
        model = random_model(rng, g=2, periods=[1, 1], phases=False, start=0, connectivity="dense", n_in=1)
        x = rng.normal(size=(10, 1))
        res = cs.simulate(model, x, engine="events", latency=1.5)
        act = res.trace.activations
        # module 0 at step t reads module 1's state sent at t-2 (the one from t-1 arrives at t+0.5)
        later = act[(act["module"] == 0) & (act["time"] >= 2)]
        assert (later["staleness"] == 2.0).all() and (later["lag"] == 1.0).all()
        synchronous = cs.simulate(model, x, engine="compiled")
        assert np.array_equal(res.y[:1], synchronous.y[:1]) and not np.allclose(res.y[3:], synchronous.y[3:])

    def test_random_delays_are_seeded_per_link(self, rng):
        model = random_model(rng, g=3, periods=[1, 2, 3], n_in=1)
        x = rng.normal(size=(60, 1))

        def run(seed):
            lat = cs.LinkLatency(cs.Exponential(0.7), links={(2, 0): cs.Uniform(0.1, 0.2)}, seed=seed)
            return cs.simulate(model, x, engine="events", latency=lat)

        a, b, c = run(1), run(1), run(2)
        assert np.array_equal(a.y, b.y)
        for field in a.trace.messages.dtype.names:
            np.testing.assert_array_equal(a.trace.messages[field], b.trace.messages[field])
        assert not np.array_equal(a.trace.messages["arrive"], c.trace.messages["arrive"])
        d = a.trace.messages
        link = d[(d["sender"] == 2) & (d["receiver"] == 0)]
        assert ((link["arrive"] - link["send"] >= 0.1) & (link["arrive"] - link["send"] <= 0.2)).all()

    def test_overtaken_messages_do_not_overwrite_newer_ones(self):
        # sender period 1, delays alternate between long and short: later messages overtake earlier ones
        model = cs.ClockworkRNN(1, 1, [1, 1], [1, 1], connectivity=np.array([[0, 1], [0, 1]], bool),
                                activation="linear")
        model.set_params(W_in=np.array([[0.0], [1.0]]), W_rec=np.array([[0.0, 1.0], [0.0, 0.0]]), W_out=np.ones((1, 2)))
        lat = cs.LinkLatency(cs.Uniform(0.0, 3.0), seed=5)
        x = np.arange(1.0, 31.0)[:, None]
        res = cs.simulate(model, x, engine="events", latency=lat)
        # module 0 copies what it has received from module 1 (= an earlier input): never goes back in time
        received = res.h[:, 0]
        assert (np.diff(received) >= 0).all()


class TestCompute:
    def test_burst_queues_on_one_core(self, rng):
        model = cs.ClockworkRNN(1, 1, [4] * 4, [1, 2, 4, 8], seed=1)
        macs = cs.cost.activation_macs(model.module_sizes, model.block_mask, 1)
        compute = cs.ComputeModel(cores=1, throughput=float(macs.sum()), overhead=0.0)
        res = cs.simulate(model, rng.normal(size=(16, 1)), engine="events", compute=compute)
        act = res.trace.activations
        np.testing.assert_allclose(act["end"] - act["start"], macs[act["module"]] / macs.sum())
        at0 = act[act["time"] == 0]
        # fastest first: module 0 starts at once, the others wait for the core in period order
        assert at0["module"].tolist() == [0, 1, 2, 3]
        np.testing.assert_allclose(at0["start"], np.concatenate([[0], np.cumsum(macs[:3])]) / macs.sum())
        assert (act["core"] == 0).all()
        # no two activations overlap on the core
        spans = np.sort(np.stack([act["start"], act["end"]], 1), axis=0)
        assert (spans[1:, 0] >= spans[:-1, 1] - 1e-12).all()

    def test_two_cores_and_priorities(self, rng):
        model = cs.ClockworkRNN(1, 1, [4] * 4, [1, 2, 4, 8], seed=1)
        compute = cs.ComputeModel(cores=2, throughput=50.0, priority="slowest-first")
        act = cs.simulate(model, rng.normal(size=(8, 1)), engine="events", compute=compute).trace.activations
        at0 = act[act["time"] == 0]
        at0 = at0[np.argsort(at0["start"], kind="stable")]
        assert set(act["core"].tolist()) == {0, 1}
        # every module fires at 0; the two slowest get the cores first, whatever order SimPy resumes them in
        assert sorted(at0[at0["start"] == 0]["module"].tolist()) == [2, 3]
        assert at0[at0["start"] > 0]["module"].tolist() == [1, 0]

    def test_core_arbitration_does_not_depend_on_process_order(self, rng):
        model = cs.ClockworkRNN(1, 1, [4] * 4, [1, 2, 4, 8], seed=1)
        x = rng.normal(size=(16, 1))
        kw = dict(engine="events", compute=cs.ComputeModel(cores=2, throughput=60.0, overhead=0.1))
        a = cs.simulate(model, x, **kw)
        b = cs.simulate(model, x, order=[3, 1, 2, 0], **kw)
        assert np.array_equal(a.y, b.y)
        for field in a.trace.activations.dtype.names:
            np.testing.assert_array_equal(a.trace.activations[field], b.trace.activations[field])

    def test_deadlines_and_latency_summary(self, rng):
        model = cs.ClockworkRNN(1, 1, [8] * 4, [1, 2, 4, 8], seed=1)
        macs = cs.cost.activation_macs(model.module_sizes, model.block_mask, 1)
        compute = cs.ComputeModel(cores=1, throughput=float(macs.sum()) / 2)  # a burst takes 2 steps
        res = cs.simulate(model, rng.normal(size=(64, 1)), engine="events", compute=compute, deadline=1.0)
        s = res.trace.summary()
        lat = res.trace.readouts["latency"]
        assert s["deadline_misses"] == int((lat > 1.0).sum()) > 0
        assert s["latency"]["max"] == pytest.approx(np.nanmax(lat))
        assert s["latency"]["p99"] <= s["latency"]["max"]
        act = res.trace.activations
        wait = act["start"] - act["time"]
        assert s["queue_wait"]["max"] == pytest.approx(wait.max()) and wait.max() > 0
        assert s["queue_wait"]["mean"] == pytest.approx(wait.mean())
        slowest = s["per_module"][3]
        assert slowest["queue_wait_max"] == pytest.approx(wait[act["module"] == 3].max())

    def test_bad_compute_models(self):
        with pytest.raises(cs.InvalidValueError, match="cores: got 0"):
            cs.ComputeModel(cores=0)
        with pytest.raises(cs.InvalidValueError, match="throughput: got -1"):
            cs.ComputeModel(throughput=-1.0)
        with pytest.raises(cs.InvalidValueError, match="priority: got 'random'"):
            cs.ComputeModel(priority="random")


class TestDeterminism:
    def test_same_seeds_same_trace_bit_for_bit(self, rng):
        model = cs.ClockworkRNN(2, 1, [3, 3, 3], [cs.Jittered(1.0, 0.4, seed=1), cs.Poisson(0.4, seed=2),
                                                  cs.Jittered(4.0, 1.0, seed=3)])
        x = rng.normal(size=(50, 2))
        kw = dict(engine="events", latency=cs.LinkLatency(cs.Exponential(0.3), seed=9),
                  compute=cs.ComputeModel(cores=1, throughput=200.0, overhead=0.05), deadline=0.5)
        a, b = cs.simulate(model, x, **kw), cs.simulate(model, x, **kw)
        assert np.array_equal(a.y, b.y) and np.array_equal(a.h, b.h)
        for name in ("activations", "messages", "readouts"):
            ra, rb = getattr(a.trace, name), getattr(b.trace, name)
            for field in ra.dtype.names:
                np.testing.assert_array_equal(ra[field], rb[field])


class TestStagger:
    def test_spreads_the_burst(self):
        periods = cs.exponential_periods(8)
        phases = cs.stagger_phases(periods)
        assert all(0 <= p < T for p, T in zip(phases, periods))
        aligned = cs.activity_mask([cs.Periodic(T) for T in periods], 128).sum(axis=1)
        staggered = cs.activity_mask([cs.Periodic(T, p) for T, p in zip(periods, phases)], 128).sum(axis=1)
        assert aligned.max() == 8 and staggered.max() == 2
        assert aligned.sum() == staggered.sum()

    def test_weights_put_expensive_modules_apart(self):
        phases = cs.stagger_phases([4, 4, 4, 4], weights=[10, 10, 1, 1])
        assert phases[0] != phases[1]

    def test_bad_weights(self):
        with pytest.raises(cs.InvalidValueError, match="weights: got"):
            cs.stagger_phases([1, 2], weights=[1.0])


class TestBadInput:
    def test_negative_delays(self):
        with pytest.raises(cs.InvalidValueError, match="delay: got -1"):
            cs.Fixed(-1.0)
        with pytest.raises(cs.InvalidValueError, match="latency: got -0.5"):
            cs.simulate(cs.ClockworkRNN(1, 1, [1], [1]), np.zeros((2, 1)), engine="events", latency=-0.5)
        with pytest.raises(cs.InvalidValueError, match="high: got 0.1"):
            cs.Uniform(0.5, 0.1)

    def test_unsorted_explicit_times(self):
        with pytest.raises(cs.InvalidValueError, match="strictly increasing"):
            cs.Explicit([0.5, 0.25])

    def test_link_outside_model(self):
        lat = cs.LinkLatency(0.0, links={(5, 0): 1.0})
        with pytest.raises(cs.InvalidValueError, match=r"latency links: got link \(5, 0\)"):
            cs.simulate(cs.ClockworkRNN(1, 1, [1, 1], [1, 2]), np.zeros((2, 1)), engine="events", latency=lat)

    def test_async_clocks_need_the_event_engine(self):
        model = cs.ClockworkRNN(1, 1, [1], [cs.Poisson(1.0)])
        with pytest.raises(cs.UnsupportedError, match="use engine='events'"):
            cs.simulate(model, np.zeros((3, 1)))
