"""Training loop: minibatches, input noise, clipping, validation, early stopping, checkpoints.

:func:`train` fits any *trainable* model: an object with ``params`` (dict of
arrays), ``set_params(**arrays)``, ``n_in``, ``n_out`` and the methods used by
:func:`clocksim.loss_and_grad` / :func:`clocksim.evaluate` (a
:class:`~clocksim.ClockworkRNN`, a simple RNN from :func:`~clocksim.simple_rnn`,
or an :class:`~clocksim.LSTM`). The paper's recipe (Koutník et al. 2014, section
4) is SGD with Nesterov momentum (``optimizer="nesterov"``, momentum 0.95 for
sequence generation), Gaussian noise on the inputs and early stopping after 5
epochs without improvement on a validation set (``patience=5``).

One epoch, in order: the sequences are permuted with the run's generator
(``shuffle=True``), cut into minibatches of ``batch_size`` (the last may be
smaller), and for each minibatch: Gaussian noise of standard deviation
``input_noise`` is added to its inputs (drawn from the same generator), the
gradient is taken where the optimiser asks (Nesterov's look-ahead point), its
global norm is clipped to ``clip_norm``, and the optimiser updates the
parameters not listed in ``freeze``. Then the validation set is evaluated,
early stopping is decided and a checkpoint may be written.

Reproducibility: all randomness comes from one ``numpy.random.Generator``
(seeded by ``seed``, or passed in). A checkpoint stores the parameters, the
optimiser state, the generator's state (as JSON data, not a pickle), the
history and the early-stopping state, so a run resumed from it ends with
exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import grad
from .._validate import as_bool, as_float, as_int, as_mapping, as_path, as_rng, check_options, keyword_names
from .checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    check_state,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from ..errors import ClocksimError, FileFormatError, InvalidValueError
from .optim import OPTIMIZERS, Optimizer, make_optimizer

__all__ = ["TrainConfig", "History", "train", "DivergenceError"]

class DivergenceError(ClocksimError):
    """The loss or a gradient became NaN or infinite during training."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (besides the model and the data).

    Parameters
    ----------
    loss : {"mse", "xent"}
    optimizer : {"nesterov", "momentum", "sgd", "adam"} or Optimizer
        A name, or an instance such as ``cs.Adam(1e-2)``: the config then keeps its
        name and takes its hyper-parameters (``learning_rate``, ``momentum``, ``beta1``,
        ``beta2``, ``eps``), which replace the config's own; training starts a fresh
        optimiser from them (state held by the instance is not carried over).
    learning_rate : float
    momentum : float
        For "momentum" and "nesterov" (the paper uses 0.95 for sequence generation).
    beta1, beta2, eps : float
        For "adam".
    epochs : int
        Maximum number of passes over the training set.
    batch_size : int or None
        Sequences per minibatch; None = the whole set (full-batch).
    shuffle : bool
        Permute the sequences each epoch (with the run's generator).
    clip_norm : float or None
        Rescale a gradient whose global L2 norm (over the trained parameters)
        exceeds this value.
    input_noise : float
        Standard deviation of the Gaussian noise added to each minibatch's inputs.
    patience : int or None
        Stop after this many epochs without improvement of the monitored loss: the
        validation loss after the epoch if a validation set is given, else the mean
        training loss of the epoch's minibatches, each measured where its gradient was
        taken (before the update; at the look-ahead point for Nesterov), so it lags the
        epoch's final weights slightly. Give a validation set when the exact epoch
        matters. The paper uses 5. None = never stop early.
    min_delta : float
        An epoch improves only if it lowers the best loss by more than this.
    restore_best : bool
        With ``patience``, end with the parameters of the best epoch.
    freeze : tuple of str
        Parameters that are not trained (e.g. ``("h0",)`` keeps the initial
        state at zero as in the paper).
    seed : int
        Seeds the run's generator when none is passed to :func:`train`.
    """

    loss: str = "mse"
    optimizer: str = "nesterov"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    epochs: int = 100
    batch_size: int | None = None
    shuffle: bool = True
    clip_norm: float | None = None
    input_noise: float = 0.0
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    freeze: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.optimizer, Optimizer):          # an instance: its name and its hyper-parameters
            for name, value in {"optimizer": self.optimizer.name, **self.optimizer.hyperparameters()}.items():
                object.__setattr__(self, name, value)
        if self.loss not in grad.LOSSES:
            raise InvalidValueError(f"got {self.loss!r}, expected one of {', '.join(map(repr, grad.LOSSES))}",
                                    key="loss")
        if self.optimizer not in OPTIMIZERS:
            raise InvalidValueError(f"got {self.optimizer!r}, expected one of "
                                    f"{', '.join(map(repr, OPTIMIZERS))} or an Optimizer such as cs.Adam(1e-2)",
                                    key="optimizer")
        clean = {                                   # validated, as plain Python numbers (JSON in checkpoints)
            "learning_rate": as_float("learning_rate", self.learning_rate, minimum=0.0, strict_minimum=True),
            "momentum": as_float("momentum", self.momentum),
            "beta1": as_float("beta1", self.beta1),
            "beta2": as_float("beta2", self.beta2),
            "eps": as_float("eps", self.eps),
            "epochs": as_int("epochs", self.epochs, minimum=0),
            "batch_size": None if self.batch_size is None else as_int("batch_size", self.batch_size, minimum=1),
            "clip_norm": None if self.clip_norm is None else as_float("clip_norm", self.clip_norm, minimum=0.0,
                                                                       strict_minimum=True),
            "input_noise": as_float("input_noise", self.input_noise, minimum=0.0),
            "patience": None if self.patience is None else as_int("patience", self.patience, minimum=1),
            "min_delta": as_float("min_delta", self.min_delta, minimum=0.0),
            "seed": as_int("seed", self.seed, minimum=0),
        }
        for flag in ("shuffle", "restore_best"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidValueError(f"got {getattr(self, flag)!r}, expected True or False", key=flag)
        if isinstance(self.freeze, str) or not isinstance(self.freeze, (tuple, list)) or \
                not all(isinstance(k, str) for k in self.freeze):
            raise InvalidValueError(f"got {self.freeze!r}, expected a tuple of parameter names", key="freeze")
        clean["freeze"] = tuple(self.freeze)
        for name, value in clean.items():
            object.__setattr__(self, name, value)
        self.make_optimizer()                       # the optimiser checks its own ranges

    def make_optimizer(self) -> Optimizer:
        """A fresh optimiser as configured."""
        return make_optimizer(self.optimizer, self.learning_rate, momentum=self.momentum, beta1=self.beta1,
                              beta2=self.beta2, eps=self.eps)

    def to_dict(self) -> dict:
        """Plain data (JSON-serialisable)."""
        out = dataclasses.asdict(self)
        out["freeze"] = list(self.freeze)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        check_options(as_mapping("config", data), [f.name for f in dataclasses.fields(cls)], what="key", key="config")
        data = dict(data)
        if "freeze" in data:
            data["freeze"] = tuple(data["freeze"])
        return cls(**data)


@dataclass
class History:
    """What happened, epoch by epoch (plain lists, JSON-serialisable via :meth:`to_dict`).

    Attributes
    ----------
    epoch : list of int
        1-based epoch numbers.
    train_loss : list of float
        Mean minibatch loss of the epoch (weighted by minibatch size; with
        Nesterov it is measured at the look-ahead points, with noise if any).
    val_loss, val_accuracy : list of float
        Validation loss after the epoch (empty without a validation set);
        accuracy for ``loss="xent"`` only.
    grad_norm : list of float
        Mean global gradient norm of the epoch's minibatches, before clipping.
    clipped : list of int
        Minibatches whose gradient was clipped.
    seconds : list of float
        Wall time of the epoch (the only field that differs between identical runs).
    best_epoch, best_loss : int or None, float or None
        Epoch with the lowest monitored loss so far, and that loss.
    stopped_early : bool
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    clipped: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    best_epoch: int | None = None
    best_loss: float | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(**data)

    def __len__(self) -> int:
        return len(self.epoch)


def train(model, x, target, config: TrainConfig | None = None, *, validation=None, rng=None,
          checkpoint=None, checkpoint_every: int = 1, resume=None, progress: bool | None = None,
          on_epoch=None, fingerprint: dict | None = None, **overrides) -> History:
    """Train ``model`` in place on the sequences ``(x, target)``.

    Parameters
    ----------
    model : trainable model (ClockworkRNN, LSTM, ...)
    x : ndarray, shape (N, L, n_in) or (L, n_in), or None
        Training inputs, one row per sequence (None when ``n_in == 0``; the
        number of steps then comes from ``target``).
    target : ndarray
        As for :func:`clocksim.loss_and_grad`, with the sequences along axis 0.
    config : TrainConfig, optional
        Defaults to ``TrainConfig()``; ``overrides`` replace single fields, e.g.
        ``train(model, x, y, epochs=50, learning_rate=1e-2)``.
    validation : tuple (x_val, target_val), optional
        Evaluated after every epoch; monitored for early stopping.
    rng : numpy.random.Generator, optional
        Source of the shuffling and noise; default ``default_rng(config.seed)``.
        A generator passed in is advanced (and, with ``resume``, set to the
        checkpoint's state).
    checkpoint : path, optional
        Written (atomically) every ``checkpoint_every`` epochs and at the end.
    checkpoint_every : int
    resume : path, optional
        A checkpoint to continue from: parameters, optimiser and generator
        state, history. The configuration must match the one it was written
        with, except ``epochs``, which may be raised to train longer.
    progress : bool, optional
        Show a tqdm progress bar; default: only when stdout is a terminal.
    on_epoch : callable, optional
        ``on_epoch(epoch, history)`` after every epoch (after its checkpoint is written):
        ``epoch`` counts from 1, ``history`` is the :class:`History` so far. An exception it
        raises stops the training and propagates (e.g. to prune a search trial).
    fingerprint : dict, optional
        What is being trained (e.g. the scenario's keys, :func:`clocksim.scenario.fingerprint`):
        stored in every checkpoint, and a ``resume`` from a checkpoint written with another
        fingerprint is refused, naming the first key that differs.

    Returns
    -------
    History
        Also the record of the run in any checkpoint written.

    Raises
    ------
    DivergenceError
        When the loss or the gradient becomes NaN or infinite (names the epoch and minibatch).
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise InvalidValueError(f"got {type(config).__name__}, expected a TrainConfig", key="config")
    if overrides:
        fields = [f.name for f in dataclasses.fields(TrainConfig)]
        check_options(overrides, fields, key="train", what="option (a TrainConfig field)",
                      suggest=keyword_names(train))
        config = dataclasses.replace(config, **overrides)
    checkpoint_every = as_int("checkpoint_every", checkpoint_every, minimum=1)
    rng = as_rng("rng", rng)
    progress = as_bool("progress", progress, optional=True)
    if fingerprint is not None:
        as_mapping("fingerprint", fingerprint, "a dict (what is being trained) or None")
    checkpoint = None if checkpoint is None else as_path("checkpoint", checkpoint)
    resume = None if resume is None else as_path("resume", resume)
    if on_epoch is not None and not callable(on_epoch):
        raise InvalidValueError(f"got {on_epoch!r}, expected a callable on_epoch(epoch, history)", key="on_epoch")
    names = _trainable_names(model, config.freeze)
    X, T = _dataset(model, x, target, config.loss, "x", "target")
    val = None
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise InvalidValueError("expected a pair (x_val, target_val)", key="validation")
        val = _dataset(model, validation[0], validation[1], config.loss, "validation x", "validation target")
    run = _Run(model, config, names, rng if rng is not None else np.random.default_rng(config.seed), fingerprint)
    if resume is not None:
        run.restore(load_checkpoint(resume), config)
    show = sys.stdout.isatty() if progress is None else bool(progress)
    start = len(run.history)
    from tqdm.auto import tqdm  # on first use: tqdm.auto loads asyncio, which a run without training does not need

    with tqdm(total=config.epochs, initial=min(start, config.epochs), disable=not show, unit="epoch",
              desc=type(model).__name__, leave=False) as bar:
        for epoch in range(start + 1, config.epochs + 1):
            if run.history.stopped_early:
                break
            run.epoch(epoch, X, T, val)
            bar.update(1)
            bar.set_postfix(loss=f"{run.history.train_loss[-1]:.4g}")
            last = epoch == config.epochs or run.history.stopped_early
            if checkpoint is not None and (epoch % checkpoint_every == 0 or last):
                save_checkpoint(checkpoint, run.state())
            if on_epoch is not None:
                on_epoch(epoch, run.history)
    if config.patience is not None and config.restore_best and run.best is not None:
        model.set_params(**run.best)
    return run.history


# ------------------------------------------------------------------ the run
class _Run:
    """Mutable state of one training run (what a checkpoint holds)."""

    def __init__(self, model, config: TrainConfig, names: list[str], rng: np.random.Generator,
                 fingerprint: dict | None = None):
        self.model, self.config, self.names, self.rng = model, config, names, rng
        self.fingerprint = fingerprint
        self.optimizer = config.make_optimizer()
        self.history = History()
        self.best: dict[str, np.ndarray] | None = None
        self.bad_epochs = 0

    def epoch(self, epoch: int, X: np.ndarray, T: np.ndarray, val) -> None:
        cfg, model = self.config, self.model
        t0 = time.perf_counter()
        N = X.shape[0]
        order = self.rng.permutation(N) if cfg.shuffle else np.arange(N)
        size = cfg.batch_size or N
        theta = {k: model.params[k] for k in self.names}
        total = norms = 0.0
        clipped = 0
        for b, lo in enumerate(range(0, N, size), start=1):
            idx = order[lo:lo + size]
            xb = X[idx]
            if cfg.input_noise > 0.0 and xb.size:
                xb = xb + self.rng.normal(0.0, cfg.input_noise, xb.shape)
            point = self.optimizer.evaluation_point(theta)
            if point is not theta:
                model.set_params(**point)
            with np.errstate(over="ignore", invalid="ignore"):     # divergence is reported below
                value, grads = grad.loss_and_grad(model, xb, T[idx], cfg.loss)
                norm = float(np.sqrt(sum(float(np.sum(grads[k] * grads[k])) for k in self.names)))
            if not (np.isfinite(value) and np.isfinite(norm)):
                what = f"loss is {value}" if not np.isfinite(value) else f"gradient norm is {norm}"
                raise DivergenceError(
                    f"training diverged at epoch {epoch}, minibatch {b} (sequences {idx.tolist()[:8]}"
                    f"{'...' if idx.size > 8 else ''}): {what}; lower learning_rate (now {cfg.learning_rate:g})"
                    " or set clip_norm")
            g = {k: grads[k] for k in self.names}
            if cfg.clip_norm is not None and norm > cfg.clip_norm:
                scale = cfg.clip_norm / norm
                g = {k: v * scale for k, v in g.items()}
                clipped += 1
            theta = self.optimizer.step(theta, g)
            bad = [k for k, v in theta.items() if not np.isfinite(v).all()]
            if bad:
                raise DivergenceError(
                    f"training diverged at epoch {epoch}, minibatch {b}: parameter(s) {', '.join(bad)} became "
                    f"non-finite; lower learning_rate (now {cfg.learning_rate:g}) or set clip_norm")
            model.set_params(**theta)
            total += value * idx.size
            norms += norm
        h = self.history
        h.epoch.append(epoch)
        h.train_loss.append(total / N)
        h.grad_norm.append(norms / b)
        h.clipped.append(clipped)
        monitored = h.train_loss[-1]
        if val is not None:
            metrics = grad.evaluate(model, val[0], val[1], cfg.loss)
            h.val_loss.append(metrics["loss"])
            if "accuracy" in metrics:
                h.val_accuracy.append(metrics["accuracy"])
            monitored = metrics["loss"]
        if not np.isfinite(monitored):
            raise DivergenceError(f"training diverged at epoch {epoch}: monitored loss is {monitored}")
        if h.best_loss is None or monitored < h.best_loss - cfg.min_delta:
            h.best_loss, h.best_epoch, self.bad_epochs = float(monitored), epoch, 0
            if cfg.patience is not None:
                self.best = {k: v.copy() for k, v in model.params.items()}
        else:
            self.bad_epochs += 1
            if cfg.patience is not None and self.bad_epochs >= cfg.patience:
                h.stopped_early = True
        h.seconds.append(time.perf_counter() - t0)

    # ---------------------------------------------------------------- checkpoints
    def state(self) -> dict:
        return {
            "meta": {
                "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "model": type(self.model).__name__,
                "config": self.config.to_dict(),
                "optimizer": self.optimizer.name,
                "rng": rng_state(self.rng),
                "history": self.history.to_dict(),
                "bad_epochs": self.bad_epochs,
                "fingerprint": self.fingerprint,
            },
            "params": dict(self.model.params),
            "optimizer": self.optimizer.state_dict(),
            "best": self.best,
        }

    def restore(self, state: dict, config: TrainConfig) -> None:
        meta, path = state["meta"], state.get("path")
        if meta["model"] != type(self.model).__name__:
            raise InvalidValueError(f"the checkpoint was written for a {meta['model']}, "
                                    f"got a {type(self.model).__name__}", key="resume")
        if self.fingerprint is not None:
            saved_print = meta.get("fingerprint") if isinstance(meta.get("fingerprint"), dict) else {}
            differ = sorted(k for k in set(saved_print) | set(self.fingerprint)
                            if saved_print.get(k) != self.fingerprint.get(k))
            if differ:
                raise InvalidValueError(
                    "the checkpoint belongs to another scenario: " + ", ".join(
                        f"{k} (checkpoint {saved_print.get(k)!r}, now {self.fingerprint.get(k)!r})"
                        for k in differ[:3]) + "; run without --resume (and with --force) to start afresh",
                    key="--resume", file=path)
        try:
            saved = TrainConfig.from_dict(meta["config"]).to_dict()
            history = History.from_dict(meta["history"])
        except (TypeError, KeyError, InvalidValueError):
            raise FileFormatError("not a training configuration and history this version can read",
                                  key="meta.config", file=path) from None
        fresh = config.make_optimizer()
        zeros = {k: np.zeros_like(self.model.params[k]) for k in self.names}
        fresh.step(zeros, zeros)
        check_state(state, dict(self.model.params), fresh.state_dict(), config.epochs)
        differ = sorted(k for k, v in config.to_dict().items() if k != "epochs" and saved[k] != v)
        if differ:
            raise InvalidValueError(
                "resume: the configuration differs from the checkpoint's in "
                + ", ".join(f"{k} (checkpoint {saved[k]!r}, now {getattr(config, k)!r})" for k in differ)
                + "; only epochs may change")
        self.model.set_params(**state["params"])
        self.optimizer.load_state_dict(state["optimizer"])
        try:
            set_rng_state(self.rng, meta["rng"])
        except ClocksimError as exc:
            raise exc.located(file=path) from None
        self.history = history
        self.bad_epochs = int(meta["bad_epochs"])
        self.best = state["best"]


# ------------------------------------------------------------------ helpers
def _trainable_names(model, freeze: tuple[str, ...]) -> list[str]:
    params = getattr(model, "params", None)
    if not isinstance(params, dict) or not callable(getattr(model, "set_params", None)):
        raise InvalidValueError(f"got {type(model).__name__}, expected a model with params and set_params "
                                "(ClockworkRNN, LSTM, ...)", key="model")
    unknown = [k for k in freeze if k not in params]
    if unknown:
        raise InvalidValueError(
            f"unknown parameter(s) {', '.join(unknown)}, expected some of {', '.join(params)}", key="freeze")
    return [k for k in params if k not in freeze]


def _dataset(model, x, target, loss: str, x_name: str, t_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated data with the sequences along axis 0: X (N, L, n_in) and targets (N, L, n_out) or (N, L)."""
    try:
        X, tgt = grad.prepare_batch(model.n_in, model.n_out, x, target, loss)
    except InvalidValueError as exc:
        names = {"x": x_name, "target": t_name}
        if exc.key in names:
            exc = copy.copy(exc)
            exc.key = names[exc.key]
        raise exc from None
    T = tgt.transpose(1, 0, 2) if loss == "mse" else tgt.T     # back to sequences first
    if loss == "xent":
        empty = np.flatnonzero(~(T >= 0).any(axis=1))
        if empty.size:
            raise InvalidValueError(
                f"sequence {int(empty[0])} has no labelled step (all labels -1); a minibatch of such "
                "sequences has no loss, so label at least one step or leave the sequence out", key=t_name)
    return X, np.ascontiguousarray(T)
