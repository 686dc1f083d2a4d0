"""Figures a reviewer accepts (issue 31): formats, sizes, unclipped text, what each figure draws,
the one draw-save-close path, and the README's list of what a run writes."""

import os
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import EventCollection
from matplotlib.text import Text

import clocksim as cs
from clocksim.app.cli import main
from clocksim.app.execute import _simulate
from clocksim.app.outputs import figure_drawers, run_scenario
from clocksim.app.scenario import ScenarioError, load_scenario
from clocksim.errors import ClocksimError, InvalidValueError
from clocksim.plot.files import figure_paths

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF", "svg": b"<svg"}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sync_trace():
    """Eight modules, periods 1 to 128, 300 steps: a few hundred steps, as in the issue."""
    model = cs.ClockworkRNN(1, 1, [4] * 8, cs.exponential_periods(8), start=1, seed=0)
    return cs.simulate(model, np.zeros((300, 1))).trace


@pytest.fixture(scope="module")
def queued():
    model = cs.ClockworkRNN(2, 1, [8] * 4, [1, 2, 4, 8], seed=0)
    return cs.simulate(model, np.random.default_rng(1).normal(size=(40, 2)), engine="events",
                       compute=cs.ComputeModel(cores=2, throughput=300, overhead=0.05), latency=0.3, deadline=1.0)


@pytest.fixture(scope="module")
def on_device():
    """A timed run on a bundled device profile: what the ``energy`` kind needs (``meta["device"]``)."""
    model = cs.ClockworkRNN(2, 1, [8] * 4, [1, 2, 4, 8], seed=0)
    return cs.simulate(model, np.random.default_rng(1).normal(size=(40, 2)), engine="events", step=1e-3,
                       compute=cs.ComputeModel(device="cortex-m7-like"))


def marks(ax):
    return [c.get_positions() for c in ax.collections if isinstance(c, EventCollection)]


def svg_head(data: bytes) -> bytes:
    """The first element of an SVG file after its XML prolog, comments and doctype."""
    text = re.sub(rb"<\?xml.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", data, flags=re.S)
    return text.lstrip()[:4]


def head(path: Path) -> bytes:
    data = path.read_bytes()
    return svg_head(data) if path.suffix == ".svg" else data[:len(MAGIC[path.suffix[1:]])]


