"""The forward products (``kernels.gemm_rows``): one documented summation order for every shape,
batch and stride, against its slow twin (``reference.fixed_order_dot``); hence a sequence gives
the same bits alone or in any batch, in either engine."""

import re
from fractions import Fraction

import numpy as np
import pytest
from helpers import ENGINE_NAMES, random_model
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from reference import fixed_order_dot

import clocksim as cs
from clocksim.kernels import core as K


@settings(deadline=None, max_examples=60)
@given(M=st.integers(1, 11), N=st.integers(1, 19), Kc=st.integers(0, 45), pad=st.integers(0, 5),
       offsets=st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)), seed=st.integers(0, 2**32 - 1))
def test_gemm_rows_sums_every_element_in_the_documented_order(M, N, Kc, pad, offsets, seed):
    rng = np.random.default_rng(seed)
    a_off, w_off, c_off = offsets
    lda, ldc = Kc + pad, N + pad
    A = rng.normal(size=a_off + M * lda) * np.exp(rng.normal(0.0, 4.0, a_off + M * lda))   # wide range: order shows
    W = rng.normal(size=w_off + N * Kc)
    C = np.full(c_off + M * ldc, 7.0)
    K.gemm_rows(M, N, Kc, A, a_off, lda, W, w_off, C, c_off, ldc)
    out = C[c_off:].reshape(M, ldc)
    for q in range(M):
        z = A[a_off + q * lda: a_off + q * lda + Kc]
        expected = [fixed_order_dot(W[w_off + a * Kc: w_off + (a + 1) * Kc], z) for a in range(N)]
        assert out[q, :N].tolist() == expected, (q, out[q, :N] - expected)
        assert (out[q, N:] == 7.0).all()                               # the padding is not written
    assert (C[:c_off] == 7.0).all()


def _nearest_float32(x: Fraction) -> np.float32:
    """``x`` rounded once to float32 (nearest, ties to even), from its float64 neighbours' float32 neighbours."""
    f = np.float32(float(x))
    best = None
    for cand in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
        key = (abs(Fraction(float(cand)) - x), int(np.asarray(cand).view(np.int32)) & 1)
        if best is None or key < best[0]:
            best = (key, cand)
    return best[1]


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), cancel=st.booleans(), scale=st.integers(-60, 60))
def test_fma_exact_is_one_rounding_of_the_exact_result(seed, cancel, scale):
    """The JIT-off twin of the tiles' fused multiply-add rounds ``a * b + c`` once (exact rationals), float64 and
    float32; ``cancel`` puts ``c`` near ``-a * b``, where a separate multiply and add lose the low bits."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=300) * 2.0 ** scale
    b = rng.normal(size=300) * 2.0 ** rng.integers(-40, 40, 300)
    c = -(a * b) * (1 + rng.normal(size=300) * 2.0 ** -50) if cancel else rng.normal(size=300) * 2.0 ** scale
    out = K.fma_exact(a, b, c)
    want = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    assert out.tolist() == want
    a32, b32 = a.astype(np.float32), (b / 2.0 ** scale).astype(np.float32)
    c32 = (-(a32.astype(np.float64) * b32) * (1 + rng.normal(size=300) * 2.0 ** -20) if cancel
           else rng.normal(size=300) * 2.0 ** scale).astype(np.float32)
    out32 = K.fma_exact(a32, b32, c32)
    assert out32.dtype == np.float32
    want32 = [_nearest_float32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))) for x, y, z in zip(a32, b32, c32)]
    assert out32.tolist() == [float(v) for v in want32]
    if cancel:                                   # the fused result differs from a separate multiply and add
        assert (out != a * b + c).any()


def test_gemm_rows_tiles_differ_from_a_plain_sum():
    """The order matters on these values (so the twin test above can fail): a plain left-to-right sum differs."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=37) * np.exp(rng.normal(0.0, 4.0, 37))
    w = rng.normal(size=37)
    plain = 0.0
    for j in range(37):
        plain += w[j] * z[j]
    out = np.zeros(1)
    K.gemm_rows(1, 1, 37, z, 0, 37, w, 0, out, 0, 1)
    assert out[0] == fixed_order_dot(w, z) != plain


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), B=st.integers(2, 9), L=st.integers(1, 40),
       engine=st.sampled_from(ENGINE_NAMES))
def test_a_sequence_gives_the_same_bits_alone_or_in_a_batch(seed, B, L, engine):
    rng = np.random.default_rng(seed)
    g = int(rng.integers(1, 5))
    model = random_model(rng, g=g, sizes=[int(k) for k in rng.integers(1, 13, g)],
                         n_in=int(rng.integers(0, 11)), n_out=int(rng.integers(1, 11)))
    X = rng.normal(size=(B, L, model.n_in))
    batch = cs.simulate(model, X, engine=engine)
    for q in range(B):
        alone = cs.simulate(model, X[q], engine=engine)
        np.testing.assert_array_equal(batch.y[q], alone.y)
        np.testing.assert_array_equal(batch.h[q], alone.h)


def test_tanh_is_accurate_odd_and_saturates():
    """The activation's exp-based tanh (``kernels.tanh_scalar``) against numpy's, over a wide range."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=20000) * s for s in (1e-12, 1e-3, 0.1, 1.0, 3.0, 10.0, 30.0)]
                       + [np.array([0.0, 20.0, 25.0, 1e300, np.inf, 5e-324])])
    x = np.concatenate([x, -x])
    y = x.copy()
    K.bias_activate(y, np.zeros_like(x), np.int64(K.ACT_TANH))
    assert np.abs(y - np.tanh(x)).max() <= 3e-16
    np.testing.assert_array_equal(y[: x.size // 2], -y[x.size // 2:])                 # odd, bit for bit
    assert (np.abs(y[np.abs(x) >= 20.0]) == 1.0).all()
    nan = np.array([np.nan])
    K.bias_activate(nan, np.zeros(1), np.int64(K.ACT_TANH))
    assert np.isnan(nan[0])


@pytest.mark.skipif(K.JIT_OFF, reason="LLVM IR exists only with the JIT on")
def test_run_sequence_step_loop_copies_inline():
    """run_sequence's step loop copies without calling copy_into: with the bounds checks' raise paths in the
    function LLVM stopped inlining that call, and the checks then cost 2.3 % of a B = 1 forward (a call and
    reference counts on two arrays per copy). Compiled afresh (cached code cannot be inspected)."""
    fresh = njit(**dict(K._JIT, cache=False))(K.run_sequence.py_func)
    m = cs.ClockworkRNN(4, 4, [16] * 8, cs.exponential_periods(8), seed=0)
    x = np.random.default_rng(0).normal(size=(1, 64, 4))
    cs.simulate(m, x, engine="compiled")                          # compiles run_sequence for a real run's types
    sig = K.run_sequence.signatures[0]
    fresh.compile(sig)
    calls = re.findall(r"call [^@]*@(\S+?)\(", fresh.inspect_llvm(sig))
    assert calls, "no calls found: the IR pattern no longer matches"
    assert any("module_update" in c for c in calls)             # the pattern sees the calls that are meant
    assert not [c for c in calls if "copy_into" in c]
