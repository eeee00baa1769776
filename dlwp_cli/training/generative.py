"""Trainer mode ``generative``: models that learn without labels (a VAE, a GAN) through their own
``train_step``, with a grid of samples written every epoch (PNG in the run folder, image in TensorBoard).

The model body builds a Keras model with ``parts()``, ``optimizer_roles``, ``sample_grid()`` and
``generate_images(count, seed)`` (see ``dlwp_tasks.models.generative``). Each optimizer role takes the node of
the same name in the model's config (a GAN's ``d_optimizer`` and ``g_optimizer``), else the optimizer group.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from omegaconf import OmegaConf

from dlwp_cli import console
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import Context
from dlwp_cli.run_folder import TENSORBOARD
from dlwp_cli.training.features import Prepared, is_dataset
from dlwp_cli.training.modeling import make_optimizer, model_body, steps_per_execution
from dlwp_cli.training.resilience import EpochBackup
from dlwp_cli.training.skeleton import KerasFit
from dlwp_tasks.generative.collapse import collapse_message, collapse_verdict
from dlwp_tasks.generative.images import save_png

SAMPLES = "samples"          # RUN_DIR/samples/epoch_001.png, ...


def optimizers_for(model, cfg) -> dict:
    """``compile`` arguments: an optimizer for each of the model's roles, from the model node of that name
    or the optimizer group."""
    found = {}
    for role in getattr(model, "optimizer_roles", ("optimizer",)):
        spec = cfg.model.get(role) if role != "optimizer" else None
        found[role] = make_optimizer(spec if spec is not None else cfg.optimizer)
    return found


def build_generative(cfg, data: Prepared, replicas: int = 1) -> keras.Model:
    """The body's model for the data's image shape, compiled with its optimizers and the run's settings."""
    body = model_body(cfg.model, cfg.get("smoke", False))
    if getattr(body, "generates", None) != "images":
        raise ConfigError(f"trainer=generative trains models that generate (model=vae, model=dcgan); "
                          f"'{cfg.model._target_}' is not one. Use trainer=fit for it.")
    try:
        model = body.build(tuple(data.input_shape))
    except ValueError as err:
        raise ConfigError(f"Model '{cfg.model._target_}' cannot be built for task '{cfg.task.name}' images of "
                          f"shape {tuple(data.input_shape)}: {err}.") from None
    jit = cfg.performance.jit_compile
    model.compile(**optimizers_for(model, cfg), steps_per_execution=steps_per_execution(cfg, replicas),
                  jit_compile=jit if isinstance(jit, bool) else "auto",
                  run_eagerly=bool(cfg.trainer.run_eagerly))
    return model


class EpochSamples(keras.callbacks.Callback):
    """The model's ``sample_grid()`` every ``every`` epochs and after the last: ``folder/epoch_NNN.png`` and
    a TensorBoard image ``samples`` at that epoch."""

    def __init__(self, folder: Path, log_dir: Path | None, every: int, epochs: int):
        super().__init__()
        self.folder, self.every, self.epochs = Path(folder), max(1, int(every)), int(epochs)
        self.writer = tf.summary.create_file_writer(str(log_dir / SAMPLES)) if log_dir is not None else None
        self.written: list[str] = []
        self.backup = None  # the run's EpochBackup, whose restored epochs' grids are already in the folder

    def due(self, number: int) -> bool:
        """Whether epoch ``number`` (from 1) writes a grid."""
        return number % self.every == 0 or number == self.epochs

    @staticmethod
    def file_name(number: int) -> str:
        return f"epoch_{number:03d}.png"

    def on_train_begin(self, logs=None):
        done = self.backup.restored_epoch if self.backup is not None else 0
        self.written = [self.file_name(number) for number in range(1, done + 1) if self.due(number)]

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch + 1):
            return
        grid = self.model.sample_grid()
        path = save_png(grid, self.folder / self.file_name(epoch + 1))
        self.written.append(path.name)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image(SAMPLES, grid[np.newaxis], step=epoch + 1)
            self.writer.flush()


