"""Validation of a composed config: schema types, unknown keys, and cross-field rules.

Every problem becomes a :class:`ConfigError` with one paragraph that says what to change.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from dlwp_cli.config import catalog
from dlwp_cli.config.schema import CHOICES, RunSpec
from dlwp_cli.errors import ConfigError

_TYPE_WORDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """' Did you mean 'x'?' for the closest option, or ''."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


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
        raise ConfigError(
            f"Unknown key '{full_key}'.{hint} Valid keys here: {known}."
        ) from None
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


def model_class(target: str) -> type:
    """Import the model body class named by a ``_target_``."""
    module_name, _, attr = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"model._target_ '{target}' cannot be imported; check the model config file.") from None
    if not dataclasses.is_dataclass(cls) or not hasattr(cls, "build"):
        raise ConfigError(f"model._target_ '{target}' is not a model body (a dataclass with build()).")
    return cls


def _validate_model(model: Any) -> DictConfig:
    if not isinstance(model, DictConfig) or "_target_" not in model:
        raise ConfigError("The 'model' group is empty: choose one, e.g. model=dense (see 'dlwp list model').")
    cls = model_class(model._target_)
    fields = OmegaConf.masked_copy(model, [k for k in model.keys() if k != "_target_"])
    merged = _merge(OmegaConf.structured(cls), fields, prefix="model.")
    try:  # the body's own range checks (__post_init__)
        cls(**OmegaConf.to_container(merged))
    except (ValueError, TypeError) as err:
        raise ConfigError(f"model: {err}.") from None
    return OmegaConf.merge(OmegaConf.create({"_target_": model._target_}), merged)


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
    if cfg.optimizer.learning_rate <= 0:
        raise ConfigError(f"'optimizer.learning_rate' must be positive, got {cfg.optimizer.learning_rate}.")
    if cfg.trainer.validation_size < 0:
        raise ConfigError(f"'trainer.validation_size' must be 0 or more, got {cfg.trainer.validation_size}.")
    if cfg.trainer.mode == "kfold" and cfg.trainer.folds < 2:
        raise ConfigError(f"'trainer.folds' must be at least 2 for K-fold validation, got {cfg.trainer.folds}.")
    if cfg.trainer.limit_batches is not None and cfg.trainer.limit_batches < 1:
        raise ConfigError(f"'trainer.limit_batches' must be at least 1 or null, got {cfg.trainer.limit_batches}.")
    if cfg.performance.jit_compile not in ("auto", True, False):
        raise ConfigError(f"'performance.jit_compile' must be auto, true or false, got {cfg.performance.jit_compile!r}.")


_LOSS_LABELS = {
    "sparse_categorical_crossentropy": "index",
    "categorical_crossentropy": "one_hot",
    "binary_crossentropy": "value",
    "mse": "value",
    "mae": "value",
    "mean_squared_error": "value",
    "mean_absolute_error": "value",
}


def _check_task(cfg: DictConfig) -> None:
    task = cfg.task
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


def _check_model_fits_task(cfg: DictConfig) -> None:
    if cfg.trainer.mode == "random_baseline":
        return
    cls = model_class(cfg.model._target_)
    if not set(cls.input_kinds) & set(cfg.task.input_kinds):
        fitting = catalog.models_for_input_kinds(cfg.task.input_kinds)
        model_name = catalog.model_name_for_target(cfg.model._target_) or cfg.model._target_
        raise ConfigError(
            f"Model '{model_name}' takes {'/'.join(cls.input_kinds)} inputs, but task '{cfg.task.name}' provides "
            f"{'/'.join(cfg.task.input_kinds)} inputs. Models that fit task '{cfg.task.name}': "
            f"{', '.join(fitting) or 'none'}."
        )


def validate(cfg: DictConfig) -> DictConfig:
    """Resolve, type-check and cross-check a composed config; return the typed config."""
    without_hydra = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    try:
        plain = OmegaConf.to_container(without_hydra, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"Cannot resolve the configuration: {str(err).splitlines()[0]}") from None
    model = plain.pop("model", None)
    typed = _merge(OmegaConf.structured(RunSpec), plain)
    typed.model = _validate_model(OmegaConf.create(model) if isinstance(model, dict) else model)
    _check_choices(typed)
    _check_ranges(typed)
    _check_task(typed)
    _check_model_fits_task(typed)
    OmegaConf.set_readonly(typed, True)
    return typed
