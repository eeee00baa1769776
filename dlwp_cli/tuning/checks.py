"""What a search checks before it trains: the search space, the objective and the tuner's settings.

:func:`check_config` needs no TensorFlow (config validation calls it, ``dlwp show`` too); :func:`tuner_settings`
and :func:`check_direction` import KerasTuner and Keras, and run when the search is about to start (``dlwp tune``
calls them before it makes a run folder).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlwp_cli.config import catalog
from dlwp_cli.config.plugins import import_target, signature_names, suggest
from dlwp_cli.config.search_space import CHOICE, Dimension, parse
from dlwp_cli.errors import ConfigError
from dlwp_cli.sweeps.objective import check_logged

# What a search may vary: the model, its training and its callbacks. The data, the split and the run's own
# settings are set up once per run, so they are left to a Hydra sweep (dlwp run -m).
SEARCHABLE = ("model", "optimizer", "callbacks", "augmentation", "batch_size", "epochs")
SEARCHABLE_GROUPS = ("model", "optimizer", "callbacks", "augmentation")
# Tuner arguments dlwp sets itself.
RESERVED = ("hypermodel", "objective", "directory", "project_name", "overwrite", "distribution_strategy",
            "hyperparameters", "tuner_id", "logger", "oracle")
DEFAULT_TUNER = "random"
SMOKE_TRIALS = 2   # debug=smoke: trials, and top sets retrained
SMOKE_EPOCHS = 2   # debug=smoke: Hyperband's longest training


def check_config(cfg: DictConfig, known: dict | None = None) -> list[Dimension]:
    """The search space's dimensions, after checking that every key exists and may be searched, and that the
    objective is a validation metric the run logs; a ConfigError naming what to change otherwise. ``known``:
    option nodes read earlier (see :func:`group_nodes`)."""
    dims = parse(cfg.get("search_space"))
    nodes = group_nodes(dims, known)
    for dim in dims:
        _check_key(cfg, dim, nodes)
    check_objective(cfg)
    return dims


def group_nodes(dims: list[Dimension], known: dict | None = None) -> dict[str, dict[str, dict]]:
    """``{group: {option: node}}`` for each searched config group: the option files' contents (their
    interpolations kept), read from the config search path unless ``known`` (``{group: {option: node}}``, as an
    earlier start of the search read them) holds them."""
    known = known or {}
    nodes = {}
    for dim in dims:
        if dim.key not in SEARCHABLE_GROUPS:
            continue
        if dim.kind != CHOICE:
            raise ConfigError(f"search_space.{dim.key}: a config group is searched with choice(...) of its options "
                              f"(e.g. choice({','.join(catalog.options(dim.key)[:2])})), not a range or interval.")
        nodes[dim.key] = {str(option): known.get(dim.key, {}).get(str(option)) or _option_node(dim.key, str(option))
                          for option in dim.values}
    return nodes


def _option_node(group: str, option: str) -> dict:
    path = catalog.find(group, option)
    if path is None:
        choices = catalog.options(group)
        raise ConfigError(f"search_space.{group}: '{option}' is no {group} option.{suggest(option, choices)} "
                          f"Options: {', '.join(choices)} (see 'dlwp list {group}').")
    text = path.read_text()
    if "@package" in "".join(line for line in text.splitlines() if line.startswith("#")):
        raise ConfigError(f"search_space.{group}: option '{option}' ({path}) sets its own package, so a search "
                          "cannot put it in place of the run's; search its keys instead.")
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=False) or {}
    node.pop("defaults", None)
    return node


def _check_key(cfg: DictConfig, dim: Dimension, nodes: dict) -> None:
    head = dim.key.split(".")[0]
    if head not in SEARCHABLE:
        raise ConfigError(f"search_space.{dim.key}: a search cannot vary '{dim.key}': the data, its split and the "
                          f"run's own settings are set up once per run. Search {', '.join(SEARCHABLE)} keys (e.g. "
                          f"model.units, optimizer.learning_rate), and vary the rest with a Hydra sweep: "
                          f"dlwp run -m {dim.key}=A,B.")
    if dim.key in nodes:
        return
    if OmegaConf.select(cfg, dim.key, default=_MISSING) is not _MISSING:
        return
    rest = dim.key.partition(".")[2]
    if head in nodes and any(_has_key(node, rest) for node in nodes[head].values()):
        return
    parent, _, leaf = dim.key.rpartition(".")
    node = OmegaConf.select(cfg, parent, default=None) if parent else cfg
    known = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
    where = f" under {parent}" if parent else ""
    raise ConfigError(f"search_space.{dim.key}: the config has no key '{dim.key}'.{suggest(leaf, known)} "
                      f"Keys{where}: {', '.join(sorted(known)) or 'none'}.")


_MISSING = object()


def _has_key(node: Any, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def check_objective(cfg: DictConfig) -> None:
    """``objective.metric`` is a validation metric the run logs."""
    metric = str(cfg.objective.metric)
    if not metric.startswith("val_"):
        raise ConfigError(f"objective.metric={metric} is not a validation metric: a search chooses on validation "
                          f"data, never on training or test scores. Use objective.metric=val_{metric}.")
    check_logged(cfg)


def check_direction(cfg: DictConfig) -> None:
    """``objective.direction`` fits the metric: a larger accuracy or AUC is better, a larger loss or error worse
    (imports Keras)."""
    from dlwp_cli.training.metrics import higher_is_better

    metric, direction = str(cfg.objective.metric), str(cfg.objective.direction)
    better = "max" if higher_is_better(metric) else "min"
    if direction != better:
        raise ConfigError(f"objective.metric={metric} with objective.direction={direction}: the search would pick "
                          f"the worst sets. Set objective.direction={better}.")


@dataclasses.dataclass
class TunerSettings:
    """The KerasTuner class to search with, its arguments, and how many of the best sets to retrain."""

    cls: type
    arguments: dict
    top_n: int
    name: str           # the tuner option (or the class name)

    @property
    def max_trials(self) -> int | None:
        return self.arguments.get("max_trials")


def tuner_settings(cfg: DictConfig, choice: str | None = None) -> TunerSettings:
    """The ``tuner`` node as a KerasTuner class and its checked arguments (``tuner=random``'s when the config
    chose none); under ``debug=smoke``, at most 2 trials of 1 execution, 2 top sets, and 2 Hyperband epochs."""
    import keras_tuner

    node = cfg.get("tuner")
    if node is None:
        choice = DEFAULT_TUNER
        node = OmegaConf.merge({"seed": int(cfg.seed)}, {"tuner": OmegaConf.load(catalog.find("tuner", choice))}).tuner
    values = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    target = values.pop("_target_", None)
    if not target:
        raise ConfigError("'tuner' has no _target_: choose tuner=random|bayesian|hyperband, or give "
                          "tuner._target_=keras_tuner.RandomSearch (any keras_tuner.Tuner class).")
    cls = import_target(target, "tuner")
    if not (isinstance(cls, type) and issubclass(cls, keras_tuner.Tuner)):
        raise ConfigError(f"tuner._target_ '{target}' is not a KerasTuner tuner (a keras_tuner.Tuner class such as "
                          "keras_tuner.RandomSearch, keras_tuner.BayesianOptimization or keras_tuner.Hyperband).")
    top_n = values.pop("top_n", 1)
    names, _ = signature_names(cls)
    for key in values:
        if key in RESERVED:
            raise ConfigError(f"tuner.{key} is set by dlwp (the search space, objective and run folder come from the "
                              "config): remove it from the tuner config.")
        if key not in names:
            usable = [n for n in names if n not in RESERVED and n not in ("kwargs", "max_model_size")]
            raise ConfigError(f"Unknown key 'tuner.{key}': {target} takes no argument '{key}'.{suggest(key, usable)} "
                              f"It takes: {', '.join(usable)}.")
    for key in ("max_trials", "executions_per_trial", "max_epochs"):
        if values.get(key) is not None and (not isinstance(values[key], int) or values[key] < 1):
            raise ConfigError(f"tuner.{key} must be a whole number of at least 1, got {values[key]!r}.")
    if not isinstance(top_n, int) or top_n < 1:
        raise ConfigError(f"tuner.top_n must be a whole number of at least 1 (the best sets retrained), got {top_n!r}.")
    if cfg.get("smoke"):
        top_n = min(top_n, SMOKE_TRIALS)
        values["executions_per_trial"] = 1
        for key, cap in (("max_trials", SMOKE_TRIALS), ("max_epochs", SMOKE_EPOCHS), ("hyperband_iterations", 1)):
            if key in values:
                values[key] = min(int(values[key] or cap), cap)
    return TunerSettings(cls, values, top_n, choice or target.rpartition(".")[2])