class CollapseWatch(keras.callbacks.Callback):
    """Warns once when the GAN's losses show the book's failure mode (see ``dlwp_tasks.generative.collapse``)."""

    def __init__(self, rule: dict, show: bool):
        super().__init__()
        self.rule, self.show = rule, show
        self.d_loss: list[float] = []
        self.g_loss: list[float] = []
        self.verdict = collapse_verdict([], [], **rule)
        self.backup = None  # the run's EpochBackup: a resumed run's losses so far come from it

    def on_train_begin(self, logs=None):
        restored = self.backup.history() if self.backup is not None else {}
        self.d_loss, self.g_loss = list(restored.get("d_loss", [])), list(restored.get("g_loss", []))
        self.verdict = collapse_verdict(self.d_loss, self.g_loss, **self.rule)
        if self.verdict["detected"]:  # warned before the restart
            self.verdict["message"] = collapse_message(self.verdict)

    def on_epoch_end(self, epoch, logs=None):
        self.d_loss.append(float(logs["d_loss"]))
        self.g_loss.append(float(logs["g_loss"]))
        fired = self.verdict["detected"]
        self.verdict = collapse_verdict(self.d_loss, self.g_loss, **self.rule)
        if self.verdict["detected"] and not fired:
            self.verdict["message"] = collapse_message(self.verdict)
            console.log.warning(self.verdict["message"])
            if self.show:
                console.console.print(f"[yellow]warning:[/] {self.verdict['message']}")


class GenerativeFit(KerasFit):
    """The skeleton's ``fit`` and ``evaluate`` on the images alone (their labels, if any, are unused), with the
    sample callbacks, and a report of the networks' sizes, the sample files and (for a GAN) the collapse verdict."""

    def __init__(self, ctx: Context, data: Prepared):
        cfg = ctx.cfg
        super().__init__(build_generative(cfg, data, ctx.strategy.num_replicas_in_sync))
        self.run_dir = Path(ctx.run_dir) if ctx.run_dir is not None else None
        log_dir = self.run_dir / TENSORBOARD if self.run_dir is not None and cfg.output.tensorboard else None
        self.samples = (EpochSamples(self.run_dir / SAMPLES, log_dir, cfg.trainer.samples_every, int(cfg.epochs))
                        if self.run_dir is not None else None)
        rule = cfg.model.get("collapse")
        self.collapse = (CollapseWatch(OmegaConf.to_container(rule), bool(cfg.output.console))
                         if rule is not None else None)

    def fit(self, train, validation, epochs: int, steps: int, callbacks: list) -> dict:
        own = [cb for cb in (self.samples, self.collapse) if cb is not None]
        for cb in own:  # after the backup among the callbacks, so they see what it restored
            cb.backup = next((b for b in callbacks if isinstance(b, EpochBackup)), None)
        if validation is None:  # callbacks watching validation scores (a task's early stopping) have nothing to watch
            watching = [cb for cb in callbacks if str(getattr(cb, "monitor", "")).startswith("val_")]
            for cb in watching:
                console.log.warning(f"{type(cb).__name__} watches {cb.monitor}, which this run has no validation "
                                    "data for: left out")
            callbacks = [cb for cb in callbacks if cb not in watching]
        return super().fit(train, validation, epochs, steps, [*callbacks, *own])

    def report(self) -> dict:
        found = {"parameters_by_model": {name: int(part.count_params()) for name, part in self.model.parts().items()}}
        if self.samples is not None and self.samples.written:
            found["samples"] = [f"{SAMPLES}/{name}" for name in self.samples.written]
            final = getattr(self.model, "final_image", None)
            if final:  # the last grid under the name the book gives it (the VAE's latent grid)
                shutil.copyfile(self.run_dir / found["samples"][-1], self.run_dir / final)
                found["final_image"] = final
        if self.collapse is not None:
            found["collapse"] = self.collapse.verdict
            if self.collapse.verdict["detected"]:
                found["warnings"] = [self.collapse.verdict["message"]]
        return found


def images_only(data: Prepared, include_test: bool) -> Prepared:
    """The training inputs without labels (and with the test inputs appended when ``include_test``); no
    validation split, and the test inputs without labels."""
    x_train = data.x_train
    if include_test and data.n_test:
        x_train = (x_train.concatenate(data.x_test) if is_dataset(x_train)
                   else np.concatenate([np.asarray(x_train), np.asarray(data.x_test)]))
    return replace(data, x_train=x_train, y_train=None, y_test=None, x_val=None, y_val=None,
                   x_test=None if include_test else data.x_test)
