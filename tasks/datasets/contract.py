"""Calling a dataset: ``task.dataset._target_`` names a callable, the rest of the node are its arguments.

The callable returns a :class:`DataSplits` (or Keras's ``((x_train, y_train), (x_test, y_test))``). It may
also take the run's context arguments: ``data_dir`` and ``download`` (where to find its files), ``limit``
(smoke runs of a task without synthetic data: read at most this many rows per split) and, for
``task.synthetic``, ``seed`` (the run's seed; a real dataset that should follow it says ``seed: ${seed}`` in
its node). Each is passed only when the signature names it (or takes ``**kwargs``) and the node does not
set it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from dlwp_tasks.errors import DataError

from .base import DataSplits

CONTEXT_ARGUMENTS = ("data_dir", "download", "seed", "limit")


def resolve_target(target: str) -> Callable:
    """The object a dotted ``_target_`` path names (``package.module.function``)."""
    module_name, _, attribute = str(target).rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as err:
        raise DataError(f"dataset _target_ '{target}' cannot be imported ({err}). Check task.dataset._target_, "
                        "and that the module is importable (on PYTHONPATH, or installed).") from None


def parameters(function: Callable) -> tuple[set[str], bool]:
    """(names the callable takes, whether it also takes ``**kwargs``)."""
    signature = inspect.signature(function)
    names = {name for name, p in signature.parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())


def call_dataset(spec: dict[str, Any], **context: Any) -> DataSplits:
    """Call the dataset ``spec`` names with its arguments and the context arguments it takes."""
    spec = dict(spec)
    target = spec.pop("_target_", None)
    if not target:
        raise DataError("The task's dataset has no _target_: set task.dataset._target_ to the dataset callable.")
    function = resolve_target(target)
    names, any_keyword = parameters(function)
    unknown = set(spec) - names if not any_keyword else set()
    if unknown:
        raise DataError(f"dataset {target} does not take {', '.join(sorted(unknown))}; "
                        f"it takes: {', '.join(sorted(names - set(CONTEXT_ARGUMENTS))) or 'no arguments'}.")
    passed = {key: value for key, value in context.items() if (key in names or any_keyword) and key not in spec}
    result = function(**spec, **passed)
    return as_splits(result, target)


def as_splits(result: Any, target: str) -> DataSplits:
    """A DataSplits from what a dataset returned (Keras's nested-tuple form is accepted too)."""
    if isinstance(result, DataSplits):
        return result
    if isinstance(result, tuple) and len(result) == 2 and all(isinstance(p, tuple) and len(p) == 2 for p in result):
        (x_train, y_train), (x_test, y_test) = result
        return DataSplits(x_train, y_train, x_test, y_test, info={"source": "real"})
    raise DataError(f"dataset {target} returned {type(result).__name__}; a dataset returns a DataSplits "
                    "(dlwp_tasks.datasets.base) or ((x_train, y_train), (x_test, y_test)).")
