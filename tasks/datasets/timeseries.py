"""A CSV time series as a dataset: ``dlwp run task=timeseries task.path=FILE task.target=COLUMN``.

The file holds one row per time step, at a fixed interval, under a header row; :mod:`.series_file` reads it and
chooses its columns (rows by position, gaps warned about, text columns ignored, missing cells filled forward).

The split is chronological (training rows first, then validation, then test). A window is ``sequence_length``
rows taken every ``sampling_rate`` rows; its target is the target column ``delay`` rows after the window's last row.
Windows come from ``keras.utils.timeseries_dataset_from_array`` and lie inside their split; a target may lie up to
``delay`` rows past the split's end (the book's listing 10.7 does the same), never in another split's targets.
With ``book_windows`` the data array is cut by the book's whole raw delay, ``(sequence_length - 1) *
sampling_rate + delay`` rows, as listing 10.7's ``raw_data[:-delay]`` does, which leaves out the last
``(sequence_length - 1) * sampling_rate`` windows of the test split: the windows the book's figures are over.

The splits are unbatched ``tf.data.Dataset``s of (raw window, target). The model standardises each feature with
the training rows' mean and standard deviation in a preprocessing layer saved inside model.keras, so a saved model
takes raw windows (see :mod:`dlwp_tasks.series_layers`); with ``scale_target`` it also learns the standardised
target and a last layer scales it back, so every prediction and MAE is in the target's own units. The naive
baseline, the target at each window's last row, is computed here for each split (``schema["naive"]``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits
from .cache import sha256_of
from .series_file import Series, check_delimiter, choose_columns, filled, numeric_column, read_series

SPLITS = ("train", "validation", "test")


# ----------------------------------------------------------------------------- splits and windows

@dataclass(frozen=True)
class Windows:
    """The window settings and the split of a series of ``rows`` rows into chronological parts."""

    rows: int
    sampling_rate: int
    sequence_length: int
    delay: int
    validation_size: float
    test_size: float
    book_windows: bool = False

    @property
    def span(self) -> int:
        """Rows from a window's first row to its last."""
        return (self.sequence_length - 1) * self.sampling_rate + 1

    @property
    def needed(self) -> int:
        """Rows one window and its target need: ``(sequence_length - 1) * sampling_rate + delay + 1``."""
        return self.span + self.delay

    @property
    def offset(self) -> int:
        """Rows from a window's first row to its target's (the book's raw ``delay``)."""
        return self.span - 1 + self.delay

    @property
    def sizes(self) -> dict[str, int]:
        """Rows per split: ``int(share * rows)`` for training and validation, the rest for test (listing 10.5)."""
        n_train = int((1.0 - self.validation_size - self.test_size) * self.rows + 1e-9)
        n_val = int(self.validation_size * self.rows + 1e-9)
        return {"train": n_train, "validation": n_val, "test": self.rows - n_train - n_val}

    @property
    def data_end(self) -> int:
        """Rows windows may read: all but the last ``delay`` (whose targets would lie past the file's end), or,
        with ``book_windows``, all but the last ``offset``, as listing 10.7's ``raw_data[:-delay]``."""
        return self.rows - (self.offset if self.book_windows else self.delay)

    def bounds(self) -> dict[str, tuple[int, int]]:
        """(first row, end row) of each split's windows."""
        sizes = self.sizes
        train_end = sizes["train"]
        val_end = train_end + sizes["validation"]
        return {"train": (0, train_end), "validation": (train_end, val_end), "test": (val_end, self.data_end)}

    def starts(self, split: str) -> np.ndarray:
        """The first row of every window of a split, in time order."""
        first, end = self.bounds()[split]
        return np.arange(first, max(first, end - self.span + 1), dtype=np.int64)

    def counts(self) -> dict[str, int]:
        return {split: len(self.starts(split)) for split in SPLITS}


