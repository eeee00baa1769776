"""A CSV table as a dataset: ``dlwp run task=csv task.path=FILE task.label=COLUMN``.

The file is UTF-8 text with a header row. Every column but the label is numeric, categorical or
ignored; the types, the problem (classification or regression), the split and every statistic the
model needs are decided here and written to the ``schema``, which is saved with the run and used again
to read new rows at prediction time (:func:`read_rows`). Statistics come from the training rows only.

The raw inputs are a dict of (N, 1) arrays by input name (the column name, with any ``/`` made ``_``,
since Keras names cannot hold it): float32 with NaN where missing, or object arrays of ``str`` with
``"<missing>"``. ``DataSplits.preprocessing`` (``dlwp_tasks.layers.table_preprocessing``) turns them into
features inside the model, so a saved model takes raw rows. This module imports no TensorFlow or Keras
at import time.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits
from .cache import sha256_of

MISSING = "<missing>"                          # the category of a missing categorical cell
MISSING_TOKENS = frozenset({"", "na", "nan", "null"})  # missing cells, after strip() and lower()
COLUMN_TYPES = ("numeric", "categorical", "ignore")
PROBLEMS = ("auto", "classification", "regression")
DELIMITERS = {",": "a comma", ";": "a semicolon", "\t": "a tab"}
NUMERIC_SHARE = 0.9                            # a column is numeric when this share of its cells are numbers


@dataclass
class Table:
    """A parsed CSV: header names, data records (blank lines skipped) and each record's first line."""

    path: Path
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def cells(self, column: str) -> list[str]:
        """The stripped cells of one column, in row order."""
        j = self.header.index(column)
        return [row[j].strip() for row in self.rows]


# ----------------------------------------------------------------------------- reading

def check_delimiter(delimiter: str | None, path: Path | str) -> str:
    """The delimiter (``tab`` or ``\\t`` spelled out become a tab); DataError for one that is not supported."""
    delimiter = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
    if delimiter not in DELIMITERS:
        raise DataError(f"CSV file {path}: delimiter {delimiter!r} is not supported: set task.delimiter to ',' (comma), ';' "
                        "(semicolon) or '\\t' (tab).")
    return delimiter


def _read_text(path: Path) -> str:
    if not path.exists():
        where = "" if path.is_absolute() else f" (resolved from the current directory as {path.absolute()})"
        raise DataError(f"CSV file {path} does not exist{where}. Check the path (task.path for a run), or "
                        "give an absolute path.")
    if path.is_dir():
        raise DataError(f"CSV file {path} is a folder, not a file. Point the path (task.path for a run) at "
                        "the .csv file itself.")
    return decode_csv(path.read_bytes(), str(path))


