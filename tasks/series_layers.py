"""Keras layers for time-series windows: per-feature standardisation and time reversal, saved inside model.keras
so that a saved model takes raw windows in time order.

Both layers hold their settings in their config (no weights), so they add no parameters to a model's count.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="dlwp")
class WindowScale(keras.layers.Layer):
    """``(window - mean) / std`` per feature (the last axis), in float32: the training rows' statistics."""

    def __init__(self, mean: list[float], std: list[float], **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) if float(s) != 0.0 else 1.0 for s in std]
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean and std differ in length ({len(self.mean)} and {len(self.std)})")

    def build(self, input_shape) -> None:
        if input_shape[-1] is not None and input_shape[-1] != len(self.mean):
            raise ValueError(f"windows of {input_shape[-1]} features, but statistics of {len(self.mean)}")
        super().build(input_shape)

    def call(self, inputs):
        mean = ops.convert_to_tensor(np.asarray(self.mean, dtype="float32"))
        std = ops.convert_to_tensor(np.asarray(self.std, dtype="float32"))
        return (ops.cast(inputs, "float32") - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@keras.saving.register_keras_serializable(package="dlwp")
class ReverseTime(keras.layers.Layer):
    """Windows with their time axis (axis 1) reversed: the latest step first (book §10.4.3)."""

    def call(self, inputs):
        return ops.flip(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape


def window_preprocessing(schema: dict[str, Any], name: str = "window_preprocessing") -> keras.Model:
    """Raw windows ``(sequence_length, features)`` -> standardised windows (time-reversed with the schema's
    ``reverse_time``), as one functional model."""
    inputs = keras.Input(shape=(int(schema["sequence_length"]), len(schema["features"])), name="window",
                         dtype="float32")
    x = WindowScale(schema["mean"], schema["std"], name="window_scale")(inputs)
    if schema.get("reverse_time"):
        x = ReverseTime(name="reverse_time")(x)
    return keras.Model(inputs, x, name=name)
