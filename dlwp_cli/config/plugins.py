"""The pluggable parts of a config (``_target_`` nodes): import what they name and check their arguments.

Every kind is a ``_target_`` and its arguments, so a user's module plugs in with no edit of dlwp:
model bodies and trainer modes are dataclasses (their fields are the schema); datasets, optimizers and
strategies are callables (their signature is the schema).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlwp_cli.errors import ConfigError


def suggest(word: str, options) -> str:
    """' Did you mean 'x'?' for the closest option, or ''."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def import_target(target: str, where: str) -> Any:
    """The class or function a dotted ``_target_`` names; ``where`` is its config key, for the message."""
    module_name, _, attribute = str(target).rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except ModuleNotFoundError as err:
        raise ConfigError(f"{where}._target_ '{target}' cannot be imported: no module named '{err.name}'. "
                          "Check the spelling, and that your module is importable (on PYTHONPATH, or installed)."
                          ) from None
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"{where}._target_ '{target}' cannot be imported: {err}.") from None


def target_of(node: Any, where: str) -> str:
    if not isinstance(node, (dict, DictConfig)) or not node.get("_target_"):
        raise ConfigError(f"'{where}' has no _target_: choose an option of the group (see 'dlwp list {where}'), "
                          f"or give {where}._target_=package.module.Name.")
    return str(node["_target_"])


def arguments(node: Any) -> dict:
    """The node's values without ``_target_``, as plain Python."""
    values = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    values.pop("_target_", None)
    return values


def model_class(target: str) -> type:
    """The model body class a ``model._target_`` names: a dataclass with ``build`` and ``input_kinds``."""
    cls = import_target(target, "model")
    if not dataclasses.is_dataclass(cls) or not hasattr(cls, "build"):
        raise ConfigError(f"model._target_ '{target}' is not a model body (a dataclass with build()).")
    return cls


def trainer_class(target: str) -> type:
    """The trainer mode class a ``trainer._target_`` names: a dataclass with ``run``."""
    cls = import_target(target, "trainer")
    if not dataclasses.is_dataclass(cls) or not hasattr(cls, "run"):
        raise ConfigError(f"trainer._target_ '{target}' is not a trainer mode (a dataclass with run(ctx, data)).")
    return cls


def instantiate_settings(cls: type, node: Any, where: str, merge) -> tuple[Any, DictConfig]:
    """The dataclass ``cls`` built from ``node`` (typed by its fields, then its own ``__post_init__`` checks),
    and the typed node. ``merge`` reports unknown keys and wrong types."""
    fields = OmegaConf.create(arguments(node))
    typed = merge(OmegaConf.structured(cls), fields, prefix=f"{where}.")
    try:
        instance = cls(**OmegaConf.to_container(typed))
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{where}: {err}.") from None
    return instance, OmegaConf.merge(OmegaConf.create({"_target_": target_of(node, where)}), typed)


def signature_names(function) -> tuple[list[str], bool]:
    """Keyword names a callable takes (over a class's ``__init__`` chain), and whether it takes ``**kwargs``
    that it checks itself."""
    names: list[str] = []
    functions = [klass.__init__ for klass in function.__mro__ if "__init__" in vars(klass)] \
        if inspect.isclass(function) else [function]
    open_ended = False
    for fn in functions:
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self" and p.name not in names:
                names.append(p.name)
        if not inspect.isclass(function):
            open_ended = any(p.kind is p.VAR_KEYWORD for p in params)
    return names, open_ended


def check_call_arguments(node: Any, where: str, skip: tuple[str, ...] = ()) -> Any:
    """Import ``node._target_`` and check that it takes every key of ``node`` (with a suggestion if not)."""
    target = target_of(node, where)
    function = import_target(target, where)
    names, open_ended = signature_names(function)
    if open_ended:
        return function
    for key in arguments(node):
        if key not in names and key not in skip:
            raise ConfigError(f"Unknown key '{where}.{key}': {target} takes no argument '{key}'.{suggest(key, names)} "
                              f"It takes: {', '.join(n for n in names if n not in ('name', 'kwargs')) or 'nothing'}.")
    return function
