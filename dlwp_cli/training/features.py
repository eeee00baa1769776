"""Turn a task's raw arrays into model inputs and targets (NumPy side, before tf.data)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from omegaconf import DictConfig

from dlwp_tasks.datasets.base import DataSplits, Sequences


@dataclass
class Prepared:
    """Model-ready training and test data. ``x`` is an array, word-id Sequences to multi-hot on the fly,
    or (multi-input tasks) a dict of arrays by input name; ``y`` likewise by output name."""

    x_train: np.ndarray | Sequences | dict
    y_train: np.ndarray | dict
    x_test: np.ndarray | Sequences | dict
    y_test: np.ndarray | dict
    input_shape: tuple[int, ...] | dict   # what the model body takes (after any preprocessing layers)
    input_kind: str
    multi_hot_tokens: int | None = None
    x_val: np.ndarray | Sequences | dict | None = None   # a validation split the dataset gave
    y_val: np.ndarray | dict | None = None
    preprocessing: object = None          # Keras layers from raw inputs to the body's input (see DataSplits)
    postprocessing: object = None         # Keras layer after the head (e.g. back to the target's units)
    feature_stats: dict | None = None     # what prepare() applied to raw arrays (saved for predict)
    vocabulary: list[str] | None = None   # the word of each token id (a language model generates with it)

    @property
    def unlabelled(self) -> bool:
        """Whether the data has inputs only (images for a generative model): splits are counted by their inputs."""
        return self.y_train is None and not is_dataset(self.x_train)

    @property
    def n_train(self) -> int:
        return _rows(self.x_train, self.y_train, self.unlabelled)

    @property
    def n_test(self) -> int:
        return _rows(self.x_test, self.y_test, self.unlabelled)

    @property
    def n_val(self) -> int:
        return _rows(self.x_val, self.y_val, self.unlabelled)

    @property
    def streamed(self) -> bool:
        """Whether the splits are tf.data Datasets (no row indexing: no hold-out, K-fold or samples)."""
        return is_dataset(self.x_train)


def is_dataset(values) -> bool:
    """Whether ``values`` is a ``tf.data.Dataset`` (told without importing TensorFlow)."""
    return hasattr(values, "element_spec") and hasattr(values, "cardinality")


def _rows(x, y, unlabelled: bool) -> int:
    """Examples of a split: its labels' rows, or (unlabelled data, a dataset) its inputs' (0 for no split)."""
    if is_dataset(x) or (unlabelled and x is not None):
        return num_examples(x)
    return num_examples(y) if y is not None else 0


def num_examples(values) -> int:
    """Rows of an array or Sequences, of the first entry of a dict of them, or of a finite tf.data.Dataset."""
    if is_dataset(values):
        count = int(values.cardinality())
        if count < 0:  # unknown or infinite: count once
            count = int(values.reduce(0, lambda n, _: n + 1))
        return count
    return num_examples(next(iter(values.values()))) if isinstance(values, dict) else len(values)


def select(values, indices: np.ndarray):
    """Rows ``indices`` of an array, Sequences, or a dict of them."""
    if isinstance(values, dict):
        return {name: select(value, indices) for name, value in values.items()}
    return values.take(indices) if isinstance(values, Sequences) else values[indices]


def output_heads(task: DictConfig) -> dict | None:
    """The task's named output heads (multi-output tasks), else None."""
    return dict(task.outputs) if task.get("outputs") else None


def choose_input_kind(task_kinds, model_kinds) -> str:
    """The first input kind the task offers that the model accepts."""
    return next(kind for kind in task_kinds if kind in model_kinds)


