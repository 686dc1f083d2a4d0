"""Synthetic scenario inputs computed a block of steps at a time, so a long run never holds its input.

A :class:`Signal` looks like a read-only float64 array ``(B, L, n_in)`` (``shape``, ``dtype``,
slicing along the steps, ``np.asarray``) that the engines read chunk by chunk
(see :class:`clocksim.engine.stream.Source`). Its values are those the scenario has always
drawn: the random offsets first, then the noise in the generator's order, block after block
(for one sequence exactly the stream of a single ``rng.normal(size=(1, L, n_in))``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Signal"]


class Signal:
    """Input ``kind`` ("sine", "square", "step", "noise", "silence") of shape (B, L, n_in).

    Parameters
    ----------
    kind : str
    shape : (int, int, int)
    rng : numpy.random.Generator
        Draws the offsets now and the noise as blocks are read.
    amplitude, period, at, noise, std : float
        As the ``[input]`` keys of the same names.
    """

    BLOCK = 1 << 16

    def __init__(self, kind: str, shape: tuple[int, int, int], rng: np.random.Generator, *, amplitude: float = 1.0,
                 period: float = 1.0, at: int = 0, noise: float = 0.0, std: float = 1.0):
        B, L, n_in = shape
        self.kind, self.shape, self.dtype, self.ndim = kind, (B, L, n_in), np.dtype(np.float64), 3
        self.amplitude, self.period, self.at = amplitude, period, at
        self.offset = np.zeros((B, 1, n_in))
        if kind in ("sine", "square", "step") and (B > 1 or n_in > 1):
            self.offset = rng.uniform(0, 2 * np.pi, (B, 1, n_in))
        self.scale = {"noise": std, "silence": 0.0}.get(kind, noise)
        self._rng, self._state = rng, rng.bit_generator.state
        self._next = 0                         # the block the generator draws next
        self._cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        out = self[:, 0:self.shape[1]]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key):
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None) and isinstance(key[1], slice)
                and key[1].step in (None, 1)):
            return np.asarray(self)[key]
        lo, hi, _ = key[1].indices(self.shape[1])
        hi = max(lo, hi)
        parts = [self._block(b)[:, max(lo - b * self.BLOCK, 0):hi - b * self.BLOCK]
                 for b in range(lo // self.BLOCK, (hi - 1) // self.BLOCK + 1)] if hi > lo else []
        return np.concatenate(parts, axis=1) if parts else np.zeros((self.shape[0], 0, self.shape[2]))

    def _block(self, b: int) -> np.ndarray:
        """Steps ``[b * BLOCK, (b + 1) * BLOCK)`` (fewer at the end), shape (B, c, n_in)."""
        if self._cache is not None and self._cache[0] == b:
            return self._cache[1]
        B, L, n_in = self.shape
        if b < self._next:                     # read again from the start: replay the generator
            self._rng.bit_generator.state = self._state
            self._next = 0
        while True:
            lo = self._next * self.BLOCK
            c = min(self.BLOCK, L - lo)
            noise = self._rng.normal(0.0, self.scale, (B, c, n_in)) if self.kind != "silence" else None
            self._next += 1
            if self._next > b:
                break
        t = np.arange(lo, lo + c, dtype=np.float64)[None, :, None]
        if self.kind in ("noise", "silence"):
            x = noise if noise is not None else np.zeros((B, c, n_in))
        else:
            if self.kind == "step":
                wave = np.broadcast_to(self.amplitude * (t >= self.at), (B, c, n_in))
            else:
                wave = np.sin(2 * np.pi * t / self.period + self.offset)
                wave = self.amplitude * (wave if self.kind == "sine" else np.sign(wave) + (wave == 0))
            x = wave + noise
        self._cache = (b, x)
        return x
