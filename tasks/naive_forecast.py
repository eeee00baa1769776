"""The naive forecast of a time series as a trainer mode of its own (``ch10/jena_naive_baseline``): no model, the
target's value at each window's last row scored on the task's validation and test windows (book listing 10.9).

This module imports no TensorFlow at import time, so configs naming its trainer are checked without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from dlwp_cli.training.modes import TrainerMode
from dlwp_tasks.errors import DataError

SCHEMA = "schema.json"


def run_schema(run_dir: str | Path) -> dict:
    """A time-series run's schema.json: its columns, window settings and statistics."""
    path = Path(run_dir) / SCHEMA
    if not path.is_file():
        raise DataError(f"{path} is missing: a time-series run keeps its columns and window settings there, and "
                        "cannot read new rows without it.")
    return json.loads(path.read_text())


def naive_mae(dataset, target_index: int, batch_size: int, limit_batches: int | None = None) -> float:
    """MAE of the naive forecast over a split's (window, target) pairs: the target feature at each window's last
    step, against the target (both raw, in the target's units)."""
    batches = dataset.batch(batch_size)
    if limit_batches is not None:
        batches = batches.take(limit_batches)
    total, count = 0.0, 0
    for windows, targets in batches.as_numpy_iterator():
        total += float(np.abs(windows[:, -1, target_index].astype(np.float64) - targets).sum())
        count += len(targets)
    return total / count if count else float("nan")


@dataclass
class NaiveBaseline(TrainerMode):
    """No model: the naive forecast (the target's value at each window's last row) scored on the validation and
    test windows through the task's own datasets, as the book's listing 10.9. The target must be a feature."""

    trains_model: ClassVar[bool] = False

    def run(self, ctx, data):
        import time

        from dlwp_cli.errors import ConfigError
        from dlwp_cli.training.common import TrainResult

        started = time.perf_counter()
        schema = run_schema(ctx.run_dir)
        if schema.get("target_index") is None:
            raise ConfigError(f"The naive baseline reads the target '{schema.get('target')}' from the window's last "
                              "step, but it is not among the features (task.feature_columns): add it, or leave "
                              "task.feature_columns unset.")
        batch, index = int(ctx.cfg.batch_size), int(schema["target_index"])
        metrics = {"history": {}, "validation": {"mae": naive_mae(data.x_val, index, batch, self.limit_batches)},
                   "validation_examples": data.n_val, "train_examples": 0}
        if self.evaluate_test and data.n_test:
            metrics["test"] = {"mae": naive_mae(data.x_test, index, batch, self.limit_batches)}
            metrics["test_evaluations"] = 1
        return TrainResult(metrics, None, {"evaluate_s": time.perf_counter() - started})
