"""One error vocabulary: every deliberate error is a ClocksimError carrying what it is about as attributes."""

import ast
import pickle
from pathlib import Path

import numpy as np
import pytest

import clocksim as cs
from clocksim.app.cli import format_error
from clocksim.errors import FileFormatError, InvalidTypeError, ResourceLimitError, ShapeError

PACKAGE = Path(cs.__file__).parent


def test_attributes_make_the_message():
    err = cs.InvalidValueError(key="model.periods[2]", value=0, expected="an integer >= 1", file="a.toml")
    assert (err.key, err.value, err.expected, err.file) == ("model.periods[2]", 0, "an integer >= 1", "a.toml")
    assert str(err) == "a.toml: model.periods[2]: got 0, expected an integer >= 1"
    assert format_error(err) == str(err)


def test_located_adds_the_parent_key_and_the_file_without_editing_text():
    inner = cs.InvalidValueError("got 0, expected 0 <= phase < 4", key="phase")
    outer = inner.located(key="model.clocks[1]", file="s.toml")
    assert (outer.key, outer.file, outer.reason) == ("model.clocks[1].phase", "s.toml", inner.reason)
    assert inner.key == "phase" and inner.file is None                      # the original is unchanged
    assert inner.located(key="model.periods").located(file="t.toml", key="x").key == "x.model.periods.phase"
    indexed = cs.InvalidValueError("bad", key="[3]").located(key="sizes")
    assert indexed.key == "sizes[3]"


def test_errors_keep_their_attributes_across_processes():
    err = ResourceLimitError("too big", key="input.steps", file="s.toml")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ResourceLimitError and (back.key, back.file, str(back)) == (err.key, err.file, str(err))


def test_messages_are_one_line():
    err = cs.InvalidValueError("a\nb\n  c", key="k\nl")
    assert "\n" not in str(err) and str(err) == "k l: a b c"


def test_constructor_errors_name_their_argument():
    with pytest.raises(cs.InvalidValueError) as info:
        cs.Periodic(4, phase=7)
    assert info.value.key == "phase"
    with pytest.raises(cs.InvalidValueError) as info:
        cs.ClockworkRNN(1, 1, [2, 0], [1, 2])
    assert info.value.key == "module_sizes[1]"


@pytest.mark.parametrize("call,key", [
    (lambda m: cs.simulate(m, [[1.0], [2.0, 3.0]]), "x"),
    (lambda m: cs.loss_and_grad(m, [[1.0], [2.0, 3.0]], np.zeros((2, 1))), "x"),
    (lambda m: m.set_params(W_rec=[[1.0, 2.0], [3.0]]), "W_rec"),
    (lambda m: cs.ClockworkRNN(1, 1, [2, 2], [1, 2], connectivity=[[True], [True, False]]), "connectivity"),
])
def test_ragged_arrays_are_named(call, key):
    model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2])
    with pytest.raises(ShapeError, match="ragged") as info:
        call(model)
    assert info.value.key == key


def test_plot_and_trace_raise_clocksim_errors(tmp_path):
    with pytest.raises(InvalidTypeError) as info:
        cs.plot.plot_activity({"not": "a trace"})
    assert isinstance(info.value, TypeError) and info.value.key == "trace"
    (tmp_path / "t.npz").write_bytes(b"PK\x03\x04")
    with pytest.raises(FileFormatError) as info:
        cs.Trace.load(tmp_path / "t.npz")
    assert info.value.file == str(tmp_path / "t.npz")


def test_no_bare_value_or_type_errors_are_raised_on_purpose():
    """Every `raise ValueError(...)` / `raise TypeError(...)` in the package is a ClocksimError subclass now
    (json's ``default`` hook is the one place that must raise a plain TypeError-compatible error)."""
    bare = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                    isinstance(node.exc.func, ast.Name) and node.exc.func.id in ("ValueError", "TypeError"):
                bare.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert bare == ["_files.py:" + str(_json_default_line())]


def _json_default_line() -> int:
    source = (PACKAGE / "_files.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(source, 1) if "not JSON serialisable" in line)


def test_poisson_firings_do_not_depend_on_the_windows_asked_for():
    whole = cs.Poisson(2.5, seed=3).firing_times(0.0, 3000.0)
    pieces = cs.Poisson(2.5, seed=3)
    for t1 in (0.5, 7.0, 100.0, 1000.0, 2999.0, 3000.0):
        pieces.firing_times(0.0, t1)
    assert np.array_equal(pieces.firing_times(0.0, 3000.0), whole)
    late = cs.Poisson(2.5, seed=3).firing_times(2000.0, 3000.0)
    assert np.array_equal(late, whole[whole >= 2000.0])


def test_simulate_refuses_a_run_too_large_to_hold_before_allocating():
    """The API checks what a run would hold (clocksim.engine.stream.run_size) before it starts: a stream of
    3e8 steps kept whole is refused naming x, while the same input kept as its last state only is not."""
    import time

    import numpy as np

    import clocksim as cs
    model = cs.ClockworkRNN(1, 1, [64] * 4, [1, 2, 4, 8], seed=0)
    x = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(3 * 10**8, 1), strides=(0, 8))   # no memory
    t0 = time.perf_counter()
    with pytest.raises(cs.ResourceLimitError, match=r"x: the run of 300,000,000 steps .* would need about") as err:
        cs.simulate(model, x)
    assert err.value.key == "x" and time.perf_counter() - t0 < 5
    res = cs.simulate(model, x[:20000], keep="last", trace="aggregate")
    assert res.h.shape == (256,) and res.trace.summary()["activations"] == 20000 + 10000 + 5000 + 2500
