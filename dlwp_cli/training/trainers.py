"""Trainer modes: plain fit (optional hold-out), K-fold cross-validation, and the shuffled-label baseline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.features import Prepared, holdout_indices, kfold_indices
from dlwp_cli.training.inputs import make_dataset, steps_per_epoch
from dlwp_cli.training.modeling import build_model


@dataclass
class TrainResult:
    """What a trainer hands back to the pipeline."""

    metrics: dict = field(default_factory=dict)      # goes into metrics.json
    model: keras.Model | None = None                 # the final model (None for baselines)
    timings: dict = field(default_factory=dict)


@dataclass
class Context:
    """Everything a trainer needs besides the data."""

    cfg: DictConfig
    strategy: object
    # Fresh callbacks for one fit: callbacks(label, steps) -> list; label names the fold ('' for a plain fit).
    callbacks: Callable[[str, int], list] = lambda label, steps: []
    run_dir: Path | None = None                       # where trainers may write extra files (plots)


def best_epoch(history: dict) -> int | None:
    """1-based epoch with the lowest val_loss (or loss without validation)."""
    key = "val_loss" if "val_loss" in history else "loss"
    values = history.get(key)
    return int(np.argmin(values)) + 1 if values else None


def _fit(ctx: Context, data: Prepared, train_idx, val_idx, label: str = ""):
    cfg = ctx.cfg
    limit = cfg.trainer.limit_batches
    batch = int(cfg.batch_size)
    train_ds = make_dataset(
        data.x_train, data.y_train, data, batch, indices=train_idx, shuffle=cfg.trainer.shuffle,
        seed=int(cfg.seed), limit_batches=limit, prefetch=cfg.performance.prefetch,
    )
    val_ds = None
    if val_idx is not None:
        val_ds = make_dataset(data.x_train, data.y_train, data, batch, indices=val_idx, limit_batches=limit,
                              prefetch=cfg.performance.prefetch)
    steps = steps_per_epoch(len(train_idx), batch, limit)
    callbacks = ctx.callbacks(label, steps)
    with ctx.strategy.scope():
        model = build_model(cfg, data.input_shape, ctx.strategy.num_replicas_in_sync)
    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=int(cfg.epochs), callbacks=callbacks, verbose=0,
                        shuffle=False)  # the dataset shuffles itself
    train_s = time.perf_counter() - started
    clean = {k: [float(v) for v in vals] for k, vals in history.history.items() if k != "learning_rate"}
    return model, clean, steps, train_s


def _evaluate_test(ctx: Context, model, data: Prepared) -> tuple[dict, float]:
    cfg = ctx.cfg
    test_ds = make_dataset(data.x_test, data.y_test, data, int(cfg.batch_size), limit_batches=cfg.trainer.limit_batches,
                           prefetch=cfg.performance.prefetch)
    started = time.perf_counter()
    scores = model.evaluate(test_ds, verbose=0, return_dict=True)
    return {k: float(v) for k, v in scores.items()}, time.perf_counter() - started


def fit_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Fit on the training rows (minus a hold-out, if asked), then evaluate on the test set."""
    cfg = ctx.cfg
    n = len(data.y_train)
    train_idx, val_idx = np.arange(n), None
    if cfg.trainer.validation_size:
        try:
            train_idx, val_idx = holdout_indices(n, float(cfg.trainer.validation_size), cfg.trainer.validation_from,
                                                int(cfg.seed))
        except ValueError as err:
            raise ConfigError(f"trainer.validation_size: {err}.") from None
    model, history, steps, train_s = _fit(ctx, data, train_idx, val_idx)
    metrics = {
        "history": history,
        "best_epoch": best_epoch(history),
        "steps_per_epoch": steps,
        "train_examples": int(len(train_idx)),
        "validation_examples": int(len(val_idx)) if val_idx is not None else 0,
    }
    timings = {"train_s": train_s}
    if cfg.trainer.evaluate_test:
        metrics["test"], timings["evaluate_s"] = _evaluate_test(ctx, model, data)
    return TrainResult(metrics, model, timings)


def _mean_history(histories: list[dict]) -> dict:
    keys = set.intersection(*(set(h) for h in histories))
    return {k: np.mean([h[k] for h in histories], axis=0).tolist() for k in sorted(keys)}


def kfold_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """The book's K-fold: a fresh model per fold; fold scores from evaluating its validation slice."""
    cfg = ctx.cfg
    n = len(data.y_train)
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
    metrics = {
        "cv": cv,
        "history": mean_history,
        "best_epoch": best_epoch(mean_history),
        "steps_per_epoch": steps,
        "train_examples": int(len(folds[0][0])),
        "validation_examples": int(len(folds[0][1])),
    }
    timings = {"train_s": train_s}
    if cfg.trainer.evaluate_test:
        metrics["test"], timings["evaluate_s"] = _evaluate_test(ctx, model, data)
    return TrainResult(metrics, model, timings)


def random_baseline_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Accuracy of the test labels against a shuffled copy of themselves (the book's chance level)."""
    labels = data.y_test.argmax(axis=1) if data.y_test.ndim == 2 else data.y_test
    shuffled = np.random.RandomState(int(ctx.cfg.seed)).permutation(labels)
    return TrainResult({"test": {"accuracy": float(np.mean(labels == shuffled))}, "history": {}})


TRAINERS = {"fit": fit_trainer, "kfold": kfold_trainer, "random_baseline": random_baseline_trainer}