def check_settings(windows: Windows, source: str) -> None:
    """DataError for window settings out of range, or a split too short for one window and its target."""
    for name in ("sampling_rate", "sequence_length", "delay"):
        value = getattr(windows, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"task.{name}={value!r} is not a whole number of at least 1. Set task.{name}: "
                            "sampling_rate is the rows between a window's steps, sequence_length the steps in a "
                            "window, delay the rows from a window's last row to its target (1: the next row).")
    shares = (windows.validation_size, windows.test_size)
    if any(isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s < 1 for s in shares) \
            or sum(shares) >= 1:
        raise DataError(f"task.validation_size={windows.validation_size!r} and task.test_size={windows.test_size!r} "
                        "must be fractions between 0 and 1 that leave rows for training (the book: 0.25 and 0.25).")
    sizes = windows.sizes
    counts = windows.counts()
    for split in SPLITS:
        if counts[split] >= 1:
            continue
        needed = windows.needed + (windows.offset - windows.delay if split == "test" and windows.book_windows else 0)
        parts = " / ".join(f"{sizes[s]:,} {s}" for s in SPLITS)
        raise DataError(
            f"{source}: a window of task.sequence_length={windows.sequence_length} steps every "
            f"task.sampling_rate={windows.sampling_rate} rows with its target task.delay={windows.delay} rows later "
            f"needs (sequence_length - 1) * sampling_rate + delay + 1 = {needed:,} rows in each split, but the "
            f"{split} split has {sizes[split]:,} rows (the {windows.rows:,} rows split {parts}). Use a shorter "
            "window (task.sequence_length, task.sampling_rate), a shorter task.delay, or a longer series.")


def naive_errors(target: np.ndarray, windows: Windows) -> dict[str, float]:
    """The naive forecast's MAE per split, in the target's units: the target at each window's last row against
    the target ``delay`` rows later."""
    errors = {}
    for split in SPLITS:
        starts = windows.starts(split)
        last = starts + windows.span - 1
        errors[split] = float(np.mean(np.abs(target[last + windows.delay] - target[last])))
    return errors


def window_dataset(values: np.ndarray, target: np.ndarray, windows: Windows, split: str, shuffle: bool = False,
                   seed: int = 0, limit: int | None = None):
    """An unbatched tf.data.Dataset of (window (sequence_length, features) float32, target float32) of a split,
    from ``keras.utils.timeseries_dataset_from_array``; ``shuffle`` draws the windows in a seeded random order
    that changes from epoch to epoch (a fixed permutation, then a 1,024-window shuffle buffer)."""
    import keras  # noqa: PLC0415 - TensorFlow only when the data is built
    import tensorflow as tf  # noqa: PLC0415

    first, end = windows.bounds()[split]
    dataset = keras.utils.timeseries_dataset_from_array(
        values[: windows.data_end], target[windows.offset:].astype(np.float32),
        sequence_length=windows.sequence_length, sampling_rate=windows.sampling_rate, batch_size=None,
        shuffle=shuffle, seed=seed, start_index=first,
        end_index=end if end < windows.data_end else None)  # Keras takes an end_index below the data's length only
    shape = (windows.sequence_length, values.shape[1])
    dataset = dataset.map(lambda x, y: (tf.ensure_shape(x, shape), y))
    count = windows.counts()[split] if limit is None else min(limit, windows.counts()[split])
    return dataset.take(count).apply(tf.data.experimental.assert_cardinality(count))


# ----------------------------------------------------------------------------- the dataset

