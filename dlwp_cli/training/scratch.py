"""Trainer mode ``scratch``: chapters 2 and 3 from scratch (§2.5.2-2.5.4, §3.5.4).

In-order batches from a ``BatchGenerator``, a GradientTape step on the mean per-sample loss, and a
hand-written SGD update (or the optimizer group's ``apply_gradients``). With ``batch_size`` equal to
the data size this is the full-batch gradient descent of the chapter-3 linear classifier, which also
gets its decision-boundary plot.
"""

from __future__ import annotations

import logging
import math
import time
from functools import partial
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from dlwp_cli.config import catalog
from dlwp_cli.config.validate import model_class
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import Context, TrainResult, holdout_split, score_test, training_summary
from dlwp_cli.training.features import Prepared
from dlwp_cli.training.inputs import steps_per_epoch
from dlwp_cli.training.loops import compile_step, metric_objects, require_single_output, train_epochs
from dlwp_cli.training.modeling import make_optimizer, model_body
from dlwp_tasks.models.head import Head

log = logging.getLogger(__name__)

DECISION_BOUNDARY_PLOT = "decision_boundary.png"
# Batches between the book's "loss at batch N" lines: logged at INFO (hydra.job_logging.root.level=INFO
# shows them) and kept in metrics.json as loop.loss_every_100_batches.
LOG_EVERY = 100


class BatchGenerator:
    """Consecutive slices of ``batch_size`` rows, never shuffled: ``ceil(N / batch_size)`` batches, the last
    one partial (§2.5.2)."""

    def __init__(self, images, labels, batch_size: int = 128):
        assert len(images) == len(labels)
        self.index = 0
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.num_batches = math.ceil(len(images) / batch_size)

    def next(self):
        images = self.images[self.index : self.index + self.batch_size]
        labels = self.labels[self.index : self.index + self.batch_size]
        self.index += self.batch_size
        return images, labels


def manual_sgd(gradients, weights, learning_rate: float) -> None:
    """The book's ``update_weights``: ``w -= learning_rate * g`` for every weight."""
    for g, w in zip(gradients, weights):
        w.assign_sub(g * learning_rate)


def weight_update(cfg):
    """``update_weights(gradients, weights)`` as ``trainer.update`` says: manual SGD at the optimizer group's
    learning rate, or the optimizer group's own ``apply_gradients`` (``optimizer=sgd``: the book's alternative)."""
    if cfg.trainer["update"] == "manual_sgd":
        return partial(manual_sgd, learning_rate=float(cfg.optimizer.learning_rate))
    optimizer = make_optimizer(cfg.optimizer)
    return lambda gradients, weights: optimizer.apply_gradients(zip(gradients, weights))


def one_training_step(model, images_batch, labels_batch, loss_fn, update_weights):
    """Forward pass under a GradientTape, mean per-sample loss, gradients w.r.t. ``model.weights``, update."""
    with tf.GradientTape() as tape:
        predictions = model(images_batch)
        average_loss = tf.reduce_mean(loss_fn(labels_batch, predictions))
    gradients = tape.gradient(average_loss, model.weights)
    update_weights(gradients, model.weights)
    return average_loss


def evaluate(model, x, y, loss_fn, metrics: list, prefix: str = "") -> dict:
    """Mean loss and the metrics of ``model(x)`` against ``y`` in one call, as the book scores its test set
    (``accuracy`` of class outputs is the share of argmax predictions equal to the labels)."""
    predictions = model(x)
    scores = {"loss": float(tf.reduce_mean(loss_fn(y, predictions)))}
    for metric in metrics:
        metric.reset_state()
        metric.update_state(y, predictions)
        scores[metric.name] = float(metric.result())
    return {prefix + name: value for name, value in scores.items()}


