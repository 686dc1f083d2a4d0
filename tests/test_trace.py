"""Trace: summaries and files."""

import numpy as np
import pytest

import clocksim as cs


@pytest.fixture
def trace(rng):
    model = cs.ClockworkRNN(2, 1, [3, 2, 4], [1, 2, 5], start=1)
    return cs.simulate(model, rng.normal(size=(2, 40, 2)), engine="events").trace


def test_summary_totals_are_sums_over_the_trace(trace):
    s = trace.summary()
    act = trace.activations
    assert s["activations"] == act.shape[0] == sum(m["activations"] for m in s["per_module"])
    assert s["macs"] == act["macs"].sum() + s["readout_macs"]
    assert [m["macs"] for m in s["per_module"]] == [int(act["macs"][act["module"] == i].sum()) for i in range(3)]
    assert s["speedup_vs_dense"] == pytest.approx(s["dense_macs"] / s["macs"])
    assert s["count_basis"] == "per batch" and s["batch"] == 2


def test_npz_roundtrip_is_exact(trace, tmp_path):
    path = trace.save(tmp_path / "run")
    assert path.name == "run.npz"
    back = cs.Trace.load(path)
    for name in ("activations", "messages", "readouts"):
        a, b = getattr(back, name), getattr(trace, name)
        assert a.dtype == b.dtype
        for field in a.dtype.names:
            np.testing.assert_array_equal(a[field], b[field])
    assert back.meta == trace.meta
    assert back.summary() == trace.summary()


def test_save_leaves_no_temporary_files(trace, tmp_path):
    trace.save(tmp_path / "a.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_load_rejects_other_npz(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a clocksim trace"):
        cs.Trace.load(tmp_path / "x.npz")
