"""One run from a validated config: data, strategy, trainer, evaluation, predictions, run folder."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from dlwp_cli import console, plots, run_folder, targets
from dlwp_cli.baselines import is_classification, trivial_baselines
from dlwp_cli.config.validate import DATA_DECIDES_LABELS, trainer_mode
from dlwp_cli.data import describe_data, load_data, prepare_data, resolve_task
from dlwp_cli.training import callbacks as run_callbacks
from dlwp_cli.training.common import Context, best_epoch
from dlwp_cli.training.features import Prepared
from dlwp_cli.training import mistakes
from dlwp_cli.training.inputs import make_dataset
from dlwp_cli.training.modeling import body_parameters, steps_per_execution
from dlwp_cli.training.resilience import BACKUP, EpochBackup, remove_backups, resilience_callbacks
from dlwp_cli.training.task_reports import run_task_reports
from dlwp_cli.training.runtime import loss_scale, precision_policy, resolve_precision, scale_for_replicas
from dlwp_cli.training.strategy import describe, make_strategy


def seed_everything(seed: int, deterministic: bool) -> None:
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def predict_samples(model, data: Prepared, cfg: DictConfig, test_outputs=None) -> dict:
    """Predictions for the first test examples: class and probability, or the regressed value; for masks, each
    example's pixel accuracy and class shares. ``test_outputs``: the model's outputs on the test split's first
    rows where they were already predicted. Under ``trainer.limit_batches`` only the rows the run scored."""
    count = min(int(cfg.output.predict_samples), data.n_test)
    limit = cfg.trainer.get("limit_batches")
    if limit:
        count = min(count, int(limit) * int(cfg.batch_size))
    if count == 0 or model is None or data.streamed:
        return {}
    if test_outputs is not None and len(test_outputs) >= count:
        outputs = test_outputs[:count]
    else:
        ds = make_dataset(data.x_test, data.y_test, data, count, indices=np.arange(count))
        outputs = model.predict(ds, verbose=0)
    if isinstance(outputs, (list, tuple)):
        outputs = dict(zip(model.output_names, outputs))
    if isinstance(outputs, dict):  # several named outputs: the raw values of each
        return {name: np.round(np.asarray(value), 4).tolist() for name, value in outputs.items()}
    outputs = np.asarray(outputs)
    if mistakes.is_per_pixel(data):  # a class per pixel: per sample, its pixel accuracy and class shares
        return mistakes.pixel_samples(outputs, data.y_test[:count])
    truth = data.y_test[:count]
    truth = truth.argmax(axis=1) if truth.ndim == 2 else truth
    if outputs.shape[-1] > 1:
        return {"true": truth.tolist(), "predicted": outputs.argmax(axis=1).tolist(),
                "probability": outputs.max(axis=1).round(6).tolist()}
    values = outputs[:, 0]
    if cfg.task.head.activation == "sigmoid":
        return {"true": truth.tolist(), "predicted": (values > 0.5).astype(int).tolist(),
                "probability": values.round(6).tolist()}
    return {"true": truth.tolist(), "predicted": values.round(4).tolist()}


def chance_levels(data: Prepared, cfg: DictConfig) -> dict:
    """Trivial baselines of the test labels (training labels when there is no test set), counting every pixel of
    masks; none for a run that scores nothing (``trainer=summary``)."""
    if not is_classification(cfg.task) or data.streamed or not getattr(trainer_mode(cfg), "needs_data", True):
        return {}
    return trivial_baselines(data.y_test if data.n_test else data.y_train)


def resumed_history(metrics: dict, log: EpochBackup | None) -> None:
    """After a resumed fit, the full per-epoch history (Keras's History saw only the epochs after the restart)."""
    if log is None:
        return
    full = log.history()
    if len(next(iter(full.values()), [])) > len(next(iter(metrics.get("history", {}).values()), [])):
        metrics["history"] = full
        metrics["best_epoch"] = best_epoch(full)
        metrics["resumed"] = True


def environment(strategy) -> dict:
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        **describe(strategy),
    }


def run(cfg: DictConfig, run_dir: Path, choices: dict | None = None) -> dict:
    """Train and evaluate as configured; write the run folder; return the metrics dict.

    A non-chief worker of a multi-worker run trains and saves like the chief (saving may run collective
    ops that every worker must join), but into a scratch folder that is deleted afterwards.
    """
    keras.backend.clear_session()  # layer names restart (conv2d, conv2d_1, ...) in every run of a process
    strategy = make_strategy(cfg.strategy)
    if strategy.extended.should_checkpoint:
        return _run(cfg, run_dir, choices, strategy)
    with tempfile.TemporaryDirectory(prefix="dlwp-worker-") as scratch:
        return _run(cfg, Path(scratch), choices, strategy)


