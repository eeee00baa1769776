"""What every trainer mode shares: its context and result, hold-out splits, input pipelines, test scoring."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.features import Prepared, holdout_indices
from dlwp_cli.training.inputs import EpochCounter, make_dataset, steps_per_epoch


@dataclass
class TrainResult:
    """What a trainer hands back to the pipeline."""

    metrics: dict = field(default_factory=dict)      # goes into metrics.json
    model: keras.Model | None = None                 # the final model (None for baselines and scratch)
    timings: dict = field(default_factory=dict)
    # The final model's outputs on whole splits ("test", "validation"), where the trainer has them cheaper than
    # a new pass over the inputs (a classifier on cached features): the error analysis reuses them.
    split_outputs: dict = field(default_factory=dict)


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


def holdout_split(cfg: DictConfig, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Training rows and hold-out validation rows as ``trainer.validation_size``/``validation_from`` ask
    (None: no hold-out)."""
    if not cfg.trainer.get("validation_size"):  # a mode without hold-out settings has none
        return np.arange(n), None
    try:
        return holdout_indices(n, float(cfg.trainer.validation_size), cfg.trainer.validation_from, int(cfg.seed))
    except ValueError as err:
        raise ConfigError(f"trainer.validation_size: {err}.") from None


def epoch_datasets(ctx: Context, data: Prepared, train_idx, val_idx):
    """Training batches, validation batches (or None), the steps per epoch, and the callback that tells the
    training batches which epoch's order to draw (None when ``trainer.shuffle`` is off: row order every epoch)."""
    cfg = ctx.cfg
    limit = cfg.trainer.limit_batches
    batch = int(cfg.batch_size)
    if data.streamed and (val_idx is not None or len(train_idx) != data.n_train):
        raise ConfigError(f"Task '{cfg.task.name}' gives its data as a tf.data.Dataset, which cannot be split by "
                          "rows: drop trainer.validation_size (the dataset may give its own validation split) "
                          "and use trainer=fit rather than kfold.")
    order = EpochCounter() if cfg.trainer.get("shuffle", True) else None
    train_ds = make_dataset(
        data.x_train, data.y_train, data, batch, indices=train_idx, order=order, seed=int(cfg.seed),
        epochs=int(cfg.epochs), limit_batches=limit, prefetch=cfg.performance.prefetch,
    )
    val_ds = None
    if val_idx is not None:
        val_ds = make_dataset(data.x_train, data.y_train, data, batch, indices=val_idx, limit_batches=limit,
                              prefetch=cfg.performance.prefetch)
    elif data.n_val:  # the dataset's own validation split
        val_ds = make_dataset(data.x_val, data.y_val, data, batch, limit_batches=limit,
                              prefetch=cfg.performance.prefetch)
    return train_ds, val_ds, steps_per_epoch(len(train_idx), batch, limit), order


def test_dataset(ctx: Context, data: Prepared):
    """The test set in batches of ``batch_size`` (at most ``trainer.limit_batches`` of them)."""
    cfg = ctx.cfg
    return make_dataset(data.x_test, data.y_test, data, int(cfg.batch_size), limit_batches=cfg.trainer.limit_batches,
                        prefetch=cfg.performance.prefetch)


def training_summary(history: dict, steps: int, train_idx, val_idx, given_validation: int = 0) -> dict:
    """The metrics every training mode reports: history, best epoch, steps and example counts
    (``given_validation``: the size of the dataset's own validation split, used when there is no hold-out)."""
    return {
        "history": history,
        "best_epoch": best_epoch(history),
        "steps_per_epoch": steps,
        "train_examples": len(train_idx),
        "validation_examples": len(val_idx) if val_idx is not None else given_validation,
    }


def score_test(ctx: Context, data: Prepared, evaluate: Callable[[], dict], metrics: dict, timings: dict) -> None:
    """Put ``evaluate()``'s test scores in ``metrics["test"]``, count the evaluation in
    ``metrics["test_evaluations"]`` and its time in ``timings["evaluate_s"]``, unless ``trainer.evaluate_test``
    is off or the task has no test rows."""
    if not ctx.cfg.trainer.evaluate_test or data.n_test == 0:
        return
    started = time.perf_counter()
    metrics["test"] = {k: float(v) for k, v in evaluate().items()}
    metrics["test_evaluations"] = metrics.get("test_evaluations", 0) + 1
    timings["evaluate_s"] = time.perf_counter() - started
