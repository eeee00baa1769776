"""Reading a time-series CSV file: its numeric and text columns, its timestamps and gaps, and the columns a run
takes from it (the target, the features, the time column).

A plain file (the header on line 1, equal-width rows, no missing or malformed number) is read in C with
``np.loadtxt``: the Jena file's 420,551 rows in about two seconds. Any other file is read cell by cell, which
names the line and column of a problem. Rows are kept by position; timestamps are only checked for gaps. Imports
NumPy only.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .table import check_delimiter, decode_csv

MISSING_TOKENS = frozenset({"", "na", "nan", "null"})   # missing cells, after strip() and lower()


@dataclass
class Series:
    """A parsed series file: its numeric columns (float64, NaN where a cell is missing), its text columns, and
    the file line of every row."""

    source: str                                    # the path as shown in messages
    header: list[str]
    numeric: dict[str, np.ndarray]
    text: dict[str, list[str]]
    lines: np.ndarray
    bad_cells: dict[str, tuple[int, str]] = field(default_factory=dict)  # column -> (row, cell): not a number

    @property
    def rows(self) -> int:
        return len(self.lines)


# ----------------------------------------------------------------------------- reading

def _file_bytes(path: Path) -> tuple[bytes, str]:
    """(the bytes of the CSV, the name shown in messages): the file, or the one .csv inside a .zip."""
    if not path.exists():
        where = "" if path.is_absolute() else f" (resolved from the current directory as {path.absolute()})"
        raise DataError(f"CSV file {path} does not exist{where}. Check the path (task.path for a run), or give an "
                        "absolute path.")
    if path.is_dir():
        raise DataError(f"CSV file {path} is a folder, not a file. Point task.path at the .csv file itself.")
    if path.suffix.lower() != ".zip":
        return path.read_bytes(), str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".csv") and not m.startswith("__MACOSX")]
            if len(members) != 1:
                raise DataError(f"Zip file {path} holds {len(members)} .csv files; it should hold exactly one "
                                f"(it has: {', '.join(archive.namelist()[:10]) or 'nothing'}).")
            return archive.read(members[0]), f"{path}:{members[0]}"
    except zipfile.BadZipFile as err:
        raise DataError(f"Zip file {path} cannot be read ({err}): replace it with a good copy.") from None


def _records(text: str, delimiter: str, source: str) -> tuple[list[list[str]], list[int]]:
    """(non-blank records, the file line each starts on)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as err:
        raise DataError(f"CSV file {source}: line {reader.line_num} cannot be parsed as CSV ({err}). Fix the "
                        "quoting on that line.") from None
    if len(records) == text.count("\n") + (0 if text.endswith("\n") else 1):
        lines = list(range(1, len(records) + 1))    # one record per line: the usual case, read fast
    else:                                            # a quoted field spans lines: count them again
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        lines, previous = [], 0
        for _ in reader:
            lines.append(previous + 1)
            previous = reader.line_num
    kept = [i for i, r in enumerate(records) if r and not (len(r) == 1 and not r[0].strip())]
    return [records[i] for i in kept], [lines[i] for i in kept]


def _numbers(cells: Sequence[str]) -> tuple[np.ndarray, list[int], int]:
    """(float64 values with NaN where missing, indices of the cells that are not numbers, how many are numbers)."""
    try:
        values = np.asarray(cells, dtype=str).astype(np.float64)
        if np.isfinite(values[~np.isnan(values)]).all():
            return values, [], int(np.count_nonzero(~np.isnan(values)))
    except ValueError:
        pass
    values = np.full(len(cells), np.nan)
    bad: list[int] = []
    for i, cell in enumerate(cells):
        cell = cell.strip()
        if cell.lower() in MISSING_TOKENS:
            continue
        try:
            number = float(cell)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            values[i] = number
        else:
            bad.append(i)
    return values, bad, int(np.count_nonzero(~np.isnan(values)))


