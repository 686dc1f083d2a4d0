"""A deliberately naive Clockwork RNN, written from DESIGN.md section 1 and nothing else.

Imported by tests only, never by the package. It favours being obviously right
over being fast: plain loops over sequences, steps and modules, numpy's own
tanh/exp, the activity rule written out as ``(t - phase) % T == 0``.
"""

import numpy as np


def act_fn(name, v):
    if name == "tanh":
        return np.tanh(v)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    if name == "relu":
        return np.maximum(v, 0.0)
    if name == "linear":
        return v
    if name == "softmax":
        e = np.exp(v - v.max())
        return e / e.sum()
    raise ValueError(name)


def is_active(t, period, phase):
    """Paper's rule with mathematical modulo: active iff (t - phase) mod T == 0."""
    return (t - phase) % period == 0


def buffered_input(x, s, last, mode):
    """What a module firing at step index s reads, from docs/concepts.md "Input buffering":
    the samples after its previous firing (index ``last``; -1 before the first) up to and
    including s, reduced elementwise ("latest": sample s alone)."""
    window = x[last + 1:s + 1]
    if mode == "latest":
        return x[s]
    if mode == "mean":
        return window.sum(axis=0) / len(window)
    if mode == "sum":
        return window.sum(axis=0)
    if mode == "max":
        return window.max(axis=0)
    raise ValueError(mode)


def clock_fires(clock, t):
    """Whether ``clock`` fires at integer step t: ``("periodic", T, phase)`` by the paper's rule,
    ``("explicit", times)`` iff t is one of the listed (integer) times."""
    if clock[0] == "periodic":
        return is_active(t, clock[1], clock[2])
    return any(float(t) == float(u) for u in clock[1])


def slow_to_fast(g):
    """The paper's wiring, written out: module j feeds module i iff j is at least as slow (j >= i, fastest first)."""
    return np.array([[j >= i for j in range(g)] for i in range(g)])


def connectivity_mask(connectivity, g):
    """Block mask from a connectivity name, or the user's own (g, g) array."""
    if isinstance(connectivity, str) and connectivity == "slow-to-fast":
        return slow_to_fast(g)
    if isinstance(connectivity, str) and connectivity == "dense":
        return np.ones((g, g), dtype=bool)
    return np.asarray(connectivity, dtype=bool)


def reference_forward(params, module_sizes, periods, phases, x, start=0, block_mask=None,
                      activation="tanh", output_activation="linear", clocks=None, input_modes=None):
    """Run one sequence x (L, n_in); returns y (L, n_out), h (L, n).

    block_mask[i, j] = module j feeds module i; None = slow-to-fast (j >= i).
    clocks: per module ``("periodic", T, phase)`` or ``("explicit", times)``; None = periodic with
    ``periods`` and ``phases``.
    input_modes: one per module ("latest", "mean", "sum", "max"); None = all "latest".
    """
    W_in, W_rec, b = params["W_in"], params["W_rec"], params["b"]
    W_out, b_out, h0 = params["W_out"], params["b_out"], params["h0"]
    g = len(module_sizes)
    if block_mask is None:
        block_mask = slow_to_fast(g)
    if clocks is None:
        clocks = [("periodic", T, p) for T, p in zip(periods, phases)]
    bounds = np.concatenate([[0], np.cumsum(module_sizes)])
    n = bounds[-1]
    # unit-level mask written out entry by entry
    mask = np.zeros((n, n), dtype=bool)
    for i in range(g):
        for j in range(g):
            if block_mask[i][j]:
                mask[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]] = True
    W = np.where(mask, W_rec, 0.0)
    L = x.shape[0]
    input_modes = input_modes or ["latest"] * g
    last = [-1] * g                      # step index of each module's previous firing
    h_prev = np.array(h0, dtype=float)
    H = np.zeros((L, n))
    Y = np.zeros((L, W_out.shape[0]))
    for s in range(L):
        t = start + s
        h_new = h_prev.copy()
        for i in range(g):
            if clock_fires(clocks[i], t):
                rows = slice(bounds[i], bounds[i + 1])
                xi = buffered_input(x, s, last[i], input_modes[i])
                last[i] = s
                pre = W[rows, :] @ h_prev + W_in[rows, :] @ xi + b[rows]
                h_new[rows] = act_fn(activation, pre)
        H[s] = h_new
        Y[s] = act_fn(output_activation, W_out @ h_new + b_out)
        h_prev = h_new
    return Y, H


def reference_batch(params, module_sizes, periods, phases, X, **kw):
    """Loop over the batch X (B, L, n_in)."""
    outs = [reference_forward(params, module_sizes, periods, phases, X[q], **kw) for q in range(X.shape[0])]
    return np.stack([o[0] for o in outs]), np.stack([o[1] for o in outs])


def clock_spec(clock):
    """A clocksim clock as plain data, from its documented attributes (Periodic's period and phase,
    Explicit's times)."""
    if hasattr(clock, "times"):
        return ("explicit", [float(u) for u in clock.times])
    return ("periodic", clock.period, clock.phase)


def reference_model(model, X):
    """Reference run of a clocksim model (reads only its documented attributes; the block mask comes from
    the connectivity name by this file's own rule, the user's array only for a custom mask)."""
    kw = dict(start=model.start, block_mask=connectivity_mask(_connectivity(model), model.g),
              activation=model.activation, output_activation=model.output_activation,
              clocks=[clock_spec(c) for c in model.clocks], input_modes=list(model.input_mode))
    if X.ndim == 2:
        return reference_forward(model.params, model.module_sizes, None, None, X, **kw)
    return reference_batch(model.params, model.module_sizes, None, None, X, **kw)


def _connectivity(model):
    return model.connectivity if model.connectivity in ("slow-to-fast", "dense") else model.block_mask


def reference_counts(model, n_steps, batch=1):
    """Activations and multiply-adds of a run, counted as DESIGN.md section 5 says, from section 1's rules.

    Returns dict: ``activations`` (firings per module: one trace row covers the batch), ``activation_macs``,
    ``readout_macs``, ``macs``, ``dense_macs`` (whole batch).
    """
    sizes = list(model.module_sizes)
    g, n = len(sizes), sum(sizes)
    mask = connectivity_mask(_connectivity(model), g)
    clocks = [clock_spec(c) for c in model.clocks]
    fired = [0] * g
    activation_macs = 0
    for s in range(n_steps):
        for i in range(g):
            if clock_fires(clocks[i], model.start + s):
                fired[i] += 1
                reads = sum(sizes[j] for j in range(g) if mask[i][j])
                activation_macs += sizes[i] * (reads + model.n_in)
    readout_macs = n_steps * model.n_out * n
    dense = n_steps * (n * (n + model.n_in) + model.n_out * n)
    return {"activations": fired, "activation_macs": activation_macs * batch,
            "readout_macs": readout_macs * batch, "macs": (activation_macs + readout_macs) * batch,
            "dense_macs": dense * batch}


def fixed_order_dot(w, z):
    """``w @ z`` summed in the order clocksim.kernels documents for its forward products:
    8 lanes (lane l sums the products of columns j = l mod 8, up to the last multiple of 8, in
    column order), the tree ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), then the
    remaining columns one by one. Every product rounded, no fused multiply-add."""
    c = len(w)
    c8 = c - c % 8
    lanes = [0.0] * 8
    for j in range(c8):
        lanes[j % 8] = lanes[j % 8] + float(w[j]) * float(z[j])
    total = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
    for j in range(c8, c):
        total = total + float(w[j]) * float(z[j])
    return total
