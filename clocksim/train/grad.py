"""Losses and their exact gradients: backpropagation through time (BPTT).

:func:`loss_and_grad` runs the compiled forward pass, keeps its work array
(the state after every step) and runs the backward pass in jitted code: one
call for the readout (:func:`clocksim.kernels.readout_backward`) and one for
the whole recurrence (:func:`clocksim.kernels.backward_sequence`, step by step; for a triangular
model :func:`clocksim.kernels.modmajor_bptt.backward_module_major`, fastest module first, the same
gradients to rounding: :func:`bptt_order`). It follows the paper: at a step
where module ``i`` ran, its error flows through ``f_H`` into its block-row of
``W_rec`` and ``W_in``, its bias and the states it read; at a step where it was
held, its error is copied back one step and added. ``h0`` receives the error of
``h(start - 1)``. Entries of ``W_rec`` outside ``model.mask`` get a gradient of
exactly zero.

Losses
------
``"mse"``
    ``mean((y - target)**2)`` over *all* elements; ``target`` is shaped like
    ``y``: ``(L, n_out)`` or ``(B, L, n_out)``. ``y`` is the model's output after
    ``output_activation``.
``"xent"``
    Softmax cross-entropy on the logits ``W_out @ h + b_out`` (whatever the
    model's ``output_activation``), averaged over the labelled steps.
    ``target`` holds integer class labels in ``[0, n_out)``:

    - ``(L,)`` / ``(B, L)``: a label for every step;
    - ``()`` / ``(B,)``: a label for the last step only (sequence classification,
      as in the paper's spoken-word task).

    A label of ``-1`` marks an unlabelled step: it contributes neither to the
    loss nor to the count it is averaged over.

Models other than :class:`~clocksim.ClockworkRNN` (e.g. :class:`~clocksim.LSTM`)
take part by providing methods ``loss_and_grad(x, target, loss)`` and
``evaluate(x, target, loss)``; the functions here dispatch to them.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..kernels import core as K
from ..kernels import modmajor_bptt as MB
from .._validate import as_array, as_input, as_real_array
from ..engine.compiled import MODULE_MAJOR, forward_arrays, schedule_order
from ..engine.plan import Plan, plan_for
from ..errors import ClocksimWarning, InvalidValueError, ShapeError, UnsupportedError
from ..model.cwrnn import ClockworkRNN

__all__ = ["LOSSES", "loss_and_grad", "bptt_order", "evaluate", "prepare_batch", "output_error", "prediction_metrics"]

LOSSES = ("mse", "xent")
UNLABELLED = -1


# ------------------------------------------------------------------ public API
def loss_and_grad(model, x, target, loss: str = "mse", order: str | None = None,
                  info: dict | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """Loss of ``model`` on ``(x, target)`` and its gradient with respect to every parameter.

    Parameters
    ----------
    model : ClockworkRNN or a model with a ``loss_and_grad`` method (e.g. LSTM)
    x : ndarray, shape (L, n_in) or (B, L, n_in), or None
        Inputs. ``None`` is allowed when ``n_in == 0``; the number of steps (and
        batch) is then read from ``target``.
    target : ndarray
        ``"mse"``: real, shaped like the output ``(L, n_out)`` / ``(B, L, n_out)``.
        ``"xent"``: integer labels, ``(L,)`` / ``(B, L)`` (every step) or
        ``()`` / ``(B,)`` (last step only); ``-1`` marks an unlabelled step.
    loss : {"mse", "xent"}
    order : {"module-major", "step-major"}, optional
        The order of the forward and backward passes (ClockworkRNN only). Default: the forward pass in
        :func:`~clocksim.engine.compiled.schedule_order` for this batch (as ``forward_arrays``), the
        backward pass in :func:`bptt_order`'s. Module-major BPTT (:mod:`clocksim.kernels.modmajor_bptt`,
        fastest module first) gives the step-major gradients to rounding (its sums are taken in another
        order), not bit for bit.
    info : dict, optional
        Receives the orders that ran: ``info["schedule_order"]`` (forward), ``info["bptt_order"]``.

    Returns
    -------
    loss : float
    grads : dict of ndarray
        Same keys and shapes as ``model.params`` (the model's dtype, freshly allocated).
        ``grads["W_rec"]`` is exactly zero outside ``model.mask``.
    """
    if not isinstance(model, ClockworkRNN):
        return _delegate(model, "loss_and_grad", x, target, loss)
    _check_synchronous(model)
    if info is not None and not isinstance(info, dict):
        raise InvalidValueError(f"got {type(info).__name__}, expected a dict (or None)", key="info")
    X, tgt = prepare_batch(model.n_in, model.n_out, x, target, loss)
    plan = plan_for(model)
    B, L = X.shape[0], X.shape[1]
    active = model.activity(L)                                         # (L, g)
    Z, out = forward_arrays(_readout_plan(plan, loss), X, active, order=order)   # (L+1, B, m), (L, B, n_out)
    back = order or bptt_order(plan)
    value, dA = output_error(out, tgt, loss, plan.out_act)             # dA: (L, B, n_out)
    n, m, n_out, dt = plan.n, plan.m, plan.W_out.shape[0], plan.dtype   # gradients in the model's dtype
    Zf, dAf = Z.reshape(-1), dA.astype(dt, copy=False).reshape(-1)
    gW_out, gb_out = np.empty((n_out, n), dt), np.empty(n_out, dt)
    K.readout_backward(Zf, L, B, m, n, dAf, gW_out.reshape(-1), gb_out)
    gW, gb, gh0 = _recurrence_grads(model, plan, Zf, B, L, active, dAf, back)
    if info is not None:
        info.update(schedule_order=order or schedule_order(plan, B), bptt_order=back)
    W_rec = np.where(model.mask, gW[:, :n], 0.0)                       # exactly zero outside the mask
    W_in = np.empty((n, model.n_in), dt)
    for i in range(model.g):                                           # each module's input columns (buffered:
        rows, x0 = model.rows(i), n + plan.x_offset(i)                 # its window's reduction)
        W_in[rows] = gW[rows, x0:x0 + model.n_in]
    return value, {"W_in": W_in, "W_rec": W_rec, "b": gb, "W_out": gW_out, "b_out": gb_out, "h0": gh0}


def bptt_order(plan: Plan) -> str:
    """The order :func:`loss_and_grad` runs the backward pass of a plan in: ``"module-major"`` (fastest module
    first, :func:`clocksim.kernels.modmajor_bptt.backward_module_major`) whenever the plan admits it
    (:func:`~clocksim.engine.compiled.schedule_order` without a batch size), else ``"step-major"``
    (:func:`clocksim.kernels.backward_sequence`). Unlike the forward pass, one sequence too: there the
    module-major backward pass measured 1.8x the step-major one (B=1, g=8x16, L=4096; benchmarks/bench_modmajor.py).
    """
    return schedule_order(plan)


def evaluate(model, x, target, loss: str = "mse") -> dict[str, float]:
    """Loss (and, for ``"xent"``, accuracy) of ``model`` on ``(x, target)``; forward pass only.

    Takes the same arguments as :func:`loss_and_grad`. Returns ``{"loss": float}``
    plus, for ``"xent"``, ``"accuracy"``: the fraction of labelled steps whose
    largest logit is the label.
    """
    if not isinstance(model, ClockworkRNN):
        return _delegate(model, "evaluate", x, target, loss)
    _check_synchronous(model)
    X, tgt = prepare_batch(model.n_in, model.n_out, x, target, loss)
    plan = plan_for(model)
    _, out = forward_arrays(_readout_plan(plan, loss), X, model.activity(X.shape[1]))
    return prediction_metrics(out, tgt, loss)


# ------------------------------------------------------------------ shared by every model
def prepare_batch(n_in: int, n_out: int, x, target, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``x`` and ``target`` together and put them in kernel layout.

    Returns
    -------
    X : ndarray, shape (B, L, n_in), float64
    target : ndarray
        ``"mse"``: float64, shape (L, B, n_out). ``"xent"``: int64 labels,
        shape (L, B), ``-1`` where a step is unlabelled.
    """
    loss = _loss_name(loss)
    if x is None and n_in == 0:
        X, batched = _input_from_target(n_out, target, loss)      # no input: the target says how long
    else:
        X, batched = as_input(x, n_in)
    B, L, _ = X.shape
    if loss == "mse":
        return X, _mse_target(target, B, L, n_out, batched)
    return X, _xent_target(target, B, L, n_out, batched)


def output_error(out: np.ndarray, target: np.ndarray, loss: str, out_act: int) -> tuple[float, np.ndarray]:
    """Loss and its gradient with respect to the readout's pre-activation ``a = W_out h + b_out``.

    Parameters
    ----------
    out : ndarray, shape (L, B, n_out)
        ``"mse"``: the outputs ``y = f_O(a)``; ``"xent"``: the logits ``a``.
    target : ndarray
        As returned by :func:`prepare_batch`.
    loss : {"mse", "xent"}
    out_act : int
        ``clocksim.kernels.ACT_*`` code of ``f_O`` (ignored for ``"xent"``).

    Returns
    -------
    loss : float
    dA : ndarray, shape (L, B, n_out), C-contiguous
    """
    if loss == "mse":
        diff = out - target                                        # (L, B, n_out)
        value = float(np.mean(diff * diff))
        dY = diff * (2.0 / diff.size)
        if out_act == K.ACT_TANH:
            dA = dY * (1.0 - out * out)
        elif out_act == K.ACT_SIGMOID:
            dA = dY * out * (1.0 - out)
        elif out_act == K.ACT_RELU:
            dA = dY * (out > 0.0)
        elif out_act == K.ACT_SOFTMAX:                             # Jacobian of softmax: y * (dY - <dY, y>)
            dA = out * (dY - np.sum(dY * out, axis=-1, keepdims=True))
        else:
            dA = dY
        return value, np.ascontiguousarray(dA)
    logp = _log_softmax(out)                                       # (L, B, n_out)
    value, labelled, count = _xent_value(logp, target)
    idx = np.maximum(target, 0)[..., None]                         # (L, B, 1)
    dA = np.exp(logp)                                              # softmax - onehot(label), labelled steps only
    np.put_along_axis(dA, idx, np.take_along_axis(dA, idx, axis=-1) - 1.0, axis=-1)
    dA *= labelled[..., None] / count
    return value, np.ascontiguousarray(dA)


def prediction_metrics(out: np.ndarray, target: np.ndarray, loss: str) -> dict[str, float]:
    """``{"loss"}`` (and ``"accuracy"`` for ``"xent"``) from outputs in the layout of :func:`output_error`."""
    if loss == "mse":
        diff = out - target
        return {"loss": float(np.mean(diff * diff))}
    value, labelled, _ = _xent_value(_log_softmax(out), target)
    hits = np.argmax(out, axis=-1) == target                       # (L, B)
    return {"loss": value, "accuracy": float(hits[labelled].mean())}


# ------------------------------------------------------------------ helpers
def _delegate(model, method: str, x, target, loss):
    fn = getattr(model, method, None)
    if not callable(fn):
        raise InvalidValueError(
            f"got {type(model).__name__}, expected a ClockworkRNN or a model with a {method}(x, target, loss) "
            "method (such as clocksim.LSTM)", key="model")
    return fn(x, target, loss=loss)


def _check_synchronous(model: ClockworkRNN) -> None:
    if not model.synchronous:
        bad = [c.label for c in model.clocks if not c.synchronous]
        raise UnsupportedError(
            f"clocks {', '.join(bad)} fire at non-integer times; gradients are defined for "
            "synchronous clocks (integer steps) only", key="loss_and_grad")


def _loss_name(loss) -> str:
    if not isinstance(loss, str) or loss not in LOSSES:
        raise InvalidValueError(f"got {loss!r}, expected one of {', '.join(repr(v) for v in LOSSES)}", key="loss")
    return loss


def _readout_plan(plan: Plan, loss: str) -> Plan:
    """The plan whose readout gives what the loss needs: outputs for "mse", logits for "xent"."""
    if loss == "xent" and plan.out_act != K.ACT_LINEAR:
        return dataclasses.replace(plan, out_act=K.ACT_LINEAR)
    return plan


def _input_from_target(n_out: int, target, loss: str) -> tuple[np.ndarray, bool]:
    shape = np.shape(target)
    if loss == "mse" and len(shape) in (2, 3):
        batched = len(shape) == 3
        B, L = (shape[0], shape[1]) if batched else (1, shape[0])
    elif loss == "xent" and len(shape) in (1, 2):
        batched = len(shape) == 2
        B, L = (shape[0], shape[1]) if batched else (1, shape[0])
    else:
        raise InvalidValueError(
            f"got None with a target of shape {shape}, which does not give the number of steps; "
            "pass x of shape (L, 0) or (B, L, 0)", key="x")
    if L < 1 or B < 1:
        raise ShapeError(f"got shape {shape}, expected at least one step and one sequence", key="target")
    return np.zeros((B, L, 0)), batched


def _mse_target(target, B: int, L: int, n_out: int, batched: bool) -> np.ndarray:
    want = (B, L, n_out) if batched else (L, n_out)
    T = as_real_array("target", target)
    if T.shape != want:
        raise ShapeError(f"got shape {T.shape}, expected {want} (shaped like the output y) for loss='mse'",
                         key="target")
    _check_squares_fit(T)
    T = T if batched else T[None]
    return np.ascontiguousarray(T.transpose(1, 0, 2))              # (L, B, n_out)


def _check_squares_fit(T: np.ndarray) -> None:
    """Refuse finite targets so large that the mean squared error overflows float64 (1e308 squared is
    inf, and every gradient NaN): the sum of ``T.size`` squares of twice the largest target must fit."""
    limit = np.sqrt(np.finfo(np.float64).max / max(T.size, 1)) / 2.0
    peak = float(np.max(np.abs(T))) if T.size else 0.0
    if peak > limit:
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(T))), T.shape))
        raise InvalidValueError(
            f"holds {T[where]:g} at index {where}: the squared error of targets this large overflows float64 "
            f"(loss inf, gradients NaN); expected |target| below {limit:.3g} for {T.size:,} values; scale "
            "the targets (e.g. to unit variance)", key="target")