# ---------------------------------------------------------------------- the one save path
class TestSaveFigures:
    @pytest.mark.parametrize("kind", sorted(cs.plot.KINDS))
    def test_each_kind_in_each_format_has_its_magic_bytes(self, kind, queued, on_device, tmp_path):
        trace = (on_device if kind == "energy" else queued).trace       # energy needs a run with a device
        paths = cs.plot.save_figures(lambda: cs.plot.KINDS[kind](trace), tmp_path / kind, ["png", "pdf", "svg"])
        assert [p.name for p in paths] == [f"{kind}.png", f"{kind}.pdf", f"{kind}.svg"]
        for p in paths:
            assert head(p) == MAGIC[p.suffix[1:]], p
        assert plt.get_fignums() == []                                      # closed

    def test_suffix_decides_and_formats_must_agree(self, tmp_path):
        assert figure_paths(tmp_path / "a.pdf") == [tmp_path / "a.pdf"]
        assert figure_paths(tmp_path / "a", "svg,png") == [tmp_path / "a.svg", tmp_path / "a.png"]
        assert figure_paths(tmp_path / "a") == [tmp_path / "a.png"]
        assert figure_paths(tmp_path / "a.pdf", ["pdf", "png"]) == [tmp_path / "a.pdf", tmp_path / "a.png"]
        with pytest.raises(InvalidValueError, match="expected a file name ending in one of the formats"):
            figure_paths(tmp_path / "a.png", ["pdf"])
        with pytest.raises(InvalidValueError, match=r"a\.jpg.*expected a file name ending in \.png or \.pdf or \.svg"):
            figure_paths(tmp_path / "a.jpg")
        with pytest.raises(InvalidValueError, match=r"formats\[1\]: got 'sgv' \(did you mean 'svg'\?\)"):
            figure_paths(tmp_path / "a", ["png", "sgv"])
        with pytest.raises(InvalidValueError, match="formats: got 'eps', expected one of png, pdf, svg"):
            figure_paths(tmp_path / "a", "eps")

    def test_a_symlink_is_written_through(self, sync_trace, tmp_path):
        target = tmp_path / "real" / "figure.pdf"
        target.parent.mkdir()
        target.write_bytes(b"old")
        link = tmp_path / "link.pdf"
        link.symlink_to(target)
        cs.plot.save_figures(cs.plot_activity(sync_trace), link)
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert target.read_bytes()[:4] == b"%PDF"
        assert sorted(p.name for p in tmp_path.rglob("*")) == ["figure.pdf", "link.pdf", "real"]   # no temp files

    def test_a_failed_write_closes_the_figure_and_leaves_no_file(self, sync_trace, tmp_path):
        with pytest.raises(OSError):
            cs.plot.save_figures(cs.plot_activity(sync_trace), tmp_path / "no" / "such" / "a.png")
        assert plt.get_fignums() == []
        assert list(tmp_path.iterdir()) == []

    def test_a_failed_draw_closes_its_figure(self, tmp_path):
        def draw():
            plt.figure()
            raise InvalidValueError("no", key="x")
        plt.close("all")
        with pytest.raises(InvalidValueError):
            cs.plot.save_figures(draw, tmp_path / "a.png")
        assert list(tmp_path.iterdir()) == []

    def test_vector_files_are_reproducible(self, sync_trace, tmp_path):
        for fmt in ("pdf", "svg"):
            a, b = (cs.plot.save_figures(cs.plot_activity(sync_trace), tmp_path / f"{n}.{fmt}")[0] for n in "ab")
            assert a.read_bytes() == b.read_bytes(), fmt

    def test_not_a_figure(self, tmp_path):
        with pytest.raises(ClocksimError, match="fig: got int, expected a matplotlib Figure or Axes"):
            cs.plot.save_figures(3, tmp_path / "a.png")

    def test_save_plots_writes_every_format(self, queued, tmp_path):
        written = cs.plot.save_plots(queued.trace, tmp_path, kinds=["activity", "cost"], formats=["png", "svg"])
        assert [p.name for p in written] == ["activity.png", "activity.svg", "cost.png", "cost.svg"]

    def test_no_draw_save_close_copies_outside_plot(self):
        """Figures are written only by plot.save_figures: nothing else in the package calls savefig."""
        callers = [p.relative_to(ROOT).as_posix() for p in (ROOT / "clocksim").rglob("*.py")
                   if "savefig(" in p.read_text() or "plt.close(" in p.read_text()]
        assert callers == ["clocksim/plot/files.py"]


# ---------------------------------------------------------------------- sizes and clipping
def drawn_texts(fig):
    """Every text artist the figure draws (tick labels only of the ticks in view), with its window extent."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks, shown = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            every = axis.get_major_ticks() + axis.get_minor_ticks()
            ticks |= {id(t.label1) for t in every} | {id(t.label2) for t in every}
            shown += [lab for t in axis._update_ticks() for lab in (t.label1, t.label2)]
    texts = [t for t in fig.findobj(Text) if id(t) not in ticks] + shown
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text().strip()]


def assert_inside(fig, where: str):
    box = fig.bbox
    for text, ext in drawn_texts(fig):
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1 and ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, \
            f"{where}: {text!r} at {ext.bounds} outside the figure {box.bounds}"
    tight = fig.get_tightbbox(fig.canvas.get_renderer())                  # inches
    assert tight.x0 >= -0.02 and tight.y0 >= -0.02 and tight.x1 <= fig.get_figwidth() + 0.02 \
        and tight.y1 <= fig.get_figheight() + 0.02, f"{where}: tight bbox {tight.bounds}"


def bundled_runs():
    """(scenario name, scenario, result) for every bundled scenario with a clocked model (untrained)."""
    for path in SCENARIOS:
        scenario = load_scenario(path)
        if not isinstance(scenario.model, cs.ClockworkRNN):
            continue
        yield path.stem, scenario, _simulate(scenario, scenario.model, progress=False)


def every_figure(scenario):
    """Each figure the scenario's run writes, plus the state and connectivity figures."""
    names = list(scenario.output["plots"])
    if scenario.output["trace"] == "full" and scenario.output["keep"] == "all":
        names += [n for n in ("state", "connectivity") if n not in names]
    return names


