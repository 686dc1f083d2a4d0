"""Regenerate the figures shown in docs/sweeps.md: ``python docs/img/render_sweep.py`` (about ten seconds).

Runs the sample sweep (scenarios/sweeps/phase_schedules.toml) in this process into a temporary
folder and draws its Pareto front and heatmap from the table.
"""

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


import clocksim as cs

HERE = Path(__file__).parent
SWEEP = HERE.parent.parent / "scenarios" / "sweeps" / "phase_schedules.toml"


def main():
    sweep = cs.load_sweep(SWEEP)
    with tempfile.TemporaryDirectory() as tmp:
        table = cs.run_sweep(sweep, tmp, scheduler="serial", progress=False, figures=False).table
    plots = sweep.plots
    for name, ax in (("sweep_pareto.png", cs.plot_pareto(table, plots["pareto_x"], plots["pareto_y"], by=sweep.keys)),
                     ("sweep_heatmap.png", cs.plot_heatmap(table, *plots["heatmap"], plots["heatmap_metric"],
                                                           by=sweep.keys))):
        cs.plot.save_figures(ax, HERE / name, dpi=80)


if __name__ == "__main__":
    main()
