"""Keras callbacks of a run: console progress, TensorBoard with HParams, and those from config."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import tensorflow as tf
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from dlwp_cli.errors import ConfigError


class RichProgress(keras.callbacks.Callback):
    """One live progress bar for the current epoch, and a metrics line as each epoch ends."""

    # Only the batch index is read, so Keras may keep dispatching steps without waiting for this.
    async_safe = True

    def __init__(self, console, epochs: int, steps: int, label: str = ""):
        super().__init__()
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.epochs = epochs
        self._steps = steps
        self._label = label
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True,
        )
        self._task = self._progress.add_task("", total=steps)

    def on_train_begin(self, logs=None):
        self._progress.start()

    def on_epoch_begin(self, epoch, logs=None):
        self._progress.reset(self._task, description=f"{self._label}epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._progress.update(self._task, completed=min(batch + 1, self._steps))

    def on_epoch_end(self, epoch, logs=None):
        shown = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        self._progress.console.print(f"[dim]{self._label}epoch {epoch + 1:>3}/{self.epochs}[/]  {shown}")

    def on_train_end(self, logs=None):
        self._progress.stop()


class EpochTensorBoard(keras.callbacks.Callback):
    """Epoch scalars under ``<log_dir>/train`` and ``<log_dir>/validation``, with Keras's tag names.

    Unlike ``keras.callbacks.TensorBoard`` it has no per-batch hook, so it never makes Keras wait
    for each step's logs (which costs a third of the training time of a small model).
    """

    def __init__(self, log_dir: Path):
        super().__init__()
        self._log_dir = Path(log_dir)
        self._writers: dict[str, tf.summary.SummaryWriter] = {}

    def _writer(self, split: str) -> tf.summary.SummaryWriter:
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(str(self._log_dir / split))
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.scalar(f"epoch_{name}", float(value), step=epoch)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def flat_hparams(cfg: DictConfig) -> dict:
    """Scalar settings of a run as ``dotted.key -> value`` for the HParams dashboard."""
    flat: dict = {}

    def walk(node, prefix):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, path + ".")
            elif isinstance(value, (bool, int, float, str)):
                flat[path] = value
            elif isinstance(value, list) and all(isinstance(v, (int, float, str)) for v in value):
                flat[path] = str(value)

    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("targets", None)
    walk(container, "")
    return flat


def log_hparams(log_dir: Path, cfg: DictConfig, final_metrics: dict) -> None:
    """Write the run's hyperparameters and final metrics where TensorBoard's HParams plugin finds them.

    Each run is a session group of its own: its trial id is its run folder (the jobs of a sweep share their
    name, not their folder)."""
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams(flat_hparams(cfg), trial_id=str(Path(log_dir).resolve().parent))
        for name, value in final_metrics.items():
            tf.summary.scalar(name, float(value), step=int(cfg.epochs))


class LossHistory(keras.callbacks.Callback):
    """The book's listing 7.20: plot the per-batch training loss of each epoch to
    ``plot_at_epoch_N.png`` (N counts from 0, as in the book)."""

    def __init__(self, folder: str | Path = "."):
        super().__init__()
        self.folder = Path(folder)
        self.per_batch_losses: list[float] = []

    def on_train_begin(self, logs=None):
        self.per_batch_losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.per_batch_losses.append(float(logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.folder.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots()
        ax.plot(range(len(self.per_batch_losses)), self.per_batch_losses, label="Training loss for each batch")
        ax.set_xlabel(f"Batch (epoch {epoch})")
        ax.set_ylabel("Loss")
        ax.legend()
        fig.savefig(self.folder / f"plot_at_epoch_{epoch}.png")
        plt.close(fig)
        self.per_batch_losses = []


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch, for metrics.json's timings: ``seconds`` (training and validation) and
    ``training_seconds`` (until validation starts; the whole epoch when it has no validation)."""

    async_safe = True

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.training_seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_test_begin(self, logs=None):
        if len(self.training_seconds) == len(self.seconds):  # the epoch's first validation only
            self.training_seconds.append(round(time.perf_counter() - self._started, 4))

    def on_epoch_end(self, epoch, logs=None):
        elapsed = round(time.perf_counter() - self._started, 4)
        if len(self.training_seconds) == len(self.seconds):
            self.training_seconds.append(elapsed)
        self.seconds.append(elapsed)


class BestWeights(keras.callbacks.EarlyStopping):
    """Keep the weights of the epoch with the best ``monitor`` value and put them back when training ends, without
    stopping early: the book's "reload the best checkpoint, then evaluate" (ModelCheckpoint with
    ``save_best_only``), in memory. Its state is part of every epoch backup, so a resumed run keeps it."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto"):
        super().__init__(monitor=monitor, mode=mode, patience=2**62, restore_best_weights=True)

    def get_config(self) -> dict:
        return {"monitor": self.monitor, "mode": self.mode}


PATH_ARGUMENTS = ("filepath", "log_dir", "folder", "filename")


def from_config(specs: DictConfig, run_dir: Path | None = None) -> list[keras.callbacks.Callback]:
    """Instantiate the ``callbacks`` group: a mapping of names to ``_target_`` specs.

    Relative paths in ``filepath``/``log_dir``/``folder``/``filename`` are placed in the run folder.
    """
    built = []
    for name, spec in (specs or {}).items():
        if spec is None:
            continue
        paths = {key: str(Path(run_dir or ".") / spec[key]) for key in PATH_ARGUMENTS
                 if key in spec and spec[key] is not None and not Path(str(spec[key])).is_absolute()}
        try:
            built.append(instantiate(spec, **paths))
        except Exception as err:  # instantiate wraps the real cause
            cause = err.__cause__ or err
            raise ConfigError(f"Callback '{name}' cannot be created from {OmegaConf.to_container(spec)}: {cause}") from None
    return built
