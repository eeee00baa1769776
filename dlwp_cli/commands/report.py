"""``dlwp report [RUN_DIR...]``: finished runs against the book's figures, as a table, CSV or Markdown.

Each run folder is read once: ``metrics.json`` (a file that is not JSON, or JSON of the wrong shape, is
skipped with one warning line naming it), ``.hydra/overrides.yaml`` (the overrides that differ between the
runs become columns of their own) and ``config.yaml`` (whether the run used synthetic data, which is never
compared with the book).

Three views: one row per run and book figure (the default); ``--summary``, one row per group of runs that
differ only by seed, with mean ± std (:mod:`report_groups`); ``--group-by KEY``, one row per value of a config
key. ``--plot METRIC`` overlays per-epoch curves, ``--plot METRIC --against KEY`` plots a final value against a
swept key (:mod:`report_against`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import statistics
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlwp_cli import console as dlwp_console
from dlwp_cli.commands import report_groups
from dlwp_cli.console import console
from dlwp_cli.errors import ConfigError
from dlwp_cli.run_folder import METRICS, write_atomic

COLUMNS = ("run", "experiment", "key metrics", "book metric", "book", "measured", "delta", "in band")
SYNTHETIC = "n/a (synthetic)"
# Below this terminal width the table drops columns a reader can do without (see print_table).
WIDE = 200


# -- reading run folders ----------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One finished run folder, read."""

    path: Path
    metrics: dict
    overrides: list[str]
    synthetic: bool

    @property
    def experiment(self) -> str:
        return self.metrics.get("experiment") or self.metrics.get("name") or ""


def find_runs(paths: list[str]) -> list[Path]:
    """Run folders (those holding metrics.json) under the given paths, oldest first."""
    runs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ConfigError(f"'{raw}' does not exist. Give run folders or a folder that contains them (default: outputs).")
        found = [path] if (path / METRICS).is_file() else [p.parent for p in path.rglob(METRICS) if p.is_file()]
        runs.extend(sorted(found, key=lambda p: (p / METRICS).stat().st_mtime))
    return runs


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(node, where: str) -> str | None:
    """None when ``node`` is a dict of numbers (or nulls), else what is wrong with it."""
    if not isinstance(node, dict):
        return f"'{where}' is not an object"
    for key, value in node.items():
        if value is not None and not _is_number(value):
            return f"'{where}.{key}' is not a number"
    return None


def _baseline_problem(baselines) -> str | None:
    """None when ``baselines`` holds numbers (chance levels) or dicts of numbers by split (the naive forecast's
    MAE), else what is wrong with it."""
    if not isinstance(baselines, dict):
        return "'baselines' is not an object"
    for name, value in baselines.items():
        problem = _numbers(value, f"baselines.{name}") if isinstance(value, dict) else \
            (None if value is None or _is_number(value) else f"'baselines.{name}' is not a number")
        if problem:
            return problem
    return None


def shape_problem(metrics) -> str | None:
    """None when ``metrics`` has the shape dlwp writes (as far as report reads it), else the first problem."""
    if not isinstance(metrics, dict):
        return f"expected a JSON object, got {type(metrics).__name__}"
    for key in ("experiment", "name"):
        if metrics.get(key) is not None and not isinstance(metrics[key], str):
            return f"'{key}' is not a string"
    if "test" in metrics and (problem := _numbers(metrics["test"], "test")):
        return problem
    if "baselines" in metrics and (problem := _baseline_problem(metrics["baselines"])):
        return problem
    if "cv" in metrics:
        if not isinstance(metrics["cv"], dict):
            return "'cv' is not an object"
        if "mean" in metrics["cv"] and (problem := _numbers(metrics["cv"]["mean"], "cv.mean")):
            return problem
    if "history" in metrics:
        history = metrics["history"]
        if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
            return "'history' is not an object of per-epoch lists"
        if not all(_is_number(x) for curve in history.values() for x in curve if x is not None):
            return "'history' holds values that are not numbers"
    if metrics.get("best_epoch") is not None and not _is_number(metrics["best_epoch"]):
        return "'best_epoch' is not a number"
    targets = metrics.get("targets")
    if targets is not None:
        if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
            return "'targets' is not a list of objects"
        for target in targets:
            if not isinstance(target.get("metric"), str):
                return "a target has no 'metric' name"
            for key in ("book", "measured", "delta"):
                if target.get(key) is not None and not _is_number(target[key]):
                    return f"target '{target['metric']}': '{key}' is not a number"
            band = target.get("band")
            if band is not None and not (isinstance(band, list) and len(band) == 2 and all(map(_is_number, band))):
                return f"target '{target['metric']}': 'band' is not [low, high]"
    data = metrics.get("data")
    if data is not None and not isinstance(data, dict):
        return "'data' is not an object"
    return None


