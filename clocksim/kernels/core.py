"""Pure @njit kernels shared by every engine (no clocksim imports but the errors; sizes checked once per call).

Both engines call the *same* kernels, so they agree bit for bit: ``fastmath`` is
off everywhere. The forward block products (:func:`gemm_rows`) are SIMD tiles written
in LLVM IR that sum every element in one fixed order, whatever the batch, shape or
strides; the backward pass's products go to BLAS's GEMM (the one scipy ships, which
numba also uses), called directly through its Fortran entry point so that strided
blocks need no copies.

Layout (batch-major). A run keeps a work array ``Z`` of shape ``(L+1, B, m)``,
``m = n + n_in``: row ``(s, q)`` holds ``[h(start+s-1) | x(start+s)]`` of
sequence ``q`` (``Z[0, :, :n] = h0``). A module's rows and the units a
slow-to-fast (or dense) module reads are contiguous within a row, so one
activation of module ``i`` over the whole batch is one product::

    Z[s+1, :, r0:r1] = f(Z[s, :, lo:hi] @ W_i.T + b[r0:r1])      # (B, k_i)

A *plan* describes the modules: an int64 table of shape ``(g, 7)`` with columns
``r0, r1`` (rows the module owns), ``lo, hi`` (contiguous columns of a ``Z`` row it
reads, or ``lo = -1`` when the set is not contiguous; it is then listed in
``gidx[g0:g1]`` and gathered first), ``w0`` (offset of the module's weight block
in ``wflat``), ``g0, g1``. A weight block is the module's rows of
``[W_rec | W_in]`` restricted to the columns it reads, C-ordered ``(k_i, c_i)``; for a module
whose reads start with its own rows (``lo == r0``) it is stored split, its diagonal block
``(k_i, k_i)`` then the rest ``(k_i, c_i - k_i)`` (see :func:`diagonal_split`).

``tanh`` is :func:`tanh_scalar`, an exp-based formula accurate to about 2e-16
(absolute) written without libm calls, so loops over it vectorise (libm's tanh
costs ~18 ns an element and does not).
"""

import importlib.machinery
import importlib.util
import math
import sys
from pathlib import Path

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.registry import CPUDispatcher
from numba.extending import get_cython_function_address, intrinsic

from ..errors import KernelBoundsError

ACT_LINEAR = 0
ACT_TANH = 1
ACT_SIGMOID = 2
ACT_RELU = 3
ACT_SOFTMAX = 4
ACT_NONE = -1      # module_update: the product only (the caller adds the bias and applies the activation)

P_R0, P_R1, P_LO, P_HI, P_W0, P_G0, P_G1 = range(7)
PLAN_COLUMNS = 7

#: NUMBA_DISABLE_JIT=1: every kernel runs as plain Python (numpy bounds-checks each index), the
#: intrinsics (LLVM IR, which exists only compiled) replaced by their :func:`python_twin`.
JIT_OFF = bool(numba.config.DISABLE_JIT)


def wide_registers() -> bool:
    """Whether the CPU the kernels compile for has 32 vector registers (AVX-512), not 16 (AVX2 and older).

    Read from the features numba compiles for: ``NUMBA_CPU_FEATURES`` when set (a portable build, as
    numba's own AOT options), else the host's, as LLVM reports them. Only the speed of a tile shape depends
    on it, never a result's bits (every tile sums in :func:`gemm_rows`'s one order).
    """
    features = numba.config.CPU_FEATURES
    if features:
        return "+avx512f" in features.split(",")
    return bool(llvm.get_host_cpu_features().get("avx512f", False))


_JIT = dict(cache=True, error_model="numpy", fastmath=False, no_cfunc_wrapper=True)
# Compile time (issue 16: the first run compiles what it needs, nothing else). Kernels call each
# other as ordinary jitted functions, not ``inline="always"``: numba's IR inlining copies and
# re-types the callee at every call site (it was most of a cold start). The exceptions are the
# small kernels of :func:`inlined`: LLVM does not inline a cached callee either, and a call handing
# it arrays costs an atomic reference count increment and decrement per array. A jitted callee
# is compiled once per argument-type signature, and a constant argument is typed as a literal (``Literal[int](0)``), which makes a
# signature of its own: callers pass constants as ``np.int64(...)``, typed plain int64.
# No kernel gets numba's C-callable wrapper (``no_cfunc_wrapper``: nothing takes its address),
# and a kernel that only other kernels call gets no Python entry point either (:func:`inner`):
# building and compiling those wrappers was a third of a small kernel's compile time.


class _InnerKernel(CPUDispatcher):
    """A dispatcher compiled without a Python entry point, for calls from other kernels.

    A call from Python (a test, a user exploring) runs the same function compiled once more with
    an entry point, uncached: numba's cache does not tell the two compilations apart.
    """

    def __call__(self, *args, **kwargs):
        if self.from_python is None:
            self.from_python = njit(**dict(_JIT, cache=False))(self.py_func)
        return self.from_python(*args, **kwargs)


def inner(fn):
    """``@njit(**_JIT)`` for a kernel that only other kernels call: compiled without a Python entry
    point, which saves a third of a small kernel's compile time (see :class:`_InnerKernel`)."""
    if JIT_OFF:
        return fn
    kernel = njit(no_cpython_wrapper=True, **_JIT)(fn)
    kernel.__class__ = _InnerKernel
    kernel.from_python = None
    return kernel


def inlined(fn):
    """``@njit(inline="always", **_JIT)`` for a small kernel that only other kernels call: numba inlines it
    into each caller. Called as a function, a kernel handed arrays costs an atomic reference count
    increment and decrement per array (NRT_incref/decref; ``activate_sync``'s code held 36 decref and 13
    incref call sites): numba does not inline across cached kernels. With the layout sealed, inlining the
    checks took the synchronous event path from 4,806 to 4,684 instructions per kernel call, and the records
    and copies to 4,537 (callgrind, ``benchmarks/count_instructions.py``'s method). Only small kernels are
    inlined (the bounds checks, the event records; copies through :func:`inlined_variant`): IR inlining
    re-types the callee at each call site, which costs compile time."""
    if JIT_OFF:
        return fn
    return njit(inline="always", **_JIT)(fn)


def inlined_variant(kernel):
    """An :func:`inner` ``kernel`` as :func:`inlined`, where a call's reference counts cost more than the work:
    the event kernels' per-activation path, and ``copy_into`` in :func:`run_sequence`'s step loop. There LLVM
    inlines the call by itself when the bounds checks are stripped, and did not with their raise paths in
    the function: the checks then cost 164 instructions per step of a B = 1 forward (2.3 % of the kernel; replays
    under callgrind), 8 once inlined (0.1 %). ``bias_activate`` keeps the call: inlined too, it made the same
    forward 1.5x slower (LLVM's choices for the step loop changed). Not cached: it is only ever inlined into
    its callers, which are."""
    if JIT_OFF:
        return kernel
    return njit(inline="always", **dict(_JIT, cache=False))(kernel.py_func)


