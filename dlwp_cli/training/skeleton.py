"""The one training skeleton every trainer mode runs: hold-out, input pipelines, callbacks, the model built
inside the strategy's scope, training, the summary, and the test scores.

A mode differs only in what it trains: its ``build(ctx, data)`` returns a *trainee*, an object with

- ``model``: the Keras model (saved as model.keras), or None;
- ``fit(train, validation, epochs, steps, callbacks) -> history`` (a list of floats per logged metric);
- ``evaluate(dataset) -> scores`` (a dict of floats);
- optionally ``report() -> dict``, merged into metrics.json after training.

:class:`KerasFit` is the trainee of ``model.fit`` / ``model.evaluate``.
"""

from __future__ import annotations

import time

from dlwp_cli.training.callbacks import EpochTimer
from dlwp_cli.training.common import (
    Context,
    TrainResult,
    epoch_datasets,
    holdout_split,
    score_test,
    test_dataset,
    training_summary,
)
from dlwp_cli.training.features import Prepared


class KerasFit:
    """``model.fit`` on the epoch datasets and ``model.evaluate`` for scores."""

    def __init__(self, model):
        self.model = model

    def fit(self, train, validation, epochs: int, steps: int, callbacks: list) -> dict:
        history = self.model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=0,
                                 shuffle=False)  # the dataset shuffles itself
        return {k: [float(v) for v in values] for k, values in history.history.items() if k != "learning_rate"}

    def evaluate(self, dataset) -> dict:
        return {k: float(v) for k, v in self.model.evaluate(dataset, verbose=0, return_dict=True).items()}


def train_and_score(mode, ctx: Context, data: Prepared, label: str = "", split=None,
                    score: bool = True) -> tuple[TrainResult, object]:
    """Train ``mode``'s trainee on the training rows (``split``: explicit (train, validation) row indices;
    default: the trainer's hold-out) and score it on the test rows. Returns the result and the trainee."""
    cfg = ctx.cfg
    train_idx, val_idx = split if split is not None else holdout_split(cfg, data.n_train)
    train_ds, val_ds, steps, order = epoch_datasets(ctx, data, train_idx, val_idx)
    timer = EpochTimer()
    callbacks = ctx.callbacks(label, steps) + ([order] if order is not None else []) + [timer]
    with ctx.strategy.scope():
        trainee = mode.build(ctx, data)
    started = time.perf_counter()
    history = trainee.fit(train_ds, val_ds, int(cfg.epochs), steps, callbacks)
    timings = {"train_s": time.perf_counter() - started, "epoch_s": timer.seconds,
               "epoch_train_s": timer.training_seconds}
    metrics = training_summary(history, steps, train_idx, val_idx, data.n_val)
    if hasattr(trainee, "report"):
        metrics.update(trainee.report())
    if score:
        score_test(ctx, data, lambda: trainee.evaluate(test_dataset(ctx, data)), metrics, timings)
    return TrainResult(metrics, trainee.model, timings), trainee
