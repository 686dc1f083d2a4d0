"""Training checkpoints: one ``.npz`` of arrays plus JSON metadata; data only, written atomically.

Layout of the file (``np.load(path, allow_pickle=False)`` reads it)::

    meta               0-d string: JSON with format, version, model class, config,
                       optimiser name, generator state, history, early-stopping counter
    params/<name>      the model's parameters
    optimizer/<key>    the optimiser's state arrays (e.g. ``velocity/W_rec``, ``t``)
    best/<name>        parameters of the best epoch so far (with early stopping)

The generator's state is stored as data (``bit_generator.state``: big integers
in JSON, arrays as tagged lists), never as a pickle, so loading a checkpoint
cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InvalidValueError
from ..trace.files import Entry, json_entry, parse_json_entry, read_npz, write_npz

__all__ = ["save_checkpoint", "load_checkpoint", "check_state", "rng_state", "set_rng_state", "CHECKPOINT_FORMAT",
           "CHECKPOINT_VERSION"]

CHECKPOINT_FORMAT = "clocksim-checkpoint"
CHECKPOINT_VERSION = 2
#: What ``meta`` must hold, and the JSON type of each entry.
META_KEYS = {"format": str, "version": int, "model": str, "config": dict, "optimizer": str, "rng": dict,
             "history": dict, "bad_epochs": int}


def save_checkpoint(path, state: dict) -> None:
    """Write a training state to ``path`` (.npz, no pickle), atomically and byte-reproducibly."""
    arrays = {"meta": json_entry(state["meta"])}
    arrays.update({f"params/{k}": np.asarray(v) for k, v in state["params"].items()})
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in state["optimizer"].items()})
    if state.get("best") is not None:
        arrays.update({f"best/{k}": np.asarray(v) for k, v in state["best"].items()})
    write_npz(path, arrays)


def _schema(name: str) -> Entry | None:
    if name == "meta":
        return Entry("U", 0)
    group, _, rest = name.partition("/")
    if not rest:
        return None
    return {"params": Entry("f"), "best": Entry("f"), "optimizer": Entry("fiu")}.get(group)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (arrays only; nothing is executed).

    The file's entries and ``meta`` are checked against the checkpoint schema
    (format and version, the keys and JSON types of ``meta``, a history whose
    lists all have one entry per epoch); :func:`check_state` then checks the
    arrays against the model and optimiser they are loaded into.
    """
    path = Path(path)
    files = read_npz(path, _schema, what="checkpoint", required=("meta",))
    meta = parse_json_entry(files.pop("meta"), path, "meta")
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
        raise FileFormatError(f"got format {meta.get('format')!r} version {meta.get('version')!r}, expected "
                              f"{CHECKPOINT_FORMAT!r} version {CHECKPOINT_VERSION}", key="meta.format", file=path)
    for key, kind in META_KEYS.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise FileFormatError(f"got {str(meta.get(key))[:60]}, expected a JSON {kind.__name__}",
                                  key=f"meta.{key}", file=path)
    history = meta["history"]
    lengths = {k: len(v) for k, v in history.items() if isinstance(v, list)}
    epochs = lengths.get("epoch")
    if epochs is None or history.get("epoch") != list(range(1, epochs + 1)):
        raise FileFormatError("expected the epochs 1, 2, ... of the training so far", key="meta.history.epoch",
                              file=path)
    for key in ("train_loss", "grad_norm", "clipped", "seconds"):
        if lengths.get(key) != epochs:
            raise FileFormatError(f"got {lengths.get(key)} entries for {epochs} epochs, expected one per epoch",
                                  key=f"meta.history.{key}", file=path)
    if meta["bad_epochs"] < 0 or meta["bad_epochs"] > epochs:
        raise FileFormatError(f"got {meta['bad_epochs']}, expected 0 to {epochs}", key="meta.bad_epochs", file=path)
    state = {"meta": meta, "params": {}, "optimizer": {}, "best": {}, "path": str(path)}
    for key, value in files.items():
        group, _, name = key.partition("/")
        state[group][name] = value
    state["best"] = state["best"] or None
    return state


def check_state(state: dict, params: dict, optimizer_state: dict, epochs: int) -> None:
    """Refuse a checkpoint whose arrays do not fit what they are loaded into.

    ``params``: the model's parameters (name -> array); ``optimizer_state``: the state a
    fresh optimiser has after one step on them (name -> array); ``epochs``: ``train.epochs``.
    Every parameter and optimiser entry must be present with that shape and finite; the
    best-epoch parameters, when present, likewise; the history no longer than ``epochs``.
    """
    path = state.get("path")

    def same(group: str, found: dict, expected: dict) -> None:
        for name, ref in expected.items():
            if name not in found:
                raise FileFormatError("missing: the checkpoint is incomplete", key=f"{group}/{name}", file=path)
            value = found[name]
            if np.shape(value) != np.shape(ref):
                raise FileFormatError(f"got shape {np.shape(value)}, expected {np.shape(ref)}",
                                      key=f"{group}/{name}", file=path)
            if not np.isfinite(value).all():
                raise FileFormatError("holds NaN or infinite values", key=f"{group}/{name}", file=path)
        extra = sorted(set(found) - set(expected))
        if extra:
            raise FileFormatError(f"not an entry of this model's {group}", key=f"{group}/{extra[0]}", file=path)

    same("params", state["params"], params)
    same("optimizer", state["optimizer"], optimizer_state)
    if state["best"] is not None:
        same("best", state["best"], params)
    done = len(state["meta"]["history"]["epoch"])
    if done > epochs:
        raise InvalidValueError(f"the checkpoint has trained {done} epochs, more than train.epochs = {epochs}; "
                                "raise train.epochs to continue", key="--resume", file=path)


def rng_state(rng: np.random.Generator) -> dict:
    """The generator's ``bit_generator.state`` as JSON-serialisable data (arrays become tagged lists)."""
    return _jsonable(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    """Put ``rng`` in the state recorded by :func:`rng_state` (same kind of bit generator)."""
    if state.get("bit_generator") != type(rng.bit_generator).__name__:
        raise InvalidValueError(f"the checkpoint's generator is {str(state.get('bit_generator'))[:40]}, "
                                f"got a {type(rng.bit_generator).__name__}", key="resume")
    try:
        rng.bit_generator.state = _from_jsonable(state)
    except (KeyError, TypeError, ValueError, OverflowError):
        raise FileFormatError("the checkpoint's generator state is damaged", key="meta.rng") from None


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_jsonable(value):
    if isinstance(value, dict):
        if "__array__" in value:
            return np.array(value["__array__"], dtype=value["dtype"])
        return {k: _from_jsonable(v) for k, v in value.items()}
    return value
