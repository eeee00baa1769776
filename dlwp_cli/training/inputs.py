"""tf.data input pipelines over in-memory arrays or word-id sequences.

A dataset's preprocessing marked to run in the pipeline (``run_in_pipeline``: text vectorization) is applied
here, once per split: its outputs are kept in memory (sparse rows for wide float vectors such as multi-hot
n-grams, arrays otherwise) and batches are gathered from them, as the book's ``.cache()`` of vectorised data.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from dlwp_cli.training.features import Prepared, is_dataset, num_examples, select
from dlwp_tasks.datasets.base import Sequences, runs_in_pipeline

PREPROCESS_BATCH = 256   # examples per call of an in-pipeline preprocessing model


@dataclass(eq=False)
class SparseRows:
    """Rows of a wide float matrix, kept sparse: row ``i`` has ``values[offsets[i]:offsets[i + 1]]`` at columns
    ``columns[offsets[i]:offsets[i + 1]]``; ``width`` columns in all."""

    columns: np.ndarray
    values: np.ndarray
    offsets: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, indices) -> SparseRows:
        """The rows at ``indices`` (an index array), in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        starts, lengths = self.offsets[idx], np.diff(self.offsets)[idx]
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
        return SparseRows(self.columns[gather], self.values[gather], offsets, self.width)

    def dense(self) -> np.ndarray:
        """The rows as a float32 (N, width) array."""
        out = np.zeros((len(self), self.width), dtype=np.float32)
        out[np.repeat(np.arange(len(self)), np.diff(self.offsets)), self.columns] = self.values
        return out


def preprocess(x: np.ndarray, preprocessing) -> np.ndarray | SparseRows:
    """``preprocessing`` applied to every example of ``x`` in a tf.data pipeline: float outputs of rank 2 as
    :class:`SparseRows`, others as an array (int32 for integer outputs)."""
    spec = preprocessing.output
    sparse = len(spec.shape) == 2 and "float" in str(spec.dtype)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(PREPROCESS_BATCH)
    if sparse:
        ds = ds.map(lambda batch: tf.sparse.from_dense(tf.cast(preprocessing(batch), tf.float32)),
                    num_parallel_calls=tf.data.AUTOTUNE)
        columns, values, lengths, width = [], [], [], int(spec.shape[-1])
        for part in ds:
            indices = part.indices.numpy()
            columns.append(indices[:, 1].astype(np.int32))
            values.append(part.values.numpy())
            lengths.append(np.bincount(indices[:, 0], minlength=int(part.dense_shape[0])))
        lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return SparseRows(np.concatenate(columns) if columns else np.zeros(0, np.int32),
                          np.concatenate(values) if values else np.zeros(0, np.float32), offsets, width)
    parts = [np.asarray(batch) for batch in ds.map(preprocessing, num_parallel_calls=tf.data.AUTOTUNE)]
    out = np.concatenate(parts) if parts else np.zeros((0, *spec.shape[1:]), dtype=np.int32)
    return out.astype(np.int32) if np.issubdtype(out.dtype, np.integer) else out


# Per preprocessing model, {id(x): (x, its preprocessed form)}: each split is preprocessed once per run.
_PREPROCESSED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def preprocessed(x, preprocessing):
    """``preprocess(x, preprocessing)``, computed once for each array (kept while the preprocessing model
    lives)."""
    done = _PREPROCESSED.setdefault(preprocessing, {})
    if id(x) not in done:
        done[id(x)] = (x, preprocess(x, preprocessing))
    return done[id(x)][1]


def in_pipeline(data: Prepared) -> bool:
    """Whether the data's preprocessing runs in the input pipeline (the network takes its outputs)."""
    return data.preprocessing is not None and runs_in_pipeline(data.preprocessing)


