"""Issue 25: every input form gives the array run's results; the kernels refuse sizes that do not fit.

The reproduction of the issue: an iterator whose first chunk is longer than the engine's chunk
(the event engine's arenas are sized per chunk) truncated ``h`` or overran the arenas.
"""

import numpy as np
import pytest

import clocksim as cs
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