def python_twin(twin):
    """Decorator: with the JIT off (:data:`JIT_OFF`) the kernel or intrinsic below is replaced by ``twin``, a
    plain Python/numpy function computing the same values (an intrinsic is LLVM IR: it cannot run as Python)."""
    def use(kernel):
        return twin if JIT_OFF else kernel
    return use


def _operand_itemsize_py(A, W, C):
    """:func:`operand_itemsize` with the JIT off: the same refusal, at run time."""
    if A.dtype != C.dtype or W.dtype != C.dtype:
        raise KernelBoundsError("products", "dtype", C.itemsize, A.itemsize if A.dtype != C.dtype else W.itemsize)
    return C.itemsize


@python_twin(_operand_itemsize_py)
@intrinsic
def operand_itemsize(typingctx, A, W, C):
    """Bytes per value of the three operands of a product (8 for float64, 4 for float32), a compile-time
    constant. The tiles and BLAS read every operand as ``C``'s dtype, so operands of different dtypes do
    not compile (a numba typing error, before any memory is read): the check costs nothing per call and
    leaves no raise path in the product kernels, which every activation calls twice."""
    arrays = (A, W, C)
    if not all(isinstance(t, types.Array) for t in arrays) or not A.dtype == W.dtype == C.dtype:
        return None
    sig = types.intp(A, W, C)

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(sig.args[2].dtype)))
    return sig, codegen


# ---------------------------------------------------------------- bounds checks
# Every jitted entry point checks, once per call and before touching memory, that the sizes and
# offsets it is given fit the arrays' real extents, and raises KernelBoundsError (the kernel, the
# argument, the extent needed and the one it has) instead. Checks are a few integer comparisons
# outside the loops (O(g) for a whole-sequence kernel, O(1) plus a module's gather list for an activation).
#: What :func:`plan_row_fault` names, by its code.
PLAN_FAULTS = ("", "plan", "b", "wflat", "gidx", "scratch")


@inlined
def plan_row_fault(plan, i, n, m, wlen, gidx, scratch_len, B):
    """Whether row ``i`` of a plan fits: its rows within the ``n`` states, its reads within a row of width
    ``m``, its weight block within ``wflat`` (``wlen``), its gather list within ``gidx`` (entries < m) and
    its gathered reads within ``scratch_len`` values (``B`` sequences; ``scratch_len < 0``: not checked).

    Returns ``(code, needed, got)``: code 0 when it fits, else the index into PLAN_FAULTS of the
    argument found too small.
    """
    if i < 0 or i >= plan.shape[0] or plan.shape[1] < PLAN_COLUMNS:
        return 1, max(i, PLAN_COLUMNS - 1) + 1, min(plan.shape[0], plan.shape[1])
    r0 = plan[i, P_R0]
    r1 = plan[i, P_R1]
    if r0 < 0 or r1 < r0 or r1 > n:
        return 2, r1, n
    lo = plan[i, P_LO]
    if lo >= 0:
        hi = plan[i, P_HI]
        if hi < lo or hi > m:
            return 1, hi, m
        c = hi - lo
    else:
        g0 = plan[i, P_G0]
        g1 = plan[i, P_G1]
        if g0 < 0 or g1 < g0 or g1 > gidx.shape[0]:
            return 4, g1, gidx.shape[0]
        for p in range(g0, g1):
            if gidx[p] < 0 or gidx[p] >= m:
                return 1, gidx[p] + 1, m
        c = g1 - g0
        if scratch_len >= 0 and B * c > scratch_len:
            return 5, B * c, scratch_len
    w0 = plan[i, P_W0]
    if w0 < 0 or w0 + (r1 - r0) * c > wlen:
        return 3, w0 + (r1 - r0) * c, wlen
    return 0, 0, 0


# ---------------------------------------------------------------------- BLAS
# scipy's BLAS through its Fortran ABI (every argument by reference). The
# functions are registered as named symbols, so code that calls them can be cached.
_CYTHON_BLAS = "scipy.linalg.cython_blas"


def _load_cython_blas() -> None:
    """Import scipy's ``cython_blas`` extension without the ``scipy.linalg`` package around it.

    Importing the package runs its ``__init__`` (all of scipy.linalg: 0.1 s, a tenth of a warm
    run) for one function address. The module is registered under its own name, so a later
    ``import scipy.linalg.cython_blas`` (numba's, scipy's) finds it and does not load it twice;
    when the file is not where scipy keeps it, the ordinary import runs.
    """
    if _CYTHON_BLAS in sys.modules:
        return
    folder = Path(importlib.util.find_spec("scipy").submodule_search_locations[0], "linalg")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"cython_blas{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(_CYTHON_BLAS, str(path))
            module = importlib.util.module_from_spec(importlib.util.spec_from_loader(_CYTHON_BLAS, loader))
            sys.modules[_CYTHON_BLAS] = module
            loader.exec_module(module)
            return


_load_cython_blas()
llvm.add_symbol("clocksim_dgemm", get_cython_function_address(_CYTHON_BLAS, "dgemm"))
llvm.add_symbol("clocksim_sgemm", get_cython_function_address(_CYTHON_BLAS, "sgemm"))
_vp = types.voidptr
_dgemm = types.ExternalFunction("clocksim_dgemm", types.void(*([_vp] * 13)))
_sgemm = types.ExternalFunction("clocksim_sgemm", types.void(*([_vp] * 13)))   # the same arguments, float32
_N, _T = ord("N"), ord("T")


def _by_ref(llvm_type):
    @intrinsic
    def ref(typingctx, value):
        sig = types.voidptr(value)

        def codegen(context, builder, sig, args):
            val = context.cast(builder, args[0], sig.args[0], llvm_type)
            ptr = cgutils.alloca_once_value(builder, val)
            return builder.bitcast(ptr, cgutils.voidptr_t)
        return sig, codegen
    return ref


_i32 = _by_ref(types.int32)      # pointer to a stack int32 holding the value
_f64 = _by_ref(types.float64)
_f32 = _by_ref(types.float32)
_chr = _by_ref(types.uint8)


# ---------------------------------------------------------------- SIMD products
# The forward products (``gemm_rows``) are written in LLVM IR rather than sent to BLAS. Numba with
# fastmath off cannot vectorise a dot product (that would reorder its sum); BLAS's GEMV costs
# ~60-100 ns per call before any arithmetic, more than the arithmetic of a small module; BLAS's
# GEMM packs both operands at every call, which at a module's shape (B = 32, 64 x 544) left it at
# about 0.7 of a large GEMM's rate; and BLAS's summation order depends on the call's shape. Every
# output element is summed here in one fixed order, whatever the shape, strides or tiling:
#
#   out[q, a] = tree(lanes) + tail,  lanes[l] = sum over j = l (mod V), j < cV, of W[a, j] z[q, j]
#   tree(lanes) = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))      (V = 8 lanes: float64)
#   tree(lanes) = tree8(l0 + l8, l1 + l9, ..., l7 + l15)                (V = 16 lanes: float32)
#   tail = sum over j = cV .. c-1 of W[a, j] z[q, j]        (cV = c rounded down to a multiple of V)
#
# so one sequence gives the same bits alone or in any batch, and in either engine. V follows the dtype,
# never the CPU: 64 bytes of either (a float32 vector of 8 lanes left half of each AVX-512 register, and
# of each pair of AVX2 ones, idle). A *tile* computes
# ``nq`` rows of z against ``nr`` rows of W at once (``nq * nr`` vector accumulators), loading each
# vector of z and of W once per V columns. No multiply-add contraction: every product is rounded.