CHOOSING_CALLBACKS = ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau")  # monitor val_loss by default


def _same_split(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_split(a[k], b[k]) for k in a)
    if hasattr(a, "offsets") or hasattr(b, "offsets"):  # word-id sequences
        return all(hasattr(v, "offsets") for v in (a, b)) and np.array_equal(a.offsets, b.offsets) and \
            np.array_equal(a.values, b.values)
    return np.array_equal(np.asarray(a), np.asarray(b))


def record_test_use(cfg: DictConfig, data: Prepared, metrics: dict) -> dict:
    """How the run used its test split: ``test_evaluations`` (how many times it was scored), ``final`` (trained on
    every training row with no validation, then tested), and ``test_used_for_choices``: the callbacks that
    monitored a validation split which is the test split itself (early stopping or checkpointing on test)."""
    found = {"test_evaluations": metrics.get("test_evaluations", 0),
             "final": bool(metrics.get("test")) and "cv" not in metrics and not metrics.get("validation_examples")}
    if data.n_val and data.n_test and not data.streamed and _same_split(data.y_val, data.y_test) \
            and _same_split(data.x_val, data.x_test):
        specs = {**cfg.task.callbacks, **cfg.callbacks}
        choosing = [name for name, spec in specs.items() if spec and str(spec.get("monitor", (
            "val_loss" if str(spec.get("_target_", "")).endswith(CHOOSING_CALLBACKS) else ""))).startswith("val_")]
        if choosing:
            found["test_used_for_choices"] = choosing
    return found


def write_artifacts(cfg: DictConfig, run_dir: Path, metrics: dict, model) -> None:
    """model.keras, the HParams summary and the curves, as the output settings ask."""
    if model is not None and cfg.output.save_model:
        run_folder.save_model(run_dir, model)
    if model is not None and cfg.output.tensorboard:
        final = {f"test/{k}": v for k, v in metrics.get("test", {}).items()}
        final.update({f"cv/{k}": v for k, v in metrics.get("cv", {}).get("mean", {}).items()})
        run_callbacks.log_hparams(run_dir / run_folder.TENSORBOARD, cfg, final)
    if cfg.output.plots and metrics.get("confusion_matrix"):
        plots.plot_confusion_matrix(metrics["confusion_matrix"], run_dir / run_folder.CONFUSION_PLOT, str(cfg.name))
    if cfg.output.plots and metrics.get("history"):
        plots.plot_history(metrics["history"], run_dir / run_folder.HISTORY_PLOT, title=str(cfg.name))
        curves = metrics.get("cv", {}).get("mean_history", {})
        validated = [k for k in curves if k.startswith("val_") and k != "val_loss"] + ["val_loss"]
        if curves and validated[0] in curves:
            plots.plot_cv_curve(curves, validated[0], run_dir / run_folder.CV_PLOT)


def with_resolved_precision(cfg: DictConfig, strategy) -> tuple[DictConfig, str]:
    """The config with ``precision=auto`` replaced by the policy this machine runs (see resolve_precision)."""
    precision, reason = resolve_precision(cfg.precision, strategy)
    if precision == cfg.precision:
        return cfg, reason
    cfg = OmegaConf.merge(cfg, {"precision": precision})
    OmegaConf.set_readonly(cfg, True)
    return cfg, reason


