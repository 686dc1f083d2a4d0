"""Parsers of the [task] and [train] sections (training scenarios)."""

from __future__ import annotations

import numpy as np

from ...model.cwrnn import ClockworkRNN
from ...train.optim import OPTIMIZERS
from ...train.loop import TrainConfig
from .schema import SCHEMA


def task_section(ctx, t: dict):
    from ...train import tasks  # on first use: sktime is imported only when needed

    kind = ctx.choice(t, "task.kind", list(tasks.TASK_KINDS))
    accepted = tasks.task_options(kind)
    options = {}
    for key, value in t.items():
        if key == "kind":
            continue
        if key not in accepted:
            ctx.fail(f"task.{key}", value, f"no such option for kind = \"{kind}\" (its options: "
                                            f"{', '.join(accepted) or 'none'})")
        expected = SCHEMA["task"][key].type
        if expected == "integer":
            options[key] = ctx.int(t, f"task.{key}", minimum=0)
        elif expected == "float":
            options[key] = ctx.float(t, f"task.{key}", minimum=0.0)
        else:
            options[key] = ctx.string(t, f"task.{key}")
    return ctx.call("task", tasks.make_task, kind, **options)


def task_input(ctx, inp: dict, task) -> np.ndarray:
    """The task's test inputs (B, L, n_in), trimmed by input.batch / input.steps; other input keys are refused."""
    for key in inp:
        if key not in ("steps", "batch"):
            ctx.fail(f"input.{key}", inp[key], "no such key with a [task] (its test sequences are the input; only "
                                               "input.steps and input.batch trim them)")
    x = task.x_test
    if "batch" in inp:
        x = x[:ctx.int(inp, "input.batch", minimum=1)]
    if "steps" in inp:
        x = x[:, :ctx.int(inp, "input.steps", minimum=1)]
    return np.ascontiguousarray(x)


def train_section(ctx, t: dict, task, model: ClockworkRNN) -> tuple[TrainConfig, int]:
    values: dict = {"loss": task.loss}
    values["optimizer"] = ctx.choice(t, "train.optimizer", list(OPTIMIZERS))
    for key in ("learning_rate", "momentum", "min_delta", "input_noise", "beta1", "beta2"):
        values[key] = ctx.float(t, f"train.{key}", minimum=0.0, strict=key == "learning_rate")
    for key in ("epochs", "seed"):
        values[key] = ctx.int(t, f"train.{key}", minimum=0)
    for key in ("batch_size", "patience"):
        if key in t:
            values[key] = ctx.int(t, f"train.{key}", minimum=1)
    if "clip_norm" in t:
        values["clip_norm"] = ctx.float(t, "train.clip_norm", minimum=0.0, strict=True)
    values["shuffle"] = ctx.bool(t, "train.shuffle")
    freeze = ctx.get(t, "train.freeze")
    if not isinstance(freeze, list) or not all(isinstance(k, str) for k in freeze):
        ctx.fail("train.freeze", freeze, "an array of parameter names such as [\"h0\"]")
    for i, name in enumerate(freeze):
        if name not in model.params:
            ctx.fail(f"train.freeze[{i}]", name, "one of " + ", ".join(model.params))
    values["freeze"] = tuple(freeze)
    config = ctx.call("train", TrainConfig, **values)
    return config, ctx.int(t, "train.checkpoint_every", minimum=1)