class TestSizes:
    @pytest.mark.parametrize("size, width", [("column", 3.5), ("page", 7.0)])
    def test_width_and_legible_fonts(self, size, width, queued):
        for name, draw in {"activity": lambda: cs.plot_activity(queued.trace, size=size),
                           "cost": lambda: cs.plot_cost(queued.trace, size=size)[0],
                           "staleness": lambda: cs.plot_staleness(queued.trace, size=size)}.items():
            fig = draw().figure
            assert fig.get_figwidth() == pytest.approx(width), name
            sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
            assert min(sizes) >= 6.0, name
            assert max(sizes) <= (8 if size == "column" else 9.5), name
            assert_inside(fig, f"{name} at {size}")

    def test_screen_layout_is_unchanged_without_a_size(self, queued):
        assert cs.plot_activity(queued.trace).figure.get_figwidth() == 10

    def test_unknown_size_has_a_did_you_mean(self, queued):
        with pytest.raises(InvalidValueError, match=r"size: got 'colum' \(did you mean 'column'\?\)"):
            cs.plot_activity(queued.trace, size="colum")

    def test_size_is_in_every_figure_signature(self):
        import inspect
        for fn in (cs.plot_activity, cs.plot_gantt, cs.plot_cost, cs.plot_latency, cs.plot_staleness,
                   cs.plot_state, cs.plot_connectivity, cs.plot_compare, cs.plot_pareto, cs.plot_heatmap):
            assert inspect.signature(fn).parameters["size"].default is None, fn.__name__

    def test_quickstart_figures_fit_at_both_sizes(self):
        scenario = load_scenario(ROOT / "scenarios" / "quickstart.toml")
        res = _simulate(scenario, scenario.model, progress=False)
        for size in ("column", "page"):
            draw = figure_drawers(scenario, res, size)
            for name in every_figure(scenario):
                fig = cs.plot.files.figure_of(draw[name]())
                assert_inside(fig, f"quickstart {name} at {size}")
                plt.close(fig)

    @pytest.mark.slow
    def test_bundled_scenarios_figures_fit_at_both_sizes(self):
        """Every figure of every bundled scenario, as a column and as a page: no text outside the figure."""
        checked = 0
        for stem, scenario, res in bundled_runs():
            for size in ("column", "page"):
                draw = figure_drawers(scenario, res, size)
                for name in every_figure(scenario):
                    fig = cs.plot.files.figure_of(draw[name]())
                    assert_inside(fig, f"{stem} {name} at {size}")
                    plt.close(fig)
                    checked += 1
        assert checked >= 2 * 2 * 10


# ---------------------------------------------------------------------- what each figure draws
class TestActivity:
    def test_a_few_hundred_steps_draw_one_mark_per_activation(self, sync_trace):
        ax = cs.plot_activity(sync_trace)
        assert ax.get_images() == []
        assert sum(len(p) for p in marks(ax)) == len(sync_trace) == 595
        assert "(one mark per activation)" in ax.get_title()

    def test_window_marks_equal_the_activations_in_it(self, sync_trace):
        ax = cs.plot_activity(sync_trace, steps=(40, 140))
        t = sync_trace.activations["time"]
        assert sum(len(p) for p in marks(ax)) == int(((t >= 40) & (t < 140)).sum())

    def test_bins_only_when_marks_do_not_fit_and_says_so(self, sync_trace):
        ax = cs.plot_activity(sync_trace, size="column")                   # 300 marks in ~300 pixel columns
        (image,) = ax.get_images()
        assert np.ma.filled(image.get_array(), 0).sum() == len(sync_trace)
        title = ax.get_title().replace("\n", " ")
        assert "binned: one mark each would not fit in" in title and "pixel columns" in title
        assert marks(ax) == []
        forced = cs.plot_activity(sync_trace, aggregate=True)
        assert "binned on request" in forced.get_title().replace("\n", " ")

    def test_marks_stay_apart(self, sync_trace):
        """Each mark is at most half the spacing of the fastest module's marks wide."""
        ax = cs.plot_activity(sync_trace)
        fig = ax.figure
        fig.canvas.draw()
        spacing_px = ax.get_window_extent().width / 300
        (lw,) = {float(c.get_linewidth()) for c in ax.collections if isinstance(c, EventCollection)}
        assert lw * fig.dpi / 72 <= 0.55 * spacing_px