def decode_csv(data: bytes, source: str) -> str:
    """A CSV file's bytes as text (UTF-8, a byte-order mark dropped); DataError naming the first bad line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(f"CSV file {source} is not UTF-8 text: line {line} holds the bytes "
                        f"{data[err.start:err.end]!r}, which are not UTF-8 ({err.reason}). Save the file as "
                        "UTF-8 (a spreadsheet's 'CSV UTF-8' format; iconv -f latin1 -t utf-8 converts a "
                        "Latin-1 file) and run again.") from None


def _other_delimiter_hint(header_line: str, delimiter: str) -> str:
    """A sentence suggesting another delimiter when the header line holds one."""
    for other, name in DELIMITERS.items():
        if other != delimiter and other in header_line:
            shown = "\\t" if other == "\t" else other
            return (f" The header holds {name}: if the file is separated by {name}, set "
                    f"task.delimiter='{shown}'.")
    return ""


def _is_blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def read_table(path: str | Path, delimiter: str = ",") -> Table:
    """Parse and check a CSV file: header present, names unique and non-empty, every row as wide.

    Raises DataError naming the file and line for a missing file, a folder, an empty file, bytes
    that are not UTF-8, a bad header or a row with more or fewer fields than the header.
    """
    path = Path(path).expanduser()
    delimiter = check_delimiter(delimiter, path)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            if _is_blank(fields):
                continue
            if header is None:
                header, header_line = [name.strip() for name in fields], start
                _check_header(path, header, header_line)
                continue
            if len(fields) != len(header):
                more = "more" if len(fields) > len(header) else "fewer"
                raise DataError(
                    f"CSV file {path}: line {start} has {len(fields)} fields but the header (line "
                    f"{header_line}) has {len(header)} columns, so it has {more} fields than columns. Fix "
                    "that row: quote any field that contains the delimiter (\"a, b\"), and give every row "
                    "one field per column (leave a field empty when the value is missing)."
                    + _other_delimiter_hint(delimiter.join(header), delimiter))
            rows.append(fields)
            lines.append(start)
    except csv.Error as err:
        raise DataError(f"CSV file {path}: line {reader.line_num} cannot be parsed as CSV ({err}). Fix the "
                        "quoting on that line (a field with quotes is written \"say \"\"hi\"\"\").") from None
    if header is None:
        raise DataError(f"CSV file {path} is empty: it has no header row. A CSV table starts with a line "
                        "of column names, then one line per row.")
    return Table(path, delimiter, header, rows, lines)


def _check_header(path: Path, header: list[str], line: int) -> None:
    for position, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"CSV file {path}: column {position} of the header (line {line}) has no name. "
                            "Give every column a name in the header row (and check there is no trailing "
                            "delimiter at the end of the header line).")
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(f"CSV file {path}: the header (line {line}) names column '{name}' twice (again "
                            f"at column {position}). Rename one of them so every column name is unique.")
        seen.add(name)


# ----------------------------------------------------------------------------- cells

def is_missing(cell: str) -> bool:
    """Empty, NA, NaN or null (any case, surrounding spaces ignored)."""
    return cell.strip().lower() in MISSING_TOKENS


def _number(cell: str) -> float | None:
    """The finite number a stripped, non-missing cell holds, else None."""
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numbers(cells: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """(float64 values with NaN where missing, indices of the non-missing cells that are not numbers)."""
    values = np.full(len(cells), np.nan)
    bad: list[int] = []
    for i, cell in enumerate(cells):
        if cell.lower() in MISSING_TOKENS:
            continue
        number = _number(cell)
        if number is None:
            bad.append(i)
        else:
            values[i] = number
    return values, bad


def _not_a_number(path: Path, line: int, column: str, value: str, why: str) -> DataError:
    return DataError(f"CSV file {path}: line {line}, column '{column}' holds {value!r}, which is not a number, "
                     f"but {why}. Correct that cell, or leave it empty (empty, NA, NaN and null mean "
                     f"missing); to treat the column as categories instead, set task.column_types to "
                     f"{{{column}: categorical}}.")


def _categories(cells: Sequence[str]) -> np.ndarray:
    """Object array of ``str``: the stripped cells, missing ones as ``"<missing>"``."""
    out = np.empty(len(cells), dtype=object)
    out[:] = [MISSING if cell.lower() in MISSING_TOKENS else cell for cell in cells]
    return out


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ----------------------------------------------------------------------------- checks

def _closest(name: str, names: Sequence[str]) -> str:
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.5) or \
        difflib.get_close_matches(name.lower(), [n.lower() for n in names], n=1, cutoff=0.5)
    if not match:
        return ""
    found = next(n for n in names if n == match[0] or n.lower() == match[0])
    return f" Did you mean '{found}'?"


def _check_options(path: str | Path, problem: str, test_size: float, max_classes: int,
                   max_categories: int, limit: int | None) -> str:
    """The problem, lower-cased; DataError for an option out of range."""
    where = f"CSV file {path}: "
    problem = str(problem).strip().lower()
    if problem not in PROBLEMS:
        raise DataError(f"{where}problem {problem!r} is not one of {', '.join(PROBLEMS)}: set task.problem to "
                        "auto (the label decides), classification or regression.")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise DataError(f"{where}test_size={test_size!r} is not a fraction between 0 and 1 (exclusive): set "
                        "task.test_size to the share of rows held out for testing, e.g. 0.2.")
    for name, value in (("max_classes", max_classes), ("max_categories", max_categories)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"{where}{name}={value!r} is not a positive integer: set task.{name} to a whole "
                            "number of at least 1.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"{where}limit={limit!r} is not a positive integer: use a whole number of at least 1, "
                        "or None for every row.")
    return problem


def _check_column_types(table: Table, label: str, column_types: Mapping[str, str] | None) -> dict[str, str]:
    types: dict[str, str] = {}
    for column, kind in dict(column_types or {}).items():
        column, kind_name = str(column), str(kind).strip().lower()
        if column not in table.header:
            raise DataError(f"CSV file {table.path}: task.column_types names column '{column}', which is not in "
                            f"the header (columns: {', '.join(table.header)}).{_closest(column, table.header)} "
                            "Fix the name in task.column_types.")
        if kind_name not in COLUMN_TYPES:
            raise DataError(f"CSV file {table.path}: task.column_types sets column '{column}' to {kind!r}; a type "
                            f"is one of {', '.join(COLUMN_TYPES)}.")
        if column == label:
            raise DataError(f"CSV file {table.path}: task.column_types sets the label column '{label}' to "
                            f"{kind_name}, but the label cannot be ignored or retyped. Remove it from "
                            "task.column_types (choose classification or regression with task.problem), or "
                            "choose another task.label.")
        types[column] = kind_name
    return types


# ----------------------------------------------------------------------------- label and split

def _labels(table: Table, label: str, problem: str, max_classes: int
            ) -> tuple[str, np.ndarray, list[str] | None]:
    """(problem, y over the table's rows, class names); the rows must all have a label."""
    cells = table.cells(label)
    values, bad = _numbers(cells)
    if problem == "auto":
        integers = not bad and bool(np.all(np.mod(values, 1) == 0))
        problem = "classification" if bad or (integers and len(np.unique(values)) <= max_classes) \
            else "regression"
    if problem == "regression":
        if bad:
            i = bad[0]
            raise DataError(f"CSV file {table.path}: line {table.lines[i]}, label column '{label}' holds "
                            f"{cells[i]!r}, which is not a number, but regression needs a number in every label "
                            "cell. Correct the cell, or set task.problem=classification if the labels are "
                            "classes.")
        return problem, values.astype(np.float32), None
    if not bad:
        numbers = np.unique(values)
        y = np.searchsorted(numbers, values)
        class_names = [_number_name(v) for v in numbers]
    else:
        if all(cell.lower() in ("true", "false") for cell in cells):
            cells = [cell.lower() for cell in cells]
        class_names = sorted(set(cells))
        index = {name: i for i, name in enumerate(class_names)}
        y = np.array([index[cell] for cell in cells], dtype=np.int64)
    if len(class_names) < 2:
        raise DataError(f"CSV file {table.path}: the label column '{label}' has only one class "
                        f"({class_names[0]!r}) in its {len(cells)} labelled rows, so there is nothing to tell "
                        "apart. Choose another task.label, or add rows of the other classes.")
    return problem, y.astype(np.int64), class_names


def _split_sizes(path: Path, n: int, test_size: float) -> tuple[int, int]:
    n_test = math.ceil(test_size * n - 1e-9)
    n_train = n - n_test
    if n_test < 1 or n_train < 1:
        raise DataError(f"CSV file {path}: test_size={test_size} splits its {n} labelled rows into {n_train} "
                        f"training and {n_test} test rows, but each side needs at least one. Add rows, or "
                        "choose a task.test_size that leaves rows on both sides.")
    return n_train, n_test


def _split(y: np.ndarray, n_test: int, stratify: bool, rng: np.random.Generator,
           class_names: list[str] | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(train indices, test indices, warnings). Stratified: each class's test share follows its size,
    and a class with two or more rows keeps at least one training row."""
    n = len(y)
    if not stratify:
        order = rng.permutation(n)
        return order[n_test:], order[:n_test], []
    classes, counts = np.unique(y, return_counts=True)
    ideal = counts * n_test / n
    cap = np.where(counts >= 2, counts - 1, 0)
    take = np.minimum(np.floor(ideal), cap).astype(np.int64)
    tie = rng.permutation(len(classes))
    warnings: list[str] = []
    while take.sum() < n_test:
        open_ = np.flatnonzero(take < cap)
        if len(open_) == 0:   # no class can give another row without losing its last training row
            order = rng.permutation(n)
            warnings.append("the classes are too small to split by class (stratify), so the rows were "
                            "split at random.")
            return order[n_test:], order[:n_test], warnings
        best = max(open_, key=lambda c: (ideal[c] - take[c], -tie[c]))
        take[best] += 1
    single = [class_names[c] if class_names else str(c) for c in classes[counts == 1]]
    if single:
        warnings.append(f"{len(single)} class(es) have a single row, kept in the training split only: "
                        f"{', '.join(single[:10])}{', ...' if len(single) > 10 else ''}.")
    train, test = [], []
    for c, k in zip(classes, take):
        rows = rng.permutation(np.flatnonzero(y == c))
        test.append(rows[:k])
        train.append(rows[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test)), warnings


# ----------------------------------------------------------------------------- columns

def _input_names(header: Sequence[str]) -> dict[str, str]:
    """Column -> Keras input name: the column name, with ``/`` (not allowed by Keras) made ``_``."""
    taken, names = set(header), {}
    for column in header:
        name = column
        if "/" in column:
            name = column.replace("/", "_")
            while name in taken:
                name += "_"
            taken.add(name)
        names[column] = name
    return names


def _guess_columns(table: Table, label: str, types: dict[str, str]
                   ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Decide each non-label column's type over the labelled rows; returns (columns, raw values).

    Raw values are float64 with NaN (numeric) or object ``str`` arrays (categorical)."""
    columns: list[dict[str, Any]] = []
    values: dict[str, np.ndarray] = {}
    for name in table.header:
        if name == label:
            continue
        cells = table.cells(name)
        forced = types.get(name)
        present = sum(cell.lower() not in MISSING_TOKENS for cell in cells)
        if forced == "ignore":
            columns.append({"name": name, "type": "ignored", "reason": "column_types"})
            continue
        if present == 0:
            columns.append({"name": name, "type": "ignored", "reason": "no values"})
            continue
        kind = forced
        if forced != "categorical":
            numbers, bad = _numbers(cells)
            share = (present - len(bad)) / present
            if forced is None:
                kind = "numeric" if share >= NUMERIC_SHARE - 1e-9 else "categorical"
            if kind == "numeric" and bad:
                why = ("task.column_types makes the column numeric" if forced else
                       f"{share:.0%} of the column's cells are numbers, so it is numeric")
                i = bad[0]
                raise _not_a_number(table.path, table.lines[i], name, cells[i], why)
        if kind == "numeric":
            values[name] = numbers
        else:
            values[name] = _categories(cells)
        columns.append({"name": name, "type": kind})
    return columns, values


def _fit_column(column: dict[str, Any], train: np.ndarray, max_categories: int) -> dict[str, Any]:
    """Fill in a numeric or categorical column's statistics from its training values (or drop it)."""
    if column["type"] == "numeric":
        seen = train[~np.isnan(train)]
        if len(seen) == 0:
            return {"name": column["name"], "type": "ignored", "reason": "no values in the training rows"}
        median = float(np.median(seen))
        filled = np.where(np.isnan(train), median, train)
        std = float(filled.std())
        return {**column, "median": median, "mean": float(filled.mean()), "std": std if std > 0 else 1.0,
                "missing_indicator": bool(len(seen) < len(train))}
    categories = sorted(set(train.tolist()))
    if len(categories) > max_categories:
        return {"name": column["name"], "type": "dropped",
                "reason": f"{len(categories)} values > max_categories={max_categories}"}
    return {**column, "categories": categories}


def _as_input(column: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """(N, 1) float32 or object ``str`` array, as the preprocessing model takes it."""
    dtype = np.float32 if column["type"] == "numeric" else object
    return np.asarray(values, dtype=dtype).reshape(-1, 1)


# ----------------------------------------------------------------------------- public

def load_csv(path: str | Path, label: str, problem: str = "auto", test_size: float = 0.2,
             delimiter: str = ",", max_classes: int = 20, max_categories: int = 50,
             column_types: Mapping[str, str] | None = None, seed: int = 0,
             limit: int | None = None, validation_size: float = 0.0, layers: bool = True) -> DataSplits:
    """A CSV table split into training, validation (``validation_size`` of the training rows, if any) and
    test rows, with its schema and preprocessing layers (``layers=False``: without them, and without Keras).

    See the module docstring; every bad input raises DataError naming the file (and line or column).
    """
    if path is None or not str(path).strip():
        raise DataError("No CSV file given: set task.path to the table's file (task.path=FILE).")
    if label is None or not str(label).strip():
        raise DataError(f"CSV file {path}: no label column given. Set task.label to the column to predict.")
    problem = _check_options(path, problem, test_size, max_classes, max_categories, limit)
    table = read_table(path, delimiter)
    path = table.path
    label = str(label).strip()
    if label not in table.header:
        raise DataError(f"CSV file {path} has no column '{label}' to use as the label; its columns are: "
                        f"{', '.join(table.header)}.{_closest(label, table.header)} Set task.label to one of "
                        "them." + (_other_delimiter_hint(table.delimiter.join(table.header), table.delimiter)
                                   if len(table.header) == 1 else ""))
    types = _check_column_types(table, label, column_types)
    if not table.rows:
        raise DataError(f"CSV file {path} has a header but no data rows. Add rows below the header line.")

    warnings: list[str] = []
    label_cells = table.cells(label)
    keep = [i for i, cell in enumerate(label_cells) if cell.lower() not in MISSING_TOKENS]
    dropped = len(table.rows) - len(keep)
    if not keep:
        raise DataError(f"CSV file {path}: none of its {len(table.rows)} rows has a value in the label column "
                        f"'{label}', so there is nothing to learn. Fill in the labels, or choose another "
                        "task.label.")
    if dropped:
        warnings.append(f"{dropped} row(s) of {path.name} have no label ('{label}' is empty or NA) and were "
                        "dropped.")
        table = Table(path, table.delimiter, table.header, [table.rows[i] for i in keep],
                      [table.lines[i] for i in keep])

    problem, y, class_names = _labels(table, label, problem, max_classes)
    columns, raw = _guess_columns(table, label, types)
    _, n_test = _split_sizes(path, len(y), test_size)
    rng = np.random.default_rng(seed)
    train, test, split_warnings = _split(y, n_test, problem == "classification", rng, class_names)
    warnings += split_warnings
    val = np.array([], dtype=np.int64)
    if validation_size:
        if not 0 < validation_size < 1:
            raise DataError(f"CSV file {path}: task.validation_size={validation_size} is not a fraction in (0, 1) "
                            "of the training rows; use e.g. 0.2, or 0 for no validation rows.")
        n_val = math.ceil(validation_size * len(train) - 1e-9)
        if not 0 < n_val < len(train):
            raise DataError(f"CSV file {path}: task.validation_size={validation_size} leaves no training or no "
                            f"validation rows out of {len(train)} training rows. Add rows, or lower it.")
        kept_rows, held, val_warnings = _split(y[train], n_val, problem == "classification", rng, class_names)
        train, val = train[kept_rows], train[held]
        warnings += [w for w in val_warnings if w not in warnings]
    if limit is not None:
        train, val, test = train[:limit], val[:limit], test[:limit]

    inputs = _input_names(table.header)
    fitted = []
    for column in columns:
        if column["type"] in ("numeric", "categorical"):
            column = _fit_column(column, raw[column["name"]][train], max_categories)
        if column["type"] in ("numeric", "categorical"):
            column = {"name": column["name"], "input": inputs[column["name"]], **column}
        elif column["reason"] == "column_types":
            pass
        elif column["type"] == "dropped":
            warnings.append(f"column '{column['name']}' has {column['reason'].split()[0]} distinct values in "
                            f"the training rows (more than max_categories={max_categories}), so it was "
                            "dropped; raise task.max_categories to one-hot encode it.")
        else:
            warnings.append(f"column '{column['name']}' has {column['reason']}, so it was ignored.")
        fitted.append(column)
    kept = [c for c in fitted if c["type"] in ("numeric", "categorical")]
    if not kept:
        others = ", ".join(f"{c['name']} ({c['type']}: {c['reason']})" for c in fitted) or "none"
        raise DataError(f"CSV file {path}: no column is left to learn from besides the label '{label}' "
                        f"(other columns: {others}). Add feature columns, or change task.column_types or "
                        "task.max_categories.")

    def inputs_of(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {c["input"]: _as_input(c, raw[c["name"]][rows]) for c in kept}

    target = None
    if problem == "regression":
        std = float(y[train].astype(np.float64).std())
        target = {"mean": float(y[train].astype(np.float64).mean()), "std": std if std > 0 else 1.0}
    schema = {
        "path": str(path), "delimiter": table.delimiter, "label": label, "problem": problem,
        "class_names": class_names, "target": target, "columns": fitted,
        "rows": {"train": int(len(train)), "validation": int(len(val)), "test": int(len(test)),
                 "dropped_unlabeled": int(dropped), "test_lines": [int(table.lines[i]) for i in test]},
    }
    splits = DataSplits(
        inputs_of(train), y[train], inputs_of(test), y[test],
        x_val=inputs_of(val) if len(val) else None, y_val=y[val] if len(val) else None,
        info={"source": "real", "files": [{"path": str(path), "sha256": sha256_of(path)}]},
        class_names=class_names, problem=problem, schema=schema, warnings=warnings,
    )
    if layers:
        from dlwp_tasks.layers import TargetScale, table_preprocessing  # noqa: PLC0415 - Keras only when loading

        splits.preprocessing = table_preprocessing(schema)
        splits.postprocessing = TargetScale(target["mean"], target["std"], name="target_scale") if target else None
    return splits


def describe_csv(**arguments) -> list[str]:
    """``dlwp show``'s description of a table: the schema ``load_csv(**arguments)`` infers, and its warnings
    (read without Keras)."""
    splits = load_csv(**arguments, layers=False)
    return describe(splits.schema) + [f"warning: {warning}" for warning in splits.warnings]


def count_training_rows(**arguments) -> int:
    """Training rows ``load_csv(**arguments)`` gives (after the test and validation splits), read without Keras."""
    return int(load_csv(**arguments, layers=False).schema["rows"]["train"])


# Hooks of the dataset contract: `dlwp show` describes the data, the up-front checks size a hold-out.
load_csv.describe = describe_csv
load_csv.count_examples = count_training_rows


def read_rows(path: str | Path, schema: dict[str, Any], delimiter: str | None = None
              ) -> tuple[list[str], dict[str, np.ndarray]]:
    """New rows for prediction, read with a saved schema: (``"path:line"`` per row, raw inputs).

    The inputs have the form :func:`load_csv` gives. The label and extra columns are ignored; a missing
    kept column, a non-number in a numeric column or a ragged row raises DataError. Unseen categories
    are passed through (the lookup maps them to its out-of-vocabulary slot).
    """
    table = read_table(path, schema.get("delimiter", ",") if delimiter is None else delimiter)
    kept = [c for c in schema["columns"] if c["type"] in ("numeric", "categorical")]
    absent = [c["name"] for c in kept if c["name"] not in table.header]
    if absent:
        raise DataError(f"CSV file {table.path} lacks the column(s) {', '.join(absent)}, which the model takes "
                        f"as input (it has: {', '.join(table.header)}). Add them with the same names as in "
                        f"the training file {schema.get('path', '')} (empty cells are read as missing).")
    if not table.rows:
        raise DataError(f"CSV file {table.path} has a header but no rows to predict. Add rows below the header.")
    x = {}
    for column in kept:
        cells = table.cells(column["name"])
        if column["type"] == "numeric":
            values, bad = _numbers(cells)
            if bad:
                i = bad[0]
                raise _not_a_number(table.path, table.lines[i], column["name"], cells[i],
                                    "the model was trained with it as a numeric column")
        else:
            values = _categories(cells)
        x[column.get("input", column["name"])] = _as_input(column, values)
    return [f"{table.path}:{line}" for line in table.lines], x


def count_rows(path: str | Path, delimiter: str = ",") -> int:
    """The number of data rows (non-blank records after the header); DataError as for :func:`load_csv`."""
    return len(read_table(path, delimiter).rows)


def describe(schema: dict[str, Any]) -> list[str]:
    """Short console lines: the problem, the rows, and what became of each column."""
    label, names = schema["label"], schema.get("class_names") or []
    if schema["problem"] == "classification":
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        lines = [f"problem: classification (label '{label}', {len(names)} classes: {shown})"]
    else:
        target = schema.get("target") or {}
        lines = [f"problem: regression (label '{label}', mean {target.get('mean', 0):.4g}, "
                 f"std {target.get('std', 1):.4g})"]
    rows = schema.get("rows") or {}
    if rows:
        dropped = rows.get("dropped_unlabeled", 0)
        lines.append(f"rows: {rows['train']} train, {rows.get('validation', 0)} validation, {rows['test']} test"
                     + (f" ({dropped} without a label dropped)" if dropped else ""))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for column in schema["columns"]:
        by_type.setdefault(column["type"], []).append(column)
    if by_type.get("numeric"):
        lines.append("numeric: " + ", ".join(c["name"] for c in by_type["numeric"]))
        flagged = [c["name"] for c in by_type["numeric"] if c.get("missing_indicator")]
        if flagged:
            lines.append("missing-value indicator: " + ", ".join(flagged))
    if by_type.get("categorical"):
        lines.append("categorical (one-hot): "
                     + ", ".join(f"{c['name']} ({len(c['categories'])})" for c in by_type["categorical"]))
    for kind in ("dropped", "ignored"):
        if by_type.get(kind):
            lines.append(f"{kind}: " + ", ".join(f"{c['name']} ({c['reason']})" for c in by_type[kind]))
    width = sum(1 + bool(c.get("missing_indicator")) for c in by_type.get("numeric", [])) \
        + sum(len(c["categories"]) + 1 for c in by_type.get("categorical", []))
    lines.append(f"features: {width}")
    return lines


def predict_inputs(paths: Sequence[str], run_dir: str | Path) -> tuple[list[str], dict]:
    """``dlwp predict``'s reader for table runs: the rows of each CSV, parsed with the run's schema.json,
    as model inputs (a label column in the files is ignored)."""
    import json

    schema_file = Path(run_dir) / "schema.json"
    if not schema_file.is_file():
        raise DataError(f"{schema_file} is missing: this table run cannot read new rows without its schema.")
    schema = json.loads(schema_file.read_text())
    names: list[str] = []
    parts: list[dict] = []
    for path in paths:
        row_names, inputs = read_rows(path, schema)
        names += row_names
        parts.append(inputs)
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    from dlwp_tasks.layers import to_model_inputs  # noqa: PLC0415 - Keras only when predicting

    return names, to_model_inputs(merged)
