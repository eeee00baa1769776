"""What a finished time-series run gives (ch. 10): the task report that records ``baselines.naive`` and draws
predicted against actual values on the test split, and ``dlwp predict``'s reader of recent rows.

Importing this module registers the window layers (:mod:`dlwp_tasks.series_layers`), so a run whose config names
these hooks loads its model.keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

import dlwp_tasks.series_layers  # noqa: F401 - registers the layers inside a time-series model.keras
from dlwp_tasks.naive_forecast import run_schema

PLOT = "forecast.png"


def forecast_report(model, data, splits, cfg, run_dir, points: int = 480) -> dict:
    """``baselines.naive`` (validation and test MAE of the naive forecast, in the target's units) and, with plots
    on, ``forecast.png``: the actual target, the naive forecast and the model's over the first ``points`` test
    windows, in time order."""
    schema = splits.schema or {}
    found: dict = {}
    if schema.get("naive"):
        found["baselines"] = {"naive": dict(schema["naive"])}
    if cfg.output.plots and data.x_test is not None and points > 0:
        found["forecast_plot"] = _plot(model, data, schema, Path(run_dir) / PLOT, int(points), str(cfg.name))
    return found


def _plot(model, data, schema: dict, path: Path, points: int, title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stretch = data.x_test.take(points).batch(256)
    windows, actual = zip(*stretch.as_numpy_iterator())
    actual = np.concatenate(actual)
    steps = np.arange(len(actual))   # consecutive windows start one row apart
    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(steps, actual, label="actual", color="black", linewidth=1.2)
    index = schema.get("target_index")
    if index is not None:
        naive = np.concatenate([w[:, -1, index] for w in windows])
        axes.plot(steps, naive, label=f"naive (MAE {np.mean(np.abs(naive - actual)):.3g})", color="tab:gray",
                  linewidth=0.8, linestyle="--")
    if model is not None:
        predicted = np.asarray(model.predict(stretch, verbose=0)).reshape(-1)
        axes.plot(steps, predicted, label=f"model (MAE {np.mean(np.abs(predicted - actual)):.3g})",
                  color="tab:blue", linewidth=1.0)
    delay = schema.get("delay", "?")
    axes.set_xlabel(f"test window (one row apart; each forecasts the target {delay} row{'' if delay == 1 else 's'} "
                    "after its last row)")
    axes.set_ylabel(str(schema.get("target", "target")))
    axes.set_title(f"{title}: predicted vs actual, first {len(actual)} test windows")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path.name


def predict_inputs(paths: Sequence[str], run_dir: str | Path) -> tuple[list[str], np.ndarray]:
    """``dlwp predict``'s reader for time-series runs: from each CSV of recent rows (the training file's columns),
    the window whose target lies ``delay`` rows after its last row, raw (the model standardises it)."""
    from dlwp_tasks.datasets.timeseries import recent_windows

    schema = run_schema(run_dir)
    return list(paths), np.concatenate([recent_windows(path, schema) for path in paths])
