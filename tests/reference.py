"""A deliberately naive Clockwork RNN, written from DESIGN.md section 1 and nothing else.

Imported by tests only, never by the package. It favours being obviously right
over being fast: plain loops over sequences, steps and modules, numpy's own
tanh/exp, the activity rule written out as ``(t - phase) % T == 0``.
"""

from fractions import Fraction

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


def fused(a, b, c):
    """``a * b + c`` rounded once (a fused multiply-add), from exact rational arithmetic: Python's
    ``float`` of a Fraction rounds to nearest, ties to even."""
    return float(Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c)))


def fixed_order_dot(w, z):
    """``w @ z`` summed in the order clocksim.kernels documents for its forward products (float64):
    8 lanes (lane l sums the products of columns j = l mod 8, up to the last multiple of 8, in
    column order), the tree ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), then the
    remaining columns one by one. Each lane's and the tail's multiply-add is fused (rounded once)."""
    c = len(w)
    c8 = c - c % 8
    lanes = [0.0] * 8
    for j in range(c8):
        lanes[j % 8] = fused(w[j], z[j], lanes[j % 8])
    total = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
    for j in range(c8, c):
        total = fused(w[j], z[j], total)
    return total


def reference_async(model, x, times=None, latency=None):
    """A naive run of the asynchronous path, written from DESIGN.md section 2 (zero compute time).

    Clocks fire at real times (a clock's documented ``firing_times``), in ``[ts[0], ts[-1] + 1)``;
    sample s arrives at ``ts[s]`` (``start + s`` or ``times``) and is held until the next one. A
    module that fires at ``t`` reads the latest sample that arrived at or before ``t`` and, from each
    module that feeds it, the newest state (by sending time) it has *received*: its own state as soon
    as it is published; another's message, sent when that module publishes, arrives ``delay`` later
    (drawn per link, in sending order, from ``latency.generator(sender, receiver)``) and is read by a
    firing at or after its arrival; with no delay it is there at once, but a firing at the very instant
    of the publish reads the state before it (all the updates of one instant read what was published
    before it, then publish together). The output of step s is read, from the latest published state,
    just before sample s+1 arrives (``ts[-1] + 1`` for the last step).

    x : (L, n_in) or (B, L, n_in); returns y, h like :func:`clocksim.simulate` (``(L, .)`` / ``(B, L, .)``).
    """
    X = np.asarray(x, dtype=float)
    one = X.ndim == 2
    X = X[None] if one else X
    B, L, _ = X.shape
    p = model.params
    sizes = list(model.module_sizes)
    g = len(sizes)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    rows = [slice(int(bounds[i]), int(bounds[i + 1])) for i in range(g)]
    mask = connectivity_mask(_connectivity(model), g)                   # mask[i, j]: j feeds i
    ts = np.asarray(times, dtype=float) if times is not None else model.start + np.arange(L, dtype=float)
    end = ts[-1] + 1.0
    h0 = np.broadcast_to(np.asarray(p["h0"], dtype=float), (B, bounds[-1]))
    fires = [{float(t) for t in c.firing_times(ts[0], end)} for c in model.clocks]
    firings = sorted(set().union(*fires))
    published = [[(-np.inf, h0[:, rows[j]].copy())] for j in range(g)]   # per module: (time, state (B, k))
    inbox = {(i, j): [] for i in range(g) for j in range(g) if mask[i][j] and i != j}  # (send, arrive, state)
    rngs = {}
    W = np.where(mask_units(mask, bounds), p["W_rec"], 0.0)
    for t in firings:
        new = {}
        for i in range(g):
            if t not in fires[i]:
                continue
            read = np.zeros((B, bounds[-1]))
            for j in range(g):
                if not mask[i][j]:
                    continue
                if j == i:
                    state = [s for (tp, s) in published[j] if tp < t][-1]
                else:
                    seen = [(send, s) for (send, arrive, s) in inbox[(i, j)]
                            if arrive < t or (arrive == t and arrive > send)]
                    state = max(seen, key=lambda m: m[0])[1] if seen else h0[:, rows[j]]
                read[:, rows[j]] = state
            sample = X[:, np.flatnonzero(ts <= t)[-1]]                      # (B, n_in)
            pre = read @ W[rows[i]].T + sample @ p["W_in"][rows[i]].T + p["b"][rows[i]]
            new[i] = act_fn(model.activation, pre)
        for i, state in new.items():                                       # the instant's publish phase
            published[i].append((t, state))
            for r in range(g):
                if r != i and mask[r][i]:
                    if latency is None:
                        delay = 0.0
                    else:
                        rng = rngs.setdefault((i, r), latency.generator(i, r))
                        delay = float(latency.delay(i, r).sample(rng, 1)[0])
                    inbox[(r, i)].append((t, t + delay, state))
    H = np.zeros((B, L, bounds[-1]))
    for s in range(L):
        at = ts[s + 1] if s + 1 < L else end
        for j in range(g):
            H[:, s, rows[j]] = [st for (tp, st) in published[j] if tp < at][-1]
    Y = np.stack([np.stack([act_fn(model.output_activation, p["W_out"] @ H[q, s] + p["b_out"]) for s in range(L)])
                  for q in range(B)])
    return (Y[0], H[0]) if one else (Y, H)


def mask_units(block_mask, bounds):
    """The unit-level (n, n) mask of a block mask (module j feeds module i)."""
    g = len(bounds) - 1
    n = bounds[-1]
    mask = np.zeros((n, n), dtype=bool)
    for i in range(g):
        for j in range(g):
            if block_mask[i][j]:
                mask[bounds[i]:bounds[i + 1], bounds[j]:bounds[j + 1]] = True
    return mask
