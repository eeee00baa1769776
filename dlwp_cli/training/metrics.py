"""The task's metrics (``task.metrics``): Keras metric names and ``_target_`` nodes as metric objects.

A name is looked up as ``keras.metrics.get`` looks it up (class names such as ``AUC``, their snake-case
forms such as ``auc``, the abbreviations ``mae``, ``mse``, ``mape``, ``msle``, ``bce``), and the public
metric functions (``huber``, ``log_cosh``) are found too; the metric is logged under the name as written.
``accuracy`` and ``acc`` stay names, so that ``compile`` (or the hand-written loops) picks binary, sparse or
categorical accuracy by the head and labels. A ``_target_`` node names a ``keras.metrics.Metric`` class,
created with the node's other keys and logged under its ``name`` (default: the class's own, e.g. ``auc``),
or a function ``(y_true, y_pred) -> values``, averaged over the batches and logged under ``name`` (default:
the function's name).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import keras
from omegaconf import DictConfig, ListConfig

from dlwp_cli.config.plugins import arguments, check_call_arguments, suggest
from dlwp_cli.errors import ConfigError

ACCURACY_NAMES = ("accuracy", "acc")
ABBREVIATIONS = {
    "mae": keras.metrics.MeanAbsoluteError,
    "mse": keras.metrics.MeanSquaredError,
    "mape": keras.metrics.MeanAbsolutePercentageError,
    "msle": keras.metrics.MeanSquaredLogarithmicError,
    "bce": keras.metrics.BinaryCrossentropy,
}
# Building blocks rather than metrics of predictions (compile would feed them y_true as values).
_NOT_TASK_METRICS = (keras.metrics.Metric, keras.metrics.Mean, keras.metrics.Sum, keras.metrics.MeanMetricWrapper)
_NOT_METRIC_FUNCTIONS = ("get", "serialize", "deserialize")
# Metrics that compare targets with predictions of the same shape: a one-unit head, or one-hot labels.
SAME_SHAPE_METRICS = (
    keras.metrics.AUC, keras.metrics.Precision, keras.metrics.Recall, keras.metrics.PrecisionAtRecall,
    keras.metrics.RecallAtPrecision, keras.metrics.SensitivityAtSpecificity, keras.metrics.SpecificityAtSensitivity,
    keras.metrics.TruePositives, keras.metrics.FalsePositives, keras.metrics.TrueNegatives,
    keras.metrics.FalseNegatives, keras.metrics.FBetaScore,
)
# Words in a logged metric name for which a higher value is better.
HIGHER_IS_BETTER = ("accuracy", "auc", "precision", "recall", "score", "correlation", "true_", "iou")


def snake_case(name: str) -> str:
    """``TopKCategoricalAccuracy`` -> ``top_k_categorical_accuracy``, as Keras names its metric classes."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def known_metrics() -> dict[str, object]:
    """Every metric name accepted -> the Keras class or function it names."""
    public = {name: value for name, value in vars(keras.metrics).items() if not name.startswith("_")}
    functions = {name: value for name, value in public.items()
                 if inspect.isfunction(value) and name not in _NOT_METRIC_FUNCTIONS}
    classes = {name: value for name, value in public.items() if inspect.isclass(value)
               and issubclass(value, keras.metrics.Metric) and value not in _NOT_TASK_METRICS}
    return {
        **functions,
        **classes,
        **{snake_case(name): cls for name, cls in classes.items()},
        **ABBREVIATIONS,
        **{short.upper(): cls for short, cls in ABBREVIATIONS.items()},
    }


def higher_is_better(name: str) -> bool:
    """Whether a larger value of the logged metric ``name`` (e.g. ``val_auc``) is the better one."""
    return any(word in name.lower() for word in HIGHER_IS_BETTER)


def is_accuracy_name(spec) -> bool:
    return isinstance(spec, str) and spec.lower() in ACCURACY_NAMES


def named_metric(name: str, where: str):
    """The Keras class or function a metric name names (not created), or a ConfigError that suggests one."""
    known = known_metrics()
    if name in known:
        return known[name]
    options = [*ACCURACY_NAMES, *known]
    raise ConfigError(
        f"{where}: Keras has no metric '{name}'.{suggest(name, options)} Give a Keras metric name (e.g. accuracy, "
        "auc, precision, recall, mae, top_k_categorical_accuracy) or a _target_ node, e.g. "
        "{_target_: keras.metrics.AUC, name: roc_auc, curve: ROC}."
    )