LANES = 8                    # float64 (lanes_for)
LANES_F32 = 16


def lanes_for(dtype) -> int:
    """Lanes of the products' partial sums for a numpy or numba float dtype: 64 bytes of values."""
    return LANES_F32 if np.dtype(str(dtype)) == np.float32 else LANES


# The tiles' shapes follow the core's vector register file (never the bits: every tile sums in the one
# order above). Timed on an AMD Zen 5 (B = 32, 8 x 64 units, L = 512, and B = 1, 8 x 16 units, L = 4096),
# compiled for it and for an AVX2 core (Haswell: NUMBA_CPU_NAME, in a cache of its own):
# - 32 registers (AVX-512): 4 x 4 (16 accumulators of 64 bytes, 8 loads per 32 vector products) and 1 x 8;
#   2 x 2 and 1 x 4 ran 1.6x (B = 32) and 1.09x (B = 1) slower;
# - 16 registers (AVX2): 2 x 2 and 1 x 4; 4 x 4 and 1 x 8 spill and ran 1.5x (B = 32) and 1.2x (B = 1) slower.
#: Whether the kernels compile for a core with 32 vector registers (:func:`wide_registers`).
WIDE_REGISTERS = wide_registers()
TILE_Q = TILE_R = 4 if WIDE_REGISTERS else 2    # the main tile: TILE_Q sequences x TILE_R rows of W
TILE_R1 = 8 if WIDE_REGISTERS else 4            # a single sequence: TILE_R1 rows of W share each load of z
# Three tile shapes only: each is unrolled IR that LLVM optimises again in every kernel that calls
# gemm_rows, so every extra shape costs compile time (a 4 x 1 and a 1 x 4 tile cost ~0.3 s of a cold start).
PANEL_DOUBLES = 32768        # sequences are taken in panels of about this many read values (256 kB: in L2)
READOUT_ROWS = 64            # run_sequence reads out every max(1, READOUT_ROWS // B) steps


def _tree(builder, v):
    """``((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`` by halving the vector (16 lanes: first
    ``l0 + l8, ..., l7 + l15``)."""
    i32 = ir.IntType(32)

    def take(x, idx):
        return builder.shuffle_vector(x, x, ir.Constant(ir.VectorType(i32, len(idx)), idx))

    if v.type.count == LANES_F32:
        v = builder.fadd(take(v, list(range(8))), take(v, list(range(8, 16))))

    s4 = builder.fadd(take(v, [0, 1, 2, 3]), take(v, [4, 5, 6, 7]))       # l0+l4, l1+l5, l2+l6, l3+l7
    s2 = builder.fadd(take(s4, [0, 1]), take(s4, [2, 3]))                 # (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
    return builder.fadd(*(builder.extract_element(s2, ir.Constant(i32, i)) for i in (0, 1)))


def _fma_of(builder, ty):
    """LLVM's ``llvm.fma`` for ``ty`` (``double``, ``float`` or a vector of them): ``a * b + c`` rounded once,
    in every lane. It is exact IEEE semantics, not a fastmath licence: the FMA instruction where the core
    has one (every x86-64 core since Haswell, every AArch64 core), libm's ``fma`` where it has not."""
    elem = ty.element if isinstance(ty, ir.VectorType) else ty
    suffix = "f64" if isinstance(elem, ir.DoubleType) else "f32"
    name = f"llvm.fma.v{ty.count}{suffix}" if isinstance(ty, ir.VectorType) else f"llvm.fma.{suffix}"
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty] * 3), name)


def _tile(nq, nr, add_to=False):
    """An intrinsic ``tile(like, w, z, lda, out, ldc, c)`` (``like`` an array of the operands' dtype, then
    addresses and sizes, all intp) computing ``out[t * ldc + r] = sum_j W[r, j] z[t * lda + j]`` for t < nq,
    r < nr; W row-major ``(nr, c)``. With ``add_to`` the sum is added to what ``out`` holds: ``out = out + sum``
    (one rounding). ``like``'s dtype (float64 or float32) picks the LLVM type: numba compiles one tile per
    dtype, the same IR over ``double`` (8 lanes) or ``float`` (16 lanes: :func:`lanes_for`).

    Every multiply-add of a lane and of the tail is fused (:func:`_fma_of`, one rounding; :func:`fma_exact`
    is its twin): a core with separate multiply and add pipes loses nothing, and one whose vector units
    each do one operation a cycle (Intel's AVX-512 cores) does the work in half the operations."""

    @intrinsic
    def tile(typingctx, like, w_addr, z_addr, lda, out_addr, ldc, c):
        if not isinstance(like, types.Array) or like.dtype not in (types.float64, types.float32):
            return None
        sig = types.void(like, *([types.intp] * 6))

        def codegen(context, builder, sig, args):
            intp = context.get_value_type(types.intp)
            dbl = context.get_value_type(sig.args[0].dtype)          # ir.DoubleType() or ir.FloatType()
            size = context.get_abi_sizeof(dbl)
            lanes = lanes_for(sig.args[0].dtype)
            vec = ir.VectorType(dbl, lanes)
            vptr = vec.as_pointer()
            vfma, sfma = _fma_of(builder, vec), _fma_of(builder, dbl)
            _, w_addr, z_addr, lda, out_addr, ldc, c = args
            W, Z, O = (builder.inttoptr(a, dbl.as_pointer()) for a in (w_addr, z_addr, out_addr))
            zs = [builder.gep(Z, [builder.mul(ir.Constant(intp, t), lda)]) for t in range(nq)]
            os_ = [builder.gep(O, [builder.mul(ir.Constant(intp, t), ldc)]) for t in range(nq)]
            ws = [builder.gep(W, [builder.mul(ir.Constant(intp, r), c)]) for r in range(nr)]
            c8 = builder.and_(c, ir.Constant(intp, -lanes))
            acc = [[cgutils.alloca_once(builder, vec) for _ in range(nr)] for _ in range(nq)]  # registers, after LLVM
            total = [[cgutils.alloca_once(builder, dbl) for _ in range(nr)] for _ in range(nq)]
            for t in range(nq):
                for r in range(nr):
                    builder.store(ir.Constant(vec, [0.0] * lanes), acc[t][r])
            zero, step = ir.Constant(intp, 0), ir.Constant(intp, lanes)
            with cgutils.for_range_slice(builder, zero, c8, step, intp=intp) as (j, _):
                zv = [builder.load(builder.bitcast(builder.gep(z, [j]), vptr), align=size) for z in zs]
                for r in range(nr):
                    wv = builder.load(builder.bitcast(builder.gep(ws[r], [j]), vptr), align=size)
                    for t in range(nq):
                        builder.store(builder.call(vfma, [wv, zv[t], builder.load(acc[t][r])]), acc[t][r])
            for t in range(nq):
                for r in range(nr):
                    builder.store(_tree(builder, builder.load(acc[t][r])), total[t][r])
            with cgutils.for_range_slice(builder, c8, c, ir.Constant(intp, 1), intp=intp) as (j, _):
                zj = [builder.load(builder.gep(z, [j])) for z in zs]
                for r in range(nr):
                    wj = builder.load(builder.gep(ws[r], [j]))
                    for t in range(nq):
                        builder.store(builder.call(sfma, [wj, zj[t], builder.load(total[t][r])]), total[t][r])
            for t in range(nq):
                for r in range(nr):
                    where = builder.gep(os_[t], [ir.Constant(intp, r)])
                    value = builder.load(total[t][r])
                    builder.store(builder.fadd(builder.load(where), value) if add_to else value, where)
            return context.get_dummy_value()

        return sig, codegen
    return tile


