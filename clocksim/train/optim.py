"""Gradient-descent optimisers: SGD, momentum, Nesterov momentum (the paper's) and Adam.

An optimiser updates a dict of parameter arrays from a dict of gradients and
keeps its own state as plain arrays, so a checkpoint can store it and a run can
resume exactly. It never touches a model; :func:`clocksim.train` does.

Nesterov momentum follows Sutskever, Martens, Dahl & Hinton (ICML 2013), as
the CW-RNN paper does: the gradient is taken at the look-ahead point::

    v(t+1) = mu * v(t) - lr * grad f(theta(t) + mu * v(t))
    theta(t+1) = theta(t) + v(t+1)

so :meth:`Optimizer.evaluation_point` tells the trainer where to evaluate the
gradient (``theta + mu * v``); for the other optimisers it is ``theta`` itself.
Every update is a linear combination of gradients, so an entry whose gradient
is always zero (``W_rec`` outside a CW-RNN's mask) never moves.
"""

from __future__ import annotations

import abc

import numpy as np

from .._validate import as_float, as_mapping
from ..errors import InvalidValueError, ShapeError

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "Adam", "OPTIMIZERS", "make_optimizer"]

Params = dict[str, np.ndarray]


def check_step(params, *grads) -> None:
    """The arguments of :meth:`Optimizer.step` (and ``evaluation_point``): dicts of arrays, a gradient
    of the same shape for every parameter. Cheap: names and shapes only, once per update."""
    as_mapping("params", params, "a dict of parameter arrays (name -> array)")
    if not grads:
        return
    grads = grads[0]
    as_mapping("grads", grads, "a dict of gradient arrays with the keys of params")
    for k, p in params.items():
        if k not in grads:
            raise InvalidValueError(f"has no entry {k!r}, expected a gradient for every parameter "
                                    f"({', '.join(params)})", key="grads")
        if np.shape(grads[k]) != np.shape(p):
            raise ShapeError(f"got shape {np.shape(grads[k])}, expected {np.shape(p)} like params[{k!r}]",
                             key=f"grads[{k!r}]")


def state_array(value) -> np.ndarray:
    """A loaded state entry as a fresh array: float32 stays float32 (a float32 model's optimiser keeps its
    states in float32, DESIGN section 12), anything else becomes float64."""
    arr = np.asarray(value)
    return np.array(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)


