"""tf.data input pipelines over in-memory arrays or word-id sequences."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from dlwp_cli.training.features import Prepared, is_dataset, num_examples, select
from dlwp_tasks.datasets.base import Sequences


def _feature_source(x, multi_hot_tokens: int | None, pixels: dict | None = None):
    """A function mapping a batch of row indices to a feature batch (a dict of them for named inputs). With
    ``pixels`` (the run's feature statistics of uint8 images), images become float32 per batch, divided by
    their ``scale`` when it is set."""
    if isinstance(x, dict):
        sources = {name: _feature_source(value, multi_hot_tokens) for name, value in x.items()}
        return lambda idx: {name: source(idx) for name, source in sources.items()}
    if multi_hot_tokens is None:
        table = tf.constant(x)
        if pixels is None:
            return lambda idx: tf.gather(table, idx)
        pixel_scale = pixels.get("scale")
        if pixel_scale:
            return lambda idx: tf.cast(tf.gather(table, idx), tf.float32) / pixel_scale
        return lambda idx: tf.cast(tf.gather(table, idx), tf.float32)

    ragged = tf.RaggedTensor.from_row_splits(
        tf.constant(x.values, dtype=tf.int64), tf.constant(x.offsets, dtype=tf.int64), validate=False
    )

    def multi_hot(idx):
        rows = tf.gather(ragged, idx)
        coords = tf.stack([rows.value_rowids(), rows.values], axis=1)
        shape = tf.stack([tf.size(idx, out_type=tf.int64), tf.constant(multi_hot_tokens, tf.int64)])
        counts = tf.scatter_nd(coords, tf.ones_like(rows.values, dtype=tf.float32), shape)
        return tf.minimum(counts, 1.0)

    return multi_hot


class EpochCounter(keras.callbacks.Callback):
    """The epoch whose order the training batches are drawn in. Every training loop (``fit``, the custom loops,
    the multi-worker loop) calls ``on_epoch_begin`` before it iterates the data, so the order is a function of
    the seed and the epoch alone, and a run resumed after epoch k draws epoch k+1's order, as the uninterrupted
    run did."""

    def __init__(self):
        super().__init__()
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="data_epoch")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch.assign(epoch)


DRAWN_EPOCHS = 4096  # epochs whose seeds are drawn ahead; later ones are derived from the seed and the epoch


def epoch_seeds(seed: int, epochs: int) -> tf.Tensor:
    """One shuffle seed for each of the first ``min(epochs, DRAWN_EPOCHS)`` epochs: every second draw of a
    rerandomised ``Dataset.random(seed)``. These are the orders earlier versions drew under ``fit`` (whose epoch
    iterator opened the dataset twice per epoch), so their recorded results stay reproducible."""
    count = min(max(epochs, 1), DRAWN_EPOCHS)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1).repeat(2 * count)
    return tf.constant(list(draws.as_numpy_iterator())[::2], dtype=tf.int64)


def _seed_of(counter: EpochCounter, seeds: tf.Tensor) -> tf.Tensor:
    """The shuffle seed of the counter's epoch: drawn ahead, or (past those) derived from the first and the epoch."""
    epoch = counter.epoch.read_value()
    drawn = tf.shape(seeds, out_type=tf.int64)[0]
    later = tf.random.stateless_uniform([], seed=tf.stack([seeds[0], epoch]), minval=None, maxval=None,
                                        dtype=tf.int64)
    return tf.where(epoch < drawn, tf.gather(seeds, tf.minimum(epoch, drawn - 1)), later)


def batch_indices(n: int, batch_size: int, order: EpochCounter | None = None, seed: int = 0,
                  epochs: int = 1) -> tf.data.Dataset:
    """Row-index batches for one epoch: in row order, or (with ``order``) in a permutation drawn for the epoch
    that ``order`` holds, one of ``epochs`` seeded ones.

    The permutation is drawn in one op per epoch (not element by element through a shuffle buffer), as Keras
    does for NumPy inputs.
    """
    num_batches = -(-n // batch_size)
    rows = tf.range(n, dtype=tf.int64)

    def split(permutation):
        return tf.data.Dataset.range(num_batches).map(
            lambda i: permutation[i * batch_size : tf.minimum((i + 1) * batch_size, n)])

    if order is None:
        return tf.data.Dataset.from_tensors(rows).flat_map(split)
    seeds = epoch_seeds(seed, epochs)
    return tf.data.Dataset.from_tensors(rows).map(
        lambda r: tf.random.experimental.stateless_shuffle(r, seed=tf.stack([_seed_of(order, seeds), 0]))
    ).flat_map(split)


def make_dataset(
    x: np.ndarray | Sequences,
    y: np.ndarray,
    data: Prepared,
    batch_size: int,
    *,
    indices: np.ndarray | None = None,
    order: EpochCounter | None = None,
    seed: int = 0,
    epochs: int = 1,
    limit_batches: int | None = None,
    prefetch: bool = True,
) -> tf.data.Dataset:
    """Batches of (features, labels) for the rows ``indices`` (all rows by default); shuffled for each epoch
    when an ``order`` counter is given (see :func:`batch_indices`)."""
    if is_dataset(x):
        return _batch_stream(x, batch_size, indices, order, seed, epochs, limit_batches, prefetch)
    if indices is not None:
        x, y = select(x, indices), select(y, indices)
    stats = data.feature_stats or {}
    features = _feature_source(x, data.multi_hot_tokens, stats if stats.get("pixels") else None)
    labels = _feature_source(y, None)
    n = num_examples(y)
    ds = batch_indices(n, batch_size, order, seed, epochs)
    if limit_batches is not None:
        ds = ds.take(limit_batches)
    # flat_map hides the length; Keras needs it to size epochs and steps_per_execution.
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps_per_epoch(n, batch_size, limit_batches)))
    ds = ds.map(lambda idx: (features(idx), labels(idx)), num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def _batch_stream(ds: tf.data.Dataset, batch_size: int, indices, order: EpochCounter | None, seed: int,
                  epochs: int, limit_batches: int | None, prefetch: bool) -> tf.data.Dataset:
    """Batches of a dataset's own unbatched tf.data.Dataset of (inputs, targets)."""
    n = num_examples(ds)
    if indices is not None and not np.array_equal(np.asarray(indices), np.arange(n)):
        raise ValueError("a dataset given as tf.data.Dataset cannot be indexed: use its own validation split "
                         "instead of trainer.validation_size, and trainer=fit (not kfold)")
    if order is not None:  # a full-size shuffle buffer seeded for the epoch
        seeds, examples = epoch_seeds(seed, epochs), ds
        ds = tf.data.Dataset.from_tensors(0).flat_map(
            lambda _: examples.shuffle(n, seed=_seed_of(order, seeds), reshuffle_each_iteration=False))
    ds = ds.batch(batch_size)
    if limit_batches is not None:
        ds = ds.take(limit_batches)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps_per_epoch(n, batch_size, limit_batches)))
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def steps_per_epoch(n: int, batch_size: int, limit_batches: int | None) -> int:
    steps = -(-n // batch_size)
    return min(steps, limit_batches) if limit_batches else steps
