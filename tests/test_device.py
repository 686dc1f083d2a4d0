"""Device profiles, memory traffic and energy (DESIGN section 11): every number recomputed by hand."""

import math
import re
import tomllib

import numpy as np
import pytest

import clocksim as cs
from clocksim.cost import dtype_itemsize, footprint, update_cost
from clocksim.cost.energy import energy_report, place
from clocksim.sched.device import Device, bundled_devices

SMALL = """
[device]
name = "tiny"
source = "test"
cores = 1
static_power_w = 0.5
dispatch_s = 1e-6
[device.float64]
macs_per_s = 1e6
mac_pj = 10.0
add_pj = 2.0
activation_pj = 30.0
source = "test"
[device.float32]
macs_per_s = 2e6
mac_pj = 4.0
add_pj = 1.0
activation_pj = 12.0
source = "test"
[[device.memory]]
name = "small"
capacity_bytes = 1024
bytes_per_s = 1e6
read_pj_per_byte = 1.0
write_pj_per_byte = 3.0
source = "test"
[[device.memory]]
name = "big"
capacity_bytes = 1048576
bytes_per_s = 5e5
read_pj_per_byte = 7.0
write_pj_per_byte = 11.0
source = "test"
"""


def small_device(text=SMALL, tmp_path=None, name="tiny.toml"):
    if tmp_path is None:
        return Device.from_dict(tomllib.loads(text))
    path = tmp_path / name
    path.write_text(text)
    return Device.load(str(path))


def model(sizes=(3, 2, 2), n_in=2, n_out=1, periods=(1, 2, 4)):
    return cs.ClockworkRNN(n_in, n_out, list(sizes), list(periods), seed=0)


# ---------------------------------------------------------------------- bytes per activation by hand
def test_bytes_per_activation_follow_the_block_sizes():
    m = model()                                  # slow-to-fast: module 0 reads 0, 1, 2; 1 reads 1, 2; 2 reads 2
    u = update_cost(m.module_sizes, m.block_mask, m.n_in, itemsize=8)
    reads = [3 + 2 + 2, 2 + 2, 2]
    ks = [3, 2, 2]
    fan_out = [0, 1, 2]                           # module j's state goes to the faster modules that read it
    t = u.traffic(batch=1)
    assert t["weights"].tolist() == [8 * (k * (r + 2) + k) for k, r in zip(ks, reads)]
    assert t["state_read"].tolist() == [8 * (r + 2) for r in reads]
    assert t["state_written"].tolist() == [8 * k for k in ks]
    assert t["messages"].tolist() == [8 * k * f for k, f in zip(ks, fan_out)]
    t3 = u.traffic(batch=3)                       # weights once, the rest per sequence
    assert t3["weights"].tolist() == t["weights"].tolist()
    assert (t3["state_read"] == 3 * t["state_read"]).all() and (t3["messages"] == 3 * t["messages"]).all()
    assert (u.bytes_read(3) == t3["weights"] + t3["state_read"]).all()
    assert (u.bytes_written(3) == t3["state_written"] + t3["messages"]).all()


def test_float32_moves_exactly_half_the_bytes_of_float64():
    m = model(sizes=(5, 4, 3, 2), periods=(1, 2, 4, 8), n_in=3, n_out=2)
    u64 = update_cost(m.module_sizes, m.block_mask, m.n_in, dtype_itemsize("float64"))
    u32 = update_cost(m.module_sizes, m.block_mask, m.n_in, dtype_itemsize("float32"))
    for k, v in u64.traffic(2).items():
        assert (2 * u32.traffic(2)[k] == v).all(), k
    f64, f32 = (footprint(m.module_sizes, m.block_mask, 3, 2, dtype_itemsize(d)) for d in ("float64", "float32"))
    assert f64 == {k: 2 * v for k, v in f32.items()}
    k = m.module_sizes
    rows = sum(k[i] * (sum(k[j] for j in m.inputs_of(i)) + 3 + 1) for i in range(m.g))   # W_rec, W_in, b
    assert f64["weights"] == 8 * (rows + 2 * m.n + 2)                                      # + W_out, b_out
    inbox = sum(k[j] for i in range(m.g) for j in m.inputs_of(i) if j != i)
    assert f64["states"] == 8 * (m.n + 3 + inbox)
    assert dtype_itemsize(np.float32) == 4 and dtype_itemsize(np.dtype("float64")) == 8


