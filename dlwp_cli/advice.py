"""Advice on a run's measure of success (book chapter 6), said on the console before training.

On imbalanced classes accuracy rewards a model that always predicts the majority class: when the majority
class holds over 70 % of the training labels and accuracy is the only classification measure configured,
the run suggests adding AUC or precision and recall.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from dlwp_cli.baselines import trivial_baselines

IMBALANCED_SHARE = 0.7  # the majority class's share of the training labels above which accuracy misleads
BALANCE_AWARE_WORDS = ("auc", "precision", "recall", "f1", "fbeta", "prc", "sensitivity", "specificity", "iou")
SUGGESTED_METRICS = "[accuracy,auc,precision,recall]"


def metric_names(specs) -> list[str]:
    """Lowercase names of metric specs: a Keras name as written, or a ``_target_`` node's ``name`` (else the
    name of what it targets); lists and per-output dicts are flattened."""
    if specs is None:
        return []
    if isinstance(specs, str):
        return [specs.lower()]
    if isinstance(specs, (DictConfig, dict)) and "_target_" in specs:
        return [str(specs.get("name") or str(specs["_target_"]).rpartition(".")[2]).lower()]
    values = specs.values() if isinstance(specs, (DictConfig, dict)) else specs
    return [name for spec in values for name in metric_names(spec)]


def is_accuracy(name: str) -> bool:
    return name == "acc" or "accuracy" in name


def majority_share(labels) -> float | None:
    """The most frequent class's share of ``labels`` (index, one-hot or 0/1 labels); None if empty."""
    if labels is None:
        return None
    return trivial_baselines(np.asarray(labels)).get("majority")


def imbalance_advice(metrics, labels, setting: str = f"task.metrics={SUGGESTED_METRICS}") -> str | None:
    """The suggestion to measure with AUC or precision/recall (``setting`` says how), when the majority class
    is over 70 % of the training ``labels`` and ``metrics`` have an accuracy but no AUC, precision, recall or
    F-score; else None."""
    names = metric_names(metrics)
    if not any(is_accuracy(name) for name in names):
        return None
    if any(word in name for name in names for word in BALANCE_AWARE_WORDS):
        return None
    share = majority_share(labels)
    if share is None or share <= IMBALANCED_SHARE:
        return None
    return (f"the majority class is {share:.0%} of the training labels, so accuracy alone rewards always "
            f"predicting it: also measure AUC or precision and recall, e.g. {setting}")


def metrics_setting(task: DictConfig, output: str | None = None) -> str:
    """The overrides that add AUC, precision and recall to the task (or to one of its outputs); a softmax
    head with integer labels needs one-hot labels for them."""
    key = f"task.metrics.{output}" if output else "task.metrics"
    head = task.outputs[output] if output else task.head
    one_hot = ("task.labels=one_hot task.loss=categorical_crossentropy "
               if task.labels == "index" and head is not None and int(head.units) > 1 else "")
    return f"{one_hot}{key}={SUGGESTED_METRICS}"


def task_advice(task: DictConfig, y_train) -> list[str]:
    """:func:`imbalance_advice` for the task's output, or for each of its named outputs."""
    metrics = task.metrics
    per_output = isinstance(metrics, DictConfig) and "_target_" not in metrics
    if per_output and isinstance(y_train, dict):
        found = [imbalance_advice(metrics.get(output), y_train.get(output), metrics_setting(task, output))
                 for output in task.outputs or {}]
    elif per_output or isinstance(y_train, dict):
        return []  # metrics shared by several outputs: no one label set to judge them by
    else:
        found = [imbalance_advice(metrics, y_train, metrics_setting(task))]
    return [advice for advice in found if advice]
