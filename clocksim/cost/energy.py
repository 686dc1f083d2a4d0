"""Memory placement and energy of a run on a device profile (DESIGN section 11). A leaf module.

Everything here takes plain data: a device profile in its file form (the ``[device]`` table of a
device TOML file, :meth:`clocksim.sched.device.Device.to_dict`) and the counts of what ran (the
activations, multiply-adds, bias adds and activation evaluations of a summary). It is the one place
where bytes and energy of a run are computed; :class:`~clocksim.AggregateTrace` calls it when the
run's metadata names a device, so ``summary["memory"]`` and ``summary["energy"]`` come from here.

Placement rule (:func:`place`)
    The memory levels are listed from the smallest up. The model's weights (:func:`footprint`:
    every weight block, bias and the readout) go in the smallest level that holds them whole; the
    states, input and message inboxes go in the smallest level that holds them in what the weights
    left free. A model whose weights or states fit in no level is refused.
Traffic
    Per activation (:meth:`~clocksim.cost.UpdateCost.traffic`): weights are read from the weights'
    level; the states and input read, the state written and the messages written go to the states'
    level. Totals: ``memory[level]["read"]`` and ``["written"]`` add up to the summary's
    ``bytes_read`` and ``bytes_written``. The readout's traffic (``W_out``, ``y``) is not counted.
Energy
    ``compute_j = (macs * mac_pj + bias_adds * add_pj + fn_evals * activation_pj) * 1e-12`` with the
    summary's ``macs`` (the readouts' multiply-adds included); ``memory_j[level] = (read * read_pj_per_byte
    + written * write_pj_per_byte) * 1e-12``; ``static_j = static_power_w * n_steps * step`` when the
    run has a ``step`` (seconds per input step), else None (and ``run_time_s`` is None): without real
    time there is no static energy, and ``total_j`` then holds compute and memory only.
    ``per_step_j = total_j / n_steps``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InvalidValueError
from .counts import dtype_itemsize, dtype_name, footprint, update_cost

__all__ = ["place", "energy_report", "PJ"]

#: Joules per picojoule.
PJ = 1e-12


def place(memory: Sequence[Mapping], need: Mapping[str, int], *, device: str = "device") -> dict[str, str]:
    """The memory level of the weights and of the states (the placement rule in the module docstring).

    Parameters
    ----------
    memory : sequence of mappings with ``name`` and ``capacity_bytes``, smallest level first
    need : ``{"weights": bytes, "states": bytes}`` (:func:`~clocksim.cost.footprint`)
    device : str
        Named in the error when nothing fits.

    Returns
    -------
    dict
        ``{"weights": level name, "states": level name}``.
    """
    free = [int(level["capacity_bytes"]) for level in memory]
    out = {}
    for what in ("weights", "states"):
        size = int(need[what])
        for i, level in enumerate(memory):
            if free[i] >= size:
                free[i] -= size
                out[what] = str(level["name"])
                break
        else:
            largest = max(memory, key=lambda lv: int(lv["capacity_bytes"]))
            raise InvalidValueError(
                f"the model's {what} need {size:,} bytes ({dict(need)}), but no memory level holds them "
                f"(largest: {largest['name']!r}, {int(largest['capacity_bytes']):,} bytes)",
                key=f"{device}.memory")
    return out


def energy_report(device: Mapping, *, module_sizes: Sequence[int], block_mask, n_in: int, n_out: int,
                  activations, macs, bias_adds, fn_evals, total_macs: int, n_steps: int, batch: int = 1,
                  dtype: str = "float64", step: float | None = None) -> dict:
    """Memory traffic per level and energy of a run, run-wide and per module.

    Parameters
    ----------
    device : mapping
        The ``[device]`` table of a profile (:meth:`Device.to_dict`).
    module_sizes, block_mask, n_in, n_out :
        The model's structure (as for :func:`~clocksim.cost.update_cost`).
    activations, macs, bias_adds, fn_evals : int array_like, shape (g,)
        Per module, what ran (a summary's ``per_module`` counts, whole batch).
    total_macs : int
        The summary's ``macs`` (activations' and readouts' multiply-adds).
    n_steps, batch : int
    dtype : str
        The run's dtype; the device must list it.
    step : float, optional
        Seconds per input step; without it ``static_j`` is None.

    Returns
    -------
    dict
        ``{"memory": {level: {"read", "written"}}, "energy": {total_j, per_step_j, compute_j,
        memory_j: {level: J}, static_j, run_time_s}, "per_module": [{"memory": ..., "energy":
        {total_j, compute_j, memory_j}}, ...]}``.
    """
    name = str(device.get("name", "device"))
    dtype = dtype_name(dtype)
    costs = _dtype_costs(device, name, dtype)
    itemsize = dtype_itemsize(dtype)
    levels = list(device["memory"])
    where = place(levels, footprint(module_sizes, block_mask, n_in, n_out, itemsize, batch))
    traffic = update_cost(module_sizes, block_mask, n_in, itemsize).traffic(batch)   # per activation, (g,) each
    acts = np.asarray(activations, dtype=np.int64)
    read, written = _level_traffic(levels, where, traffic, acts)
    mem_j = {lv["name"]: (read[lv["name"]] * float(lv["read_pj_per_byte"])
                          + written[lv["name"]] * float(lv["write_pj_per_byte"])) * PJ for lv in levels}   # (g,)
    mac_pj, add_pj, act_pj = float(costs["mac_pj"]), float(costs["add_pj"]), float(costs["activation_pj"])
    module_compute = (np.asarray(macs, dtype=np.float64) * mac_pj + np.asarray(bias_adds, dtype=np.float64) * add_pj
                      + np.asarray(fn_evals, dtype=np.float64) * act_pj) * PJ                            # (g,)
    compute_j = (int(total_macs) * mac_pj + int(np.sum(bias_adds)) * add_pj + int(np.sum(fn_evals)) * act_pj) * PJ
    memory_j = {k: float(v.sum()) for k, v in mem_j.items()}
    run_time = None if step is None else float(step) * int(n_steps)
    static_j = None if run_time is None else float(device["static_power_w"]) * run_time
    total = compute_j + sum(memory_j.values()) + (static_j or 0.0)
    per_module = _per_module(acts.size, read, written, mem_j, module_compute)
    return {
        "memory": {k: {"read": int(read[k].sum()), "written": int(written[k].sum())} for k in read},
        "energy": {"total_j": total, "per_step_j": total / int(n_steps) if int(n_steps) else None,
                   "compute_j": compute_j, "memory_j": memory_j, "static_j": static_j, "run_time_s": run_time,
                   "device": name, "dtype": dtype, "placement": where},
        "per_module": per_module,
    }


def _dtype_costs(device: Mapping, name: str, dtype: str) -> Mapping:
    """The device's ``[device.<dtype>]`` table; a dtype it does not list is refused by name."""
    if dtype not in device:
        listed = [k for k in device if isinstance(device[k], Mapping)]
        raise InvalidValueError(f"device {name!r} lists no {dtype!r} table (it lists {', '.join(listed)})",
                                key=f"device.{dtype}")
    return device[dtype]


def _level_traffic(levels: Sequence[Mapping], where: Mapping[str, str], traffic: Mapping, acts: np.ndarray):
    """Bytes read and written per memory level and module, ``({level: (g,)}, {level: (g,)})``: the weights
    read from their level, the states read and the state and messages written at the states' level."""
    read = {lv["name"]: np.zeros(acts.size, dtype=np.int64) for lv in levels}
    written = {lv["name"]: np.zeros(acts.size, dtype=np.int64) for lv in levels}
    read[where["weights"]] += acts * traffic["weights"]
    read[where["states"]] += acts * traffic["state_read"]
    written[where["states"]] += acts * (traffic["state_written"] + traffic["messages"])
    return read, written


def _per_module(g: int, read: Mapping, written: Mapping, mem_j: Mapping, module_compute: np.ndarray) -> list[dict]:
    """One ``{"memory", "energy"}`` entry per module, from the per-level ``(g,)`` arrays."""
    per_module = []
    for i in range(g):
        m_j = {k: float(v[i]) for k, v in mem_j.items()}
        per_module.append({
            "memory": {k: {"read": int(read[k][i]), "written": int(written[k][i])} for k in read},
            "energy": {"total_j": float(module_compute[i]) + sum(m_j.values()), "compute_j": float(module_compute[i]),
                       "memory_j": m_j},
        })
    return per_module
