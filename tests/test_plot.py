"""Plots, tested on the data they draw (counts, labels, ranges), never on pixels. Agg backend (conftest)."""

import matplotlib.pyplot as plt
import matplotlib.colors as mcolors
import numpy as np
import pytest
from matplotlib.collections import EventCollection
from matplotlib.image import AxesImage
from matplotlib.patches import StepPatch

import clocksim as cs
from clocksim.plot import _format as fmt
from clocksim.app.cli import main


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sync_trace():
    model = cs.ClockworkRNN(2, 1, [3, 2, 4, 2], [1, 2, 4, 8], start=1, seed=0)
    return cs.simulate(model, np.random.default_rng(0).normal(size=(20, 2))).trace


@pytest.fixture(scope="module")
def queued():
    """Integer clocks, but updates queue for 2 cores and messages take 0.3: waits, staleness, misses."""
    model = cs.ClockworkRNN(2, 1, [8] * 4, [1, 2, 4, 8], seed=0)
    return cs.simulate(model, np.random.default_rng(1).normal(size=(40, 2)), engine="events",
                       compute=cs.ComputeModel(cores=2, throughput=300, overhead=0.05, readout=False), latency=0.3,
                       deadline=1.0)


@pytest.fixture(scope="module")
def scheduled():
    """A scheduled compute model: preemptive rate-monotonic on 2 cores, the readout a job, real step."""
    model = cs.ClockworkRNN(2, 1, [8] * 6, [1, 2, 4, 8, 16, 32], seed=0)
    compute = cs.ComputeModel(cores=2, preemptive=True, execution=[0.4, 0.5, 0.6, 0.7, 0.9, 1.2, 0.1],
                              context_switch=0.01)
    return cs.simulate(model, np.random.default_rng(1).normal(size=(96, 2)), engine="events", compute=compute,
                       deadline=1.2, step=0.01)


