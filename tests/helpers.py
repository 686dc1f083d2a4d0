"""Shared test helpers: random models with perturbed parameters, optional packages that CI must have."""

import os

import numpy as np
import pytest
from hypothesis import strategies as st

import clocksim as cs

#: What a run prints on stderr while numba compiles on a cold cache (informational, not an error line).
COMPILE_NOTICE = "clocksim: compiling kernels (first run only)...\n"


def without_notice(err: str) -> str:
    """``err`` without the compile notice, which a cold numba cache adds to any run that compiles."""
    return err.replace(COMPILE_NOTICE, "")


#: Every registered engine: behaviour and property tests run on each.
ENGINE_NAMES = [name for name in ("compiled", "events") if name in cs.ENGINES]


def require(module: str, reason: str):
    """``pytest.importorskip(module)``, except under CI (``CI=true``), where a missing package fails the test:
    CI must never drop tests silently."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        try:
            return __import__(module)
        except ImportError as exc:
            pytest.fail(f"CI=true but {module} is not installed ({reason}): {exc}")
    return pytest.importorskip(module, reason=reason)


def randomize(model, rng, scale=0.5):
    """Give every parameter (h0 and biases included) non-trivial random values inside the mask."""
    shapes = model.param_shapes()
    new = {k: rng.normal(0.0, scale, s) for k, s in shapes.items()}
    new["W_rec"] = new["W_rec"] * model.mask
    model.set_params(**new)
    return model


def random_model(rng, *, g=None, sizes=None, periods=None, phases=True, start=None, connectivity=None,
                 n_in=None, n_out=None, activation="tanh", output_activation="linear", input_mode="latest"):
    g = g if g is not None else int(rng.integers(1, 6))
    sizes = sizes if sizes is not None else [int(k) for k in rng.integers(1, 6, g)]
    if periods is None:
        periods = sorted(int(p) for p in rng.integers(1, 12, g))
    clocks = [cs.Periodic(p, int(rng.integers(0, p)) if phases else 0) for p in periods]
    if connectivity is None:
        connectivity = ["slow-to-fast", "dense", "custom"][int(rng.integers(0, 3))]
    if isinstance(connectivity, str) and connectivity == "custom":
        connectivity = rng.random((g, g)) < 0.5
    model = cs.ClockworkRNN(
        n_in if n_in is not None else int(rng.integers(0, 4)),
        n_out if n_out is not None else int(rng.integers(1, 4)),
        sizes, clocks, connectivity=connectivity, activation=activation,
        output_activation=output_activation, input_mode=input_mode,
        start=start if start is not None else int(rng.integers(0, 2)), seed=int(rng.integers(0, 1000)))
    return randomize(model, rng)


@st.composite
def model_strategy(draw, clock, max_modules: int, connectivity=None):
    """A random model (hypothesis): 1..max_modules modules with clocks drawn from ``clock``, fastest
    first, sizes 1..4, the given connectivity or one drawn (slow-to-fast, dense or a custom mask),
    0..3 inputs, 1..3 outputs, start 0..3, perturbed parameters."""
    g = draw(st.integers(1, max_modules))
    clocks = sorted(draw(st.lists(clock, min_size=g, max_size=g)), key=lambda c: c.nominal_period)
    sizes = draw(st.lists(st.integers(1, 4), min_size=g, max_size=g))
    if connectivity is None:
        connectivity = draw(st.sampled_from(["slow-to-fast", "dense", "custom"]))
    if connectivity == "custom":
        connectivity = np.array(draw(st.lists(st.booleans(), min_size=g * g, max_size=g * g))).reshape(g, g)
    model = cs.ClockworkRNN(draw(st.integers(0, 3)), draw(st.integers(1, 3)), sizes, clocks,
                            connectivity=connectivity, start=draw(st.integers(0, 3)))
    return randomize(model, np.random.default_rng(draw(st.integers(0, 2**32 - 1))))
