"""The event engine's asynchronous path against tests/reference.py's naive twin (DESIGN section 2)."""

import numpy as np
import pytest
from reference import reference_async

import clocksim as cs

CLOCKS = {
    "jittered": lambda: [cs.Jittered(1.0, 0.3, seed=1), cs.Jittered(2.0, 0.9, phase=0.5, seed=2),
                         cs.Jittered(3.5, 1.2, seed=3)],
    "poisson": lambda: [cs.Poisson(1.3, seed=4), cs.Poisson(0.6, seed=5), cs.Poisson(0.25, seed=6)],
    "mixed": lambda: [cs.Periodic(1), cs.Poisson(0.7, seed=7), cs.Jittered(2.5, 0.5, seed=8)],
    "periodic": lambda: [cs.Periodic(1), cs.Periodic(2, 1), cs.Periodic(3)],   # with latency: the general path
}
LATENCIES = {
    "none": lambda: None,
    "fixed": lambda: 0.75,
    "random": lambda: cs.LinkLatency(cs.Exponential(0.6), links={(2, 0): cs.Uniform(0.1, 2.5)}, seed=3),
    "whole steps": lambda: 1.0,                                  # arrivals at the instants of firings
}


@pytest.mark.parametrize("latency", sorted(LATENCIES))
@pytest.mark.parametrize("clocks", sorted(CLOCKS))
@pytest.mark.parametrize("connectivity", ["slow-to-fast", "dense"])
def test_event_engine_equals_the_naive_asynchronous_run(clocks, latency, connectivity):
    rng = np.random.default_rng(11)
    model = cs.ClockworkRNN(2, 2, [3, 2, 4], CLOCKS[clocks](), connectivity=connectivity, start=0, seed=5)
    x = rng.normal(size=(2, 50, 2))
    lat = LATENCIES[latency]()
    res = cs.simulate(model, x, engine="events", **({} if lat is None else {"latency": lat}))
    link = lat if lat is None or isinstance(lat, cs.LinkLatency) else cs.LinkLatency(lat)
    y, h = reference_async(model, x, latency=link)
    np.testing.assert_allclose(res.h, h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.y, y, rtol=0, atol=1e-12)


def test_arrival_times_and_a_chunked_run():
    rng = np.random.default_rng(12)
    model = cs.ClockworkRNN(1, 1, [2, 3], [cs.Jittered(1.5, 0.6, seed=9), cs.Poisson(0.4, seed=10)], seed=6)
    times = np.cumsum(rng.uniform(0.3, 1.7, 60))
    x = rng.normal(size=(60, 1))
    lat = cs.LinkLatency(cs.Uniform(0.0, 1.0), seed=2)
    y, h = reference_async(model, x, times=times, latency=lat)
    for chunk in (None, 7):
        res = cs.simulate(model, x, engine="events", times=times, latency=lat, chunk=chunk)
        np.testing.assert_allclose(res.h, h, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.y, y, rtol=0, atol=1e-12)


def test_the_twin_reduces_to_the_synchronous_reference():
    """With integer clocks and no latency the naive asynchronous run is the synchronous one."""
    from reference import reference_model

    rng = np.random.default_rng(13)
    model = cs.ClockworkRNN(2, 1, [2, 3, 2], [1, 2, 4], start=1, seed=7)
    x = rng.normal(size=(30, 2))
    ya, ha = reference_async(model, x)
    ys, hs = reference_model(model, x)
    np.testing.assert_allclose(ha, hs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ya, ys, rtol=0, atol=1e-12)
