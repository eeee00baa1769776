"""Validation of a composed config: schema types, unknown keys, and cross-field rules.

Every problem becomes a :class:`ConfigError` with one paragraph that says what to change. ``validate``
imports no TensorFlow (model bodies, trainer modes and dataset callables live in light modules);
``check_runtime_targets`` also imports the optimizer and strategy classes and checks the task's metrics
(all of which import TensorFlow), and runs before a run folder exists.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from dlwp_cli.config import catalog
from dlwp_cli.config.plugins import (
    check_call_arguments,
    import_target,
    instantiate_settings,
    model_class,
    signature_names,
    suggest,
    target_of,
    trainer_class,
)
from dlwp_cli.config.schema import CHOICES, STRATEGY_RUN_KEYS, RunSpec, TaskSpec
from dlwp_cli.errors import ConfigError

__all__ = ["check_runtime_targets", "model_class", "suggest", "trainer_mode", "validate"]

_TYPE_WORDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}
# The pluggable nodes: validated by what their _target_ names, not by RunSpec.
_PLUGGED = ("model", "trainer", "optimizer", "strategy")


def _keys_at(schema: Any, path: list[str]) -> list[str]:
    node = schema
    for part in path:
        node = node[part] if isinstance(node, DictConfig) and part in node else None
        if node is None:
            return []
    return list(node.keys()) if isinstance(node, DictConfig) else []


def _merge(schema: DictConfig, values: Any, prefix: str = "") -> DictConfig:
    try:
        return OmegaConf.merge(schema, values)
    except ConfigKeyError as err:
        full_key = f"{prefix}{err.full_key}" if err.full_key else str(err.key)
        parts = full_key.split(".")
        options = _keys_at(schema, parts[len(prefix.split(".")) - 1 if prefix else 0 : -1])
        hint = suggest(parts[-1], options)
        known = ", ".join(sorted(options)) if options else "none"
        raise ConfigError(f"Unknown key '{full_key}'.{hint} Valid keys here: {known}.") from None
    except ValidationError as err:
        full_key = f"{prefix}{err.full_key}"
        kind = next((word for name, word in _TYPE_WORDS.items() if name in str(err)), "another type")
        value = getattr(err, "value", None)
        shown = repr(value) if value is not None else str(err).split("\n")[0]
        raise ConfigError(
            f"'{full_key}' must be {kind}, got {shown}. Fix it on the command line, "
            f"e.g. {full_key}=<value>, or in the config file that sets it."
        ) from None
    except OmegaConfBaseException as err:
        raise ConfigError(f"Invalid configuration: {str(err).splitlines()[0]}") from None


def trainer_mode(cfg: DictConfig):
    """The trainer mode dataclass instance of a validated config."""
    cls = trainer_class(cfg.trainer._target_)
    return cls(**{k: v for k, v in OmegaConf.to_container(cfg.trainer).items() if k != "_target_"})


def _check_choices(cfg: DictConfig) -> None:
    for key, options in CHOICES.items():
        value = OmegaConf.select(cfg, key)
        if value not in options:
            raise ConfigError(
                f"'{key}' is '{value}', which is not one of: {', '.join(options)}.{suggest(str(value), options)}"
            )


def _check_ranges(cfg: DictConfig) -> None:
    positive = {
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "performance.steps_per_execution": cfg.performance.steps_per_execution,
    }
    if cfg.task.head is not None:
        positive["task.head.units"] = cfg.task.head.units
    for name, head in (cfg.task.outputs or {}).items():
        positive[f"task.outputs.{name}.units"] = head.units
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"'{key}' must be at least 1, got {value}.")
    rate = cfg.optimizer.get("learning_rate")
    if isinstance(rate, (int, float)) and rate <= 0:
        raise ConfigError(f"'optimizer.learning_rate' must be positive, got {rate}.")
    cpus = cfg.strategy.get("logical_cpus")
    if cpus is not None and (not isinstance(cpus, int) or cpus < 1):
        raise ConfigError(f"'strategy.logical_cpus' must be at least 1 (or null), got {cpus!r}.")
    if cfg.performance.jit_compile not in ("auto", True, False):
        raise ConfigError(f"'performance.jit_compile' must be auto, true or false, got {cfg.performance.jit_compile!r}.")


DATA_DECIDES_LABELS = ("auto", "inferred")

_LOSS_LABELS = {
    "sparse_categorical_crossentropy": "index",
    "categorical_crossentropy": "one_hot",
    "binary_crossentropy": "value",
    "mse": "value",
    "mae": "value",
    "mean_squared_error": "value",
    "mean_absolute_error": "value",
}


def _check_task(cfg: DictConfig, uses_labels: bool = True) -> None:
    task = cfg.task
    # The dataset decides the head, loss and metrics (csv, image folders), or the trainer reads no labels (a
    # generative model's images).
    if task.labels in DATA_DECIDES_LABELS or not uses_labels:
        return
    if task.labels == "none":
        raise ConfigError(f"Task '{task.name}' has task.labels=none (unlabelled data), which a model trained on "
                          "labels cannot use: set task.labels=inferred to take classes from the folder names.")
    if (task.head is None) == (task.outputs is None):
        raise ConfigError(f"Task '{task.name}' must define exactly one of task.head (one output) or "
                          "task.outputs (several named outputs).")
    if task.outputs is not None:
        for key in ("loss", "metrics"):
            value = task[key]
            if isinstance(value, DictConfig) and set(value) - set(task.outputs):
                raise ConfigError(f"task.{key} names outputs {sorted(set(value) - set(task.outputs))}, but the "
                                  f"task's outputs are {sorted(task.outputs)}.")
        return
    wanted = _LOSS_LABELS.get(task.loss)
    if wanted and task.labels != wanted:
        raise ConfigError(
            f"task.loss '{task.loss}' needs task.labels={wanted}, but the task has labels={task.labels}. "
            f"Set task.labels={wanted}, or choose a loss that matches '{task.labels}' labels."
        )
    if task.features.encoding == "multi_hot" and not task.features.num_tokens:
        raise ConfigError("task.features.encoding=multi_hot needs task.features.num_tokens (the vector width).")


def _check_augmentation(cfg: DictConfig) -> None:
    from dlwp_tasks.models.augmentation import check_augmentation, is_active

    spec = OmegaConf.to_container(cfg.augmentation) if cfg.augmentation is not None else None
    try:
        check_augmentation(spec)
    except ValueError as err:
        raise ConfigError(f"{err}. See conf/augmentation/book.yaml for the book's settings.") from None
    kinds = set(cfg.task.input_kinds) & set(model_class(cfg.model._target_).input_kinds)
    if is_active(spec) and "image" not in kinds:
        raise ConfigError(f"augmentation changes images, but model '{cfg.model._target_}' on task "
                          f"'{cfg.task.name}' takes {'/'.join(sorted(kinds)) or 'other'} inputs: drop it "
                          "(augmentation=none), or choose a model that takes images (e.g. model=convnet).")


def models_for_input_kinds(kinds) -> list[str]:
    """Model options whose body accepts one of the given input kinds."""
    return [name for name, target in catalog.model_targets().items()
            if set(model_class(target).input_kinds) & set(kinds)]


def _check_model_fits_task(cfg: DictConfig, trains_model: bool) -> None:
    cls = model_class(cfg.model._target_)
    if not trains_model:
        return
    if not set(cls.input_kinds) & set(cfg.task.input_kinds):
        fitting = models_for_input_kinds(cfg.task.input_kinds)
        model_name = catalog.model_name_for_target(cfg.model._target_) or cfg.model._target_
        raise ConfigError(
            f"Model '{model_name}' takes {'/'.join(cls.input_kinds)} inputs, but task '{cfg.task.name}' provides "
            f"{'/'.join(cfg.task.input_kinds)} inputs. Models that fit task '{cfg.task.name}': "
            f"{', '.join(fitting) or 'none'}."
        )


def _dataset_function(cfg: DictConfig):
    spec = cfg.task.synthetic if cfg.source == "synthetic" and cfg.task.synthetic is not None else cfg.task.dataset
    where = "task.synthetic" if spec is cfg.task.synthetic else "task.dataset"
    return check_call_arguments(spec, where, skip=("data_dir", "download", "seed", "limit")), spec, where


def _check_data(cfg: DictConfig, trainer) -> None:
    """The dataset can be called with its arguments; a path it names exists; the hold-out fits the data."""
    function, spec, where = _dataset_function(cfg)
    path = cfg.task.get("path", spec.get("path"))
    if "path" in signature_names(function)[0] and where == "task.dataset":
        if path in (None, "", "???"):
            if _path_is_optional(function):  # e.g. cats_vs_dogs: its own files unless a folder is given
                return _check_holdout(cfg, trainer, function, spec, where)
            raise ConfigError(f"Task '{cfg.task.name}' reads your own file: give it with task.path=FILE.")
        if not Path(str(path)).expanduser().exists():
            raise ConfigError(f"task.path '{path}' does not exist (looked in {Path.cwd()}). Give an existing file "
                              "or folder, absolute or relative to where you run dlwp.")
    _check_holdout(cfg, trainer, function, spec, where)


def _path_is_optional(function) -> bool:
    try:
        parameter = inspect.signature(function).parameters.get("path")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.default is not inspect.Parameter.empty


def _check_holdout(cfg: DictConfig, trainer, function, spec, where: str) -> None:
    size = getattr(trainer, "validation_size", 0) or 0
    if not size:
        return
    counter = getattr(function, "count_examples", None)
    n = cfg.task.size.train if cfg.task.size is not None else None
    if n is None and counter is not None and where == "task.dataset":
        n = counter(**{k: v for k, v in OmegaConf.to_container(spec, resolve=True).items() if k != "_target_"})
    if n is None:
        return
    n_val = int(size) if size >= 1 else n - int(n * (1 - size))
    if not 0 < n_val < n:
        raise ConfigError(f"trainer.validation_size={size} holds out {n_val} of the {n} training examples of task "
                          f"'{cfg.task.name}', which leaves no training or no validation data. Choose a count "
                          f"below {n}, or a fraction in (0, 1).")


def _split_task(task: dict) -> tuple[dict, dict]:
    """(the TaskSpec keys, the task's own extra keys such as csv's path and label)."""
    known = {f.name for f in dataclasses.fields(TaskSpec)}
    return {k: v for k, v in task.items() if k in known}, {k: v for k, v in task.items() if k not in known}


def validate(cfg: DictConfig) -> DictConfig:
    """Resolve, type-check and cross-check a composed config; return the typed, read-only config."""
    without_hydra = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    try:
        plain = OmegaConf.to_container(without_hydra, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"Cannot resolve the configuration: {str(err).splitlines()[0]}") from None
    plugged = {key: plain.pop(key, None) for key in _PLUGGED}
    task, extras = _split_task(plain.pop("task", None) or {})
    typed = _merge(OmegaConf.structured(RunSpec), {**plain, "task": task, **{k: None for k in _PLUGGED}})
    result = OmegaConf.create(OmegaConf.to_container(typed))
    result.task = OmegaConf.merge(result.task, extras)
    if plugged["model"] is None:
        raise ConfigError("The 'model' group is empty: choose one, e.g. model=dense (see 'dlwp list model').")
    target_of(plugged["model"], "model")
    _, result.model = instantiate_settings(model_class(plugged["model"]["_target_"]), plugged["model"], "model", _merge)
    trainer, result.trainer = instantiate_settings(trainer_class(target_of(plugged["trainer"], "trainer")),
                                                   plugged["trainer"], "trainer", _merge)
    for key in ("optimizer", "strategy"):
        target_of(plugged[key], key)
        result[key] = plugged[key]
    _check_choices(result)
    _check_ranges(result)
    _check_task(result, getattr(type(trainer), "uses_labels", True))
    _check_augmentation(result)
    _check_model_fits_task(result, type(trainer).trains_model)
    _check_data(result, trainer)
    check = getattr(trainer, "check_config", None)
    if check is not None:  # a mode's own checks of the whole config (trainer=keras_tuner: search_space, objective)
        check(result)
    OmegaConf.set_readonly(result, True)
    return result


def check_runtime_targets(cfg: DictConfig) -> None:
    """Import the optimizer and strategy ``_target_``s (this imports TensorFlow) and check their arguments,
    and the task's metrics (Keras names, ``_target_`` nodes, and that they fit the head and labels)."""
    from dlwp_cli.training.metrics import check_metrics

    check_metrics(cfg.task)
    check_call_arguments(cfg.optimizer, "optimizer")
    factory = check_call_arguments(cfg.strategy, "strategy", skip=STRATEGY_RUN_KEYS)
    if hasattr(factory, "check"):  # a factory's own check of its node (e.g. multi_worker's shared folder)
        factory.check(OmegaConf.to_container(cfg.strategy, resolve=True))
    for name, spec in (cfg.callbacks or {}).items():
        import_target(target_of(spec, f"callbacks.{name}"), f"callbacks.{name}")
