import os
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
sys.path.insert(0, os.path.dirname(__file__))  # tests/reference.py, tests/helpers.py

from helpers import ENGINE_NAMES  # noqa: E402


@pytest.fixture(params=ENGINE_NAMES)
def engine(request):
    """Behaviour tests run on every registered engine."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_collection_modifyitems(config, items):
    """Mark the tests measured slow (tests/slow_tests.txt, see tests/measured_slow.py) as ``slow``."""
    from measured_slow import listed

    slow = listed()
    for item in items:
        if item.nodeid in slow:
            item.add_marker(pytest.mark.slow)