def warn(message: str) -> None:
    """One warning line on stderr."""
    dlwp_console.errors.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def load_metrics(run: Path, warn_bad: bool = True) -> dict | None:
    """The run's metrics.json, or None (with one warning line naming the file) when it cannot be read, is not
    JSON (a truncated file, for instance) or has the wrong shape."""
    path = Path(run) / METRICS
    try:
        metrics = json.loads(path.read_text())
    except OSError as err:
        problem = f"cannot read it ({err.strerror or err})"
    except ValueError as err:
        problem = f"not valid JSON ({err})"
    else:
        problem = shape_problem(metrics)
        if problem is None:
            return metrics
    if warn_bad:
        warn(f"skipping {path}: {problem}")
    return None


def recorded_overrides(run: Path) -> list[str]:
    """The overrides Hydra recorded in ``.hydra/overrides.yaml`` (a YAML list), or [] when there are none."""
    import yaml

    path = Path(run) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [str(o) for o in loaded if isinstance(o, (str, int, float))] if isinstance(loaded, list) else []


def _config_source(run: Path) -> str | None:
    config = report_groups.load_config(run)
    return config.get("source") if config is not None else None


def is_synthetic(metrics: dict, run: Path | None = None) -> bool:
    """Whether a run trained on synthetic data (``source=synthetic``, smoke runs): by metrics.json's
    ``data.source``, a target marked so, or the run's config.yaml."""
    if (metrics.get("data") or {}).get("source") == "synthetic":
        return True
    if any(t.get("comparison") == SYNTHETIC for t in metrics.get("targets") or []):
        return True
    return run is not None and _config_source(run) == "synthetic"


def load_runs(runs, warn_bad: bool = True) -> list[Run]:
    """Read each run folder once; bad metrics.json files are skipped (with a warning)."""
    loaded = []
    for run in runs:
        if isinstance(run, Run):
            loaded.append(run)
            continue
        metrics = load_metrics(run, warn_bad)
        if metrics is not None:
            loaded.append(Run(Path(run), metrics, recorded_overrides(run), is_synthetic(metrics, run)))
    return loaded


# -- overrides that differ between runs ---------------------------------------------------------------


def _split_override(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def swept_keys(runs: list[Run]) -> list[str]:
    """The override keys whose values differ between the runs (a sweep's axes), in command-line order;
    Hydra's own keys (``hydra.*``) excepted."""
    if len(runs) < 2:
        return []
    values: dict[str, list] = {}
    for run in runs:
        given = dict(_split_override(o) for o in run.overrides)
        for key in given:
            values.setdefault(key, [])
    for run in runs:
        given = dict(_split_override(o) for o in run.overrides)
        for key in values:
            values[key].append(given.get(key))
    return [key for key, seen in values.items()
            if not key.startswith("hydra.") and key != "hydra" and len(set(seen)) > 1]


def run_names(runs: list[Run]) -> dict[Path, str]:
    """A short name per run: its folder relative to the folder all the runs share."""
    if not runs:
        return {}
    paths = [run.path.resolve() for run in runs]
    common = Path(os.path.commonpath(paths))
    if any(p == common for p in paths):
        common = common.parent
    return {run.path: p.relative_to(common).as_posix() for run, p in zip(runs, paths)}


def common_folder(runs: list[Run]) -> Path:
    """The run folder itself for one run, else the folder all runs share."""
    paths = [run.path.resolve() for run in runs]
    return Path(os.path.commonpath(paths)) if paths else Path.cwd()


# -- the table -----------------------------------------------------------------------------------------


def _key_metrics(metrics: dict) -> str:
    state = metrics.get("status", "completed")
    if state != "completed":  # a run that is running, was interrupted or failed has no results yet
        return f"({state}{': ' + str(metrics['error']) if metrics.get('error') else ''})"
    values = {f"test.{k}": v for k, v in metrics.get("test", {}).items()}
    values.update({f"cv.{k}": v for k, v in metrics.get("cv", {}).get("mean", {}).items()})
    if not values and metrics.get("best_epoch"):
        values["best_epoch"] = metrics["best_epoch"]
    if not values:  # nothing scored (a generative run): its final losses
        values.update({f"final.{k}": curve[-1] for k, curve in metrics.get("history", {}).items() if curve})
    for name, value in metrics.get("baselines", {}).items():
        if isinstance(value, dict):  # a baseline scored per split, next to the model: naive.test=2.62
            values.update({f"{name}.{split}": v for split, v in value.items()})
        else:
            values[f"chance.{name}"] = value
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items() if _is_number(v))


