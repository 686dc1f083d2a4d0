"""Which tests the quick loop leaves out: the measured ones, not a guess.

``python -m pytest -m "not slow"`` is the developer's quick loop (about a minute on this machine),
CI and the README's command run everything. A test is slow when it is marked ``@pytest.mark.slow``
in its file, or when it took at least ``THRESHOLD`` seconds (setup, call and teardown together) in
the last measured full run: those are listed in ``tests/slow_tests.txt`` and conftest.py marks them.
Regenerate the list after adding long tests::

    python -m pytest -q --durations=0 -p no:cacheprovider > /tmp/durations.log
    python tests/measured_slow.py /tmp/durations.log          # rewrites tests/slow_tests.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

THRESHOLD = 0.5
LIST = Path(__file__).with_name("slow_tests.txt")
_LINE = re.compile(r"([\d.]+)s (?:call|setup|teardown)\s+(\S+)")


def durations(log: str) -> Counter:
    """Seconds per test node id, from pytest's ``--durations=0`` report."""
    out = Counter()
    for line in log.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(2)] += float(m.group(1))
    return out


def slow_ids(log: str, threshold: float = THRESHOLD) -> list[str]:
    return sorted(node for node, seconds in durations(log).items() if seconds >= threshold)


def listed() -> set[str]:
    """The node ids in slow_tests.txt (comments and blank lines left out)."""
    if not LIST.is_file():
        return set()
    return {line.strip() for line in LIST.read_text().splitlines() if line.strip() and not line.startswith("#")}


def main(path: str) -> None:
    log = Path(path).read_text()
    ids = slow_ids(log)
    total = sum(durations(log).values())
    quick = total - sum(durations(log)[i] for i in ids)
    LIST.write_text(f"# Tests that took >= {THRESHOLD} s in the last measured full run (tests/measured_slow.py);\n"
                    f"# conftest.py marks them slow. {len(ids)} tests, {total - quick:.0f} of {total:.0f} s.\n"
                    + "\n".join(ids) + "\n")
    print(f"{len(ids)} tests marked slow: {total - quick:.0f} s of {total:.0f} s; the quick loop keeps {quick:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1])
