"""The scenario schema: every section and key with its type, default and meaning, the one
source for the validator and for docs/scenarios.md."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InvalidValueError

INPUT_KINDS = ("sine", "square", "noise", "step", "silence", "file")
ARRIVALS = ("regular", "jittered")
PLOTS = ("activity", "cost", "latency", "gantt", "staleness", "state", "connectivity", "energy")


class ScenarioError(InvalidValueError):
    """A scenario file (or an override) is malformed; the message names file, key, value, expectation."""


@dataclass(frozen=True)
class Key:
    """One scenario key: its TOML type, default and meaning (the single source for docs and checks)."""

    type: str          # human-readable TOML type, as in docs/scenarios.md
    default: object    # None: optional with no default; REQUIRED: must be given
    doc: str


REQUIRED = "required"

SCHEMA: dict[str, dict[str, Key]] = {
    "scenario": {
        "name": Key("string", None, "Short name shown in reports and comparisons (default: the file name)."),
        "description": Key("string", None, "What the scenario shows (default: the file's first comment lines)."),
    },
    "model": {
        "kind": Key("string", "cwrnn", "cwrnn (a Clockwork RNN), rnn (a simple RNN: one module of period 1, "
                                       "dense) or lstm (clocksim.LSTM: trained and scored with a [task], never "
                                       "simulated; see \"Models sized to a budget, and models that are not "
                                       "clocked\"). rnn and lstm take only "
                                       "`module_sizes` (one integer: the units), `budget`, `rule`, `n_out`, "
                                       "`output_activation`, `seed`, `params`, `dtype`, and rnn `activation`."),
        "budget": Key("integer", None, "Size the model to this many parameters (clocksim.baselines."
                                       "size_for_budget, as the paper's Table 1) instead of `module_sizes`; a "
                                       "CW-RNN's units are split over its modules by split_units."),
        "rule": Key("string", "paper", "With `budget`: paper, floor, ceil or nearest (size_for_budget's rules)."),
        "modules": Key("integer", None, "Number of modules g, when neither `periods` nor `clocks` fixes it "
                                        "(with `family`; default 8)."),
        "module_sizes": Key("integer or array of integers", 8, "Units per module, fastest first; one integer "
                                                              "gives every module that size."),
        "periods": Key("array of integers", None, "Clock period of each module, fastest first (any positive "
                                                  "integers)."),
        "family": Key("string", "exponential", "Period family when `periods` and `clocks` are absent: "
                                               "exponential, fibonacci, linear or prime."),
        "base": Key("integer", 2, "Base of the exponential family (periods 1, base, base^2, ...)."),
        "step": Key("integer", 1, "Step of the linear family (periods 1, 1+step, ...)."),
        "phases": Key("array of integers or string", "aligned",
                      "Phase of each periodic clock, or \"aligned\" (all 0) or \"staggered\" "
                      "(clocksim.stagger_phases, weighted by each module's multiply-adds)."),
        "clocks": Key("array of tables", None, "One clock per module with a `kind` (periodic, explicit, jittered, "
                                               "poisson, on_input) and that clock's arguments, instead "
                                               "of `periods`/`family`/`phases`."),
        "connectivity": Key("string or array of arrays of booleans", "slow-to-fast",
                            "\"slow-to-fast\" (the paper), \"dense\", or a g x g mask: row i, column j true "
                            "when module j feeds module i."),
        "activation": Key("string", "tanh", "Hidden activation: tanh, sigmoid, relu or linear."),
        "output_activation": Key("string", "linear", "Output activation: linear, tanh, sigmoid or softmax."),
        "n_out": Key("integer", 1, "Output size."),
        "start": Key("integer", 0, "Number of the first step (0 or 1 are the conventions in use)."),
        "seed": Key("integer", 0, "Seed of the paper's initialisation."),
        "dtype": Key("string", "float64", "What the model computes in: \"float64\" (the exact reference) or "
                                          "\"float32\" (faster; within 1e-4 relative of float64 on the outputs, "
                                          "both engines still agree bit for bit; bytes and energy are counted in "
                                          "it). DESIGN section 12."),
        "input_mode": Key("string or array of strings", "latest",
                          "What an active module reads: \"latest\" (the paper: the sample of its step), or "
                          "\"mean\", \"sum\", \"max\" of the samples since its previous firing (input "
                          "buffering, docs/buffering.md); one mode, or one per module."),
        "params": Key("string", None, "Path of an .npz file with trained parameters (W_in, W_rec, b, W_out, "
                                      "b_out, h0), relative to the scenario."),
    },
    "input": {
        "kind": Key("string", "sine", "Input generator: sine, square, noise, step, silence, or file."),
        "steps": Key("integer", 256, "Number of input steps L (for `file`: at most the file's length; with a "
                                     "[task]: keep the first `steps` steps of its test sequences)."),
        "batch": Key("integer", 1, "Number of sequences B run together (with a [task]: simulate its first `batch` "
                                   "test sequences; default all)."),
        "channels": Key("integer", 1, "Input size n_in (0: a generator with no input; ignored for `file`)."),
        "amplitude": Key("float", 1.0, "Amplitude of sine, square and step inputs."),
        "period": Key("float", 32.0, "Period in steps of sine and square inputs."),
        "std": Key("float", 1.0, "Standard deviation of the input when kind = \"noise\"."),
        "noise": Key("float", 0.0, "Standard deviation of Gaussian noise added to sine, square or step inputs."),
        "at": Key("integer", None, "Step at which a step input switches on (default: half way)."),
        "seed": Key("integer", 0, "Seed of noise, of random phases across the batch and of jittered arrivals."),
        "path": Key("string", None, "For kind = \"file\": a .npy or .csv file of shape (L, n_in) or (B, L, n_in) "
                                    "(.csv: (L, n_in)), relative to the scenario."),
        "arrival": Key("string", "regular", "When samples arrive: regular (at start + s) or jittered "
                                            "(start + s + U(-jitter/2, jitter/2); event engine only)."),
        "jitter": Key("float", 0.0, "Width of the arrival jitter window (0 <= jitter < 1)."),
    },
    "engine": {
        "name": Key("string", "events", "Engine: events (SimPy processes, traces timing) or compiled."),
        "step": Key("float or string", None, "Seconds per input step (a number of seconds or e.g. \"10 ms\"): "
                                             "times written with a unit convert with it, and the summary, report, "
                                             "figures and Perfetto trace read in seconds."),
        "deadline": Key("float or string", None, "An input whose output-complete latency exceeds this (steps, or "
                                                 "a time with a unit such as \"20 ms\") is a miss."),
        "latency": Key("float or table", None, "Message delay on every link: a number, or a table with `kind` "
                                               "(fixed, uniform, exponential) and its arguments."),
        "latency_seed": Key("integer", 0, "Seed of random link delays (each link has its own stream)."),
        "links": Key("array of tables", None, "Per-link delays: tables with `sender`, `receiver` (0-based "
                                              "module indices) and `delay` (number or table)."),
        "compute": Key("table", None, "Compute model (DESIGN section 10, `cs.ComputeModel`): `cores` (1), "
                                      "`throughput` (multiply-adds per step per core, or e.g. \"2e9/s\"), "
                                      "`overhead` (per job), `policy` (fixed-priority, edf, fifo), `priority` "
                                      "(fastest-first = rate-monotonic, slowest-first, deadline-monotonic or a "
                                      "list), `preemptive`, `partition`, `speeds`, `execution` (per-module times, "
                                      "e.g. [\"250 us\", ...]), `variation` ({kind = \"uniform\", low = 0.6}, "
                                      "normal, empirical), `context_switch`, `migration`, `readout` (true: the "
                                      "readout is a job), `module_deadlines`, `device` (a bundled device profile's name, e.g. "
                                      "\"cortex-m4-like\", or a device .toml file relative to the scenario: "
                                      "execution times from its roofline, and the summary's memory and energy; "
                                      "DESIGN section 11; needs [engine] step)."),
    },
    "task": {
        "kind": Key("string", None, "What to learn (required in a [task] table): generation (the paper's section "
                                    "4.1: no input, reproduce a bundled 320-sample piece), japanese_vowels (name "
                                    "the speaker of an utterance; needs `pip install 'clocksim[datasets]'`) or "
                                    "synthetic_words (the paper's section 4.2 design: 25 words in 5 groups sharing "
                                    "a suffix). The task fixes the model's n_in and n_out, and its test sequences "
                                    "are the input that is simulated."),
        "piece": Key("integer", 0, "generation: which bundled piece, 0 to 4."),
        "padding": Key("string", "end", "japanese_vowels, synthetic_words: \"end\" (every sequence starts at "
                                        "step 0 with the clocks, zeros follow, labelled at its own last step) "
                                        "or \"front\" (zeros first, labelled at the last step)."),
        "validation": Key("float", 0.2, "japanese_vowels, synthetic_words: fraction of each class's training "
                                        "sequences held out for early stopping (`train.patience`)."),
        "seed": Key("integer", 0, "japanese_vowels, synthetic_words: seed of the data (synthetic words) and of "
                                  "the validation split."),
        "groups": Key("integer", 5, "synthetic_words: groups of words sharing a suffix."),
        "words_per_group": Key("integer", 5, "synthetic_words: words per group (classes = groups x words)."),
        "channels": Key("integer", 13, "synthetic_words: feature channels per step (the model's n_in)."),
        "prefix_length": Key("integer", 12, "synthetic_words: nominal steps of the word's deciding prefix."),
        "suffix_length": Key("integer", 48, "synthetic_words: nominal steps of the group's shared suffix."),
        "train_per_class": Key("integer", 6, "synthetic_words: training examples per word (validation included)."),
        "test_per_class": Key("integer", 10, "synthetic_words: test examples per word."),
        "noise": Key("float", 0.3, "synthetic_words: standard deviation of the white noise on every step."),
    },
    "train": {
        "optimizer": Key("string", "nesterov", "nesterov (the paper's SGD with Nesterov momentum), momentum, sgd or "
                                               "adam. The loss is the task's: mse for generation, softmax "
                                               "cross-entropy at the labelled last step for classification."),
        "learning_rate": Key("float", 1e-3, "Step size (on the mean loss over the labelled steps and sequences)."),
        "momentum": Key("float", 0.9, "Momentum of nesterov and momentum (the paper: 0.95 for generation)."),
        "epochs": Key("integer", 100, "Maximum number of passes over the training sequences."),
        "batch_size": Key("integer", None, "Sequences per minibatch (default: all of them, full-batch)."),
        "shuffle": Key("boolean", True, "Permute the training sequences every epoch."),
        "patience": Key("integer", None, "Stop after this many epochs without improvement of the validation loss "
                                         "(the training loss without a validation set); end with the best "
                                         "epoch's weights. Default: never stop early."),
        "min_delta": Key("float", 0.0, "An epoch improves only if it lowers the best loss by more than this."),
        "input_noise": Key("float", 0.0, "Standard deviation of Gaussian noise added to each minibatch's inputs."),
        "clip_norm": Key("float", None, "Rescale gradients whose global norm exceeds this (default: no clipping)."),
        "freeze": Key("array of strings", [], "Parameters left untrained, e.g. [\"h0\"] keeps the initial state "
                                              "at zero as in the paper."),
        "beta1": Key("float", 0.9, "adam: decay of the first-moment estimate."),
        "beta2": Key("float", 0.999, "adam: decay of the second-moment estimate."),
        "seed": Key("integer", 0, "Seed of the shuffling and the input noise."),
        "checkpoint_every": Key("integer", 10, "Write `checkpoint.npz` into the output folder every this many "
                                               "epochs and at the end (`clocksim run --resume` continues from it)."),
    },
    "output": {
        "plots": Key("array of strings", None, "Figures to write: activity, cost, latency, gantt, staleness, "
                                               "state, connectivity, energy (default: activity and cost, plus latency "
                                               "and gantt when a timing model is on, plus staleness when messages "
                                               "take time, plus energy when a device is set)."),
        "figures": Key("array of strings", ["png"], "Formats every figure is written in: any of \"png\", "
                                                  "\"pdf\", \"svg\" (e.g. [\"png\", \"pdf\"] writes activity.png "
                                                  "and activity.pdf)."),
        "figure_size": Key("string", None, "Figure width for print: \"column\" (3.5 in) or \"page\" (7 in), "
                                           "fonts to match (default: the screen layout, about 10 in)."),
        "csv": Key("boolean", True, "Write trace.csv (one row per activation)."),
        "chrome": Key("boolean", True, "Write trace.json (Chrome trace events; open in ui.perfetto.dev)."),
        "trace": Key("string", "full", "\"full\" (one row per activation) or \"aggregate\" (per-module totals "
                                       "in constant memory, for long runs: then no trace.csv, trace.json, "
                                       "trace.npz, and of the figures only connectivity)."),
        "keep": Key("string", "all", "States and outputs the run keeps: \"all\", \"outputs\", \"last\" "
                                     "(final step only) or \"none\"; the state figure needs \"all\"."),
    },
}


def schema_markdown() -> str:
    """The key tables of ``docs/scenarios.md``, generated from :data:`SCHEMA` (a test keeps them equal)."""
    out = []
    for section, keys in SCHEMA.items():
        out += [f"### [{section}]", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, key in keys.items():
            default = "—" if key.default is None else f"`{_toml_value(key.default)}`"
            out.append(f"| `{name}` | {key.type} | {default} | {key.doc} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
