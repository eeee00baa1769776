"""Trainer modes ``deepdream`` and ``style_transfer``: a picture optimised against a fixed pretrained convnet.
Each writes its picture every ``save_every`` steps (``steps/``) and at the end, with its loss per step
(metrics.json, TensorBoard); there is no model to save."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from dlwp_cli import console
from dlwp_cli.errors import ConfigError
from dlwp_cli.run_folder import TENSORBOARD
from dlwp_cli.training.common import Context, TrainResult
from dlwp_cli.training.features import Prepared
from dlwp_cli.training.modeling import model_body
from dlwp_tasks.datasets.picture import check_pictures
from dlwp_tasks.errors import DataError
from dlwp_tasks.generative.images import save_png

STEPS = "steps"   # RUN_DIR/steps/: the picture as it was every save_every steps


def _body(ctx: Context, kind: type, mode_name: str):
    body = model_body(ctx.cfg.model, ctx.cfg.get("smoke", False))
    if not isinstance(body, kind):
        raise ConfigError(f"trainer={mode_name} needs model={mode_name} (a {kind.__name__}), not "
                          f"'{ctx.cfg.model._target_}'.")
    return body


class StepLog:
    """Loss per step on the console (when shown) and in TensorBoard, and the picture every ``save_every`` steps."""

    def __init__(self, ctx: Context, save_every: int, deprocess):
        self.run_dir = Path(ctx.run_dir)
        self.show = bool(ctx.cfg.output.console)
        self.save_every = max(1, int(save_every))
        self.deprocess = deprocess
        self.saved: list[str] = []
        self.writer = (tf.summary.create_file_writer(str(self.run_dir / TENSORBOARD))
                       if ctx.cfg.output.tensorboard else None)
        self.step = 0

    def __call__(self, label: str, iteration: int, loss: float, image) -> None:
        self.step += 1
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.scalar("loss", loss, step=self.step)
        if (iteration + 1) % self.save_every == 0:
            if self.show:
                console.console.print(f"[dim]{label} step {iteration + 1:>4}[/]  loss {loss:.4f}")
            self.save(f"{label.replace(' ', '_')}_step_{iteration + 1:04d}.png", image)

    def save(self, name: str, image, folder: str = STEPS) -> str:
        pixels = self.deprocess(np.asarray(image))
        path = save_png(pixels, self.run_dir / folder / name if folder else self.run_dir / name)
        relative = str(path.relative_to(self.run_dir))
        self.saved.append(relative)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image(folder or "result", pixels[np.newaxis], step=self.step)
        return relative


def deepdream_trainer(mode, ctx: Context, data: Prepared) -> TrainResult:
    """The book's octave loop on the task's picture (listing 12.15), saving ``dream.png`` at the picture's size."""
    from dlwp_tasks.generative.deepdream import dream, feature_extractor, minimum_size, smallest_side
    from dlwp_tasks.models.input_optimisation import DreamNet

    body = _body(ctx, DreamNet, "deepdream")
    pictures = np.asarray(data.x_train)
    try:
        extractor = feature_extractor(body.base(), dict(body.layers))
    except ValueError as err:
        raise ConfigError(f"model.layers: {err}. Name layers of {body.backbone} (e.g. mixed4 ... mixed10 for "
                          "inception_v3).") from None
    smallest = smallest_side(extractor, body.minimum_side)
    side = minimum_size(smallest, mode.num_octave, mode.octave_scale)
    check_pictures(pictures, (side, side), f"{body.backbone} at layers {', '.join(body.layers)}",
                   f" (those layers need {smallest} pixels a side, and the smallest of {mode.num_octave} octaves "
                   f"is 1/{mode.octave_scale}^{mode.num_octave - 1} of the picture)")
    iterations = int(ctx.cfg.trainer.limit_batches or mode.iterations)
    log = StepLog(ctx, mode.save_every, body.deprocess)
    started = time.perf_counter()
    image, octaves = dream(body.preprocess(pictures[:1]), extractor, dict(body.layers), mode.step, mode.num_octave,
                           mode.octave_scale, iterations, mode.max_loss,
                           on_step=lambda octave, i, loss, img: log(f"octave {octave + 1}", i, loss, img))
    seconds = time.perf_counter() - started
    final = log.save("dream.png", image, folder="")
    losses = [loss for octave in octaves for loss in octave["losses"]]
    metrics = {"history": {"loss": losses}, "octaves": octaves, "iterations_per_octave": iterations,
               "image": final, "image_size": list(image.shape[1:3]), "saved_images": log.saved,
               "loss_rises_in_each_octave": all(o["losses"][-1] > o["losses"][0] or o["stopped_at_max_loss"]
                                                for o in octaves if len(o["losses"]) > 1)}
    return TrainResult(metrics, None, {"train_s": seconds})


def style_transfer_trainer(mode, ctx: Context, data: Prepared) -> TrainResult:
    """Listing 12.23: SGD with the book's decaying learning rate on a picture that starts as the content picture."""
    import keras

    from dlwp_tasks.generative.style_transfer import book_schedule, descent_step, feature_extractor, loss_function
    from dlwp_tasks.models.input_optimisation import StyleNet

    body = _body(ctx, StyleNet, "style_transfer")
    pictures = np.asarray(data.x_train)
    if len(pictures) < 2:
        raise DataError("Style transfer needs a style reference: give it with task.style_image=PATH.")
    check_pictures(pictures, (body.minimum_side, body.minimum_side), body.backbone)
    extractor = feature_extractor(body.base())
    known = {layer.name for layer in extractor.layers}
    wanted = [body.content_layer, *body.style_layers]
    if set(wanted) - known:
        raise ConfigError(f"model.content_layer / model.style_layers: {body.backbone} has no layer "
                          f"{', '.join(sorted(set(wanted) - known))}.")
    height, width = pictures.shape[1:3]
    base, style = (tf.constant(body.preprocess(pictures[i:i + 1])) for i in (0, 1))
    combination = tf.Variable(base)
    schedule = book_schedule(mode.learning_rate.initial, mode.learning_rate.decay_steps,
                             mode.learning_rate.decay_rate)
    step = descent_step(loss_function(extractor, body.content_layer, list(body.style_layers), body.content_weight,
                                      body.style_weight, body.total_variation_weight, height, width,
                                      body.style_channels), keras.optimizers.SGD(schedule))
    iterations = int(ctx.cfg.trainer.limit_batches or mode.iterations)
    log = StepLog(ctx, mode.save_every, body.deprocess)
    losses = []
    started = time.perf_counter()
    for i in range(iterations):
        losses.append(float(step(combination, base, style)))
        log("iteration", i, losses[-1], combination)
    seconds = time.perf_counter() - started
    final = log.save("stylized.png", combination, folder="")
    metrics = {"history": {"loss": losses}, "iterations": iterations, "image": final,
               "image_size": [int(height), int(width)], "saved_images": log.saved,
               "learning_rate": {"initial": float(schedule(0)), "final": float(schedule(iterations))}}
    return TrainResult(metrics, None, {"train_s": seconds})
