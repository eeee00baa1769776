"""A user's own module, outside dlwp: three datasets of the kinds the later chapters bring (a folder of images,
a folder of texts, a windowed series), an optimizer and a trainer mode. Tests put it on sys.path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlwp_cli.training.modes import TrainerMode
from dlwp_tasks.datasets.base import DataSplits


def _folder_classes(path: str) -> list[Path]:
    return sorted(p for p in Path(path).iterdir() if p.is_dir())


def _split(n: int, seed: int, test_fraction: float = 0.25):
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(n * test_fraction))
    return order[n_test:], order[:n_test]


def image_folder(path: str, size: int = 16, seed: int = 0) -> DataSplits:
    """PNG files in one sub-folder per class, as uint8 (N, size, size, 3); Rescaling(1/255) in the model."""
    import keras
    from PIL import Image

    classes = _folder_classes(path)
    images, labels = [], []
    for index, folder in enumerate(classes):
        for file in sorted(folder.glob("*.png")):
            images.append(np.asarray(Image.open(file).convert("RGB").resize((size, size)), dtype="uint8"))
            labels.append(index)
    x, y = np.stack(images), np.asarray(labels)
    train, test = _split(len(y), seed)
    inputs = keras.Input(shape=(size, size, 3), dtype="uint8", name="image")
    preprocessing = keras.Model(inputs, keras.layers.Rescaling(1 / 255)(inputs), name="pixels")
    return DataSplits(x[train], y[train], x[test], y[test], class_names=[c.name for c in classes],
                      problem="classification", preprocessing=preprocessing, info={"source": "real"})


def text_folder(path: str, max_tokens: int = 64, seed: int = 0) -> DataSplits:
    """.txt files in one sub-folder per class, as strings; a multi-hot TextVectorization adapted on the
    training texts only."""
    import keras

    classes = _folder_classes(path)
    texts, labels = [], []
    for index, folder in enumerate(classes):
        for file in sorted(folder.glob("*.txt")):
            texts.append(file.read_text())
            labels.append(index)
    x, y = np.asarray(texts, dtype=object)[:, None], np.asarray(labels)
    train, test = _split(len(y), seed)
    vectorize = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="multi_hot")
    vectorize.adapt(x[train][:, 0].tolist())
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    preprocessing = keras.Model(inputs, vectorize(keras.ops.squeeze(inputs, axis=-1)), name="words")
    return DataSplits({"text": x[train]}, y[train], {"text": x[test]}, y[test],
                      class_names=[c.name for c in classes], problem="classification",
                      preprocessing=keras.Model({"text": inputs}, preprocessing(inputs)),
                      info={"source": "real"})


def windowed_series(rows: int = 300, window: int = 8, seed: int = 0) -> DataSplits:
    """A noisy sine and a second channel; tf.data windows of ``window`` rows predicting the next row's value.
    The splits are chronological tf.data Datasets; Normalization (training rows) and Flatten in the model."""
    import keras

    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype="float32")
    values = np.stack([np.sin(t / 6) + 0.05 * rng.standard_normal(rows), np.cos(t / 6)], axis=1).astype("float32")
    cut_val, cut_test = int(rows * 0.5), int(rows * 0.75)

    def windows(start: int, stop: int):  # each window of rows [i, i + window) predicts row i + window
        return keras.utils.timeseries_dataset_from_array(
            values[start:stop - 1], values[start + window:stop, 0], sequence_length=window, batch_size=None)

    normalize = keras.layers.Normalization(axis=-1)
    normalize.adapt(values[:cut_val])
    inputs = keras.Input(shape=(window, 2), name="window")
    preprocessing = keras.Model(inputs, keras.layers.Flatten()(normalize(inputs)), name="window_features")
    return DataSplits(windows(0, cut_val), None, windows(cut_test, rows), None,
                      x_val=windows(cut_val, cut_test), problem="regression", preprocessing=preprocessing,
                      info={"source": "generated"})


def make_sgd_with_clipping(learning_rate: float = 0.01, clip: float = 1.0):
    """An optimizer factory of one's own."""
    import keras

    return keras.optimizers.SGD(learning_rate=learning_rate, clipnorm=clip)


@dataclass
class NotedFit(TrainerMode):
    """A trainer mode of one's own: Keras's fit, and a note of its own in metrics.json."""

    note: str

    def build(self, ctx, data):
        trainee = super().build(ctx, data)
        trainee.report = lambda: {"note": self.note}
        return trainee


def poison_weights_callback(at_epoch: int = 2):
    """A Keras callback that turns the output layer's kernel into NaN as epoch ``at_epoch`` (0-based) begins: a
    real fit whose loss becomes NaN after some good epochs. (A hidden kernel would not do: ReLU maps NaN to 0.)"""
    import keras

    class PoisonWeights(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == at_epoch:
                kernel = self.model.trainable_weights[-2]
                kernel.assign(kernel * float("nan"))

    return PoisonWeights()


def validation_is_test(rows: int = 240, seed: int = 0) -> DataSplits:
    """Two separable classes whose validation split is the test split itself (a mistake dlwp warns about)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    x = (rng.normal(size=(rows, 4)) + y[:, None] * 2.0).astype("float32")
    cut = rows // 2
    return DataSplits(x[:cut], y[:cut], x[cut:], y[cut:], x_val=x[cut:], y_val=y[cut:], class_names=["no", "yes"],
                      problem="classification")