class Optimizer(abc.ABC):
    """Base class: ``step(params, grads) -> new params`` plus state as named arrays."""

    name: str = ""

    def __init__(self, learning_rate: float):
        self.learning_rate = as_float("learning_rate", learning_rate, minimum=0.0, strict_minimum=True)

    def evaluation_point(self, params: Params) -> Params:
        """Where the next gradient is to be evaluated (``params`` for all but Nesterov)."""
        check_step(params)
        return params

    @abc.abstractmethod
    def step(self, params: Params, grads: Params) -> Params:
        """New parameters after one update (new arrays; the inputs are not modified)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """The optimiser's state as named arrays (keys like ``"velocity/W_rec"``, scalars 0-d)."""
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a state produced by :meth:`state_dict`."""
        if as_mapping("state", state, "a dict of arrays from state_dict()"):
            raise InvalidValueError(f"optimizer {self.name!r}: got state {sorted(state)}, expected none")

    def hyperparameters(self) -> dict:
        """The settings that define this optimiser, by their :class:`clocksim.TrainConfig` field names."""
        return {"learning_rate": self.learning_rate}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate:g})"


class SGD(Optimizer):
    """Plain stochastic gradient descent: ``theta -= lr * grad``."""

    name = "sgd"

    def step(self, params: Params, grads: Params) -> Params:
        check_step(params, grads)
        lr = self.learning_rate
        return {k: params[k] - lr * grads[k] for k in params}


class _Velocity(Optimizer):
    """Shared state of the momentum methods: one velocity array per parameter."""

    def __init__(self, learning_rate: float, momentum: float = 0.9):
        super().__init__(learning_rate)
        self.momentum = as_float("momentum", momentum, minimum=0.0, maximum=1.0)
        self.velocity: Params = {}

    def hyperparameters(self) -> dict:
        return {"learning_rate": self.learning_rate, "momentum": self.momentum}

    def _v(self, k: str, like: np.ndarray) -> np.ndarray:
        v = self.velocity.get(k)
        return np.zeros_like(like) if v is None else v

    def step(self, params: Params, grads: Params) -> Params:
        check_step(params, grads)
        mu, lr = self.momentum, self.learning_rate
        self.velocity = {k: mu * self._v(k, params[k]) - lr * grads[k] for k in params}   # Python floats keep
        # float32 arrays float32 (numpy 2: NEP 50), so a float32 model's update and state stay float32
        return {k: params[k] + self.velocity[k] for k in params}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f"velocity/{k}": v.copy() for k, v in self.velocity.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        velocity = {}
        for key, value in as_mapping("state", state, "a dict of arrays from state_dict()").items():
            kind, _, name = key.partition("/")
            if kind != "velocity" or not name:
                raise InvalidValueError(f"optimizer {self.name!r}: unexpected state entry {key!r}")
            velocity[name] = state_array(value)
        self.velocity = velocity

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate:g}, momentum={self.momentum:g})"


class Momentum(_Velocity):
    """Classical (heavy-ball) momentum: ``v = mu*v - lr*grad(theta)``, ``theta += v``."""

    name = "momentum"


class Nesterov(_Velocity):
    """Nesterov momentum in the formulation of Sutskever et al. (2013), as used by the paper.

    ``v = mu*v - lr*grad(theta + mu*v)``, ``theta += v``: the trainer evaluates the
    gradient at :meth:`evaluation_point`.
    """

    name = "nesterov"

    def evaluation_point(self, params: Params) -> Params:
        check_step(params)
        if not self.velocity:
            return params
        mu = self.momentum
        return {k: params[k] + mu * self._v(k, params[k]) for k in params}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction."""

    name = "adam"

    def __init__(self, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(learning_rate)
        self.beta1 = as_float("beta1", beta1, minimum=0.0, maximum=1.0)
        self.beta2 = as_float("beta2", beta2, minimum=0.0, maximum=1.0)
        if self.beta1 == 1.0 or self.beta2 == 1.0:
            raise InvalidValueError(f"got {self.beta1:g}, {self.beta2:g}, expected values below 1", key="beta1, beta2")
        self.eps = as_float("eps", eps, minimum=0.0, strict_minimum=True)
        self.t = 0
        self.m: Params = {}
        self.v: Params = {}

    def hyperparameters(self) -> dict:
        return {"learning_rate": self.learning_rate, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def step(self, params: Params, grads: Params) -> Params:
        check_step(params, grads)
        b1, b2 = self.beta1, self.beta2
        self.t += 1
        new = {}
        for k in params:
            g = grads[k]
            m = b1 * self.m.get(k, 0.0) + (1.0 - b1) * g
            v = b2 * self.v.get(k, 0.0) + (1.0 - b2) * (g * g)
            self.m[k], self.v[k] = m, v
            m_hat = m / (1.0 - b1 ** self.t)
            v_hat = v / (1.0 - b2 ** self.t)
            new[k] = params[k] - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
        return new

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {"t": np.array(self.t, dtype=np.int64)}
        out.update({f"m/{k}": a.copy() for k, a in self.m.items()})
        out.update({f"v/{k}": a.copy() for k, a in self.v.items()})
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        m, v, t = {}, {}, None
        for key, value in as_mapping("state", state, "a dict of arrays from state_dict()").items():
            kind, _, name = key.partition("/")
            if key == "t":
                t = int(value)
            elif kind in ("m", "v") and name:
                (m if kind == "m" else v)[name] = state_array(value)
            else:
                raise InvalidValueError(f"optimizer 'adam': unexpected state entry {key!r}")
        if t is None:
            raise InvalidValueError("optimizer 'adam': state has no step count 't'")
        self.t, self.m, self.v = t, m, v

    def __repr__(self) -> str:
        return (f"Adam(learning_rate={self.learning_rate:g}, beta1={self.beta1:g}, beta2={self.beta2:g}, "
                f"eps={self.eps:g})")


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam)}


def make_optimizer(name: str, learning_rate: float, *, momentum: float = 0.9, beta1: float = 0.9,
                   beta2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """The optimiser registered under ``name`` with the hyper-parameters it uses."""
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise InvalidValueError(f"got {name!r}, expected one of {', '.join(repr(k) for k in OPTIMIZERS)}",
                                key="optimizer")
    if name == "sgd":
        return SGD(learning_rate)
    if name in ("momentum", "nesterov"):
        return OPTIMIZERS[name](learning_rate, momentum)
    return Adam(learning_rate, beta1, beta2, eps)