@pytest.fixture(scope="module")
def async_run():
    """Real-valued firing times (explicit clocks), 2 cores, link latency."""
    rng = np.random.default_rng(2)
    L = 30
    clocks = []
    for T in (1, 2, 4):
        t = np.cumsum(rng.exponential(T, size=3 * L // T))
        clocks.append(cs.Explicit(t[t < L - 1]))
    model = cs.ClockworkRNN(2, 1, [4, 4, 4], clocks, seed=0)
    return cs.simulate(model, rng.normal(size=(L, 2)), engine="events",
                       compute=cs.ComputeModel(cores=2, throughput=200, overhead=0.05, readout=False), latency=0.2,
                       deadline=0.3)


@pytest.fixture(scope="module")
def long_trace():
    model = cs.ClockworkRNN(1, 1, [2] * 6, cs.exponential_periods(6), seed=0)
    return cs.simulate(model, np.zeros((20_000, 1))).trace


def marks(ax):
    """Positions drawn per row (EventCollections, in y order)."""
    cols = sorted((c for c in ax.collections if isinstance(c, EventCollection)), key=lambda c: c.get_lineoffset())
    return [np.sort(c.get_positions()) for c in cols]


def by_gid(ax, gid):
    (artist,) = [a for a in ax.get_children() if a.get_gid() == gid]
    return artist


def rects_x(collection):
    """(N, 2) left and right edges of a PolyCollection's rectangles."""
    return np.array([p.vertices[[0, 2], 0] for p in collection.get_paths()])


def labels_fastest_first(trace):
    order = np.argsort(trace.meta["periods"], kind="stable")
    return [trace.meta["labels"][i] for i in order], order


# ------------------------------------------------------------------ activity


class TestActivity:
    @pytest.mark.parametrize("which", ["sync", "queued", "async"])
    def test_one_mark_per_activation_in_its_module_row(self, which, sync_trace, queued, async_run):
        trace = {"sync": sync_trace, "queued": queued.trace, "async": async_run.trace}[which]
        ax = cs.plot_activity(trace)
        rows = marks(ax)
        assert sum(r.size for r in rows) == len(trace)
        _, order = labels_fastest_first(trace)
        act = trace.activations
        for row, module in zip(rows, order):
            np.testing.assert_array_equal(row, np.sort(act["time"][act["module"] == module]))
        assert not any(isinstance(a, AxesImage) for a in ax.get_images())

    def test_y_labels_are_the_modules_fastest_at_top(self, sync_trace):
        ax = cs.plot_activity(sync_trace)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["M1 T=1", "M2 T=2", "M3 T=4", "M4 T=8"]
        assert ax.get_ylim() == (3.5, -0.5)                                 # row 0 (fastest) at the top

    def test_modules_out_of_period_order_are_sorted_fastest_first(self, rng):
        model = cs.ClockworkRNN(1, 1, [2, 2, 2], [4, 1, 2], connectivity="dense")
        trace = cs.simulate(model, rng.normal(size=(12, 1))).trace
        ax = cs.plot_activity(trace)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["M2 T=1", "M3 T=2", "M1 T=4"]
        assert [r.size for r in marks(ax)] == [12, 6, 3]

    def test_x_range_is_the_run(self, sync_trace, queued, async_run):
        assert cs.plot_activity(sync_trace).get_xlim() == (0.5, 20.5)      # start=1, steps centred
        assert cs.plot_activity(queued.trace).get_xlim() == (-0.5, 39.5)
        assert cs.plot_activity(async_run.trace).get_xlim() == (0.0, 30.0)  # real times: [first input, last + 1)
        assert cs.plot_activity(async_run.trace).get_xlabel() == "model time (steps)"

    def test_steps_selects_a_window(self, sync_trace):
        ax = cs.plot_activity(sync_trace, steps=5)
        assert ax.get_xlim() == (0.5, 5.5)
        assert sum(r.size for r in marks(ax)) == int((sync_trace.activations["time"] < 6).sum())
        ax = cs.plot_activity(sync_trace, steps=(8, 16))
        t = sync_trace.activations["time"]
        assert sum(r.size for r in marks(ax)) == int(((t >= 8) & (t < 16)).sum())
        assert ax.get_xlim() == (7.5, 15.5)

    def test_long_runs_are_aggregated_and_counts_add_up(self, long_trace):
        ax = cs.plot_activity(long_trace)
        (image,) = ax.get_images()
        counts = np.ma.filled(image.get_array(), 0)                       # (g, bins), zeros masked
        assert counts.shape[0] == 6 and counts.shape[1] <= ax.get_window_extent().width
        assert counts.sum() == len(long_trace)
        np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(long_trace.activations["module"]))
        assert "activations per" in ax.get_title() and "bin" in ax.get_title()
        assert marks(ax) == []
        assert image.get_extent()[0] == -0.5 and ax.get_xlim() == (-0.5, 19_999.5)
        # bins hold whole multiples of the largest period: every bin sees the same number of firings
        assert np.all(counts[:, :-1] == counts[:, :1])

    def test_aggregate_can_be_forced(self, sync_trace, async_run):
        for trace in (sync_trace, async_run.trace):
            ax = cs.plot_activity(trace, aggregate=True)
            counts = np.ma.filled(ax.get_images()[0].get_array(), 0)
            assert counts.sum() == len(trace)
            _, order = labels_fastest_first(trace)
            np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(trace.activations["module"])[order])
            assert marks(ax) == []

    def test_draws_into_the_given_axes(self, sync_trace):
        fig, ax = plt.subplots()
        assert cs.plot_activity(sync_trace, ax=ax) is ax
        assert fig.axes[0] is ax

    def test_rejects_what_is_not_a_trace(self, sync_trace):
        with pytest.raises(TypeError, match="trace: got dict, expected a clocksim Trace"):
            cs.plot_activity({"activations": []})
        with pytest.raises(ValueError, match="steps: got window"):
            cs.plot_activity(sync_trace, steps=(5, 2))
        with pytest.raises(ValueError, match="meta has no 'labels'"):
            cs.plot_activity(cs.Trace(sync_trace.activations, meta={"periods": [1]}))


# ------------------------------------------------------------------ gantt


