"""The Clockwork RNN: module sizes, clocks, connectivity and parameters.

Semantics (Koutník et al. 2014; ``docs/concepts.md`` explains them with pictures).
The hidden state ``h`` (``n`` units) is split into ``g`` modules, given fastest
first; module ``i`` owns rows ``R_i`` and a clock. At step ``t`` an *active*
module computes, from the state of step ``t - 1``::

    h[R_i](t) = f_H(W_rec[R_i, :] @ h(t-1) + W_in[R_i, :] @ x(t) + b[R_i])

and an inactive one keeps ``h[R_i](t) = h[R_i](t-1)``; ``h(start - 1) = h0``.
Every step ``y(t) = f_O(W_out @ h(t) + b_out)``.

``block_mask[i, j]`` says that module ``j`` feeds module ``i``; entries of
``W_rec`` outside the mask are zero and stay zero. With the paper's
``"slow-to-fast"`` wiring module ``i`` reads every module ``j >= i`` (itself and
all slower ones): block-upper-triangular with column vectors.

``input_mode`` (one per module) says which ``x`` an active module reads: ``"latest"``
(the paper) reads ``x(t)``; a *buffered* mode (``"mean"``, ``"sum"``, ``"max"``) reads
that reduction, elementwise, over the input samples of its window: the steps after
its previous firing up to and including ``t`` (its first firing: from the run's first
step). ``docs/concepts.md`` ("Input buffering") gives the exact boundary rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validate import as_array, as_int
from .clocks import MAX_STEP, Clock, activity_mask, as_clock, check_fastest_first
from ..errors import InvalidValueError, ShapeError
from ..limits import check_memory
from .params import ParameterSet, as_dtype, weight_count

__all__ = ["ClockworkRNN", "HIDDEN_ACTIVATIONS", "OUTPUT_ACTIVATIONS", "CONNECTIVITIES", "INPUT_MODES"]

HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
OUTPUT_ACTIVATIONS = ("linear", "tanh", "sigmoid", "softmax")
CONNECTIVITIES = ("slow-to-fast", "dense")
INPUT_MODES = ("latest", "mean", "sum", "max")   # "latest": the paper; the others buffer the input
INIT_STD = 0.1  # the paper: weights ~ N(0, 0.1^2)


class ClockworkRNN(ParameterSet):
    """A Clockwork RNN with clocked modules.

    Parameters
    ----------
    n_in : int
        Input size (0 allowed: a generator driven by its own state).
    n_out : int
        Output size, >= 1.
    module_sizes : int or sequence of int, shape (g,)
        Units per module, fastest module first; an int gives every module that size.
    clocks : sequence of (int or Clock), shape (g,)
        One clock per module; an int is a :class:`~clocksim.Periodic` period.
    connectivity : {"slow-to-fast", "dense"} or bool array, shape (g, g)
        Which modules feed which: ``mask[i, j]`` is "module j feeds module i".
    activation : {"tanh", "sigmoid", "relu", "linear"}
        Hidden activation ``f_H``.
    output_activation : {"linear", "tanh", "sigmoid", "softmax"}
        Output activation ``f_O``.
    start : int, default 0
        Number of the first step: the s-th input is step ``start + s``.
    seed : int or numpy.random.Generator, default 0
        Seeds the paper's initialisation (weights N(0, 0.1^2), biases and h0 zero).
    input_mode : str or sequence of str, shape (g,), default "latest"
        What an active module reads as its input, one mode for all modules or one per
        module: ``"latest"`` (the paper: the sample of the step it fires), or the
        elementwise ``"mean"``, ``"sum"`` or ``"max"`` of the samples that arrived since
        its previous firing (*input buffering*; see ``docs/concepts.md``).
    dtype : {"float64", "float32"}, default "float64"
        What the model computes in (DESIGN section 12): parameters, the engines' work arrays, the
        outputs ``y``/``h`` and the gradients. float64 is the exact reference; float32 is about twice
        as fast, agrees with it to about 1e-5 relative on the outputs, and both engines still agree bit
        for bit at it. Inputs are cast to it as they are read. The paper's initialisation is drawn in
        float64 and rounded, so a float32 model is ``model.astype("float32")`` of the float64 one.

    Examples
    --------
    >>> model = ClockworkRNN(n_in=1, n_out=1, module_sizes=[2] * 4, clocks=[1, 2, 4, 8], start=1)
    >>> model.activity(8).sum(axis=0).tolist()       # firings of M1..M4 over steps 1..8
    [8, 4, 2, 1]
    >>> model.inputs_of(1)                          # slow-to-fast: module 1 reads itself and slower ones
    [1, 2, 3]
    """

    #: The model-kind interface (:class:`clocksim.model.kind.ModelKind`): simulated by the engines.
    kind = "cwrnn"
    simulated = True
    initial_state = ("h0",)

    def __init__(self, n_in: int, n_out: int, module_sizes, clocks: Sequence,
                 connectivity="slow-to-fast", activation: str = "tanh",
                 output_activation: str = "linear", start: int = 0, seed=0, input_mode="latest",
                 dtype="float64"):
        self.dtype = as_dtype(dtype)
        self.n_in = as_int("n_in", n_in, minimum=0)
        self.n_out = as_int("n_out", n_out, minimum=1)
        if isinstance(clocks, (str, bytes)) or not isinstance(clocks, Sequence) or len(clocks) == 0:
            raise InvalidValueError(f"got {clocks!r}, expected a non-empty list of periods or Clock objects",
                                    key="clocks")
        check_memory(param_bytes(self.n_in, self.n_out, len(clocks), len(clocks)), "clocks",
                     "the model's parameters and masks")
        self.clocks: tuple[Clock, ...] = tuple(as_clock(c, f"clocks[{i}]") for i, c in enumerate(clocks))
        g = len(self.clocks)
        for i, clock in enumerate(self.clocks):
            channels = getattr(clock, "channels", None) if clock.input_driven else None
            if channels and max(channels) >= self.n_in:
                raise InvalidValueError(key=f"clocks[{i}].channels", value=max(channels),
                                        expected=f"input channels below n_in = {self.n_in}")
        if isinstance(module_sizes, (int, np.integer)) and not isinstance(module_sizes, bool):
            module_sizes = [module_sizes] * g
        if isinstance(module_sizes, (str, bytes)) or not isinstance(module_sizes, (Sequence, np.ndarray)):
            raise InvalidValueError(f"got {module_sizes!r}, expected a list of positive integers", key="module_sizes")
        self.module_sizes = tuple(as_int(f"module_sizes[{i}]", k, minimum=1) for i, k in enumerate(module_sizes))
        if len(self.module_sizes) != g:
            raise InvalidValueError(
                f"got {len(self.module_sizes)} sizes for {g} clocks, expected one size per module", key="module_sizes"
            )
        check_memory(param_bytes(self.n_in, self.n_out, sum(self.module_sizes), g), "module_sizes",
                     "the model's parameters and masks")
        self.activation = _choice("activation", activation, HIDDEN_ACTIVATIONS)
        self.output_activation = _choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
        self.start = as_int("start", start, minimum=0)
        if self.start > MAX_STEP // 2:
            raise InvalidValueError(key="start", value=self.start,
                                    expected="at most 2**52 (step times are float64 numbers)")
        self.input_mode = self._build_input_modes(input_mode)
        self.offsets = np.concatenate([[0], np.cumsum(self.module_sizes)]).astype(np.int64)
        self.offsets.setflags(write=False)
        self.connectivity, self.block_mask = self._build_block_mask(connectivity)
        ks = np.asarray(self.module_sizes)
        self.mask = np.repeat(np.repeat(self.block_mask, ks, axis=0), ks, axis=1)
        self.mask.setflags(write=False)
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self._params: dict[str, np.ndarray] = {}
        self.version = 0  # bumped by every parameter change; engines key caches on it
        self._init_params(seed)

    # ------------------------------------------------------------------ structure
    @property
    def g(self) -> int:
        """Number of modules."""
        return len(self.module_sizes)

    @property
    def n(self) -> int:
        """Number of hidden units."""
        return int(self.offsets[-1])

    @property
    def periods(self) -> tuple[float, ...]:
        """Nominal period of each module's clock."""
        return tuple(c.nominal_period for c in self.clocks)

    @property
    def synchronous(self) -> bool:
        """True when every clock fires on integer steps only."""
        return all(c.synchronous for c in self.clocks)

    def rows(self, i: int) -> slice:
        """Rows of ``h`` that module ``i`` owns."""
        i = self._module("i", i)
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def inputs_of(self, i: int) -> list[int]:
        """Modules that feed module ``i`` (its block-row of ``W_rec``)."""
        i = self._module("i", i)
        return [int(j) for j in np.flatnonzero(self.block_mask[i])]

    def receivers_of(self, j: int) -> list[int]:
        """Modules that read module ``j`` (the messages it sends)."""
        j = self._module("j", j)
        return [int(i) for i in np.flatnonzero(self.block_mask[:, j])]

    def activity(self, n_steps: int, x: np.ndarray | None = None) -> np.ndarray:
        """Boolean ``(n_steps, g)`` mask; row ``s`` is step ``start + s`` (synchronous clocks).

        ``x`` (B, n_steps, n_in) is needed when a clock depends on the input.
        """
        if x is None and any(c.input_driven for c in self.clocks):
            bad = [c.label for c in self.clocks if c.input_driven]
            raise InvalidValueError(f"clocks {', '.join(bad)} depend on the input; pass x=(B, L, n_in) inputs", key="x")
        return activity_mask(self.clocks, n_steps, self.start, x)

    @property
    def buffered(self) -> tuple[int, ...]:
        """Modules whose input mode buffers the input (every mode but ``"latest"``), in order."""
        return tuple(i for i, mode in enumerate(self.input_mode) if mode != "latest")

    def _build_input_modes(self, input_mode) -> tuple[str, ...]:
        g = self.g
        if isinstance(input_mode, str):
            return (_choice("input_mode", input_mode, INPUT_MODES),) * g
        if not isinstance(input_mode, (Sequence, np.ndarray)) or len(input_mode) != g:
            raise InvalidValueError(f"got {input_mode!r}, expected one of {', '.join(map(repr, INPUT_MODES))} "
                                    f"or a list of {g}, one per module", key="input_mode")
        return tuple(_choice(f"input_mode[{i}]", m, INPUT_MODES) for i, m in enumerate(input_mode))

    def module_label(self, i: int) -> str:
        """``"M3 T=4"``: 1-based module name as in the paper, with its clock."""
        i = self._module("i", i)
        return f"M{i + 1} {self.clocks[i].label}"

    def _module(self, name: str, i) -> int:
        """``i`` as a module number ``0 <= i < g`` (a plain int in range passes at once: engines call this)."""
        if type(i) is int and 0 <= i < self.g:
            return i
        i = as_int(name, i)
        if not 0 <= i < self.g:
            raise InvalidValueError(f"got {i}, expected a module number 0 <= {name} < {self.g}", key=name)
        return i

    def _build_block_mask(self, connectivity) -> tuple[str, np.ndarray]:
        g = self.g
        if isinstance(connectivity, str):
            kind = _choice("connectivity", connectivity, CONNECTIVITIES + ("custom",))
            if kind == "custom":
                raise InvalidValueError("'custom' needs the (g, g) boolean mask itself", key="connectivity")
            if kind == "dense":
                mask = np.ones((g, g), dtype=bool)
            else:
                check_fastest_first(self.clocks, "clocks", "reorder module_sizes and clocks together, "
                                    "or pass connectivity='dense' or a custom (g, g) mask")
                mask = np.triu(np.ones((g, g), dtype=bool))
        else:
            arr = as_array("connectivity", connectivity)
            if arr.shape != (g, g):
                raise ShapeError(
                    f"got an array of shape {arr.shape}, expected ({g}, {g}) for {g} modules", key="connectivity")
            if arr.dtype != bool:
                if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
                    raise ShapeError(f"got an array of dtype {arr.dtype}, expected booleans (or 0/1)",
                                     key="connectivity")
                arr = arr.astype(bool)
            kind, mask = "custom", arr.copy()
        mask.setflags(write=False)
        return kind, mask

    # ------------------------------------------------------------------ parameters
    def _init_params(self, seed) -> None:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(
            as_int("seed", seed, minimum=0))
        n, n_in, n_out = self.n, self.n_in, self.n_out
        params = {
            "W_in": rng.normal(0.0, INIT_STD, (n, n_in)),
            "W_rec": rng.normal(0.0, INIT_STD, (n, n)) * self.mask,
            "b": np.zeros(n),
            "W_out": rng.normal(0.0, INIT_STD, (n_out, n)),
            "b_out": np.zeros(n_out),
            "h0": np.zeros(n),
        }
        self._assign(params)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Expected shape of each parameter array."""
        n, n_in, n_out = self.n, self.n_in, self.n_out
        return {"W_in": (n, n_in), "W_rec": (n, n), "b": (n,), "W_out": (n_out, n), "b_out": (n_out,), "h0": (n,)}

    @property
    def n_params(self) -> int:
        """Trainable weights and biases (:func:`clocksim.params.weight_count`): W_in, W_rec inside the mask,
        b, W_out, b_out. Not h0 and not the clock periods (:func:`clocksim.budget_params` adds those)."""
        return weight_count(self.n, self.n_in, self.n_out, int(self.mask.sum()))

    def _check_params(self, new: dict[str, np.ndarray]) -> None:
        if "W_rec" not in new:
            return
        W_rec = new["W_rec"]
        outside = (W_rec != 0) & ~self.mask
        if outside.any():
            r, c = np.argwhere(outside)[0]
            i = int(np.searchsorted(self.offsets, r, side="right") - 1)
            j = int(np.searchsorted(self.offsets, c, side="right") - 1)
            raise InvalidValueError(
                f"non-zero entry {W_rec[r, c]:g} at ({r}, {c}) means module {j} ({self.clocks[j].label}) "
                f"feeds module {i} ({self.clocks[i].label}), which {self.connectivity!r} connectivity forbids; "
                "entries outside model.mask must be 0", key="W_rec"
            )

    def __repr__(self) -> str:
        clocks = ", ".join(c.label for c in self.clocks)
        return (f"ClockworkRNN(n_in={self.n_in}, n_out={self.n_out}, module_sizes={list(self.module_sizes)}, "
                f"clocks=[{clocks}], connectivity={self.connectivity!r}, start={self.start}"
                + (f", input_mode={list(self.input_mode)}" if self.buffered else "")
                + (f", dtype={self.dtype!r}" if self.dtype != "float64" else "") + ")")


def param_bytes(n_in: int, n_out: int, n: int, g: int) -> int:
    """Bytes the arrays of a model with ``n`` units in ``g`` modules take (W_rec and its mask, W_in,
    W_out, biases, the block mask): checked before they are built."""
    return 9 * n * n + 8 * n * (n_in + n_out + 2) + 8 * n_out + g * g


def _choice(name: str, value, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise InvalidValueError(f"got {value!r}, expected one of {', '.join(repr(o) for o in options)}", key=name)
    return value
