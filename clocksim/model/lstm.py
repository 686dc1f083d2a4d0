"""The LSTM baseline of the paper's comparisons (Hochreiter & Schmidhuber 1997, with forget gates).

One layer of ``n`` cells without peephole connections, read out like a
Clockwork RNN: ``y(s) = f_O(W_out @ h(s) + b_out)`` at every step. Per step
(gates stacked in the order input, forget, cell candidate, output)::

    a = W_rec @ h(s-1) + W_in @ x(s) + b                         # (4n,)
    i, f, o = sigmoid(a[:n]), sigmoid(a[n:2n]), sigmoid(a[3n:])
    g = tanh(a[2n:3n])
    c(s) = f * c(s-1) + i * g;   h(s) = o * tanh(c(s))

Initialisation as in the paper: weights ~ N(0, 0.1^2), biases 0 except the
forget gate's, which starts at 5 (the gate starts open, so the cell remembers),
``h0 = c0 = 0``. The forward and backward passes are jitted kernels
(:mod:`clocksim.lstm_kernels`); the model offers the same training interface
as :class:`~clocksim.ClockworkRNN` (``params``, ``set_params``,
``loss_and_grad``, ``evaluate``), so :func:`clocksim.train` takes either.
"""

from __future__ import annotations

import numpy as np

from ..train import grad
from ..kernels import core as K
from ..kernels import lstm as LK
from .._validate import as_float, as_input, as_int
from ..errors import InvalidValueError
from .cwrnn import INIT_STD, OUTPUT_ACTIVATIONS
from .params import ParameterSet, as_dtype, weight_count

__all__ = ["LSTM", "GATES"]

GATES = ("input", "forget", "cell", "output")
_OUT_CODES = {"linear": K.ACT_LINEAR, "tanh": K.ACT_TANH, "sigmoid": K.ACT_SIGMOID, "softmax": K.ACT_SOFTMAX}