def rows(runs) -> list[dict]:
    """One row per book target of each run (one row for runs without targets). Each row has the
    :data:`COLUMNS` and one column per swept override key (see :func:`swept_keys`)."""
    loaded = load_runs(runs)
    names = run_names(loaded)
    swept = swept_keys(loaded)
    table = []
    for run in loaded:
        given = dict(_split_override(o) for o in run.overrides)
        base = {"run": names[run.path], "experiment": run.experiment, "key metrics": _key_metrics(run.metrics),
                **{key: given.get(key, "") for key in swept}}
        for check in run.metrics.get("targets") or [None]:
            row = dict(base, **{c: "" for c in COLUMNS[3:]})
            if check:
                row.update({
                    "book metric": check["metric"],
                    "book": "" if check.get("book") is None else f"{check['book']:.4g}",
                    "measured": "" if check.get("measured") is None else f"{check['measured']:.4g}",
                    "delta": "" if check.get("delta") is None or run.synthetic else f"{check['delta']:+.4g}",
                    "in band": SYNTHETIC if run.synthetic else (check.get("comparison")
                                                                 or {True: "yes", False: "no"}.get(check.get("in_band"), "")),
                })
            elif run.synthetic:
                row["in band"] = SYNTHETIC
            table.append(row)
    return table


def columns_of(table: list[dict]) -> tuple[str, ...]:
    """:data:`COLUMNS` with the swept override columns after ``key metrics`` (the first three columns stay
    put for scripts that read the CSV)."""
    swept = [c for c in (table[0] if table else {}) if c not in COLUMNS]
    return (*COLUMNS[:3], *swept, *COLUMNS[3:])


SUMMARY_COLUMNS = ("experiment", "runs", "seeds", "key metrics", "book metric", "book", "mean", "std", "median",
                   "median in band")


def summary_rows(runs) -> list[dict]:
    """One row per group of runs that differ only by seed (see :func:`report_groups.seed_groups`) and book
    metric; one row for a group without book metrics. ``key metrics`` holds each number's mean ± std over the
    group (sample standard deviation), ``mean``, ``std`` and ``median`` the book metric's. Runs on synthetic
    data are counted apart and never in or out of the band. The overrides that differ between the groups are
    columns of their own."""
    loaded = load_runs(runs)
    groups = report_groups.seed_groups(loaded)
    swept = [k for k in swept_keys([group[0] for group in groups]) if not report_groups.ignored_key(k)]
    table = []
    for group in groups:
        first = group[0]
        given = dict(_split_override(o) for o in first.overrides)
        done = [run for run in group if report_groups.completed(run)]
        real = [run for run in done if not run.synthetic]
        seeds = sorted({s for s in map(report_groups.seed_of, group) if s is not None})
        base = {"experiment": first.experiment, **{key: given.get(key, "") for key in swept},
                "runs": _runs_text(len(real), len(done) - len(real), len(group) - len(done)),
                "seeds": ", ".join(map(str, seeds)), "key metrics": _group_metrics(done)}
        for check in first.metrics.get("targets") or [None]:
            row = dict(base, **{c: "" for c in SUMMARY_COLUMNS[4:]})
            if check:
                row.update(_book_summary(check, group))
            elif done and not real:
                row["median in band"] = SYNTHETIC
            table.append(row)
    return table