_tile_main = _tile(TILE_Q, TILE_R)
_tile_row = _tile(1, TILE_R1)
_tile_1x1 = _tile(1, 1)
_tile_main_add = _tile(TILE_Q, TILE_R, add_to=True)   # gemm_rows_acc's (a flag tested in the tile slowed
_tile_row_add = _tile(1, TILE_R1, add_to=True)         # the plain tiles by up to 1.5x)
_tile_1x1_add = _tile(1, 1, add_to=True)


_SPLIT = 134217729.0           # 2**27 + 1: Veltkamp's splitting constant for float64


def _two_sum(a, b):
    """``(s, e)`` with ``s = a + b`` rounded and ``s + e == a + b`` exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _round_to_odd_sum(a, b):
    """``a + b`` rounded to odd: truncated toward zero, with the last bit set when anything was cut off."""
    s, e = _two_sum(a, b)
    cut = (e != 0) & ((s.view(np.int64) & 1) == 0)          # inexact and the last bit even: move toward e
    return np.where(cut, np.nextafter(s, np.where(e > 0, np.inf, -np.inf)), s)


def fma_exact(a, b, c):
    """``a * b + c`` rounded once (IEEE fused multiply-add), elementwise, in numpy: the JIT-off twin of the
    tiles' ``llvm.fma`` (:func:`_fma_of`), bit for bit, at float64 and float32 (one dtype).

    float64: Boldo and Melquiond's emulation (IEEE Trans. Computers 57(4), 2008): the product split exactly
    (Dekker), ``c`` added to its high part exactly (Knuth), the two low parts summed rounded to odd, and that
    added to the high sum with one rounding to nearest. float32: the product is exact in float64, their sum
    rounded to odd in float64 (53 >= 2 x 24 + 2 bits) rounds to float32 as the exact sum would. Exact
    while no intermediate overflows or falls below 2**-969; infinite or NaN operands, and anything beyond
    those ranges, give ``a * b + c`` as numpy computes it.
    """
    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    if a.dtype == np.float32:
        a64, b64, c64 = a.astype(np.float64), b.astype(np.float64), c.astype(np.float64)
        return _round_to_odd_sum(a64 * b64, c64).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        p = a * b
        ca, cb = _SPLIT * a, _SPLIT * b
        ah = ca - (ca - a)
        bh = cb - (cb - b)
        al, bl = a - ah, b - bh
        pl = ((ah * bh - p) + ah * bl + al * bh) + al * bl    # p + pl == a * b exactly
        uh, ul = _two_sum(c, p)                                # uh + ul == c + p exactly
        out = uh + _round_to_odd_sum(ul, pl)
        plain = a * b + c
    big = np.maximum(np.abs(a), np.abs(b))
    safe = np.isfinite(out) & (big < 2.0 ** 995) & ((a == 0) | (b == 0) | (np.abs(p) >= 2.0 ** -969))
    return np.where(safe, out, plain)


def _block(X, off, rows, cols, ld):
    """The ``(rows, cols)`` block of flat ``X`` from ``off`` with leading dimension ``ld``, indexed (a copy;
    numpy refuses an index past the end)."""
    return X[off + np.arange(rows)[:, None] * ld + np.arange(cols)[None, :]]


def _gemm_rows_py(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, acc=False):
    """:func:`gemm_rows` in numpy with the JIT off, summing each element in the same order (lanes, tree, tail);
    ``acc``: :func:`gemm_rows_acc` (the same sum, then one addition to what ``C`` holds)."""
    out = c_off + np.arange(M)[:, None] * ldc + np.arange(N)[None, :]           # (M, N) indices into C
    if K == 0:
        if not acc:
            C[out] = 0.0
        return
    a = _block(A, a_off, M, K, lda)                                              # (M, K)
    w = _block(W, w_off, N, K, K)                                                # (N, K)
    nl = lanes_for(C.dtype)
    c8 = K - K % nl
    lanes = np.zeros((M, N, nl), dtype=C.dtype)             # float32 stays float32: every multiply-add rounded once
    for j in range(0, c8, nl):
        lanes = fma_exact(w[None, :, j:j + nl], a[:, None, j:j + nl], lanes)
    v = lanes if nl == LANES else lanes[..., :LANES] + lanes[..., LANES:]
    total = ((v[..., 0] + v[..., 4]) + (v[..., 2] + v[..., 6])) + ((v[..., 1] + v[..., 5]) + (v[..., 3] + v[..., 7]))
    for j in range(c8, K):
        total = fma_exact(w[None, :, j], a[:, j, None], total)
    C[out] = C[out] + total if acc else total


def _gemm_rows_acc_py(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc):
    """:func:`gemm_rows_acc` with the JIT off."""
    _gemm_rows_py(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, acc=True)


@python_twin(_gemm_rows_py)
@inner
def gemm_rows(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc):
    """Row-major ``C[M x N] = A[M x K] @ W[N x K].T`` on flat arrays with leading dimensions.

    Every element is summed in the fixed order described above (8 or 16 lanes, a tree, the tail),
    whatever M, N and the strides: a row of ``A`` gives the same bits alone or in any batch.
    Rows of ``A`` are taken in panels that stay in L2 while the rows of ``W`` pass over them.
    K == 0 gives zeros.
    """
    _gemm_rows(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, np.int64(0))


@python_twin(_gemm_rows_acc_py)
@inner
def gemm_rows_acc(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc):
    """``C[M x N] = C + A[M x K] @ W[N x K].T``: :func:`gemm_rows`'s sum (same order), then one addition
    to what ``C`` holds. K == 0 leaves ``C`` as it is."""
    _gemm_rows(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, np.int64(1))


@inner
def _gemm_rows(M, N, K, A, a_off, lda, W, w_off, C, c_off, ldc, acc):
    if K == 0:
        if acc == 0:
            for r in range(M):
                row = C[c_off + r * ldc: c_off + r * ldc + N]
                row[:] = 0.0
        return
    z = operand_itemsize(A, W, C)               # bytes per value: 8 (float64) or 4 (float32), one dtype
    wp = W.ctypes.data + z * w_off
    ap = A.ctypes.data + z * a_off
    cp = C.ctypes.data + z * c_off
    panel = max(TILE_Q, PANEL_DOUBLES // K // TILE_Q * TILE_Q)
    nr = N - N % TILE_R
    for p0 in range(0, M, panel):
        p1 = min(p0 + panel, M)
        pq = p1 - (p1 - p0) % TILE_Q
        for a in range(0, nr, TILE_R):          # tiles of TILE_Q sequences: W's rows pass over the panel
            for q in range(p0, pq, TILE_Q):
                if acc:
                    _tile_main_add(C, wp + z * a * K, ap + z * q * lda, lda, cp + z * (q * ldc + a), ldc, K)
                else:
                    _tile_main(C, wp + z * a * K, ap + z * q * lda, lda, cp + z * (q * ldc + a), ldc, K)
        for q in range(p0, p1):                 # what is left, a sequence at a time
            zq = ap + z * q * lda
            oq = cp + z * q * ldc
            a0 = nr if q < pq else 0
            for a in range(a0, a0 + (N - a0) // TILE_R1 * TILE_R1, TILE_R1):
                if acc:
                    _tile_row_add(C, wp + z * a * K, zq, lda, oq + z * a, ldc, K)
                else:
                    _tile_row(C, wp + z * a * K, zq, lda, oq + z * a, ldc, K)
            for a in range(a0 + (N - a0) // TILE_R1 * TILE_R1, N):
                if acc:
                    _tile_1x1_add(C, wp + z * a * K, zq, lda, oq + z * a, ldc, K)
                else:
                    _tile_1x1(C, wp + z * a * K, zq, lda, oq + z * a, ldc, K)


# ---------------------------------------------------------------- activations
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00


@python_twin(lambda k: math.ldexp(1.0, -int(k)))
@intrinsic
def _exp2_neg(typingctx, k):
    """``2.0 ** -k``, exactly, for an integer 0 <= k <= 1022: the float64 whose exponent field is 1023 - k."""
    sig = types.float64(types.int64)

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        bits = builder.shl(builder.sub(ir.Constant(i64, 1023), args[0]), ir.Constant(i64, 52))
        return builder.bitcast(bits, ir.DoubleType())
    return sig, codegen


@inner
def tanh_scalar(x):
    """tanh(x) from exp(-2|x|) = 2^-k * exp(r), |r| <= ln2/2; branch-free so loops vectorise.

    Always computed, and returned, in float64: a float32 ``x`` gives the float64 tanh of that value (about
    2e-16), which the caller rounds once to float32 on storing it, the same in every engine, JIT on or off.
    """
    a = min(abs(np.float64(x)), 20.0)            # tanh(20) == 1 in float64
    kf = np.floor(2.0 * a * _INV_LN2 + 0.5)      # 0 <= kf <= 58
    r = (kf * _LN2_HI - 2.0 * a) + kf * _LN2_LO  # -2a = -kf*ln2 + r
    p = 1.0 / 6227020800.0                       # exp(r): Taylor series to r^13
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    k = int(kf) if kf == kf else 0               # a NaN x: p is NaN already (int(NaN) raises with the JIT off)
    e = p * _exp2_neg(k)                         # exp(-2a)
    return math.copysign((1.0 - e) / (1.0 + e), x)


@inner
def bias_activate(v, bias, code):
    """``v[:] = f(v + bias)`` in place; v and bias are 1-D of the same length."""
    n = v.shape[0]
    if code == ACT_TANH:
        for a in range(n):
            v[a] = tanh_scalar(v[a] + bias[a])
    elif code == ACT_SIGMOID:                   # in float64 whatever v's dtype (see tanh_scalar)
        for a in range(n):
            v[a] = 0.5 + 0.5 * tanh_scalar(0.5 * np.float64(v[a] + bias[a]))
    elif code == ACT_RELU:
        for a in range(n):
            v[a] = max(v[a] + bias[a], 0.0)
    elif code == ACT_SOFTMAX:
        mx = np.float64(-np.inf)                # float64 whatever v's dtype (typed: numpy keeps float32 for a
        for a in range(n):                      # Python float with the JIT off, numba would not)
            v[a] += bias[a]
            mx = max(mx, np.float64(v[a]))
        tot = np.float64(0.0)
        for a in range(n):
            v[a] = math.exp(v[a] - mx)
            tot += v[a]
        for a in range(n):
            v[a] /= tot
    else:
        for a in range(n):
            v[a] += bias[a]


@inner
def copy_into(dst, src):
    """``dst[:] = src`` for 1-D views (a plain loop: numba's slice assignment is far slower)."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


#: copy_into inlined into its caller: run_sequence's step loop and the event kernels (see inlined_variant)
copy_inlined = inlined_variant(copy_into)


# ------------------------------------------------------------------- modules
@inner
def module_update(i, src, s_off, s_ld, dst, d_off, d_ld, B, plan, wflat, b, act):
    """One activation of module ``i`` over a batch of ``B`` rows; returns the multiply-adds it executed.

    src : flat float64 or float32 (every array of one dtype); row q of the module's read block starts at ``s_off + q*s_ld``
          and holds the c_i values it reads (the units of the modules it reads, then x)
    dst : flat, of src's dtype; row q of the module's new state (k_i values) goes to ``d_off + q*d_ld``
    act : the activation code, or ACT_NONE for the product alone: the caller then applies
          :func:`bias_activate` to the rows (which gives the same bits)

    The count (``B * k_i * c_i``, the size of the product just run) is what the engines report
    as observed cost and check against the schedule's analytic cost.

    A module whose reads start with its own rows (``lo == r0``: it reads itself and only slower
    modules, as with slow-to-fast wiring) sums in two parts, the same in every engine (see
    :func:`diagonal_split`): the rest of what it reads, then its own block added.
    """
    r0 = plan[i, P_R0]
    k = plan[i, P_R1] - r0
    lo = plan[i, P_LO]
    c = plan[i, P_HI] - lo if lo >= 0 else plan[i, P_G1] - plan[i, P_G0]
    w0 = plan[i, P_W0]
    d = diagonal_split(plan, i)
    gemm_rows(B, k, c - d, src, s_off + d, s_ld, wflat, w0 + k * d, dst, d_off, d_ld)
    gemm_rows_acc(B, k, d, src, s_off, s_ld, wflat, w0, dst, d_off, d_ld)
    if act != ACT_NONE:
        bias = b[r0:r0 + k]
        for q in range(B):
            o = d_off + q * d_ld
            bias_activate(dst[o:o + k], bias, act)
    return B * k * c


@inner
def diagonal_split(plan, i):
    """Columns of module ``i``'s own block at the start of what it reads: ``k_i`` when ``lo == r0 < hi``, else 0.

    Such a module's sum is split the same way in every engine and schedule order: ``u = P + D``,
    ``P`` the product over the rest of what it reads (slower modules, then the input) and ``D`` the
    product over its own previous state, each summed in :func:`gemm_rows`'s order. Its weight block
    is stored split to match: the ``(k_i, k_i)`` diagonal block first, then the ``(k_i, c_i - k_i)`` rest.
    The split lets the module-major order (:mod:`clocksim.kernels.modmajor`) compute ``P`` for all the
    module's firings at once and keep only ``D`` sequential, with the bits of the step-major loop.
    """
    r0 = plan[i, P_R0]
    return plan[i, P_R1] - r0 if plan[i, P_LO] == r0 and plan[i, P_HI] > r0 else np.int64(0)


@inner
def gather_reads(i, Zrow, z_off, m, B, plan, gidx, out):
    """Copy what module ``i`` reads (non-contiguous columns) from B rows of width m into ``out`` (B, c)."""
    g0 = plan[i, P_G0]
    c = plan[i, P_G1] - g0
    cols = gidx[g0:g0 + c]
    for q in range(B):
        row = Zrow[z_off + q * m: z_off + (q + 1) * m]
        dst = out[q * c:(q + 1) * c]
        for j in range(c):
            dst[j] = row[cols[j]]


@njit(**_JIT)
def run_sequence(Z, L, B, m, active, plan, gidx, wflat, b, act, scratch, counts, W_out, b_out, out_act, Y, X):
    """Whole-sequence forward pass (the compiled engine's loop), with the readout of every step.

    Z : flat (L+1)*B*m work array (see module docstring): row 0 holds h0, row L's input columns
        zeros; the loop writes the input columns of rows 0..L-1 (from X) and the states of rows 1..L
    active : (L, g) bool, active[s, i] = module i runs at step start+s
    scratch : flat buffer of at least B * c_max, for modules with non-contiguous reads
    counts : (g, 2) int64, accumulates per module the updates executed and their multiply-adds
    W_out, b_out, out_act, Y : as for :func:`readout`, which runs every few steps over the
        states just computed (at least READOUT_ROWS rows), while they are in cache; every
        output element is summed in the same order as in one readout of all steps
    X : flat B*L*(m - n), the inputs (B, L, m - n), C-ordered: the input columns of row s
        are written at step s, while the row is in cache (written up front, the 71 MB work array
        of a B = 32 run was first touched far from its use, and read back from memory: 8 % slower)

    At each step the active modules are taken in runs of consecutive modules (whose rows are
    contiguous): the products of a run, then one pass adding the bias and applying the
    activation over all its rows, which gives the bits of :func:`module_update` (a vector loop
    has a fixed start-up cost per call); the rows of a run of held modules are copied at once.
    """
    g = active.shape[1]
    row = B * m
    n = b.shape[0]
    n_out = b_out.shape[0]
    none = np.int64(ACT_NONE)              # typed int64, not a literal (see _JIT)
    every = max(1, READOUT_ROWS // B)      # steps per readout
    nx = m - n
    if L < 0 or B < 1 or nx < 0:
        raise KernelBoundsError("run_sequence", "m", n, m)
    if Z.shape[0] < (L + 1) * row:
        raise KernelBoundsError("run_sequence", "Z", (L + 1) * row, Z.shape[0])
    if active.shape[0] < L:
        raise KernelBoundsError("run_sequence", "active", L, active.shape[0])
    if plan.shape[0] < g:
        raise KernelBoundsError("run_sequence", "plan", g, plan.shape[0])
    if counts.shape[0] < g or counts.shape[1] < 2:
        raise KernelBoundsError("run_sequence", "counts", 2 * g, counts.shape[0] * counts.shape[1])
    if W_out.shape[0] < n_out * n:
        raise KernelBoundsError("run_sequence", "W_out", n_out * n, W_out.shape[0])
    if Y.shape[0] < L * B * n_out:
        raise KernelBoundsError("run_sequence", "Y", L * B * n_out, Y.shape[0])
    if X.shape[0] < B * L * nx:
        raise KernelBoundsError("run_sequence", "X", B * L * nx, X.shape[0])
    for i in range(g):
        code, needed, got = plan_row_fault(plan, i, n, m, wflat.shape[0], gidx, scratch.shape[0], B)
        if code != 0:
            raise KernelBoundsError("run_sequence", PLAN_FAULTS[code], needed, got)
    for s in range(L):
        prev = s * row
        cur = prev + row
        for q in range(B):                 # the inputs of step s
            copy_inlined(Z[prev + q * m + n: prev + (q + 1) * m], X[(q * L + s) * nx: (q * L + s + 1) * nx])
        i = np.int64(0)
        while i < g:
            if active[s, i]:               # a run of active modules: products, then bias and activation
                j = i
                while j < g and active[s, j]:
                    lo = plan[j, P_LO]
                    if lo >= 0:
                        done = module_update(j, Z, prev + lo, m, Z, cur + plan[j, P_R0], m, B, plan, wflat, b, none)
                    else:
                        gather_reads(j, Z, prev, m, B, plan, gidx, scratch)
                        c = plan[j, P_G1] - plan[j, P_G0]
                        done = module_update(j, scratch, np.int64(0), c, Z, cur + plan[j, P_R0], m, B, plan, wflat, b,
                                             none)
                    counts[j, 0] += 1
                    counts[j, 1] += done
                    j += 1
                r0 = plan[i, P_R0]
                r1 = plan[j - 1, P_R1]
                bias = b[r0:r1]
                for q in range(B):
                    bias_activate(Z[cur + q * m + r0: cur + q * m + r1], bias, act)
                i = j
            else:                          # a run of held modules: copy their rows at once
                j = i + 1
                while j < g and not active[s, j]:
                    j += 1
                r0 = plan[i, P_R0]
                r1 = plan[j - 1, P_R1]
                for q in range(B):
                    copy_inlined(Z[cur + q * m + r0: cur + q * m + r1], Z[prev + q * m + r0: prev + q * m + r1])
                i = j
        if (s + 1) % every == 0 or s == L - 1:
            s0 = s - s % every             # steps s0 .. s
            readout(Z[s0 * row:], s + 1 - s0, B, m, n, W_out, b_out, out_act, Y[s0 * B * n_out: (s + 1) * B * n_out])


@njit(**_JIT)
def readout(Z, L, B, m, n, W_out, b_out, out_act, Y):
    """``Y[(s, q)] = f_O(W_out @ h + b_out)`` for the states in rows 1..L of ``Z``, in one GEMM.

    Z : flat (L+1)*B*m; W_out : flat (n_out * n), C-ordered (n_out, n); Y : flat L*B*n_out
    """
    n_out = b_out.shape[0]
    if L < 0 or B < 1 or n > m:
        raise KernelBoundsError("readout", "m", n, m)
    if Z.shape[0] < (L + 1) * B * m:
        raise KernelBoundsError("readout", "Z", (L + 1) * B * m, Z.shape[0])
    if W_out.shape[0] < n_out * n:
        raise KernelBoundsError("readout", "W_out", n_out * n, W_out.shape[0])
    if Y.shape[0] < L * B * n_out:
        raise KernelBoundsError("readout", "Y", L * B * n_out, Y.shape[0])
    gemm_rows(L * B, n_out, n, Z, B * m, m, W_out, np.int64(0), Y, np.int64(0), n_out)
    for r in range(L * B):
        bias_activate(Y[r * n_out:(r + 1) * n_out], b_out, out_act)


# ------------------------------------------------------------ backward (BPTT)
# Backpropagation through time over the same work array ``Z`` and plan as the
# forward pass (see the module docstring). Errors live in two ``(B, m)``
# buffers: ``G`` holds dL/dh(start+s) for the state *after* step s (columns
# ``:n``; columns ``n:`` are scratch for the input part of a read block) and
# ``Gp`` collects dL/dh for the state before it. Following the paper, only a
# module that ran at step s passes error to what it read (its block-row of
# ``[W_rec | W_in]`` and ``b``); the error of a held module is copied back one
# step and added.


def _gemm_acc_py(trans_a, trans_b, M, N, K, A, a_off, lda, Bm, b_off, ldb, beta, C, c_off, ldc):
    """:func:`gemm_acc` in numpy with the JIT off (numpy's BLAS: equal to scipy's within rounding)."""
    if M == 0 or N == 0:
        return
    out = c_off + np.arange(M)[:, None] * ldc + np.arange(N)[None, :]
    prev = C[out] * C.dtype.type(beta) if beta != 0.0 else np.zeros((M, N), dtype=C.dtype)
    if K == 0:
        C[out] = prev
        return
    a = _block(A, a_off, K, M, lda).T if trans_a else _block(A, a_off, M, K, lda)
    b = _block(Bm, b_off, N, K, ldb).T if trans_b else _block(Bm, b_off, K, N, ldb)
    C[out] = a @ b + prev if beta != 0.0 else a @ b


@python_twin(_gemm_acc_py)
@inner
def gemm_acc(trans_a, trans_b, M, N, K, A, a_off, lda, Bm, b_off, ldb, beta, C, c_off, ldc):
    """Row-major ``C[M x N] = op(A) @ op(B) + beta * C`` on flat arrays with leading dimensions.

    ``op(A)`` is ``A`` (stored M x K) or, with ``trans_a``, ``A.T`` (A stored K x M);
    likewise ``op(B)`` is (K x N) or the transpose of a stored (N x K). ``K == 0``
    gives ``beta * C``.
    """
    if M == 0 or N == 0:
        return
    if K == 0:
        for r in range(M):
            row = C[c_off + r * ldc: c_off + r * ldc + N]
            for j in range(N):
                row[j] = beta * row[j] if beta != 0.0 else 0.0
        return
    z = operand_itemsize(A, Bm, C)       # float64: dgemm; float32: sgemm (all three operands of C's dtype)
    # column-major view: C.T (N x M) = op(B).T @ op(A).T
    ta, tb = _chr(_T if trans_a else _N), _chr(_T if trans_b else _N)
    a, b, c = A.ctypes.data + z * a_off, Bm.ctypes.data + z * b_off, C.ctypes.data + z * c_off
    if z == 4:
        _sgemm(tb, ta, _i32(N), _i32(M), _i32(K), _f32(1.0), b, _i32(ldb), a, _i32(lda), _f32(beta), c, _i32(ldc))
    else:
        _dgemm(tb, ta, _i32(N), _i32(M), _i32(K), _f64(1.0), b, _i32(ldb), a, _i32(lda), _f64(beta), c, _i32(ldc))


@inner
def act_derivative(y, code):
    """f'(a) written in terms of the activation's output ``y = f(a)`` (not for softmax)."""
    if code == ACT_TANH:
        return 1.0 - y * y
    if code == ACT_SIGMOID:
        return y * (1.0 - y)
    if code == ACT_RELU:
        return 1.0 if y > 0.0 else 0.0
    return 1.0


@njit(**_JIT)
def readout_backward(Z, L, B, m, n, dA, gW_out, gb_out):
    """Gradients of the readout weights ``a = W_out @ h + b_out`` over every step at once.

    Z : flat (L+1)*B*m work array of the forward pass (states in rows 1..L)
    dA : flat L*B*n_out, dL/da
    gW_out : flat (n_out * n), overwritten with dA.T @ H; gb_out : (n_out,), overwritten with sum(dA)
    """
    n_out = gb_out.shape[0]
    if L < 0 or B < 1 or n > m:
        raise KernelBoundsError("readout_backward", "m", n, m)
    if Z.shape[0] < (L + 1) * B * m:
        raise KernelBoundsError("readout_backward", "Z", (L + 1) * B * m, Z.shape[0])
    if dA.shape[0] < L * B * n_out:
        raise KernelBoundsError("readout_backward", "dA", L * B * n_out, dA.shape[0])
    if gW_out.shape[0] < n_out * n:
        raise KernelBoundsError("readout_backward", "gW_out", n_out * n, gW_out.shape[0])
    gemm_acc(True, False, n_out, n, L * B, dA, 0, n_out, Z, B * m, m, 0.0, gW_out, 0, n)
    for o in range(n_out):
        gb_out[o] = 0.0
    for r in range(L * B):
        for o in range(n_out):
            gb_out[o] += dA[r * n_out + o]


@inner
def readout_error(s, B, ld, n, W_out, dA, E):
    """``E[q, :n] = dA[s, q] @ W_out`` for the B rows of ``E`` (row width ``ld``): the error of h from its output.

    Plain loops: with the few outputs of a typical model this is cheaper than a BLAS call per step.
    """
    n_out = W_out.shape[0] // n
    for q in range(B):
        e = E[q * ld: q * ld + n]
        e[:] = 0.0
        base = (s * B + q) * n_out
        for o in range(n_out):
            d = dA[base + o]
            w = W_out[o * n: (o + 1) * n]
            for a in range(n):
                e[a] += d * w[a]


@njit(**_JIT)
def backward_sequence(Z, L, B, m, n, active, plan, W, act, W_out, dA, gW, gb, gh0):
    """Whole-sequence BPTT through the modules (the inverse of :func:`run_sequence`).

    At each step the active modules are taken in runs of consecutive modules,
    whose rows are contiguous: one product spreads a run's error over what its
    rows read, one more accumulates its weight gradient. Rows of ``W`` are full
    rows of ``[W_rec | W_in]``, which are zero outside the mask, so a run passes
    error exactly along its block-rows; the weight gradient it accumulates
    outside the mask is meaningless and must be discarded by the caller.

    Z : flat (L+1)*B*m work array of the forward pass
    active : (L, g) bool, the activity mask of the forward pass
    plan : (g, 7) int64 plan table (only the row ranges ``r0, r1`` are used)
    W : flat (n * m), C-ordered ``[W_rec | W_in]`` (n, m)
    W_out : flat (n_out * n); dA : flat L*B*n_out, dL/da for the readout ``a = W_out @ h + b_out``
        of every step (the readout's own gradients are :func:`readout_backward`'s)
    gW : flat (n * m), overwritten with dL/d[W_rec | W_in] (inside the mask; see above)
    gb : (n,) overwritten with dL/db; gh0 : (n,) overwritten with dL/dh0 (summed over the batch)
    """
    g = active.shape[1]
    row = B * m
    n_out = W_out.shape[0] // max(n, 1)
    if L < 1 or B < 1 or n > m:
        raise KernelBoundsError("backward_sequence", "m", n, m)
    if Z.shape[0] < (L + 1) * row:
        raise KernelBoundsError("backward_sequence", "Z", (L + 1) * row, Z.shape[0])
    if active.shape[0] < L:
        raise KernelBoundsError("backward_sequence", "active", L, active.shape[0])
    if plan.shape[0] < g:
        raise KernelBoundsError("backward_sequence", "plan", g, plan.shape[0])
    if W.shape[0] < n * m:
        raise KernelBoundsError("backward_sequence", "W", n * m, W.shape[0])
    if gW.shape[0] < n * m:
        raise KernelBoundsError("backward_sequence", "gW", n * m, gW.shape[0])
    if gb.shape[0] < n:
        raise KernelBoundsError("backward_sequence", "gb", n, gb.shape[0])
    if gh0.shape[0] < n:
        raise KernelBoundsError("backward_sequence", "gh0", n, gh0.shape[0])
    if dA.shape[0] < L * B * n_out:
        raise KernelBoundsError("backward_sequence", "dA", L * B * n_out, dA.shape[0])
    for i in range(g):
        if plan[i, P_R0] < 0 or plan[i, P_R1] < plan[i, P_R0] or plan[i, P_R1] > n:
            raise KernelBoundsError("backward_sequence", "plan", plan[i, P_R1], n)
    G = np.zeros(B * m, Z.dtype)        # (B, m) error of the state after step s (columns :n), Z's dtype
    Gp = np.empty(B * m, Z.dtype)       # (B, m) error of [h | x] before step s
    D = np.empty(B * n, Z.dtype)        # (B, k) error of a run's pre-activations
    gW[:] = 0.0
    gb[:] = 0.0
    readout_error(L - 1, B, m, n, W_out, dA, G)
    for s in range(L - 1, -1, -1):
        prev = s * row                  # Z rows read at step s: [h(start+s-1) | x(start+s)]
        cur = prev + row                # Z rows written at step s
        if s > 0:                       # Gp = direct error of h(start+s-1) from its output; none for h0
            readout_error(s - 1, B, m, n, W_out, dA, Gp)
        for q in range(B):
            o = q * m
            if s == 0:
                Gp[o: o + n] = 0.0
            Gp[o + n: o + m] = 0.0
        i = 0
        while i < g:
            j = i + 1                   # [i, j): a run of modules that are all active or all held
            while j < g and active[s, j] == active[s, i]:
                j += 1
            r0 = plan[i, P_R0]
            k = plan[j - 1, P_R1] - r0
            if not active[s, i]:        # held: their state (and its error) passes through unchanged
                for q in range(B):
                    o = q * m + r0
                    for a in range(k):
                        Gp[o + a] += G[o + a]
            else:
                for q in range(B):      # D = G[rows] * f'(h[rows](start+s))
                    o = q * m + r0
                    for a in range(k):
                        d = G[o + a] * act_derivative(Z[cur + o + a], act)
                        D[q * k + a] = d
                        gb[r0 + a] += d
                gemm_acc(True, False, k, m, B, D, 0, k, Z, prev, m, 1.0, gW, r0 * m, m)   # dW[rows] += D.T @ [h | x]
                gemm_acc(False, False, B, m, k, D, 0, k, W, r0 * m, m, 1.0, Gp, 0, m)     # d[h | x] += D @ W[rows]
            i = j
        G, Gp = Gp, G
    gh0[:] = 0.0
    for q in range(B):
        for a in range(n):
            gh0[a] += G[q * m + a]


# ------------------------------------------------------------ input buffering
# A buffered module reads, instead of the latest sample, a reduction of the samples that
# arrived since its previous firing. Both engines precompute it with this one kernel from the
# input and the samples each firing latches, so they agree bit for bit.
BUF_MEAN, BUF_SUM, BUF_MAX = 1, 2, 3


@njit(**_JIT)
def buffer_window(X, closes, mode, acc, count, out):
    """Running reduction of input samples over windows that each firing closes.

    ``out[q, s]`` is the reduction (``mode``: BUF_MEAN, BUF_SUM or BUF_MAX, elementwise)
    of the samples of the open window up to and including sample ``s``; a window opens at
    the first sample (or where the previous chunk left it: ``acc``, ``count``) and after
    every sample ``s`` with ``closes[s]``. The sum runs in sample order; the mean is that
    sum divided by the count.

    X : (B, c, n_in) float64 or float32 (all three arrays of one dtype), a chunk of input samples
    closes : (c,) bool, a firing latches sample s (its window ends there)
    acc : (B, n_in), running sum or max of the open window, carried across chunks
    count : (1,) int64, samples in the open window, carried across chunks
    out : (B, c, n_in), written
    """
    B, c, n_in = X.shape
    if closes.shape[0] < c:
        raise KernelBoundsError("buffer_window", "closes", c, closes.shape[0])
    if acc.shape[0] < B or acc.shape[1] < n_in:
        raise KernelBoundsError("buffer_window", "acc", B * n_in, acc.shape[0] * acc.shape[1])
    if count.shape[0] < 1:
        raise KernelBoundsError("buffer_window", "count", 1, count.shape[0])
    if out.shape[0] < B or out.shape[1] < c or out.shape[2] < n_in:
        raise KernelBoundsError("buffer_window", "out", B * c * n_in, out.shape[0] * out.shape[1] * out.shape[2])
    k0 = count[0]
    k = k0
    for q in range(B):                                       # sequence by sequence: contiguous rows
        k = k0                                               # the count is the same for every sequence
        a = acc[q]                                           # (n_in,)
        for s in range(c):
            x = X[q, s]                                      # (n_in,) sample s
            o = out[q, s]                                    # (n_in,)
            if k == 0:
                for j in range(n_in):
                    a[j] = x[j]
            elif mode == BUF_MAX:
                for j in range(n_in):
                    a[j] = max(a[j], x[j])
            else:
                for j in range(n_in):
                    a[j] = a[j] + x[j]
            if mode == BUF_MEAN:
                d = np.float64(k + 1)                        # float64 division, JIT on or off
                for j in range(n_in):
                    o[j] = a[j] / d
            else:
                for j in range(n_in):
                    o[j] = a[j]
            k = 0 if closes[s] else k + 1
    count[0] = k