class TestGantt:
    def test_one_wait_and_one_compute_bar_per_activation(self, queued):
        trace = queued.trace
        ax = cs.plot_gantt(trace)
        act = trace.activations
        waits, computes = rects_x(by_gid(ax, "queue wait")), rects_x(by_gid(ax, "compute"))  # (A, 2) x0, x1
        assert waits.shape == computes.shape == (len(trace), 2)
        np.testing.assert_array_equal(waits, np.stack([act["time"], act["start"]], 1))
        np.testing.assert_array_equal(computes, np.stack([act["start"], act["end"]], 1))
        assert (act["start"] > act["time"]).any()                              # some did queue

    def test_rows_are_cores_and_bars_sit_on_their_core(self, queued):
        trace = queued.trace
        ax = cs.plot_gantt(trace)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["core 0", "core 1", "readouts"]
        rows = np.array([np.round(p.vertices[:, 1].mean()) for p in by_gid(ax, "compute").get_paths()])
        np.testing.assert_array_equal(rows, trace.activations["core"])

    def test_misses_highlighted_as_in_the_trace(self, queued, async_run):
        for trace in (queued.trace, async_run.trace):
            ax = cs.plot_gantt(trace)
            missed = trace.readouts[trace.readouts["missed"]]
            assert missed.size > 0
            np.testing.assert_array_equal(by_gid(ax, "deadline misses").get_xdata(), missed["time"])
            assert f"{missed.size} of {trace.readouts.size} readouts" in ax.get_title()

    def test_x_range_covers_the_last_compute(self, async_run):
        trace = async_run.trace
        lo, hi = cs.plot_gantt(trace).get_xlim()
        assert lo == 0.0 and hi >= trace.activations["end"].max()

    def test_without_compute_model_rows_are_modules(self, sync_trace):
        ax = cs.plot_gantt(sync_trace)
        names, _ = labels_fastest_first(sync_trace)
        assert [t.get_text() for t in ax.get_yticklabels()] == names + ["readouts"]
        assert len(by_gid(ax, "compute").get_paths()) == len(by_gid(ax, "queue wait").get_paths()) == len(sync_trace)
        assert "instantaneous" in ax.get_title()
        assert by_gid(ax, "deadline misses").get_xdata().size == 0

    def test_window(self, queued):
        ax = cs.plot_gantt(queued.trace, steps=(10, 20))
        act = queued.trace.activations                   # every activation overlapping the window, whole
        assert len(by_gid(ax, "compute").get_paths()) == int(((act["time"] < 20) & (act["end"] >= 10)).sum())
        assert ax.get_xlim()[0] == 9.5


class TestScheduledGantt:
    def test_one_bar_per_stretch_and_one_wait_per_job(self, scheduled):
        trace = scheduled.trace
        ax = cs.plot_gantt(trace)
        jobs, segs = trace.jobs, trace.segments
        assert (jobs["preemptions"] > 0).any()
        np.testing.assert_array_equal(rects_x(by_gid(ax, "compute")), np.stack([segs["start"], segs["end"]], 1))
        np.testing.assert_array_equal(rects_x(by_gid(ax, "queue wait")), np.stack([jobs["release"], jobs["start"]], 1))
        rows = np.array([np.round(p.vertices[:, 1].mean()) for p in by_gid(ax, "compute").get_paths()])
        np.testing.assert_array_equal(rows, segs["core"])
        assert len(by_gid(ax, "preempted").get_segments()) == int(jobs["preemptions"].sum())

    def test_window_keeps_every_job_that_overlaps_it(self, scheduled):
        trace = scheduled.trace
        jobs = trace.jobs
        ax = cs.plot_gantt(trace, steps=(30.25, 40.0))
        inside = (jobs["release"] < 40.0) & (jobs["finish"] >= 30.25)
        assert (inside & (jobs["release"] < 30.25)).any()                     # some started before the window
        assert len(by_gid(ax, "queue wait").get_paths()) == int(inside.sum())
        assert len(by_gid(ax, "compute").get_paths()) == int(np.isin(trace.segments["job"], np.flatnonzero(inside)).sum())
        assert ax.get_xlim()[1] >= jobs["finish"][inside].max()

    def test_misses_in_a_colour_no_module_uses_with_a_legend(self):
        model = cs.ClockworkRNN(1, 1, [2] * 16, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], seed=0)
        trace = cs.simulate(model, np.zeros((40, 1)), engine="events", deadline=0.3,
                            compute=cs.ComputeModel(cores=2, execution=[0.05] * 16)).trace
        ax = cs.plot_gantt(trace)
        from clocksim.plot._style import MISS_COLOR, _module_colors
        colors = [mcolors.to_hex(c) for c in _module_colors(16)]
        assert len(set(colors)) == 16 and mcolors.to_hex(MISS_COLOR) not in colors
        miss = by_gid(ax, "deadline misses")
        assert mcolors.to_hex(miss.get_color()) == mcolors.to_hex(MISS_COLOR) and miss.get_xdata().size > 0
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(lbl.startswith("deadline miss") for lbl in labels) and "readout job" in labels

    def test_ticks_read_at_any_window(self, scheduled):
        for steps in (None, (10, 12), (0, 96)):
            ax = cs.plot_gantt(scheduled.trace, steps=steps)
            ax.figure.canvas.draw()
            lo, hi = ax.get_xlim()
            texts = [t.get_text() for t in ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]
            assert len(texts) >= 3 and len(set(texts)) == len(texts), texts          # distinct labels
            assert all(t.endswith("s") for t in texts if t != "0") and ax.get_xlabel() == "time (s)"

    def test_long_run_ticks_are_distinct(self, long_trace):
        ax = cs.plot_gantt(long_trace)
        ax.figure.canvas.draw()
        texts = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert len(set(texts)) == len(texts) >= 3


