"""The number a sweep optimises: ``objective.metric`` on validation data, never a test score.

A plain fit's value is the metric at its best epoch (the lowest value for ``direction: min``, the highest for
``max``), with that epoch: a sweep compares what each configuration can reach, and the epoch is what the book's
final run retrains for (§6.2.5: retrain on train + validation for the best epoch count, then test once). K-fold
gives the best epoch of its mean validation curve when it has one per epoch, else the mean final fold score.

The up-front checks (:func:`check`) read only the config: a search whose run has no validation data, or whose
objective metric the run does not log, stops before any folder is made. No TensorFlow here.
"""

from __future__ import annotations

import math

from omegaconf import DictConfig, ListConfig, OmegaConf

from dlwp_cli.errors import ConfigError, DlwpError

DIRECTIONS = {"min": "minimize", "max": "maximize"}


class ObjectiveMissing(DlwpError):
    """A finished run did not log the metric its sweep optimises."""

    title = "objective"


def logged_metrics(task: DictConfig) -> list[str] | None:
    """The names a fit logs per epoch for ``task`` (``loss``, then its metrics as named; ``<output>_<name>`` for
    several outputs), or None when a metric's name cannot be told from the config (a class without ``name``)."""
    names = ["loss"]
    names += [f"{output}_loss" for output in (task.get("outputs") or {})]
    metrics = task.get("metrics")
    if isinstance(metrics, (DictConfig, ListConfig)):
        metrics = OmegaConf.to_container(metrics, resolve=True)
    per_output = metrics if isinstance(metrics, dict) else {"": metrics or []}
    for output, specs in per_output.items():
        for spec in specs or []:
            name = spec if isinstance(spec, str) else (spec.get("name") if isinstance(spec, dict) else None)
            if name is None:
                return None
            name = f"{output}_{name}" if output else str(name)
            if name not in names:
                names.append(name)
    return names


def validation_metrics(cfg: DictConfig) -> list[str] | None:
    """The validation metrics a run of ``cfg`` logs (``val_loss``, ``val_<metric>``), or None when only the run
    can tell."""
    logged = logged_metrics(cfg.task)
    return None if logged is None else [f"val_{name}" for name in logged]


def has_validation(cfg: DictConfig) -> bool | None:
    """Whether a run of ``cfg`` scores validation data: a hold-out (``trainer.validation_size``), K-fold's folds,
    or a task that brings its own validation split. None when only the data can tell."""
    trainer = cfg.trainer
    if trainer.get("validation_size"):
        return True
    if "folds" in trainer:
        return True
    task_holdout = cfg.task.get("validation_size")
    if task_holdout is not None:
        return bool(task_holdout)
    if cfg.task.get("size") is not None:  # a fixed train/test dataset: no validation split of its own
        return False
    return None


def check(cfg: DictConfig) -> None:
    """Stop a search up front whose run cannot give its objective: no validation data, or a metric it does
    not log."""
    metric = str(cfg.objective.metric)
    if has_validation(cfg) is False:
        raise ConfigError(
            f"The search optimises objective.metric={metric} on validation data, but task '{cfg.task.name}' has no "
            "validation split and trainer.validation_size is 0. Hold some training examples out: "
            "trainer.validation_size=0.2 (a fraction) or a count such as trainer.validation_size=10000 "
            "(the test split is never used to choose).")
    check_logged(cfg)


def check_logged(cfg: DictConfig) -> None:
    """``objective.metric`` is a validation metric the run logs (when the config can tell)."""
    metric = str(cfg.objective.metric)
    logged = validation_metrics(cfg)
    if logged is not None and metric not in logged:
        if not metric.startswith("val_") and f"val_{metric}" in logged:
            hint = f" Did you mean objective.metric=val_{metric}? A search optimises a validation score."
        else:
            hint = (f" Add it to task.metrics (e.g. task.metrics=[accuracy,{metric.removeprefix('val_')}]) or choose "
                    "one of those.")
        raise ConfigError(f"objective.metric={metric} is not a metric this run logs on validation data; it logs "
                          f"{', '.join(logged)}.{hint}")


def measure(metrics: dict, objective: DictConfig | dict) -> dict:
    """``{metric, direction, value, epoch}`` from a finished run's metrics (``epoch`` is 1-based, None for a
    K-fold mean); ObjectiveMissing naming what the run did log when the metric is not there."""
    metric, direction = str(objective["metric"]), str(objective["direction"])
    pick = min if direction == "min" else max
    history = metrics.get("history") or {}
    cv = metrics.get("cv") or {}
    curve = (cv.get("mean_history") or {}).get(metric) if cv else history.get(metric)
    if curve:
        finite = [(v, i) for i, v in enumerate(curve) if isinstance(v, (int, float)) and math.isfinite(v)]
        if finite:
            value, index = pick(finite, key=lambda pair: pair[0])
            return {"metric": metric, "direction": direction, "value": float(value), "epoch": index + 1}
    if metric in (cv.get("mean") or {}):
        return {"metric": metric, "direction": direction, "value": float(cv["mean"][metric]), "epoch": None}
    logged = sorted({*history, *(cv.get("mean") or {})})
    validation = [name for name in logged if name.startswith("val_")]
    raise ObjectiveMissing(
        f"objective.metric={metric} is not in this run's validation scores "
        f"({', '.join(validation) or 'none: the run had no validation data'}; all logged: "
        f"{', '.join(logged) or 'none'}). Set objective.metric to one of them, or give the run validation data "
        "with trainer.validation_size.")
