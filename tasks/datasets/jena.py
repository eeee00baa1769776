"""The Jena climate series (ch. 10): ``jena_climate_2009_2016.csv``, an instance of the ``timeseries`` task with the
book's columns (the temperature ``T (degC)`` forecast from all 14 readings) and window settings.

The file (or its zip) is looked for as ``task.path``, then in the data directory (``<data_dir>/jena_climate/`` or
``<data_dir>/`` itself), then in the Keras cache (``<keras_home>/datasets/``), and is downloaded from Keras's
address unless ``download=false``. The splits follow from its row count (listing 10.5). A file with a synthetic
marker beside it (``<file>.synthetic.json``, written by ``dlwp data synth-jena``) makes every number of the run
synthetic: ``data.source`` is ``synthetic`` and the book's figures are never compared with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, data_dir_of, keras_home
from .synth_jena import COLUMNS, FILENAME, HEADER, jena_values, marker_path, timestamps
from .series_file import Series, read_series
from .timeseries import describe, file_record, series_splits

FOLDER = "jena_climate"
ZIP = FILENAME + ".zip"
ORIGIN = "https://s3.amazonaws.com/keras-datasets/" + ZIP
TARGET = "T (degC)"
TIME_COLUMN = HEADER[0]


def _candidates(data_dir) -> list[Path]:
    """Where the file is looked for, in order (the CSV before its zip in each place)."""
    places = []
    root = data_dir_of(data_dir)
    if root is not None:
        places += [root / FOLDER, root]
    places.append(keras_home() / "datasets")
    return [place / name for place in places for name in (FILENAME, ZIP)]


def find_jena(path=None, data_dir=None, download: bool = True) -> Path:
    """The Jena CSV or zip to read: ``path`` when given, else the first of :func:`_candidates` that exists, else
    Keras's download (``download``); DataError naming the file, the places searched and the settings."""
    if path not in (None, ""):
        given = Path(path).expanduser()
        if not given.is_file():
            raise DataError(f"task.path '{path}' is not a file. Give the Jena CSV ({FILENAME}) or its zip, or leave "
                            "task.path unset to use the data directory.")
        return given
    candidates = _candidates(data_dir)
    found = next((candidate for candidate in candidates if candidate.is_file()), None)
    if found is not None:
        return found
    searched = ", ".join(str(candidate) for candidate in candidates)
    where = "no data directory is set" if data_dir_of(data_dir) is None else f"data directory {data_dir_of(data_dir)}"
    if not download:
        raise DataError(f"Jena climate: {FILENAME} (or {ZIP}) was not found; searched {searched} ({where}). Put the "
                        f"file in <data_dir>/{FOLDER}/ and set data_dir=... (or DLWP_DATA_DIR), give it with "
                        f"task.path=FILE, or set download=true to fetch {ORIGIN}. For a synthetic file in the same "
                        f"format: dlwp data synth-jena DIR, then data_dir=DIR.")
    try:
        import keras  # noqa: PLC0415 - only the download path pays for TensorFlow/Keras

        return Path(keras.utils.get_file(ZIP, origin=ORIGIN, cache_dir=str(keras_home())))
    except Exception as exc:  # get_file raises many kinds (URLError, OSError, ValueError...)
        raise DataError(f"Jena climate: {FILENAME} (or {ZIP}) was not found (searched {searched}; {where}) and "
                        f"downloading {ORIGIN} failed: {exc}. Check the network, or put the file in "
                        f"<data_dir>/{FOLDER}/ and set data_dir=... and download=false. For a synthetic file in the "
                        "same format: dlwp data synth-jena DIR, then data_dir=DIR.") from exc


def synthetic_marker(path: Path) -> Path | None:
    """The synthetic marker of a Jena file (beside it, or beside the CSV its zip stands for), or None."""
    for candidate in (marker_path(path), marker_path(path.with_name(FILENAME))):
        if candidate.is_file():
            return candidate
    return None


def _check_columns(series: Series) -> None:
    absent = [name for name in HEADER if name not in series.header]
    if absent:
        raise DataError(f"{series.source} is not the Jena climate file: it lacks the column(s) {', '.join(absent)} "
                        f"(its header: {', '.join(series.header)}). For another series use task=timeseries "
                        "task.path=FILE task.target=COLUMN.")


def load_jena(path=None, data_dir=None, download: bool = True, sampling_rate: int = 6, sequence_length: int = 120,
              delay: int = 144, validation_size: float = 0.25, test_size: float = 0.25, reverse_time: bool = False,
              scale_target: bool = False, book_windows: bool = True, shuffle: bool = True, seed: int = 0,
              limit: int | None = None, layers: bool = True) -> DataSplits:
    """The Jena series as chronological splits of windows (``limit``: at most that many windows per split)."""
    file = find_jena(path, data_dir, download)
    series = read_series(file)
    _check_columns(series)
    marker = synthetic_marker(file)
    info = {"source": "synthetic" if marker else "real", "files": [file_record(file)]}
    if marker is not None:
        info["synthetic_marker"] = str(marker)
    splits = series_splits(series, TARGET, features=list(COLUMNS), time_column=TIME_COLUMN,
                           sampling_rate=sampling_rate, sequence_length=sequence_length, delay=delay,
                           validation_size=validation_size, test_size=test_size, reverse_time=reverse_time,
                           scale_target=scale_target, book_windows=book_windows, shuffle=shuffle, seed=seed,
                           limit=limit, layers=layers, info=info)
    if marker is not None:
        generator = json.loads(marker.read_text() or "{}").get("generator", "generated")
        splits.warnings.insert(0, f"{file} is synthetic (marker {marker.name}: {generator}, {series.rows:,} rows): "
                                  "every number of this run is synthetic and is never compared with the book's.")
    return splits


def describe_jena(**arguments) -> list[str]:
    """``dlwp show``'s description of the Jena file (and ``dlwp run``'s check before making a run folder)."""
    arguments = {k: v for k, v in arguments.items() if k not in ("seed", "limit")}
    splits = load_jena(**arguments, layers=False)
    source = splits.info["files"][0]["path"]
    return [f"file: {source} ({splits.info['source']})", *describe(splits.schema, splits.warnings)]


load_jena.describe = describe_jena


def jena_series(values: np.ndarray, source: str = "synthetic Jena readings") -> Series:
    """A :class:`Series` of Jena readings (the 14 columns) with the file's timestamps, without a file."""
    rows = len(values)
    return Series(source, list(HEADER), {name: values[:, j] for j, name in enumerate(COLUMNS)},
                  {TIME_COLUMN: timestamps(rows)}, np.arange(2, rows + 2, dtype=np.int64))


def jena_like(rows: int = 8000, seed: int = 0, sampling_rate: int = 6, sequence_length: int = 120, delay: int = 144,
              validation_size: float = 0.25, test_size: float = 0.25, reverse_time: bool = False,
              scale_target: bool = False, book_windows: bool = True, shuffle: bool = True) -> DataSplits:
    """Synthetic Jena readings (``dlwp data synth-jena``'s generator, ``rows`` of them) as the real task splits
    them: the real shapes for smoke runs."""
    return series_splits(jena_series(jena_values(rows, seed)), TARGET, features=list(COLUMNS),
                         time_column=TIME_COLUMN, sampling_rate=sampling_rate, sequence_length=sequence_length,
                         delay=delay, validation_size=validation_size, test_size=test_size, reverse_time=reverse_time,
                         scale_target=scale_target, book_windows=book_windows, shuffle=shuffle, seed=seed,
                         info={"source": "synthetic", "kind": "jena", "seed": seed})