class TestScheduledLatency:
    def test_both_distributions_whole_and_the_deadline(self, scheduled):
        trace = scheduled.trace
        ax_hist, ax_cdf = cs.plot_latency(trace)
        ro = trace.readouts
        lat, rea = ro["latency"][np.isfinite(ro["latency"])], ro["reaction"][np.isfinite(ro["reaction"])]
        assert sum(p.get_height() for p in ax_hist.containers[0]) == lat.size
        ms = 1e3 * trace.meta["step"]                                          # shown in ms
        assert ax_hist.get_xlim()[1] >= max(lat.max(), rea.max()) * ms          # nothing cut off
        assert by_gid(ax_hist, "deadline").get_xdata()[0] == pytest.approx(trace.meta["deadline"] * ms)
        assert [ln.get_label() for ln in ax_cdf.get_lines()][:2] == ["latency", "reaction"]
        n = int(ro["missed"].sum())
        assert n > 0 and f"{n} of {ro.size} inputs missed the deadline" in ax_hist.figure.get_suptitle()
        assert "reaction" in ax_hist.figure.get_suptitle()

    def test_png_and_pdf_are_written(self, scheduled, tmp_path):
        ax_hist, _ = cs.plot_latency(scheduled.trace)
        ax_hist.figure.savefig(tmp_path / "l.png")
        assert (tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ cost


def layers(ax):
    """Per-layer heights of the stacked per-step bars: (values - baseline) for each StepPatch."""
    out = []
    for p in ax.patches:
        if isinstance(p, StepPatch):
            values, edges, baseline = p.get_data()
            out.append((values - baseline, edges))
    return out


class TestCost:
    @pytest.mark.parametrize("which", ["sync", "queued", "async"])
    def test_per_step_bars_add_up_to_the_summary(self, which, sync_trace, queued, async_run):
        trace = {"sync": sync_trace, "queued": queued.trace, "async": async_run.trace}[which]
        ax_step, _ = cs.plot_cost(trace)
        s = trace.summary()
        parts = layers(ax_step)
        assert len(parts) == trace.g + 1                                       # modules + readout
        assert sum(v.sum() for v, _ in parts) == pytest.approx(s["macs"], rel=1e-12)
        labels = [t.get_text() for t in ax_step.get_legend().get_texts()]
        assert labels[:trace.g] == labels_fastest_first(trace)[0] and labels[trace.g] == "readout"
        dense = next(ln for ln in ax_step.get_lines() if ln.get_label().startswith("dense RNN"))
        assert dense.get_ydata()[0] == trace.meta["dense_step_macs"] * trace.batch

    def test_cumulative_ends_at_summary_totals(self, rng):
        model = cs.ClockworkRNN(3, 2, [4, 4, 4], [1, 3, 5], start=1)
        trace = cs.simulate(model, rng.normal(size=(3, 25, 3))).trace           # batch of 3
        _, ax = cs.plot_cost(trace)
        cw, dense = ax.get_lines()[:2]
        s = trace.summary()
        assert cw.get_ydata()[-1] == s["macs"] and dense.get_ydata()[-1] == s["dense_macs"]
        assert cw.get_ydata()[0] == 0 and len(cw.get_xdata()) == 26
        assert ax.get_xlim() == (0.5, 25.5)
        assert f"{fmt.value(s['speedup_vs_dense'])}x fewer" in cw.get_label()
        assert "batch of 3" in ax.get_title()

    def test_long_runs_average_over_bins_and_keep_the_total(self, long_trace):
        ax_step, _ = cs.plot_cost(long_trace)
        parts = layers(ax_step)
        values, edges = parts[0]
        assert values.size < 2000                                              # binned
        widths = np.diff(edges)
        assert sum((v * widths).sum() for v, _ in parts) == pytest.approx(long_trace.summary()["macs"])
        assert "(mean over " in ax_step.get_title()


# ------------------------------------------------------------------ latency


class TestLatency:
    @pytest.mark.parametrize("which", ["queued", "async"])
    def test_percentiles_marked_at_the_summary_values(self, which, queued, async_run):
        trace = {"queued": queued.trace, "async": async_run.trace}[which]
        ax_hist, ax_cdf = cs.plot_latency(trace)
        s = trace.summary()["latency"]
        for ax in (ax_hist, ax_cdf):
            assert by_gid(ax, "p50").get_xdata()[0] == pytest.approx(s["p50"])
            assert by_gid(ax, "p99").get_xdata()[0] == pytest.approx(s["p99"])
            deadline = [ln for ln in ax.get_lines() if ln.get_label().startswith("deadline")]
            assert deadline[0].get_xdata()[0] == trace.meta["deadline"]

    def test_histogram_and_cdf_count_the_finite_latencies(self):
        # the fastest module has period 2: every other input is read by no module (latency NaN)
        model = cs.ClockworkRNN(2, 1, [8] * 3, [2, 4, 8], seed=0)
        trace = cs.simulate(model, np.random.default_rng(1).normal(size=(40, 2)), engine="events",
                            compute=cs.ComputeModel(cores=1, throughput=150), deadline=1.0).trace
        lat = trace.readouts["latency"]
        assert np.isnan(lat).any() and (lat[np.isfinite(lat)] > 1.0).any()
        ax_hist, ax_cdf = cs.plot_latency(trace)
        assert sum(p.get_height() for p in ax_hist.containers[0]) == np.isfinite(lat).sum()
        cdf = ax_cdf.get_lines()[0]
        assert cdf.get_ydata()[-1] == np.isfinite(lat).mean() < 1.0 and cdf.get_ydata()[0] == 0.0   # over all inputs
        dropped = int(np.isnan(lat).sum())
        assert f"{dropped} of 40 inputs dropped" in ax_hist.figure.get_suptitle()
        assert ax_cdf.get_xlim()[0] <= 0 <= np.nanmin(lat)
        assert "missed the deadline of 1 step" in ax_hist.figure.get_suptitle()

    def test_no_finite_latency_says_so(self, sync_trace):
        trace = cs.Trace(sync_trace.activations, readouts=np.zeros(0, dtype=cs.trace.READOUT_DTYPE),
                         meta={**sync_trace.meta, "latency_model": True})
        ax_hist, _ = cs.plot_latency(trace)
        assert "no finite latency" in ax_hist.texts[0].get_text()

    def test_a_run_without_timing_model_is_refused(self, sync_trace):
        with pytest.raises(cs.InvalidValueError, match="trace: the run had no timing model"):
            cs.plot_latency(sync_trace)

    def test_window_keeps_the_readouts_in_it(self, queued):
        trace = queued.trace
        ro = trace.readouts
        inside = (ro["time"] >= 5) & (ro["time"] < 15)
        ax_hist, _ = cs.plot_latency(trace, steps=(5, 15))
        assert sum(p.get_height() for p in ax_hist.containers[0]) == np.isfinite(ro["latency"][inside]).sum()
        assert "in t = 5 to 15" in ax_hist.figure.get_suptitle()


# ------------------------------------------------------------------ state, connectivity, compare


class TestState:
    def test_image_is_h_transposed_with_modules_delimited(self, rng):
        model = cs.ClockworkRNN(2, 1, [3, 2, 4], [1, 2, 4], start=1)
        res = cs.simulate(model, rng.normal(size=(2, 15, 2)))
        ax = cs.plot_state(res.h, trace=res.trace, sequence=1)
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), res.h[1].T)
        assert [t.get_text() for t in ax.get_yticklabels()] == res.trace.meta["labels"]
        bounds = sorted(ln.get_ydata()[0] for ln in ax.get_lines())
        assert bounds == [2.5, 4.5]                                            # after units 0-2 and 3-4
        assert ax.get_xlim() == (0.5, 15.5)

    def test_defaults_and_long_runs(self, rng):
        h = rng.normal(size=(50_000, 6))
        ax = cs.plot_state(h, module_sizes=[2, 4])
        shown = ax.get_images()[0].get_array()
        k = int(np.ceil(50_000 / shown.shape[1]))
        np.testing.assert_array_equal(shown, h[::k].T)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["M1", "M2"]
        assert f"every {k}th step" in ax.get_title()

    def test_bad_input(self):
        with pytest.raises(ValueError, match="module_sizes: got \\[2, 2\\] \\(sum 4\\), expected"):
            cs.plot_state(np.zeros((5, 6)), module_sizes=[2, 2])
        with pytest.raises(ValueError, match="h: got shape \\(5,\\)"):
            cs.plot_state(np.zeros(5))
        with pytest.raises(ValueError, match="sequence: got 3"):
            cs.plot_state(np.zeros((2, 5, 6)), sequence=3)


