"""The Hydra application behind ``dlwp run``: one call per job, failures reported, never fatal to a sweep."""

from __future__ import annotations

import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from dlwp_cli import console
from dlwp_cli.errors import DlwpError

FAILED_JOBS: list[str] = []


def run_job(cfg: DictConfig) -> float | None:
    """Validate and run one job; return the primary metric so sweepers can optimize it."""
    from dlwp_cli.config.validate import validate

    runtime = HydraConfig.get().runtime
    run_dir = Path(runtime.output_dir)
    try:
        typed = validate(cfg)
        from dlwp_cli import pipeline

        metrics = pipeline.run(typed, run_dir, choices=dict(runtime.choices))
    except DlwpError as err:
        console.error(err)
        FAILED_JOBS.append(str(run_dir))
        return None
    except Exception as err:  # a bug, not bad input: keep the full traceback in the run folder
        log = run_dir / "error.log"
        log.write_text(traceback.format_exc())
        console.error(f"{type(err).__name__}: {err} (full traceback in {log})")
        FAILED_JOBS.append(str(run_dir))
        return None
    return objective(metrics)


def objective(metrics: dict) -> float | None:
    """The number a sweeper minimizes/maximizes: test loss, else mean CV validation loss, else final loss."""
    if "loss" in metrics.get("test", {}):
        return metrics["test"]["loss"]
    if "val_loss" in metrics.get("cv", {}).get("mean", {}):
        return metrics["cv"]["mean"]["val_loss"]
    losses = metrics.get("history", {}).get("val_loss") or metrics.get("history", {}).get("loss")
    return losses[-1] if losses else None


hydra_main = hydra.main(config_path="pkg://dlwp_conf", config_name="config", version_base="1.3")(run_job)
