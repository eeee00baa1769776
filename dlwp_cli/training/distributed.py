"""Training under ``MultiWorkerMirroredStrategy`` with a custom ``strategy.run`` loop.

Keras 3's ``model.fit`` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585), so
``trainer=fit`` with ``strategy=multi_worker`` trains a :class:`DistributedFit` (see ``modes.Fit.build``):
the same model, hold-out, callbacks, history keys and test scoring as ``fit``, for single-output tasks.
Every worker saves a checkpoint (model, optimizer, epoch) after each epoch: the chief into
``strategy.checkpoint_dir`` (default: ``backup/distributed`` in its run folder), the others into their
scratch folders, as TensorFlow's multi-worker guide prescribes. At start every worker restores the
chief's latest checkpoint, so a restarted group (``dlwp launch``) continues from the last finished epoch.

``batch_size`` is the global batch: ``experimental_distribute_dataset`` splits each batch over all
replicas of all workers. Each replica's per-example losses are averaged over the global batch
(``tf.nn.compute_average_loss``) and its regularization losses divided by the replica count, so the
summed gradients the optimizer applies are those of the global batch on one device, also when the last
batch splits unevenly over the replicas (unlike ``fit`` under ``MirroredStrategy``; see ``custom_step``).
Under ``precision=mixed_float16`` each replica differentiates its loss times the optimizer's dynamic loss
scale (``apply_scaled_gradients``); the ``LossScaleOptimizer`` unscales the summed gradients and skips
a step whose gradients are not finite.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from dlwp_cli import console, run_folder
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.common import Context
from dlwp_cli.training.features import Prepared
from dlwp_cli.training.loops import loss_object, metric_objects, train_epochs
from dlwp_cli.training.modeling import build_model
from dlwp_cli.training.resilience import BACKUP, EpochBackup, history_lists
from dlwp_cli.training.runtime import apply_scaled_gradients


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy (which Keras 3's fit cannot train under)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def num_workers(strategy: tf.distribute.MultiWorkerMirroredStrategy) -> int:
    """Tasks in the cluster: the workers, and a chief if TF_CONFIG names one."""
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def weights_sha256(model: keras.Model) -> str:
    """A checksum of the model's weights (float bytes in ``get_weights`` order), to compare workers."""
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class DistributedLoop:
    """A train and a test step run on every replica by ``strategy.run``; metrics are Keras metric objects
    updated inside the replica step and aggregated across replicas and workers when read."""

    def __init__(self, strategy, model: keras.Model, loss_fn: keras.losses.Loss, metrics: list):
        self.strategy = strategy
        self.model = model
        self.loss_fn = loss_fn
        self.loss_fn.reduction = None  # per-example losses; the step averages them over the global batch
        self.metrics = [keras.metrics.Mean(name="loss"), *metrics]
        model.optimizer.build(model.trainable_weights)
        self._train = tf.function(self._train_replica_batches, reduce_retracing=True)
        self._test = tf.function(self._test_replica_batches, reduce_retracing=True)

    def _replica_loss(self, targets, predictions):
        """(loss to differentiate, per-example loss for the tracker) on this replica's share of the batch."""
        per_example = tf.reshape(self.loss_fn(targets, predictions), [-1])
        local = tf.shape(per_example)[0]
        global_size = tf.distribute.get_replica_context().all_reduce("sum", local)
        regularization = tf.add_n(self.model.losses) if self.model.losses else tf.constant(0.0)
        loss = (tf.nn.compute_average_loss(per_example, global_batch_size=global_size)
                + tf.nn.scale_regularization_loss(regularization))
        return loss, per_example + regularization

    def _update_metrics(self, targets, predictions, per_example) -> None:
        loss_tracker, *metrics = self.metrics
        loss_tracker.update_state(per_example)
        for metric in metrics:
            metric.update_state(targets, predictions)

    def _train_step(self, inputs, targets) -> None:
        with tf.GradientTape() as tape:
            predictions = self.model(inputs, training=True)
            loss, per_example = self._replica_loss(targets, predictions)
        apply_scaled_gradients(tape, loss, self.model.trainable_weights, self.model.optimizer)
        self._update_metrics(targets, predictions, per_example)

    def _test_step(self, inputs, targets) -> None:
        predictions = self.model(inputs, training=False)
        self._update_metrics(targets, predictions, self._replica_loss(targets, predictions)[1])

    def _train_replica_batches(self, inputs, targets) -> None:
        self.strategy.run(self._train_step, args=(inputs, targets))

    def _test_replica_batches(self, inputs, targets) -> None:
        self.strategy.run(self._test_step, args=(inputs, targets))

    def _logs(self, prefix: str = "") -> dict:
        return {prefix + metric.name: float(metric.result()) for metric in self.metrics}

    def _reset(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def train_epoch(self, dataset, on_batch) -> dict:
        """One pass over the distributed ``dataset``; the epoch's logs (read after every batch, as fit's are)."""
        self._reset()
        for batch, (inputs, targets) in enumerate(dataset):
            self._train(inputs, targets)
            on_batch(batch, {})
        return self._logs()

    def evaluate(self, dataset, prefix: str = "") -> dict:
        self._reset()
        for inputs, targets in dataset:
            self._test(inputs, targets)
        return self._logs(prefix)


HISTORY = "history.json"  # next to the checkpoints: every epoch's logs, so a restarted run's history is whole


class EpochCheckpoint(keras.callbacks.Callback):
    """Count the finished epoch, record its logs and save a checkpoint on every worker (saving may run
    collective ops). The logs are written first; a restart keeps only the epochs its checkpoint holds."""

    def __init__(self, manager: tf.train.CheckpointManager, epoch: tf.Variable, history: dict[int, dict]):
        super().__init__()
        self.manager = manager
        self.epoch = epoch
        self.history = history

    def on_epoch_end(self, epoch, logs=None):
        self.history[epoch] = {k: float(v) for k, v in (logs or {}).items()}
        run_folder.write_json(Path(self.manager.directory) / HISTORY, self.history)
        self.epoch.assign(epoch + 1)
        self.manager.save()


def earlier_history(folder: Path, epochs: int) -> dict[int, dict]:
    """The logs of the first ``epochs`` epochs, as the checkpoints' history file recorded them."""
    try:
        recorded = json.loads((Path(folder) / HISTORY).read_text())
    except (OSError, ValueError):
        return {}
    return {int(k): v for k, v in recorded.items() if int(k) < epochs}


def checkpoint_dirs(ctx: Context) -> tuple[Path, Path]:
    """(where every worker restores from, where this worker saves)."""
    shared = Path(ctx.cfg.strategy.checkpoint_dir) if ctx.cfg.strategy.get("checkpoint_dir") else None
    if ctx.strategy.extended.should_checkpoint:
        own = shared or Path(ctx.run_dir) / BACKUP / "distributed"
        return own, own
    return shared or Path(ctx.run_dir) / BACKUP / "distributed", Path(ctx.run_dir) / BACKUP / "distributed"


def restore(checkpoint: tf.train.Checkpoint, folder: Path) -> int:
    """Restore the latest checkpoint in ``folder``, if any; the number of epochs it had finished."""
    latest = tf.train.latest_checkpoint(str(folder))
    if latest is None:
        return 0
    checkpoint.restore(latest)
    finished = int(checkpoint.epoch.numpy())
    console.console.print(f"resuming from {latest} (epoch {finished})", markup=False, highlight=False,
                          soft_wrap=True)
    return finished


def _distribute(strategy, dataset):
    """Split each global batch over the replicas; every worker reads all rows and keeps its own share."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


class DistributedFit:
    """The trainee of ``trainer=fit`` under MultiWorkerMirroredStrategy: :class:`DistributedLoop` epochs with a
    checkpoint after each, restored from the chief's latest at start."""

    def __init__(self, ctx: Context, data: Prepared):
        cfg, strategy = ctx.cfg, ctx.strategy
        if not isinstance(cfg.task.loss, str):
            raise ConfigError(f"strategy=multi_worker trains single-output models, and task '{cfg.task.name}' has "
                              "several outputs. Train it with another strategy, e.g. strategy=mirrored.")
        self.strategy = strategy
        self.model = build_model(cfg, data, strategy.num_replicas_in_sync)
        self.loop = DistributedLoop(strategy, self.model, loss_object(cfg.task.loss), metric_objects(cfg.task))
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer,
                                              epoch=tf.Variable(0, dtype=tf.int64, trainable=False))
        self.restore_dir, self.save_dir = checkpoint_dirs(ctx)
        self.resumed = False

    def fit(self, train, validation, epochs: int, steps: int, callbacks: list) -> dict:
        initial_epoch = restore(self.checkpoint, self.restore_dir)
        manager = tf.train.CheckpointManager(self.checkpoint, str(self.save_dir), max_to_keep=1)
        train = _distribute(self.strategy, train)
        validation = _distribute(self.strategy, validation) if validation is not None else None
        # The epoch backup restores through Keras's fit; strategy.run loops use these checkpoints instead.
        callbacks = [cb for cb in callbacks if not isinstance(cb, EpochBackup)]
        Path(self.save_dir).mkdir(parents=True, exist_ok=True)
        earlier = earlier_history(self.restore_dir, initial_epoch)
        self.resumed = initial_epoch > 0
        recorder = EpochCheckpoint(manager, self.checkpoint.epoch, dict(earlier))
        history, _ = train_epochs(
            [*callbacks, recorder], self.model, epochs, steps,
            train=lambda on_batch: self.loop.train_epoch(train, on_batch),
            validate=(lambda: self.loop.evaluate(validation, prefix="val_")) if validation is not None else None,
            initial_epoch=initial_epoch,
        )
        if not earlier:
            return history
        return history_lists(recorder.history)

    def evaluate(self, dataset) -> dict:
        return self.loop.evaluate(_distribute(self.strategy, dataset))

    def report(self) -> dict:
        workers = num_workers(self.strategy)
        if workers > 1:
            console.console.print(f"weights sha256 {weights_sha256(self.model)}", markup=False, highlight=False)
        return {"distributed": {"workers": workers, "replicas": self.strategy.num_replicas_in_sync,
                                "loop": "strategy.run"}, **({"resumed": True} if self.resumed else {})}
