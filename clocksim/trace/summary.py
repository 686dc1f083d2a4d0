"""The keys of a run's summary (``Trace.summary()``, ``summary.json``), declared once. A leaf module.

:data:`SUMMARY_KEYS` says, for every key, its type, what it means and when it is present;
``docs/traces.md`` shows the table :func:`summary_markdown` generates from it, and a test
checks that ``summary()`` returns exactly the declared keys on synchronous and asynchronous
runs. Nested keys are dotted (``latency.p99``); the keys of each ``per_module`` entry are
written ``per_module[].macs``. The sweep results table records the numeric scalar keys
(:func:`metric_columns`), so a sweep's columns are summary keys too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SummaryKey", "SUMMARY_KEYS", "WHEN", "WHEN_MEANING", "summary_markdown", "metric_columns", "metric_row",
           "lookup", "non_dominated"]

#: When a key is present.
WHEN = {
    "always": "always",
    "timing": "timing model",
    "schedule": "scheduled compute model",
    "step": "step set",
    "run": "scenario runs",
    "task": "[task]",
    "trained": "[task] and [train]",
    "untraced": "LSTM",
    "device": "device",
}
#: What each :data:`WHEN` means (the legend under the table in ``docs/traces.md``).
WHEN_MEANING = {
    "always": "every summary, both engines, synchronous or not",
    "timing": "a timing model ran (`cost.has_timing_model`: link latency, a compute model, a deadline or "
              "irregular input arrivals)",
    "schedule": "a compute model other than round two's ran (`ComputeModel.legacy` is false: a policy, preemption, "
                "partition, speeds, execution times, variation, overheads or the readout job); from its job records",
    "step": "`step` (seconds per input step) was set",
    "run": "added by `clocksim.execute.execute` (`clocksim run`, `compare`, sweep points), not by `Trace.summary()`",
    "task": "the scenario has a `[task]` (scored on its test set)",
    "trained": "the scenario has a `[task]` and a `[train]` table",
    "untraced": "`model.kind = \"lstm\"`: not a clocked model, trained and scored but never simulated, so the "
                "summary has only these keys, `scenario` and `accuracy` (none of the trace's)",
    "device": "a device profile is set (`ComputeModel(device=...)`, `[engine.compute] device`; DESIGN section 11); "
              "`<level>` stands for each memory level of the profile",
}


@dataclass(frozen=True)
class SummaryKey:
    """One key of a summary: ``type`` (``int``, ``float``, ``str``, ``dict``, ``list``; ``float?`` may be
    null), ``meaning`` and ``when`` (a key of :data:`WHEN`)."""

    type: str
    meaning: str
    when: str = "always"


_STALENESS = ("age of the state read from other modules at the moment an activation reads it (read time minus "
              "send time; the initial state counts as sent at `start - 1`)")

SUMMARY_KEYS: dict[str, SummaryKey] = {
    "engine": SummaryKey("str", "Engine that ran: `events` or `compiled`."),
    "time_unit": SummaryKey("str", "Unit of every time in the summary: `s` when `step` is set, else `step` (input "
                                   "steps) or `model time` (given arrival times)."),
    "schedule_order": SummaryKey("str", "Order the updates were evaluated in: `module-major` (the compiled engine on a "
                                        "triangular model, e.g. slow-to-fast, and one sequence: slowest module "
                                        "first over a block of steps, the same bits) or `step-major` (step by step: "
                                        "a batch, other masks, and the event engine always)."),
    "dtype": SummaryKey("str", "What the model computed in: `float64` (the exact reference) or `float32`; bytes "
                               "and energy are counted in it (DESIGN section 12)."),
    "n_steps": SummaryKey("int", "Input steps L of each sequence."),
    "batch": SummaryKey("int", "Sequences B run together."),
    "count_basis": SummaryKey("str", "`per sequence` (B = 1) or `per batch`: what the operation counts cover."),
    "activations": SummaryKey("int", "Activations (one firing of one module, whatever the batch)."),
    "macs": SummaryKey("int", "Multiply-adds: `activation_macs + readout_macs`."),
    "activation_macs": SummaryKey("int", "Multiply-adds of the module updates."),
    "readout_macs": SummaryKey("int", "Multiply-adds of the readouts (`n_out * n` per readout)."),
    "readouts": SummaryKey("int", "Outputs read (one per input sample)."),
    "inputs": SummaryKey("int", "Input samples of each sequence (= `n_steps`)."),
    "inputs_read": SummaryKey("int", "Input samples that at least one module read."),
    "inputs_dropped": SummaryKey("int", "Input samples that no module ever read (`inputs - inputs_read`): no "
                                        "output reflects them. With a deadline each is a deadline miss."),
    "bias_adds": SummaryKey("int", "Bias additions of the module updates."),
    "fn_evals": SummaryKey("int", "Activation-function evaluations of the module updates."),
    "bytes_read": SummaryKey("int", "Bytes of weights and state read by the module updates."),
    "bytes_written": SummaryKey("int", "Bytes of state and messages written by the module updates "
                                       "(`cost.UpdateCost.traffic`), in the run's dtype."),
    "buffer_ops": SummaryKey("int", "Work of the input buffers (`input_mode` other than `latest`), never in `macs`: "
                                    "per buffered module `n_in` additions or comparisons per input sample, plus "
                                    "`n_in` divisions per firing of a `mean` module (`cost.buffer_cost`)."),
    "buffer_floats": SummaryKey("int", "Memory of the input buffers' accumulators, in floats: `n_in` per buffered "
                                       "module and sequence."),
    "dense_macs": SummaryKey("int", "Multiply-adds of a simple RNN of the same size running every step."),
    "speedup_vs_dense": SummaryKey("float", "`dense_macs / macs`."),
    "messages": SummaryKey("int", "Messages sent between modules."),
    "staleness": SummaryKey("dict", f"Staleness: {_STALENESS}."),
    "staleness.p50": SummaryKey("float?", "Median staleness (null when no activation read another module)."),
    "staleness.p99": SummaryKey("float?", "99th percentile of the staleness."),
    "staleness.max": SummaryKey("float?", "Largest staleness."),
    "staleness.over": SummaryKey("str", "What the percentiles are over: `activations that read another module`."),
    "staleness.n": SummaryKey("int", "How many activations that is."),
    "per_module": SummaryKey("list", "One entry per module, fastest first, with the keys below."),
    "per_module[].module": SummaryKey("int", "Module index (0-based)."),
    "per_module[].label": SummaryKey("str", "Module label, e.g. `M1 T=1`."),
    "per_module[].period": SummaryKey("float?", "Nominal period (an int when integral; null when infinite)."),
    "per_module[].size": SummaryKey("int", "Units k_i."),
    "per_module[].activations": SummaryKey("int", "Activations of the module."),
    "per_module[].macs": SummaryKey("int", "Their multiply-adds."),
    "per_module[].bias_adds": SummaryKey("int", "Their bias additions."),
    "per_module[].fn_evals": SummaryKey("int", "Their activation-function evaluations."),
    "per_module[].bytes_read": SummaryKey("int", "Bytes they read."),
    "per_module[].bytes_written": SummaryKey("int", "Bytes they wrote (state and messages)."),
    "per_module[].buffer_ops": SummaryKey("int", "Its input buffer's work (0 for `latest`)."),
    "per_module[].busy": SummaryKey("float", "Compute time (sum of `end - start`), model time."),
    "per_module[].staleness_mean": SummaryKey("float?", "Mean staleness of its reads of other modules (null before "
                                                        "any activation, and for a module that reads no other one)."),
    "per_module[].staleness_p50": SummaryKey("float?", "Median staleness of its reads."),
    "per_module[].staleness_p99": SummaryKey("float?", "99th percentile of the staleness of its reads."),
    "per_module[].staleness_max": SummaryKey("float?", "Largest staleness of its reads."),
    "per_module[].lag_max": SummaryKey("float?", "Largest lag: how long a newer state had been sent but not yet "
                                                 "received when it read."),
    "per_module[].queue_wait_mean": SummaryKey("float?", "Mean wait for a core (`start - time`)."),
    "per_module[].queue_wait_max": SummaryKey("float?", "Largest wait for a core."),
    "per_module[].period_s": SummaryKey("float?", "Nominal period in seconds.", "step"),
    "per_module[].response": SummaryKey("dict", "Response time of its jobs (finish - release): `{p50, p99, max, n}`.",
                                        "schedule"),
    "per_module[].preemptions": SummaryKey("int", "Times its jobs were preempted.", "schedule"),
    "per_module[].deadline_misses": SummaryKey("int", "Its jobs finishing after release + relative deadline "
                                                      "(`module_deadlines`, default the period).", "schedule"),
    "latency": SummaryKey("dict", "Output-complete latency: input arrival until every activation that latched the "
                                  "sample has published and, with the readout job, the readout after them has "
                                  "finished (DESIGN section 10).", "timing"),
    "latency.p50": SummaryKey("float?", "Median latency (null when no input was read).", "timing"),
    "latency.p99": SummaryKey("float?", "99th percentile of the latency.", "timing"),
    "latency.max": SummaryKey("float?", "Largest latency.", "timing"),
    "latency.over": SummaryKey("str", "What the percentiles are over: `inputs read` (a dropped input has no "
                                      "latency; see `inputs_dropped`).", "timing"),
    "latency.n": SummaryKey("int", "How many inputs that is (= `inputs_read`).", "timing"),
    "reaction": SummaryKey("dict", "Reaction: input arrival to the first published state that reflects it (round "
                                   "two's `latency`).", "timing"),
    "reaction.p50": SummaryKey("float?", "Median reaction.", "timing"),
    "reaction.p99": SummaryKey("float?", "99th percentile of the reaction.", "timing"),
    "reaction.max": SummaryKey("float?", "Largest reaction.", "timing"),
    "reaction.over": SummaryKey("str", "What the percentiles are over: `inputs read`.", "timing"),
    "reaction.n": SummaryKey("int", "How many inputs that is.", "timing"),
    "preemptions": SummaryKey("int", "Preemptions of all jobs.", "schedule"),
    "migrations": SummaryKey("int", "Resumptions of preempted jobs on another core.", "schedule"),
    "utilisation": SummaryKey("dict", "How busy the cores were.", "schedule"),
    "utilisation.total": SummaryKey("float", "Busy time of all cores over cores x the run's span (first firing "
                                             "to the last finish).", "schedule"),
    "utilisation.per_core": SummaryKey("list", "Busy fraction of each core.", "schedule"),
    "utilisation.demand": SummaryKey("float", "Sum of C_i / T_i (nominal execution time over period; the readout "
                                              "job counts once per step).", "schedule"),
    "readout_response": SummaryKey("dict", "Response time of the readout jobs (`n` 0 with `readout=False`).",
                                   "schedule"),
    "readout_response.p50": SummaryKey("float?", "Median.", "schedule"),
    "readout_response.p99": SummaryKey("float?", "99th percentile.", "schedule"),
    "readout_response.max": SummaryKey("float?", "Largest.", "schedule"),
    "readout_response.n": SummaryKey("int", "Readout jobs.", "schedule"),
    "deadline_misses": SummaryKey("int", "Inputs whose latency exceeds `engine.deadline`, plus the dropped "
                                         "inputs when a deadline is set (0 without a deadline).", "timing"),
    "queue_wait": SummaryKey("dict", "Wait of an activation for a core (`start - time`).", "timing"),
    "queue_wait.mean": SummaryKey("float?", "Mean over all activations.", "timing"),
    "queue_wait.max": SummaryKey("float?", "Largest.", "timing"),
    "memory": SummaryKey("dict", "Bytes per memory level of the device, `{level: {read, written}}`; they add up to "
                                 "`bytes_read` and `bytes_written` (placement rule: `cost.energy.place`).", "device"),
    "memory.<level>": SummaryKey("dict", "`read` and `written` bytes of that level (ints).", "device"),
    "energy": SummaryKey("dict", "Energy of the run on the device (`cost.energy.energy_report`), joules.", "device"),
    "energy.total_j": SummaryKey("float", "`compute_j + sum(memory_j) + static_j` (static only with a `step`).",
                                 "device"),
    "energy.per_step_j": SummaryKey("float?", "`total_j / n_steps`.", "device"),
    "energy.compute_j": SummaryKey("float", "`(macs * mac_pj + bias_adds * add_pj + fn_evals * activation_pj) "
                                            "* 1e-12` with the run's dtype.", "device"),
    "energy.memory_j": SummaryKey("dict", "Per level: bytes read and written times their pJ per byte.", "device"),
    "energy.static_j": SummaryKey("float?", "`static_power_w * run_time_s`; null without a `step` (no real time, "
                                            "so no static energy; `total_j` then excludes it).", "device"),
    "energy.run_time_s": SummaryKey("float?", "`n_steps * step`, seconds (null without a `step`).", "device"),
    "energy.device": SummaryKey("str", "Name of the device profile.", "device"),
    "energy.dtype": SummaryKey("str", "The dtype whose costs were used.", "device"),
    "energy.placement": SummaryKey("dict", "Level of the `weights` and of the `states`.", "device"),
    "per_module[].memory": SummaryKey("dict", "Its bytes per level, `{level: {read, written}}`.", "device"),
    "per_module[].energy": SummaryKey("dict", "Its `total_j`, `compute_j` and `memory_j` (the readout's multiply-adds "
                                              "and the static energy belong to no module).", "device"),
    "scenario": SummaryKey("str", "Name of the scenario.", "run"),
    "n_params": SummaryKey("int", "Trainable parameters of the LSTM (`model.n_params`).", "untraced"),
    "step_macs": SummaryKey("int", "Multiply-adds of one LSTM step per sequence, gates and readout "
                                   "(`clocksim.cost.lstm_step_macs`).", "untraced"),
    "accuracy": SummaryKey("dict", "How the (trained) model scores on the task's test set "
                                   "(:attr:`clocksim.tasks.Fit.metrics`).", "task"),
    "accuracy.task": SummaryKey("str", "Task kind.", "task"),
    "accuracy.metric": SummaryKey("str", "`nmse` (generation) or `test_error` (classification).", "task"),
    "accuracy.value": SummaryKey("float", "The value of that metric (lower is better).", "task"),
    "accuracy.test_loss": SummaryKey("float", "Loss on the test set.", "task"),
    "accuracy.n_params": SummaryKey("int", "Trainable parameters (`model.n_params`).", "task"),
    "accuracy.epochs": SummaryKey("int", "Epochs trained.", "trained"),
    "accuracy.best_epoch": SummaryKey("int?", "Epoch with the best monitored loss.", "trained"),
    "accuracy.stopped_early": SummaryKey("bool", "Whether early stopping ended the training.", "trained"),
    "accuracy.train_loss": SummaryKey("float?", "Training loss of the last epoch.", "trained"),
    "accuracy.train_seconds": SummaryKey("float", "Wall time of the training (varies between runs).", "trained"),
}

#: Keys that vary between identical runs (wall time): never a sweep metric.
_UNSTABLE = ("accuracy.train_seconds",)


def lookup(summary: dict, key: str):
    """The value of the dotted ``key`` in ``summary``, or None when absent."""
    node = summary
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def metric_columns(when=tuple(WHEN)) -> dict[str, str]:
    """Column name -> summary key of the numeric scalar keys present ``when``: ``latency.p99`` is ``latency_p99``."""
    return {key.replace(".", "_"): key for key, spec in SUMMARY_KEYS.items()
            if spec.type.rstrip("?") in ("int", "float") and "[]" not in key and spec.when in when
            and key not in _UNSTABLE}


def metric_row(summary: dict, columns) -> dict:
    """The cells ``columns`` (names from :func:`metric_columns`) of a results row, from a summary."""
    every = metric_columns()
    return {c: lookup(summary, every[c]) for c in columns}


def summary_markdown() -> str:
    """The key table of ``docs/traces.md``, generated from :data:`SUMMARY_KEYS` (a test keeps them equal)."""
    out = ["| key | type | present | meaning |", "|---|---|---|---|"]
    for key, spec in SUMMARY_KEYS.items():
        out.append(f"| `{key}` | {spec.type} | {WHEN[spec.when]} | {spec.meaning} |")
    out += ["", "Present: " + "; ".join(f"*{WHEN[k]}*: {v}" for k, v in WHEN_MEANING.items()) + ". "
            "A type ending in `?` may be null."]
    return "\n".join(out) + "\n"


def non_dominated(points, directions=None) -> np.ndarray:
    """The Pareto front: which rows of ``points`` no other row dominates. The one definition, used by
    sweeps (``plot_pareto``) and searches (``front/``).

    A row dominates another when it is no worse in every objective and better in one; equal rows are
    all on the front; a row holding NaN is never on it and dominates nothing.

    Parameters
    ----------
    points : array_like of float, shape (N, M)
        One row per configuration, one column per objective.
    directions : sequence of str, optional
        ``"minimize"`` or ``"maximize"`` per column (default: minimise all).

    Returns
    -------
    bool ndarray, shape (N,)
    """
    pts = np.array(points, dtype=float)                                  # (N, M)
    if pts.ndim != 2:
        pts = pts.reshape(-1, 1)                                         # one objective (or none given)
    if directions is not None:
        pts *= np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    valid = ~np.isnan(pts).any(axis=1)                                   # (N,)
    front = valid.copy()
    for i in np.flatnonzero(valid):
        others = pts[valid]
        front[i] = not (np.all(others <= pts[i], axis=1) & np.any(others < pts[i], axis=1)).any()
    return front
