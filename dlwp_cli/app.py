"""The Hydra application behind ``dlwp run``: one call per job, failures reported, never fatal to a sweep."""

from __future__ import annotations

import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from dlwp_cli import console, run_folder
from dlwp_cli.errors import DlwpError

# Jobs this process ran (a launcher that runs jobs in other processes leaves these empty; the end-of-sweep
# summary then finds the jobs by their run folders).
FAILED_JOBS: list[str] = []
JOB_DIRS: list[str] = []
SWEEP_DIRS: list[str] = []


def run_job(cfg: DictConfig) -> float | None:
    """Validate and run one job; return the primary metric so sweepers can optimize it."""
    hydra_cfg = HydraConfig.get()
    runtime = hydra_cfg.runtime
    run_dir = Path(runtime.output_dir)
    JOB_DIRS.append(str(run_dir))
    if hydra_cfg.mode == RunMode.MULTIRUN and str(hydra_cfg.sweep.dir) not in SWEEP_DIRS:
        SWEEP_DIRS.append(str(hydra_cfg.sweep.dir))
    try:
        run_folder.lock(run_dir)  # a sweep job's own folder; a single run holds its folder already
    except DlwpError as err:
        console.error(err)
        FAILED_JOBS.append(str(run_dir))
        return None
    metrics = execute(cfg, run_dir, dict(runtime.choices), " ".join(hydra_cfg.overrides.task))
    return objective(metrics) if metrics is not None else None


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
    finally:
        console.log_to_run_folder(False)
    console.log.info("completed: %s", _result_line(metrics))
    return metrics


def _result_line(metrics: dict) -> str:
    values = {f"test.{k}": v for k, v in metrics.get("test", {}).items()}
    values.update({f"cv.{k}": v for k, v in metrics.get("cv", {}).get("mean", {}).items()})
    parts = [f"{k}={v:.4g}" for k, v in values.items() if isinstance(v, (int, float))]
    for check in metrics.get("targets") or []:
        mark = {True: "in band", False: "out of band", None: "no band"}[check.get("in_band")]
        parts.append(f"{check.get('metric')}: book {check.get('book')}, measured {check.get('measured')} ({mark})")
    return ", ".join(parts) or "no test metrics"


def objective(metrics: dict) -> float | None:
    """The number a sweeper minimizes/maximizes: test loss, else mean CV validation loss, else final loss."""
    if "loss" in metrics.get("test", {}):
        return metrics["test"]["loss"]
    if "val_loss" in metrics.get("cv", {}).get("mean", {}):
        return metrics["cv"]["mean"]["val_loss"]
    losses = metrics.get("history", {}).get("val_loss") or metrics.get("history", {}).get("loss")
    return losses[-1] if losses else None


hydra_main = hydra.main(config_path="pkg://dlwp_conf", config_name="config", version_base="1.3")(run_job)
