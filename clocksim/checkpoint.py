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

import json
from pathlib import Path

import numpy as np

from .errors import InvalidValueError
from .trace import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state", "CHECKPOINT_FORMAT",
           "CHECKPOINT_VERSION"]

CHECKPOINT_FORMAT = "clocksim-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path, state: dict) -> None:
    """Write a training state to ``path`` (.npz, no pickle), atomically."""
    arrays = {"meta": np.array(json.dumps(state["meta"]))}
    arrays.update({f"params/{k}": np.asarray(v) for k, v in state["params"].items()})
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in state["optimizer"].items()})
    if state.get("best") is not None:
        arrays.update({f"best/{k}": np.asarray(v) for k, v in state["best"].items()})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (arrays only; nothing is executed)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidValueError(f"no checkpoint file at {str(path)!r}", key="resume")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = {k: data[k] for k in data.files}
        meta = json.loads(str(files.pop("meta")))
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidValueError(f"{str(path)!r} is not a clocksim checkpoint ({exc})", key="resume") from None
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
        raise InvalidValueError(f"{str(path)!r} has format {meta.get('format')!r} version "
                                f"{meta.get('version')!r}, expected {CHECKPOINT_FORMAT!r} version {CHECKPOINT_VERSION}",
                                key="resume")
    state = {"meta": meta, "params": {}, "optimizer": {}, "best": {}}
    for key, value in files.items():
        group, _, name = key.partition("/")
        if group not in ("params", "optimizer", "best") or not name:
            raise InvalidValueError(f"{str(path)!r} holds an unexpected entry {key!r}", key="resume")
        state[group][name] = value
    state["best"] = state["best"] or None
    return state


def rng_state(rng: np.random.Generator) -> dict:
    """The generator's ``bit_generator.state`` as JSON-serialisable data (arrays become tagged lists)."""
    return _jsonable(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    """Put ``rng`` in the state recorded by :func:`rng_state` (same kind of bit generator)."""
    if state["bit_generator"] != type(rng.bit_generator).__name__:
        raise InvalidValueError(f"the checkpoint's generator is {state['bit_generator']}, "
                                f"got a {type(rng.bit_generator).__name__}", key="resume")
    rng.bit_generator.state = _from_jsonable(state)


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
