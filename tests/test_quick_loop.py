"""The quick loop's list of measured-slow tests (tests/slow_tests.txt) names tests that exist."""

import re
from pathlib import Path

from measured_slow import THRESHOLD, durations, listed, slow_ids

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_slow_test_exists():
    ids = listed()
    assert ids, "tests/slow_tests.txt is empty"
    for node in sorted(ids):
        path, _, rest = node.partition("::")
        source = ROOT / path
        assert source.is_file(), f"{node}: no file {path}"
        func = rest.split("::")[-1].split("[")[0]
        assert re.search(rf"def {re.escape(func)}\b", source.read_text()), f"{node}: no test {func} in {path}"


def test_the_list_is_what_the_durations_say():
    log = "\n".join(["1.20s call     tests/a.py::test_x[1]", "0.30s setup    tests/a.py::test_x[1]",
                     "0.40s call     tests/a.py::test_y", "0.05s teardown tests/a.py::test_y",
                     "0.49s call     tests/b.py::T::test_z"])
    assert durations(log)["tests/a.py::test_x[1]"] == 1.5
    assert slow_ids(log) == ["tests/a.py::test_x[1]"] and THRESHOLD == 0.5