def _runs_text(real: int, synthetic: int, unfinished: int) -> str:
    text = f"{synthetic} synthetic" if synthetic and not real else \
        str(real) + (f" (+{synthetic} synthetic)" if synthetic else "")
    return text + (f" (+{unfinished} not completed)" if unfinished else "")


def _group_metrics(runs: list[Run]) -> str:
    """Each number of the runs as ``name=mean ± std`` (see :func:`report_groups.metric_names`)."""
    names = dict.fromkeys(n for run in runs for n in report_groups.metric_names(run.metrics))
    parts = []
    for name in names:
        values = [v for run in runs if (v := report_groups.final_value(run.metrics, name)) is not None]
        if values:
            parts.append(f"{name}={report_groups.mean_std_text(values, len(runs))}")
    return ", ".join(parts)


def _book_summary(check: dict, group: list[Run]) -> dict:
    """A book metric over a group: its runs' measured values' mean, std and median, and whether the median
    is in the book's band."""
    values, synthetic = [], 0
    for run in group:
        measured = next((t.get("measured") for t in run.metrics.get("targets") or []
                         if t.get("metric") == check["metric"]), None)
        if run.synthetic:
            synthetic += 1
        elif _is_number(measured):
            values.append(measured)
    mean, std = report_groups.mean_std(values) if values else (None, None)
    median = statistics.median(values) if values else None
    band = check.get("band")
    if median is None:
        in_band = SYNTHETIC if synthetic else ""
    else:
        in_band = "" if not band else ("yes" if band[0] <= median <= band[1] else "no")
    return {"book metric": check["metric"], "book": "" if check.get("book") is None else f"{check['book']:.4g}",
            "mean": "" if mean is None else f"{mean:.4g}", "std": "" if std is None else f"{std:.2g}",
            "median": "" if median is None else f"{median:.4g}", "median in band": in_band}


def summary_columns(table: list[dict]) -> tuple[str, ...]:
    """:data:`SUMMARY_COLUMNS` with the overrides that differ between the groups after ``experiment``."""
    swept = [c for c in (table[0] if table else {}) if c not in SUMMARY_COLUMNS]
    return (SUMMARY_COLUMNS[0], *swept, *SUMMARY_COLUMNS[1:])


def group_rows(runs, key: str, extra_metrics: tuple[str, ...] = ()) -> tuple[list[dict], tuple[str, ...]]:
    """One row per value of the config key ``key`` (``--group-by``): how many runs have it, and each number's
    mean ± std over them (sample standard deviation); also the numbers ``extra_metrics`` name. Runs without
    the key are left out (one warning); values are in ascending order, numbers first. Returns the rows and
    their columns."""
    loaded = load_runs(runs)
    values = report_groups.values_of(loaded, key, "--group-by")
    missing = sum(value is report_groups.MISSING for value in values)
    if missing:
        warn(f"--group-by {key}: left out {missing} of {len(loaded)} runs that have no '{key}'")
    groups: dict[str, tuple[object, list[Run]]] = {}
    for run, value in zip(loaded, values):
        if value is not report_groups.MISSING:
            groups.setdefault(report_groups.shown(value), (value, []))[1].append(run)
    ordered = sorted(groups.values(), key=lambda item: report_groups.value_order(item[0]))
    names = list(dict.fromkeys([*(n for run in loaded for n in report_groups.metric_names(run.metrics)),
                                *extra_metrics]))
    table = []
    for value, members in ordered:
        done = [run for run in members if report_groups.completed(run)]
        row = {key: report_groups.shown(value), "runs": _runs_text(len(done), 0, len(members) - len(done))}
        for name in names:
            numbers = [v for run in done if (v := report_groups.final_value(run.metrics, name)) is not None]
            row[name] = report_groups.mean_std_text(numbers, len(done))
        table.append(row)
    names = [n for n in names if any(row[n] for row in table)]
    return table, (key, "runs", *names)


def to_csv(table: list[dict], columns=None) -> str:
    columns = columns or columns_of(table)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_markdown(table: list[dict], columns=None) -> str:
    columns = columns or columns_of(table)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")).replace("|", "\\|") for c in columns) + " |" for row in table]
    return "\n".join(lines) + "\n"


