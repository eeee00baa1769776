"""``trainer=summary``: no training. The model is built for the task's inputs as a fit would build it, its Keras
summary is written to ``summary.txt`` (and printed), and its parameter counts go into metrics.json: the book's
"summary only" architectures (§9.3) and parameter-count checks. This module imports no TensorFlow, so configs
are checked without it.

A body that is really several models (e.g. two layers compared side by side) has
``build_models(input_shape, head) -> {name: model}``; each is summarised, and metrics.json gets
``parameters_by_model`` and their total as ``parameters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlwp_cli.training.modes import TrainerMode

SUMMARY = "summary.txt"
LINE_LENGTH = 110    # characters per line of the summary table
FIT_MODEL = "model"   # the name of the one model a fit would train (it may hold the dataset's preprocessing)


@dataclass
class Summary(TrainerMode):
    """Build the model, write summary.txt, record ``parameters``, ``trainable_parameters`` and
    ``non_trainable_parameters`` (and ``parameters_by_model`` for several models); nothing is trained."""

    expand_nested: bool = True

    # The data is needed for its shapes only: a summary can be drawn on the task's synthetic stand-in.
    needs_data: ClassVar[bool] = False

    def run(self, ctx, data):
        import time

        from dlwp_cli.training.common import TrainResult

        started = time.perf_counter()
        with ctx.strategy.scope():
            models = build_models(ctx.cfg, data, ctx.strategy.num_replicas_in_sync)
        text = "\n".join(summary_text(model, self.expand_nested, name if len(models) > 1 else None)
                         for name, model in models.items())
        if ctx.run_dir is not None:
            from dlwp_cli import run_folder

            run_folder.write_atomic(ctx.run_dir / SUMMARY, text)
        if ctx.cfg.output.console:
            from dlwp_cli import console

            console.console.print(text, markup=False, highlight=False)
        metrics = {"history": {}, **parameter_counts(models, data)}
        return TrainResult(metrics, None, {"build_s": time.perf_counter() - started})


def build_models(cfg, data, replicas: int) -> dict:
    """``{name: model}``: the body's own ``build_models`` for a body of several models, else the one model a fit
    would train (augmentation, preprocessing and compile included)."""
    from dlwp_cli.errors import ConfigError
    from dlwp_cli.training.modeling import build_model, heads, model_body

    body = model_body(cfg.model, cfg.get("smoke", False))
    if not hasattr(body, "build_models"):
        return {FIT_MODEL: build_model(cfg, data, replicas)}
    try:
        return dict(body.build_models(tuple(data.input_shape), heads(cfg.task)))
    except ValueError as err:
        raise ConfigError(f"Model '{cfg.model._target_}' cannot be built for task '{cfg.task.name}' inputs of shape "
                          f"{data.input_shape}: {str(err).splitlines()[0]}") from None


def summary_text(model, expand_nested: bool, title: str | None = None) -> str:
    """Keras's ``model.summary()`` as plain text (under a title line when given)."""
    captured: list[str] = []
    model.summary(line_length=LINE_LENGTH, print_fn=lambda text, **_: captured.append(str(text)),
                  expand_nested=expand_nested)
    return "\n".join(([f"# {title}"] if title else []) + captured)


def parameter_counts(models: dict, data) -> dict:
    """``parameters`` (preprocessing layers excluded, so book counts compare), ``trainable_parameters``,
    ``non_trainable_parameters``, and ``parameters_by_model`` when there are several models."""
    import numpy as np

    from dlwp_cli.training.modeling import body_parameters

    totals = {name: body_parameters(model, data) if name == FIT_MODEL else int(model.count_params())
              for name, model in models.items()}
    trainable = sum(int(np.prod(w.shape)) for model in models.values() for w in model.trainable_weights)
    found = {"parameters": sum(totals.values()), "trainable_parameters": trainable,
             "non_trainable_parameters": sum(totals.values()) - trainable}
    if len(models) > 1:
        found["parameters_by_model"] = totals
    return found