def read_series(path: str | os.PathLike, delimiter: str = ",") -> Series:
    """Parse a series file (a .csv, or a .zip holding one): header, equal-width rows, numeric and text columns.

    A column is numeric when at least half of its filled cells are numbers; its other cells are kept in
    ``bad_cells`` (the first of them) and stop a run that uses the column. Results are memoised per file
    version in this process."""
    path = Path(path).expanduser()
    delimiter = check_delimiter(delimiter, str(path))
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns) if stat else None
    return _read_series(path, delimiter, key)


@lru_cache(maxsize=4)
def _read_series(path: Path, delimiter: str, key) -> Series:
    data, source = _file_bytes(path)
    return parse_series(decode_csv(data, source), source, delimiter)


def parse_series(text: str, source: str, delimiter: str = ",") -> Series:
    """A :class:`Series` from a CSV text (``source`` names it in messages): read in C when the file is plain
    (see :func:`_plain_series`), else cell by cell, which names the line and column of any problem."""
    series = _plain_series(text, source, delimiter)
    return series if series is not None else _careful_series(text, source, delimiter)


def _check_header(header: list[str], source: str, line: int) -> None:
    for position, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"CSV file {source}: column {position} of the header (line {line}) has no name. "
                            "Give every column a name in the header row.")
        if name in header[: position - 1]:
            raise DataError(f"CSV file {source}: the header (line {line}) names column '{name}' twice. "
                            "Rename one of them.")


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _plain_series(text: str, source: str, delimiter: str) -> Series | None:
    """The usual file, read with ``np.loadtxt``: the header on line 1, no blank line, every line as wide, and no
    missing or malformed cell in the columns the first row holds numbers in. None for anything else."""
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        return None
    width = lines[0].count(delimiter)
    if any(line.count(delimiter) != width for line in lines):
        return None
    header, first = csv.reader(lines[:2], delimiter=delimiter)
    if len(header) != width + 1 or len(first) != width + 1:   # a quoted delimiter: read cell by cell
        return None
    header = [name.strip() for name in header]
    _check_header(header, source, 1)
    numeric = [j for j, cell in enumerate(first) if _is_number(cell)]
    text_columns = [j for j in range(len(header)) if j not in numeric]
    read = {"delimiter": delimiter, "skiprows": 1, "quotechar": '"', "comments": None, "ndmin": 2}
    try:
        numbers = np.loadtxt(io.StringIO(text), usecols=numeric, dtype=np.float64, **read) if numeric else None
        texts = np.loadtxt(io.StringIO(text), usecols=text_columns, dtype=str, **read) if text_columns else None
    except ValueError:
        return None
    if numbers is not None and (len(numbers) != len(lines) - 1 or np.isinf(numbers).any()):
        return None
    if texts is not None:
        sample = texts[:: max(1, len(texts) // 100)]
        if any(_is_number(cell) for cell in sample.ravel()):   # a column of numbers with text at its top
            return None
    series = Series(source, header, {}, {}, np.arange(2, len(lines) + 1, dtype=np.int64))
    for k, j in enumerate(numeric):
        series.numeric[header[j]] = numbers[:, k]
    for k, j in enumerate(text_columns):
        series.text[header[j]] = [cell.strip() for cell in texts[:, k].tolist()]
    return series


def _careful_series(text: str, source: str, delimiter: str) -> Series:
    """Every cell read and checked: ragged rows, blank lines, missing and malformed cells, with file lines."""
    records, lines = _records(text, delimiter, source)
    if not records:
        raise DataError(f"CSV file {source} is empty: it has no header row. A series file starts with a line of "
                        "column names, then one line per time step.")
    header = [name.strip() for name in records[0]]
    _check_header(header, source, lines[0])
    rows, lines = records[1:], np.asarray(lines[1:], dtype=np.int64)
    for i, row in enumerate(rows):
        if len(row) != len(header):
            more = "more" if len(row) > len(header) else "fewer"
            raise DataError(f"CSV file {source}: line {lines[i]} has {len(row)} fields but the header has "
                            f"{len(header)} columns ({more} fields than columns). Give every row one field per "
                            "column (an empty field where a value is missing), or set task.delimiter if the file "
                            "is not comma-separated.")
    if not rows:
        raise DataError(f"CSV file {source} has a header but no rows. Add one row per time step below it.")
    series = Series(source, header, {}, {}, lines)
    for name, cells in zip(header, zip(*rows)):
        values, bad, numbers = _numbers(cells)
        filled = numbers + len(bad)
        if numbers and numbers * 2 >= filled:
            series.numeric[name] = values
            if bad:
                series.bad_cells[name] = (bad[0], cells[bad[0]].strip())
        else:
            series.text[name] = [cell.strip() for cell in cells]
    return series


# ----------------------------------------------------------------------------- times and gaps

_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})[ T](\d{2}:\d{2}(:\d{2})?)$")
_SLASHED = re.compile(r"^\d{4}/\d{2}/\d{2}")


