"""Trainer modes: plain fit (optional hold-out), K-fold cross-validation, the shuffled-label baseline,
and the hand-written loops of chapters 2, 3 and 7 (``custom_loop``, ``scratch``)."""

from __future__ import annotations

import time

import keras
import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import (
    Context,
    TrainResult,
    epoch_datasets,
    holdout_split,
    score_test,
    test_dataset,
    training_summary,
)
from dlwp_cli.training.distributed import distributed_trainer, is_multi_worker
from dlwp_cli.training.features import Prepared, kfold_indices
from dlwp_cli.training.inputs import make_dataset
from dlwp_cli.training.loops import custom_loop_trainer
from dlwp_cli.training.modeling import build_model
from dlwp_cli.training.scratch import scratch_trainer


def _fit(ctx: Context, data: Prepared, train_idx, val_idx, label: str = ""):
    cfg = ctx.cfg
    train_ds, val_ds, steps = epoch_datasets(ctx, data, train_idx, val_idx)
    callbacks = ctx.callbacks(label, steps)
    with ctx.strategy.scope():
        model = build_model(cfg, data, ctx.strategy.num_replicas_in_sync)
    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=int(cfg.epochs), callbacks=callbacks, verbose=0,
                        shuffle=False)  # the dataset shuffles itself
    train_s = time.perf_counter() - started
    clean = {k: [float(v) for v in vals] for k, vals in history.history.items() if k != "learning_rate"}
    return model, clean, steps, train_s


def _keras_evaluate(ctx: Context, model, data: Prepared):
    """Test scoring with ``model.evaluate`` (for ``score_test``)."""
    return lambda: model.evaluate(test_dataset(ctx, data), verbose=0, return_dict=True)


def fit_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Fit on the training rows (minus a hold-out, if asked), then evaluate on the test set. Under
    MultiWorkerMirroredStrategy, where Keras 3's fit fails, the ``strategy.run`` loop of ``distributed``."""
    if is_multi_worker(ctx.strategy):
        return distributed_trainer(ctx, data)
    train_idx, val_idx = holdout_split(ctx.cfg, data.n_train)
    model, history, steps, train_s = _fit(ctx, data, train_idx, val_idx)
    metrics = training_summary(history, steps, train_idx, val_idx, data.n_val)
    timings = {"train_s": train_s}
    score_test(ctx, data, _keras_evaluate(ctx, model, data), metrics, timings)
    return TrainResult(metrics, model, timings)


def _mean_history(histories: list[dict]) -> dict:
    keys = set.intersection(*(set(h) for h in histories))
    return {k: np.mean([h[k] for h in histories], axis=0).tolist() for k in sorted(keys)}


def kfold_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """The book's K-fold: a fresh model per fold; fold scores from evaluating its validation slice."""
    cfg = ctx.cfg
    n = data.n_train
    try:
        folds = kfold_indices(n, int(cfg.trainer.folds), cfg.trainer.shuffle_folds, int(cfg.seed))
    except ValueError as err:
        raise ConfigError(f"trainer.folds: {err}.") from None
    fold_results, histories, train_s, model = [], [], 0.0, None
    for i, (train_idx, val_idx) in enumerate(folds):
        keras.utils.set_random_seed(int(cfg.seed) + i)
        per_epoch = val_idx if cfg.trainer.validate_each_epoch else None
        model, history, steps, seconds = _fit(ctx, data, train_idx, per_epoch, label=f"fold_{i + 1}")
        train_s += seconds
        val_ds = make_dataset(data.x_train, data.y_train, data, int(cfg.batch_size), indices=val_idx,
                              limit_batches=cfg.trainer.limit_batches)
        scores = model.evaluate(val_ds, verbose=0, return_dict=True)
        fold = {f"val_{k}": float(v) for k, v in scores.items()}
        fold["history"] = history
        fold_results.append(fold)
        histories.append(history)
    score_keys = [k for k in fold_results[0] if k != "history"]
    mean_history = _mean_history(histories)
    cv = {
        "folds": fold_results,
        "mean": {k: float(np.mean([f[k] for f in fold_results])) for k in score_keys},
        "std": {k: float(np.std([f[k] for f in fold_results])) for k in score_keys},
        "mean_history": mean_history,
        "best_epoch": {k: int(np.argmin(v)) + 1 for k, v in mean_history.items() if not k.endswith("accuracy")},
    }
    metrics = {"cv": cv, **training_summary(mean_history, steps, folds[0][0], folds[0][1])}
    timings = {"train_s": train_s}
    score_test(ctx, data, _keras_evaluate(ctx, model, data), metrics, timings)
    return TrainResult(metrics, model, timings)


def random_baseline_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Accuracy of the test labels against a shuffled copy of themselves (the book's chance level)."""
    labels = data.y_test.argmax(axis=1) if data.y_test.ndim == 2 else data.y_test
    shuffled = np.random.RandomState(int(ctx.cfg.seed)).permutation(labels)
    return TrainResult({"test": {"accuracy": float(np.mean(labels == shuffled))}, "history": {}})