def _xent_target(target, B: int, L: int, n_out: int, batched: bool) -> np.ndarray:
    lab = as_array("target", target)
    if lab.dtype == bool or lab.dtype.kind not in "iu":
        raise ShapeError(f"got an array of dtype {lab.dtype}, expected integer class labels for loss='xent'",
                         key="target")
    every, last = ((B, L), (B,)) if batched else ((L,), ())
    if lab.shape not in (every, last):
        raise ShapeError(f"got shape {lab.shape}, expected {every} (a label per step) or {last} "
                         "(the last step only) for loss='xent'", key="target")
    lab = lab.astype(np.int64)
    bad = (lab < UNLABELLED) | (lab >= n_out)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidValueError(f"label {int(lab[where])} at index {where} is outside [0, {n_out}) "
                                f"(n_out={n_out}); use -1 for an unlabelled step", key="target")
    if not (lab >= 0).any():
        raise InvalidValueError("every label is -1, expected at least one labelled step for loss='xent'", key="target")
    if n_out == 1:
        warnings.warn("loss='xent' with n_out=1: a softmax over one class is constant, so the loss is 0 "
                      "and every gradient vanishes", ClocksimWarning, stacklevel=4)
    if lab.shape == every:
        return np.ascontiguousarray((lab if batched else lab[None]).T)  # (L, B)
    out = np.full((L, B), UNLABELLED, dtype=np.int64)
    out[L - 1] = lab if batched else lab[None]
    return out