# ---------------------------------------------------------------------- profiles
@pytest.mark.parametrize("name", bundled_devices())
def test_every_bundled_number_has_a_source(name):
    d = Device.load(name)
    raw = d.to_dict()
    numbers = {f"device.{k}" for k, v in raw.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for dt in d.dtypes:
        numbers |= {f"device.{dt}.{k}" for k, v in raw[dt].items() if isinstance(v, (int, float))}
    for i, lv in enumerate(raw["memory"]):
        numbers |= {f"device.memory[{i}].{k}" for k, v in lv.items() if isinstance(v, (int, float))}
    sources = d.sources()
    assert set(sources) == numbers
    assert all(isinstance(s, str) and s.strip() for s in sources.values())
    assert [m.capacity_bytes for m in d.memory] == sorted(m.capacity_bytes for m in d.memory)


def test_the_bundled_set_and_the_horowitz_table():
    assert {"horowitz-45nm", "cortex-m4-like", "cortex-m7-like", "cortex-a53-like"} <= set(bundled_devices())
    h = Device.load("horowitz-45nm")
    table = {"float32": (3.7, 0.9), "float16": (1.1, 0.4), "int8": (0.2, 0.03), "int32": (3.1, 0.1)}  # mult, add
    for dtype, (mult, add) in table.items():
        assert h.dtypes[dtype].mac_pj == pytest.approx(mult + add, rel=1e-12) and h.dtypes[dtype].add_pj == add
    assert [m.read_pj_per_byte * 8 for m in h.memory[:3]] == [10.0, 20.0, 100.0]
    assert 1300 <= h.memory[3].read_pj_per_byte * 8 <= 2600
    assert "estimate" in h.sources()["device.float64.mac_pj"]


def test_a_profile_reads_back_from_its_toml(tmp_path):
    d = Device.load("cortex-m7-like")
    (tmp_path / "m7.toml").write_text(d.to_toml())
    e = Device.load(str(tmp_path / "m7.toml"))
    assert e.to_dict() == d.to_dict() and e.dtypes == d.dtypes and e.memory == d.memory
    assert cs.Device.load(e) is e


# ---------------------------------------------------------------------- placement and time
def test_placement_puts_weights_then_states_in_the_smallest_level_that_holds_them():
    levels = [{"name": "a", "capacity_bytes": 100}, {"name": "b", "capacity_bytes": 1000}]
    assert place(levels, {"weights": 60, "states": 40}) == {"weights": "a", "states": "a"}
    assert place(levels, {"weights": 60, "states": 41}) == {"weights": "a", "states": "b"}
    assert place(levels, {"weights": 101, "states": 10}) == {"weights": "b", "states": "a"}
    with pytest.raises(cs.InvalidValueError, match=r"weights need 1,001 bytes.*largest: 'b'"):
        place(levels, {"weights": 1001, "states": 0})


def test_execution_times_are_the_roofline_by_hand():
    d = small_device()
    m = model()
    for dtype, c in d.dtypes.items():
        size = dtype_itemsize(dtype)
        need = footprint(m.module_sizes, m.block_mask, m.n_in, m.n_out, size)
        where = d.placement(m, dtype)
        bw = {lv.name: lv.bytes_per_s for lv in d.memory}
        assert where == place([{"name": lv.name, "capacity_bytes": lv.capacity_bytes} for lv in d.memory], need)
        u = update_cost(m.module_sizes, m.block_mask, m.n_in, size)
        t = u.traffic()
        mem = t["weights"] / bw[where["weights"]] + (t["state_read"] + t["state_written"] + t["messages"]) \
            / bw[where["states"]]
        want = d.dispatch_s + np.maximum(u.macs / c.macs_per_s, mem)
        assert np.array_equal(d.execution_times(m, dtype), want)
    big = model(sizes=(12, 12), periods=(1, 2))   # float64 weights outgrow the small level
    assert d.placement(big, "float64")["weights"] == "big"


def test_a_model_that_fits_nowhere_is_refused_naming_the_file(tmp_path):
    d = small_device(SMALL.replace("1048576", "2048"), tmp_path)
    with pytest.raises(cs.InvalidValueError, match=r"tiny\.toml: device\.memory: the model's weights need"):
        d.execution_times(model(sizes=(30, 30), periods=(1, 2)), "float64")


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("edit, key, match", [
    (("macs_per_s = 2e6\n", ""), "device.float32.macs_per_s", "missing"),
    (("cores = 1\n", ""), "device.cores", "missing"),
    (("macs_per_s = 2e6", "macs_per_s = -2e6"), "device.float32.macs_per_s", "a rate > 0"),
    (("mac_pj = 4.0", "mac_pj = -4.0"), "device.float32.mac_pj", ">= 0"),
    (("mac_pj = 4.0", "mac_pj = nan"), "device.float32.mac_pj", "a finite number"),
    (("bytes_per_s = 5e5", "bytes_per_s = inf"), "device.memory[1].bytes_per_s", "a finite number"),
    (("static_power_w = 0.5", "static_power_w = -1"), "device.static_power_w", ">= 0"),
    (("capacity_bytes = 1024", "capacity_bytes = 4"), "device.memory[0].capacity_bytes", "nothing fits"),
    (("capacity_bytes = 1048576", "capacity_bytes = 512"), "device.memory[1].capacity_bytes", "smallest up"),
    (("activation_pj = 12.0", "activation_pj = 12.0\nactivaton_pj = 3"), "device.float32.activaton_pj",
     "did you mean 'activation_pj'"),
    (('name = "tiny"\n', 'name = "tiny"\nsource_x = 1\n'), "device.source_x", "unknown key"),
])
def test_a_bad_profile_names_the_file_and_key(tmp_path, edit, key, match):
    text = SMALL.replace(*edit, 1)
    assert text != SMALL
    with pytest.raises(cs.ClocksimError, match=match) as info:
        small_device(text, tmp_path, "bad.toml")
    assert info.value.key == key and info.value.file.endswith("bad.toml")
    assert str(info.value).startswith(f"{info.value.file}: {key}: ")


def test_an_unknown_bundled_name_suggests_the_closest():
    with pytest.raises(cs.InvalidValueError, match=r"did you mean 'cortex-m4-like'") as info:
        Device.load("cortex-m4-lik")
    assert info.value.key == "device"
    with pytest.raises(cs.FileFormatError, match="no such device file"):
        Device.load("missing-profile.toml")


def test_a_dtype_the_device_does_not_list_is_refused_by_name(tmp_path):
    d = small_device(SMALL, tmp_path)
    with pytest.raises(cs.InvalidValueError, match=r"tiny\.toml: device\.int8: device 'tiny' lists no 'int8'"):
        d.execution_times(model(), "int8")
    with pytest.raises(cs.InvalidValueError, match=r"dtype: got 'float128'"):
        d.execution_times(model(), "float128")
    with pytest.raises(cs.InvalidValueError, match="device.float16"):
        energy_report(d.to_dict(), module_sizes=[2], block_mask=[[True]], n_in=1, n_out=1, activations=[1],
                      macs=[6], bias_adds=[2], fn_evals=[2], total_macs=8, n_steps=1, dtype="float16")


# ---------------------------------------------------------------------- energy from what ran
def run_on(device, m=None, L=24, batch=None, execution=None, **options):
    """A run with ``device``: its execution times need ``step`` (seconds per step), unless ``execution`` is given."""
    m = m or model()
    shape = (L, m.n_in) if batch is None else (batch, L, m.n_in)
    x = np.random.default_rng(0).normal(size=shape)
    compute = cs.ComputeModel(device=device, execution=execution)
    return cs.simulate(m, x, engine="events", compute=compute, **options).trace


@pytest.mark.parametrize("batch", [None, 3])
def test_energy_is_recomputed_by_hand_from_the_summary_counts(batch):
    d = small_device()
    m = model()
    s = run_on(d, m, batch=batch, execution=[0.25, 0.5, 0.5]).summary()     # times in steps: no step
    c = d.dtypes["float64"]
    e = s["energy"]
    assert e["compute_j"] == (s["macs"] * c.mac_pj + s["bias_adds"] * c.add_pj + s["fn_evals"] * c.activation_pj) * 1e-12
    for lv in d.memory:
        got = s["memory"][lv.name]
        assert e["memory_j"][lv.name] == pytest.approx(
            (got["read"] * lv.read_pj_per_byte + got["written"] * lv.write_pj_per_byte) * 1e-12, rel=1e-12)
    assert sum(v["read"] for v in s["memory"].values()) == s["bytes_read"]
    assert sum(v["written"] for v in s["memory"].values()) == s["bytes_written"]
    assert e["static_j"] is None and e["run_time_s"] is None                  # no step: no static energy
    assert e["total_j"] == pytest.approx(e["compute_j"] + sum(e["memory_j"].values()), rel=1e-12)
    assert e["per_step_j"] == pytest.approx(e["total_j"] / s["n_steps"], rel=1e-12)
    # per module: the same formula over its own counts; the modules and the readout make up compute_j
    for row in s["per_module"]:
        assert row["energy"]["compute_j"] == pytest.approx(
            (row["macs"] * c.mac_pj + row["bias_adds"] * c.add_pj + row["fn_evals"] * c.activation_pj) * 1e-12)
        assert sum(v["read"] for v in row["memory"].values()) == row["bytes_read"]
    readout = e["compute_j"] - sum(r["energy"]["compute_j"] for r in s["per_module"])
    assert readout == pytest.approx(s["readout_macs"] * c.mac_pj * 1e-12, rel=1e-9)


def test_the_bytes_of_a_run_are_its_activations_times_the_block_sizes():
    d = small_device()
    m = model()
    B = 2
    s = run_on(d, m, batch=B, step=1e-3).summary()
    u = update_cost(m.module_sizes, m.block_mask, m.n_in, 8)
    acts = np.array([r["activations"] for r in s["per_module"]])
    assert s["bytes_read"] == int(acts @ (u.weight_bytes + B * u.state_bytes))
    assert s["bytes_written"] == int(acts @ (B * 8 * np.array(m.module_sizes) + u.message_bytes * B))
    fan_out = u.message_bytes // (8 * np.array(m.module_sizes))
    assert s["messages"] == int(acts @ fan_out)               # the messages counted are the messages sent
    assert s["energy"]["placement"] == d.placement(m, "float64", B)
    assert s["memory"]["big"] == {"read": 0, "written": 0}    # everything fits in the small level


def test_static_energy_needs_real_time():
    d = small_device()
    s = run_on(d, L=40, step="10 ms").summary()
    e = s["energy"]
    assert e["run_time_s"] == pytest.approx(0.4) and e["static_j"] == pytest.approx(0.5 * 0.4)
    assert e["total_j"] == pytest.approx(e["compute_j"] + sum(e["memory_j"].values()) + e["static_j"])
    busy = [r["busy"] for r in s["per_module"]]                 # seconds: the device's times drove the schedule
    m = model()
    assert busy == pytest.approx(list(np.array([r["activations"] for r in s["per_module"]])
                                      * d.execution_times(m)), rel=1e-9)


def test_a_run_without_a_device_has_no_energy_keys():
    s = cs.simulate(model(), np.zeros((8, 2)), engine="events", compute=cs.ComputeModel()).trace.summary()
    assert "energy" not in s and "memory" not in s and s["bytes_written"] > 0


# ---------------------------------------------------------------------- the figure
def test_the_energy_figure_adds_up_to_the_total():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = run_on(small_device(), L=16, step=1e-3)
    s = trace.summary()
    ax, ax_run = cs.plot_energy(trace)
    try:
        heights = sum(p.get_height() for p in ax_run.patches)
        assert heights * unit_of(ax_run) == pytest.approx(s["energy"]["total_j"], rel=1e-9)
        assert [t.get_text() for t in ax.get_xticklabels()] == [*trace.meta["labels"], "readout"]
        bars = np.zeros(len(ax.get_xticks()))
        for p in ax.patches:
            bars[int(round(p.get_x() + p.get_width() / 2))] += p.get_height() * unit_of(ax)
        assert bars[:-1] == pytest.approx([r["energy"]["total_j"] for r in s["per_module"]], rel=1e-9)
    finally:
        plt.close(ax.figure)
    with pytest.raises(cs.InvalidValueError, match="no device"):
        cs.plot_energy(cs.simulate(model(), np.zeros((4, 2))).trace)


def unit_of(ax):
    """Joules per unit of the axis (its label ends in ``(uJ)`` etc.)."""
    return {"J": 1, "mJ": 1e-3, "uJ": 1e-6, "nJ": 1e-9, "pJ": 1e-12}[ax.get_ylabel().split("(")[1][:-1]]


def test_device_energy_prices_any_run_through_the_summary_computation():
    d = small_device()
    trace = run_on(d, step=1e-3)
    assert d.energy(trace)["energy"] == trace.summary()["energy"]
    e32 = d.energy(trace, "float32")
    s = trace.summary()
    assert sum(v["read"] for v in e32["memory"].values()) * 2 == s["bytes_read"]      # float32: half the bytes
    c = d.dtypes["float32"]
    assert e32["energy"]["compute_j"] == (s["macs"] * c.mac_pj + s["bias_adds"] * c.add_pj
                                          + s["fn_evals"] * c.activation_pj) * 1e-12
    plain = cs.simulate(model(), np.zeros((24, 2))).trace            # compiled, no device: the same work
    assert d.energy(plain, step=1e-3)["energy"] == s["energy"]


def test_the_readout_job_takes_the_devices_roofline():
    d = small_device()
    m = model()
    c, size = d.dtypes["float64"], 8
    macs = m.n * m.n_out
    moved = size * (m.n_out * m.n + m.n_out + m.n + m.n_out)
    bw = {lv.name: lv.bytes_per_s for lv in d.memory}[d.placement(m)["weights"]]
    assert d.readout_time(m) == d.dispatch_s + max(macs / c.macs_per_s, moved / bw)
    s = run_on(d, m, step=1e-3).summary()
    assert s["readout_response"]["max"] >= d.readout_time(m) * (1 - 1e-9)


def test_a_device_summary_has_exactly_the_declared_keys():
    from clocksim.trace.summary import SUMMARY_KEYS
    s = run_on(small_device(), step=1e-3).summary()
    declared = {k for k, spec in SUMMARY_KEYS.items() if spec.when == "device"}
    seen = {"memory", "energy", "per_module[].memory", "per_module[].energy"}
    seen |= {f"energy.{k}" for k in s["energy"]} | {"memory.<level>" for _ in s["memory"]}
    assert seen == declared
    assert all(set(v) == {"read", "written"} for v in s["memory"].values())


# ---------------------------------------------------------------------- scenarios
KWS = """
[model]
module_sizes = 8
periods = [1, 2, 4]
[input]
kind = "noise"
steps = 32
channels = 3
[engine]
name = "events"
{step}
[engine.compute]
device = "{device}"
"""


def scenario(tmp_path, device="cortex-m7-like", step='step = "10 ms"'):
    path = tmp_path / "s.toml"
    path.write_text(KWS.format(device=device, step=step))
    return path


def test_a_scenario_names_a_bundled_device_or_a_file_beside_it(tmp_path):
    from clocksim.app.execute import execute
    from clocksim.app.scenario import load_scenario

    s = execute(load_scenario(scenario(tmp_path))).summary
    assert s["energy"]["device"] == "cortex-m7-like" and s["energy"]["static_j"] == pytest.approx(0.03 * 0.32)
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "tiny.toml").write_text(SMALL)
    s = execute(load_scenario(scenario(tmp_path, "chips/tiny.toml"))).summary
    assert s["energy"]["device"] == "tiny" and set(s["memory"]) == {"small", "big"}


