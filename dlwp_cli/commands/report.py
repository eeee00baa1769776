"""``dlwp report [RUN_DIR...]``: finished runs against the book's figures, as a table, CSV or Markdown."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

from rich.console import Console
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
    values.update({f"chance.{k}": v for k, v in metrics.get("baselines", {}).items()})
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
                    "book": "" if check.get("book") is None else f"{check['book']:.4g}",
                    "measured": "" if check["measured"] is None else f"{check['measured']:.4g}",
                    "delta": "" if check["delta"] is None else f"{check['delta']:+.4g}",
                    "in band": {True: "yes", False: "no", None: ""}[check.get("in_band")],
                })
            table.append(row)
    return table


SUMMARY_COLUMNS = ("experiment", "book metric", "book", "runs", "mean", "std", "median", "median in band")


def summary_rows(runs: list[Path]) -> list[dict]:
    """One row per experiment and book metric, over all its runs (e.g. several seeds)."""
    groups: dict[tuple[str, str], dict] = {}
    for run in runs:
        metrics = read_metrics(run) or {}
        for check in metrics.get("targets") or []:
            key = (metrics.get("experiment") or metrics.get("name", ""), check["metric"])
            group = groups.setdefault(key, {"check": check, "values": []})
            if check["measured"] is not None:
                group["values"].append(check["measured"])
    table = []
    for (experiment, metric), group in groups.items():
        values, check = group["values"], group["check"]
        mean = statistics.fmean(values) if values else None
        median = statistics.median(values) if values else None
        band = check.get("band")
        table.append({
            "experiment": experiment, "book metric": metric, "runs": str(len(values)),
            "book": "" if check.get("book") is None else f"{check['book']:.4g}",
            "mean": "" if mean is None else f"{mean:.4g}",
            "std": f"{statistics.pstdev(values):.2g}" if len(values) > 1 else "",
            "median": "" if median is None else f"{median:.4g}",
            "median in band": "" if median is None or not band else ("yes" if band[0] <= median <= band[1] else "no"),
        })
    return table


def to_csv(table: list[dict], columns=COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_markdown(table: list[dict], columns=COLUMNS) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]).replace("|", "\\|") for c in columns) + " |" for row in table]
    return "\n".join(lines) + "\n"


def run_labels(runs: list[Path]) -> dict[Path, str]:
    """A short label per run: its experiment (or name), plus the command-line overrides that differ
    between the runs (e.g. ``model.dropout=0.5`` in a sweep)."""
    overrides = {run: _overrides(run) for run in runs}
    shared = set.intersection(*(set(o) for o in overrides.values())) if overrides else set()
    labels = {}
    for run in runs:
        metrics = read_metrics(run) or {}
        base = metrics.get("experiment") or metrics.get("name") or run.name
        varying = [o for o in overrides[run] if o not in shared and not o.startswith("hydra.")]
        labels[run] = " ".join([base, *varying])
    duplicates = [label for label in labels.values() if list(labels.values()).count(label) > 1]
    return {run: f"{label} ({run.name})" if label in duplicates else label for run, label in labels.items()}


def _overrides(run: Path) -> list[str]:
    path = run / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    return [line[2:].strip() for line in path.read_text().splitlines() if line.startswith("- ")]


def plot_metric(runs: list[Path], metric: str, path: Path) -> Path:
    """Overlay ``history[metric]`` of the runs in one PNG."""
    from dlwp_cli.plots import plot_comparison

    labels = run_labels(runs)
    curves = {}
    for run in runs:
        curve = (read_metrics(run) or {}).get("history", {}).get(metric)
        if curve:
            curves[labels[run]] = curve
    if not curves:
        known = sorted({k for run in runs for k in (read_metrics(run) or {}).get("history", {})})
        raise ConfigError(f"No run has a '{metric}' curve. Curves these runs have: {', '.join(known) or 'none'}.")
    return plot_comparison(curves, metric, path)


def report_command(paths: list[str], fmt: str = "table", output: str | None = None, summary: bool = False,
                   plot: str | None = None, plot_file: str | None = None) -> int:
    runs = find_runs(paths or ["outputs"])
    if plot:
        target = Path(plot_file or f"compare_{plot}.png")
        plot_metric(runs, plot, target)
        console.print(f"{plot} of {len(runs)} runs: {target}")
    table, columns = (summary_rows(runs), SUMMARY_COLUMNS) if summary else (rows(runs), COLUMNS)
    if not table:
        console.print(f"No finished runs (no {METRICS}) under: {', '.join(paths)}")
        return 0
    text = to_csv(table, columns) if fmt == "csv" else to_markdown(table, columns) if fmt == "markdown" else None
    if text is None:
        rich_table = Table(show_edge=False)
        for column in columns:
            rich_table.add_column(column, overflow="fold")
        for row in table:
            rich_table.add_row(*(row[c] for c in columns))
        # Piped output has no terminal width to respect: keep each run on one line.
        (console if console.is_terminal else Console(width=240, highlight=False)).print(rich_table)
    else:
        console.print(text, end="", markup=False, soft_wrap=True)
    if output:
        write_atomic(Path(output), text or to_markdown(table, columns))
    return 0