def target_metric(node: DictConfig, where: str):
    """The metric class or function a ``_target_`` node names (not created), its arguments checked."""
    target = check_call_arguments(node, where, skip=("name",))
    if inspect.isclass(target) and not issubclass(target, keras.metrics.Metric):
        raise ConfigError(f"{where}._target_ '{node._target_}' is not a metric: give a keras.metrics.Metric class "
                          "or a function (y_true, y_pred) -> values.")
    if not callable(target):
        raise ConfigError(f"{where}._target_ '{node._target_}' is neither a metric class nor a function.")
    return target


def metric_kind(spec, where: str):
    """The class or function behind one metric spec (None for the accuracy names, which follow the head)."""
    if isinstance(spec, DictConfig):
        return target_metric(spec, where)
    return None if is_accuracy_name(spec) else named_metric(str(spec), where)


def _without_auto_number(metric: keras.metrics.Metric) -> keras.metrics.Metric:
    """Keras numbers the default names of metrics made in one process (auc, auc_1, auc_2, ...); keep the
    unnumbered name, so that every fold and every run logs the same key."""
    base = snake_case(type(metric).__name__)
    if re.fullmatch(rf"{re.escape(base)}_\d+", metric.name):
        metric.name = base
    return metric


def metric_from_node(node: DictConfig, where: str) -> keras.metrics.Metric:
    """A fresh metric object for a ``_target_`` node."""
    target = target_metric(node, where)
    kwargs = arguments(node)
    try:
        if inspect.isclass(target):
            metric = target(**kwargs)
            return metric if "name" in kwargs else _without_auto_number(metric)
        return keras.metrics.MeanMetricWrapper(target, name=kwargs.pop("name", target.__name__), **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: metric {node._target_} cannot be created with {kwargs}: {err}") from None


def metric_from_name(name: str, where: str):
    """A fresh metric object logged under ``name``; an accuracy name stays a name."""
    if is_accuracy_name(name):
        return name
    kind = named_metric(name, where)
    return kind(name=name) if inspect.isclass(kind) else keras.metrics.MeanMetricWrapper(kind, name=name)


def resolve_metrics(specs, where: str = "task.metrics"):
    """``task.metrics`` as ``compile`` takes them: metric objects (accuracy names kept as names), in the same
    lists and per-output dicts."""
    if specs is None:
        return None
    if isinstance(specs, DictConfig) and "_target_" in specs:
        return metric_from_node(specs, where)
    if isinstance(specs, (DictConfig, dict)):
        return {name: resolve_metrics(value, f"{where}.{name}") for name, value in specs.items()}
    if isinstance(specs, (ListConfig, list, tuple)):
        return [resolve_metrics(value, where) for value in specs]
    return metric_from_name(str(specs), where)


def metric_specs(task: DictConfig) -> Iterator[tuple[str, object, DictConfig | None]]:
    """(config key, metric spec, the head it scores) for every metric of the task."""
    metrics = task.metrics
    if metrics is None:
        return
    if isinstance(metrics, DictConfig) and "_target_" not in metrics:
        for output, specs in metrics.items():
            head = (task.outputs or {}).get(output)
            for spec in specs if isinstance(specs, ListConfig) else [specs]:
                yield f"task.metrics.{output}", spec, head
        return
    for spec in metrics if isinstance(metrics, ListConfig) else [metrics]:
        yield "task.metrics", spec, task.head


def check_metrics(task: DictConfig) -> None:
    """Raise a ConfigError for a metric Keras does not know, a ``_target_`` that is no metric or does not take
    its keys, or a same-shape metric (AUC, precision, recall, ...) on a softmax head with integer labels.
    Creates no metric: that would start TensorFlow's runtime before the strategy chooses its devices."""
    for where, spec, head in metric_specs(task):
        kind = metric_kind(spec, where)
        same_shape = inspect.isclass(kind) and issubclass(kind, SAME_SHAPE_METRICS)
        if same_shape and head is not None and int(head.units) > 1 and task.labels == "index":
            shown = spec._target_ if isinstance(spec, DictConfig) else spec
            raise ConfigError(
                f"{where}: '{shown}' compares targets with predictions of the same shape, so it needs a one-unit "
                f"(sigmoid) head or one-hot labels; task '{task.name}' has a {head.units}-unit "
                f"{head.activation or 'linear'} head with integer labels (task.labels=index). Use one-hot labels "
                "(task.labels=one_hot task.loss=categorical_crossentropy), or drop the metric."
            )