class TestOtherFigures:
    def test_cost_legend_entries(self, queued):
        per_step, cumulative = cs.plot_cost(queued.trace)
        labels = [t.get_text() for t in per_step.get_legend().get_texts()]
        assert labels[:4] == [queued.trace.meta["labels"][i] for i in range(4)]
        assert "readout" in labels and any(lab.startswith("dense RNN") for lab in labels)
        cum = [t.get_text() for t in cumulative.get_legend().get_texts()]
        assert cum[0].startswith("CW-RNN (") and cum[1].startswith("dense RNN (")

    def test_staleness_has_a_row_per_module(self, queued):
        ax = cs.plot_staleness(queued.trace)
        assert len(ax.get_yticklabels()) == queued.trace.g

    def test_connectivity_cells(self):
        model = cs.ClockworkRNN(1, 1, [2] * 4, [1, 2, 4, 8])
        (ax,) = cs.plot_connectivity(model.block_mask)
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), model.block_mask)

    def test_state_image_is_h(self):
        h = np.random.default_rng(0).normal(size=(30, 6))
        ax = cs.plot_state(h, module_sizes=[2, 4])
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), h.T)


# ---------------------------------------------------------------------- command line and scenario
class TestCommandLine:
    def test_suffix_and_format_and_size(self, queued, tmp_path, capsys):
        trace = str(queued.trace.save(tmp_path / "run.npz"))
        assert main(["plot", trace, "--out", str(tmp_path / "a.pdf")]) == 0
        assert head(tmp_path / "a.pdf") == b"%PDF"
        assert main(["plot", trace, "--kind", "cost", "--out", str(tmp_path / "b"), "--format", "svg,png",
                     "--size", "column"]) == 0
        assert head(tmp_path / "b.svg") == b"<svg" and head(tmp_path / "b.png") == MAGIC["png"]
        out = capsys.readouterr().out
        assert f"wrote {tmp_path / 'b.svg'}, {tmp_path / 'b.png'}" in out
        from PIL import Image
        with Image.open(tmp_path / "b.png") as image:
            assert image.size[0] == round(3.5 * 120)

    @pytest.mark.parametrize("argv, msg", [
        (["--format", "pfd"], "--format: got 'pfd' (did you mean 'pdf'?), expected one of png, pdf, svg"),
        (["--out-suffix", ".png", "--format", "pdf"], "expected a file name ending in one of the formats"),
        (["--size", "huge"], "argument --size: invalid choice: 'huge'"),
    ])
    def test_bad_options_are_one_line(self, argv, msg, queued, tmp_path, capsys):
        trace = str(queued.trace.save(tmp_path / "run.npz"))
        out = str(tmp_path / "x")
        if argv[0] == "--out-suffix":
            out, argv = out + argv[1], argv[2:]
        assert main(["plot", trace, "--out", out, *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and msg in err
        assert list(tmp_path.iterdir()) == [tmp_path / "run.npz"]


class TestScenario:
    def test_every_figure_in_every_format(self, tmp_path):
        scenario = load_scenario(ROOT / "scenarios" / "quickstart.toml",
                                 ['output.figures=["png", "pdf", "svg"]', 'output.figure_size="column"'])
        run_scenario(scenario, tmp_path / "out", progress=False)
        out = tmp_path / "out"
        for kind in ("activity", "cost"):
            for fmt in ("png", "pdf", "svg"):
                assert head(out / f"{kind}.{fmt}") == MAGIC[fmt], (kind, fmt)
        report = (out / "report.md").read_text()
        assert "![activity](activity.png)" in report and "[activity.pdf](activity.pdf)" in report

    @pytest.mark.parametrize("override, msg", [
        ('output.figures=["png", "pfd"]', r"output\.figures\[1\]: got 'pfd' \(did you mean 'pdf'\?\)"),
        ('output.figures="pdf"', r"output\.figures: got 'pdf', expected an array of formats"),
        ('output.figure_size="colum"', r"output\.figure_size: got 'colum' \(did you mean 'column'\?\)"),
    ])
    def test_bad_values(self, override, msg):
        with pytest.raises(ScenarioError, match=msg):
            load_scenario(ROOT / "scenarios" / "quickstart.toml", [override])


# ---------------------------------------------------------------------- README: what a run writes
def readme_run_files() -> list[str]:
    """The files the README says `clocksim run scenarios/quickstart.toml` writes (its list, in order)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- run-files:begin", 1)[1].split("<!-- run-files:end -->", 1)[0]
    return re.findall(r"^- `([^`]+)`", block, flags=re.M)


def test_readme_lists_exactly_what_quickstart_writes(tmp_path):
    assert main(["run", str(ROOT / "scenarios" / "quickstart.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert sorted(readme_run_files()) == written
    assert "--force" in (ROOT / "README.md").read_text()


# ---------------------------------------------------------------------- weights from elsewhere
class TestStateDict:
    """params_from_state_dict with numpy arrays standing in for torch tensors (torch is not needed)."""

    @pytest.fixture
    def model(self):
        return cs.ClockworkRNN(2, 1, [3, 3, 3], [1, 2, 4], seed=0)

    @pytest.fixture
    def trained(self, model):
        other = cs.ClockworkRNN(2, 1, [3, 3, 3], [1, 2, 4], seed=7)
        return other.params

    def test_pytorch_names_map_and_load(self, model, trained):
        from clocksim.model.params import params_from_state_dict

        class Tensor:                                                  # what .detach().cpu().numpy() sees
            def __init__(self, a):
                self.a = a

            def detach(self):
                return self

            def cpu(self):
                return self

            def numpy(self):
                return np.asarray(self.a, dtype=np.float32).astype(np.float64)

        state = {"module.rnn.weight_ih": Tensor(trained["W_in"]), "module.rnn.weight_hh": trained["W_rec"],
                 "module.rnn.bias_ih": trained["b"] - 0.25, "module.rnn.bias_hh": np.full(9, 0.25),
                 "module.fc.weight": trained["W_out"], "module.fc.bias": trained["b_out"],
                 "module.periods": np.array([1, 2, 4]), "module.mask": np.ones((9, 9))}
        params = params_from_state_dict(state)
        assert sorted(params) == ["W_in", "W_out", "W_rec", "b", "b_out"]
        np.testing.assert_allclose(params["b"], trained["b"], rtol=0, atol=1e-15)
        np.testing.assert_allclose(params["W_in"], trained["W_in"], rtol=1e-6)
        model.set_params(**params)
        np.testing.assert_array_equal(model.params["W_rec"], trained["W_rec"])

    def test_clocksim_names_and_transposed_weights(self, model, trained):
        from clocksim.model.params import params_from_state_dict
        state = {"W_in": trained["W_in"].T, "W_rec": trained["W_rec"].T, "W_out": trained["W_out"].T,
                 "b": trained["b"], "b_out": trained["b_out"], "h0": trained["h0"]}
        params = params_from_state_dict(state, transpose=True)
        model.set_params(**params)
        for name, value in trained.items():
            np.testing.assert_array_equal(model.params[name], value)

    def test_unknown_names_are_refused_with_a_hint(self, trained):
        from clocksim.model.params import params_from_state_dict
        with pytest.raises(InvalidValueError, match=r"state_dict: unknown entry 'cell.weight_hhh' \(did you mean "
                                                    r"'weight_hh'\?\).*pass ignore=\['cell.weight_hhh'\]"):
            params_from_state_dict({"cell.weight_hhh": trained["W_rec"]})
        assert params_from_state_dict({"cell.weight_hhh": trained["W_rec"]}, ignore=["cell.weight_hhh"]) == {}
        with pytest.raises(InvalidValueError, match=r"both 'W_rec' and 'rnn.weight_hh' give W_rec"):
            params_from_state_dict({"W_rec": trained["W_rec"], "rnn.weight_hh": trained["W_rec"]})
        with pytest.raises(ClocksimError, match="state_dict: got list, expected a mapping"):
            params_from_state_dict([1, 2])