def _short_keys(keys: list[str]) -> dict[str, str]:
    """The shortest dotted suffix of each key that no other key ends with (``optimizer.learning_rate`` ->
    ``learning_rate``)."""
    short = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if not any(other != key and (other == suffix or other.endswith("." + suffix)) for other in keys):
                break
        short[key] = suffix
    return short


def _short_run(name: str, experiment: str) -> str:
    """A sweep job's folder without the ``_<name>`` Hydra appends (``3_ch04/imdb_dense_final`` -> ``3``)."""
    suffix = f"_{experiment}"
    return name[: -len(suffix)] if experiment and name.endswith(suffix) and len(name) > len(suffix) else name


# Under WIDE columns, dropped in this order while the table does not fit (the run and its swept values never).
DROP_ORDER = ("delta", "book", "experiment", "key metrics", "std", "mean", "book metric")
# The same for --summary, whose rows the experiment names.
SUMMARY_DROP_ORDER = ("seeds", "book", "std", "mean", "key metrics", "book metric")
WRAPPING = {"key metrics": 16, "experiment": 12, "book metric": 8, "in band": 11, "seeds": 5, "runs": 6}


def print_table(table: list[dict], columns, out: Console, swept: list[str] | None = None) -> None:
    """The rich table, fitted to ``out``'s width. Under :data:`WIDE` columns: the run and its swept values
    come first and never wrap (a sweep job's folder loses the ``_<experiment>`` suffix Hydra adds, swept keys
    their common prefix); an experiment shared by every row becomes the title; columns empty in every row
    are left out; ``delta`` (measured minus book), then the least useful other columns (:data:`DROP_ORDER`,
    :data:`SUMMARY_DROP_ORDER`) are dropped until the table fits, and a caption names them. ``swept`` names
    the config-key columns (default: every column not in :data:`COLUMNS` or :data:`SUMMARY_COLUMNS`)."""
    columns = list(columns)
    headers = {c: c for c in columns}
    cells = [{c: str(row.get(c, "")) for c in columns} for row in table]
    title = caption = None
    if out.width < WIDE:
        if swept is None:
            swept = [c for c in columns if c not in COLUMNS and c not in SUMMARY_COLUMNS]
        swept = [c for c in swept if c in columns]
        headers.update(_short_keys(swept))
        if "experiment" in columns and len({c["experiment"] for c in cells}) == 1:
            title = f"experiment: {cells[0]['experiment'] or '-'}"
            columns.remove("experiment")
        if "run" in columns:
            for cell in cells:
                cell["run"] = _short_run(cell["run"], cell.get("experiment", ""))
            columns = ["run", *swept, *(c for c in columns if c != "run" and c not in swept)]
        # Empty in every row, or derivable (delta = measured - book): not worth a narrow terminal's columns.
        columns = [c for c in columns if c != "delta" and (c in ("run", *swept) or any(cell[c] for cell in cells))]
        longest = {c: max(len(headers[c]), *(len(cell[c]) for cell in cells)) for c in columns}
        min_width = {c: min(WRAPPING.get(c, longest[c]), longest[c]) for c in columns}

        def needed(cols) -> int:
            return sum(min_width[c] for c in cols) + 3 * len(cols) - 3

        dropped = ["delta"] if "delta" in headers and any(cell.get("delta") for cell in cells) else []
        for column in DROP_ORDER if "run" in columns else SUMMARY_DROP_ORDER:
            if needed(columns) <= out.width:
                break
            if column in columns:
                columns.remove(column)
                dropped.append(column)
        if dropped:
            caption = f"not shown at this width: {', '.join(dropped)} (--format markdown or csv has every column)"
        slack = out.width - needed(columns)
        for column in ("book metric", "in band", "experiment", "key metrics"):  # widened in this order
            if column in columns and slack > 0:
                extra = min(slack, longest[column] - min_width[column])
                min_width[column] += extra
                slack -= extra
    rich_table = Table(show_edge=False, title=title, title_justify="left", pad_edge=False, caption=caption,
                       caption_justify="left")
    for column in columns:
        if out.width < WIDE:
            rich_table.add_column(headers[column], overflow="fold", width=min_width[column],
                                  no_wrap=column not in WRAPPING)
        else:
            rich_table.add_column(headers[column], overflow="fold")
    for cell in cells:
        rich_table.add_row(*(cell[c] for c in columns))
    out.print(rich_table)


