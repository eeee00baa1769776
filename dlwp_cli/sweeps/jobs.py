"""What one job of a sweep does besides training: its objective in metrics.json, a failure its sweeper counts,
continuing from the job's own saved config when the sweep is resumed, letting go of its folder when done, and a
console that suits its launcher.

Imported by :mod:`dlwp_cli.app` in every process that runs jobs (a launcher's workers too), which also registers
the ``dlwp_add`` resolver that numbers a resumed Optuna sweep's new job folders after the existing ones.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hydra.errors import CompactHydraException
from omegaconf import DictConfig, OmegaConf

from dlwp_cli import run_folder
from dlwp_cli.errors import DlwpError
from dlwp_cli.sweeps.objective import measure
from dlwp_cli.sweeps.record import RESUMING

if not OmegaConf.has_resolver("dlwp_add"):
    OmegaConf.register_new_resolver("dlwp_add", lambda a, b: int(a) + int(b))


class JobFailed(DlwpError, CompactHydraException):
    """A sweep job that failed, raised to an objective-driven sweeper so it counts against its
    ``max_failure_rate`` (Hydra prints the message alone)."""

    title = "job failed"


class _NoRetracingNotice(logging.Filter):
    """TensorFlow's notice that a function was traced again: expected when one process builds a model per job."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_retracing() -> None:
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingNotice) for f in logger.filters):
        logger.addFilter(_NoRetracingNotice())


def release(run_dir: Path) -> None:
    """Let go of a finished sweep job's folder lock (see :func:`dlwp_cli.run_folder.release`)."""
    run_folder.release(run_dir)


def plain_console(launcher: dict) -> None:
    """No live progress bar in a job that shares its terminal with other jobs (a joblib worker) or writes to a
    file (submitit): the epoch lines and tables stay, each job's full output is in its own dlwp.log."""
    if launcher.get("launcher") not in (None, "basic"):
        from dlwp_cli import console

        console.console.is_interactive = False


def objective_driven(hydra_cfg: DictConfig) -> bool:
    """Whether the sweeper reads the jobs' return values (anything but Hydra's basic sweeper)."""
    from dlwp_cli.sweeps.plan import BASIC

    return str(hydra_cfg.sweeper.get("_target_", BASIC)) != BASIC


def resuming() -> bool:
    return bool(os.environ.get(RESUMING))


def saved_config(run_dir: Path) -> DictConfig | None:
    """When a sweep is resumed: the config a job started with (its config.yaml), if it started and did not
    complete; the job then continues from its epoch backups, as ``dlwp run resume=RUN_DIR`` does."""
    if not resuming():
        return None
    path = Path(run_dir) / run_folder.CONFIG
    if not path.is_file() or run_folder.status(run_dir) == run_folder.COMPLETED:
        return None
    return OmegaConf.load(path)


def value(metrics: dict, objective) -> float | None:
    """The objective's value for a run, or None when it did not log the metric."""
    try:
        return float(measure(metrics, objective)["value"])
    except DlwpError:
        return None


def record(run_dir: Path, metrics: dict, objective, launcher: dict, required: bool) -> float | None:
    """Add ``objective`` ({metric, direction, value, epoch}) and ``launcher`` (how the job ran: its launcher,
    TensorFlow's threads) to the completed job's metrics.json; the objective's value. A trainer that wrote its
    own objective (``dlwp tune``) keeps it. Without the metric: JobFailed when the sweeper needs it, else None."""
    found = metrics.get("objective")
    if not isinstance(found, dict) or "value" not in found:
        try:
            found = measure(metrics, objective)
        except DlwpError as err:
            if required:
                raise JobFailed(f"{run_dir}: {err}") from None
            found = None
    if found is not None:
        metrics["objective"] = found
    if launcher:
        metrics["launcher"] = launcher
    if found is not None or launcher:
        run_folder.write_json(Path(run_dir) / run_folder.METRICS, metrics)
    return None if found is None else float(found["value"])
