"""Gradient checking shared by the gradient tests: finite differences and random data."""

import numpy as np

import clocksim as cs

H = 1e-4     # step of the fourth-order central difference: truncation ~H^4, round-off ~1e-16 / H
TOL = 1e-6


def numeric_grads(model, x, target, loss):
    """Fourth-order central differences of the loss in every parameter entry (W_rec only inside the mask).

    ``(8 (f(+H) - f(-H)) - (f(+2H) - f(-2H))) / 12H`` is accurate to ~1e-12
    absolute here, so a relative error of 1e-6 can be asserted even for
    parameters whose gradient is small.
    """
    base = model.params
    out = {}
    for name, P in base.items():
        num = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            if name == "W_rec" and hasattr(model, "mask") and not model.mask[idx]:
                continue
            f = {}
            for k in (-2, -1, 1, 2):
                Q = P.copy()
                Q[idx] += k * H
                model.set_params(**{name: Q})
                f[k] = cs.loss_and_grad(model, x, target, loss)[0]
            num[idx] = (8.0 * (f[1] - f[-1]) - (f[2] - f[-2])) / (12.0 * H)
        model.set_params(**{name: P})
        out[name] = num
    return out


def assert_grads_match(model, x, target, loss):
    value, grads = cs.loss_and_grad(model, x, target, loss)
    assert isinstance(value, float)
    assert set(grads) == set(model.params)
    num = numeric_grads(model, x, target, loss)
    for name, g in grads.items():
        assert g.shape == model.params[name].shape and g.dtype == np.float64, name
        scale = max(np.linalg.norm(num[name]), np.linalg.norm(g))
        err = np.linalg.norm(g - num[name])
        if scale > 1e-6:
            assert err / scale <= TOL, (name, err / scale)
        else:
            assert err <= 1e-10, (name, err)
    if isinstance(model, cs.ClockworkRNN):
        assert np.all(grads["W_rec"][~model.mask] == 0.0)
    return value, grads


def data(rng, model, B, L, loss="mse", labels="every"):
    x = rng.normal(size=(B, L, model.n_in)) if B else rng.normal(size=(L, model.n_in))
    lead = (B,) if B else ()
    if loss == "mse":
        return x, rng.normal(size=lead + (L, model.n_out))
    if labels == "every":
        return x, rng.integers(0, model.n_out, lead + (L,))
    if labels == "last":
        return x, rng.integers(0, model.n_out, lead) if B else np.int64(rng.integers(0, model.n_out))
    t = rng.integers(-1, model.n_out, lead + (L,))            # -1 = unlabelled step
    t[..., -1] = 0                                             # at least one labelled step
    return x, t