def parse_times(cells: Sequence[str]) -> np.ndarray | None:
    """Timestamps (datetime64[s]) of ISO cells (``2016-01-31``, ``2016-01-31 12:00:00``, also ``2016/01/31``)
    or the Jena file's ``31.01.2016 12:00:00``; None when the cells are not all times of one of these forms."""
    cells = [cell.strip() for cell in cells]
    if not cells or any(not cell for cell in cells):
        return None
    if _DOTTED.match(cells[0]):
        if not all(_DOTTED.match(cell) for cell in (cells[-1], cells[len(cells) // 2])):
            return None
        cells = [f"{c[6:10]}-{c[3:5]}-{c[0:2]}T{c[11:]}" for c in cells]
    elif _SLASHED.match(cells[0]):
        cells = [cell.replace("/", "-", 2) for cell in cells]
    try:
        return np.asarray(cells, dtype=str).astype("datetime64[s]")
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """A step or gap in words: ``10 min``, ``1 day``, ``2 h 30 min``, or a plain number for numeric times."""
    seconds = float(seconds)
    if seconds % 60:
        return f"{seconds:g} s"
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    return " ".join(parts) or "0 s"


def gap_warnings(times: np.ndarray, lines: np.ndarray, column: str, numeric: bool) -> list[str]:
    """Warnings for steps that differ from the usual one: gaps, repeats, or time going backwards."""
    if len(times) < 3:
        return []
    steps = np.diff(times.astype(np.float64) if numeric else times.astype("datetime64[s]").astype(np.int64))
    usual = float(np.median(steps))
    show = (lambda s: f"{s:g}") if numeric else duration
    if usual <= 0:
        return [f"column '{column}' does not increase from row to row (its usual step is {show(usual)}); the rows "
                "are used by position, in file order."]
    odd = np.flatnonzero(steps != usual)
    if not len(odd):
        return []
    largest = int(odd[np.argmax(steps[odd])])
    text = (f"column '{column}': {len(odd):,} of the {len(steps):,} steps between rows differ from the usual step "
            f"of {show(usual)} (the largest, {show(steps[largest])}, is between lines {lines[largest]} and "
            f"{lines[largest + 1]})")
    backwards = np.flatnonzero(steps < 0)
    if len(backwards):
        text += f"; time goes backwards at line {lines[backwards[0] + 1]}"
    return [text + ". The rows are used by position, as if evenly spaced, as the book does."]


# ----------------------------------------------------------------------------- columns

def _closest(name: str, names: Sequence[str]) -> str:
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


def _check_column(series: Series, name: str, role: str) -> None:
    if name in series.numeric or name in series.text:
        return
    raise DataError(f"CSV file {series.source} has no column '{name}' (the {role}); its columns are: "
                    f"{', '.join(series.header)}.{_closest(name, series.header)} Set {role} to one of them.")


def numeric_column(series: Series, name: str, role: str) -> np.ndarray:
    """The values of a column the model uses; DataError for a text column or a cell that is not a number."""
    _check_column(series, name, role)
    if name in series.text:
        first = next((i for i, cell in enumerate(series.text[name]) if cell.lower() not in MISSING_TOKENS), 0)
        raise DataError(f"CSV file {series.source}: column '{name}' ({role}) holds text, not numbers (line "
                        f"{series.lines[first]}: {series.text[name][first]!r}). Choose a numeric column; numeric "
                        f"columns here: {', '.join(series.numeric) or 'none'}.")
    if name in series.bad_cells:
        row, cell = series.bad_cells[name]
        raise DataError(f"CSV file {series.source}: line {series.lines[row]}, column '{name}' holds {cell!r}, "
                        f"which is not a number, but '{name}' is a numeric column the model reads ({role}). "
                        "Correct that cell, or leave it empty (empty, NA, NaN and null mean missing: filled with "
                        "the previous row's value); or leave the column out with task.feature_columns=[...].")
    return series.numeric[name]


def filled(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(values with each missing cell set to the previous row's value, the first rows' to the first value;
    how many were missing)."""
    missing = np.isnan(values)
    count = int(missing.sum())
    if not count:
        return values, 0
    if count == len(values):
        return values, count
    index = np.where(missing, 0, np.arange(len(values)))
    np.maximum.accumulate(index, out=index)
    forward = values[index]
    first = int(np.argmax(~missing))
    forward[:first] = values[first]
    return forward, count


@dataclass
class Columns:
    """What a run takes from a series: its features (in order), the target, and the time column used for gaps."""

    features: list[str]
    target: str
    time_column: str | None
    values: np.ndarray             # (rows, features) float32, gaps filled
    target_values: np.ndarray      # (rows,) float64, gaps filled
    ignored: list[str]
    warnings: list[str]


def choose_columns(series: Series, target: str | None, features: Sequence[str] | None = None,
                   time_column: str | None = None) -> Columns:
    """The target, the features (default: every numeric column but the time column) and the time column; gaps
    and filled cells are warned about."""
    if target in (None, ""):
        raise DataError(f"task=timeseries needs task.target=COLUMN, the column to forecast; the numeric columns of "
                        f"{series.source} are: {', '.join(series.numeric) or 'none'}.")
    target = str(target)
    warnings: list[str] = []
    if time_column not in (None, ""):
        time_column = str(time_column)
        _check_column(series, time_column, "task.time_column")
    else:
        time_column = next((name for name in series.text if parse_times(series.text[name][:3]) is not None), None)
    if time_column == target:
        raise DataError(f"CSV file {series.source}: column '{target}' is both task.target and task.time_column. "
                        "Choose another target.")
    if features in (None, "", []):
        names = [name for name in series.numeric if name != time_column]
    else:
        names = [str(name) for name in features]
        for name in names:
            _check_column(series, name, "a feature in task.feature_columns")
    numeric_column(series, target, "task.target")
    columns = []
    for name in names:
        values, missing = filled(numeric_column(series, name, "a feature"))
        if missing == len(values):
            raise DataError(f"CSV file {series.source}: column '{name}' has no values. Leave it out with "
                            "task.feature_columns=[...].")
        if missing:
            warnings.append(f"column '{name}': {missing:,} missing cells filled with the previous row's value.")
        columns.append(values)
    target_values, missing = filled(series.numeric[target])
    if missing == len(target_values):
        raise DataError(f"CSV file {series.source}: the target column '{target}' has no values.")
    if missing and target not in names:
        warnings.append(f"column '{target}': {missing:,} missing cells filled with the previous row's value.")
    if time_column is not None:
        warnings += _time_warnings(series, time_column)
    ignored = [name for name in series.header if name not in names and name not in (target, time_column)]
    return Columns(names, target, time_column, np.column_stack(columns).astype(np.float32), target_values,
                   ignored, warnings)


def _time_warnings(series: Series, column: str) -> list[str]:
    if column in series.numeric:
        values = series.numeric[column]
        if np.isnan(values).any():
            return [f"column '{column}' has empty cells, so its gaps are not checked."]
        return gap_warnings(values, series.lines, column, numeric=True)
    times = parse_times(series.text[column])
    if times is None:
        return [f"column '{column}' does not read as times (ISO dates such as 2016-01-31 12:00:00, or "
                "31.01.2016 12:00:00), so its gaps are not checked; the rows are used by position."]
    return gap_warnings(times, series.lines, column, numeric=False)
