"""Keras layers for CSV tables: numeric scaling, target scaling and the table's preprocessing model.

Every layer is registered under the ``dlwp`` package, so a saved ``model.keras`` that contains them
loads back with ``keras.models.load_model`` once this module is imported.
"""

from __future__ import annotations

import re
from typing import Any

import keras
import numpy as np
from keras import ops

MISSING = "<missing>"  # the category a missing categorical cell becomes (see datasets/table.py)


@keras.saving.register_keras_serializable(package="dlwp")
class NumericColumn(keras.layers.Layer):
    """One numeric column, shape (N, 1), NaN where missing -> standardized value (+ a 0/1 "was missing").

    NaN is replaced by ``median``, then ``(value - mean) / std``; with ``missing_indicator`` the output
    is (N, 2) ``[standardized, isnan]``, else (N, 1). Computes in float32 whatever the global policy.
    """

    def __init__(self, median: float, mean: float, std: float, missing_indicator: bool = False,
                 **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.median = float(median)
        self.mean = float(mean)
        self.std = float(std) if float(std) != 0.0 else 1.0
        self.missing_indicator = bool(missing_indicator)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        missing = ops.isnan(x)
        filled = ops.where(missing, ops.full_like(x, self.median), x)
        scaled = (filled - self.mean) / self.std
        if not self.missing_indicator:
            return scaled
        return ops.concatenate([scaled, ops.cast(missing, "float32")], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 if self.missing_indicator else 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "median": self.median, "mean": self.mean, "std": self.std,
                "missing_indicator": self.missing_indicator}


@keras.saving.register_keras_serializable(package="dlwp")
class TargetScale(keras.layers.Layer):
    """``x * std + mean`` in float32: maps a standardized prediction back to the target's units."""

    def __init__(self, mean: float, std: float, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.std = float(std) if float(std) != 0.0 else 1.0

    def call(self, inputs):
        return ops.cast(inputs, "float32") * self.std + self.mean

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "std": self.std}


def _layer_name(prefix: str, column: str, taken: set[str]) -> str:
    """``prefix_column`` made a valid layer name that no column or other layer uses."""
    name = f"{prefix}_{re.sub(r'[^0-9A-Za-z_.-]', '_', column)}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def table_preprocessing(schema: dict[str, Any], name: str = "table_preprocessing") -> keras.Model:
    """A functional model: the table's raw columns -> one float32 feature matrix.

    Inputs, a dict by input name (``column["input"]``, else the column name) in schema order, are
    ``keras.Input(shape=(1,))`` of dtype float32 (numeric, NaN where missing) or string (categorical,
    ``"<missing>"`` where missing). Each numeric column becomes :class:`NumericColumn`'s 1 or 2 features;
    each categorical column a one-hot of ``len(categories) + 1`` features, the first being the
    out-of-vocabulary slot for unseen values. Layer names never clash with input names.
    """
    inputs: dict[str, keras.KerasTensor] = {}
    parts = []
    taken = {column.get("input", column["name"]) for column in schema["columns"]}
    for column in schema["columns"]:
        col, kind = column.get("input", column["name"]), column["type"]
        if kind == "numeric":
            inputs[col] = keras.Input(shape=(1,), name=col, dtype="float32")
            scale = NumericColumn(column["median"], column["mean"], column["std"], column["missing_indicator"],
                                  name=_layer_name("numeric", col, taken))
            parts.append(scale(inputs[col]))
        elif kind == "categorical":
            inputs[col] = keras.Input(shape=(1,), name=col, dtype="string")
            vocabulary = [str(category) for category in column["categories"]]
            oov = "[UNK]"
            while oov in vocabulary:  # StringLookup refuses a vocabulary holding its OOV token
                oov += "_"
            lookup = keras.layers.StringLookup(vocabulary=vocabulary, num_oov_indices=1, oov_token=oov,
                                               output_mode="one_hot", name=_layer_name("onehot", col, taken))
            parts.append(lookup(inputs[col]))
    if not parts:
        raise ValueError("the schema has no numeric or categorical column to preprocess")
    if len(parts) == 1:
        return keras.Model(inputs, parts[0], name=name)
    features = keras.layers.Concatenate(axis=-1, dtype="float32", name=_layer_name("table", "features", taken))
    return keras.Model(inputs, features(parts), name=name)


def to_model_inputs(x: dict[str, Any]) -> dict[str, Any]:
    """The raw-input dict with string arrays as TensorFlow string tensors.

    ``model.fit``/``predict``/``evaluate`` reject NumPy object or ``str`` arrays (Keras 3's array adapter
    takes numeric dtypes only); string tensors pass. Calling the model directly, or a ``tf.data`` pipeline,
    takes the NumPy arrays as they are.
    """
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend is what takes string tensors

    return {name: tf.constant(np.asarray(value).astype(str)) if np.asarray(value).dtype.kind in "OUS"
            else value for name, value in x.items()}