def _run(cfg: DictConfig, run_dir: Path, choices: dict | None, strategy) -> dict:
    started = time.perf_counter()
    choices = dict(choices or {})
    run_dir = run_folder.ensure_writable(Path(run_dir))
    show = cfg.output.console
    if show:
        console.summary(cfg, choices, run_dir)
    run_folder.write_config(run_dir, cfg)
    run_folder.write_json(run_dir / run_folder.METRICS, {  # replaced by the full metrics once completed
        "status": run_folder.RUNNING, "experiment": cfg.experiment, "name": cfg.name, "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    seed_everything(int(cfg.seed), cfg.deterministic)
    if show and cfg.smoke and cfg.model.get("weights") is not None:
        console.console.print(f"debug=smoke: model.weights=null (random weights, not {cfg.model.weights})")

    splits = load_data(cfg)
    if cfg.task.labels in DATA_DECIDES_LABELS:
        cfg = resolve_task(cfg, splits)
        run_folder.write_config(run_dir, cfg)  # with the head the data decided
    data, kind = prepare_data(cfg, splits)
    data_s = time.perf_counter() - started
    describe_data(cfg, splits, run_dir, show)
    if data.feature_stats is not None:
        run_folder.write_json(run_dir / run_folder.FEATURES, data.feature_stats)

    cfg, distribution = scale_for_replicas(cfg, strategy.num_replicas_in_sync)
    requested_precision = cfg.precision
    cfg, precision_reason = with_resolved_precision(cfg, strategy)
    if show and requested_precision != cfg.precision:
        console.console.print(f"precision={requested_precision}: {cfg.precision} ({precision_reason})")
    log_dir = run_dir / run_folder.TENSORBOARD
    trainer = trainer_mode(cfg)
    labelled = getattr(trainer, "uses_labels", True)  # False: a generative model (no predictions or error analysis)
    backups: dict[str, EpochBackup] = {}

    def callbacks(label: str, steps: int) -> list:
        # Backups make fits resumable (plain, pretrained and generative); K-fold restarts its folds, hand-written
        # loops their epochs.
        backup = run_dir / BACKUP / (label or "fit") if trainer.backs_up_epochs else None
        built = resilience_callbacks(backup)
        specs = {**cfg.task.callbacks, **cfg.callbacks}  # the task's own defaults, then the callbacks group
        configured = run_callbacks.from_config(specs, run_dir / label if label else run_dir)
        if backup is not None:
            backups[label] = next(cb for cb in built if isinstance(cb, EpochBackup))
            backups[label].peers = configured  # early stopping's patience and best weights survive a restart
        built += configured
        if cfg.output.tensorboard:
            built.append(run_callbacks.EpochTensorBoard(log_dir / label if label else log_dir))
        if show:
            prefix = f"{label.replace('_', ' ')} " if label else ""
            built.append(run_callbacks.RichProgress(console.console, int(cfg.epochs), steps, prefix))
        return built

    with precision_policy(cfg.precision):
        result = trainer.run(Context(cfg, strategy, callbacks, run_dir), data)
    resumed_history(result.metrics, backups.get(""))
    outputs = dict(result.split_outputs)  # each split's predictions, made once (error analysis, then samples)
    analysis = mistakes.analyse(result.model, data, splits, cfg, run_dir, outputs) if labelled else {}

    metrics = {
        "experiment": cfg.experiment,
        "name": cfg.name,
        "choices": choices,
        "status": "completed",
        "seed": int(cfg.seed),
        "epochs": int(cfg.epochs),
        "batch_size": int(cfg.batch_size),
        **result.metrics,
        "predictions": predict_samples(result.model, data, cfg, outputs.get("test")) if labelled else {},
        "baselines": chance_levels(data, cfg) if labelled else {},
        "performance": {
            "steps_per_execution": steps_per_execution(cfg, strategy.num_replicas_in_sync),
            "jit_compile": bool(result.model.jit_compile) if result.model is not None else None,
            "precision": cfg.precision,
            **({"precision_requested": requested_precision} if requested_precision != cfg.precision else {}),
            **({"loss_scale": loss_scale(result.model)} if cfg.precision == "mixed_float16" else {}),
        },
        "data": {"source": cfg.source, "train_examples_total": data.n_train,
                 "test_examples": data.n_test, "input_kind": kind, **(splits.info or {})},
        "environment": environment(strategy),
        "distribution": distribution,
        "precision": cfg.precision,
    }
    if splits.problem:
        metrics["problem"] = splits.problem
    if splits.class_names:
        metrics["class_names"] = list(splits.class_names)
    if splits.warnings or metrics.get("warnings"):
        metrics["warnings"] = [*(splits.warnings or []), *metrics.get("warnings", [])]
    if result.model is not None:
        metrics["parameters"] = body_parameters(result.model, data)
    metrics.update(record_test_use(cfg, data, metrics))
    metrics.update(analysis)
    metrics.update(run_task_reports(result.model, data, splits, cfg, run_dir))
    write_artifacts(cfg, run_dir, metrics, result.model)
    # A file marked synthetic (a generated Jena series) is never compared with the book either; a trainer that
    # only builds the model reads shapes from a stand-in, and its parameter counts still compare.
    synthetic = cfg.source == "synthetic" or (getattr(trainer, "needs_data", True)
                                               and metrics["data"].get("source") == "synthetic")
    # A pretrained model started from random weights: the book's scores with its weights are not compared.
    random_weights = "weights" in cfg.model and cfg.model.weights is None
    checks = [targets.check(OmegaConf.to_container(t), metrics, synthetic=synthetic, random_weights=random_weights)
              for t in cfg.targets]
    metrics["targets"] = checks
    metrics["timings"] = {"data_s": data_s, **result.timings, "total_s": time.perf_counter() - started}
    run_folder.write_json(run_dir / run_folder.METRICS, metrics)
    remove_backups(run_dir)
    if show:
        console.results(metrics, checks)
    return metrics
