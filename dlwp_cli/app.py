"""The Hydra application behind ``dlwp run``: one call per job, failures reported and counted, never a traceback."""

from __future__ import annotations

import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from dlwp_cli import console, run_folder
from dlwp_cli.errors import DlwpError
from dlwp_cli.sweeps import failures, jobs, threads

# Jobs this process ran (a launcher that runs jobs in other processes leaves these empty; the end-of-sweep
# summary then finds the jobs by their run folders).
FAILED_JOBS: list[str] = []
JOB_DIRS: list[str] = []
SWEEP_DIRS: list[str] = []
STOPPED: list[str] = []  # sweeps whose failure limit this process found exceeded (said once)


def run_job(cfg: DictConfig) -> float | None:
    """Validate and run one job; return its objective (``objective.metric`` on validation data, see
    :mod:`dlwp_cli.sweeps.objective`) so sweepers can optimise it, or None when the run has none."""
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return sweep_job(cfg, run_dir, hydra_cfg)
    JOB_DIRS.append(str(run_dir))
    try:
        run_folder.lock(run_dir)  # held already by `dlwp run` before Hydra started
    except DlwpError as err:
        console.error(err)
        FAILED_JOBS.append(str(run_dir))
        return None
    metrics = execute(cfg, run_dir, dict(hydra_cfg.runtime.choices), " ".join(hydra_cfg.overrides.task))
    return jobs.value(metrics, _objective(cfg)) if metrics is not None else None


def sweep_job(cfg: DictConfig, run_dir: Path, hydra_cfg: DictConfig) -> float | None:
    """One job of a sweep. It steps aside when its sweep already has more failed jobs than it allows, sizes
    TensorFlow's threads for its launcher, continues from its own saved config when the sweep is resumed, and
    records its objective and launcher in metrics.json. Under an objective-driven sweeper (Optuna) a failed job
    raises, so the sweeper counts it against its ``max_failure_rate``; under the basic sweeper it returns None
    and the other jobs go on."""
    sweep_dir = str(hydra_cfg.sweep.dir)
    stop = failures.over_limit(sweep_dir, skip=run_dir)
    if stop is not None:
        failures.withdraw(run_dir)
        if not STOPPED:
            console.errors.print(stop, markup=False, highlight=False, soft_wrap=True)
            STOPPED.append(sweep_dir)
        return None
    JOB_DIRS.append(str(run_dir))
    if sweep_dir not in SWEEP_DIRS:
        SWEEP_DIRS.append(sweep_dir)
    required = jobs.objective_driven(hydra_cfg)
    launcher = threads.limit_threads(hydra_cfg.launcher)
    jobs.plain_console(launcher)
    jobs.quiet_retracing()
    try:
        run_folder.lock(run_dir)
    except DlwpError as err:
        console.error(err)
        FAILED_JOBS.append(str(run_dir))
        return _failed(required, run_dir, err)
    try:
        saved = jobs.saved_config(run_dir)
        if saved is not None:
            done = run_folder.epochs_done(run_dir)
            console.console.print(f"resuming {run_dir} after epoch {done}" if done else f"restarting {run_dir}",
                                  markup=False, highlight=False, soft_wrap=True)
            cfg = saved
        metrics = execute(cfg, run_dir, dict(hydra_cfg.runtime.choices), " ".join(hydra_cfg.overrides.task))
        if metrics is None:
            return _failed(required, run_dir, None)
        launcher["tf_threads"] = threads.recorded_threads()
        try:
            return jobs.record(run_dir, metrics, _objective(cfg), launcher, required)
        except DlwpError as err:
            console.error(err)
            FAILED_JOBS.append(str(run_dir))
            raise
    finally:
        jobs.release(run_dir)  # one process may run many jobs: each lets go of its folder when done


def _objective(cfg: DictConfig):
    return cfg.get("objective") or {"metric": "val_loss", "direction": "min"}


def _failed(required: bool, run_dir: Path, err: Exception | None) -> None:
    """A failed job: None for the basic sweeper, JobFailed for one that counts failures."""
    if not required:
        return None
    if err is not None:
        raise jobs.JobFailed(f"job {run_dir} failed: {err}")
    raise jobs.JobFailed(f"job {run_dir} failed (the reason is in {run_dir / 'error.log'})")


def execute(cfg: DictConfig, run_dir: Path, choices: dict, overrides: str = "") -> dict | None:
    """Validate ``cfg`` and run it into ``run_dir`` (held by this process): the metrics, or None when it failed
    (``status: failed`` and the reason in error.log). Ctrl-C marks the run ``interrupted``, says how to
    continue it, and goes on up (exit status 130)."""
    from dlwp_cli.config.validate import validate

    console.log_to_run_folder(True)
    console.log.info("dlwp run %s: %s", cfg.get("name", ""), overrides or "(no overrides)")
    console.log.info("run folder: %s", run_dir)
    identity = {"experiment": cfg.get("experiment"), "name": cfg.get("name")}
    try:
        typed = validate(cfg)
        from dlwp_cli import pipeline

        metrics = pipeline.run(typed, run_dir, choices=choices)
    except KeyboardInterrupt:
        done = run_folder.epochs_done(run_dir)
        run_folder.mark(run_dir, run_folder.INTERRUPTED, epochs_done=done, **identity)
        console.errors.print(f"interrupted after epoch {done}; continue with `dlwp run resume={run_dir}`",
                             markup=False, highlight=False, soft_wrap=True)
        console.log.error("interrupted after epoch %d", done)
        raise
    except DlwpError as err:
        (run_dir / "error.log").write_text(f"dlwp {err.title}: {err}\n")
        run_folder.mark(run_dir, run_folder.FAILED, error=str(err), **identity)
        console.error(err)
        console.log.error("failed: dlwp %s: %s", err.title, err)
        FAILED_JOBS.append(str(run_dir))
        return None
    except Exception as err:  # a bug, not bad input: keep the full traceback in the run folder
        log = run_dir / "error.log"
        log.write_text(traceback.format_exc())
        run_folder.mark(run_dir, run_folder.FAILED, error=f"{type(err).__name__}: {err}", **identity)
        console.error(f"{type(err).__name__}: {err} (full traceback in {log})")
        console.log.error("failed: %s: %s (full traceback in %s)", type(err).__name__, err, log)
        FAILED_JOBS.append(str(run_dir))
        return None
    else:
        console.log.info("completed: %s", _result_line(metrics))
        return metrics
    finally:
        console.log_to_run_folder(False)


def _result_line(metrics: dict) -> str:
    values = {f"test.{k}": v for k, v in metrics.get("test", {}).items()}
    values.update({f"cv.{k}": v for k, v in metrics.get("cv", {}).get("mean", {}).items()})
    parts = [f"{k}={v:.4g}" for k, v in values.items() if isinstance(v, (int, float))]
    for check in metrics.get("targets") or []:
        mark = check.get("comparison") or {True: "in band", False: "out of band", None: "no band"}[check.get("in_band")]
        parts.append(f"{check.get('metric')}: book {check.get('book')}, measured {check.get('measured')} ({mark})")
    return ", ".join(parts) or "no test metrics"


hydra_main = hydra.main(config_path="pkg://dlwp_conf", config_name="config", version_base="1.3")(run_job)