def series_splits(series: Series, target: str | None, *, sampling_rate: int = 1, sequence_length: int = 7,
                  delay: int = 1, validation_size: float = 0.25, test_size: float = 0.25,
                  features: Sequence[str] | None = None, time_column: str | None = None, reverse_time: bool = False,
                  scale_target: bool = True, book_windows: bool = False, shuffle: bool = True, seed: int = 0,
                  limit: int | None = None, layers: bool = True, info: dict | None = None,
                  delimiter: str = ",") -> DataSplits:
    """The DataSplits of a parsed series; ``layers=False`` leaves out every TensorFlow import (for descriptions
    and ``dlwp data inspect``): each split is then one row per window, its last row's features and its target."""
    columns = choose_columns(series, target, features, time_column)
    windows = Windows(series.rows, sampling_rate, sequence_length, delay, validation_size, test_size, book_windows)
    check_settings(windows, f"CSV file {series.source}")
    n_train = windows.sizes["train"]
    mean = columns.values[:n_train].astype(np.float64).mean(axis=0)
    std = columns.values[:n_train].astype(np.float64).std(axis=0)
    std[std == 0] = 1.0
    target_train = columns.target_values[:n_train]
    target_std = float(target_train.std()) or 1.0
    naive = naive_errors(columns.target_values, windows)
    schema = {
        "kind": "timeseries", "path": series.source, "delimiter": delimiter, "target": columns.target,
        "features": columns.features,
        "target_index": columns.features.index(columns.target) if columns.target in columns.features else None,
        "time_column": columns.time_column, "ignored": columns.ignored,
        "sampling_rate": sampling_rate, "sequence_length": sequence_length, "delay": delay,
        "reverse_time": bool(reverse_time), "book_windows": bool(book_windows), "scale_target": bool(scale_target),
        "rows": {"total": series.rows, **windows.sizes}, "windows": windows.counts(),
        "mean": mean.tolist(), "std": std.tolist(),
        "target_stats": {"mean": float(target_train.mean()), "std": target_std},
        "naive": {"validation": naive["validation"], "test": naive["test"]},
    }
    info = {"source": "real", **(info or {}), "rows": series.rows, "split_rows": windows.sizes,
            "windows": windows.counts()}
    if not layers:  # one row per window: its last row's features and its target
        last = {split: windows.starts(split) + windows.span - 1 for split in SPLITS}
        x = {split: columns.values[rows] for split, rows in last.items()}
        y = {split: columns.target_values[rows + delay] for split, rows in last.items()}
        return DataSplits(x["train"], y["train"], x["test"], y["test"], info=info, x_val=x["validation"],
                          y_val=y["validation"], problem="regression", schema=schema, warnings=columns.warnings)
    data = {split: window_dataset(columns.values, columns.target_values, windows, split,
                                  shuffle=shuffle and split == "train", seed=seed, limit=limit) for split in SPLITS}
    from dlwp_tasks.layers import TargetScale  # noqa: PLC0415 - Keras only when the data is built
    from dlwp_tasks.series_layers import window_preprocessing  # noqa: PLC0415

    return DataSplits(data["train"], None, data["test"], None, info=info, x_val=data["validation"], y_val=None,
                      problem="regression", schema=schema, warnings=columns.warnings,
                      preprocessing=window_preprocessing(schema),
                      postprocessing=TargetScale(schema["target_stats"]["mean"], target_std, name="target_scale")
                      if scale_target else None)


def load_timeseries(path: str | os.PathLike | None, target: str | None, sampling_rate: int = 1,
                    sequence_length: int = 7, delay: int = 1, validation_size: float = 0.25, test_size: float = 0.25,
                    features: Sequence[str] | None = None, time_column: str | None = None, delimiter: str = ",",
                    reverse_time: bool = False, scale_target: bool = True, book_windows: bool = False,
                    shuffle: bool = True, seed: int = 0, limit: int | None = None, layers: bool = True) -> DataSplits:
    """``task=timeseries``: a CSV series (or a .zip holding one) as chronological splits of windows; ``limit``
    (smoke runs) keeps at most that many windows per split."""
    if path in (None, ""):
        raise DataError("task=timeseries needs task.path=FILE, a CSV file with one row per time step, and "
                        "task.target=COLUMN, the column to forecast.")
    series = read_series(path, delimiter)
    return series_splits(series, target, sampling_rate=sampling_rate, sequence_length=sequence_length,
                         delay=delay, validation_size=validation_size, test_size=test_size, features=features,
                         time_column=time_column, reverse_time=reverse_time, scale_target=scale_target,
                         book_windows=book_windows, shuffle=shuffle, seed=seed, limit=limit, layers=layers,
                         info={"files": [file_record(path)]}, delimiter=check_delimiter(delimiter, series.source))