class TestConnectivity:
    def test_images_are_the_masks(self):
        model = cs.ClockworkRNN(1, 1, [2, 3, 1], [1, 2, 4])
        labels = [model.module_label(i) for i in range(3)]
        ax_block, ax_unit = cs.plot_connectivity(model.block_mask, model.mask, labels, model.module_sizes)
        np.testing.assert_array_equal(ax_block.get_images()[0].get_array(), model.block_mask)
        np.testing.assert_array_equal(ax_unit.get_images()[0].get_array(), model.mask)
        assert [t.get_text() for t in ax_block.get_yticklabels()] == labels
        assert [t.get_text() for t in ax_block.get_xticklabels()] == labels
        assert model.block_mask[0, 2] and not model.block_mask[2, 0]         # M3 feeds M1, not the reverse
        assert "receiver i" in ax_block.get_ylabel() and "sender j" in ax_block.get_xlabel()

    def test_block_only_and_errors(self):
        (ax,) = cs.plot_connectivity(np.eye(2, dtype=bool))
        assert [t.get_text() for t in ax.get_yticklabels()] == ["M1", "M2"]
        with pytest.raises(ValueError, match="block_mask: got shape \\(2, 3\\)"):
            cs.plot_connectivity(np.ones((2, 3)))
        with pytest.raises(ValueError, match="labels: got 1, expected one per module \\(2\\)"):
            cs.plot_connectivity(np.eye(2), labels=["a"])


