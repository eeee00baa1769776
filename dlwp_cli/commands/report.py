"""``dlwp report [RUN_DIR...]``: finished runs against the book's figures, as a table, CSV or Markdown."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rich.table import Table

from dlwp_cli.console import console
from dlwp_cli.errors import ConfigError
from dlwp_cli.run_folder import METRICS, read_metrics, write_atomic

COLUMNS = ("run", "experiment", "key metrics", "book metric", "book", "measured", "delta", "in band")


def find_runs(paths: list[str]) -> list[Path]:
    """Run folders (those holding metrics.json) under the given paths, oldest first."""
    runs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ConfigError(f"'{raw}' does not exist. Give run folders or a folder that contains them (default: outputs).")
        found = [path] if (path / METRICS).is_file() else [p.parent for p in path.rglob(METRICS)]
        runs.extend(sorted(found, key=lambda p: (p / METRICS).stat().st_mtime))
    return runs


def _key_metrics(metrics: dict) -> str:
    values = {f"test.{k}": v for k, v in metrics.get("test", {}).items()}
    values.update({f"cv.{k}": v for k, v in metrics.get("cv", {}).get("mean", {}).items()})
    if not values and metrics.get("best_epoch"):
        values["best_epoch"] = metrics["best_epoch"]
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items())


def rows(runs: list[Path]) -> list[dict]:
    """One row per book target of each run (one row for runs without targets)."""
    table = []
    for run in runs:
        metrics = read_metrics(run)
        if metrics is None:
            continue
        base = {"run": str(run), "experiment": metrics.get("experiment") or metrics.get("name", ""),
                "key metrics": _key_metrics(metrics)}
        checks = metrics.get("targets") or [None]
        for check in checks:
            row = dict(base, **{c: "" for c in COLUMNS[3:]})
            if check:
                row.update({
                    "book metric": check["metric"],
                    "book": f"{check['book']:.4g}",
                    "measured": "" if check["measured"] is None else f"{check['measured']:.4g}",
                    "delta": "" if check["delta"] is None else f"{check['delta']:+.4g}",
                    "in band": {True: "yes", False: "no", None: ""}[check.get("in_band")],
                })
            table.append(row)
    return table


def to_csv(table: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_markdown(table: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]).replace("|", "\\|") for c in COLUMNS) + " |" for row in table]
    return "\n".join(lines) + "\n"


def report_command(paths: list[str], fmt: str = "table", output: str | None = None) -> int:
    table = rows(find_runs(paths or ["outputs"]))
    if not table:
        console.print(f"No finished runs (no {METRICS}) under: {', '.join(paths)}")
        return 0
    text = to_csv(table) if fmt == "csv" else to_markdown(table) if fmt == "markdown" else None
    if text is None:
        rich_table = Table(show_edge=False)
        for column in COLUMNS:
            rich_table.add_column(column, overflow="fold")
        for row in table:
            rich_table.add_row(*(row[c] for c in COLUMNS))
        console.print(rich_table)
    else:
        console.print(text, end="", markup=False, soft_wrap=True)
    if output:
        write_atomic(Path(output), text or to_markdown(table))
    return 0
