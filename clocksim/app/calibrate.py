"""``clocksim calibrate``: measure this machine's activation kernel and write a ``host`` device profile.

What is measured
    A CW-RNN of two modules of ``k`` units (both period 1, dense: each reads both, one input, one output)
    runs ``L`` steps on the compiled engine, so each step is two activations of the kernel
    (:func:`clocksim.kernels.core.run_sequence`: a module's block product, bias, ``tanh``) plus the step's
    readout and bookkeeping. Two a step is what a CW-RNN with exponential periods fires on average
    (``sum 2**-i`` tends to 2), so the cost of a step beyond its activations is shared out as in such
    runs. The CPU time of the run (``time.process_time``: time this process was not running is left out,
    since the machine is shared) over ``2 L`` is one activation's time ``t(k)``.
What is fitted (DESIGN section 11: ``dispatch_s + max(macs / macs_per_s, bytes / bytes_per_s)``)
    * ``dispatch_s`` and ``macs_per_s``: the line ``t = dispatch_s + macs / macs_per_s`` of least relative
      error (every size counts alike, small and large) through the sizes whose weights fit in the
      last-level cache (compute-bound).
    * Memory levels: ``cache`` (the last-level cache's size, from ``/sys/devices/system/cpu``) with the
      highest bandwidth any size that fits in it reached (bytes of one activation,
      :meth:`clocksim.cost.UpdateCost.traffic`, over ``t - dispatch_s``: a lower bound of the cache's
      bandwidth, so it binds no more than measured), and ``ram`` (the physical memory) with the bandwidth
      at a size whose weights are several times the cache (memory-bound).
    Energies are not measured: the profile carries the Horowitz 45 nm values, marked as estimates, and
    no static power.
Dtypes
    The compiled kernels compute in float64 only, so the profile lists ``float64`` alone; a run in
    another dtype on ``host`` is refused by name until the kernels support it.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from ..cost.counts import dtype_itemsize, footprint, update_cost
from ..errors import InvalidValueError
from ..sched.device import Device

__all__ = ["calibrate", "measure_activation", "SIZES"]

#: Module sizes measured: compute-bound ones (the fit), then memory-bound ones (the bandwidth).
SIZES = (8, 16, 32, 64, 128, 256, 512)
#: Largest size tried for the memory-bound point.
MEMORY_SIZES = (768, 1024, 1536, 2048, 2896)
#: Activations a step of the calibration model (the module docstring).
PER_STEP = 2
#: CPU seconds each measurement aims at.
TARGET_S = 0.03


def measure_activation(k: int, repeats: int = 5, n_in: int = 1) -> float:
    """CPU seconds of one activation of a ``k``-unit module of the calibration model (the module docstring).

    Two run lengths ``L`` and ``L / 5`` are timed in turn ``repeats`` times; the difference of their fastest
    times over the difference of their lengths is one step, free of the fixed cost of a call.
    """
    from ..engine import simulate
    from ..model.cwrnn import ClockworkRNN

    model = ClockworkRNN(n_in, 1, [k] * PER_STEP, [1] * PER_STEP, connectivity="dense", seed=0)
    rng = np.random.default_rng(1)

    def run(L: int) -> float:
        x = rng.normal(size=(L, n_in))
        t0 = time.process_time()
        simulate(model, x, engine="compiled", trace="aggregate", keep="none")
        return time.process_time() - t0

    run(8)                                                             # compile, warm the caches
    L = 64
    while run(L) < TARGET_S and L < 1_000_000:
        L *= 2
    short = max(L // 5, 1)
    best_long, best_short = np.inf, np.inf
    for _ in range(repeats):
        best_long = min(best_long, run(L))
        best_short = min(best_short, run(short))
    return max(best_long - best_short, 1e-12) / (L - short) / PER_STEP


def _cache_bytes() -> int:
    """Size of the largest CPU cache (``/sys/devices/system/cpu/cpu0/cache``); 8 MiB when unknown."""
    sizes = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * scale)
    return max(sizes) if sizes else 8 * 1024**2


def _ram_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 16 * 1024**3


def _structure(k: int):
    """Module sizes and block mask of the calibration model."""
    return [k] * PER_STEP, np.ones((PER_STEP, PER_STEP), dtype=bool)


def _traffic_bytes(k: int, itemsize: int) -> int:
    """Bytes one activation of the calibration model moves."""
    u = update_cost(*_structure(k), 1, itemsize)
    return int(sum(int(v[0]) for v in u.traffic().values()))


def _weights(k: int, itemsize: int) -> int:
    return footprint(*_structure(k), 1, 1, itemsize)["weights"]


def calibrate(repeats: int = 5, sizes=SIZES, progress=None) -> Device:
    """Measure (the module docstring) and return the ``host`` profile."""
    say = progress or (lambda text: None)
    dtype = "float64"
    size = dtype_itemsize(dtype)
    cache, ram = _cache_bytes(), _ram_bytes()
    times, macs = [], []
    for k in sizes:
        if _weights(k, size) > cache:
            continue
        t = measure_activation(k, repeats)
        times.append(t)
        macs.append(int(update_cost(*_structure(k), 1).macs[0]))
        say(f"k = {k:5d}: {macs[-1]:>9,} multiply-adds in {t * 1e6:9.3f} us")
    if len(times) < 2:
        raise InvalidValueError(f"got sizes {list(sizes)}, expected at least two whose weights fit in the "
                                f"{cache:,}-byte cache", key="sizes")
    t = np.asarray(times)
    A = np.column_stack([np.ones(len(macs)), np.asarray(macs, dtype=np.float64)]) / t[:, None]
    (dispatch, per_mac), *_ = np.linalg.lstsq(A, np.ones(len(macs)), rcond=None)   # least relative error
    if per_mac <= 0:
        raise InvalidValueError(f"the fit gave {per_mac:.3g} s per multiply-add; the machine is too noisy, "
                                "run again", key="calibrate")
    dispatch = max(float(dispatch), 0.0)
    measured_k = [k for k in sizes if _weights(k, size) <= cache]
    rates = [_traffic_bytes(k, size) / (t_k - dispatch) for k, t_k in zip(measured_k, times) if t_k > dispatch]
    in_cache = measured_k[int(np.argmax(rates))]
    cache_bw = max(rates)             # the most bytes a second any in-cache size moved: binds no more than observed
    big = next((k for k in MEMORY_SIZES if _weights(k, size) >= 4 * cache), MEMORY_SIZES[-1])
    t_big = measure_activation(big, max(2, repeats // 2))
    say(f"k = {big:5d}: {_traffic_bytes(big, size):>9,} bytes in {t_big * 1e6:9.3f} us (memory-bound)")
    ram_bw = _traffic_bytes(big, size) / max(t_big - dispatch, 1e-12)
    ram_bw = min(ram_bw, cache_bw)                     # a level further out is never faster
    measured = (f"clocksim calibrate on {platform.node() or 'this machine'} ({platform.processor() or platform.machine()}), "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    horowitz = "estimate: Horowitz ISSCC 2014 (45 nm) values, not measured"
    data = {"device": {
        "name": "host",
        "description": "This machine's compiled activation kernel, one thread (clocksim calibrate)",
        "source": measured,
        "cores": os.cpu_count() or 1, "cores_source": "os.cpu_count()",
        "static_power_w": 0.0, "static_power_w_source": "not measured: set it to count static energy",
        "dispatch_s": dispatch,
        "dispatch_s_source": f"fit t = dispatch_s + macs / macs_per_s over k = {', '.join(map(str, sizes))}",
        dtype: {"macs_per_s": 1.0 / float(per_mac), "mac_pj": 19.8, "add_pj": 1.8, "activation_pj": 297.0,
                "source": horowitz,
                "macs_per_s_source": f"{measured}: the same fit (one thread, float64)"},
        "memory": [
            {"name": "cache", "capacity_bytes": cache, "bytes_per_s": float(cache_bw),
             "read_pj_per_byte": 12.5, "write_pj_per_byte": 12.5, "source": horowitz,
             "capacity_bytes_source": "largest cache in /sys/devices/system/cpu/cpu0/cache",
             "bytes_per_s_source": f"{measured}: bytes of an activation of k = {in_cache} over its time"},
            {"name": "ram", "capacity_bytes": max(ram, cache + 1), "bytes_per_s": float(ram_bw),
             "read_pj_per_byte": 243.75, "write_pj_per_byte": 243.75, "source": horowitz,
             "capacity_bytes_source": "physical memory (sysconf)",
             "bytes_per_s_source": f"{measured}: bytes of an activation of k = {big} over its time"},
        ],
    }}
    return Device.from_dict(data)


def write_profile(device: Device, path) -> Path:
    """Write ``device`` as a TOML profile at ``path`` (atomically)."""
    from ..trace.core import atomic_write

    path = Path(path)
    text = device.to_toml().encode("utf-8")
    atomic_write(path, lambda f: f.write(text))
    return path