class TestCompare:
    def test_both_schedules_side_by_side(self, sync_trace, queued):
        axes = cs.plot_compare(sync_trace, queued.trace, names=("sync", "queued"))
        assert set(axes) == {"activity_a", "activity_b", "cost", "latency"}
        assert sum(r.size for r in marks(axes["activity_a"])) == len(sync_trace)
        assert sum(r.size for r in marks(axes["activity_b"])) == len(queued.trace)
        finals = {ln.get_label().split(":")[0]: ln.get_ydata()[-1] for ln in axes["cost"].get_lines()
                  if "CW-RNN" in ln.get_label()}
        assert finals == {"sync": sync_trace.summary()["macs"], "queued": queued.trace.summary()["macs"]}
        dense = [ln for ln in axes["cost"].get_lines() if "dense RNN" in ln.get_label()]
        assert len(dense) == 2                                                 # different runs: two baselines
        assert axes["cost"].get_ylim()[1] >= queued.trace.summary()["dense_macs"]
        assert axes["latency"].get_legend().get_texts()[0].get_text().startswith("sync: p50 = 0")

    def test_same_run_length_shares_one_dense_line(self, rng):
        model = cs.ClockworkRNN(1, 1, [2, 2], [1, 2])
        x = rng.normal(size=(10, 1))
        a = cs.simulate(model, x).trace
        b = cs.simulate(cs.ClockworkRNN(1, 1, [2, 2], [1, 3]), x).trace
        axes = cs.plot_compare(a, b)
        assert len([ln for ln in axes["cost"].get_lines() if "dense RNN" in ln.get_label()]) == 1
        assert "latency" not in axes                                            # neither run modelled latency

    def test_panels_share_one_representation_and_legend_keeps_the_runs_together(self, rng, long_trace):
        short = cs.simulate(cs.ClockworkRNN(1, 1, [2] * 6, cs.exponential_periods(6)), np.zeros((40, 1))).trace
        axes = cs.plot_compare(short, long_trace)                             # only the long one needs bins
        assert all(len(axes[k].get_images()) == 1 for k in ("activity_a", "activity_b"))
        labels = [t.get_text() for t in axes["cost"].get_legend().get_texts()]
        assert ["dense RNN" in label for label in labels] == [False, False, True, True]
        same = cs.plot_compare(short, short)
        labels = [t.get_text() for t in same["cost"].get_legend().get_texts()]
        assert "the same line as A, drawn over it" in labels[1] and "dense RNN" in labels[2]