def plot_decision_boundary(inputs, predictions, layer, path: Path) -> Path:
    """Figures 3.7-3.8: the points coloured by predicted class (prediction > 0.5) and, in red, the line
    ``y = -W0/W1 x + (0.5 - b)/W1`` where the prediction is 0.5."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    W, b = layer.W.numpy(), layer.b.numpy()
    x = np.linspace(-1, 4, 100)
    y = -W[0] / W[1] * x + (0.5 - b) / W[1]
    fig, ax = plt.subplots()
    ax.plot(x, y, "-r")
    ax.scatter(inputs[:, 0], inputs[:, 1], c=np.asarray(predictions)[:, 0] > 0.5)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _is_2d_linear_classifier(model) -> bool:
    """One layer from 2-D points to one score: the chapter-3 classifier, whose boundary is a line."""
    return len(model.layers) == 1 and tuple(model.layers[0].W.shape) == (2, 1)


def _check(ctx: Context, data: Prepared) -> None:
    cfg = ctx.cfg
    if not hasattr(model_class(cfg.model._target_), "build_naive"):
        fitting = [name for name, target in catalog.model_targets().items()
                   if hasattr(model_class(target), "build_naive")]
        name = catalog.model_name_for_target(cfg.model._target_) or cfg.model._target_
        raise ConfigError(
            f"trainer=scratch trains the book's from-scratch model, and model '{name}' is a Keras model. "
            f"Models that fit trainer=scratch: {', '.join(fitting)}; or train '{name}' with trainer=fit or custom_loop."
        )
    require_single_output(cfg.task, "scratch")
    if data.multi_hot_tokens is not None:
        raise ConfigError(f"trainer=scratch slices plain feature arrays, but task '{cfg.task.name}' is multi-hot "
                          "encoded batch by batch. Use trainer=fit or trainer=custom_loop for it.")
    if cfg.trainer.shuffle:
        raise ConfigError("trainer=scratch takes its batches in order, as the book's BatchGenerator does: "
                          "set trainer.shuffle=false.")
    if cfg.callbacks:
        raise ConfigError(f"Callbacks {', '.join(cfg.callbacks)} need a Keras model, and trainer=scratch has none: "
                          "use callbacks=default.")


def scratch_trainer(ctx: Context, data: Prepared) -> TrainResult:
    """Train the from-scratch model with the book's loop; score the training and test sets as the book does."""
    _check(ctx, data)
    cfg = ctx.cfg
    head = Head(int(cfg.task.head.units), cfg.task.head.activation)
    model = model_body(cfg.model).build_naive(tuple(data.input_shape), head)
    loss_fn = keras.losses.get(cfg.task.loss)
    task_metrics = metric_objects(cfg.task)
    step = compile_step(partial(one_training_step, model, loss_fn=loss_fn, update_weights=weight_update(cfg)),
                        cfg.trainer.compiled)

    train_idx, val_idx = holdout_split(cfg, data.n_train)
    x, y = (data.x_train, data.y_train) if val_idx is None else (data.x_train[train_idx], data.y_train[train_idx])
    batch = int(cfg.batch_size)
    steps = steps_per_epoch(len(y), batch, cfg.trainer.limit_batches)
    logged: list[list[float]] = []

    def train(on_batch) -> dict:
        batch_generator = BatchGenerator(x, y, batch)
        losses = []
        for batch_counter in range(steps):
            images_batch, labels_batch = batch_generator.next()
            loss = float(step(images_batch, labels_batch))
            losses.append(loss)
            on_batch(batch_counter, {"loss": loss})
            if batch_counter % LOG_EVERY == 0:
                log.info("loss at batch %d: %.2f", batch_counter, loss)
        logged.append(losses[::LOG_EVERY])
        return {"loss": float(np.mean(losses))}

    def validate() -> dict:
        return evaluate(model, data.x_train[val_idx], data.y_train[val_idx], loss_fn, task_metrics, prefix="val_")

    started = time.perf_counter()
    history, seconds = train_epochs(ctx.callbacks("", steps), None, int(cfg.epochs), steps, train,
                                    validate if val_idx is not None else None)
    timings = {"train_s": time.perf_counter() - started}

    metrics = training_summary(history, steps, train_idx, val_idx)
    metrics["loop"] = {
        "compiled": bool(cfg.trainer.compiled), "train_s_per_epoch": seconds, "update": cfg.trainer["update"],
        "learning_rate": float(cfg.optimizer.learning_rate), "loss_every_100_batches": logged,
    }
    metrics["parameters"] = int(sum(np.prod(w.shape) for w in model.weights))
    metrics["train"] = evaluate(model, x, y, loss_fn, task_metrics)
    score_test(ctx, data, lambda: evaluate(model, data.x_test, data.y_test, loss_fn, task_metrics),
               metrics, timings)
    if _is_2d_linear_classifier(model) and cfg.output.plots and ctx.run_dir is not None:
        plot_decision_boundary(x, model(x), model.layers[0], Path(ctx.run_dir) / DECISION_BOUNDARY_PLOT)
    return TrainResult(metrics, None, timings)