# -- comparison plots ----------------------------------------------------------------------------------


def run_labels(runs) -> dict[Path, str]:
    """A short label per run: its experiment (or name), plus the command-line overrides that differ
    between the runs (e.g. ``model.dropout=0.5`` in a sweep)."""
    loaded = load_runs(runs)
    swept = swept_keys(loaded)
    labels = {}
    for run in loaded:
        varying = [o for o in run.overrides if _split_override(o)[0] in swept]
        labels[run.path] = " ".join([run.experiment or run.path.name, *varying])
    values = list(labels.values())
    return {path: f"{label} ({path.name})" if values.count(label) > 1 else label for path, label in labels.items()}


def plot_metric(runs, metric: str, path: Path) -> Path:
    """Overlay ``history[metric]`` of the runs in one PNG."""
    from dlwp_cli.plots import plot_comparison

    loaded = load_runs(runs)
    labels = run_labels(loaded)
    curves = {labels[run.path]: run.metrics.get("history", {}).get(metric) for run in loaded}
    curves = {label: curve for label, curve in curves.items() if curve}
    if not curves:
        known = sorted({k for run in loaded for k in run.metrics.get("history", {})})
        raise ConfigError(f"No run has a '{metric}' curve. Curves these runs have: {', '.join(known) or 'none'}.")
    return plot_comparison(curves, metric, path)


def default_plot_file(runs, metric: str, paths: list[str] | None = None) -> Path:
    """Where ``--plot`` writes without ``--plot-file``: next to the runs, never the current directory by
    chance: into the one folder given (a run folder or a folder of runs), else the folder the runs share."""
    if paths and len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0]) / f"compare_{metric}.png"
    return common_folder(load_runs(runs, warn_bad=False)) / f"compare_{metric}.png"


# -- end of a sweep ------------------------------------------------------------------------------------


def job_completed(run_dir: Path) -> bool:
    """A job completed when its folder has a metrics.json whose ``status`` is ``completed``."""
    metrics = load_metrics(run_dir, warn_bad=False)
    return metrics is not None and metrics.get("status") == "completed"


def sweep_jobs(sweep_dirs, job_dirs=(), since: float | None = None) -> list[Path]:
    """The job folders of a sweep: those this process ran, and every folder under the sweep folders where
    Hydra recorded a job's overrides (``.hydra/overrides.yaml``) at or after ``since`` (a time.time()), so
    jobs run by another process (any Hydra launcher) are counted too."""
    jobs: dict[Path, None] = {Path(j).resolve(): None for j in job_dirs}
    for sweep_dir in sweep_dirs:
        sweep_dir = Path(sweep_dir)
        if not sweep_dir.is_dir():
            continue
        for record in sorted(sweep_dir.rglob(".hydra/overrides.yaml")):
            if since is None or record.stat().st_mtime >= since - 1:
                jobs.setdefault(record.parent.parent.resolve(), None)
    return list(jobs)


def sweep_summary(sweep_dirs, job_dirs=(), since: float | None = None, out: Console | None = None) -> list[Path]:
    """Print "N of M jobs failed" (and the failed run folders) or "all M jobs completed"; return the failed
    folders. Prints nothing when no job folder is found."""
    out = out or console
    jobs = sweep_jobs(sweep_dirs, job_dirs, since)
    if not jobs:
        return []
    failed = [job for job in jobs if not job_completed(job)]
    if failed:
        out.print(f"[bold red]{len(failed)} of {len(jobs)} jobs failed:[/]")
        for job in failed:
            out.print(f"  {escape(_shown(job))}", soft_wrap=True)
    else:
        out.print(f"[green]all {len(jobs)} jobs completed[/]")
    return failed


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- the command ---------------------------------------------------------------------------------------