def file_record(path: str | os.PathLike) -> dict:
    """What ``data.files`` records of a series file: its path and sha256."""
    return {"path": str(path), "sha256": sha256_of(Path(path).expanduser())}


def describe(schema: dict[str, Any], warnings: Sequence[str] = ()) -> list[str]:
    """Short console lines: the target, the features, the splits, the windows and the naive baseline."""
    rows, counts, naive = schema["rows"], schema["windows"], schema["naive"]
    delay = schema["delay"]
    lines = [f"target: {schema['target']} (forecast {delay} row{'' if delay == 1 else 's'} after each window's "
             "last row)",
             f"features ({len(schema['features'])}): {', '.join(schema['features'])}"]
    if schema.get("time_column"):
        lines.append(f"time column: {schema['time_column']} (checked for gaps; rows are used by position)")
    if schema.get("ignored"):
        lines.append(f"ignored: {', '.join(schema['ignored'])}")
    lines.append(f"window: {schema['sequence_length']} steps every {schema['sampling_rate']} rows"
                 + (", reversed in time" if schema.get("reverse_time") else ""))
    lines.append(f"rows: {rows['train']:,} train, {rows['validation']:,} validation, {rows['test']:,} test "
                 f"(windows: {counts['train']:,} / {counts['validation']:,} / {counts['test']:,})")
    lines.append(f"naive baseline (the target at the window's last row): validation MAE {naive['validation']:.4g}, "
                 f"test MAE {naive['test']:.4g}")
    return lines + [f"warning: {warning}" for warning in warnings]


def describe_timeseries(**arguments) -> list[str]:
    """``dlwp show``'s description of a series, read without TensorFlow; ``dlwp run`` calls it before making a
    run folder, so a file that cannot train stops there."""
    arguments = {k: v for k, v in arguments.items() if k not in ("seed", "limit")}
    splits = load_timeseries(**arguments, layers=False)
    return describe(splits.schema, splits.warnings)


load_timeseries.describe = describe_timeseries


def recent_windows(path: str | os.PathLike, schema: dict[str, Any]) -> np.ndarray:
    """The last window of a file of recent rows, (1, sequence_length, features) float32, read with a run's
    schema: the window whose target lies ``delay`` rows after the file's last row."""
    series = read_series(path, schema.get("delimiter", ","))
    absent = [name for name in schema["features"] if name not in series.header]
    if absent:
        raise DataError(f"CSV file {series.source} lacks the column(s) {', '.join(absent)}, which the model reads "
                        f"(it has: {', '.join(series.header)}). Give the same columns as the training file "
                        f"{schema.get('path', '')}.")
    values = []
    for name in schema["features"]:
        column, missing = filled(numeric_column(series, name, "a feature"))
        if missing == len(column):
            raise DataError(f"CSV file {series.source}: column '{name}' has no values.")
        values.append(column)
    span = (int(schema["sequence_length"]) - 1) * int(schema["sampling_rate"]) + 1
    if series.rows < span:
        raise DataError(f"CSV file {series.source} has {series.rows:,} rows, but a window of "
                        f"{schema['sequence_length']} steps every {schema['sampling_rate']} rows needs "
                        f"(sequence_length - 1) * sampling_rate + 1 = {span:,}. Give at least the last {span:,} rows "
                        "before the time to forecast from.")
    rows = np.arange(series.rows - span, series.rows, int(schema["sampling_rate"]))
    return np.column_stack(values)[rows][np.newaxis].astype(np.float32)