# ------------------------------------------------------------------ command line


class TestCli:
    @pytest.mark.parametrize("kind", ["activity", "gantt", "cost", "latency"])
    def test_writes_a_png(self, kind, queued, tmp_path, capsys):
        src = queued.trace.save(tmp_path / "run.npz")
        out = tmp_path / f"{kind}.png"
        assert main(["plot", str(src), "--kind", kind, "--out", str(out)]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run.npz", f"{kind}.png"])
        assert capsys.readouterr().out.strip() == f"wrote {out}"
        assert plt.get_fignums() == []                                         # the CLI closes its figure

    def test_window(self, queued, tmp_path):
        src = queued.trace.save(tmp_path / "run.npz")
        assert main(["plot", str(src), "--kind", "gantt", "--window", "5,15", "--out", str(tmp_path / "g.png")]) == 0

    def test_latency_of_a_synchronous_run_is_refused(self, sync_trace, tmp_path, capsys):
        src = sync_trace.save(tmp_path / "run.npz")
        assert main(["plot", str(src), "--kind", "latency", "--out", str(tmp_path / "l.png")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "run.npz: trace: the run had no timing model" in err   # file: key: ...
        assert not (tmp_path / "l.png").exists()

    def test_latency_window_changes_the_figure(self, queued, tmp_path):
        src = queued.trace.save(tmp_path / "run.npz")
        for name, window in (("all", []), ("part", ["--window", "5,15"])):
            assert main(["plot", str(src), "--kind", "latency", *window, "--out", str(tmp_path / f"{name}.png")]) == 0
        assert (tmp_path / "all.png").read_bytes() != (tmp_path / "part.png").read_bytes()

    @pytest.mark.parametrize("case,msg", [
        ("missing", "{d}/nope.npz: no such trace file"),
        ("other_npz", "{d}/other.npz: a: holds an unexpected entry, not part of a clocksim trace"),
        ("npy", "{d}/a.npy: not a clocksim trace (.npz) file: it is not a zip archive"),
        ("csv", "{d}/t.csv: not a clocksim trace (.npz) file"),
        ("dir_out", "--out: got '{d}/d.png', expected a file name ending in .png, not a directory"),
        ("no_dir", "--out: directory '{d}/no/such' does not exist"),
        ("not_png", "--out: got '{d}/x.pdf', expected a file name ending in .png"),
        ("kind", "argument --kind: invalid choice: 'pie'"),
        ("window", "argument --window: got '5', expected two times T0,T1"),
        ("outside", "--window: got (500.0, 600.0), expected a window that overlaps the run's times [0, 40)"),
        ("outside_activity", "--window: got (-50.0, -10.0), expected a window that overlaps the run's times"),
    ])
    def test_bad_input_is_one_line_exit_2(self, case, msg, queued, tmp_path, capsys):
        d = tmp_path
        good = str(queued.trace.save(d / "run.npz"))
        np.savez(d / "other.npz", a=np.zeros(2))
        np.save(d / "a.npy", np.zeros(2))
        queued.trace.to_csv(d / "t.csv")
        (d / "d.png").mkdir()
        argv = {"missing": [str(d / "nope.npz"), "--out", str(d / "x.png")],
                "other_npz": [str(d / "other.npz"), "--out", str(d / "x.png")],
                "npy": [str(d / "a.npy"), "--out", str(d / "x.png")],
                "no_dir": [good, "--out", str(d / "no" / "such" / "x.png")],
                "not_png": [good, "--out", str(d / "x.pdf")],
                "kind": [good, "--kind", "pie", "--out", str(d / "x.png")],
                "window": [good, "--window", "5", "--out", str(d / "x.png")],
                "outside": [good, "--kind", "cost", "--window", "500,600", "--out", str(d / "x.png")],
                "outside_activity": [good, "--window=-50,-10", "--out", str(d / "x.png")],
                "csv": [str(d / "t.csv"), "--out", str(d / "x.png")],
                "dir_out": [good, "--out", str(d / "d.png")]}[case]
        code = main(["plot", *argv])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1 and err.startswith("clocksim: error: ")
        assert msg.format(d=d) in err
        assert "unsafely" not in err and "Traceback" not in err
        assert not (d / "x.png").exists()
        assert not (d / "x.png").exists()


def test_docs_images_render(tmp_path, monkeypatch):
    """docs/img/render.py (the figures in docs/plots.md) still runs against the current API."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[1] / "docs" / "img" / "render.py"
    spec = importlib.util.spec_from_file_location("render_docs_images", path)
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    monkeypatch.setattr(render, "HERE", tmp_path)
    render.main()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["activity_small.png", "activity_100k.png", "clock_rate.png", "gantt.png", "cost.png",
                            "latency.png",
                            "state.png"])
    assert all((tmp_path / n).read_bytes()[:4] == b"\x89PNG" for n in names)
    assert plt.get_fignums() == []


def test_cost_window_outside_the_run_is_an_error(sync_trace):
    with pytest.raises(ValueError, match="steps: got .100.0, 200.0., expected a window that overlaps the run's times"):
        cs.plot_cost(sync_trace, steps=(100, 200))


class TestSavePlots:
    def test_default_kinds_follow_the_timing_model(self, sync_trace, queued, tmp_path):
        (tmp_path / "s").mkdir()
        (tmp_path / "q").mkdir()
        assert [p.name for p in cs.plot.save_plots(sync_trace, tmp_path / "s")] == ["activity.png", "cost.png"]
        written = cs.plot.save_plots(queued.trace, tmp_path / "q")
        assert [p.name for p in written] == ["activity.png", "cost.png", "gantt.png", "latency.png", "staleness.png"]
        assert sorted(p.name for p in (tmp_path / "q").iterdir()) == sorted(p.name for p in written)  # no temp files
        assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)
        assert plt.get_fignums() == []

    def test_unknown_kind(self, sync_trace, tmp_path):
        with pytest.raises(ValueError, match="kinds: got \\['pie'\\], expected some of"):
            cs.plot.save_plots(sync_trace, tmp_path, kinds=["activity", "pie"])
        assert list(tmp_path.iterdir()) == []


class TestStaleness:
    def test_bars_are_the_summary_percentiles(self, queued):
        trace = queued.trace
        ax = cs.plot_staleness(trace)
        per_module = trace.summary()["per_module"]
        bars = [ln for ln in ax.get_lines() if ln.get_linewidth() == 8]
        readers = [m for m in per_module if m["module"] != 3]          # the slowest module reads no other
        assert len(bars) == len(readers)
        assert sorted(tuple(b.get_xdata()) for b in bars) == sorted((m["staleness_p50"], m["staleness_p99"])
                                                                    for m in readers)
        assert "link delays: every link kind fixed value 0.3" in ax.get_title()
        assert [t.get_text() for t in ax.get_yticklabels()] == trace.meta["labels"]
