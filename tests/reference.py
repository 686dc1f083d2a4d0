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


def reference_forward(params, module_sizes, periods, phases, x, start=0, block_mask=None,
                      activation="tanh", output_activation="linear", input_modes=None):
    """Run one sequence x (L, n_in); returns y (L, n_out), h (L, n).

    block_mask[i, j] = module j feeds module i; None = slow-to-fast (j >= i).
    input_modes: one per module ("latest", "mean", "sum", "max"); None = all "latest".
    """
    W_in, W_rec, b = params["W_in"], params["W_rec"], params["b"]
    W_out, b_out, h0 = params["W_out"], params["b_out"], params["h0"]
    g = len(module_sizes)
    if block_mask is None:
        block_mask = np.array([[j >= i for j in range(g)] for i in range(g)])
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
            if is_active(t, periods[i], phases[i]):
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


def reference_model(model, X):
    """Reference run of a clocksim model (reads only its documented attributes)."""
    periods = [c.period for c in model.clocks]
    phases = [c.phase for c in model.clocks]
    kw = dict(start=model.start, block_mask=model.block_mask, activation=model.activation,
              output_activation=model.output_activation, input_modes=list(model.input_mode))
    if X.ndim == 2:
        return reference_forward(model.params, model.module_sizes, periods, phases, X, **kw)
    return reference_batch(model.params, model.module_sizes, periods, phases, X, **kw)
