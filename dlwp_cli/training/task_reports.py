"""A task's own reports after training (``task.reports``): ``_target_`` callables
``(model, data, splits, cfg, run_dir, **arguments) -> dict`` that write files into the run folder (e.g. a
segmentation task's predicted masks) and return entries for metrics.json."""

from __future__ import annotations

import inspect
from pathlib import Path

from omegaconf import DictConfig

from dlwp_cli.config.plugins import arguments, import_target, target_of
from dlwp_cli.errors import ConfigError


def run_task_reports(model, data, splits, cfg: DictConfig, run_dir: Path) -> dict:
    """Call every report the task names, in order, with the node's other keys as arguments; their dicts merged
    (a later report's key wins)."""
    found: dict = {}
    for i, spec in enumerate(cfg.task.get("reports") or []):
        where = f"task.reports.{i}"
        report = import_target(target_of(spec, where), where)
        given = (model, data, splits, cfg, Path(run_dir))
        try:
            inspect.signature(report).bind(*given, **arguments(spec))
        except TypeError as err:
            raise ConfigError(f"{where}: {spec._target_} cannot be called as a report (model, data, splits, cfg, "
                              f"run_dir, **arguments) with the arguments {arguments(spec)}: {err}.") from None
        found.update(report(*given, **arguments(spec)) or {})
    return found