@pytest.mark.parametrize("device, step, match", [
    ("cortex-m7-lik", 'step = "10 ms"', r"s\.toml: engine\.compute\.device: .*did you mean 'cortex-m7-like'"),
    ("nowhere.toml", 'step = "10 ms"', r"nowhere\.toml: no such device file"),
    ("cortex-m7-like", "", r"s\.toml: engine\.compute\.device: a device gives execution times in seconds"),
])
def test_a_bad_device_key_ends_with_one_line(tmp_path, capsys, device, step, match):
    from clocksim.app.cli import main

    assert main(["run", str(scenario(tmp_path, device, step)), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err), err
    assert not (tmp_path / "out").exists()


def test_a_bad_profile_in_a_scenario_names_the_profile_and_key(tmp_path, capsys):
    from clocksim.app.cli import main

    (tmp_path / "bad.toml").write_text(SMALL.replace("bytes_per_s = 5e5", "bytes_per_s = -5e5"))
    assert main(["run", str(scenario(tmp_path, "bad.toml")), "--out", str(tmp_path / "out")]) == 2
    assert re.search(r"bad\.toml: device\.memory\[1\]\.bytes_per_s: got -500000\.0, expected a rate > 0",
                     capsys.readouterr().err)


def test_a_run_with_a_device_writes_the_energy_figure_and_report(tmp_path):
    from clocksim.app.cli import main

    out = tmp_path / "out"
    assert main(["run", str(scenario(tmp_path)), "--out", str(out), "--quiet"]) == 0
    assert (out / "energy.png").is_file()
    report = (out / "report.md").read_text()
    assert "## Energy" in report and "Weights in `dtcm`" in report


# ---------------------------------------------------------------------- calibrate
@pytest.mark.slow
def test_calibrate_writes_a_host_profile_that_predicts_its_own_kernel(tmp_path, capsys):
    from clocksim.app.calibrate import measure_activation
    from clocksim.app.cli import main

    assert main(["calibrate", "--out", str(tmp_path / "host.toml"), "--repeats", "2"]) == 0
    host = Device.load(str(tmp_path / "host.toml"))
    assert host.name == "host" and list(host.dtypes) == ["float64"]
    assert [m.name for m in host.memory] == ["cache", "ram"]
    k = 128
    m = cs.ClockworkRNN(1, 1, [k, k], [1, 1], connectivity="dense")      # the calibration model
    predicted = float(host.execution_times(m)[0])
    measured = measure_activation(k, repeats=3)
    assert 0.5 < predicted / measured < 2.0                     # a loose bound: the machine is shared
    with pytest.raises(cs.InvalidValueError, match="lists no 'float32'"):
        host.execution_times(m, "float32")
    assert main(["calibrate", "--out", str(tmp_path / "host.txt")]) == 2


def test_a_compute_model_takes_a_device_by_name_or_path(tmp_path):
    assert cs.ComputeModel(device="cortex-m4-like").device == Device.load("cortex-m4-like")
    (tmp_path / "tiny.toml").write_text(SMALL)
    assert cs.ComputeModel(device=str(tmp_path / "tiny.toml")).device.name == "tiny"
    with pytest.raises(cs.InvalidValueError, match="did you mean 'cortex-m4-like'"):
        cs.ComputeModel(device="cortex-m4")