class LSTM(ParameterSet):
    """A one-layer LSTM with a readout at every step.

    Parameters
    ----------
    n_in : int
        Input size (0 allowed: a generator driven by its own state).
    n_out : int
        Output size, >= 1.
    n_hidden : int
        Number of cells ``n``.
    output_activation : {"linear", "tanh", "sigmoid", "softmax"}
    forget_bias : float, default 5.0
        Initial bias of the forget gate (the paper's value).
    seed : int or numpy.random.Generator, default 0
    dtype : {"float64", "float32"}, default "float64"
        What the model computes and trains in (see :class:`~clocksim.ClockworkRNN`).

    Attributes
    ----------
    params : dict of ndarray
        ``W_in`` (4n, n_in), ``W_rec`` (4n, n), ``b`` (4n,), ``W_out`` (n_out, n),
        ``b_out`` (n_out,), ``h0`` (n,), ``c0`` (n,); the 4n rows are the gates in
        the order of :data:`GATES`.
    """

    #: The model-kind interface (:class:`clocksim.model.kind.ModelKind`): trained and scored, never simulated.
    kind = "lstm"
    simulated = False
    initial_state = ("h0", "c0")

    def __init__(self, n_in: int, n_out: int, n_hidden: int, output_activation: str = "linear",
                 forget_bias: float = 5.0, seed=0, dtype="float64"):
        self.dtype = as_dtype(dtype)
        self.n_in = as_int("n_in", n_in, minimum=0)
        self.n_out = as_int("n_out", n_out, minimum=1)
        self.n = as_int("n_hidden", n_hidden, minimum=1)
        if not isinstance(output_activation, str) or output_activation not in OUTPUT_ACTIVATIONS:
            raise InvalidValueError(f"got {output_activation!r}, expected one of "
                                    f"{', '.join(repr(o) for o in OUTPUT_ACTIVATIONS)}", key="output_activation")
        self.output_activation = output_activation
        self.forget_bias = as_float("forget_bias", forget_bias)
        self._params: dict[str, np.ndarray] = {}
        self.version = 0
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(
            as_int("seed", seed, minimum=0))
        n = self.n
        b = np.zeros(4 * n)
        b[n:2 * n] = self.forget_bias
        self._assign({
            "W_in": rng.normal(0.0, INIT_STD, (4 * n, self.n_in)),
            "W_rec": rng.normal(0.0, INIT_STD, (4 * n, n)),
            "b": b,
            "W_out": rng.normal(0.0, INIT_STD, (self.n_out, n)),
            "b_out": np.zeros(self.n_out),
            "h0": np.zeros(n),
            "c0": np.zeros(n),
        })

    # ------------------------------------------------------------------ parameters
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Expected shape of each parameter array."""
        n, n_in, n_out = self.n, self.n_in, self.n_out
        return {"W_in": (4 * n, n_in), "W_rec": (4 * n, n), "b": (4 * n,), "W_out": (n_out, n),
                "b_out": (n_out,), "h0": (n,), "c0": (n,)}

    @property
    def n_params(self) -> int:
        """Trainable weights and biases (:func:`clocksim.params.weight_count`): the four gates' weights and
        biases, W_out, b_out (not h0, c0)."""
        return weight_count(self.n, self.n_in, self.n_out, self.n * self.n, gates=4)

    def _assign(self, arrays: dict[str, np.ndarray]) -> None:
        super()._assign(arrays)
        self.__dict__.pop("_packed", None)

    def __repr__(self) -> str:
        return (f"LSTM(n_in={self.n_in}, n_out={self.n_out}, n_hidden={self.n}, "
                f"output_activation={self.output_activation!r})")

    # ------------------------------------------------------------------ running
    def forward(self, x, n_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and hidden states.

        Parameters
        ----------
        x : ndarray, shape (L, n_in) or (B, L, n_in), or None
            ``None`` (with ``n_steps``) runs a model without inputs.
        n_steps : int, optional
            Number of steps when ``x`` is None.

        Returns
        -------
        y : ndarray, shape (L, n_out) or (B, L, n_out)
        h : ndarray, shape (L, n) or (B, L, n)
        """
        X, batched = as_input(x, self.n_in, n_steps)
        state = self._forward(X)
        Y = self._readout(state, _OUT_CODES[self.output_activation])
        y = Y.transpose(1, 0, 2)
        h = state[0][1:, :, :self.n].transpose(1, 0, 2)
        return (y, h) if batched else (y[0], h[0])

    def loss_and_grad(self, x, target, loss: str = "mse") -> tuple[float, dict[str, np.ndarray]]:
        """Loss and gradient of every parameter; the same contract as :func:`clocksim.loss_and_grad`."""
        X, tgt = grad.prepare_batch(self.n_in, self.n_out, x, target, loss)
        B, L, _ = X.shape
        n, m, n_out = self.n, self.n + self.n_in, self.n_out
        state = self._forward(X)
        Z, A, C, TC = state
        out = self._readout(state, K.ACT_LINEAR if loss == "xent" else _OUT_CODES[self.output_activation])
        value, dA = grad.output_error(out, tgt, loss, _OUT_CODES[self.output_activation])
        dt = self.dtype
        dA = dA.astype(dt, copy=False)
        gW_out, gb_out = np.empty((n_out, n), dt), np.empty(n_out, dt)
        K.readout_backward(Z.reshape(-1), L, B, m, n, dA.reshape(-1), gW_out.reshape(-1), gb_out)
        gW, gb, gh0, gc0 = np.empty((4 * n, m), dt), np.empty(4 * n, dt), np.empty(n, dt), np.empty(n, dt)
        LK.lstm_backward(Z.reshape(-1), L, B, m, n, self._packed_weights().reshape(-1), A.reshape(-1),
                         C.reshape(-1), TC.reshape(-1), self._params["W_out"].reshape(-1), dA.reshape(-1),
                         gW.reshape(-1), gb, gh0, gc0)
        return value, {"W_in": np.ascontiguousarray(gW[:, n:]), "W_rec": np.ascontiguousarray(gW[:, :n]),
                       "b": gb, "W_out": gW_out, "b_out": gb_out, "h0": gh0, "c0": gc0}

    def evaluate(self, x, target, loss: str = "mse") -> dict[str, float]:
        """Loss (and accuracy for "xent") on ``(x, target)``; the contract of :func:`clocksim.evaluate`."""
        X, tgt = grad.prepare_batch(self.n_in, self.n_out, x, target, loss)
        out = self._readout(self._forward(X), K.ACT_LINEAR if loss == "xent" else _OUT_CODES[self.output_activation])
        return grad.prediction_metrics(out, tgt, loss)

    # ------------------------------------------------------------------ internals
    def _packed_weights(self) -> np.ndarray:
        """``[W_rec | W_in]``, shape (4n, n + n_in), built once per parameter version."""
        W = self.__dict__.get("_packed")
        if W is None:
            W = np.ascontiguousarray(np.hstack([self._params["W_rec"], self._params["W_in"]]))
            self.__dict__["_packed"] = W
        return W

    def _forward(self, X: np.ndarray):
        B, L, n_in = X.shape
        n, m = self.n, self.n + n_in
        dt = self.dtype
        Z = np.empty((L + 1, B, m), dt)                               # [h(s-1) | x(s)]
        Z[0, :, :n] = self._params["h0"]
        Z[:L, :, n:] = X.transpose(1, 0, 2)
        Z[L, :, n:] = 0.0
        A = np.empty((L, B, 4 * n), dt)                               # gate values
        C = np.empty((L + 1, B, n), dt)                               # cells, C[0] = c0
        C[0] = self._params["c0"]
        TC = np.empty((L, B, n), dt)                                  # tanh(c)
        LK.lstm_forward(Z.reshape(-1), L, B, m, n, self._packed_weights().reshape(-1), self._params["b"],
                        A.reshape(-1), C.reshape(-1), TC.reshape(-1))
        return Z, A, C, TC

    def _readout(self, state, code: int) -> np.ndarray:
        Z = state[0]
        L, B = Z.shape[0] - 1, Z.shape[1]
        Y = np.empty((L, B, self.n_out), Z.dtype)
        K.readout(Z.reshape(-1), L, B, Z.shape[2], self.n, self._params["W_out"].reshape(-1), self._params["b_out"],
                  code, Y.reshape(-1))
        return Y
