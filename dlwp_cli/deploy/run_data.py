"""A finished run's data as its saved model takes it, and a model's outputs over a split.

The run's task is loaded from its saved config exactly as the run loaded it (same dataset, split seeds,
feature statistics and transforms). A saved model holds the dataset's preprocessing (text vectorisation, a
table's encoders), so the splits are kept raw here and the model prepares them itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from omegaconf import DictConfig

from dlwp_cli.baselines import class_ids, is_classification
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.features import Prepared

PREDICT_BATCH = 256   # examples per prediction call (outputs do not depend on it)


@dataclass
class Split:
    """One split's model inputs and targets (``x`` may be a tf.data.Dataset of (inputs, targets))."""

    name: str
    x: object
    y: object
    rows: np.ndarray | None = None   # rows of x and y to use (a hold-out), or all


@dataclass
class RunData:
    """A run's splits as its saved model takes them."""

    cfg: DictConfig
    data: Prepared
    validation_source: str | None   # where its validation split comes from, in words (None: it has none)

    @property
    def test(self) -> Split | None:
        return Split("test", self.data.x_test, self.data.y_test) if self.data.n_test else None

    @property
    def validation(self) -> Split | None:
        """The split the run validated on, as its fit chose it: the trainer's hold-out of the training rows
        (``trainer.validation_size``), else the dataset's own validation split."""
        from dlwp_cli.training.common import holdout_split

        rows = None if self.data.streamed else holdout_split(self.cfg, self.data.n_train)[1]
        if rows is not None:
            return Split("validation", self.data.x_train, self.data.y_train, rows)
        return Split("validation", self.data.x_val, self.data.y_val) if self.data.n_val else None

    def train_rows(self, count: int, seed: int) -> Split:
        """``count`` training examples drawn at random (seeded; the first ``count`` of a streamed split), or all of
        them when there are fewer."""
        if self.data.streamed:
            return Split("train", self.data.x_train.take(count), None)
        n = self.data.n_train
        rows = np.sort(np.random.default_rng(seed).permutation(n)[: min(count, n)])
        return Split("train", self.data.x_train, self.data.y_train, rows)


def load_run_data(cfg: DictConfig) -> RunData:
    """The run's data, loaded and prepared as the run did, with its preprocessing left to the saved model."""
    from dlwp_cli.config.validate import DATA_DECIDES_LABELS
    from dlwp_cli.data import load_data, prepare_data, resolve_task

    splits = load_data(cfg)
    if cfg.task.labels in DATA_DECIDES_LABELS:
        cfg = resolve_task(cfg, splits)
    data, _ = prepare_data(cfg, splits)
    raw = replace(data, preprocessing=None, postprocessing=None)   # the saved model holds both
    if cfg.trainer.get("validation_size") and not data.streamed:
        validation = (f"trainer.validation_size={cfg.trainer.validation_size} "
                      f"(validation_from={cfg.trainer.get('validation_from')})")
    else:
        validation = "the dataset's own validation split" if data.n_val else None
    return RunData(cfg, raw, validation)


def batches(data: Prepared, split: Split, batch_size: int = PREDICT_BATCH):
    """A tf.data.Dataset of (inputs, targets) batches of the split, in row order."""
    from dlwp_cli.training.inputs import make_dataset

    if split.y is None:   # a stream of (inputs, targets) pairs
        return make_dataset(split.x, None, data, batch_size, prefetch=True)
    return make_dataset(split.x, split.y, data, batch_size, indices=split.rows)


def collect(predict: Callable[[object], object], data: Prepared, split: Split,
            batch_size: int = PREDICT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """(``predict``'s outputs, the targets) over every batch of the split, as float64 and as given."""
    outputs, targets = [], []
    for inputs, target in batches(data, split, batch_size):
        outputs.append(np.asarray(predict(inputs), dtype="float64"))
        targets.append(np.asarray(target))
    if not outputs:
        raise ConfigError(f"The {split.name} split is empty.")
    return np.concatenate(outputs), np.concatenate(targets)


def keras_predictor(model) -> Callable[[object], np.ndarray]:
    """One batch of inputs -> the Keras model's outputs (a single output)."""
    def predict(inputs):
        outputs = model.predict_on_batch(inputs)
        if isinstance(outputs, (list, tuple, dict)):
            raise ConfigError("The run's model has several outputs; ensembles and exports are scored for "
                              "single-output runs.")
        return outputs

    return predict


def labels_fingerprint(y: np.ndarray, task: DictConfig) -> str:
    """SHA-256 of a split's labels (class ids for classifiers, float32 values otherwise), so runs encoded
    differently (index or one-hot) compare equal on the same rows."""
    values = class_ids(y) if is_classification(task) else np.asarray(y, dtype="float32")
    digest = hashlib.sha256(str(values.shape).encode())
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()
