"""The five bundled 320-sample target pieces of the sequence-generation task, and how they were made.

The paper (Koutník et al. 2014, section 4.1) trained its networks to reproduce
five pieces of a music recording, 320 samples each at 44.1 kHz (7.3 ms),
scaled to [-1, 1]. That recording is not available, and no licence-clear
recording ships inside a package that installs offline here (``scipy.datasets``
downloads at run time; the ``pluck-*.wav`` files of CPython's test suite are
of undocumented origin and not installed everywhere). So the pieces are
synthesised, keeping what makes the task hard: several time scales at once.

Each piece is the sum of three plucked-string notes on the equal-tempered
scale, sampled at 44.1 kHz for 320 samples:

- a bass note (MIDI 40-51, 82-156 Hz: one period spans 280-535 samples, longer
  than the piece) and a middle note (MIDI 60-71, 262-494 Hz: 89-168 samples),
  both struck before the window opens and decaying slowly;
- a high note (MIDI 69-83, 440-988 Hz: 45-100 samples per period) struck
  *inside* the window (at sample 40-200) with a 20-sample attack.

Every note has up to 12 harmonics below 8 kHz (the shortest period is about
5.5 samples), with amplitudes falling geometrically and random phases; higher
harmonics decay faster than the fundamental, as on a real string. Each piece
has its mean removed and is scaled so that its largest magnitude is 1.

Everything is drawn from ``numpy.random.default_rng([SEED, piece])``, so
``python -m clocksim.train.tasks.pieces`` regenerates ``data/pieces.npz`` (the file
the package ships and :func:`load_pieces` reads; a test checks they agree).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..._validate import as_int
from ...errors import InvalidValueError

__all__ = ["load_pieces", "synthesise_pieces", "synthesise_piece", "PIECES_FILE", "SAMPLE_RATE", "LENGTH",
           "N_PIECES", "SEED"]

SAMPLE_RATE = 44100.0   # Hz, as the paper's recording
LENGTH = 320            # samples per piece (7.3 ms)
N_PIECES = 5
SEED = 1402             # the paper's arXiv number, 1402.3511
MAX_FREQUENCY = 8000.0  # Hz: harmonics above are left out
PIECES_FILE = Path(__file__).with_name("data") / "pieces.npz"


def _note(rng: np.random.Generator, t: np.ndarray, midi: int, onset: float, decay: float, harmonics: int,
          brightness: float) -> np.ndarray:
    """One plucked note, shape (len(t),): struck at sample ``onset``, fundamental decaying over ``decay`` samples."""
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
    since = t - onset                                              # samples since the note was struck
    attack = np.clip(since / 20.0, 0.0, 1.0)                       # 20-sample attack
    out = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if k * f0 > MAX_FREQUENCY:
            break
        amplitude = brightness ** (k - 1) * rng.uniform(0.5, 1.0)
        envelope = np.where(since >= 0, np.exp(-np.maximum(since, 0) / (decay / (1 + 0.5 * (k - 1)))), 0.0)
        phase = rng.uniform(0.0, 2 * np.pi)
        out += amplitude * envelope * attack * np.sin(2 * np.pi * k * f0 * since / SAMPLE_RATE + phase)
    return out


def synthesise_piece(piece: int, seed: int = SEED) -> np.ndarray:
    """Piece number ``piece`` (0-based), shape (LENGTH,), mean 0, largest magnitude 1."""
    piece = as_int("piece", piece, minimum=0)
    rng = np.random.default_rng([as_int("seed", seed, minimum=0), piece])
    t = np.arange(LENGTH, dtype=np.float64)
    y = _note(rng, t + rng.uniform(50, 400), int(rng.integers(40, 52)), 0.0, rng.uniform(300, 1500), 12, 0.75)
    y += 0.6 * _note(rng, t + rng.uniform(50, 400), int(rng.integers(60, 72)), 0.0, rng.uniform(200, 800), 8, 0.6)
    y += 0.7 * _note(rng, t, int(rng.integers(69, 84)), rng.uniform(40, 200), rng.uniform(60, 200), 10, 0.6)
    y -= y.mean()
    return y / np.abs(y).max()


def synthesise_pieces(seed: int = SEED) -> np.ndarray:
    """All pieces, shape (N_PIECES, LENGTH)."""
    return np.stack([synthesise_piece(k, seed) for k in range(N_PIECES)])


def load_pieces() -> np.ndarray:
    """The bundled pieces, shape (N_PIECES, LENGTH), float64 (read with ``allow_pickle=False``)."""
    with np.load(PIECES_FILE, allow_pickle=False) as data:
        pieces = np.array(data["pieces"], dtype=np.float64)
    if pieces.shape != (N_PIECES, LENGTH):
        raise InvalidValueError(f"got pieces of shape {pieces.shape}, expected ({N_PIECES}, {LENGTH})",
                                file=PIECES_FILE)
    return pieces


def main() -> None:  # pragma: no cover - writes the package data file
    from ...trace.core import atomic_write

    PIECES_FILE.parent.mkdir(exist_ok=True)
    pieces = synthesise_pieces()
    atomic_write(PIECES_FILE, lambda f: np.savez(f, pieces=pieces, sample_rate=np.float64(SAMPLE_RATE),
                                                 seed=np.int64(SEED)))
    print(f"wrote {PIECES_FILE} ({pieces.shape[0]} pieces of {pieces.shape[1]} samples)")


if __name__ == "__main__":  # pragma: no cover
    main()
