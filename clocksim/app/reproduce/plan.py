"""What the reproduction runs: the experiments, their settings, and the jobs they expand into.

Every job is plain data (a dict of numbers and strings) and fully determined by
its fields, so a job gives the same result in any worker process and the
results do not depend on how many workers there are.

Experiments (Koutník et al. 2014, sections 4.1 and 4.2):

``generation``
    No input, one linear output, the five bundled pieces; RNN, LSTM and CW-RNN
    (9 modules, periods 1..256) sized for 100/250/500/1000 parameters as in the
    paper's Table 1; weights N(0, 0.1^2); SGD with Nesterov momentum 0.95,
    full batch, 2000 epochs; the initial state is held at zero (``freeze``).
``synthetic_words`` / ``japanese_vowels``
    Classification at the last step; the three models at matched parameter
    counts (``rule="nearest"``); Nesterov momentum 0.9, minibatches of 16,
    Gaussian input noise, early stopping on a held-out validation set
    (patience 10, at most 150 epochs).
``generation_adam``
    Not in the paper: the generation runs again with Adam instead of SGD
    (its own learning-rate scan), to tell the models apart from the optimiser.

Each learning rate is chosen per model by a scan (the paper: "the learning
rate was optimized separately for every method, but kept the same for all
network sizes"): generation by the median NMSE on the 250-parameter networks,
classification by the mean best validation loss. Scan runs use their own seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model.baselines import PAPER_PERIODS
from ...model.clocks import exponential_periods, fibonacci_periods, linear_periods

__all__ = ["Settings", "FULL", "QUICK", "EXPERIMENTS", "MODELS", "SCHEDULES", "scan_jobs", "main_jobs",
           "schedule_jobs", "is_generation"]

MODELS = ("rnn", "lstm", "cwrnn")
SCAN_SEED_BASE = 1000          # scan runs never share a seed with the reported runs


@dataclass(frozen=True)
class Settings:
    """How much to run: epochs, seeds and the learning-rate grids."""

    name: str
    generation_epochs: int
    generation_seeds: int           # per piece: runs per (model, budget) = 5 * seeds
    generation_scan_seeds: int
    classification_epochs: int
    classification_seeds: int
    classification_scan_seeds: int
    pieces: tuple[int, ...] = (0, 1, 2, 3, 4)
    scan_pieces: tuple[int, ...] = (0, 1, 2, 3, 4)


FULL = Settings("full", generation_epochs=2000, generation_seeds=20, generation_scan_seeds=2,
                classification_epochs=150, classification_seeds=100, classification_scan_seeds=3)
QUICK = Settings("quick", generation_epochs=60, generation_seeds=1, generation_scan_seeds=1,
                 classification_epochs=6, classification_seeds=2, classification_scan_seeds=1,
                 pieces=(0, 1, 2, 3, 4), scan_pieces=(0,))

#: Per experiment: the task, model sizes, CW-RNN periods, training recipe and learning-rate grid.
EXPERIMENTS = {
    "generation": {
        "task": {"kind": "generation"},
        "budgets": (100, 250, 500, 1000),
        "scan_budget": 250,
        "rule": "paper",
        "periods": tuple(PAPER_PERIODS),
        "train": {"optimizer": "nesterov", "momentum": 0.95, "shuffle": False},
        "lr_grid": (0.003, 0.01, 0.03, 0.1, 0.3),
    },
    "generation_adam": {                    # not in the paper: the same runs with Adam instead of SGD
        "task": {"kind": "generation"},
        "budgets": (100, 250, 500, 1000),
        "scan_budget": 250,
        "rule": "paper",
        "periods": tuple(PAPER_PERIODS),
        "train": {"optimizer": "adam", "shuffle": False},
        "lr_grid": (0.001, 0.003, 0.01, 0.03),
    },
    "synthetic_words": {
        "task": {"kind": "synthetic_words"},
        "budgets": (3000,),
        "scan_budget": 3000,
        "rule": "nearest",
        "periods": tuple(exponential_periods(7)),
        "train": {"optimizer": "nesterov", "momentum": 0.9, "batch_size": 16, "input_noise": 0.3, "patience": 10},
        "lr_grid": (0.01, 0.03, 0.1),
    },
    "japanese_vowels": {
        "task": {"kind": "japanese_vowels"},
        "budgets": (2000,),
        "scan_budget": 2000,
        "rule": "nearest",
        "periods": tuple(exponential_periods(5)),
        "train": {"optimizer": "nesterov", "momentum": 0.9, "batch_size": 16, "input_noise": 0.3, "patience": 10},
        "lr_grid": (0.01, 0.03, 0.1),
    },
}

#: The schedule comparison: CW-RNNs of the same sizes (so the same parameters) with other periods.
SCHEDULES = {
    "exponential": lambda g: tuple(exponential_periods(g)),
    "fibonacci": lambda g: tuple(fibonacci_periods(g)),
    "linear": lambda g: tuple(linear_periods(g)),
    "exponential, front padding": lambda g: tuple(exponential_periods(g)),
}


def is_generation(experiment: str) -> bool:
    """Whether ``experiment`` is a sequence-generation one (pieces, NMSE) rather than classification."""
    return EXPERIMENTS[experiment]["task"]["kind"] == "generation"


def _epochs(experiment: str, settings: Settings) -> int:
    return settings.generation_epochs if is_generation(experiment) else settings.classification_epochs


def _job(experiment: str, stage: str, model: str, budget: int, lr: float, seed: int, settings: Settings,
         piece: int | None = None, periods=None, schedule: str | None = None) -> dict:
    spec = EXPERIMENTS[experiment]
    task = dict(spec["task"])
    if piece is not None:
        task["piece"] = piece
    if schedule == "exponential, front padding":
        task["padding"] = "front"
    return {"experiment": experiment, "stage": stage, "model": model, "budget": budget, "rule": spec["rule"],
            "periods": list(periods if periods is not None else spec["periods"]), "schedule": schedule,
            "task": task, "train": dict(spec["train"], epochs=_epochs(experiment, settings)),
            "learning_rate": lr, "seed": seed}


def scan_jobs(settings: Settings) -> list[dict]:
    """The learning-rate scans of every experiment and model."""
    jobs = []
    for name, spec in EXPERIMENTS.items():
        for model in MODELS:
            for lr in spec["lr_grid"]:
                if is_generation(name):
                    seeds = settings.generation_scan_seeds
                    for piece in settings.scan_pieces:
                        for s in range(seeds):
                            jobs.append(_job(name, "scan", model, spec["scan_budget"], lr, SCAN_SEED_BASE + s,
                                             settings, piece=piece))
                else:
                    for s in range(settings.classification_scan_seeds):
                        jobs.append(_job(name, "scan", model, spec["scan_budget"], lr, SCAN_SEED_BASE + s, settings))
    return jobs


def main_jobs(settings: Settings, learning_rates: dict) -> list[dict]:
    """The reported runs; ``learning_rates[experiment][model]`` is the scan's choice."""
    jobs = []
    for name, spec in EXPERIMENTS.items():
        for model in MODELS:
            lr = learning_rates[name][model]
            for budget in spec["budgets"]:
                if is_generation(name):
                    for piece in settings.pieces:
                        for s in range(settings.generation_seeds):
                            jobs.append(_job(name, "main", model, budget, lr, s, settings, piece=piece))
                else:
                    for s in range(settings.classification_seeds):
                        jobs.append(_job(name, "main", model, budget, lr, s, settings))
    return jobs


def schedule_jobs(settings: Settings, learning_rates: dict) -> list[dict]:
    """CW-RNNs with other periods on the classification tasks (the exponential row is the main runs' twin)."""
    jobs = []
    for name, spec in EXPERIMENTS.items():
        if is_generation(name):
            continue
        g = len(spec["periods"])
        for schedule, periods in SCHEDULES.items():
            if schedule == "exponential":
                continue                      # the main CW-RNN runs are exactly these
            for s in range(settings.classification_seeds):
                jobs.append(_job(name, "schedule", "cwrnn", spec["budgets"][-1], learning_rates[name]["cwrnn"], s,
                                 settings, periods=periods(g), schedule=schedule))
    return jobs