def _shape_features(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "vector":
        return x.reshape(len(x), int(np.prod(x.shape[1:])))  # -1 cannot be inferred for 0 rows
    if kind == "image" and x.ndim == 3:
        return x[..., np.newaxis]
    return x


def encode_labels(y: np.ndarray, labels: str, num_classes: int) -> np.ndarray:
    """index: int32 class ids; one_hot: float32 (N, num_classes); value: float32."""
    if labels == "index":
        return y.astype("int32")
    if labels == "one_hot":
        return np.eye(num_classes, dtype="float32")[y.astype("int64")]
    return y.astype("float32")


def named_input(value) -> np.ndarray:
    """One named input as the model takes it: integer ids (token ids, codes) keep their integer type, anything
    else becomes float32."""
    array = np.asarray(value)
    return array if array.dtype.kind in "iu" else array.astype("float32")


def _prepare_named(splits: DataSplits, task: DictConfig, input_kind: str) -> Prepared:
    heads = output_heads(task)

    def inputs(x: dict) -> dict:
        return {name: named_input(value) for name, value in x.items()}

    def targets(y) -> np.ndarray | dict:
        if heads is None:  # several inputs, one output
            return encode_labels(np.asarray(y), task.labels, task.head.units)
        return {name: encode_labels(np.asarray(y[name]), task.labels, heads[name].units) for name in heads}

    x_train = inputs(splits.x_train)
    shapes = {name: tuple(value.shape[1:]) for name, value in x_train.items()}
    validation = {} if splits.y_val is None else {"x_val": inputs(splits.x_val), "y_val": targets(splits.y_val)}
    return Prepared(x_train, targets(splits.y_train), inputs(splits.x_test), targets(splits.y_test), shapes,
                    input_kind, **validation)


def raw_shape(x) -> tuple[int, ...] | dict:
    """Per-example shape of raw inputs (a dict of them for named inputs)."""
    if isinstance(x, dict):
        return {name: tuple(np.shape(value)[1:]) for name, value in x.items()}
    return tuple(np.shape(x)[1:])


def element_shape(spec) -> tuple[int | None, ...] | dict:
    """The per-example shape of a dataset element's ``TensorSpec`` (a dict of them for named inputs); None for a
    dimension of variable length."""
    if isinstance(spec, dict):
        return {name: element_shape(value) for name, value in spec.items()}
    return tuple(None if d is None else int(d) for d in spec.shape)


def _prepare_preprocessed(splits: DataSplits, task: DictConfig, input_kind: str) -> Prepared:
    """Raw inputs kept as they are: the dataset's preprocessing layers (if any) run inside the model."""
    def labels(y):
        return None if y is None else encode_labels(np.asarray(y), task.labels, task.head.units)

    if splits.preprocessing is not None:
        body_shape = tuple(int(d) for d in splits.preprocessing.output.shape[1:])
    else:  # a tf.data.Dataset of model-ready (inputs, targets); inputs may be a dict of named inputs
        body_shape = element_shape(splits.x_train.element_spec[0])
    return Prepared(splits.x_train, labels(splits.y_train), splits.x_test, labels(splits.y_test), body_shape,
                    input_kind, x_val=splits.x_val, y_val=labels(splits.y_val),
                    preprocessing=splits.preprocessing, postprocessing=splits.postprocessing)


PIXEL_KINDS = ("image", "image_segmentation")  # input kinds whose uint8 images stay uint8 until batched


def is_pixels(x, input_kind: str) -> bool:
    """Whether ``x`` holds uint8 images (N, H, W, C): kept as they are, converted to float per batch."""
    return input_kind in PIXEL_KINDS and getattr(x, "dtype", None) == np.uint8 and getattr(x, "ndim", 0) == 4


def _prepare_pixels(splits: DataSplits, task: DictConfig, input_kind: str, raw_pixels: bool) -> Prepared:
    """uint8 images stay uint8 in memory (a quarter of float32's size); the input pipeline converts each batch
    to float32, scaled to [0, 1] unless the model body takes raw pixels (it starts with its own Rescaling)."""
    def labels(y):
        return None if y is None else encode_labels(np.asarray(y), task.labels, task.head.units)

    scale = None if raw_pixels else task.features.scale
    stats = {"input_kind": input_kind, "scale": scale, "image_shape": list(splits.x_train.shape[1:]), "pixels": True}
    has_val = splits.y_val is not None
    return Prepared(splits.x_train, labels(splits.y_train), splits.x_test, labels(splits.y_test),
                    tuple(splits.x_train.shape[1:]), input_kind, x_val=splits.x_val if has_val else None,
                    y_val=labels(splits.y_val), feature_stats=stats)


def prepare(splits: DataSplits, task: DictConfig, input_kind: str, raw_pixels: bool = False) -> Prepared:
    """Apply the task's feature settings (scale, standardize, multi-hot) and label encoding. ``raw_pixels``: the
    model body takes images in 0..255 (its own Rescaling), so the task's scale is not applied to images."""
    if splits.preprocessing is not None or is_dataset(splits.x_train):
        return _prepare_preprocessed(splits, task, input_kind)
    if isinstance(splits.x_train, dict):
        return _prepare_named(splits, task, input_kind)
    if is_pixels(splits.x_train, input_kind) and not task.features.standardize:
        return _prepare_pixels(splits, task, input_kind, raw_pixels)
    features = task.features
    y_train = encode_labels(np.asarray(splits.y_train), task.labels, task.head.units)
    y_test = encode_labels(np.asarray(splits.y_test), task.labels, task.head.units)
    y_val = None if splits.y_val is None else encode_labels(np.asarray(splits.y_val), task.labels, task.head.units)
    if features.encoding == "multi_hot":
        tokens = int(features.num_tokens)
        return Prepared(splits.x_train, y_train, splits.x_test, y_test, (tokens,), input_kind, tokens,
                        x_val=splits.x_val if y_val is not None else None, y_val=y_val)

    x_train = _shape_features(np.asarray(splits.x_train), input_kind).astype("float32")
    scale = None if raw_pixels and input_kind == "image" else features.scale
    stats = {"input_kind": input_kind, "scale": scale}
    if input_kind == "image":
        stats["image_shape"] = list(x_train.shape[1:])
    if features.standardize:
        # The book's rule: statistics of the training data only, applied to every split.
        scaled = x_train / scale if scale else x_train
        std = scaled.std(axis=0)
        std[std == 0] = 1.0
        stats.update(mean=scaled.mean(axis=0).tolist(), std=std.tolist())
    x_train = apply_feature_stats(splits.x_train, stats)
    x_test = apply_feature_stats(splits.x_test, stats)
    x_val = apply_feature_stats(splits.x_val, stats) if y_val is not None else None
    return Prepared(x_train, y_train, x_test, y_test, tuple(x_train.shape[1:]), input_kind, x_val=x_val, y_val=y_val,
                    feature_stats=stats)


def apply_feature_stats(x, stats: dict) -> np.ndarray:
    """Raw arrays as the model takes them: shaped for the input kind, scaled, standardized (``stats`` from
    :func:`prepare`, also used on new inputs by ``dlwp predict``)."""
    x = _shape_features(np.asarray(x), stats["input_kind"]).astype("float32")
    if stats.get("scale"):
        x /= stats["scale"]
    if stats.get("mean") is not None:
        x = (x - np.asarray(stats["mean"], dtype="float32")) / np.asarray(stats["std"], dtype="float32")
    return x


def apply_transforms(data: Prepared, spec: DictConfig, seed: int) -> Prepared:
    """Extra noise/zero channels and training-label shuffling (the book's chapter-5 studies)."""
    rng = np.random.RandomState(seed)
    if (spec.extra_channels or spec.shuffle_labels) and isinstance(data.x_train, dict):
        raise ValueError("transforms apply to single-input, single-output tasks only")
    if spec.extra_channels:
        if data.multi_hot_tokens is not None or data.input_kind != "vector":
            raise ValueError("transforms.extra_channels needs flat vector inputs (e.g. task=mnist model=dense)")

        def widen(x: np.ndarray) -> np.ndarray:
            shape = (len(x), int(spec.extra_channels))
            extra = rng.random_sample(shape) if spec.extra_channels_fill == "noise" else np.zeros(shape)
            return np.concatenate([x, extra.astype("float32")], axis=1)

        data = replace(data, x_train=widen(data.x_train), x_test=widen(data.x_test),
                       input_shape=(data.input_shape[0] + int(spec.extra_channels),))
        if data.x_val is not None:
            data = replace(data, x_val=widen(data.x_val))
    if spec.shuffle_labels:
        data = replace(data, y_train=rng.permutation(data.y_train))
    return data


def holdout_indices(n: int, size: float, position: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices: ``size`` examples (or that fraction) from the first or last rows,
    or (``position="random"``) from a seeded permutation, taken from its start as listing 3.24 does."""
    n_val = int(size) if size >= 1 else n - int(n * (1 - size))
    if not 0 < n_val < n:
        raise ValueError(f"a hold-out of {size} leaves no training or no validation data out of {n} examples")
    index = np.random.RandomState(seed).permutation(n) if position == "random" else np.arange(n)
    if position == "random":
        return index[n_val:], index[:n_val]
    if position == "first":
        return index[n_val:], index[:n_val]
    return index[: n - n_val], index[n - n_val :]


def kfold_indices(n: int, folds: int, shuffle: bool, seed: int,
                  repeats: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """The book's K-fold: ``n // folds`` contiguous validation rows per fold (optionally shuffled first), as
    (train, validation) indices. ``repeats`` > 1 is iterated K-fold with shuffling: round ``r`` (0, 1, ...)
    splits the rows shuffled with seed ``seed + r``, whatever ``shuffle`` says; the folds come round by round,
    ``repeats * folds`` in all."""
    size = n // folds
    if size < 1:
        raise ValueError(f"{folds} folds need at least {folds} training examples, got {n}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    splits = []
    for round_ in range(repeats):
        shuffled = shuffle or repeats > 1
        order = np.random.RandomState(seed + round_).permutation(n) if shuffled else np.arange(n)
        splits += contiguous_folds(order, folds, size)
    return splits


def contiguous_folds(order: np.ndarray, folds: int, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) per fold: fold ``i`` validates on ``order[i * size : (i + 1) * size]``."""
    splits = []
    for i in range(folds):
        val = order[i * size : (i + 1) * size]
        train = np.concatenate([order[: i * size], order[(i + 1) * size :]])
        splits.append((train, val))
    return splits


def fold_label(index: int, folds: int, repeats: int) -> str:
    """The name of split ``index`` of :func:`kfold_indices` (a sub-folder name too): ``fold_3``, or
    ``round_2_fold_3`` when there are several rounds."""
    round_, fold = divmod(index, folds)
    return f"fold_{fold + 1}" if repeats == 1 else f"round_{round_ + 1}_fold_{fold + 1}"
