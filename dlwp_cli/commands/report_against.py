"""``dlwp report --plot METRIC --against KEY``: a metric's final value against a swept config key's values.

Each run is a point; a line joins the mean at each value of the key (the rows of ``--group-by KEY``), with a
band of ± one standard deviation where several runs (seeds) share a value. The x-axis is logarithmic when
the values are numbers spanning more than two decades, categorical when they are not numbers.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from pathlib import Path

from dlwp_cli.commands import report_groups
from dlwp_cli.errors import ConfigError


@dataclasses.dataclass
class AgainstPlot:
    """What the picture shows: one point per run and one mean ± std per value of the key."""

    metric: str
    key: str
    points: list[tuple[object, float, Path]]          # (the key's value, the metric, the run folder)
    means: list[tuple[object, float, float | None, int]]  # (value, mean, std or None, runs), in axis order
    categorical: bool
    log_x: bool
    left_out: int = 0                                  # runs without the key or the metric


def against_data(runs, metric: str, key: str) -> AgainstPlot:
    """The points and means of ``metric`` (see :func:`report_groups.final_value`) against ``key``. A metric no
    run has, a key no run has, or a key with one value among the runs that have the metric is a ConfigError."""
    values = report_groups.values_of(runs, key, "--against")
    finals = [report_groups.final_value(run.metrics, metric) for run in runs]
    if all(final is None for final in finals):
        known = report_groups.available_metrics(runs)
        raise ConfigError(f"--plot {metric}: no run has the metric '{metric}'. These runs have: "
                          f"{', '.join(known) or 'no metrics'}. A history curve (val_loss) plots its best epoch's "
                          f"value; min.NAME, max.NAME and history.NAME.-1 (the last epoch) choose otherwise.")
    points = [(value, final, run.path) for run, value, final in zip(runs, values, finals)
              if value is not report_groups.MISSING and final is not None]
    if not points:
        raise ConfigError(f"--plot {metric} --against {key}: no run has both '{metric}' and '{key}'.")
    distinct: dict[str, object] = {}
    for value, _, _ in points:
        distinct.setdefault(report_groups.shown(value), value)
    if len(distinct) < 2:
        raise report_groups.not_varying(runs, key, [v for v, _, _ in points], "--against")
    ordered = sorted(distinct.values(), key=report_groups.value_order)
    categorical = not all(report_groups.is_number(v) for v in ordered)
    log_x = not categorical and min(ordered) > 0 and max(ordered) / min(ordered) > 100
    means = []
    for value in ordered:
        numbers = [y for v, y, _ in points if report_groups.shown(v) == report_groups.shown(value)]
        mean, std = report_groups.mean_std(numbers)
        means.append((value, mean, std, len(numbers)))
    return AgainstPlot(metric, key, points, means, categorical, log_x, left_out=len(runs) - len(points))


def file_name(metric: str, key: str) -> str:
    """``compare_METRIC_vs_KEY.png``, with characters a file name should not hold replaced by ``_``."""
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text)

    return f"compare_{safe(metric)}_vs_{safe(key)}.png"


def plot_against(data: AgainstPlot, path: Path) -> Path:
    """Draw :class:`AgainstPlot` into a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [report_groups.shown(value) for value, *_ in data.means]
    position = {label: i for i, label in enumerate(labels)}

    def x_of(value):
        return position[report_groups.shown(value)] if data.categorical else value

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([x_of(v) for v, _, _ in data.points], [y for _, y, _ in data.points], s=22, alpha=0.6,
               color="tab:blue", label=f"runs ({len(data.points)})", zorder=3)
    xs = [x_of(value) for value, *_ in data.means]
    means = [mean for _, mean, _, _ in data.means]
    stds = [std or 0.0 for _, _, std, _ in data.means]
    ax.plot(xs, means, "-", color="tab:orange", label="mean", zorder=2)
    if any(stds):
        ax.fill_between(xs, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)],
                        color="tab:orange", alpha=0.2, label="± std over each value's runs", zorder=1)
    if data.categorical:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30 if max(map(len, labels)) > 8 else 0, ha="right" if
                           max(map(len, labels)) > 8 else "center")
    elif data.log_x:
        ax.set_xscale("log")
    ax.set_xlabel(data.key)
    ax.set_ylabel(data.metric)
    ax.set_title(f"{data.metric} against {data.key}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:  # written aside and renamed, so a reader never sees half a picture
        fig.savefig(tmp, dpi=100, format="png")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
    return path
