"""``max_failure_rate`` for Hydra's basic sweeper, which has none of its own.

Every job of a basic sweep, before it trains, counts the failed jobs of its sweep from their folders (status
``failed`` since the sweep, or its resume, started: see :mod:`dlwp_cli.sweeps.plan`). Once more than
``max_failure_rate`` of the sweep's jobs have failed, the remaining jobs are not run: each removes the folder
Hydra just made for it, so ``dlwp run -m resume=SWEEP_DIR`` runs it later. Counting on disk works for every
launcher, the parallel and remote ones included. Objective-driven sweepers (Optuna) count failures themselves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dlwp_cli import run_folder
from dlwp_cli.sweeps import plan as sweep_plan


def job_folders(sweep_dir) -> list[Path]:
    """Every job folder of a sweep: where Hydra recorded a job's overrides."""
    sweep_dir = Path(sweep_dir)
    return sorted(record.parent.parent for record in sweep_dir.rglob(".hydra/overrides.yaml")) \
        if sweep_dir.is_dir() else []


def failed_since(sweep_dir, started: float, skip: Path | None = None) -> list[Path]:
    """The job folders whose run failed after ``started`` (a time.time())."""
    failed = []
    for folder in job_folders(sweep_dir):
        metrics = folder / run_folder.METRICS
        if skip is not None and folder.resolve() == Path(skip).resolve():
            continue
        if run_folder.status(folder) == run_folder.FAILED and metrics.stat().st_mtime >= started - 1:
            failed.append(folder)
    return failed


def over_limit(sweep_dir, skip: Path | None = None) -> str | None:
    """Why the sweep stops here (more failed jobs than its ``max_failure_rate`` allows), or None."""
    plan = sweep_plan.read(sweep_dir)
    rate, jobs = plan.get("max_failure_rate", 1.0), plan.get("jobs")
    if not jobs or rate is None or rate >= 1.0:
        return None
    failed = failed_since(sweep_dir, float(plan.get("started", 0.0)), skip)
    if len(failed) / jobs <= rate:
        return None
    return (f"{len(failed)} of {jobs} jobs failed, more than {sweep_plan.FAILURE_RATE}={rate:g} allows: the sweep "
            f"stops. Fix the cause, then run the remaining jobs with `dlwp run -m resume={sweep_dir}`.")


def withdraw(run_dir: Path) -> None:
    """Remove the folder Hydra made for a job that is not run (it holds only Hydra's own record)."""
    shutil.rmtree(run_dir, ignore_errors=True)