def _feature_source(x, multi_hot_tokens: int | None, pixels: dict | None = None):
    """A function mapping a batch of row indices to a feature batch (a dict of them for named inputs). With
    ``pixels`` (the run's feature statistics of uint8 images), images become float32 per batch, divided by
    their ``scale`` when it is set."""
    if isinstance(x, dict):
        sources = {name: _feature_source(value, multi_hot_tokens) for name, value in x.items()}
        return lambda idx: {name: source(idx) for name, source in sources.items()}
    if isinstance(x, SparseRows):
        return _sparse_rows_source(x)
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


def _sparse_rows_source(x: SparseRows):
    """Batches of dense float32 rows gathered from :class:`SparseRows`."""
    def ragged(values, dtype):
        return tf.RaggedTensor.from_row_splits(tf.constant(values, dtype=dtype),
                                               tf.constant(x.offsets, dtype=tf.int64), validate=False)

    columns, values = ragged(x.columns, tf.int64), ragged(x.values, tf.float32)

    def dense(idx):
        picked, weights = tf.gather(columns, idx), tf.gather(values, idx)
        coords = tf.stack([picked.value_rowids(), picked.values], axis=1)
        shape = tf.stack([tf.size(idx, out_type=tf.int64), tf.constant(x.width, tf.int64)])
        return tf.scatter_nd(coords, weights.values, shape)

    return dense


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
    y: np.ndarray | None,
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
    """Batches of (features, labels) for the rows ``indices`` (all rows by default), of features alone when ``y``
    is None; shuffled for each epoch when an ``order`` counter is given (see :func:`batch_indices`)."""
    if is_dataset(x):
        return _batch_stream(x, batch_size, indices, order, seed, epochs, limit_batches, prefetch)
    if in_pipeline(data):
        x = preprocessed(x, data.preprocessing)
    if indices is not None:
        x, y = select(x, indices), None if y is None else select(y, indices)
    stats = data.feature_stats or {}
    features = _feature_source(x, data.multi_hot_tokens, stats if stats.get("pixels") else None)
    n = num_examples(x if y is None else y)
    ds = batch_indices(n, batch_size, order, seed, epochs)
    if limit_batches is not None:
        ds = ds.take(limit_batches)
    # flat_map hides the length; Keras needs it to size epochs and steps_per_execution.
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps_per_epoch(n, batch_size, limit_batches)))
    if y is None:  # inputs only (a generative model's images)
        ds = ds.map(features, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        labels = _feature_source(y, None)
        ds = ds.map(lambda idx: (features(idx), labels(idx)), num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


# Examples a streamed split's shuffle buffer holds at most: a full-size buffer of a long series' windows would hold
# gigabytes and take seconds to fill every epoch.
STREAM_SHUFFLE_BUFFER = 16_384


def _batch_stream(ds: tf.data.Dataset, batch_size: int, indices, order: EpochCounter | None, seed: int,
                  epochs: int, limit_batches: int | None, prefetch: bool) -> tf.data.Dataset:
    """Batches of a dataset's own unbatched tf.data.Dataset of (inputs, targets)."""
    n = num_examples(ds)
    if indices is not None and not np.array_equal(np.asarray(indices), np.arange(n)):
        raise ValueError("a dataset given as tf.data.Dataset cannot be indexed: use its own validation split "
                         "instead of trainer.validation_size, and trainer=fit (not kfold)")
    if order is not None:  # a shuffle buffer seeded for the epoch: the whole stream, up to STREAM_SHUFFLE_BUFFER
        seeds, examples, buffer = epoch_seeds(seed, epochs), ds, max(1, min(n, STREAM_SHUFFLE_BUFFER))
        ds = tf.data.Dataset.from_tensors(0).flat_map(
            lambda _: examples.shuffle(buffer, seed=_seed_of(order, seeds), reshuffle_each_iteration=False))
    ds = ds.batch(batch_size)
    if limit_batches is not None:
        ds = ds.take(limit_batches)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps_per_epoch(n, batch_size, limit_batches)))
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def steps_per_epoch(n: int, batch_size: int, limit_batches: int | None) -> int:
    steps = -(-n // batch_size)
    return min(steps, limit_batches) if limit_batches else steps
