"""The modes built on the training skeleton's pieces that do more than one fit: K-fold cross-validation,
and the shuffled-label baseline (no model at all)."""

from __future__ import annotations

import keras
import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import Context, TrainResult, score_test, test_dataset, training_summary
from dlwp_cli.training.features import Prepared, fold_label, kfold_indices
from dlwp_cli.training.inputs import make_dataset
from dlwp_cli.training.metrics import higher_is_better
from dlwp_cli.training.skeleton import train_and_score


def _mean_history(histories: list[dict]) -> dict:
    """Each metric's per-epoch mean over the folds; where early stopping ended folds at different epochs, an
    epoch's mean is over the folds that reached it."""
    keys = set.intersection(*(set(h) for h in histories))
    mean = {}
    for key in sorted(keys):
        curves = [h[key] for h in histories]
        longest = max(len(c) for c in curves)
        mean[key] = [float(np.mean([c[i] for c in curves if len(c) > i])) for i in range(longest)]
    return mean


def cross_validation_summary(fold_results: list[dict], repeats: int, folds: int) -> dict:
    """The ``cv`` entry of metrics.json: every fold's record, the mean and standard deviation of each score
    over all ``repeats * folds`` of them, the mean per-epoch curves and their best epochs."""
    score_keys = [k for k in fold_results[0] if k.startswith("val_")]
    mean_history = _mean_history([fold["history"] for fold in fold_results])
    return {
        "repeats": repeats,
        "folds_per_round": folds,
        "folds": fold_results,
        "mean": {k: float(np.mean([f[k] for f in fold_results])) for k in score_keys},
        "std": {k: float(np.std([f[k] for f in fold_results])) for k in score_keys},
        "mean_history": mean_history,
        "best_epoch": {k: int(np.argmin(v)) + 1 for k, v in mean_history.items() if not higher_is_better(k)},
    }


def kfold_trainer(mode, ctx: Context, data: Prepared) -> TrainResult:
    """The book's K-fold (iterated with shuffling when ``trainer.repeats`` > 1): a fresh model per fold, seeded
    with ``seed + i`` for the i-th fold of all rounds; fold scores from evaluating its validation slice."""
    cfg = ctx.cfg
    folds, repeats = int(cfg.trainer.folds), int(cfg.trainer.get("repeats", 1))
    try:
        splits = kfold_indices(data.n_train, folds, cfg.trainer.shuffle_folds, int(cfg.seed), repeats)
    except ValueError as err:
        raise ConfigError(f"trainer.folds: {err}.") from None
    fold_results, train_s, trainee, steps = [], 0.0, None, 0
    for i, (train_idx, val_idx) in enumerate(splits):
        keras.utils.set_random_seed(int(cfg.seed) + i)
        per_epoch = val_idx if cfg.trainer.validate_each_epoch else None
        result, trainee = train_and_score(mode, ctx, data, label=fold_label(i, folds, repeats),
                                          split=(train_idx, per_epoch), score=False)
        train_s += result.timings["train_s"]
        steps = result.metrics["steps_per_epoch"]
        val_ds = make_dataset(data.x_train, data.y_train, data, int(cfg.batch_size), indices=val_idx,
                              limit_batches=cfg.trainer.limit_batches)
        fold = {"round": i // folds + 1, "fold": i % folds + 1}
        fold.update({f"val_{k}": v for k, v in trainee.evaluate(val_ds).items()})
        fold["history"] = result.metrics["history"]
        fold_results.append(fold)
    cv = cross_validation_summary(fold_results, repeats, folds)
    metrics = {"cv": cv, **training_summary(cv["mean_history"], steps, splits[0][0], splits[0][1])}
    timings = {"train_s": train_s}
    score_test(ctx, data, lambda: trainee.evaluate(test_dataset(ctx, data)), metrics, timings)
    return TrainResult(metrics, trainee.model, timings)


def random_baseline_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Accuracy of the test labels against a shuffled copy of themselves (the book's chance level)."""
    labels = data.y_test.argmax(axis=1) if data.y_test.ndim == 2 else data.y_test
    shuffled = np.random.RandomState(int(ctx.cfg.seed)).permutation(labels)
    return TrainResult({"test": {"accuracy": float(np.mean(labels == shuffled))}, "history": {}})
