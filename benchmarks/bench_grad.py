"""One full BPTT gradient vs PyTorch autograd on a dense+mask CW-RNN (issue 8), one thread, same run.

Configuration: the paper's sequence-generation CW-RNN — 40 units in 9 modules,
periods 1, 2, ..., 256, no input, one linear output, L = 320 steps, B = 5
sequences, MSE loss.

The baseline is the fair PyTorch version: per step one full masked ``h @ W_rec.T``
(``W_rec * mask``), ``tanh``, then ``torch.where`` to keep the rows of inactive
modules; the readout for all steps at once; ``loss.backward()``. CPU,
``torch.set_num_threads(1)``, float64. Both gradients are compared (to 1e-9
relative) before anything is timed.

Needs the optional extra: ``pip install -e .[bench]``.
Run: python benchmarks/bench_grad.py
"""

import _common  # noqa: F401  (pins threads before numpy loads)
import numpy as np
import torch

import clocksim as cs

G, PERIODS, N_UNITS, N_OUT, L, B = 9, cs.exponential_periods(9), 40, 1, 320, 5
REQUIRED = 10.0


def torch_loss_and_grad(model, target):
    """Dense+mask CW-RNN in PyTorch autograd; returns (loss, grads dict as numpy)."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    mask = torch.tensor(model.mask, dtype=torch.float64)
    active = torch.tensor(np.repeat(model.activity(L), model.module_sizes, axis=1))   # (L, n) bool
    W = p["W_rec"] * mask
    h = p["h0"].expand(B, model.n)
    hs = []
    for t in range(L):
        h = torch.where(active[t], torch.tanh(h @ W.T + p["b"]), h)
        hs.append(h)
    H = torch.stack(hs, dim=1)                                   # (B, L, n)
    y = H @ p["W_out"].T + p["b_out"]                            # (B, L, n_out)
    loss = torch.mean((y - target) ** 2)
    loss.backward()
    grads = {k: (v.grad.numpy() if v.grad is not None else np.zeros(v.shape)) for k, v in p.items()}  # W_in: (n, 0)
    return loss.item(), grads


def main():
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    model = cs.ClockworkRNN(0, N_OUT, cs.baselines.split_units(N_UNITS, G), PERIODS, seed=0)
    rng = np.random.default_rng(1)
    model.set_params(b=rng.normal(0, 0.1, model.n), h0=rng.normal(0, 0.1, model.n))
    steps = np.arange(L)
    target = (0.5 * np.sin(2 * np.pi * steps / 37) + 0.3 * np.sin(2 * np.pi * steps / 101))[None, :, None]
    target = np.repeat(target, B, axis=0) + rng.normal(0, 0.05, (B, L, N_OUT))          # (B, L, 1)
    x = np.zeros((B, L, 0))
    t_target = torch.tensor(target)

    loss, grads = cs.loss_and_grad(model, x, target)
    t_loss, t_grads = torch_loss_and_grad(model, t_target)
    rel = max(np.abs(grads[k] - t_grads[k]).max() / max(np.abs(t_grads[k]).max(), 1e-300)
              for k in grads if grads[k].size)
    assert abs(loss - t_loss) <= 1e-12 * abs(t_loss), (loss, t_loss)
    assert rel <= 1e-9, rel

    times = _common.time_interleaved({
        "torch_autograd": lambda: torch_loss_and_grad(model, t_target),
        "clocksim": lambda: cs.loss_and_grad(model, x, target),
    }, repeats=15, warmup=2)
    r = _common.ratio(times, "torch_autograd", "clocksim")
    _common.report("grad_vs_torch_autograd", {
        "config": {"units": N_UNITS, "modules": G, "periods": PERIODS, "n_in": 0, "n_out": N_OUT, "L": L, "B": B,
                   "loss": "mse"},
        "torch_version": torch.__version__,
        "max_rel_grad_diff": float(rel),
        "torch_ms": times["torch_autograd"]["median"] * 1e3,
        "clocksim_ms": times["clocksim"]["median"] * 1e3,
        "speedup_median": r["median"], "speedup_min": r["min"],
        "required": REQUIRED, "meets_target": r["median"] >= REQUIRED,
    })


if __name__ == "__main__":
    main()