def _xent_value(logp: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, int]:
    """Mean of ``-log p(label)`` over the labelled steps; also the labelled mask (L, B) and its count."""
    labelled = target >= 0
    count = int(labelled.sum())
    picked = np.take_along_axis(logp, np.maximum(target, 0)[..., None], axis=-1)[..., 0]   # (L, B)
    return float(-np.sum(picked[labelled]) / count), labelled, count


def _log_softmax(a: np.ndarray) -> np.ndarray:
    shifted = a - a.max(axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _recurrence_grads(model: ClockworkRNN, plan: Plan, Zf: np.ndarray, B: int, L: int, active: np.ndarray,
                      dAf: np.ndarray, order: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dL/d[W_rec | W_in]`` (n, m), ``dL/db`` and ``dL/dh0`` by the BPTT kernel of ``order``."""
    n, m = plan.n, plan.m
    W = _dense_weights(model, plan)                                    # (n, m) [W_rec | W_in]
    dt = plan.dtype                                                    # the model's dtype (DESIGN section 12)
    gW, gb, gh0 = np.empty((n, m), dt), np.empty(n, dt), np.empty(n, dt)
    args = (Zf, L, B, m, n, np.ascontiguousarray(active), plan.table, W.reshape(-1), plan.act,
            plan.W_out.reshape(-1), dAf, gW.reshape(-1), gb, gh0)
    if order == MODULE_MAJOR:
        MB.backward_module_major(*args, MB.block_steps(B, m + n))
    else:
        K.backward_sequence(*args)
    return gW, gb, gh0


def _dense_weights(model: ClockworkRNN, plan: Plan) -> np.ndarray:
    """``[W_rec | W_in]`` as one C-ordered (n, plan.m) array, built once per parameter version.

    With buffered inputs a module's ``W_in`` rows sit over its own input columns (zeros elsewhere).
    """
    cached = model.__dict__.get("_grad_dense_cache")
    if cached is not None and cached[0] == model.version:
        return cached[1]
    p = model.params
    n, n_in = model.n, model.n_in
    W = np.zeros((n, plan.m), plan.dtype)
    W[:, :n] = p["W_rec"]
    for i in range(model.g):
        rows, x0 = model.rows(i), n + plan.x_offset(i)
        W[rows, x0:x0 + n_in] = p["W_in"][rows]
    model.__dict__["_grad_dense_cache"] = (model.version, W)
    return W