def report_command(paths: list[str], fmt: str = "table", output: str | None = None, summary: bool = False,
                   plot: str | None = None, plot_file: str | None = None, errors: bool = False,
                   group_by: str | None = None, against: str | None = None) -> int:
    """Print the runs' table: one row per run and book figure; with ``summary``, one row per group of runs that
    differ only by seed; with ``group_by``, one row per value of that key. ``plot`` draws a per-epoch curve of
    each run, or with ``against`` the metric's final value against a swept key (and the table is grouped by
    that key)."""
    if against and not plot:
        raise ConfigError(f"--against {against} goes with --plot METRIC: for example "
                          f"dlwp report SWEEP_DIR --plot val_loss --against {against}.")
    if summary and group_by:
        raise ConfigError("--summary and --group-by are two different tables: --summary groups the runs that differ "
                          "only by seed, --group-by KEY groups them by one key's value. Give one of them.")
    where = ", ".join(paths or ["outputs"])
    runs = load_runs(find_runs(paths or ["outputs"]))
    if errors:
        from dlwp_cli.commands.report_errors import print_errors

        if not runs:
            raise ConfigError(f"No finished runs (no readable {METRICS}) under: {where}")
        for run in runs:
            print_errors(run.path, run.metrics, console)
        return 0
    if plot:
        if not runs:
            raise ConfigError(f"No finished runs (no readable {METRICS}) under: {where}")
        if against:
            _plot_against(runs, plot, against, plot_file, paths)
        else:
            target = Path(plot_file) if plot_file else default_plot_file(runs, plot, paths or ["outputs"])
            plot_metric(runs, plot, target)
            console.print(f"{plot} of {len(runs)} runs: {_shown(target.resolve())}", markup=False, soft_wrap=True)
    swept = None
    if not runs:
        table, columns = [], ()
    elif group_by or (against and not summary):
        table, columns = group_rows(runs, group_by or against, extra_metrics=(plot,) if against else ())
        swept = [columns[0]]
    elif summary:
        table = summary_rows(runs)
        columns = summary_columns(table)
    else:
        table = rows(runs)
        columns = columns_of(table)
    if not table:
        console.print(f"No finished runs (no {METRICS}) under: {where}", markup=False)
        return 0
    text = to_csv(table, columns) if fmt == "csv" else to_markdown(table, columns) if fmt == "markdown" else None
    if text is None:
        # Piped output has no terminal width to respect: keep each run on one line.
        print_table(table, columns, console if console.is_terminal else Console(width=240, highlight=False), swept)
        if not (summary or group_by or against):
            _hint_seed_groups(runs)
    else:
        console.print(text, end="", markup=False, soft_wrap=True)
    if output:
        write_atomic(Path(output), text or to_markdown(table, columns))
    for run in runs:
        if run.metrics.get("test_used_for_choices"):
            warn(f"{_shown(run.path)}: its validation split is its test split, and "
                 f"{', '.join(run.metrics['test_used_for_choices'])} chose by it; its test score is optimistic")
    return 0


def _plot_against(runs: list[Run], metric: str, key: str, plot_file: str | None, paths: list[str]) -> Path:
    from dlwp_cli.commands.report_against import against_data, file_name, plot_against

    data = against_data(runs, metric, key)
    if data.left_out:
        warn(f"--plot {metric} --against {key}: left out {data.left_out} of {len(runs)} runs without "
             f"'{key}' or '{metric}'")
    given = paths or ["outputs"]
    if plot_file:
        target = Path(plot_file)
    elif len(given) == 1 and Path(given[0]).is_dir():
        target = Path(given[0]) / file_name(metric, key)
    else:
        target = common_folder(runs) / file_name(metric, key)
    plot_against(data, target)
    console.print(f"{metric} against {key} of {len(data.points)} runs: {_shown(target.resolve())}", markup=False,
                  soft_wrap=True)
    return target


def _hint_seed_groups(runs: list[Run]) -> None:
    """Under the per-run table: how many runs differ only by seed, and how to see them as mean ± std."""
    replicated = [group for group in report_groups.seed_groups(runs) if len(group) > 1]
    if replicated:
        count = sum(map(len, replicated))
        console.print(f"{count} runs differ only by seed ({len(replicated)} group{'s' * (len(replicated) > 1)}): "
                      f"--summary shows each group as one row, mean ± std.", markup=False, style="dim",
                      soft_wrap=True)
