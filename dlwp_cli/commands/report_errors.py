"""``dlwp report RUN_DIR --errors``: what a classifier run gets wrong: its confusion matrix, the rates at each
decision threshold (binary classifiers) and its most confident mistakes, with their inputs."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dlwp_cli.run_folder import ERRORS



def _rate(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def confusion_table(matrix: dict) -> Table:
    table = Table(title="Confusion matrix (test split; rows: true class, columns: predicted)", show_edge=False)
    table.add_column("true \\ predicted")
    for label in matrix["labels"]:
        table.add_column(str(label), justify="right")
    for label, counts in zip(matrix["labels"], matrix["counts"]):
        table.add_row(str(label), *(str(c) for c in counts))
    return table


def threshold_table(thresholds: dict) -> Table:
    best = thresholds["best_f1_threshold"]
    table = Table(title=f"Decision thresholds ({thresholds['split']} split; best F1 at {best:.1f})", show_edge=False)
    for column in ("threshold", "precision", "recall", "FPR", "FNR", "accuracy"):
        table.add_column(column, justify="right")
    for row in thresholds["table"]:
        mark = " *" if row["threshold"] == best else ""
        table.add_row(f"{row['threshold']:.1f}{mark}", _rate(row["precision"]), _rate(row["recall"]),
                      _rate(row["fpr"]), _rate(row["fnr"]), _rate(row["accuracy"]))
    return table


def _shown_input(shown: dict, run: Path) -> str:
    if "row" in shown:
        return ", ".join(f"{k}={v}" for k, v in shown["row"].items())
    if "image" in shown:
        return str(run / shown["image"])
    if "text" in shown:
        return shown["text"]
    if "word_ids" in shown:
        more = " ..." if shown["length"] > len(shown["word_ids"]) else ""
        return f"{shown['length']} word ids: {' '.join(map(str, shown['word_ids']))}{more}"
    more = " ..." if shown.get("size", 0) > len(shown.get("values", [])) else ""
    return " ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in shown.get("values", [])) + more


def mistakes_table(errors: dict, run: Path) -> Table:
    table = Table(title=f"Most confident mistakes ({errors['split']} split)", show_edge=False)
    for column in ("#", "true", "predicted", "confidence", "input"):
        table.add_column(column, justify="right" if column in ("#", "confidence") else "left",
                         overflow="fold" if column == "input" else None)
    for mistake in errors["mistakes"]:
        table.add_row(str(mistake["index"]), mistake["true"], mistake["predicted"], f"{mistake['confidence']:.3f}",
                      _shown_input(mistake["input"], run))
    return table


def print_errors(run: Path, metrics: dict, out: Console) -> bool:
    """Print one run's error tables; False when the run has none (not a single-output classifier)."""
    shown = False
    out.print(f"[bold]{run}[/]")
    if metrics.get("confusion_matrix"):
        out.print(confusion_table(metrics["confusion_matrix"]))
        shown = True
    if metrics.get("thresholds"):
        out.print(threshold_table(metrics["thresholds"]))
        shown = True
    try:
        errors = json.loads((Path(run) / ERRORS).read_text())
    except (OSError, ValueError):
        errors = None
    if errors and errors.get("mistakes"):
        out.print(mistakes_table(errors, Path(run)))
        shown = True
    if not shown:
        out.print("  no error analysis: it is recorded for single-output classifiers with a test or validation "
                  "split", markup=False)
    return shown
