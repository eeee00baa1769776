"""Trainer mode ``custom_loop``: the book's hand-written training loop (listings 7.21-7.25) for any task and model.

Also the pieces the other hand-written steps reuse: metric objects named as ``fit`` names them, the
eager/compiled step switch, an epoch driver that calls Keras callbacks as ``fit`` does, and
:func:`~dlwp_cli.training.runtime.apply_scaled_gradients` (importable from here too), the loss-scaled
gradient update every hand-written step makes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import tensorflow as tf
from omegaconf import DictConfig

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import Context
from dlwp_cli.training.features import Prepared
from dlwp_cli.training.metrics import resolve_metrics
from dlwp_cli.training.modeling import build_model
from dlwp_cli.training.runtime import apply_scaled_gradients  # noqa: F401  (re-exported for other steps)


def require_single_output(task: DictConfig, mode: str) -> None:
    """Raise unless the task has one output with one loss name: the hand-written loops handle no more."""
    if not isinstance(task.loss, str):
        raise ConfigError(f"trainer={mode} trains single-output models, and task '{task.name}' has several outputs. "
                          "Use trainer=fit for it.")


def loss_object(name: str) -> keras.losses.Loss:
    """The Loss class behind a loss name: ``sparse_categorical_crossentropy`` -> ``SparseCategoricalCrossentropy()``."""
    function = keras.losses.get(name)
    if isinstance(function, keras.losses.Loss):
        return function
    class_name = "".join(part.capitalize() for part in function.__name__.split("_"))
    try:
        return keras.losses.get(class_name)
    except ValueError:
        raise ConfigError(f"task.loss '{name}' has no Keras Loss class ({class_name}) for the custom loop.") from None


def accuracy_metric(name: str, task: DictConfig) -> keras.metrics.Metric:
    """``accuracy`` as ``compile`` decides it: binary, sparse or categorical by the head and labels."""
    kind = (keras.metrics.BinaryAccuracy if task.head.units == 1
            else keras.metrics.SparseCategoricalAccuracy if task.labels == "index"
            else keras.metrics.CategoricalAccuracy)
    return kind(name=name)


def metric_objects(task: DictConfig) -> list[keras.metrics.Metric]:
    """The task's metrics as objects with the names ``fit`` logs them under."""
    return [accuracy_metric(metric, task) if isinstance(metric, str) else metric
            for metric in resolve_metrics(task.metrics) or []]


def compile_step(step: Callable, compiled: bool, jit_compile: bool = False) -> Callable:
    """``step`` as a ``tf.function`` graph (listing 7.25) when ``compiled``, else the eager Python function."""
    return tf.function(step, jit_compile=jit_compile, reduce_retracing=True) if compiled else step


def train_epochs(callbacks: list, model, epochs: int, steps: int, train: Callable, validate: Callable | None = None,
                 initial_epoch: int = 0):
    """Run epochs ``initial_epoch`` to ``epochs - 1`` the way ``fit`` does: the callbacks' train/epoch/batch
    hooks around ``train(on_batch) -> logs``, then ``validate() -> val_ logs``; stop early when a callback
    sets ``model.stop_training``. Returns the history (a list per log key) and each epoch's training seconds."""
    hooks = keras.callbacks.CallbackList(callbacks, model=model, epochs=epochs, steps=steps, verbose=0)
    history, seconds, logs = {}, [], {}
    if model is not None:
        model.stop_training = False
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        started = time.perf_counter()
        logs = train(hooks.on_train_batch_end)
        seconds.append(time.perf_counter() - started)
        if validate is not None:
            logs.update(validate())
        hooks.on_epoch_end(epoch, logs)
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
        if getattr(model, "stop_training", False):
            break
    hooks.on_train_end(logs)
    return history, seconds


class CustomLoop:
    """Listings 7.21-7.24: a loss object, the model's optimizer, a ``Mean`` loss tracker and the task's
    metric objects, reset at the start of every epoch and before every evaluation."""

    def __init__(self, model: keras.Model, loss_fn: keras.losses.Loss, metrics: list, compiled: bool = True):
        self.model = model
        self.compiled = compiled
        self.seconds: list[float] = []
        self.loss_fn = loss_fn
        self.metrics = [keras.metrics.Mean(name="loss"), *metrics]
        model.optimizer.build(model.trainable_weights)  # its variables exist before any graph is traced
        self.train_step = compile_step(self._train_step, compiled, bool(model.jit_compile))
        self.test_step = compile_step(self._test_step, compiled, bool(model.jit_compile))

    def _loss(self, targets, predictions):
        # Weight penalties (model.losses) count as in fit; the book's models have none.
        return self.loss_fn(targets, predictions) + sum(self.model.losses)

    def _update_metrics(self, targets, predictions, loss) -> dict:
        loss_tracker, *metrics = self.metrics
        loss_tracker.update_state(loss)
        for metric in metrics:
            metric.update_state(targets, predictions)
        return {metric.name: metric.result() for metric in self.metrics}

    def _train_step(self, inputs, targets) -> dict:
        with tf.GradientTape() as tape:
            predictions = self.model(inputs, training=True)
            loss = self._loss(targets, predictions)
        apply_scaled_gradients(tape, loss, self.model.trainable_weights, self.model.optimizer)
        return self._update_metrics(targets, predictions, loss)

    def _test_step(self, inputs, targets) -> dict:
        predictions = self.model(inputs, training=False)
        return self._update_metrics(targets, predictions, self._loss(targets, predictions))

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def train_epoch(self, dataset, on_batch: Callable[[int, dict], None]) -> dict:
        """One pass of ``train_step`` over ``dataset``; the epoch's logs."""
        self.reset_metrics()
        logs = {}
        for batch, (inputs, targets) in enumerate(dataset):
            logs = self.train_step(inputs, targets)
            on_batch(batch, logs)
        return {name: float(value) for name, value in logs.items()}

    def fit(self, train, validation, epochs: int, steps: int, callbacks: list) -> dict:
        """Epochs of :meth:`train_epoch`, each followed by a validation pass, with the callbacks' hooks."""
        history, self.seconds = train_epochs(
            callbacks, self.model, epochs, steps,
            train=lambda on_batch: self.train_epoch(train, on_batch),
            validate=(lambda: self.evaluate(validation, prefix="val_")) if validation is not None else None,
        )
        return history

    def report(self) -> dict:
        return {"loop": {"compiled": bool(self.compiled), "train_s_per_epoch": self.seconds}}

    def evaluate(self, dataset, prefix: str = "") -> dict:
        """The evaluation loop: ``test_step`` over ``dataset``; logs named ``prefix + metric``."""
        self.reset_metrics()
        logs = {}
        for inputs, targets in dataset:
            logs = self.test_step(inputs, targets)
        return {prefix + name: float(value) for name, value in logs.items()}


def custom_loop_trainee(ctx: Context, data: Prepared) -> CustomLoop:
    """The model and its :class:`CustomLoop`, built in the strategy's scope (trainer=custom_loop)."""
    cfg = ctx.cfg
    require_single_output(cfg.task, "custom_loop")
    if ctx.strategy.num_replicas_in_sync > 1:
        raise ConfigError(
            "trainer=custom_loop runs on one device, but the strategy has "
            f"{ctx.strategy.num_replicas_in_sync} replicas. Choose strategy=cpu or strategy=one_device, or "
            "trainer=fit with trainer.custom_train_step=true, which keeps fit's distribution support."
        )
    model = build_model(cfg, data)
    return CustomLoop(model, loss_object(cfg.task.loss), metric_objects(cfg.task), cfg.trainer.compiled)
