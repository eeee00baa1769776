"""``dlwp data inspect [OVERRIDES] [--output DIR]``: a task's data before training, without a run folder; and
``dlwp data synth-jena OUT_DIR [--rows N] [--seed S]``: a synthetic Jena climate file, marked synthetic.

``inspect`` composes and validates the config as ``dlwp run`` would, reads the task's dataset, prints split sizes,
class balance or target distribution, missing values, input shapes, a table's column types and a
leakage hint, and draws pictures (samples, labels, features, sequence lengths) into the output folder.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from rich.markup import escape

from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose, compose_validated
from dlwp_cli.console import console
from dlwp_cli.errors import ConfigError, DataError
from dlwp_cli.inspect_plots import write_pictures
from dlwp_cli.inspection import file_missing_cells, infer_problem, inspect_splits, table_columns

DATASET_ELEMENTS = 10000   # elements read from a split given as a tf.data.Dataset
MISSING_ROWS_SHOWN = 20    # features listed in the missing-values table


def data_command(action: str, overrides: list[str], output: str | None = None,
                 config_dir: str | None = None) -> int:
    """``dlwp data ACTION``; ``inspect`` is the only action."""
    if action != "inspect":
        raise ConfigError(f"dlwp data: unknown action '{action}'. Use: dlwp data inspect OVERRIDES [--output DIR].")
    return inspect_command(overrides, output, config_dir)


def synth_jena_command(out_dir: str, rows: int | None = None, seed: int | None = None, extra=()) -> int:
    """Write ``OUT_DIR/jena_climate_2009_2016.csv`` (and its synthetic marker) and say how to use it."""
    import time

    from dlwp_cli.errors import OutputError
    from dlwp_tasks.datasets import synth_jena

    if extra:
        raise ConfigError(f"dlwp data synth-jena: unexpected argument '{extra[0]}'. Usage: dlwp data synth-jena "
                          "OUT_DIR [--rows N] [--seed S].")
    rows = synth_jena.ROWS if rows is None else rows
    seed = synth_jena.SEED if seed is None else seed
    if rows < 1:
        raise ConfigError(f"dlwp data synth-jena: --rows {rows} is not a positive number of rows (the real file's "
                          f"count is {synth_jena.ROWS:,}).")
    started = time.perf_counter()
    try:
        path = synth_jena.write_synthetic_jena(out_dir, rows, seed)
    except OSError as err:
        raise OutputError(f"dlwp data synth-jena cannot write into '{out_dir}' ({err.strerror or err}). Choose a "
                          "folder you can write to.") from None
    console.print(f"wrote {path} ({rows:,} rows, seed {seed}, {time.perf_counter() - started:.1f} s) and its marker "
                  f"{synth_jena.marker_path(path).name}: every number from it is labelled synthetic. Use it with "
                  f"dlwp run experiment=ch10/jena_dense data_dir={out_dir}", markup=False, highlight=False)
    return 0


def inspect_command(overrides: list[str], output: str | None = None, config_dir: str | None = None) -> int:
    """Print the inspection of the configured task's data and write its pictures to ``output``
    (default ``inspect/<task name>``)."""
    flags = [o for o in overrides if o.startswith("-")]
    if flags:
        raise ConfigError(f"dlwp data inspect: unknown option '{flags[0]}'. It takes overrides, --output DIR "
                          "and --config-dir DIR, e.g. dlwp data inspect task=mnist --output pictures.")
    cfg, splits, report = inspect_task(overrides, config_dir)
    print_inspection(report, splits.warnings)
    folder = Path(output) if output else Path("inspect") / str(cfg.task.name)
    written = write_pictures(report, folder)
    for path in written:
        console.print(f"picture: {path}", markup=False, highlight=False)
    if not written:
        console.print("no pictures for this data", markup=False)
    return 0


def inspect_task(overrides: list[str], config_dir: str | None = None):
    """(validated config, the dataset's DataSplits, its Inspection) for ``dlwp data inspect``'s arguments."""
    cfg = compose_for_inspection(overrides, config_dir)
    splits = load_for_inspection(cfg)
    xs, ys, notes = split_arrays(splits)
    names = output_names(cfg, splits, ys["train"])
    ys = {split: by_output(y, names) for split, y in ys.items()}
    problems = {name: output_problem(cfg, splits, name, (ys["train"] or {}).get(name)) for name in names}
    class_names = {names[0]: splits.class_names} if len(names) == 1 else {}
    report = inspect_splits(str(cfg.task.name), xs, ys, problems, class_names,
                            image_declared="image" in list(cfg.task.input_kinds or []))
    report.notes += notes
    if splits.schema is not None and "columns" in splits.schema:
        add_table_columns(report, splits.schema)
    return cfg, splits, report


# ----------------------------------------------------------------------------- config and data

def compose_for_inspection(overrides: list[str], config_dir: str | None = None) -> DictConfig:
    """The validated config. When no model was chosen and the default one does not take the task's
    inputs (e.g. task=tickets), a model that does is chosen: the data does not depend on it."""
    overrides = catalog.configure(config_dir, overrides)
    try:
        return compose_validated(overrides)
    except ConfigError:
        fitting = _fitting_model(overrides)
        if fitting is None:
            raise
    return compose_validated([*overrides, f"model={fitting}"])


def _fitting_model(overrides: list[str]) -> str | None:
    """A model option taking the task's inputs, if the overrides choose no model and the composed one does
    not take them; else None."""
    from dlwp_cli.config.validate import model_class, models_for_input_kinds

    if any(o.lstrip("+~").startswith(("model=", "model/", "experiment=")) for o in overrides):
        return None
    raw = compose(overrides)
    kinds = list(raw.task.get("input_kinds") or [])
    target = (raw.get("model") or {}).get("_target_")
    if not kinds or target is None or set(model_class(target).input_kinds) & set(kinds):
        return None
    fitting = models_for_input_kinds(kinds)
    return fitting[0] if fitting else None


def load_for_inspection(cfg: DictConfig):
    """The task's dataset as ``dlwp run`` reads it, without Keras preprocessing layers where the dataset can
    leave them out (a table: ``layers=False``)."""
    from dlwp_cli.data import dataset_parameters, load_data

    synthetic = cfg.source == "synthetic" and cfg.task.synthetic is not None
    node = "synthetic" if synthetic else "dataset"
    if "layers" in dataset_parameters(cfg.task[node]._target_):
        cfg = OmegaConf.merge(cfg, {"task": {node: {"layers": False}}})
    return load_data(cfg)


def split_arrays(splits) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(inputs by split, labels by split, notes): the splits present, a tf.data.Dataset read into arrays
    up to DATASET_ELEMENTS elements."""
    xs, ys, notes = {}, {}, []
    for split, x, y in (("train", splits.x_train, splits.y_train), ("validation", splits.x_val, splits.y_val),
                        ("test", splits.x_test, splits.y_test)):
        if x is None:
            continue
        if _is_dataset(x):
            x, y, cut = read_dataset(x, DATASET_ELEMENTS)
            if cut:
                notes.append(f"{split}: a tf.data.Dataset; only its first {DATASET_ELEMENTS} elements are "
                             "inspected")
        xs[split], ys[split] = x, y
    return xs, ys, notes


def _is_dataset(x) -> bool:
    return hasattr(x, "element_spec") and hasattr(x, "as_numpy_iterator")


def read_dataset(dataset, limit: int) -> tuple[Any, Any, bool]:
    """(inputs, targets or None, whether elements were left out) of an unbatched dataset's first elements."""
    elements = list(itertools.islice(dataset.as_numpy_iterator(), limit + 1))
    cut = len(elements) > limit
    elements = elements[:limit]
    paired = bool(elements) and isinstance(elements[0], tuple) and len(elements[0]) == 2
    inputs = _stack([e[0] for e in elements] if paired else elements)
    return inputs, _stack([e[1] for e in elements]) if paired else None, cut


def _stack(items: list):
    if items and isinstance(items[0], dict):
        return {key: _stack([item[key] for item in items]) for key in items[0]}
    try:
        return np.stack(items)
    except ValueError:  # ragged elements
        stacked = np.empty(len(items), dtype=object)
        stacked[:] = items
        return stacked


def output_names(cfg: DictConfig, splits, y_train) -> list[str]:
    """The outputs' names: a multi-output task's heads, a table's label column, a series' target column, else
    ``label``."""
    if isinstance(y_train, dict):
        return [str(name) for name in y_train]
    if cfg.task.get("outputs"):
        return [str(name) for name in cfg.task.outputs]
    named = (splits.schema or {}).get("label") or (splits.schema or {}).get("target")
    return [str(named)] if named else ["label"]


def by_output(y, names: list[str]) -> dict[str, Any] | None:
    """Labels as a dict by output name (None stays None)."""
    if y is None or isinstance(y, dict):
        return y
    return {names[0]: y}


def output_problem(cfg: DictConfig, splits, name: str, y) -> str:
    """classification or regression for one output: the dataset's word, the task's, or its loss and metrics
    (else its training labels' values)."""
    declared = splits.problem or cfg.task.get("problem")
    loss, metrics = cfg.task.get("loss"), cfg.task.get("metrics")
    if isinstance(loss, DictConfig):
        loss = loss.get(name)
    if isinstance(metrics, DictConfig):
        metrics = metrics.get(name)
    metrics = [str(m) for m in (metrics or []) if isinstance(m, str)]
    labels = np.asarray([] if y is None else y)
    return infer_problem(declared, loss if isinstance(loss, str) else None, metrics, labels)


def add_table_columns(report, schema: dict) -> None:
    """A table dataset's columns (type, encoding) with the empty cells of its file."""
    columns = table_columns(schema)
    try:
        rows, empty = file_missing_cells(schema["path"], schema.get("delimiter", ","))
    except (DataError, OSError):  # the file cannot be read again (moved since): types only
        rows, empty = None, {}
    for column in columns:
        column["empty"] = empty.get(column["name"])
    report.columns, report.file_rows = columns, rows


# ----------------------------------------------------------------------------- printing

def print_inspection(report, warnings: list[str] = ()) -> None:
    """The inspection as rich tables and lines on the console."""
    console.rule(f"[bold]dlwp data inspect[/] {report.task}")
    console.print(_sizes_table(report))
    for output in report.outputs:
        console.print(_balance_table(output) if output.problem == "classification" else _target_table(output))
    console.print(_inputs_table(report))
    if report.lengths:
        console.print(_distribution_table("Sequence lengths", report.lengths, "split"))
    if report.columns:
        console.print(_columns_table(report))
    _print_missing(report)
    _print_leaks(report)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    for warning in warnings:
        console.print(f"[yellow]dataset warning:[/] {escape(warning)}", highlight=False)


def _table(title: str, *columns: str):
    from rich.table import Table

    table = Table(title=escape(title), show_edge=False, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def _add_row(table, *cells: str) -> None:
    """A row of plain text (names may hold brackets that rich would read as markup)."""
    from rich.text import Text

    table.add_row(*[Text(str(cell)) for cell in cells])


def _sizes_table(report):
    table = _table("Splits", "split", "examples")
    for split, size in report.sizes.items():
        _add_row(table, split, f"{size:,}")
    return table


def _balance_table(output):
    splits = list(output.balance)
    kind = " (multi-label: examples with each class)" if output.multi_label else ""
    table = _table(f"Class balance of '{output.name}'{kind}", "class", *splits)
    for i, name in enumerate(output.class_names):
        _add_row(table, name, *[_count_cell(output.balance[split][i]) for split in splits])
    return table


def _count_cell(count) -> str:
    return f"{count.count:,} ({count.share:.1%})"


def _target_table(output):
    return _distribution_table(f"Target '{output.name}' (regression)", output.targets, "split")


def _distribution_table(title: str, distributions: dict, first: str):
    table = _table(title, first, "count", "missing", "min", "25%", "median", "75%", "max", "mean", "std")
    for name, d in distributions.items():
        _add_row(table, name, f"{d.count:,}", f"{d.missing:,}",
                      *[f"{v:.4g}" for v in (d.min, d.q1, d.median, d.q3, d.max, d.mean, d.std)])
    return table


def _inputs_table(report):
    table = _table("Inputs (training split)", "input", "shape per example", "dtype", "values")
    for summary in report.inputs:
        _add_row(table, summary.name, summary.shape, summary.dtype, summary.detail)
    return table


def _columns_table(report):
    rows = f", {report.file_rows:,} rows in the file" if report.file_rows is not None else ""
    table = _table(f"Columns{rows}", "column", "type", "encoding", "empty cells", "share")
    for column in report.columns:
        empty = column.get("empty")
        share = f"{empty / report.file_rows:.1%}" if empty is not None and report.file_rows else "-"
        _add_row(table, column["name"], column["type"], column["encoding"],
                      "-" if empty is None else f"{empty:,}", share)
    table.columns[2].justify = "left"
    table.columns[1].justify = "left"
    return table


def _print_missing(report) -> None:
    splits = list(report.sizes)
    if not any(report.missing_cells.values()):
        what = "word-id sequences" if report.lengths else "no numeric or text features"
        console.print(f"missing values: n/a ({what})", markup=False, highlight=False)
        return
    if not report.missing:
        cells = ", ".join(f"{report.missing_cells[s]:,} {s}" for s in splits if s in report.missing_cells)
        console.print(f"missing values: none in the inputs ({cells} cells)", markup=False, highlight=False)
        return
    table = _table(f"Missing values ({len(report.missing)} features with any)", "feature", *splits)
    for feature, counts in list(report.missing.items())[:MISSING_ROWS_SHOWN]:
        _add_row(table, feature, *[f"{counts.get(split, 0):,}" for split in splits])
    console.print(table)
    if len(report.missing) > MISSING_ROWS_SHOWN:
        console.print(f"... and {len(report.missing) - MISSING_ROWS_SHOWN} more features with missing values",
                      markup=False)


def leak_text(leak) -> str:
    """The warning for a feature that alone predicts an output."""
    against = f" (majority class alone: {leak.baseline:.3f})" if leak.measure == "accuracy" else ""
    return (f"feature '{leak.feature}' alone predicts '{leak.output}' on the training data ({leak.measure} "
            f"{leak.score:.3f}{against}): a leak of the label? Drop it if it is not known at prediction time.")


def _print_leaks(report) -> None:
    if report.leaks is None:
        console.print(f"leakage check: {report.leak_note}", markup=False, highlight=False)
        return
    for leak in report.leaks:
        console.print(f"[yellow]warning:[/] {escape(leak_text(leak))}", highlight=False)
    if not report.leaks:
        console.print(f"leakage check: no single feature predicts the label ({report.leak_note})",
                      markup=False, highlight=False)
