"""A run's data: the task's dataset called as configured, the head a dataset decides, and model-ready arrays."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.markup import escape

from dlwp_cli import console, run_folder
from dlwp_cli.advice import task_advice
from dlwp_cli.config.plugins import import_target
from dlwp_cli.config.validate import model_class, trainer_mode
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.features import PIXEL_KINDS, apply_transforms, choose_input_kind, is_dataset, prepare
from dlwp_tasks.datasets.contract import call_dataset, parameters, resolve_target

SMOKE_ROWS = 8  # rows per split a smoke run reads from a user-data task's own file


def dataset_parameters(target: str) -> set[str]:
    names, any_keyword = parameters(resolve_target(target))
    return names | ({"limit"} if any_keyword else set())


def load_data(cfg: DictConfig):
    """The task's dataset: real files, or random data of the real shapes when source=synthetic."""
    shapes_only = not getattr(trainer_mode(cfg), "needs_data", True)  # trainer=summary: the input shape is enough
    if (cfg.source == "synthetic" or shapes_only) and cfg.task.synthetic is not None:
        return call_dataset(OmegaConf.to_container(cfg.task.synthetic), seed=int(cfg.seed))
    # The real data's own split seeds stay fixed (Boston's 113, digits' 0): a dataset that should follow the
    # run's seed says so in its node (csv: seed: ${seed}).
    context = {"data_dir": cfg.data_dir, "download": cfg.download}
    if cfg.source == "synthetic":  # a user-data task has no stand-in: read a few rows of the user's own data
        if "limit" not in dataset_parameters(cfg.task.dataset._target_):
            raise ConfigError(f"Task '{cfg.task.name}' has no synthetic data (task.synthetic is null) and its "
                              "dataset cannot read a few rows only (no 'limit' argument): run it with source=real.")
        context["limit"] = SMOKE_ROWS
    return call_dataset(OmegaConf.to_container(cfg.task.dataset), **context)


def head_from_data(splits) -> dict:
    """Head, loss, labels and metrics of a task with ``labels: auto``, by the dataset's problem type:
    sigmoid for two classes, softmax for more, linear for regression (as the book's tasks)."""
    if splits.problem == "regression":
        return {"head": {"units": 1, "activation": None}, "loss": "mse", "labels": "value", "metrics": ["mae"]}
    if splits.problem != "classification" or not splits.class_names:
        raise ConfigError("A task with labels: auto needs a dataset that says its problem (classification with "
                          "class names, or regression); this one did not. Set task.head, task.loss and task.labels.")
    classes = len(splits.class_names)
    if classes == 2:
        return {"head": {"units": 1, "activation": "sigmoid"}, "loss": "binary_crossentropy", "labels": "value",
                "metrics": ["accuracy"]}
    return {"head": {"units": classes, "activation": "softmax"}, "loss": "sparse_categorical_crossentropy",
            "labels": "index", "metrics": ["accuracy"]}


def resolve_task(cfg: DictConfig, splits) -> DictConfig:
    """The config with the task's head, loss, labels and metrics filled in from the data (``labels: auto``);
    metrics given in ``task.metrics`` are kept, and checked against the head."""
    from dlwp_cli.training.metrics import check_metrics

    decided = head_from_data(splits)
    if cfg.task.metrics is not None:
        del decided["metrics"]
    resolved = OmegaConf.merge(cfg, {"task": decided})
    OmegaConf.set_readonly(resolved, True)
    check_metrics(resolved.task)
    return resolved


def takes_raw_pixels(cfg: DictConfig) -> bool:
    """Whether the model body takes images in 0..255 (it starts with its own Rescaling or preprocess_input)."""
    from dlwp_cli.training.modeling import model_body

    return bool(getattr(model_body(cfg.model), "takes_raw_pixels", False))


def prepare_data(cfg: DictConfig, splits):
    """(model-ready data, input kind) for the task, with the run's transforms applied."""
    mode = trainer_mode(cfg)
    trains = mode.trains_model
    kind = (choose_input_kind(cfg.task.input_kinds, model_class(cfg.model._target_).input_kinds)
            if trains else cfg.task.input_kinds[0])
    if splits.y_train is None and not is_dataset(splits.x_train) and getattr(mode, "uses_labels", True):
        raise ConfigError(f"Task '{cfg.task.name}' gave unlabelled data (task.labels=none), which this trainer "
                          "cannot train on: set task.labels=inferred for classes from the folder names.")
    raw_pixels = kind in PIXEL_KINDS and trains and takes_raw_pixels(cfg)
    try:
        prepared = apply_transforms(prepare(splits, cfg.task, kind, raw_pixels), cfg.transforms, int(cfg.seed))
        return replace(prepared, vocabulary=splits.vocabulary), kind
    except ValueError as err:
        raise ConfigError(str(err)) from None


def describe_data(cfg: DictConfig, splits, run_dir: Path, show: bool) -> None:
    """Save the dataset's schema (schema.json) and say its decisions, warnings and advice (on the measure of
    success for imbalanced classes) on the console."""
    if splits.schema is not None:
        run_folder.write_json(run_dir / run_folder.SCHEMA, splits.schema)
    if not show:
        return
    if splits.problem:
        classes = f", {len(splits.class_names)} classes" if splits.class_names else ""
        console.console.print(f"problem: {splits.problem}{classes} (head: {cfg.task.head.units} "
                              f"{cfg.task.head.activation or 'linear'}, loss {cfg.task.loss})")
    for warning in splits.warnings:
        console.console.print(f"[yellow]warning:[/] {warning}")
    for advice in task_advice(cfg.task, splits.y_train):
        console.console.print(f"[cyan]advice:[/] {escape(advice)}")


def data_description(cfg) -> list[str]:
    """What the task's dataset says of the data it would read (its ``describe`` hook, e.g. a table's schema):
    ``dlwp show`` prints it, and ``dlwp run`` calls it before making a run folder, so a bad table stops there."""
    describe = getattr(import_target(cfg.task.dataset._target_, "task.dataset"), "describe", None)
    if describe is None or cfg.source != "real":
        return []
    arguments = {k: v for k, v in OmegaConf.to_container(cfg.task.dataset, resolve=True).items() if k != "_target_"}
    return ["data:", *describe(**arguments)]
