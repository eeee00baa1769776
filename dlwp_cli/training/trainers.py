"""The modes built on the training skeleton's pieces that do more than one fit: K-fold cross-validation,
and the shuffled-label baseline (no model at all)."""

from __future__ import annotations

import keras
import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import Context, TrainResult, score_test, test_dataset, training_summary
from dlwp_cli.training.features import Prepared, kfold_indices
from dlwp_cli.training.inputs import make_dataset
from dlwp_cli.training.skeleton import train_and_score


def _mean_history(histories: list[dict]) -> dict:
    keys = set.intersection(*(set(h) for h in histories))
    return {k: np.mean([h[k] for h in histories], axis=0).tolist() for k in sorted(keys)}


def kfold_trainer(mode, ctx: Context, data: Prepared) -> TrainResult:
    """The book's K-fold: a fresh model per fold; fold scores from evaluating its validation slice."""
    cfg = ctx.cfg
    try:
        folds = kfold_indices(data.n_train, int(cfg.trainer.folds), cfg.trainer.shuffle_folds, int(cfg.seed))
    except ValueError as err:
        raise ConfigError(f"trainer.folds: {err}.") from None
    fold_results, histories, train_s, trainee, steps = [], [], 0.0, None, 0
    for i, (train_idx, val_idx) in enumerate(folds):
        keras.utils.set_random_seed(int(cfg.seed) + i)
        per_epoch = val_idx if cfg.trainer.validate_each_epoch else None
        result, trainee = train_and_score(mode, ctx, data, label=f"fold_{i + 1}", split=(train_idx, per_epoch),
                                          score=False)
        train_s += result.timings["train_s"]
        steps = result.metrics["steps_per_epoch"]
        val_ds = make_dataset(data.x_train, data.y_train, data, int(cfg.batch_size), indices=val_idx,
                              limit_batches=cfg.trainer.limit_batches)
        fold = {f"val_{k}": v for k, v in trainee.evaluate(val_ds).items()}
        fold["history"] = result.metrics["history"]
        fold_results.append(fold)
        histories.append(fold["history"])
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
    score_test(ctx, data, lambda: trainee.evaluate(test_dataset(ctx, data)), metrics, timings)
    return TrainResult(metrics, trainee.model, timings)


def random_baseline_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Accuracy of the test labels against a shuffled copy of themselves (the book's chance level)."""
    labels = data.y_test.argmax(axis=1) if data.y_test.ndim == 2 else data.y_test
    shuffled = np.random.RandomState(int(ctx.cfg.seed)).permutation(labels)
    return TrainResult({"test": {"accuracy": float(np.mean(labels == shuffled))}, "history": {}})
