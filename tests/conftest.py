import os
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
sys.path.insert(0, os.path.dirname(__file__))  # tests/reference.py, tests/helpers.py

import clocksim as cs  # noqa: E402

ENGINE_NAMES = [name for name in ("compiled", "events") if name in cs.ENGINES]


@pytest.fixture(params=ENGINE_NAMES)
def engine(request):
    """Behaviour tests run on every registered engine."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
